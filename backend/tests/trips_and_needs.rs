//! Trips and needs over HTTP: posted and found again after a restart,
//! private to their owner, paused, changed, deleted or cancelled, and
//! created once when a post is retried. Every scenario runs on SQLite and
//! PostgreSQL.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_databases!(
    a_new_user_posts_a_trip_and_a_need_and_finds_them_after_a_restart,
    others_cannot_see_or_touch_my_trips_and_needs,
    trips_can_be_paused_changed_and_deleted,
    a_cancelled_need_stays_visible,
    retried_posts_with_an_idempotency_key_create_once,
);

async fn a_new_user_posts_a_trip_and_a_need_and_finds_them_after_a_restart(backend: Backend) {
    let mut server = Server::start_with(
        backend,
        Options {
            demo: true,
            ..Default::default()
        },
    )
    .await;
    let token = server.sign_in("06 12 34 56 78").await;

    let offer = server
        .post(
            "/api/v1/offers",
            Some(&token),
            &weekly_offer(CAHORS, FIGEAC, "07:30", &date_in(1)),
        )
        .await;
    assert_eq!(offer.status, StatusCode::CREATED, "{}", offer.body);
    let offer_id = offer.body["id"].as_str().unwrap().to_string();
    assert_eq!(offer.body["territory_id"], "lot");
    assert_eq!(offer.body["schedule"]["departure_time"], "07:30");
    assert_eq!(
        offer.body["summary"],
        "Cahors → Figeac, du lundi au vendredi à 7 h 30, retour à 17 h 30 · 3 places"
    );

    let need = server
        .post(
            "/api/v1/requests",
            Some(&token),
            &need_arriving(LIVERNON, FIGEAC, &date_in(5), "09:30"),
        )
        .await;
    assert_eq!(need.status, StatusCode::CREATED, "{}", need.body);
    let need_id = need.body["id"].as_str().unwrap().to_string();
    assert_eq!(need.body["status"], "open");
    assert!(need.body["matches"].is_array());

    server.restart().await;

    let offers = server.get("/api/v1/offers", Some(&token)).await;
    assert_eq!(offers.status, StatusCode::OK);
    let offers = offers.body.as_array().unwrap();
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0]["id"], offer_id.as_str());
    assert_eq!(offers[0]["origin"]["label"], "Cahors (46000)");
    assert_eq!(offers[0]["destination"]["label"], "Figeac (46100)");

    let needs = server.get("/api/v1/requests", Some(&token)).await;
    let needs = needs.body.as_array().unwrap();
    assert_eq!(needs.len(), 1);
    assert_eq!(needs[0]["id"], need_id.as_str());
    assert_eq!(needs[0]["schedule"]["arrive_by"], "09:30");

    let one = server
        .get(&format!("/api/v1/requests/{need_id}"), Some(&token))
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.body["purpose"], "medical");
}

async fn others_cannot_see_or_touch_my_trips_and_needs(backend: Backend) {
    let server = Server::start_with(
        backend,
        Options {
            demo: true,
            ..Default::default()
        },
    )
    .await;
    let owner = server.sign_in("0612345678").await;
    let other = server.sign_in("0698765432").await;
    let offer = server
        .post(
            "/api/v1/offers",
            Some(&owner),
            &weekly_offer(CAHORS, FIGEAC, "07:30", &date_in(1)),
        )
        .await;
    let offer_path = format!("/api/v1/offers/{}", offer.body["id"].as_str().unwrap());
    let need = server
        .post(
            "/api/v1/requests",
            Some(&owner),
            &need_arriving(LIVERNON, FIGEAC, &date_in(3), "09:30"),
        )
        .await;
    let need_path = format!("/api/v1/requests/{}", need.body["id"].as_str().unwrap());

    for path in [&offer_path, &need_path] {
        server.get(path, Some(&other)).await.problem(404);
        server
            .patch(path, Some(&other), &json!({ "seats": 2 }))
            .await
            .problem(404);
        server.delete(path, Some(&other)).await.problem(404);
        server.get(path, None).await.problem(401);
        server.get(path, Some("not-a-token")).await.problem(401);
    }
    assert_eq!(
        server.get("/api/v1/offers", Some(&other)).await.body,
        json!([])
    );
    assert_eq!(
        server.get("/api/v1/requests", Some(&other)).await.body,
        json!([])
    );
    // Untouched for the owner.
    let mine = server.get(&offer_path, Some(&owner)).await;
    assert_eq!(mine.body["seats"], 3);
    assert_eq!(
        server.get(&need_path, Some(&owner)).await.body["status"],
        "open"
    );
}

