//! News of new drivers, as the passenger gets them: at most one message a
//! day per need, the best driver first, by text message only for the best
//! one; nothing lost when the server dies between a trip and its message.
//! On both databases.

mod common;

use common::sms::{Inbox, sms_gateway};
use common::*;
use reqwest::StatusCode;
use serde_json::Value;

on_both_databases!(
    a_passenger_hears_of_new_drivers_once_a_day_per_need,
    news_written_before_a_crash_are_told_after_it,
);

async fn with_sms(backend: Backend, env: &[(&str, &str)]) -> (Server, Inbox) {
    let (sms_url, texts) = sms_gateway().await;
    let mut options = many_sign_ins();
    options.env.extend(
        [
            ("LOTOCAR_SMS_URL", sms_url.as_str()),
            ("LOTOCAR_SMS_AUTHORIZATION", "Bearer s3cret"),
            ("LOTOCAR_QUIET_START_HOUR", "0"),
            ("LOTOCAR_QUIET_END_HOUR", "0"),
        ]
        .iter()
        .chain(env)
        .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    (Server::start_with(backend, options).await, texts)
}

/// The texts that tell of drivers (not the sign-in codes).
fn news_texts(sms: &Inbox) -> Vec<String> {
    common::sms::texts(sms)
        .into_iter()
        .filter(|t| t.contains("peut vous prendre"))
        .collect()
}

async fn news_texts_at_least(sms: &Inbox, n: usize) -> Vec<String> {
    for _ in 0..200 {
        let sent = news_texts(sms);
        if sent.len() >= n {
            return sent;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} texts after 10 s: {:?}", news_texts(sms));
}

fn set_env(server: &mut Server, key: &str, value: &str) {
    server.options.env.retain(|(k, _)| k != key);
    server.options.env.push((key.into(), value.into()));
}

async fn post_trip(server: &Server, contact: &str, name: &str, trip: &Value) {
    let token = server.sign_in_as(contact, name).await;
    let offer = server.post("/api/v1/offers", Some(&token), trip).await;
    assert_eq!(offer.status, StatusCode::CREATED, "{}", offer.body);
}

/// A passenger who signed in by phone and has no push device: she is told
/// by text message. Two needs: Livernon → Figeac on two Tuesdays.
async fn waiting_passenger(server: &Server) -> (String, Vec<String>) {
    let passenger = server.sign_in("0622222222").await;
    let mut needs = Vec::new();
    for tuesday in [next_weekday(1, 3), next_weekday(1, 10)] {
        let need = server
            .post(
                "/api/v1/requests",
                Some(&passenger),
                &need_arriving(LIVERNON, FIGEAC, &tuesday, "09:30"),
            )
            .await;
        assert_eq!(need.status, StatusCode::CREATED, "{}", need.body);
        needs.push(need.body["id"].as_str().unwrap().to_string());
    }
    (passenger, needs)
}

fn of_need<'a>(notes: &'a [Value], need: &str) -> Vec<&'a Value> {
    let url = format!("/requests/{need}");
    notes.iter().filter(|n| n["url"] == url.as_str()).collect()
}

