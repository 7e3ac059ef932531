//! A territory outside Europe/Paris (Guadeloupe is French and rural too):
//! its bookings get their reminder at its own evening hour, and its quiet
//! hours are its own night, not Paris's. Texts go to an SMS gateway (a fake
//! at its HTTP boundary: it is a paid service); the server's clock is moved
//! with `--dev-clock-offset-hours` across restarts.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use chrono::{NaiveDate, TimeZone, Utc};
use chrono_tz::America::Guadeloupe;
use common::booking::*;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const LES_ABYMES: &str = "commune:97101";
const BASSE_TERRE: &str = "commune:97105";
const DRIVER: &str = "+33611000001";
const PASSENGER: &str = "+33611000002";

type Texts = Arc<Mutex<Vec<(String, String)>>>;

/// An SMS gateway that keeps what it is asked to send: (to, text).
async fn sms_gateway() -> (String, Texts) {
    let texts: Texts = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/send", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route(
            "/send",
            post(
                |State(texts): State<Texts>, Json(body): Json<Value>| async move {
                    texts.lock().unwrap().push((
                        body["to"].as_str().unwrap_or_default().to_string(),
                        body["text"].as_str().unwrap_or_default().to_string(),
                    ));
                    Json(json!({ "status": "queued" }))
                },
            ),
        )
        .with_state(texts.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, texts)
}

/// Whether `to` was sent a text containing `what` within `seconds`.
async fn texted(texts: &Texts, to: &str, what: &str, seconds: u64) -> bool {
    for _ in 0..seconds * 10 {
        if texts
            .lock()
            .unwrap()
            .iter()
            .any(|(phone, text)| phone == to && text.contains(what))
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Whole hours from now until `hour:minute` in Guadeloupe on `date`: the
/// clock moved by it shows a local time in the hour before.
fn hours_until_local(date: NaiveDate, hour: u32, minute: u32) -> i64 {
    let at = Guadeloupe
        .from_local_datetime(&date.and_hms_opt(hour, minute, 0).unwrap())
        .unwrap();
    (at.with_timezone(&Utc) - Utc::now()).num_hours()
}

/// Restarts the server with its clock at `hour:minute` (the hour before)
/// in Guadeloupe on `date`.
async fn at_local(server: &mut Server, date: NaiveDate, hour: u32, minute: u32) {
    server
        .options
        .env
        .retain(|(k, _)| k != "LOTOCAR_DEV_CLOCK_OFFSET_HOURS");
    server.options.env.push((
        "LOTOCAR_DEV_CLOCK_OFFSET_HOURS".into(),
        hours_until_local(date, hour, minute).to_string(),
    ));
    server.restart().await;
}

async fn a_booking_in_guadeloupe_keeps_local_hours(backend: Backend) {
    let (sms_url, texts) = sms_gateway().await;
    let mut options = many_sign_ins();
    options.env.push(("LOTOCAR_SMS_URL".into(), sms_url));
    let mut server = Server::start_with(backend, options).await;
    server.admin(&[
        "territory",
        "--id",
        "guadeloupe",
        "--name",
        "Guadeloupe",
        "--brand",
        "Covoit'Karu",
        "--departements",
        "971",
        "--timezone",
        "America/Guadeloupe",
    ]);
    let today = Utc::now().with_timezone(&Guadeloupe).date_naive();
    let trip_day = today + chrono::Duration::days(6);
    let day = |before: i64| trip_day - chrono::Duration::days(before);

    // Four days before, at 17:00 in Guadeloupe (22:00 in Paris, where it
    // is night): the driver posts her trip, a passenger books, she confirms.
    at_local(&mut server, day(4), 17, 30).await;
    let driver = server.sign_in_as(DRIVER, "Maryse Lautric").await;
    let passenger = server.sign_in_as(PASSENGER, "Léon Ferdinand").await;
    let offer = server
        .post(
            "/api/v1/offers",
            Some(&driver),
            &json!({
                "origin": { "place_id": LES_ABYMES },
                "destination": { "place_id": BASSE_TERRE },
                "schedule": { "kind": "once", "departure": format!("{trip_day}T07:00:00-04:00") },
                "seats": 2,
                "max_detour_minutes": 15
            }),
        )
        .await;
    assert_eq!(offer.status, StatusCode::CREATED, "{}", offer.body);
    assert_eq!(offer.body["territory_id"], "guadeloupe");
    let need = post_need(
        &server,
        &passenger,
        &need_arriving(LES_ABYMES, BASSE_TERRE, &trip_day.to_string(), "08:30"),
    )
    .await;
    let offer_id = id_of(&offer.body);
    assert_eq!(first_match(&need), offer_id, "{}", need["matches"]);
    let booked = booked_and_confirmed(
        &server,
        &passenger,
        id_of(&need),
        offer_id,
        &trip_day.to_string(),
        &driver,
    )
    .await;
    // Not Guadeloupe's night: both texts go at once.
    assert!(
        texted(&texts, DRIVER, "demande une place", 10).await,
        "{:?}",
        texts.lock().unwrap()
    );
    assert!(
        texted(&texts, PASSENGER, "vous prendra", 10).await,
        "{:?}",
        texts.lock().unwrap()
    );

    // Two days before, at 05:00 in Guadeloupe (10:00 in Paris): the driver
    // pauses her trip; the passenger's text waits for 07:00 local.
    at_local(&mut server, day(2), 5, 50).await;
    let paused = server
        .patch(
            &format!("/api/v1/offers/{offer_id}"),
            Some(&driver),
            &json!({ "paused": true }),
        )
        .await;
    assert_eq!(paused.status, StatusCode::OK, "{}", paused.body);
    assert!(
        !texted(&texts, PASSENGER, "trajet mis en pause", 4).await,
        "a text sent in Guadeloupe's night: {:?}",
        texts.lock().unwrap()
    );
    at_local(&mut server, day(2), 8, 30).await;
    assert!(
        texted(&texts, PASSENGER, "trajet mis en pause", 15).await,
        "{:?}",
        texts.lock().unwrap()
    );

    // The evening before, after 18:00 in Guadeloupe (past midnight in
    // Paris): the reminder is there, dated 18:00 local, and texted.
    at_local(&mut server, day(1), 19, 30).await;
    assert!(
        texted(&texts, PASSENGER, "Demain à", 15).await,
        "{:?}",
        texts.lock().unwrap()
    );
    let inbox = server.get("/api/v1/notifications", Some(&passenger)).await;
    let reminder = inbox
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "reminder")
        .unwrap_or_else(|| panic!("no reminder: {}", inbox.body))
        .clone();
    let evening = Guadeloupe
        .from_local_datetime(&day(1).and_hms_opt(18, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(
        reminder["created_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc)),
        Some(evening),
        "{reminder}"
    );
    assert_eq!(reminder["url"], format!("/bookings/{}", booked.id));
}

on_both_databases!(a_booking_in_guadeloupe_keeps_local_hours);
