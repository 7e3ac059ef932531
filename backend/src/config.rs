//! Server configuration: command-line flags, each with an environment
//! variable, documented in the README's configuration table.

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono_tz::Tz;
use clap::Args;

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
    #[arg(long, env = "LOTOCAR_DEV")]
    pub dev: bool,

    /// Territory whose places rank first in searches when a request names none.
    #[arg(long, env = "LOTOCAR_TERRITORY")]
    pub territory: Option<String>,

    /// Time zone for trips outside any territory.
    #[arg(long, env = "LOTOCAR_TIMEZONE", default_value = "Europe/Paris")]
    pub timezone: Tz,

    /// Read the client address from X-Forwarded-For (behind a reverse proxy).
    #[arg(long, env = "LOTOCAR_TRUST_PROXY")]
    pub trust_proxy: bool,

    /// Sign-in codes one contact may request per hour.
    #[arg(long, env = "LOTOCAR_CODES_PER_CONTACT_HOUR", default_value_t = 5)]
    pub codes_per_contact_hour: u32,

    /// Sign-in requests (codes and attempts) one IP address may make per hour.
    #[arg(long, env = "LOTOCAR_SIGNIN_PER_IP_HOUR", default_value_t = 60)]
    pub signin_per_ip_hour: u32,

    /// Days a session lasts without use.
    #[arg(long, env = "LOTOCAR_SESSION_DAYS", default_value_t = 180)]
    pub session_days: u32,

    /// Log format: "text" or "json".
    #[arg(long, env = "LOTOCAR_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}

/// How long a sign-in code is valid.
pub const CODE_TTL_SECONDS: u32 = 10 * 60;
/// Wrong codes allowed before a new one must be requested.
pub const CODE_MAX_ATTEMPTS: i64 = 5;
