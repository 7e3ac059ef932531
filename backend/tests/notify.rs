//! Notifications delivered for real: Web Push to a receiver that checks the
//! VAPID signature and decrypts the payload, retries and dead letters, a
//! crash mid-dispatch, two instances, the live stream across instances, an
//! SMS gateway and an SMTP server.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::booking::*;
use common::push::{Behaviour, PushReceiver};
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_databases!(
    web_push_reaches_a_real_receiver_signed_and_encrypted,
    failed_pushes_are_retried_then_given_up,
    a_crash_mid_dispatch_loses_no_notification,
    two_instances_deliver_each_notification_once,
    the_live_stream_carries_notifications_across_instances,
);

/// No quiet hours (tests run at any hour), quick retries, short leases.
fn prompt() -> Options {
    let mut options = many_sign_ins();
    options.env.extend([
        ("LOTOCAR_QUIET_START_HOUR".into(), "0".into()),
        ("LOTOCAR_QUIET_END_HOUR".into(), "0".into()),
        ("LOTOCAR_RETRY_BASE_MS".into(), "20".into()),
        ("LOTOCAR_DELIVERY_LEASE_SECONDS".into(), "2".into()),
        ("LOTOCAR_DEV_ALLOW_LOCAL_PUSH".into(), "true".into()),
    ]);
    options
}

async fn receiver_for(server: &Server) -> PushReceiver {
    let key = server.get("/api/v1/push/vapid-public-key", None).await;
    assert_eq!(key.status, StatusCode::OK);
    PushReceiver::start(key.body["key"].as_str().unwrap()).await
}

async fn subscribe(server: &Server, token: &str, subscription: &Value) {
    let created = server
        .post("/api/v1/push/subscriptions", Some(token), subscription)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
}

/// `count` passengers waiting at Livernon for Figeac next Tuesday, each
/// with a push device on the receiver; returns their tokens.
async fn waiting_passengers(
    server: &Server,
    receiver: &PushReceiver,
    count: usize,
    behaviour: Behaviour,
) -> Vec<String> {
    let tuesday = next_weekday(1, 2);
    let mut tokens = Vec::with_capacity(count);
    for i in 0..count {
        let token = server.sign_in(&format!("+3367{i:07}")).await;
        subscribe(
            server,
            &token,
            &receiver.device(&format!("p{i}"), behaviour),
        )
        .await;
        post_need(server, &token, &livernon_to_figeac(&tuesday)).await;
        tokens.push(token);
    }
    tokens
}

