//! The state every handler receives.

use std::ops::Deref;
use std::sync::Arc;

use lotocar_shared::contact::Contact;
use rand::Rng;
use sqlx::Row;

use crate::config::Config;
use crate::db::{Db, now_ms};
use crate::matching::Matcher;
use crate::notify::Live;
use crate::notify::push::Vapid;
use crate::notify::transports::{Mail, Sms};
use crate::places::gazetteer::Gazetteer;
use crate::web::Shell;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub db: Db,
    pub config: Config,
    pub places: Gazetteer,
    pub matcher: Matcher,
    pub live: Live,
    pub vapid: Vapid,
    pub sms: Sms,
    pub mail: Mail,
    /// For Web Push and other outgoing calls.
    pub http: reqwest::Client,
    /// The web shell's sessions.
    pub shell: Shell,
    /// This server's own address, for the web shell's API calls.
    pub self_url: String,
    /// Key of the sign-in code HMAC, shared by every instance through the
    /// database.
    code_secret: Vec<u8>,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub async fn new(
        db: Db,
        config: Config,
        places: Gazetteer,
        self_url: String,
    ) -> anyhow::Result<AppState> {
        let code_secret = hex::decode(server_secret(&db, "sign_in_code_hmac").await?)?;
        let matcher = Matcher::new(config.matching_rules(), config.router()?);
        let vapid = Vapid::load_or_create(&db, &config.vapid_subject).await?;
        let sms = Sms::from_config(
            config.sms_url.as_deref(),
            &config.sms_template,
            config.sms_authorization.as_deref(),
        )?;
        let mail = Mail::from_config(config.smtp_url.as_deref(), &config.mail_from)?;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()?;
        Ok(AppState(Arc::new(Inner {
            db,
            config,
            places,
            matcher,
            live: Live::default(),
            vapid,
            sms,
            mail,
            http,
            shell: Shell::default(),
            self_url,
            code_secret,
        })))
    }

    pub fn hash_code(&self, contact: &Contact, code: &str) -> String {
        crate::auth::hash_code(&self.code_secret, contact, code)
    }
}

/// A random secret created once, on first start, and shared by every
/// instance: the first instance to write it wins, the others read it.
pub async fn server_secret(db: &Db, name: &str) -> Result<String, sqlx::Error> {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    sqlx::query(
        "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(hex::encode(bytes))
    .bind(now_ms())
    .execute(&db.writer)
    .await?;
    sqlx::query("SELECT value FROM server_secrets WHERE name = $1")
        .bind(name)
        .fetch_one(&db.pool)
        .await?
        .try_get("value")
}
