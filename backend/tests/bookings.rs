//! Bookings over HTTP: the whole lifecycle, no overbooking under
//! concurrency, regular bookings cancelled per date, contact details only
//! on consent, and what happens when trips or needs go. On both databases.

mod common;

use common::booking::*;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_databases!(
    a_booking_goes_from_request_to_validation,
    thirty_passengers_three_seats_exactly_three_confirmed,
    a_regular_booking_covers_every_shared_weekday_and_cancels_per_date,
    contact_details_only_on_consent_and_every_showing_is_recorded,
    a_deleted_trip_cancels_its_bookings_and_tells_the_passengers,
    trips_nobody_contests_are_validated_after_48_hours,
    a_need_and_its_booking_say_where_they_stand_to_each_side,
);

async fn inbox_kinds(server: &Server, token: &str) -> Vec<String> {
    server
        .get("/api/v1/notifications", Some(token))
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_string())
        .collect()
}

async fn a_booking_goes_from_request_to_validation(backend: Backend) {
    let mut server = Server::start(backend).await;
    let ride = commuting_driver(&server, "0611111111", true).await;
    let passenger = server.sign_in_as("0622222222", "Lucie Moreau").await;
    let tuesday = next_weekday(1, 2);
    let need = post_need(&server, &passenger, &livernon_to_figeac(&tuesday)).await;
    let request_id = id_of(&need).to_string();
    let body = booking_body(&request_id, &ride.offer_id, &tuesday);

    // Asked twice with the same key (a flaky network): one booking.
    let send = async |key: &str| {
        server
            .http
            .post(server.url("/api/v1/bookings"))
            .bearer_auth(&passenger)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .unwrap()
    };
    let first = send("b-1").await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again: Value = send("b-1").await.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(first["status"], "WAITING_DRIVER_CONFIRMATION");
    assert_eq!(first["role"], "passenger");
    assert_eq!(first["driver"]["display_name"], "Marie D.");
    assert!(first.get("contact").is_none());
    assert_eq!(first["pickup"]["place"]["place_id"], LIVERNON);
    // A second, distinct request for the same trip is refused.
    let twice = server
        .post("/api/v1/bookings", Some(&passenger), &body)
        .await;
    assert_eq!(twice.problem(409)["code"], "already_booked");
    let path = format!("/api/v1/bookings/{}", first["id"].as_str().unwrap());

    // The driver is told, sees it, and only the driver can confirm.
    assert_eq!(
        inbox_kinds(&server, &ride.driver).await,
        vec!["booking_requested"]
    );
    let listed = server.get("/api/v1/bookings", Some(&ride.driver)).await;
    assert_eq!(listed.body[0]["role"], "driver");
    assert_eq!(listed.body[0]["passenger"]["display_name"], "Lucie M.");
    let not_yours = server
        .patch(&path, Some(&passenger), &json!({ "status": "CONFIRMED" }))
        .await;
    not_yours.problem(403);
    let stranger = server.sign_in("0633333333").await;
    server.get(&path, Some(&stranger)).await.problem(404);
    server
        .patch(&path, Some(&stranger), &json!({ "status": "CANCELLED" }))
        .await
        .problem(404);

    let confirmed = confirm(&server, &ride.driver, first["id"].as_str().unwrap()).await;
    assert_eq!(confirmed["status"], "CONFIRMED");
    assert_eq!(confirmed["status_label"], "confirmé");
    assert!(
        inbox_kinds(&server, &passenger)
            .await
            .contains(&"booking_confirmed".to_string())
    );
    // The need is booked.
    let need_now = server
        .get(&format!("/api/v1/requests/{request_id}"), Some(&passenger))
        .await;
    assert_eq!(need_now.body["status"], "booked");
    // Statuses move forward only.
    let backward = server
        .patch(
            &path,
            Some(&ride.driver),
            &json!({ "status": "WAITING_DRIVER_CONFIRMATION" }),
        )
        .await;
    assert_eq!(backward.problem(409)["code"], "status_backward");
    let same = server
        .patch(&path, Some(&ride.driver), &json!({ "status": "CONFIRMED" }))
        .await;
    assert_eq!(same.problem(409)["code"], "status_already_set");
    let invalid = server
        .patch(&path, Some(&ride.driver), &json!({ "status": "DONE" }))
        .await;
    invalid.problem(422);
    // Not before the trip.
    let early = server
        .patch(
            &path,
            Some(&passenger),
            &json!({ "status": "COMPLETED_PENDING_VALIDATION" }),
        )
        .await;
    assert_eq!(early.problem(409)["code"], "trip_not_started");

    // A week later (the server's clock moved on): the passenger says it
    // happened, the driver validates; the need is done.
    server
        .options
        .env
        .push(("LOTOCAR_DEV_CLOCK_OFFSET_HOURS".into(), "192".into()));
    server.restart().await;
    let done = server
        .patch(
            &path,
            Some(&passenger),
            &json!({ "status": "COMPLETED_PENDING_VALIDATION" }),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        inbox_kinds(&server, &ride.driver)
            .await
            .contains(&"confirm_trip".to_string())
    );
    let self_validate = server
        .patch(&path, Some(&passenger), &json!({ "status": "VALIDATED" }))
        .await;
    self_validate.problem(403);
    let validated = server
        .patch(&path, Some(&ride.driver), &json!({ "status": "VALIDATED" }))
        .await;
    assert_eq!(validated.body["status"], "VALIDATED");
    let closed = server
        .patch(&path, Some(&ride.driver), &json!({ "status": "CANCELLED" }))
        .await;
    assert_eq!(closed.problem(409)["code"], "booking_closed");
    let need_now = server
        .get(&format!("/api/v1/requests/{request_id}"), Some(&passenger))
        .await;
    assert_eq!(need_now.body["status"], "done");
    // The reminder the evening before came due on the way.
    let kinds = inbox_kinds(&server, &passenger).await;
    assert!(kinds.contains(&"reminder".to_string()), "{kinds:?}");
}

