//! Server configuration: command-line flags, each with an environment
//! variable, documented in the README's configuration table. Part of the
//! assembly: `state` turns it into each capability's own settings.

use std::net::SocketAddr;
use std::path::PathBuf;

use std::sync::Arc;

use chrono_tz::Tz;
use clap::Args;

use crate::matching::engine::Rules;
use crate::routing::osrm::Osrm;
use crate::routing::{CrowFly, Router};

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "LOTOCAR_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Directory for the SQLite database and local files.
    #[arg(long, env = "LOTOCAR_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// PostgreSQL URL (postgres://…); SQLite in the data directory when unset.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Seed the Lot demo territory, its meeting points and demo accounts.
    #[arg(long, env = "LOTOCAR_DEMO")]
    pub demo: bool,

    /// Development mode: sign-in codes are returned in the API response.
    /// Refused on an address other than loopback.
    #[arg(long, env = "LOTOCAR_DEV")]
    pub dev: bool,

    /// Development only (with --dev): accept Web Push endpoints over plain
    /// http:// to loopback addresses (a local test receiver).
    #[arg(long, env = "LOTOCAR_DEV_ALLOW_LOCAL_PUSH")]
    pub dev_allow_local_push: bool,

    /// Development only (with --dev): no background work (notifications,
    /// news of drivers, scheduled jobs), and database statements counted in
    /// /metrics, so that a test counts the statements of each request.
    #[arg(long, env = "LOTOCAR_DEV_COUNT_STATEMENTS", hide = true)]
    pub dev_count_statements: bool,

    /// Territory whose places rank first in searches when a request names none.
    #[arg(long, env = "LOTOCAR_TERRITORY")]
    pub territory: Option<String>,

    /// Time zone for trips outside any territory.
    #[arg(long, env = "LOTOCAR_TIMEZONE", default_value = "Europe/Paris")]
    pub timezone: Tz,

    /// Reverse proxies in front of the server (addresses or networks,
    /// comma-separated: "127.0.0.1,10.0.0.0/8"): the client's address is the
    /// right-most X-Forwarded-For hop they did not add. None: the peer.
    #[arg(long, env = "LOTOCAR_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<crate::auth::client_ip::Cidr>,

    /// Sign-in codes one contact may request per hour.
    #[arg(long, env = "LOTOCAR_CODES_PER_CONTACT_HOUR", default_value_t = 5)]
    pub codes_per_contact_hour: u32,

    /// Sign-in requests (codes and attempts) one IP address may make per hour.
    #[arg(long, env = "LOTOCAR_SIGNIN_PER_IP_HOUR", default_value_t = 60)]
    pub signin_per_ip_hour: u32,

    /// Days a session lasts without use.
    #[arg(long, env = "LOTOCAR_SESSION_DAYS", default_value_t = 180)]
    pub session_days: u32,

    /// OSRM server for road times (http://host:5000); crow-fly times when unset.
    #[arg(long, env = "OSRM_URL")]
    pub osrm_url: Option<String>,

    /// Most coordinates in one OSRM /table request (osrm-routed --max-table-size).
    #[arg(long, env = "LOTOCAR_OSRM_MAX_TABLE", default_value_t = 100)]
    pub osrm_max_table: usize,

    /// Average rural driving speed for crow-fly road times, km/h.
    #[arg(long, env = "LOTOCAR_ROAD_SPEED_KMH", default_value_t = 60.0)]
    pub road_speed_kmh: f64,

    /// Road distance over crow-fly distance, for crow-fly road times.
    #[arg(long, env = "LOTOCAR_CIRCUITY", default_value_t = 1.4)]
    pub circuity: f64,

    /// How far a passenger may walk to a meeting point, metres.
    #[arg(long, env = "LOTOCAR_WALK_METERS", default_value_t = 1000.0)]
    pub walk_meters: f64,

    /// Minutes a passenger accepts to arrive early or wait, beyond their flexibility.
    #[arg(long, env = "LOTOCAR_MAX_WAIT_MINUTES", default_value_t = 60.0)]
    pub max_wait_minutes: f64,

    /// Public address of the service, for links in SMS and e-mails.
    #[arg(
        long,
        env = "LOTOCAR_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,

    /// Name shown at the start of SMS and e-mails.
    #[arg(long, env = "LOTOCAR_BRAND", default_value = "Lotocar")]
    pub brand: String,

    /// VAPID subject: how a push service can reach the operator (mailto: or https:).
    #[arg(
        long,
        env = "LOTOCAR_VAPID_SUBJECT",
        default_value = "mailto:contact@lotocar.invalid"
    )]
    pub vapid_subject: String,

    /// SMS gateway URL (HTTP POST); SMS are written to the log when unset.
    #[arg(long, env = "LOTOCAR_SMS_URL")]
    pub sms_url: Option<String>,

    /// Body POSTed to the SMS gateway; {to} and {text} are replaced.
    #[arg(
        long,
        env = "LOTOCAR_SMS_TEMPLATE",
        default_value = r#"{"to":"{to}","text":"{text}"}"#
    )]
    pub sms_template: String,

    /// Authorization header sent to the SMS gateway.
    #[arg(long, env = "LOTOCAR_SMS_AUTHORIZATION", hide_env_values = true)]
    pub sms_authorization: Option<String>,

    /// SMTP server (smtp://user:pass@host:587, smtps://…); e-mails are written to the log when unset.
    #[arg(long, env = "LOTOCAR_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// Sender of e-mails.
    #[arg(
        long,
        env = "LOTOCAR_MAIL_FROM",
        default_value = "Lotocar <ne-pas-repondre@lotocar.invalid>"
    )]
    pub mail_from: String,

    /// Quiet hours (local time): no push or SMS from this hour…
    #[arg(long, env = "LOTOCAR_QUIET_START_HOUR", default_value_t = 21)]
    pub quiet_start_hour: u32,

    /// …to this hour, except for same-day trips. Equal hours: no quiet hours.
    #[arg(long, env = "LOTOCAR_QUIET_END_HOUR", default_value_t = 7)]
    pub quiet_end_hour: u32,

    /// Seconds a dispatcher keeps a delivery before another may take it over.
    #[arg(long, env = "LOTOCAR_DELIVERY_LEASE_SECONDS", default_value_t = 60)]
    pub delivery_lease_seconds: u32,

    /// First retry delay of a failed delivery, milliseconds (doubled each time).
    #[arg(long, env = "LOTOCAR_RETRY_BASE_MS", default_value_t = 30_000)]
    pub retry_base_ms: u64,

    /// Seconds the news of new drivers on a passenger's way wait before
    /// they are told, so that trips posted together (an outward and a
    /// return, a batch) make one message. A need is told at most once a day.
    #[arg(long, env = "LOTOCAR_NEW_DRIVER_WAIT_SECONDS", default_value_t = 5)]
    pub new_driver_wait_seconds: u64,

    /// kg CO₂e per car-km avoided, for impact figures (ADEME, "voiture
    /// thermique"; see docs/impact.md).
    #[arg(long, env = "LOTOCAR_CO2_KG_PER_KM", default_value_t = crate::impact::DEFAULT_CO2_KG_PER_KM)]
    pub co2_kg_per_km: f64,

    /// Personal data of accounts (and of people registered by relays)
    /// inactive for this many months is erased; their trips stay as
    /// anonymous figures. See docs/privacy.md.
    #[arg(long, env = "LOTOCAR_RETENTION_MONTHS", default_value_t = 24)]
    pub retention_months: u32,

    /// Development only (with --dev): run the clock this many hours ahead.
    #[arg(
        long,
        env = "LOTOCAR_DEV_CLOCK_OFFSET_HOURS",
        default_value_t = 0,
        hide = true
    )]
    pub dev_clock_offset_hours: i64,

    /// Web app pages one client address may keep open at once (an office
    /// behind one address has several people).
    #[arg(long, env = "LOTOCAR_WEB_SOCKETS_PER_CLIENT", default_value_t = 40)]
    pub web_sockets_per_client: usize,

    /// Seconds a web app page may stay silent before its connection is
    /// closed (open pages ping every 30 s).
    #[arg(long, env = "LOTOCAR_WEB_IDLE_SECONDS", default_value_t = 120)]
    pub web_idle_seconds: u64,

    /// Log format: "text" or "json".
    #[arg(long, env = "LOTOCAR_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}

