//! The assembly's state: every capability's own state, built once from the
//! configuration. Handlers take the part they need (`State<Bookings>`…)
//! through `FromRef`, so a capability never sees the others' settings.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRef;

use crate::auth::{self, Auth};
use crate::bookings::Bookings;
use crate::config::Config;
use crate::db::Db;
use crate::impact::Reporting;
use crate::jobs::Jobs;
use crate::matching::{Matcher, Matching};
use crate::news::News;
use crate::notify::channels::{
    Channels, DeliveryChannel, EmailChannel, PushChannel, RelayInboxChannel, SmsChannel,
};
use crate::notify::dispatch::{self, Dispatcher};
use crate::notify::endpoints::Policy;
use crate::notify::push::Vapid;
use crate::notify::{Live, Notify};
use crate::places::Places;
use crate::places::gazetteer::Gazetteer;
use crate::territories::Territories;
use crate::transports::{Mail, Sms};
use crate::trips::Trips;
use crate::web::Shell;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub db: Db,
    pub territories: Territories,
    pub auth: Auth,
    pub places: Places,
    pub notify: Notify,
    pub dispatcher: Dispatcher,
    pub matching: Matching,
    pub news: News,
    pub bookings: Bookings,
    pub trips: Trips,
    pub reporting: Reporting,
    pub jobs: Jobs,
    /// The web shell's sessions.
    pub shell: Shell,
    /// This server's own address, for the web shell's API calls.
    pub self_url: String,
    /// Requests counted and timed, by route.
    pub http_metrics: Arc<crate::requests::HttpMetrics>,
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
        gazetteer: Gazetteer,
        self_url: String,
    ) -> anyhow::Result<AppState> {
        let territories = Territories::new(db.clone(), config.timezone);
        let sms = Arc::new(Sms::from_config(
            config.sms_url.as_deref(),
            &config.sms_template,
            config.sms_authorization.as_deref(),
        )?);
        let mail = Arc::new(Mail::from_config(
            config.smtp_url.as_deref(),
            &config.mail_from,
        )?);
        let auth = Auth::new(
            db.clone(),
            territories.clone(),
            auth::Settings {
                dev: config.dev,
                brand: config.brand.clone(),
                session_days: config.session_days,
                codes_per_contact_hour: config.codes_per_contact_hour,
                signin_per_ip_hour: config.signin_per_ip_hour,
                trusted_proxies: config.trusted_proxies.clone(),
                shell_key: {
                    use rand::Rng;
                    let mut bytes = [0u8; 32];
                    rand::rng().fill(&mut bytes);
                    hex::encode(bytes)
                },
            },
            sms.clone(),
            mail.clone(),
        )
        .await?;
        let places = Places {
            db: db.clone(),
            gazetteer: Arc::new(gazetteer),
            territories: territories.clone(),
            default_territory: config.territory.clone(),
            local: Arc::default(),
        };
        let vapid = Arc::new(Vapid::load_or_create(&db, &config.vapid_subject).await?);
        let endpoints = Policy {
            allow_local: config.dev_allow_local_push,
        };
        let channels: Vec<Arc<dyn DeliveryChannel>> = vec![
            Arc::new(PushChannel {
                db: db.clone(),
                http: endpoints.client()?,
                vapid: vapid.clone(),
                endpoints,
            }),
            Arc::new(SmsChannel {
                db: db.clone(),
                sms,
                brand: config.brand.clone(),
            }),
            Arc::new(EmailChannel {
                db: db.clone(),
                mail,
                brand: config.brand.clone(),
            }),
            Arc::new(RelayInboxChannel { db: db.clone() }),
        ];
        let dispatcher = Dispatcher {
            db: db.clone(),
            channels: Channels::new(channels),
            settings: dispatch::Settings {
                lease_seconds: config.delivery_lease_seconds,
                retry_base_ms: config.retry_base_ms,
                quiet_start_hour: config.quiet_start_hour,
                quiet_end_hour: config.quiet_end_hour,
                default_tz: config.timezone,
                public_url: config.public_url.clone(),
            },
        };
        let notify = Notify {
            db: db.clone(),
            live: Arc::new(Live::default()),
            vapid,
            endpoints,
        };
        let matching = Matching {
            db: db.clone(),
            places: places.clone(),
            territories: territories.clone(),
            matcher: Arc::new(Matcher::new(config.matching_rules(), config.router()?)),
        };
        let news = News {
            db: db.clone(),
            matching: matching.clone(),
            wait_ms: config.new_driver_wait_seconds as i64 * 1000,
        };
        let bookings = Bookings {
            db: db.clone(),
            territories: territories.clone(),
            matching: matching.clone(),
        };
        let trips = Trips {
            db: db.clone(),
            places: places.clone(),
            territories: territories.clone(),
            matching: matching.clone(),
            bookings: bookings.clone(),
        };
        let reporting = Reporting {
            db: db.clone(),
            places: places.clone(),
            territories: territories.clone(),
            co2_kg_per_km: config.co2_kg_per_km,
            circuity: config.circuity,
        };
        let jobs = Jobs {
            trips: trips.clone(),
            retention_months: config.retention_months,
        };
        let shell = Shell::new(crate::web::Limits {
            per_client: config.web_sockets_per_client,
            idle: std::time::Duration::from_secs(config.web_idle_seconds.max(1)),
        });
        Ok(AppState(Arc::new(Inner {
            config,
            db,
            territories,
            auth,
            places,
            notify,
            dispatcher,
            matching,
            news,
            bookings,
            trips,
            reporting,
            jobs,
            shell,
            self_url,
            http_metrics: Default::default(),
        })))
    }
}

macro_rules! from_ref {
    ($($field:ident: $ty:ty),* $(,)?) => {
        $(
            impl FromRef<AppState> for $ty {
                fn from_ref(state: &AppState) -> $ty {
                    state.$field.clone()
                }
            }
        )*
    };
}

from_ref!(
    db: Db,
    territories: Territories,
    auth: Auth,
    places: Places,
    notify: Notify,
    bookings: Bookings,
    trips: Trips,
    reporting: Reporting,
);