async fn thirty_passengers_three_seats_exactly_three_confirmed(backend: Backend) {
    let server = Server::start_with(backend, many_sign_ins()).await;
    let ride = commuting_driver(&server, "0611111111", false).await;
    let tuesday = next_weekday(1, 2);
    let mut paths = Vec::new();
    for i in 0..30 {
        let passenger = server.sign_in(&format!("06220000{i:02}")).await;
        let booking = post_need_and_book(&server, &passenger, &ride.offer_id, &tuesday).await;
        paths.push(format!(
            "/api/v1/bookings/{}",
            booking["id"].as_str().unwrap()
        ));
    }
    // The driver confirms all thirty at once.
    let confirm = json!({ "status": "CONFIRMED" });
    let results = futures_util::future::join_all(
        paths
            .iter()
            .map(|path| server.patch(path, Some(&ride.driver), &confirm)),
    )
    .await;
    let confirmed = results
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    let full = results
        .iter()
        .filter(|r| r.status == StatusCode::CONFLICT && r.body["code"] == "no_seat")
        .count();
    assert_eq!(
        confirmed,
        3,
        "{:?}",
        results.iter().map(|r| r.body.clone()).collect::<Vec<_>>()
    );
    assert_eq!(
        full,
        27,
        "{:?}",
        results
            .iter()
            .map(|r| (
                r.status.as_u16(),
                r.body["code"].clone(),
                r.body["detail"].clone()
            ))
            .collect::<Vec<_>>()
    );
    let listed = server.get("/api/v1/bookings", Some(&ride.driver)).await;
    let statuses: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == "CONFIRMED").count(), 3);
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == "WAITING_DRIVER_CONFIRMATION")
            .count(),
        27
    );

    // Full that day: a new passenger is not offered this trip, and cannot book it.
    let late = server.sign_in("0699999999").await;
    let need = post_need(&server, &late, &livernon_to_figeac(&tuesday)).await;
    assert_eq!(need["matches"], json!([]), "{need}");
    let refused = server
        .post(
            "/api/v1/bookings",
            Some(&late),
            &booking_body(id_of(&need), &ride.offer_id, &tuesday),
        )
        .await;
    assert_eq!(refused.problem(409)["code"], "no_seat");
    // The driver cannot go below the seats already taken.
    let fewer = server
        .patch(
            &format!("/api/v1/offers/{}", ride.offer_id),
            Some(&ride.driver),
            &json!({ "seats": 2 }),
        )
        .await;
    assert_eq!(fewer.problem(409)["code"], "seats_taken");

    // One confirmed passenger cancels: the seat is free again.
    let confirmed_path = paths
        .iter()
        .zip(&results)
        .find(|(_, r)| r.status == StatusCode::OK)
        .map(|(p, _)| p.clone())
        .unwrap();
    let waiting_path = paths
        .iter()
        .zip(&results)
        .find(|(_, r)| r.status == StatusCode::CONFLICT)
        .map(|(p, _)| p.clone())
        .unwrap();
    let cancelled = server
        .patch(
            &confirmed_path,
            Some(&ride.driver),
            &json!({ "status": "CANCELLED", "reason": "voiture au garage" }),
        )
        .await;
    assert_eq!(cancelled.body["status"], "CANCELLED");
    assert_eq!(cancelled.body["reason"], "voiture au garage");
    let now_confirmed = server
        .patch(&waiting_path, Some(&ride.driver), &confirm)
        .await;
    assert_eq!(
        now_confirmed.status,
        StatusCode::OK,
        "{}",
        now_confirmed.body
    );
}

