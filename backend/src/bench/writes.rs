//! Write throughput with several instances on one database: `instances`
//! servers in this process, each with its own pools, matching index and
//! background work (as separate processes would have), on `DATABASE_URL`
//! (PostgreSQL for a region; SQLite in a temporary directory otherwise).
//! Trips and needs are posted with the same number of requests in flight
//! through one instance, then spread over all of them; `/healthz` is the
//! baseline of the same run.

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as Days;
use clap::Parser;
use serde_json::{Value, json};

use super::http::{account, load, probe_trip, report};
use crate::config::Config;
use crate::db::Db;
use crate::places::gazetteer::Gazetteer;
use crate::state::AppState;

#[derive(Parser)]
struct Flags {
    #[command(flatten)]
    config: Config,
}

/// One server of the region: its address (the rest lives in its tasks).
async fn instance(config: &Config, seed: bool) -> anyhow::Result<String> {
    let db = Db::open(config.database_url.as_deref(), &config.data_dir).await?;
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let state = AppState::new(
        db,
        config.clone(),
        Gazetteer::load_embedded()?,
        base.clone(),
    )
    .await?;
    if seed {
        crate::demo::seed(&state).await?;
    }
    crate::start_background(&state, config);
    let app = crate::http::app(state);
    tokio::spawn(async move {
        axum::serve(
            crate::http::listener(listener),
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    Ok(base)
}

/// A need of Gourdon to Cahors, one day of the next two weeks: away from
/// the trips posted before (Livernon to Figeac), so that what is measured
/// is the write, not the matching of thousands of trips.
fn need_body(i: usize) -> Value {
    let date = crate::db::now().date_naive() + Days::days(1 + (i % 13) as i64);
    json!({
        "origin": { "place_id": "commune:46127" },
        "destination": { "place_id": "commune:46042" },
        "schedule": { "kind": "once", "date": date.to_string(),
                      "arrive_by": format!("09:{:02}", (i % 6) * 10), "flexibility_minutes": 30 },
        "seats": 1, "purpose": "medical",
    })
}

pub async fn writes(instances: usize, concurrency: usize, seconds: f64) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("lotocar-bench-{}", uuid::Uuid::new_v4()));
    let result = run(&dir, instances.max(1), concurrency.max(1), seconds).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run(
    dir: &std::path::Path,
    instances: usize,
    concurrency: usize,
    seconds: f64,
) -> anyhow::Result<()> {
    let flags = Flags::try_parse_from([
        "lotocar",
        "--dev",
        "--bind",
        "127.0.0.1:0",
        "--data-dir",
        dir.to_str().unwrap_or("."),
        "--signin-per-ip-hour",
        "100000000",
        "--codes-per-contact-hour",
        "100000000",
    ])?;
    let config = flags.config;
    let mut bases = Vec::new();
    for k in 0..instances {
        bases.push(instance(&config, k == 0).await?);
    }
    let db = Db::open(config.database_url.as_deref(), &config.data_dir).await?;
    println!(
        "{}",
        json!({ "step": "instances", "instances": instances,
                "database": format!("{:?}", db.dialect) })
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    for base in &bases {
        while client.get(format!("{base}/readyz")).send().await?.status() != 200 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let healthz = {
        let (client, base) = (client.clone(), bases[0].clone());
        load(
            concurrency,
            seconds,
            Arc::new(move |_| client.get(format!("{base}/healthz"))),
        )
        .await
    };
    report("healthz, one instance", concurrency, &healthz, healthz.rate);

    let mut tokens = Vec::new();
    for d in 0..concurrency {
        tokens.push(
            account(&db, format!("+3366{d:07}"), &format!("Membre {d}"))
                .await?
                .1,
        );
    }
    let tokens = Arc::new(tokens);
    for (path, body) in [
        ("/api/v1/offers", probe_trip as fn(usize) -> Value),
        ("/api/v1/requests", need_body),
    ] {
        let mut one = 0.0;
        for spread in [1, instances] {
            if spread == 1 && one > 0.0 {
                continue;
            }
            let (client, tokens) = (client.clone(), tokens.clone());
            let targets: Arc<Vec<String>> = Arc::new(bases[..spread].to_vec());
            let m = load(
                concurrency,
                seconds,
                Arc::new(move |i| {
                    client
                        .post(format!("{}{path}", targets[i % targets.len()]))
                        .bearer_auth(&tokens[i % tokens.len()])
                        .json(&body(i))
                }),
            )
            .await;
            report(
                &format!("POST {path} through {spread} instance(s)"),
                concurrency,
                &m,
                healthz.rate,
            );
            if spread == 1 {
                one = m.rate;
            } else {
                println!(
                    "{}",
                    json!({ "step": format!("POST {path}: {spread} instances / one"),
                            "ratio": (m.rate / one * 1000.0).round() / 1000.0 })
                );
            }
        }
    }
    Ok(())
}
