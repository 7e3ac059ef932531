//! What the team sees of the service running: `/metrics` counts and times
//! each request by route and status (the route's pattern, not the path,
//! so no id in the figures) and tells the database pools' use; the log has
//! one line per request with its id, and no personal data (no phone
//! number, e-mail, name or token).

mod common;

use common::booking::{commuting_driver, post_need_and_book};
use common::sms::sms_gateway;
use common::*;
use reqwest::StatusCode;

fn figure(metrics: &str, line_start: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
}

#[tokio::test]
async fn each_request_is_counted_timed_and_logged_without_personal_data() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("lotocar.log");
    // As deployed: SMS through a gateway (without one, SMS are written to
    // the log on purpose, for a demonstration).
    let (sms_url, texts) = sms_gateway().await;
    let server = Server::start_with(
        Backend::Sqlite,
        Options {
            log_file: Some(log.clone()),
            env: vec![
                ("LOTOCAR_SMS_URL".into(), sms_url),
                ("LOTOCAR_SMS_AUTHORIZATION".into(), "Bearer s3cret".into()),
            ],
            ..Default::default()
        },
    )
    .await;
    const PHONE: &str = "0611223344";
    let token = server.sign_in_as(PHONE, "Marie Dupont").await;
    assert_eq!(texts.lock().unwrap().len(), 1, "the code went by SMS");
    let mut ids = Vec::new();
    for _ in 0..3 {
        let missing = server
            .http
            .get(server.url(&format!("/api/v1/offers/{}", uuid::Uuid::new_v4())))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        ids.push(
            missing.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    // The live stream takes its token in the query string too.
    let stream = server
        .http
        .get(server.url(&format!("/api/v1/events?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    drop(stream);

    let metrics = server.metrics().await;
    let route = r#"route="/api/v1/offers/{id}",method="GET""#;
    assert_eq!(
        figure(
            &metrics,
            &format!("lotocar_http_requests_total{{{route},status=\"404\"}}")
        ),
        Some(3.0),
        "{metrics}"
    );
    assert_eq!(
        figure(
            &metrics,
            &format!("lotocar_http_request_duration_seconds_count{{{route}}}")
        ),
        Some(3.0)
    );
    assert_eq!(
        figure(
            &metrics,
            &format!("lotocar_http_request_duration_seconds_bucket{{{route},le=\"+Inf\"}}")
        ),
        Some(3.0)
    );
    assert_eq!(
        figure(
            &metrics,
            r#"lotocar_http_requests_total{route="/api/v1/auth/verify",method="POST",status="200"}"#
        ),
        Some(1.0),
        "{metrics}"
    );
    // No path of its own for each id.
    assert!(!metrics.contains(&ids[0]), "{metrics}");
    assert!(
        figure(
            &metrics,
            r#"lotocar_db_connections{pool="write",state="idle"}"#
        )
        .is_some()
    );

    // The log: a line per request, with its id; nothing personal.
    let mut text = String::new();
    for _ in 0..50 {
        text = std::fs::read_to_string(&log).unwrap_or_default();
        if ids.iter().all(|id| text.contains(id.as_str())) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for id in &ids {
        let line = text
            .lines()
            .find(|l| l.contains(id.as_str()))
            .unwrap_or_else(|| panic!("no log line for request {id}:\n{text}"));
        assert!(line.contains("/api/v1/offers/{id}"), "{line}");
        assert!(line.contains("404"), "{line}");
    }
    let requests = text.lines().filter(|l| l.contains("lotocar::http")).count();
    assert!(requests >= 6, "{requests} request lines:\n{text}");
    for personal in [
        PHONE,
        "+33611223344",
        "06 11 22 33 44",
        "Marie",
        "Dupont",
        token.as_str(),
    ] {
        assert!(
            !text.contains(personal),
            "« {personal} » is in the server's log:\n{text}"
        );
    }
}

/// The figures behind the documented alerts: a delivery due and not sent
/// (the outbox stuck) shows its wait, and the matching index says how far
/// behind the database it is.
#[tokio::test]
async fn a_stuck_outbox_and_an_index_behind_show_in_the_metrics() {
    // No background work: the dispatcher does not run, so what is due stays.
    let server = Server::start_with(
        Backend::Sqlite,
        Options {
            env: vec![
                ("LOTOCAR_DEV_COUNT_STATEMENTS".into(), "true".into()),
                ("LOTOCAR_QUIET_START_HOUR".into(), "0".into()),
                ("LOTOCAR_QUIET_END_HOUR".into(), "0".into()),
            ],
            ..many_sign_ins()
        },
    )
    .await;
    let stuck = |metrics: &str| figure(metrics, "lotocar_deliveries_oldest_due_seconds ");
    let behind = |metrics: &str| figure(metrics, "lotocar_index_changes_behind ");
    let metrics = server.metrics().await;
    assert_eq!(stuck(&metrics), Some(0.0), "{metrics}");
    let ride = commuting_driver(&server, "0611111111", false).await;
    let passenger = server.sign_in_as("0622222222", "Jeanne Martin").await;
    // Posting the need matches it: the index catches up.
    post_need_and_book(&server, &passenger, &ride.offer_id, &next_weekday(1, 2)).await;
    let metrics = server.metrics().await;
    let after_booking = behind(&metrics).expect("lotocar_index_changes_behind");
    // The driver is told of the request: a delivery due, never sent.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let metrics = server.metrics().await;
    assert!(stuck(&metrics).unwrap() >= 2.0, "{metrics}");
    // More trips posted, no matching request since: the index is behind.
    for time in ["06:10", "06:20", "06:30"] {
        let trip = weekly_offer(CAHORS, FIGEAC, time, &date_in(1));
        let posted = server
            .post("/api/v1/offers", Some(&ride.driver), &trip)
            .await;
        assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
    }
    let metrics = server.metrics().await;
    assert!(
        behind(&metrics).unwrap() >= after_booking + 3.0,
        "{metrics}"
    );
}
