//! Test harness: starts the real `lotocar` binary on a free port against a
//! fresh SQLite file or a fresh PostgreSQL database, and talks HTTP to it.
//!
//! PostgreSQL tests run when `LOTOCAR_TEST_POSTGRES_URL` points to a server
//! where the test may create databases (`.ci/run` starts one). Without it
//! they are skipped with a note, unless `LOTOCAR_REQUIRE_POSTGRES=1`, which
//! turns the absence into a failure (CI sets it).

#![allow(dead_code)]

pub mod booking;
pub mod push;
pub mod sms;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;

/// Which database a test server uses.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    Postgres { url: String },
}

impl Backend {
    /// A fresh PostgreSQL database, or `None` (test skipped) when no server
    /// was given.
    pub async fn postgres() -> Option<Backend> {
        let Ok(admin_url) = std::env::var("LOTOCAR_TEST_POSTGRES_URL") else {
            if std::env::var("LOTOCAR_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("LOTOCAR_REQUIRE_POSTGRES=1 but LOTOCAR_TEST_POSTGRES_URL is not set");
            }
            eprintln!("note: PostgreSQL test skipped (set LOTOCAR_TEST_POSTGRES_URL)");
            return None;
        };
        let name = format!("lotocar_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::postgres::PgConnection::connect(&admin_url)
            .await
            .expect("connect to the PostgreSQL test server");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create the test database");
        let (base, _) = admin_url
            .rsplit_once('/')
            .expect("URL with a database name");
        Some(Backend::Postgres {
            url: format!("{base}/{name}"),
        })
    }

    pub fn database_url(&self) -> Option<&str> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres { url } => Some(url),
        }
    }
}

/// Options for a test server.
#[derive(Clone, Debug)]
pub struct Options {
    pub demo: bool,
    pub dev: bool,
    pub env: Vec<(String, String)>,
    /// The server's log (at info) goes to this file instead of the test's
    /// output.
    pub log_file: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            demo: false,
            dev: true,
            env: Vec::new(),
            log_file: None,
        }
    }
}

/// A running server and an HTTP client for it.
pub struct Server {
    child: Option<Child>,
    pub base: String,
    pub http: reqwest::Client,
    pub backend: Backend,
    pub options: Options,
    data_dir: tempfile::TempDir,
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_lotocar"))
}

impl Server {
    pub async fn start(backend: Backend) -> Server {
        Self::start_with(backend, Options::default()).await
    }

    pub async fn start_with(backend: Backend, options: Options) -> Server {
        Self::start_on(backend, options, tempfile::tempdir().expect("temp dir"))
    }

    /// A server (SQLite) on a data directory made beforehand (a restored
    /// backup, say).
    pub async fn start_in(data_dir: tempfile::TempDir, options: Options) -> Server {
        Self::start_on(Backend::Sqlite, options, data_dir)
    }