impl Config {
    /// Refuses settings that would put a development server on the
    /// internet: `--dev` returns sign-in codes to whoever asks.
    pub fn check_deployment(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.dev || self.bind.ip().is_loopback(),
            "--dev returns sign-in codes to whoever asks: it is refused on {} (bind to 127.0.0.1, or leave out --dev)",
            self.bind
        );
        anyhow::ensure!(
            !self.dev_allow_local_push || self.dev,
            "--dev-allow-local-push is for tests: it needs --dev"
        );
        anyhow::ensure!(
            !self.dev_count_statements || self.dev,
            "--dev-count-statements is for tests: it needs --dev"
        );
        anyhow::ensure!(
            self.dev_clock_offset_hours == 0 || self.dev,
            "--dev-clock-offset-hours needs --dev"
        );
        Ok(())
    }

    /// Road times: OSRM when configured, else crow-fly.
    pub fn router(&self) -> anyhow::Result<Arc<dyn Router>> {
        Ok(match &self.osrm_url {
            Some(url) => Arc::new(Osrm::new(url, self.osrm_max_table)?),
            None => Arc::new(self.crow_fly()),
        })
    }

    pub fn crow_fly(&self) -> CrowFly {
        CrowFly {
            circuity: self.circuity,
            speed_kmh: self.road_speed_kmh,
        }
    }

    pub fn matching_rules(&self) -> Rules {
        Rules {
            walk_meters: self.walk_meters,
            max_wait_minutes: self.max_wait_minutes,
            // Exact for crow-fly times; with road times, a corridor as wide
            // as 100 km/h of straight-line travel per minute of detour.
            reach_per_minute: match &self.osrm_url {
                Some(_) => 100_000.0 / 60.0,
                None => self.crow_fly().crow_meters_in(1.0),
            },
            // With road times, as slow as 6 km/h as the crow flies.
            crawl_per_minute: match &self.osrm_url {
                Some(_) => 6_000.0 / 60.0,
                None => self.crow_fly().crow_meters_in(1.0),
            },
            ..Rules::default()
        }
    }
}
