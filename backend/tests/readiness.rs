//! Ready means ready: after a restart, `/readyz` answers 200 only once the
//! matching index holds every open trip and need (it is built at start,
//! not on the first matching request). On both databases.

mod common;

use common::*;
use reqwest::StatusCode;

on_both_databases!(the_service_is_ready_only_with_its_index_built);

async fn the_service_is_ready_only_with_its_index_built(backend: Backend) {
    let mut server = Server::start_with(backend, many_sign_ins()).await;
    let trips = 60;
    let driver = server.sign_in_as("0611111111", "Marie Dupont").await;
    for i in 0..trips {
        let trip = weekly_offer(CAHORS, FIGEAC, &format!("07:{:02}", i % 60), &date_in(1));
        let posted = server.post("/api/v1/offers", Some(&driver), &trip).await;
        assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
    }
    let passenger = server.sign_in("0622222222").await;
    let need = server
        .post(
            "/api/v1/requests",
            Some(&passenger),
            &need_arriving(LIVERNON, FIGEAC, &next_weekday(1, 3), "09:30"),
        )
        .await;
    assert_eq!(need.status, StatusCode::CREATED, "{}", need.body);

    server.restart().await;
    // From the first moment it says ready, everything is indexed.
    let mut polls = 0;
    loop {
        polls += 1;
        let ready = server.get("/readyz", None).await;
        if ready.status == StatusCode::OK {
            break;
        }
        assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(polls < 2000, "not ready after {polls} tries");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(server.indexed().await, (trips, 1));
}