    fn start_on(backend: Backend, options: Options, data_dir: tempfile::TempDir) -> Server {
        let mut server = Server {
            child: None,
            base: String::new(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            backend,
            options,
            data_dir,
        };
        server.spawn();
        server
    }

    /// `token`'s live stream of notifications (`GET /api/v1/events`).
    pub async fn live_stream(&self, token: &str) -> reqwest::Response {
        self.http
            .get(self.url("/api/v1/events"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Runs `lotocar admin <args>` on this server's database, whatever comes
    /// of it.
    pub fn admin_output(&self, args: &[&str]) -> std::process::Output {
        Command::new(binary())
            .arg("admin")
            .args(args)
            .arg("--data-dir")
            .arg(self.data_dir())
            .env_remove("DATABASE_URL")
            .envs(self.backend.database_url().map(|u| ("DATABASE_URL", u)))
            .output()
            .expect("run lotocar admin")
    }

    /// Another server process on the same database (and data directory).
    pub async fn another_instance(&self) -> Server {
        let mut other = Server {
            child: None,
            base: String::new(),
            http: self.http.clone(),
            backend: self.backend.clone(),
            options: Options {
                demo: false,
                ..self.options.clone()
            },
            data_dir: tempfile::tempdir().expect("temp dir"),
        };
        other.spawn_in(self.data_dir.path().to_path_buf());
        other
    }

    fn spawn(&mut self) {
        self.spawn_in(self.data_dir.path().to_path_buf());
    }

    fn spawn_in(&mut self, data_dir: PathBuf) {
        self.spawn_at(data_dir, "127.0.0.1:0");
    }

    fn spawn_at(&mut self, data_dir: PathBuf, bind: &str) {
        let mut cmd = Command::new(binary());
        cmd.arg("serve")
            .arg("--bind")
            .arg(bind)
            .arg("--data-dir")
            .arg(&data_dir)
            .env_remove("DATABASE_URL")
            .env(
                "RUST_LOG",
                std::env::var("LOTOCAR_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            // News of new drivers are told at once (a test that needs
            // the wait sets it).
            .env("LOTOCAR_NEW_DRIVER_WAIT_SECONDS", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if self.options.dev {
            cmd.arg("--dev");
        }
        if self.options.demo {
            cmd.arg("--demo");
        }
        if let Some(url) = self.backend.database_url() {
            cmd.env("DATABASE_URL", url);
        }
        for (k, v) in &self.options.env {
            cmd.env(k, v);
        }
        if let Some(file) = &self.options.log_file {
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(file)
                .expect("a log file");
            cmd.stderr(log).env("RUST_LOG", "info").env("NO_COLOR", "1");
        }
        let mut child = cmd.spawn().expect("start lotocar");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            while let Some(Ok(line)) = lines.next() {
                if let Some(url) = line.strip_prefix("lotocar listening on ") {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server did not start within 60 s");
        self.base = base;
        self.child = Some(child);
    }

    /// Stops the server gracefully (SIGTERM) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let _ = child.wait();
        }
    }

    /// Kills the server without warning (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops and starts again on the same database.
    pub async fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Stops and starts again on the same database and the same address,
    /// as a deployed server restarts: open pages find it where it was.
    pub async fn restart_in_place(&mut self) {
        let address = self
            .base
            .strip_prefix("http://")
            .expect("an http address")
            .to_string();
        self.stop();
        self.spawn_at(self.data_dir.path().to_path_buf(), &address);
    }

    /// Runs `lotocar admin <args>` on this server's database.
    pub fn admin(&self, args: &[&str]) {
        let output = self.admin_output(args);
        assert!(
            output.status.success(),
            "lotocar admin {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Signs in `contact` with `role` in `territory`.
    pub async fn sign_in_with_role(
        &self,
        contact: &str,
        name: &str,
        role: &str,
        territory: &str,
    ) -> String {
        self.grant(contact, role, territory);
        self.sign_in_as(contact, name).await
    }

    /// Gives `role` in `territory` to whoever signs in with `contact`.
    pub fn grant(&self, contact: &str, role: &str, territory: &str) {
        self.admin(&[
            "grant",
            "--contact",
            contact,
            "--role",
            role,
            "--territory",
            territory,
        ]);
    }

    /// The Lot (département 46), made with `lotocar admin territory` (a
    /// server without the demo has no territory).
    pub fn add_lot(&self) {
        self.admin(&[
            "territory",
            "--id",
            "lot",
            "--name",
            "Lot",
            "--brand",
            "Lot'ô car",
            "--departements",
            "46",
        ]);
    }

    /// A second territory, the Aveyron (département 12), next to the Lot.
    pub fn add_aveyron(&self) {
        self.admin(&[
            "territory",
            "--id",
            "aveyron",
            "--name",
            "Aveyron",
            "--brand",
            "Covoit'Aveyron",
            "--departements",
            "12",
        ]);
    }

    pub fn data_dir(&self) -> &std::path::Path {
        self.data_dir.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request; returns the status, headers and JSON body (Null when
    /// the body is empty or not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        Response::from(request.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.call(Method::PUT, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.call(Method::DELETE, path, token, None).await
    }

    /// Signs in with a code (the server runs with --dev) and returns the
    /// bearer token.
    /// The notifications of `token` once there are at least `n` (they are
    /// written in the background: a trip's news, the dispatcher's work).
    pub async fn inbox_with(&self, token: &str, n: usize) -> Vec<Value> {
        let mut inbox = Vec::new();
        for _ in 0..200 {
            inbox = self
                .get("/api/v1/notifications", Some(token))
                .await
                .body
                .as_array()
                .cloned()
                .unwrap_or_default();
            if inbox.len() >= n {
                return inbox;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("fewer than {n} notifications after 10 s: {inbox:?}");
    }

    /// The text of `/metrics`.
    pub async fn metrics(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The sizes (trips, needs) of this instance's matching index, as
    /// `/metrics` tells.
    pub async fn indexed(&self) -> (i64, i64) {
        let text = self.metrics().await;
        let of = |kind: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("lotocar_index_entries{{kind=\"{kind}\"}} ")))
                .expect("index sizes in /metrics")
                .parse()
                .unwrap()
        };
        (of("offer"), of("need"))
    }

    /// Waits until every trip posted or changed has been matched against
    /// the open needs (its news written), as `/metrics` tells.
    pub async fn trips_matched(&self) {
        for _ in 0..200 {
            if self
                .metrics()
                .await
                .lines()
                .any(|l| l == "lotocar_trips_to_match 0")
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("trips still waiting to be matched after 10 s");
    }

    pub async fn sign_in(&self, contact: &str) -> String {
        let started = self
            .post("/api/v1/auth/start", None, &json!({ "contact": contact }))
            .await;
        assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
        let code = started.body["dev_code"]
            .as_str()
            .expect("dev_code")
            .to_string();
        let verified = self
            .post(
                "/api/v1/auth/verify",
                None,
                &json!({ "contact": contact, "code": code }),
            )
            .await;
        assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
        verified.body["token"].as_str().unwrap().to_string()
    }

    /// Signs in and sets a display name.
    pub async fn sign_in_as(&self, contact: &str, name: &str) -> String {
        self.sign_in_sharing(contact, name, false).await
    }

    /// Signs in, sets a display name and whether the phone may be shown
    /// on confirmed bookings.
    pub async fn sign_in_sharing(&self, contact: &str, name: &str, share_phone: bool) -> String {
        let token = self.sign_in(contact).await;
        let me = self
            .patch(
                "/api/v1/me",
                Some(&token),
                &json!({ "display_name": name, "share_phone": share_phone }),
            )
            .await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        token
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct Response {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    /// The raw body (CSV, HTML).
    pub text: String,
}

impl Response {
    async fn from(response: reqwest::Response) -> Response {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap_or_default();
        Response {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Asserts an RFC 9457 problem with this status, and returns it.
    #[track_caller]
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.content_type(), "application/problem+json");
        assert_eq!(self.body["status"], status);
        assert!(self.body["type"].is_string());
        assert!(self.body["title"].is_string());
        let detail = self.body["detail"].as_str().expect("detail");
        assert!(!detail.is_empty());
        &self.body
    }

    /// The fields named in a validation problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Lets many people sign in from the test's one address.
/// A server on the Lot demo territory (its accounts sign in many times).
pub async fn demo_server(backend: Backend) -> Server {
    Server::start_with(
        backend,
        Options {
            demo: true,
            ..many_sign_ins()
        },
    )
    .await
}

/// PostgreSQL: waits (at most 10 s) until `n` statements on the test's
/// database wait for a lock, or `over()` says the requests to wait for
/// are over; whether `n` were seen waiting.
pub async fn until_waiting_on_locks(
    watcher: &mut sqlx::PgConnection,
    n: i64,
    over: impl Fn() -> bool,
) -> bool {
    for _ in 0..200 {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(&mut *watcher)
        .await
        .expect("pg_stat_activity");
        if waiting >= n {
            return true;
        }
        if over() {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
/// A person registered by `relay` on the Lot, with their consent; their id.
pub async fn register_person(
    server: &Server,
    relay: &str,
    name: &str,
    phone: Option<&str>,
    commune: &str,
) -> String {
    let created = server
        .post(
            "/api/v1/territories/lot/beneficiaries",
            Some(relay),
            &json!({ "display_name": name, "phone": phone, "commune_id": commune,
                     "consent_given": true, "consent_method": "oral, au guichet" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.body["id"].as_str().unwrap().to_string()
}

pub fn many_sign_ins() -> Options {
    Options {
        env: vec![("LOTOCAR_SIGNIN_PER_IP_HOUR".into(), "100000".into())],
        ..Default::default()
    }
}

/// Runs each scenario against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    super::$scenario(super::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    if let Some(backend) = super::common::Backend::postgres().await {
                        super::$scenario(backend).await;
                    }
                }
            )*
        }
    };
}

/// A weekday-commute trip body.
pub fn weekly_offer(from: &str, to: &str, departure: &str, start: &str) -> Value {
    json!({
        "origin": { "place_id": from },
        "destination": { "place_id": to },
        "schedule": {
            "kind": "weekly",
            "weekdays": ["mon", "tue", "wed", "thu", "fri"],
            "departure_time": departure,
            "return_time": "17:30",
            "from": start,
            "until": null
        },
        "seats": 3,
        "max_detour_minutes": 15
    })
}

/// A one-off need body arriving by `arrive_by` on `date`.
pub fn need_arriving(from: &str, to: &str, date: &str, arrive_by: &str) -> Value {
    json!({
        "origin": { "place_id": from },
        "destination": { "place_id": to },
        "schedule": {
            "kind": "once",
            "date": date,
            "arrive_by": arrive_by,
            "flexibility_minutes": 0
        },
        "seats": 1,
        "purpose": "medical"
    })
}

/// A date `days` from today (Paris), as "YYYY-MM-DD".
pub fn date_in(days: i64) -> String {
    (chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive()
        + chrono::Duration::days(days))
    .to_string()
}

/// Hours from now until noon (Paris) on `date` ("YYYY-MM-DD"), for the
/// development clock.
pub fn hours_until_noon(date: &str) -> i64 {
    hours_until(date, 12, 0)
}

/// Whole hours from now until `hour:minute` (Paris) on `date`: the clock
/// moved by it shows a time in the hour before.
pub fn hours_until(date: &str, hour: u32, minute: u32) -> i64 {
    use chrono::TimeZone;
    let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
    let at = chrono_tz::Europe::Paris
        .from_local_datetime(&day.and_hms_opt(hour, minute, 0).unwrap())
        .unwrap();
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours()
}

/// The next date (at least `min_days` ahead) that falls on `weekday`
/// (0 = Monday).
pub fn next_weekday(weekday: u32, min_days: i64) -> String {
    use chrono::Datelike;
    let mut date = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive()
        + chrono::Duration::days(min_days);
    while date.weekday().num_days_from_monday() != weekday {
        date += chrono::Duration::days(1);
    }
    date.to_string()
}

pub const CAHORS: &str = "commune:46042";
pub const FIGEAC: &str = "commune:46102";
pub const LIVERNON: &str = "commune:46176";
pub const CAJARC: &str = "commune:46045";
pub const GOURDON: &str = "commune:46127";
