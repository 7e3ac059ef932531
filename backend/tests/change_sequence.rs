//! The change sequence under parallel writers: two instances on one
//! database post trips at the same time while an app follows
//! `GET /api/v1/sync` from cursor to cursor, through one instance then the
//! other. Every trip reaches the app exactly once (nothing committed at or
//! below a cursor is missed), and both instances' matching indexes end up
//! with every trip. On both databases (on PostgreSQL the writers do not
//! queue on one counter row: see migrations/postgres/0011).

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use common::*;
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;

on_both_databases!(nothing_committed_before_a_cursor_is_missed_with_two_instances_writing);

const WRITERS: usize = 8;
const TRIPS_EACH: usize = 20;

/// The trips in a sync page, in the page's order.
fn offers_in(page: &Value) -> Vec<String> {
    page["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["entity"] == "offer")
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect()
}

async fn nothing_committed_before_a_cursor_is_missed_with_two_instances_writing(backend: Backend) {
    let first = Server::start(backend).await;
    let second = first.another_instance().await;
    let instances = [&first, &second];
    let driver = first.sign_in_as("0611111111", "Marie Dupont").await;
    let start = date_in(1);
    let done = AtomicBool::new(false);

    let writers = async {
        let posted = join_all((0..WRITERS).map(|w| {
            let (driver, start) = (&driver, &start);
            async move {
                let server = instances[w % 2];
                let mut ids = Vec::new();
                for i in 0..TRIPS_EACH {
                    let minute = (w * TRIPS_EACH + i) % 60;
                    let trip = weekly_offer(CAHORS, FIGEAC, &format!("07:{minute:02}"), start);
                    let offer = server.post("/api/v1/offers", Some(driver), &trip).await;
                    assert_eq!(offer.status, StatusCode::CREATED, "{}", offer.body);
                    ids.push(offer.body["id"].as_str().unwrap().to_string());
                }
                ids
            }
        }))
        .await;
        done.store(true, Ordering::SeqCst);
        posted.into_iter().flatten().collect::<Vec<String>>()
    };

    let follower = async {
        let mut cursor = "0".to_string();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut pages = 0usize;
        loop {
            // Read `done` before the page: a page asked after every write
            // was acknowledged must hold the last of them.
            let last = done.load(Ordering::SeqCst);
            let server = instances[pages % 2];
            let page = server
                .get(&format!("/api/v1/sync?since={cursor}"), Some(&driver))
                .await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            for id in offers_in(&page.body) {
                *seen.entry(id).or_default() += 1;
            }
            let next = page.body["cursor"].as_str().unwrap().to_string();
            assert!(
                next.parse::<i64>().unwrap() >= cursor.parse::<i64>().unwrap(),
                "the cursor went back from {cursor} to {next}"
            );
            cursor = next;
            pages += 1;
            if last {
                break;
            }
        }
        (seen, pages)
    };

    let (posted, (seen, pages)) = tokio::join!(writers, follower);
    assert_eq!(posted.len(), WRITERS * TRIPS_EACH);
    assert!(
        pages > 2,
        "the app synced while trips were written ({pages} pages)"
    );
    let missed: Vec<&String> = posted.iter().filter(|id| !seen.contains_key(*id)).collect();
    assert!(
        missed.is_empty(),
        "{} of {} trips never reached the app across {pages} syncs: {missed:?}",
        missed.len(),
        posted.len()
    );
    let twice: Vec<(&String, &usize)> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "trips seen twice: {twice:?}");
    assert_eq!(seen.len(), posted.len());

    // Both instances' matching indexes caught up with every trip: a need on
    // the corridor makes each instance sync before it matches.
    let passenger = first.sign_in("0622222222").await;
    let need = first
        .post(
            "/api/v1/requests",
            Some(&passenger),
            &need_arriving(LIVERNON, FIGEAC, &next_weekday(1, 2), "09:30"),
        )
        .await;
    assert_eq!(need.status, StatusCode::CREATED, "{}", need.body);
    let need_id = need.body["id"].as_str().unwrap();
    for server in instances {
        let matches = server
            .get(
                &format!("/api/v1/requests/{need_id}/matches"),
                Some(&passenger),
            )
            .await;
        assert_eq!(matches.status, StatusCode::OK, "{}", matches.body);
        assert!(!matches.body.as_array().unwrap().is_empty());
        assert_eq!(
            server.indexed().await.0,
            posted.len() as i64,
            "{}",
            server.url("")
        );
    }
}