async fn a_regular_booking_covers_every_shared_weekday_and_cancels_per_date(backend: Backend) {
    let server = Server::start(backend).await;
    let ride = commuting_driver(&server, "0611111111", false).await;
    let commuter = server.sign_in_as("0622222222", "Paul Roques").await;
    let need = post_need(
        &server,
        &commuter,
        &json!({
            "origin": { "place_id": CAJARC }, "destination": { "place_id": FIGEAC },
            "schedule": { "kind": "weekly", "weekdays": ["mon", "tue", "thu"], "arrive_by": "09:00" },
            "purpose": "work"
        }),
    )
    .await;
    let first = need["matches"][0]["date"].as_str().unwrap().to_string();
    let booking = book(&server, &commuter, id_of(&need), &ride.offer_id, &first).await;
    assert_eq!(booking["recurring"], true);
    let dates = booking["dates"].as_array().unwrap();
    assert!(dates.len() >= 4, "{dates:?}");
    assert!(dates.iter().all(|d| d["status"] == "active"));
    let path = format!("/api/v1/bookings/{}", id_of(&booking));
    let confirmed = confirm(&server, &ride.driver, id_of(&booking)).await;
    assert_eq!(confirmed["status"], "CONFIRMED", "{confirmed}");

    // A day off: that date only.
    let day = dates[1]["date"].as_str().unwrap();
    let off = server
        .patch(
            &format!("{path}/dates/{day}"),
            Some(&commuter),
            &json!({ "status": "CANCELLED", "reason": "congé" }),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(off.body["status"], "CONFIRMED");
    let after: Vec<(String, String)> = off.body["dates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_string(),
                d["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(after.iter().filter(|(_, s)| s == "cancelled").count(), 1);
    assert!(after.contains(&(day.to_string(), "cancelled".to_string())));
    assert!(
        inbox_kinds(&server, &ride.driver)
            .await
            .contains(&"booking_cancelled".to_string())
    );
    let again = server
        .patch(
            &format!("{path}/dates/{day}"),
            Some(&commuter),
            &json!({ "status": "CANCELLED" }),
        )
        .await;
    assert_eq!(again.problem(409)["code"], "status_already_set");
    server
        .patch(
            &format!("{path}/dates/2000-01-01"),
            Some(&commuter),
            &json!({ "status": "CANCELLED" }),
        )
        .await
        .problem(404);
}

async fn contact_details_only_on_consent_and_every_showing_is_recorded(backend: Backend) {
    let server = Server::start(backend).await;
    // The driver says yes to sharing the phone; the passenger says nothing.
    let ride = commuting_driver(&server, "0611111111", true).await;
    let passenger = server.sign_in_as("0622222222", "Lucie Moreau").await;
    let booking =
        post_need_and_book(&server, &passenger, &ride.offer_id, &next_weekday(1, 2)).await;
    let path = format!("/api/v1/bookings/{}", id_of(&booking));
    // Not before confirmation.
    let before = server.get(&path, Some(&passenger)).await;
    assert!(before.body.get("contact").is_none(), "{}", before.body);
    confirm(&server, &ride.driver, id_of(&booking)).await;
    let seen = server.get(&path, Some(&passenger)).await;
    assert_eq!(seen.body["contact"]["phone"], "+33611111111");
    assert_eq!(seen.body["contact"]["email"], Value::Null);
    // No answer means no: the driver does not see the passenger's phone.
    let driver_view = server.get(&path, Some(&ride.driver)).await;
    assert!(
        driver_view.body.get("contact").is_none(),
        "{}",
        driver_view.body
    );
    // The driver can see who was shown their phone.
    let reveals = server
        .get("/api/v1/me/contact-reveals", Some(&ride.driver))
        .await;
    let reveals = reveals.body.as_array().unwrap();
    assert_eq!(reveals.len(), 1);
    assert_eq!(reveals[0]["viewer"]["display_name"], "Lucie M.");
    assert_eq!(reveals[0]["fields"], json!(["phone"]));
    assert_eq!(
        server
            .get("/api/v1/me/contact-reveals", Some(&passenger))
            .await
            .body,
        json!([])
    );
    // Lists never show contact details; a cancelled booking neither.
    let listed = server.get("/api/v1/bookings", Some(&passenger)).await;
    assert!(listed.body[0].get("contact").is_none());
    server
        .patch(&path, Some(&passenger), &json!({ "status": "CANCELLED" }))
        .await;
    assert!(
        server
            .get(&path, Some(&passenger))
            .await
            .body
            .get("contact")
            .is_none()
    );
    // The driver withdraws consent: no longer shown on a new booking.
    server
        .patch(
            "/api/v1/me",
            Some(&ride.driver),
            &json!({ "share_phone": false }),
        )
        .await;
    let other = server.sign_in("0633333333").await;
    let second = post_need_and_book(&server, &other, &ride.offer_id, &next_weekday(3, 2)).await;
    let second_path = format!("/api/v1/bookings/{}", id_of(&second));
    confirm(&server, &ride.driver, id_of(&second)).await;
    assert!(
        server
            .get(&second_path, Some(&other))
            .await
            .body
            .get("contact")
            .is_none()
    );
}

async fn a_deleted_trip_cancels_its_bookings_and_tells_the_passengers(backend: Backend) {
    let server = Server::start(backend).await;
    let ride = commuting_driver(&server, "0611111111", false).await;
    let passenger = server.sign_in("0622222222").await;
    let booking =
        post_need_and_book(&server, &passenger, &ride.offer_id, &next_weekday(1, 2)).await;
    let path = format!("/api/v1/bookings/{}", id_of(&booking));
    confirm(&server, &ride.driver, id_of(&booking)).await;
    // A changed time is told.
    let retimed = server
        .patch(
            &format!("/api/v1/offers/{}", ride.offer_id),
            Some(&ride.driver),
            &json!({ "schedule": { "kind": "weekly", "weekdays": ["mon","tue","wed","thu","fri"], "departure_time": "07:15", "from": date_in(1) } }),
        )
        .await;
    assert_eq!(retimed.status, StatusCode::OK, "{}", retimed.body);
    assert!(
        inbox_kinds(&server, &passenger)
            .await
            .contains(&"trip_changed".to_string())
    );
    // Deleting the trip cancels the booking and reopens the need.
    let gone = server
        .call(
            Method::DELETE,
            &format!("/api/v1/offers/{}", ride.offer_id),
            Some(&ride.driver),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let now = server.get(&path, Some(&passenger)).await;
    assert_eq!(now.body["status"], "CANCELLED");
    assert_eq!(now.body["reason"], "le conducteur a supprimé ce trajet");
    assert!(
        inbox_kinds(&server, &passenger)
            .await
            .contains(&"booking_cancelled".to_string())
    );
    let need = server
        .get(
            &format!(
                "/api/v1/requests/{}",
                booking["request_id"].as_str().unwrap()
            ),
            Some(&passenger),
        )
        .await;
    assert_eq!(need.body["status"], "open");
}

async fn trips_nobody_contests_are_validated_after_48_hours(backend: Backend) {
    let mut server = Server::start(backend).await;
    let ride = commuting_driver(&server, "0611111111", false).await;
    let passenger = server.sign_in("0622222222").await;
    let booking =
        post_need_and_book(&server, &passenger, &ride.offer_id, &next_weekday(1, 2)).await;
    let path = format!("/api/v1/bookings/{}", id_of(&booking));
    confirm(&server, &ride.driver, id_of(&booking)).await;
    server
        .options
        .env
        .push(("LOTOCAR_DEV_CLOCK_OFFSET_HOURS".into(), "192".into()));
    server.restart().await;
    let done = server
        .patch(
            &path,
            Some(&ride.driver),
            &json!({ "status": "COMPLETED_PENDING_VALIDATION" }),
        )
        .await;
    assert_eq!(
        done.body["status"], "COMPLETED_PENDING_VALIDATION",
        "{}",
        done.body
    );
    // Two days and a bit later, the housekeeping validates it.
    server
        .options
        .env
        .retain(|(k, _)| k != "LOTOCAR_DEV_CLOCK_OFFSET_HOURS");
    server
        .options
        .env
        .push(("LOTOCAR_DEV_CLOCK_OFFSET_HOURS".into(), "243".into()));
    server.restart().await;
    let mut status = Value::Null;
    for _ in 0..50 {
        status = server.get(&path, Some(&passenger)).await.body["status"].clone();
        if status == "VALIDATED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "VALIDATED");
}

/// "8 h 24" for "08:24".
fn spoken(time: &str) -> String {
    time.parse::<lotocar_shared::time::LocalTime>()
        .unwrap()
        .spoken()
}

/// The coordinator's board entry of `need_id` with `status`, if listed.
async fn board_entry(server: &Server, token: &str, status: &str, need_id: &str) -> Option<Value> {
    let board = server
        .get(
            &format!("/api/v1/territories/lot/board?status={status}"),
            Some(token),
        )
        .await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.body);
    board
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["request"]["id"] == need_id)
        .cloned()
}

async fn a_need_and_its_booking_say_where_they_stand_to_each_side(backend: Backend) {
    let mut server = Server::start_with(
        backend,
        Options {
            demo: true,
            ..many_sign_ins()
        },
    )
    .await;
    let marie = server.sign_in("+33600000001").await;
    let lucie = server.sign_in("+33600000010").await;
    let coordinator = server.sign_in("coordination@example.fr").await;
    let tuesday = next_weekday(1, 2);
    let need = post_need(&server, &lucie, &livernon_to_figeac(&tuesday)).await;
    let need_id = id_of(&need).to_string();
    let need_path = format!("/api/v1/requests/{need_id}");
    assert_eq!(need["progress"]["state"], "waiting", "{need}");
    assert_eq!(need["progress"]["label"], "En attente d'un conducteur");

    // Booked: the need says who was asked; the driver reads that it is her
    // turn, not that she waits for herself.
    let booking = book(&server, &lucie, &need_id, first_match(&need), &tuesday).await;
    let path = format!("/api/v1/bookings/{}", id_of(&booking));
    let asked = server.get(&need_path, Some(&lucie)).await;
    assert_eq!(asked.body["progress"]["state"], "asked", "{}", asked.body);
    assert_eq!(
        asked.body["progress"]["label"],
        "Demande envoyée à Marie D."
    );
    let for_marie = server.get(&path, Some(&marie)).await;
    assert_eq!(for_marie.body["status_label"], "À vous de répondre");
    let for_lucie = server.get(&path, Some(&lucie)).await;
    assert_eq!(
        for_lucie.body["status_label"],
        "en attente de la réponse de Marie D."
    );
    // The board agrees: asked, still open to other drivers.
    let entry = board_entry(&server, &coordinator, "open", &need_id)
        .await
        .expect("an asked need stays on the board");
    assert_eq!(entry["request"]["progress"]["state"], "asked", "{entry}");

    // Confirmed: the place, with the driver, the day and the local time of
    // the pick-up; nobody else to look for or to propose.
    confirm(&server, &marie, id_of(&booking)).await;
    let confirmed = server.get(&need_path, Some(&lucie)).await;
    let progress = &confirmed.body["progress"];
    assert_eq!(progress["state"], "confirmed", "{progress}");
    let date = chrono::NaiveDate::parse_from_str(&tuesday, "%Y-%m-%d").unwrap();
    assert_eq!(
        progress["label"],
        format!(
            "Place confirmée avec Marie D., {} à {}",
            lotocar_shared::time::french_date(date),
            spoken(booking["pickup"]["time"].as_str().unwrap())
        ),
        "{progress}"
    );
    let mine = server.get("/api/v1/requests", Some(&lucie)).await;
    let listed = mine
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == need_id.as_str())
        .unwrap();
    assert_eq!(listed["progress"], *progress);
    assert!(
        board_entry(&server, &coordinator, "open", &need_id)
            .await
            .is_none(),
        "a confirmed need is not waiting"
    );
    let entry = board_entry(&server, &coordinator, "booked", &need_id)
        .await
        .expect("on the board as booked");
    assert_eq!(entry["request"]["progress"], *progress);
    assert_eq!(entry["candidates"], json!([]), "{entry}");

    // Saying the trip happened: refused before its day, in French, and
    // nothing changes; from the morning of the day, accepted.
    let early = server
        .patch(
            &path,
            Some(&marie),
            &json!({ "status": "COMPLETED_PENDING_VALIDATION" }),
        )
        .await;
    let problem = early.problem(409);
    assert_eq!(problem["code"], "trip_not_started");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("jour du trajet"),
        "{problem}"
    );
    assert_eq!(
        server.get(&path, Some(&marie)).await.body["status"],
        "CONFIRMED"
    );
    server.options.env.push((
        "LOTOCAR_DEV_CLOCK_OFFSET_HOURS".into(),
        hours_until(&tuesday, 6, 0).to_string(),
    ));
    server.restart().await;
    let done = server
        .patch(
            &path,
            Some(&marie),
            &json!({ "status": "COMPLETED_PENDING_VALIDATION" }),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
}

/// A need with two confirmed bookings, both cancelled at the same instant
/// (each driver cancels theirs): the need opens again to other drivers.
/// On PostgreSQL, where each cancellation could otherwise see the other
/// booking still live and leave the need « booked » with none: the test
/// holds the need's row until both cancellations are under way.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_two_bookings_cancelled_at_once_open_their_need_again() {
    use sqlx::Connection;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    let url = backend.database_url().unwrap().to_string();
    let server = Server::start(backend).await;
    let first = commuting_driver(&server, "0611111111", false).await;
    let second = commuting_driver(&server, "0633333333", false).await;
    let passenger = server.sign_in("0622222222").await;
    let date = next_weekday(1, 2);
    let need = post_need(&server, &passenger, &livernon_to_figeac(&date)).await;
    let need_id = id_of(&need).to_string();
    // Both asked while the need is open, then both confirmed.
    let one = book(&server, &passenger, &need_id, &first.offer_id, &date).await;
    let one = id_of(&one).to_string();
    let two = book(&server, &passenger, &need_id, &second.offer_id, &date).await;
    let two = id_of(&two).to_string();
    confirm(&server, &first.driver, &one).await;
    confirm(&server, &second.driver, &two).await;
    let need_path = format!("/api/v1/requests/{need_id}");
    let status = async || server.get(&need_path, Some(&passenger)).await.body["status"].clone();
    assert_eq!(status().await, "booked");

    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut watcher = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut held = conn.begin().await.unwrap();
    sqlx::query("UPDATE needs SET status = status WHERE id = $1")
        .bind(&need_id)
        .execute(&mut *held)
        .await
        .unwrap();
    let done = AtomicUsize::new(0);
    let cancel = async |driver: &str, booking: &str| {
        let answer = server
            .patch(
                &format!("/api/v1/bookings/{booking}"),
                Some(driver),
                &json!({ "status": "CANCELLED", "reason": "Empêchement" }),
            )
            .await;
        done.fetch_add(1, Ordering::SeqCst);
        answer
    };
    let release = async {
        // Until both cancellations wait for the need (or are over).
        until_waiting_on_locks(&mut watcher, 2, || done.load(Ordering::SeqCst) == 2).await;
        held.commit().await.unwrap();
    };
    let (a, b, ()) = tokio::join!(
        cancel(&first.driver, &one),
        cancel(&second.driver, &two),
        release
    );
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(b.status, StatusCode::OK, "{}", b.body);
    assert_eq!(status().await, "open", "no live booking is left");
}

/// A regular booking cancelled as a whole and, at the same instant, for its
/// first date: that date's seat is given back once, so the car is not
/// overbooked afterwards. On PostgreSQL (on SQLite a write is alone): the
/// test holds that date's seat count until both cancellations wait for it.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_a_seat_cancelled_twice_at_once_is_given_back_once() {
    use sqlx::Connection;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    let url = backend.database_url().unwrap().to_string();
    let server = Server::start(backend).await;
    let driver = server.sign_in_as("0611111111", "Marie Dupont").await;
    let mut trip = weekly_offer(CAHORS, FIGEAC, "07:30", &date_in(1));
    trip["seats"] = json!(2);
    let offer_id = post_offer(&server, &driver, &trip).await;
    let commuter = server.sign_in_as("0622222222", "Paul Roques").await;
    let need = post_need(
        &server,
        &commuter,
        &json!({
            "origin": { "place_id": CAJARC }, "destination": { "place_id": FIGEAC },
            "schedule": { "kind": "weekly", "weekdays": ["mon", "tue", "wed", "thu", "fri"], "arrive_by": "09:00" },
            "purpose": "work"
        }),
    )
    .await;
    let first = need["matches"][0]["date"].as_str().unwrap().to_string();
    let regular = book(&server, &commuter, id_of(&need), &offer_id, &first).await;
    let regular = id_of(&regular).to_string();
    confirm(&server, &driver, &regular).await;
    // A second passenger on the first date: the car is full that day.
    let other = server.sign_in("0633333333").await;
    let theirs = post_need_and_book(&server, &other, &offer_id, &first).await;
    confirm(&server, &driver, id_of(&theirs)).await;

    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut watcher = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut held = conn.begin().await.unwrap();
    let counted =
        sqlx::query("UPDATE seat_ledger SET taken = taken WHERE offer_id = $1 AND date = $2")
            .bind(&offer_id)
            .bind(&first)
            .execute(&mut *held)
            .await
            .unwrap()
            .rows_affected();
    assert!(counted > 0, "the first date's seats are counted");
    let done = AtomicUsize::new(0);
    let cancel = async |path: String| {
        let answer = server
            .patch(
                &path,
                Some(&commuter),
                &json!({ "status": "CANCELLED", "reason": "Déménagement" }),
            )
            .await;
        done.fetch_add(1, Ordering::SeqCst);
        answer
    };
    let release = async {
        until_waiting_on_locks(&mut watcher, 2, || done.load(Ordering::SeqCst) == 2).await;
        held.commit().await.unwrap();
    };
    let (whole, day, ()) = tokio::join!(
        cancel(format!("/api/v1/bookings/{regular}")),
        cancel(format!("/api/v1/bookings/{regular}/dates/{first}")),
        release
    );
    assert_eq!(whole.status, StatusCode::OK, "{}", whole.body);
    assert!(
        day.status == StatusCode::OK || day.status == StatusCode::CONFLICT,
        "{}",
        day.body
    );

    // One seat is free on the first date, not two.
    let mut confirmed = 0;
    for contact in ["0644444444", "0655555555"] {
        let late = server.sign_in(contact).await;
        let need = post_need(&server, &late, &livernon_to_figeac(&first)).await;
        let asked = server
            .post(
                "/api/v1/bookings",
                Some(&late),
                &booking_body(id_of(&need), &offer_id, &first),
            )
            .await;
        if asked.status != StatusCode::CREATED {
            assert_eq!(asked.problem(409)["code"], "no_seat");
            continue;
        }
        let answer = server
            .patch(
                &format!("/api/v1/bookings/{}", id_of(&asked.body)),
                Some(&driver),
                &json!({ "status": "CONFIRMED" }),
            )
            .await;
        if answer.status == StatusCode::OK {
            confirmed += 1;
        } else {
            assert_eq!(answer.problem(409)["code"], "no_seat", "{}", answer.body);
        }
    }
    assert_eq!(
        confirmed, 1,
        "two seats, one still held by the other passenger"
    );
}
