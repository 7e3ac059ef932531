//! The service over HTTP on a Lot populated like a successful département:
//! a server in this process on loopback (SQLite in a temporary directory,
//! or `DATABASE_URL`), trips and needs written through their owners, and
//! clients in the same process keeping `concurrency` requests in flight.
//! Every rate is given with `/healthz` measured in the same run (the ratio
//! means something on any machine; client and server share the cores).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::Duration as Days;
use clap::Parser;
use lotocar_shared::NeedSchedule;
use lotocar_shared::api::TripPlace;
use lotocar_shared::contact::Contact;
use lotocar_shared::need::Purpose;
use lotocar_shared::schedule::{NeedOnce, Timing};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::world::{self, World};
use crate::auth::{accounts, sign_in};
use crate::config::Config;
use crate::db::{Db, new_id};
use crate::places::Endpoints;
use crate::places::gazetteer::Gazetteer;
use crate::state::AppState;

#[derive(Parser)]
struct Flags {
    #[command(flatten)]
    config: Config,
}

/// What one load step measured.
pub(super) struct Measured {
    pub(super) rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
}

/// Keeps `concurrency` requests in flight for `seconds`; `make` builds the
/// i-th request.
pub(super) async fn load(
    concurrency: usize,
    seconds: f64,
    make: Arc<dyn Fn(usize) -> reqwest::RequestBuilder + Send + Sync>,
) -> Measured {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            let mut errors = 0;
            let mut i = worker;
            while Instant::now() < deadline {
                let t = Instant::now();
                match make(i).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        times.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => errors += 1,
                }
                i += concurrency;
            }
            (times, errors)
        }));
    }
    let mut times = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (t, e) = task.await.expect("load task");
        times.extend(t);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    times.sort_by(f64::total_cmp);
    let at = |q: f64| {
        times
            .get(((times.len() as f64 * q) as usize).min(times.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    Measured {
        rate: times.len() as f64 / elapsed,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        errors,
    }
}

pub(super) fn report(step: &str, concurrency: usize, m: &Measured, healthz: f64) {
    println!(
        "{}",
        json!({
            "step": step, "concurrency": concurrency,
            "per_second": m.rate.round(), "p50_ms": (m.p50_ms * 100.0).round() / 100.0,
            "p99_ms": (m.p99_ms * 100.0).round() / 100.0, "errors": m.errors,
            "ratio_to_healthz": (m.rate / healthz * 1000.0).round() / 1000.0,
        })
    );
}

/// A signed-in account (a session opened directly).
pub(super) async fn account(
    db: &Db,
    phone: String,
    name: &str,
) -> anyhow::Result<(String, String)> {
    let contact: Contact = phone.parse().map_err(anyhow::Error::msg)?;
    let id = accounts::find_or_create(db, &contact).await?;
    accounts::set_name_and_sharing(db, &id, name, false).await?;
    Ok((id.clone(), sign_in::new_session(db, &id, 30).await?))
}

/// A trip posted through the API, toward Figeac from around Livernon.
pub(super) fn probe_trip(i: usize) -> Value {
    let start = crate::db::now().date_naive() + Days::days(1);
    json!({
        "origin": { "place_id": "commune:46176" },
        "destination": { "place_id": "commune:46102" },
        "schedule": { "kind": "weekly", "weekdays": ["mon", "tue", "wed", "thu", "fri"],
                      "departure_time": format!("08:{:02}", (i % 12) * 5), "return_time": null,
                      "from": start.to_string(), "until": null },
        "seats": 3, "max_detour_minutes": 15,
    })
}

pub async fn http(trips: usize, needs: usize, seconds: f64, seed: u64) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("lotocar-bench-{}", uuid::Uuid::new_v4()));
    let result = run(&dir, trips, needs, seconds, seed).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run(
    dir: &std::path::Path,
    trips: usize,
    needs: usize,
    seconds: f64,
    seed: u64,
) -> anyhow::Result<()> {
    let flags = Flags::try_parse_from([
        "lotocar",
        "--dev",
        "--demo",
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
    let gazetteer = Gazetteer::load_embedded()?;
    let db = Db::open(config.database_url.as_deref(), &config.data_dir).await?;
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let state = AppState::new(db.clone(), config.clone(), gazetteer, base.clone()).await?;
    crate::demo::seed(&state).await?;
    let lot = state
        .territories
        .get("lot")
        .await?
        .ok_or_else(|| anyhow::anyhow!("no demo territory"))?;

    // The Lot: `trips` trips of drivers living there.
    let started = Instant::now();
    {
        let gazetteer = state.places.gazetteer.clone();
        let world = World::new(&gazetteer, |c| c.departement == "46", 5000, &[]);
        let mut rng = StdRng::seed_from_u64(seed);
        let today = crate::db::now().with_timezone(&lot.timezone).date_naive();
        let drivers = (trips / 5).max(1);
        let mut owners = Vec::with_capacity(drivers);
        for d in 0..drivers {
            owners.push(
                account(&db, format!("+3361{d:07}"), &format!("Conducteur {d}"))
                    .await?
                    .0,
            );
        }
        for chunk in (0..trips).collect::<Vec<_>>().chunks(1000) {
            let mut tx = db.begin_write().await?;
            for &i in chunk {
                let trip = world::trip(&mut rng, &world, i, today);
                let ends = Endpoints {
                    origin: trip.origin.clone(),
                    destination: trip.destination.clone(),
                    territory: Some(lot.clone()),
                };
                crate::offers::insert(
                    &mut tx,
                    crate::offers::NewOffer {
                        owner_id: &owners[i % drivers],
                        ends: &ends,
                        schedule: &trip.schedule,
                        seats: lotocar_shared::offer::Seats::new(i64::from(trip.seats))
                            .map_err(anyhow::Error::msg)?,
                        max_detour: lotocar_shared::offer::DetourTolerance::new(
                            trip.max_detour_minutes as i64,
                        )
                        .map_err(anyhow::Error::msg)?,
                    },
                    lot.timezone,
                )
                .await?;
            }
            tx.commit().await?;
        }
    }
    let populated = started.elapsed().as_secs_f64();
    crate::start_background(&state, &config);
    let app = crate::http::app(state.clone());
    tokio::spawn(async move {
        axum::serve(
            crate::http::listener(listener),
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    while client.get(format!("{base}/readyz")).send().await?.status() != 200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "{}",
        json!({ "step": "populated", "trips": trips, "seconds": (populated * 10.0).round() / 10.0,
                "ready_after_s": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0 })
    );

    let get = |path: String,
               token: Option<String>|
     -> Arc<dyn Fn(usize) -> reqwest::RequestBuilder + Send + Sync> {
        let client = client.clone();
        let base = base.clone();
        Arc::new(move |_| {
            let r = client.get(format!("{base}{path}"));
            match &token {
                Some(t) => r.bearer_auth(t),
                None => r,
            }
        })
    };
    let healthz = load(16, seconds, get("/healthz".into(), None)).await;
    report("healthz", 16, &healthz, healthz.rate);
    let base_rate = healthz.rate;

    // A passenger of Livernon going to Figeac, with many matches.
    let (_, passenger) = account(&db, "+33620000000".into(), "Passagère").await?;
    let tuesday = {
        let mut d = crate::db::now().date_naive() + Days::days(3);
        while chrono::Datelike::weekday(&d) != chrono::Weekday::Tue {
            d += Days::days(1);
        }
        d
    };
    let need = client
        .post(format!("{base}/api/v1/requests"))
        .bearer_auth(&passenger)
        .json(&json!({
            "origin": { "place_id": "commune:46176" },
            "destination": { "place_id": "commune:46102" },
            "schedule": { "kind": "once", "date": tuesday.to_string(), "arrive_by": "09:30", "flexibility_minutes": 30 },
            "seats": 1, "purpose": "medical",
        }))
        .send()
        .await?
        .json::<Value>()
        .await?;
    let need_id = need["id"].as_str().unwrap_or_default().to_string();
    let matches = need["matches"].as_array().map_or(0, Vec::len);
    println!("{}", json!({ "step": "need", "matches": matches }));
    // The same work in process, without HTTP: matching, then with seats.
    {
        let stored = crate::needs::get(&db.pool, &need_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the need"))?;
        let territories = state.territories.covering([Some(lot.id.as_str())]).await?;
        let view = crate::matching::need_view(&stored, &territories)
            .ok_or_else(|| anyhow::anyhow!("an open need"))?;
        let runs = 200;
        let t = Instant::now();
        for _ in 0..runs {
            state.matching.match_afresh(&view).await?;
        }
        let afresh_ms = t.elapsed().as_secs_f64() * 1000.0 / runs as f64;
        let t = Instant::now();
        for _ in 0..runs {
            state.trips.matches_of(&stored).await?;
        }
        let with_seats_ms = t.elapsed().as_secs_f64() * 1000.0 / runs as f64;
        println!(
            "{}",
            json!({ "step": "matches in process, one at a time",
                    "matched_afresh_ms": (afresh_ms * 1000.0).round() / 1000.0,
                    "asked_again_with_seats_ms": (with_seats_ms * 1000.0).round() / 1000.0 })
        );
    }
    let m = load(
        16,
        seconds,
        get(
            format!("/api/v1/requests/{need_id}/matches"),
            Some(passenger.clone()),
        ),
    )
    .await;
    report("GET /requests/{id}/matches", 16, &m, base_rate);

    // The same corridor, needs matched afresh: more needs asked in turn
    // than matching keeps (each a distinct time of day), then closed
    // again so that the next steps see the same open needs.
    let mut others = Vec::new();
    for i in 0..300 {
        let arrive_by = format!("{:02}:{:02}", 7 + i / 60, i % 60);
        let posted = client
            .post(format!("{base}/api/v1/requests"))
            .bearer_auth(&passenger)
            .json(&json!({
                "origin": { "place_id": "commune:46176" },
                "destination": { "place_id": "commune:46102" },
                "schedule": { "kind": "once", "date": tuesday.to_string(), "arrive_by": arrive_by, "flexibility_minutes": 30 },
                "seats": 1, "purpose": "medical",
            }))
            .send()
            .await?
            .json::<Value>()
            .await?;
        others.push(posted["id"].as_str().unwrap_or_default().to_string());
    }
    let afresh = {
        let client = client.clone();
        let base = base.clone();
        let passenger = passenger.clone();
        let others = Arc::new(others.clone());
        Arc::new(move |i: usize| {
            client
                .get(format!(
                    "{base}/api/v1/requests/{}/matches",
                    others[i % others.len()]
                ))
                .bearer_auth(&passenger)
        })
    };
    let m = load(16, seconds, afresh).await;
    report(
        "GET /requests/{id}/matches, 300 needs in turn (matched afresh)",
        16,
        &m,
        base_rate,
    );
    for id in &others {
        client
            .delete(format!("{base}/api/v1/requests/{id}"))
            .bearer_auth(&passenger)
            .send()
            .await?;
    }

    let prefixes = [
        "fig", "cah", "gram", "liv", "sou", "gou", "saint-c", "laca", "cajarc", "gare",
    ];
    for c in [1, 16] {
        let client = client.clone();
        let base = base.clone();
        let m = load(
            c,
            seconds,
            Arc::new(move |i| {
                client.get(format!(
                    "{base}/api/v1/places?q={}",
                    prefixes[i % prefixes.len()]
                ))
            }),
        )
        .await;
        report("GET /places", c, &m, base_rate);
    }

    let post_offers = |c: usize| {
        let client = client.clone();
        let base = base.clone();
        let db = db.clone();
        async move {
            let mut tokens = Vec::new();
            for d in 0..c {
                tokens.push(
                    account(&db, format!("+3363{d:07}"), &format!("Nouvelle {d}"))
                        .await?
                        .1,
                );
            }
            let tokens = Arc::new(tokens);
            let m = load(
                c,
                seconds,
                Arc::new(move |i| {
                    client
                        .post(format!("{base}/api/v1/offers"))
                        .bearer_auth(&tokens[i % tokens.len()])
                        .json(&probe_trip(i))
                }),
            )
            .await;
            anyhow::Ok(m)
        }
    };
    let mut without = Vec::new();
    for c in [1, 16] {
        let m = post_offers(c).await?;
        report("POST /offers, no open need on the way", c, &m, base_rate);
        without.push(m.rate);
    }

    // `needs` open needs on the probe trips' way (around Livernon, to
    // Figeac, in the next two weeks).
    let waiting = needs.max(1);
    let mut rng = StdRng::seed_from_u64(seed + 1);
    let livernon = state
        .places
        .gazetteer
        .get("commune:46176")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("Livernon"))?;
    let figeac = world::centre(
        state
            .places
            .gazetteer
            .get("commune:46102")
            .ok_or_else(|| anyhow::anyhow!("Figeac"))?,
    );
    let today = crate::db::now().with_timezone(&lot.timezone).date_naive();
    for chunk in (0..waiting).collect::<Vec<_>>().chunks(500) {
        let mut owners = Vec::new();
        for &i in chunk {
            owners.push(account(&db, format!("+3364{i:07}"), "").await?.0);
        }
        let mut tx = db.begin_write().await?;
        for (k, _) in chunk.iter().enumerate() {
            let origin: TripPlace = world::around(&mut rng, &livernon, 1500.0);
            let ends = Endpoints {
                origin,
                destination: figeac.clone(),
                territory: Some(lot.clone()),
            };
            let date = today + Days::days(rng.random_range(1..14));
            let schedule = NeedSchedule::Once(NeedOnce {
                date,
                timing: Timing::new(
                    Some(world::time_between(&mut rng, 8 * 60 + 30, 10 * 60)),
                    None,
                )
                .expect("valid"),
                flexibility_minutes: 30,
                return_after: None,
            });
            crate::needs::insert(
                &mut tx,
                crate::needs::NewNeed {
                    id: &new_id(),
                    owner_id: &owners[k],
                    on_behalf_of: None,
                    territory_id: Some(&lot.id),
                    ends: &ends,
                    schedule: &schedule,
                    seats: 1,
                    purpose: Purpose::Medical,
                    with_candidates: false,
                },
                today,
            )
            .await?;
        }
        tx.commit().await?;
    }
    state.matching.sync().await?;
    for (k, c) in [1, 16].into_iter().enumerate() {
        let m = post_offers(c).await?;
        report(
            &format!("POST /offers, {waiting} open needs on the way"),
            c,
            &m,
            base_rate,
        );
        println!(
            "{}",
            json!({ "step": "with needs / without", "concurrency": c,
                    "ratio": (m.rate / without[k] * 1000.0).round() / 1000.0 })
        );
    }
    // The fan-out works behind: how fast it clears what was posted (for
    // at most 30 s).
    let (queued, _) = crate::news::backlog(&db).await?;
    let draining = Instant::now();
    let mut left = queued;
    while left > 0 && draining.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        left = crate::news::backlog(&db).await?.0;
    }
    let (notes,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM notifications")
        .fetch_one(&db.pool)
        .await?;
    println!(
        "{}",
        json!({ "step": "fan-out", "trips_queued": queued, "trips_left": left,
                "trips_matched_per_second": ((queued - left) as f64 / draining.elapsed().as_secs_f64()).round(),
                "notifications_written": notes })
    );

    // Sign-in while trips are posted at full rate.
    let stop = Arc::new(AtomicBool::new(false));
    let posting = {
        let stop = stop.clone();
        let post = post_offers(16);
        tokio::spawn(async move {
            let m = post.await;
            stop.store(true, Ordering::Relaxed);
            m
        })
    };
    let mut times = Vec::new();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        let contact = format!("+3365{i:07}");
        i += 1;
        let t = Instant::now();
        let started = client
            .post(format!("{base}/api/v1/auth/start"))
            .json(&json!({ "contact": contact }))
            .send()
            .await?
            .json::<Value>()
            .await?;
        let code = started["dev_code"].as_str().unwrap_or_default().to_string();
        let verified = client
            .post(format!("{base}/api/v1/auth/verify"))
            .json(&json!({ "contact": contact, "code": code }))
            .send()
            .await?;
        if verified.status().is_success() {
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let posted = posting.await??;
    times.sort_by(f64::total_cmp);
    let at = |q: f64| {
        times
            .get(((times.len() as f64 * q) as usize).min(times.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "{}",
        json!({ "step": "sign-in (start + verify) while trips are posted", "sign_ins": times.len(),
                "p50_ms": (at(0.5) * 10.0).round() / 10.0, "p99_ms": (at(0.99) * 10.0).round() / 10.0,
                "offers_per_second": posted.rate.round() })
    );
    Ok(())
}