async fn web_push_reaches_a_real_receiver_signed_and_encrypted(backend: Backend) {
    let server = Server::start_with(backend, prompt()).await;
    let receiver = receiver_for(&server).await;
    let passenger = waiting_passengers(&server, &receiver, 1, Behaviour::Accept)
        .await
        .remove(0);
    let Ride { driver, offer_id } = commuting_driver(&server, "0611111111", false).await;

    let received = receiver.wait_for(10, |r| !r.is_empty()).await;
    let push = &received[0];
    assert_eq!(push.payload["kind"], "new_driver");
    assert_eq!(
        push.payload["title"],
        "Un conducteur passe sur votre trajet Livernon → Figeac"
    );
    assert!(
        push.payload["body"]
            .as_str()
            .unwrap()
            .starts_with("Marie D. peut vous prendre")
    );
    assert!(
        push.payload["url"]
            .as_str()
            .unwrap()
            .starts_with("/requests/")
    );
    assert_eq!(push.ttl.as_deref(), Some("86400"));
    assert_eq!(push.urgency.as_deref(), Some("normal"));
    // The push carries the inbox notification's id: apps show it once.
    let inbox = server.get("/api/v1/notifications", Some(&passenger)).await;
    assert_eq!(push.payload["id"], inbox.body[0]["id"]);
    assert!(receiver.rejected().is_empty(), "{:?}", receiver.rejected());

    // The driver has two devices; one was reset (410): its subscription goes.
    subscribe(
        &server,
        &driver,
        &receiver.device("driver-phone", Behaviour::Accept),
    )
    .await;
    subscribe(
        &server,
        &driver,
        &receiver.device("driver-old-browser", Behaviour::Gone),
    )
    .await;
    assert_eq!(
        server
            .get("/api/v1/push/subscriptions", Some(&driver))
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let need_id = inbox.body[0]["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("/requests/")
        .to_string();
    book(
        &server,
        &passenger,
        &need_id,
        &offer_id,
        &next_weekday(1, 2),
    )
    .await;
    let received = receiver
        .wait_for(10, |r| r.iter().any(|p| p.device == "driver-phone"))
        .await;
    let to_driver = received
        .iter()
        .find(|p| p.device == "driver-phone")
        .unwrap();
    assert_eq!(to_driver.payload["kind"], "booking_requested");
    let mut left = Vec::new();
    for _ in 0..100 {
        left = server
            .get("/api/v1/push/subscriptions", Some(&driver))
            .await
            .body
            .as_array()
            .unwrap()
            .clone();
        if left.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left.len(), 1);
    assert!(
        left[0]["endpoint"]
            .as_str()
            .unwrap()
            .ends_with("/push/driver-phone")
    );
    // An invalid subscription is refused.
    let bad = server
        .post(
            "/api/v1/push/subscriptions",
            Some(&driver),
            &json!({ "endpoint": "ftp://x", "keys": { "p256dh": "abc", "auth": "!!" } }),
        )
        .await;
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(fields, vec!["endpoint", "keys.auth", "keys.p256dh"]);
}

async fn failed_pushes_are_retried_then_given_up(backend: Backend) {
    let server = Server::start_with(backend, prompt()).await;
    let receiver = receiver_for(&server).await;
    waiting_passengers(&server, &receiver, 1, Behaviour::Fail).await;
    commuting_driver(&server, "0611111111", false).await;
    let mut metrics = String::new();
    for _ in 0..200 {
        metrics = server.metrics().await;
        if metrics.contains("lotocar_deliveries{channel=\"push\",status=\"dead\"} 1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        metrics.contains("lotocar_deliveries{channel=\"push\",status=\"dead\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("lotocar_deliveries{channel=\"push\",status=\"sent\"} 0"),
        "{metrics}"
    );
    assert!(receiver.received().is_empty());
}

async fn a_crash_mid_dispatch_loses_no_notification(backend: Backend) {
    let mut server = Server::start_with(backend, prompt()).await;
    let receiver = receiver_for(&server).await;
    // A slow push service: the server is still delivering when it dies.
    let count = 1000;
    waiting_passengers(&server, &receiver, count, Behaviour::Slow(40)).await;
    commuting_driver(&server, "0611111111", false).await;
    receiver.wait_for(60, |r| r.len() >= 100).await;
    server.kill();
    let at_crash = receiver.received().len();
    assert!(at_crash < count, "the crash came too late to test anything");
    server.restart().await;
    let received = receiver
        .wait_for(120, |r| {
            r.iter()
                .map(|p| p.payload["id"].as_str().unwrap().to_string())
                .collect::<HashSet<_>>()
                .len()
                >= count
        })
        .await;
    // Every notification arrived; a repeat (delivered but not recorded
    // before the crash) carries the same id.
    let mut by_device: HashMap<String, HashSet<String>> = HashMap::new();
    for push in &received {
        by_device
            .entry(push.device.clone())
            .or_default()
            .insert(push.payload["id"].as_str().unwrap().to_string());
    }
    assert_eq!(by_device.len(), count);
    assert!(
        by_device.values().all(|ids| ids.len() == 1),
        "a device got two different notifications"
    );
    assert!(receiver.rejected().is_empty());
}

async fn two_instances_deliver_each_notification_once(backend: Backend) {
    let first = Server::start_with(backend, prompt()).await;
    let second = first.another_instance().await;
    let receiver = receiver_for(&first).await;
    let count = 200;
    waiting_passengers(&first, &receiver, count, Behaviour::Slow(5)).await;
    commuting_driver(&second, "0611111111", false).await;
    receiver.wait_for(60, |r| r.len() >= count).await;
    // Leave time for a duplicate to show up, if there were one.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let received = receiver.received();
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for push in &received {
        *per_id
            .entry(push.payload["id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(per_id.len(), count);
    assert!(
        per_id.values().all(|n| *n == 1),
        "{:?}",
        per_id.values().filter(|n| **n > 1).count()
    );
}

async fn the_live_stream_carries_notifications_across_instances(backend: Backend) {
    let first = Server::start_with(backend, prompt()).await;
    let second = first.another_instance().await;
    let Ride { driver, offer_id } = commuting_driver(&first, "0611111111", false).await;
    // The driver's app is open on the first instance.
    let mut stream = first.live_stream(&driver).await;
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    // A passenger books through the second instance.
    let passenger = second.sign_in("0622222222").await;
    post_need_and_book(&second, &passenger, &offer_id, &next_weekday(1, 2)).await;
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !text.contains("booking_requested") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("no event in 10 s");
        text.push_str(&String::from_utf8_lossy(
            &chunk.unwrap().expect("stream ended"),
        ));
    }
    assert!(text.contains("event: notification"), "{text}");
    assert!(text.contains("id: "), "{text}");
    // Without a token: 401; a token in the query string works (EventSource).
    let anonymous = first
        .http
        .get(first.url("/api/v1/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let by_query = first
        .http
        .get(first.url(&format!("/api/v1/events?token={driver}")))
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), StatusCode::OK);
}
