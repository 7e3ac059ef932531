//! `GET /api/v1/sync`: what changed since a cursor, deletions included.

mod common;

use common::booking::*;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_databases!(an_app_catches_up_with_everything_that_changed);

fn entities(page: &Value) -> Vec<(String, String, bool)> {
    page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["entity"].as_str().unwrap().to_string(),
                c["id"].as_str().unwrap().to_string(),
                c["deleted"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

async fn an_app_catches_up_with_everything_that_changed(backend: Backend) {
    let server = Server::start(backend).await;
    let driver = server.sign_in_as("0611111111", "Marie Dupont").await;
    let first = server.get("/api/v1/sync", Some(&driver)).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body["changes"], json!([]));
    let cursor = first.body["cursor"].as_str().unwrap().to_string();

    let offer_id = post_commute(&server, &driver).await;
    let page = server
        .get(&format!("/api/v1/sync?since={cursor}"), Some(&driver))
        .await;
    assert_eq!(
        entities(&page.body),
        vec![("offer".into(), offer_id.clone(), false)]
    );
    assert_eq!(page.body["changes"][0]["offer"]["seats"], 3);
    let cursor = page.body["cursor"].as_str().unwrap().to_string();
    // Nothing new: nothing.
    let same = server
        .get(&format!("/api/v1/sync?since={cursor}"), Some(&driver))
        .await;
    assert_eq!(same.body["changes"], json!([]));

    // A passenger books: the driver's next sync has the booking and the
    // notification, not the passenger's need.
    let passenger = server.sign_in("0622222222").await;
    let booking = post_need_and_book(&server, &passenger, &offer_id, &next_weekday(1, 2)).await;
    let page = server
        .get(&format!("/api/v1/sync?since={cursor}"), Some(&driver))
        .await;
    let kinds: Vec<String> = entities(&page.body).into_iter().map(|e| e.0).collect();
    assert_eq!(kinds, vec!["booking", "notification"]);
    assert_eq!(page.body["changes"][0]["id"], booking["id"]);
    assert_eq!(page.body["changes"][0]["booking"]["role"], "driver");
    let cursor = page.body["cursor"].as_str().unwrap().to_string();

    // The driver deletes the trip: a deletion, and the booking cancelled.
    let deleted = server
        .call(
            Method::DELETE,
            &format!("/api/v1/offers/{offer_id}"),
            Some(&driver),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let page = server
        .get(&format!("/api/v1/sync?since={cursor}"), Some(&driver))
        .await;
    let changes = entities(&page.body);
    assert!(
        changes.contains(&("offer".into(), offer_id.clone(), true)),
        "{changes:?}"
    );
    let booking_change = page.body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["entity"] == "booking")
        .unwrap();
    assert_eq!(booking_change["booking"]["status"], "CANCELLED");
    // The passenger sees all of theirs from the start.
    let all = server.get("/api/v1/sync?since=0", Some(&passenger)).await;
    let kinds: Vec<String> = entities(&all.body).into_iter().map(|e| e.0).collect();
    assert!(
        kinds.contains(&"request".to_string()) && kinds.contains(&"booking".to_string()),
        "{kinds:?}"
    );
    // Bad cursors and strangers.
    server
        .get("/api/v1/sync?since=abc", Some(&driver))
        .await
        .problem(422);
    server.get("/api/v1/sync", None).await.problem(401);
}
