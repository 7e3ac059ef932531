//! `lotocar bench push`: Web Push throughput. A receiver on loopback takes
//! every POST; the messages are encrypted (RFC 8291) and VAPID-signed as in
//! production, to devices with real P-256 keys. Baseline: the same number
//! of plain POSTs of the clear payload, in the same run.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::StreamExt;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand::Rng;
use serde_json::json;

use super::{percentile_us, round1};
use crate::notify::push::{self, Outcome, Subscription, Vapid};

pub async fn push(count: usize, concurrency: usize) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = axum::Router::new().route("/push/{device}", post(|| async { StatusCode::CREATED }));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let devices: Vec<Subscription> = (0..64)
        .map(|i| {
            let secret = loop {
                let mut bytes = [0u8; 32];
                rand::rng().fill(&mut bytes);
                if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
                    break secret;
                }
            };
            let mut auth = [0u8; 16];
            rand::rng().fill(&mut auth);
            Subscription {
                id: i.to_string(),
                endpoint: format!("{base}/push/{i}"),
                p256dh: URL_SAFE_NO_PAD
                    .encode(secret.public_key().to_encoded_point(false).as_bytes()),
                auth: URL_SAFE_NO_PAD.encode(auth),
            }
        })
        .collect();
    let vapid = Vapid::generate("mailto:bench@lotocar.invalid");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    let payload = serde_json::to_vec(&json!({
        "id": "01a22225-1d70-737f-b89d-6e6938ccfc76", "kind": "booking_confirmed",
        "title": "Réservation confirmée",
        "body": "Marie D. vous prendra le mardi 8 décembre à 8 h 23 à Livernon.",
        "url": "/bookings/01a22225-1d70-737f-b89d-6e6938ccfc76",
    }))?;

    // Baseline: plain POSTs.
    let started = Instant::now();
    let plain: Vec<Duration> = futures_util::stream::iter(0..count)
        .map(|i| {
            let (http, endpoint, body) =
                (&http, &devices[i % devices.len()].endpoint, payload.clone());
            async move {
                let t = Instant::now();
                let status = http
                    .post(endpoint)
                    .body(body)
                    .send()
                    .await
                    .map(|r| r.status());
                assert!(
                    matches!(status, Ok(s) if s.is_success()),
                    "receiver refused"
                );
                t.elapsed()
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let plain_s = started.elapsed().as_secs_f64();

    // Web Push: encrypted and signed.
    let started = Instant::now();
    let mut pushed: Vec<Duration> = futures_util::stream::iter(0..count)
        .map(|i| {
            let (http, vapid, device, payload) =
                (&http, &vapid, &devices[i % devices.len()], &payload);
            async move {
                let t = Instant::now();
                let outcome = push::send(http, vapid, device, payload, false).await;
                assert!(
                    matches!(outcome, Ok(Outcome::Delivered)),
                    "push failed: {outcome:?}"
                );
                t.elapsed()
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let push_s = started.elapsed().as_secs_f64();
    pushed.sort();
    let mut plain = plain;
    plain.sort();
    println!(
        "{}",
        json!({
            "bench": "push",
            "count": count,
            "concurrency": concurrency,
            "per_s": (count as f64 / push_s).round(),
            "p99_ms": round1(percentile_us(&pushed, 0.99) / 1000.0),
            "plain_per_s": (count as f64 / plain_s).round(),
            "plain_p99_ms": round1(percentile_us(&plain, 0.99) / 1000.0),
            "cost_ratio": round1(push_s / plain_s),
        })
    );
    Ok(())
}
