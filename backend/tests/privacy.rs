//! Privacy: a person downloads everything held about them, erases their
//! account at once (the other party is told, nothing personal remains),
//! and inactive people are erased after the retention period. On both
//! databases.

mod common;

use std::time::{Duration, Instant};

use common::booking::*;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_databases!(
    export_holds_everything_about_me_and_nothing_about_others,
    erasing_my_account_cancels_my_bookings_and_removes_me,
    inactive_people_are_erased_after_the_retention_period,
);

struct Trip {
    driver: String,
    passenger: String,
    booking_path: String,
}

/// Marie drives Cahors → Figeac weekdays (sharing her phone); Lucie books
/// a seat from Livernon; Marie confirms; Lucie sees Marie's phone.
async fn confirmed_trip(server: &Server) -> Trip {
    let Ride { driver, offer_id } = commuting_driver(server, "0611111111", true).await;
    let passenger = server
        .sign_in_sharing("0622222222", "Lucie Moreau", false)
        .await;
    let date = next_weekday(1, 2);
    let need = post_need(server, &passenger, &livernon_to_figeac(&date)).await;
    let booking_path =
        booked_and_confirmed(server, &passenger, id_of(&need), &offer_id, &date, &driver)
            .await
            .path;
    let seen = server.get(&booking_path, Some(&passenger)).await;
    assert_eq!(
        seen.body["contact"]["phone"], "+33611111111",
        "{}",
        seen.body
    );
    Trip {
        driver,
        passenger,
        booking_path,
    }
}

async fn export_holds_everything_about_me_and_nothing_about_others(backend: Backend) {
    let server = Server::start(backend).await;
    let trip = confirmed_trip(&server).await;
    let unauthenticated = server.get("/api/v1/me/export", None).await;
    assert_eq!(unauthenticated.status, StatusCode::UNAUTHORIZED);

    let export = server.get("/api/v1/me/export", Some(&trip.driver)).await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.body);
    assert!(
        export.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let data = &export.body;
    assert_eq!(data["profile"]["phone"], "+33611111111");
    assert_eq!(data["profile"]["display_name"], "Marie Dupont");
    assert_eq!(data["profile"]["share_phone"], true);
    assert_eq!(data["offers"].as_array().unwrap().len(), 1);
    assert_eq!(data["bookings"].as_array().unwrap().len(), 1);
    assert_eq!(data["bookings"][0]["my_role"], "driver");
    assert!(!data["sessions"].as_array().unwrap().is_empty());
    assert!(
        data["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "booking_requested"),
        "{}",
        data["notifications"]
    );
    // Lucie saw Marie's phone: Marie's export says so.
    let shown = &data["contact_reveals"]["my_details_shown_to"];
    assert_eq!(shown.as_array().unwrap().len(), 1, "{shown}");
    // Nothing of Lucie's own contact details is in Marie's export.
    assert!(!data.to_string().contains("+33622222222"));

    let theirs = server.get("/api/v1/me/export", Some(&trip.passenger)).await;
    assert_eq!(theirs.body["requests"].as_array().unwrap().len(), 1);
    assert_eq!(theirs.body["bookings"][0]["my_role"], "passenger");
    assert_eq!(
        theirs.body["contact_reveals"]["details_i_saw"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

async fn erasing_my_account_cancels_my_bookings_and_removes_me(backend: Backend) {
    let server = Server::start(backend).await;
    let trip = confirmed_trip(&server).await;

    let erased = server.delete("/api/v1/me", Some(&trip.driver)).await;
    assert_eq!(erased.status, StatusCode::NO_CONTENT, "{}", erased.body);
    // Signed out everywhere at once.
    assert_eq!(
        server.get("/api/v1/me", Some(&trip.driver)).await.status,
        StatusCode::UNAUTHORIZED
    );
    // The passenger is told, and the booking is cancelled with no trace of
    // Marie's name or phone.
    let booking = server.get(&trip.booking_path, Some(&trip.passenger)).await;
    assert_eq!(booking.body["status"], "CANCELLED", "{}", booking.body);
    assert!(
        !booking.body.to_string().contains("+33611111111"),
        "{}",
        booking.body
    );
    assert!(
        !booking.body.to_string().contains("Marie"),
        "{}",
        booking.body
    );
    let inbox = server
        .get("/api/v1/notifications", Some(&trip.passenger))
        .await;
    assert!(
        inbox
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "booking_cancelled"),
        "{}",
        inbox.body
    );
    // Her trip no longer matches anyone.
    let again = post_need(
        &server,
        &trip.passenger,
        &livernon_to_figeac(&next_weekday(3, 2)),
    )
    .await;
    assert_eq!(again["matches"], json!([]), "{again}");
    // Her phone number is free: signing in with it starts a new, empty
    // account.
    let fresh = server.sign_in("0611111111").await;
    let me = server.get("/api/v1/me", Some(&fresh)).await;
    assert_eq!(me.body["display_name"], "");
    let export = server.get("/api/v1/me/export", Some(&fresh)).await;
    assert_eq!(export.body["offers"], json!([]));
    assert_eq!(export.body["bookings"], json!([]));
    assert_eq!(export.body["notifications"], json!([]));
}

async fn inactive_people_are_erased_after_the_retention_period(backend: Backend) {
    let mut server = demo_server(backend).await;
    let trip = confirmed_trip(&server).await;
    let relay = server.sign_in("relais.gramat@example.fr").await;
    let person =
        register_person(&server, &relay, "Yvette Roux", Some("0633333333"), LIVERNON).await;
    let person_path = format!("/api/v1/beneficiaries/{person}");
    assert_eq!(
        server.get(&person_path, Some(&relay)).await.status,
        StatusCode::OK
    );
    drop(trip);

    // 25 months later (default retention: 24).
    server.options.env.push((
        "LOTOCAR_DEV_CLOCK_OFFSET_HOURS".into(),
        (25 * 31 * 24).to_string(),
    ));
    server.restart().await;
    let relay = server.sign_in("relais.gramat@example.fr").await;
    let started = Instant::now();
    loop {
        let gone = server.get(&person_path, Some(&relay)).await;
        if gone.status == StatusCode::NOT_FOUND {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "still there: {}",
            gone.body
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Marie's account was erased too: her phone starts a new, empty one
    // (her trip would otherwise still run: it has no end date).
    let fresh = server.sign_in("0611111111").await;
    let export = server.get("/api/v1/me/export", Some(&fresh)).await;
    assert_eq!(export.body["offers"], json!([]), "{}", export.body);
    assert_eq!(export.body["profile"]["display_name"], "");
    // The coordinator sees the erasure in the audit log.
    let coordinator = server.sign_in("coordination@example.fr").await;
    let audit = server
        .get("/api/v1/territories/lot/audit", Some(&coordinator))
        .await;
    assert!(
        audit
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|a: &Value| a["action"] == "beneficiary_erased"),
        "{}",
        audit.body
    );
    // Her name is gone from the log too.
    assert!(!audit.body.to_string().contains("Yvette"), "{}", audit.body);
    // Accounts with a role (relays, coordinators) are kept.
    let me = server.get("/api/v1/me", Some(&relay)).await;
    assert_eq!(me.body["display_name"], "France Services Gramat");
}
