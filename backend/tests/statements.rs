//! Database statements per request, counted by the server from its
//! statement log (`--dev-count-statements`, which also stops background
//! work so that every statement counted is the request's): the main
//! endpoints run a fixed number, whatever the number of trips, needs and
//! matches. Counts are deterministic, unlike timings. On both databases.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_databases!(the_main_endpoints_run_a_fixed_number_of_statements_whatever_the_data);

/// The server's statement counter.
async fn counted(server: &Server) -> i64 {
    server
        .metrics()
        .await
        .lines()
        .find_map(|l| l.strip_prefix("lotocar_sql_statements "))
        .expect("statements are counted")
        .parse()
        .unwrap()
}

struct Counter {
    /// What reading the counter costs (the /metrics request's own).
    reading: i64,
}

impl Counter {
    async fn new(server: &Server) -> Counter {
        let a = counted(server).await;
        let b = counted(server).await;
        let c = counted(server).await;
        assert_eq!(b - a, c - b, "reading the counter costs the same each time");
        Counter { reading: b - a }
    }

    /// The statements `request` runs.
    async fn of<F: std::future::Future<Output = Response>>(
        &self,
        server: &Server,
        request: F,
    ) -> (i64, Response) {
        let before = counted(server).await;
        let response = request.await;
        let after = counted(server).await;
        (after - before - self.reading, response)
    }
}

async fn ready(server: &Server) {
    for _ in 0..200 {
        if server.get("/readyz", None).await.status == StatusCode::OK {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("not ready after 10 s");
}

/// What each endpoint ran, by name.
async fn measure(
    server: &Server,
    counter: &Counter,
    passenger: &str,
    driver: &str,
    need_id: &str,
    offer_id: &str,
    fresh_trip: &Value,
) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    let (n, r) = counter
        .of(server, server.get("/api/v1/me", Some(passenger)))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    counts.push(("GET /me", n));
    let (n, r) = counter
        .of(server, server.get("/api/v1/notifications", Some(passenger)))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    counts.push(("GET /notifications", n));
    // Twice: the first may read the meeting points and local names.
    server.get("/api/v1/places?q=fig", None).await;
    let (n, r) = counter
        .of(server, server.get("/api/v1/places?q=fig", None))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    counts.push(("GET /places", n));
    // Matching first catches up with the trips and needs written since
    // the last query (a few statements, once): counted is the request.
    server
        .get(
            &format!("/api/v1/requests/{need_id}/matches"),
            Some(passenger),
        )
        .await;
    let (n, r) = counter
        .of(
            server,
            server.get(
                &format!("/api/v1/requests/{need_id}/matches"),
                Some(passenger),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.as_array().unwrap().is_empty(), "{}", r.body);
    counts.push(("GET /requests/{id}/matches", n));
    let (n, r) = counter
        .of(
            server,
            server.get(&format!("/api/v1/offers/{offer_id}/matches"), Some(driver)),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.as_array().unwrap().is_empty(), "{}", r.body);
    counts.push(("GET /offers/{id}/matches", n));
    let (n, r) = counter
        .of(
            server,
            server.post("/api/v1/offers", Some(driver), fresh_trip),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    counts.push(("POST /offers", n));
    counts
}

async fn the_main_endpoints_run_a_fixed_number_of_statements_whatever_the_data(backend: Backend) {
    let mut options = many_sign_ins();
    options
        .env
        .push(("LOTOCAR_DEV_COUNT_STATEMENTS".into(), "true".into()));
    let server = Server::start_with(backend, options).await;
    ready(&server).await;
    let counter = Counter::new(&server).await;
    let tuesday = next_weekday(1, 3);
    let trip = weekly_offer(CAHORS, FIGEAC, "07:30", &date_in(1));

    let driver = server.sign_in_as("0611111111", "Marie Dupont").await;
    let offer = server.post("/api/v1/offers", Some(&driver), &trip).await;
    let offer_id = offer.body["id"].as_str().unwrap().to_string();
    let passenger = server.sign_in("0622222222").await;
    let need = server
        .post(
            "/api/v1/requests",
            Some(&passenger),
            &need_arriving(LIVERNON, FIGEAC, &tuesday, "09:30"),
        )
        .await;
    let need_id = need.body["id"].as_str().unwrap().to_string();
    let small = measure(
        &server, &counter, &passenger, &driver, &need_id, &offer_id, &trip,
    )
    .await;

    // Thirty more drivers on the same way and thirty more passengers
    // waiting: more matches each way, more needs for a new trip to tell.
    for i in 0..30 {
        let other = server
            .sign_in_as(&format!("+336800000{i:02}"), &format!("Conducteur {i}"))
            .await;
        let posted = server.post("/api/v1/offers", Some(&other), &trip).await;
        assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
        let waiting = server.sign_in(&format!("+336900000{i:02}")).await;
        let posted = server
            .post(
                "/api/v1/requests",
                Some(&waiting),
                &need_arriving(LIVERNON, FIGEAC, &tuesday, "09:30"),
            )
            .await;
        assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
    }
    let matches = server
        .get(
            &format!("/api/v1/requests/{need_id}/matches"),
            Some(&passenger),
        )
        .await;
    assert!(
        matches.body.as_array().unwrap().len() > 30,
        "{}",
        matches.body
    );
    let large = measure(
        &server, &counter, &passenger, &driver, &need_id, &offer_id, &trip,
    )
    .await;
    eprintln!("statements per request: {small:?} then {large:?}");

    // The same number with one match or thirty-one, one need or
    // thirty-one on the way, and at most these.
    assert_eq!(small, large, "statements grow with the data");
    let most = json!({
        "GET /me": 2,
        "GET /notifications": 2,
        "GET /places": 0,
        "GET /requests/{id}/matches": 5,
        "GET /offers/{id}/matches": 5,
        "POST /offers": 7,
    });
    for (name, n) in &large {
        let bound = most[*name].as_i64().unwrap();
        assert!(*n <= bound, "{name} runs {n} statements (at most {bound})");
    }
}