async fn trips_can_be_paused_changed_and_deleted(backend: Backend) {
    let server = Server::start(backend).await;
    let token = server.sign_in("0612345678").await;
    let offer = server
        .post(
            "/api/v1/offers",
            Some(&token),
            &weekly_offer(CAHORS, FIGEAC, "07:30", &date_in(1)),
        )
        .await;
    let path = format!("/api/v1/offers/{}", offer.body["id"].as_str().unwrap());

    let paused = server
        .patch(&path, Some(&token), &json!({ "paused": true }))
        .await;
    assert_eq!(paused.status, StatusCode::OK, "{}", paused.body);
    assert_eq!(paused.body["paused"], true);
    let resumed = server
        .patch(
            &path,
            Some(&token),
            &json!({ "paused": false, "seats": 2, "max_detour_minutes": 5 }),
        )
        .await;
    assert_eq!(resumed.body["paused"], false);
    assert_eq!(resumed.body["seats"], 2);
    assert_eq!(resumed.body["max_detour_minutes"], 5);

    let retimed = server
        .patch(
            &path,
            Some(&token),
            &json!({ "schedule": {
                "kind": "weekly", "weekdays": ["mon", "thu"], "departure_time": "08:15",
                "from": date_in(1), "pauses": [{ "from": date_in(20), "until": date_in(30) }]
            } }),
        )
        .await;
    assert_eq!(retimed.status, StatusCode::OK, "{}", retimed.body);
    assert_eq!(retimed.body["schedule"]["weekdays"], json!(["mon", "thu"]));
    assert_eq!(retimed.body["schedule"]["departure_time"], "08:15");
    assert_eq!(retimed.body["schedule"]["pauses"][0]["from"], date_in(20));

    // A bad change is refused whole.
    let refused = server
        .patch(&path, Some(&token), &json!({ "seats": 0, "paused": true }))
        .await;
    refused.problem(422);
    server
        .patch(&path, Some(&token), &json!({}))
        .await
        .problem(422);
    let unchanged = server.get(&path, Some(&token)).await;
    assert_eq!(unchanged.body["seats"], 2);
    assert_eq!(unchanged.body["paused"], false);

    assert_eq!(
        server.delete(&path, Some(&token)).await.status,
        StatusCode::NO_CONTENT
    );
    server.get(&path, Some(&token)).await.problem(404);
    server.delete(&path, Some(&token)).await.problem(404);
    assert_eq!(
        server.get("/api/v1/offers", Some(&token)).await.body,
        json!([])
    );
}

async fn a_cancelled_need_stays_visible(backend: Backend) {
    let server = Server::start(backend).await;
    let token = server.sign_in("0612345678").await;
    let need = server
        .post(
            "/api/v1/requests",
            Some(&token),
            &need_arriving(LIVERNON, FIGEAC, &date_in(2), "09:30"),
        )
        .await;
    let path = format!("/api/v1/requests/{}", need.body["id"].as_str().unwrap());

    let changed = server
        .patch(
            &path,
            Some(&token),
            &json!({ "seats": 2, "purpose": "work" }),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["seats"], 2);
    assert_eq!(changed.body["purpose"], "work");

    assert_eq!(
        server.delete(&path, Some(&token)).await.status,
        StatusCode::NO_CONTENT
    );
    let cancelled = server.get(&path, Some(&token)).await;
    assert_eq!(cancelled.status, StatusCode::OK);
    assert_eq!(cancelled.body["status"], "cancelled");
    let listed = server.get("/api/v1/requests", Some(&token)).await;
    assert_eq!(listed.body[0]["status"], "cancelled");
    let closed = server
        .patch(&path, Some(&token), &json!({ "seats": 1 }))
        .await;
    assert_eq!(closed.problem(409)["code"], "request_closed");
}

async fn retried_posts_with_an_idempotency_key_create_once(backend: Backend) {
    let server = Server::start(backend).await;
    let token = server.sign_in("0612345678").await;
    let body = weekly_offer(CAHORS, FIGEAC, "07:30", &date_in(1));
    let send = |key: &'static str, body: Value| {
        server
            .http
            .post(server.url("/api/v1/offers"))
            .bearer_auth(&token)
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let first = send("k-1", body.clone()).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = send("k-1", body.clone()).await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);

    // Concurrent retries of one key still create one trip.
    let racing = futures_join(send("k-2", body.clone()), send("k-2", body.clone())).await;
    assert_eq!(racing.0.unwrap().status(), StatusCode::CREATED);
    assert_eq!(racing.1.unwrap().status(), StatusCode::CREATED);
    let listed = server.get("/api/v1/offers", Some(&token)).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 2);

    let mut other = body.clone();
    other["seats"] = json!(1);
    let reused = send("k-1", other).await.unwrap();
    assert_eq!(reused.status(), StatusCode::CONFLICT);
    let problem: Value = reused.json().await.unwrap();
    assert_eq!(problem["code"], "idempotency_key_reused");
}

async fn futures_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    tokio::join!(a, b)
}
