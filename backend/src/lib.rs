//! Lotocar's server: storage, sign-in, places, trips and needs over HTTP.

// Foundation: storage (and its backups), errors, retries, road times,
// message transports.
pub mod backup;
pub mod db;
pub mod error;
pub mod idempotency;
pub mod routing;
pub mod transports;

// Capabilities, bottom to top (docs/architecture.md draws the layers; the
// test `tests/layers.rs` checks that nothing imports upward).
pub mod audit;
pub mod auth;
pub mod beneficiaries;
pub mod bookings;
pub mod coordination;
pub mod impact;
pub mod jobs;
pub mod matching;
pub mod needs;
pub mod news;
pub mod notify;
pub mod offers;
pub mod places;
pub mod privacy;
pub mod ratings;
pub mod registry;
pub mod relay;
pub mod sync;
pub mod territories;
pub mod trips;
pub mod usage;

// The assembly: configuration, state, router, web shell, demo, benchmarks.
pub mod bench;
pub mod check;
pub mod config;
pub mod demo;
pub mod http;
pub mod requests;
pub mod state;
pub mod web;

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::Context;

use crate::config::Config;
use crate::db::Db;
use crate::places::gazetteer::Gazetteer;
use crate::state::AppState;

/// Opens the database, loads the gazetteer and serves until SIGTERM or
/// SIGINT, finishing the requests in flight.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    config.check_deployment()?;
    if config.dev_clock_offset_hours != 0 {
        db::set_clock_offset_hours(config.dev_clock_offset_hours);
        tracing::warn!(
            hours = config.dev_clock_offset_hours,
            "clock shifted (development)"
        );
    }
    let started = Instant::now();
    let places = Gazetteer::load_embedded()?;
    tracing::info!(
        places = places.len(),
        ms = started.elapsed().as_millis() as u64,
        "gazetteer loaded"
    );
    // Held while serving: a restoration waits for the server to stop.
    let _serving = match db::sqlite_file(config.database_url.as_deref(), &config.data_dir)? {
        Some(file) => {
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create the directory {}", dir.display()))?;
            }
            Some(db::FileLock::serving(&file)?)
        }
        None => None,
    };
    let db = Db::open(config.database_url.as_deref(), &config.data_dir).await?;
    tracing::info!(database = ?db.dialect, "database ready");
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let addr = listener.local_addr()?;
    // How the web shell reaches this server's API.
    let self_url = format!("http://127.0.0.1:{}", addr.port());
    let state = AppState::new(db, config.clone(), places, self_url).await?;
    if config.demo {
        demo::seed(&state).await.context("demo seed failed")?;
    }
    start_background(&state, &config);
    // On stdout, for people and for the test harness that started us.
    println!("lotocar listening on http://{addr}");
    tracing::info!(%addr, "listening");
    // On SIGTERM: no new connection, the live streams end, the requests in
    // flight finish; those still running after the grace period are cut.
    let live = state.notify.live.clone();
    let closed = live.closed();
    let server = axum::serve(
        http::listener(listener),
        http::app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        live.close();
    });
    tokio::select! {
        served = server.into_future() => served?,
        () = async {
            closed.await;
            tokio::time::sleep(STOP_GRACE).await;
        } => tracing::warn!(
            seconds = STOP_GRACE.as_secs(),
            "requests still running after the grace period: stopping anyway"
        ),
    }
    tracing::info!("stopped");
    Ok(())
}

/// How long the requests in flight may take to finish once asked to stop
/// (systemd's default stop timeout is 90 s).
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

/// Starts what runs beside the requests: the matching index is built, the
/// dispatcher, the news of drivers and the scheduled jobs run.
pub fn start_background(state: &AppState, config: &Config) {
    // Counting the statements of each request: no background work.
    let background = !config.dev_count_statements;
    if background {
        tokio::spawn(notify::dispatch::run(state.dispatcher.clone()));
        tokio::spawn(notify::inbox::follow(
            state.db.clone(),
            state.notify.live.clone(),
        ));
    }
    // The matching index is built now, not on the first matching request;
    // /readyz says ready once it is.
    let warm = state.matching.clone();
    tokio::spawn(async move {
        let started = Instant::now();
        while let Err(err) = warm.sync().await {
            tracing::error!(error = %err, "cannot build the matching index, trying again");
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        }
        let (offers, needs) = warm.matcher.index.sizes();
        tracing::info!(
            offers,
            needs,
            ms = started.elapsed().as_millis() as u64,
            "matching index built"
        );
    });
    if background {
        tokio::spawn(news::run(state.news.clone()));
        tokio::spawn(jobs::run(state.jobs.clone()));
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