async fn a_passenger_hears_of_new_drivers_once_a_day_per_need(backend: Backend) {
    let (mut server, sms) = with_sms(backend, &[]).await;
    let (passenger, needs) = waiting_passenger(&server).await;

    // A first driver: each need is told at once, by text message too.
    post_trip(
        &server,
        "0611111111",
        "Marie Dupont",
        &weekly_offer(CAHORS, FIGEAC, "07:30", &date_in(1)),
    )
    .await;
    let notes = server.inbox_with(&passenger, 2).await;
    for need in &needs {
        let told = of_need(&notes, need);
        assert_eq!(told.len(), 1, "{notes:?}");
        assert_eq!(told[0]["kind"], "new_driver");
        assert_eq!(
            told[0]["title"],
            "Un conducteur passe sur votre trajet Livernon → Figeac"
        );
        let body = told[0]["body"].as_str().unwrap();
        assert!(body.starts_with("Marie D. peut vous prendre"), "{body}");
    }
    let first = news_texts_at_least(&sms, 2).await;
    assert!(
        first
            .iter()
            .all(|t| t.contains(" : Marie D. peut vous prendre")),
        "{first:?}"
    );

    // Two more drivers the same day: nothing more today. Paul leaves from
    // Livernon itself (no detour), Jean makes one, like Marie.
    post_trip(
        &server,
        "0633333333",
        "Jean Martin",
        &weekly_offer(CAHORS, FIGEAC, "07:35", &date_in(1)),
    )
    .await;
    post_trip(
        &server,
        "0644444444",
        "Paul Bernard",
        &weekly_offer(LIVERNON, FIGEAC, "08:45", &date_in(1)),
    )
    .await;
    server.trips_matched().await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let same_day = server.inbox_with(&passenger, 2).await;
    assert_eq!(same_day.len(), 2, "{same_day:?}");
    assert_eq!(news_texts(&sms).len(), 2, "{:?}", news_texts(&sms));

    // The next day, one digest per need: both drivers, the best first;
    // the text message names only the best.
    server.stop();
    set_env(&mut server, "LOTOCAR_DEV_CLOCK_OFFSET_HOURS", "25");
    server.restart().await;
    let notes = server.inbox_with(&passenger, 4).await;
    for need in &needs {
        let told = of_need(&notes, need);
        assert_eq!(told.len(), 2, "{notes:?}");
        let digest = told
            .iter()
            .find(|n| n["title"] != "Un conducteur passe sur votre trajet Livernon → Figeac")
            .expect("a digest");
        assert_eq!(
            digest["title"],
            "2 nouveaux conducteurs passent sur votre trajet Livernon → Figeac"
        );
        let body = digest["body"].as_str().unwrap();
        assert!(body.starts_with("Paul B. peut vous prendre"), "{body}");
        assert!(body.contains("Jean M. peut vous prendre"), "{body}");
        assert!(!body.contains("Marie D."), "{body}");
    }
    let sent = news_texts_at_least(&sms, 4).await;
    let digests: Vec<&String> = sent[2..].iter().collect();
    assert_eq!(digests.len(), 2, "{sent:?}");
    for text in digests {
        assert!(text.contains(" : Paul B. peut vous prendre"), "{text}");
        assert!(!text.contains("Jean"), "{text}");
        assert!(text.contains(", et un autre conducteur."), "{text}");
        assert!(text.contains("/requests/"), "{text}");
    }
    server.trips_matched().await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(server.inbox_with(&passenger, 4).await.len(), 4);
    assert_eq!(news_texts(&sms).len(), 4);
}

async fn news_written_before_a_crash_are_told_after_it(backend: Backend) {
    // News wait an hour before they are told.
    let (mut server, sms) = with_sms(backend, &[("LOTOCAR_NEW_DRIVER_WAIT_SECONDS", "3600")]).await;
    let (passenger, needs) = waiting_passenger(&server).await;
    post_trip(
        &server,
        "0611111111",
        "Marie Dupont",
        &weekly_offer(CAHORS, FIGEAC, "07:30", &date_in(1)),
    )
    .await;
    server.trips_matched().await;
    // A second trip, and the server dies at once, before or after it was
    // matched.
    post_trip(
        &server,
        "0644444444",
        "Paul Bernard",
        &weekly_offer(LIVERNON, FIGEAC, "08:45", &date_in(1)),
    )
    .await;
    server.kill();
    assert!(news_texts(&sms).is_empty());

    // Two hours later, the news have waited their hour.
    set_env(&mut server, "LOTOCAR_DEV_CLOCK_OFFSET_HOURS", "2");
    server.restart().await;
    let notes = server.inbox_with(&passenger, 2).await;
    for need in &needs {
        let told = of_need(&notes, need);
        assert_eq!(told.len(), 1, "{notes:?}");
        assert_eq!(
            told[0]["title"],
            "2 nouveaux conducteurs passent sur votre trajet Livernon → Figeac"
        );
        let body = told[0]["body"].as_str().unwrap();
        assert!(body.starts_with("Paul B. peut vous prendre"), "{body}");
        assert!(body.contains("Marie D. peut vous prendre"), "{body}");
    }
    let sent = news_texts_at_least(&sms, 2).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
}
