//! Bad input of every kind over HTTP: a clear error, in French, on the
//! faulty fields, and nothing written. Every scenario runs on SQLite and
//! PostgreSQL.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_databases!(bad_input_of_every_kind_gets_a_clear_error_and_changes_nothing);

async fn bad_input_of_every_kind_gets_a_clear_error_and_changes_nothing(backend: Backend) {
    let server = Server::start_with(
        backend,
        Options {
            demo: true,
            ..Default::default()
        },
    )
    .await;
    let token = server.sign_in("0612345678").await;
    let tomorrow = date_in(1);
    let good = weekly_offer(CAHORS, FIGEAC, "07:30", &tomorrow);

    // Not JSON, wrong content type, too large.
    let raw = |body: &'static str, content_type: &'static str| {
        server
            .http
            .post(server.url("/api/v1/offers"))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let not_json = raw("{\"origin\": ", "application/json").await.unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        not_json.headers()["content-type"],
        "application/problem+json"
    );
    let text = raw("origin=cahors", "application/x-www-form-urlencoded")
        .await
        .unwrap();
    assert_eq!(text.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = server
        .http
        .post(server.url("/api/v1/offers"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(format!("{{\"x\":\"{}\"}}", "a".repeat(200_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let with = |path: &str, value: Value| {
        let mut body = good.clone();
        let mut target = &mut body;
        let parts: Vec<&str> = path.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            target = &mut target[*part];
        }
        target[parts[parts.len() - 1]] = value;
        body
    };
    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "origin"),
        (with("seats", json!(0)), "seats"),
        (with("seats", json!(12)), "seats"),
        (with("seats", json!("trois")), "seats"),
        (with("max_detour_minutes", json!(120)), "max_detour_minutes"),
        (
            with("origin", json!({ "place_id": "commune:99999" })),
            "origin.place_id",
        ),
        (with("origin", json!({})), "origin"),
        (
            with("destination", json!({ "lat": 44.6, "lon": 2.03 })),
            "destination.label",
        ),
        (
            with(
                "destination",
                json!({ "lat": 144.6, "lon": 2.03, "label": "x" }),
            ),
            "destination.lat",
        ),
        (
            with("destination", json!({ "place_id": CAHORS })),
            "destination",
        ),
        (with("schedule.kind", json!("daily")), "schedule.kind"),
        (with("schedule.weekdays", json!([])), "schedule.weekdays"),
        (
            with("schedule.weekdays", json!(["lundi"])),
            "schedule.weekdays.0",
        ),
        (
            with("schedule.departure_time", json!("25:00")),
            "schedule.departure_time",
        ),
        (
            with("schedule.departure_time", Value::Null),
            "schedule.departure_time",
        ),
        (
            with("schedule.return_time", json!("06:00")),
            "schedule.return_time",
        ),
        (with("schedule.from", json!("01/12/2026")), "schedule.from"),
        (
            with("schedule.until", json!("2020-01-01")),
            "schedule.until",
        ),
        (
            with(
                "schedule",
                json!({ "kind": "once", "departure": "2020-01-01T07:30:00+01:00" }),
            ),
            "schedule.departure",
        ),
        (
            with(
                "schedule",
                json!({ "kind": "once", "departure": "2030-01-01T07:30:00+01:00", "weekdays": ["mon"] }),
            ),
            "schedule.weekdays",
        ),
        (with("unexpected", json!(1)), "unexpected"),
    ];
    for (body, field) in cases {
        let response = server.post("/api/v1/offers", Some(&token), &body).await;
        let problem = response.problem(422);
        let errors = problem["errors"].as_array().expect("errors");
        assert!(
            errors.iter().any(|e| e["field"] == field),
            "expected an error on {field}, got {problem}"
        );
        for error in errors {
            let message = error["message"].as_str().unwrap();
            assert!(
                message.ends_with('.') && !message.contains("expected"),
                "not a French sentence: {message}"
            );
        }
    }

    // Several faults are reported together.
    let many = server
        .post(
            "/api/v1/offers",
            Some(&token),
            &with("seats", json!(0))
                .as_object()
                .map(|o| {
                    let mut o = o.clone();
                    o.insert("max_detour_minutes".into(), json!(-5));
                    o.insert("origin".into(), json!({ "place_id": "nowhere" }));
                    Value::Object(o)
                })
                .unwrap(),
        )
        .await;
    many.problem(422);
    let mut fields = many.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        vec!["max_detour_minutes", "origin.place_id", "seats"]
    );

    // Needs too.
    let need_cases: Vec<(Value, &str)> = vec![
        (
            need_arriving(LIVERNON, FIGEAC, "2020-01-01", "09:30"),
            "schedule.date",
        ),
        (
            need_arriving(LIVERNON, FIGEAC, &tomorrow, "9h61"),
            "schedule.arrive_by",
        ),
        (
            json!({ "origin": { "place_id": LIVERNON }, "destination": { "place_id": FIGEAC },
                    "schedule": { "kind": "once", "date": tomorrow } }),
            "schedule.arrive_by",
        ),
        (
            json!({ "origin": { "place_id": LIVERNON }, "destination": { "place_id": FIGEAC },
                    "schedule": { "kind": "once", "date": tomorrow, "arrive_by": "10:00", "flexibility_minutes": 500 },
                    "purpose": "holidays" }),
            "purpose",
        ),
        (
            json!({ "origin": { "place_id": LIVERNON }, "destination": { "place_id": FIGEAC },
                    "schedule": { "kind": "once", "date": tomorrow, "arrive_by": "10:00", "flexibility_minutes": 500 } }),
            "schedule.flexibility_minutes",
        ),
        (
            json!({ "origin": { "place_id": LIVERNON }, "destination": { "place_id": FIGEAC },
                    "schedule": { "kind": "once", "date": tomorrow, "arrive_by": "10:00", "return_after": "08:00" } }),
            "schedule.return_after",
        ),
        (
            json!({ "origin": { "place_id": LIVERNON }, "destination": { "place_id": FIGEAC },
                    "schedule": { "kind": "once", "date": tomorrow, "arrive_by": "10:00" },
                    "on_behalf_of": "someone" }),
            "on_behalf_of",
        ),
    ];
    for (body, field) in need_cases {
        let response = server.post("/api/v1/requests", Some(&token), &body).await;
        let problem = response.problem(422);
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "expected an error on {field}, got {problem}"
        );
    }

    // Sign-in faults.
    let bad_contact = server
        .post("/api/v1/auth/start", None, &json!({ "contact": "12" }))
        .await;
    assert_eq!(bad_contact.problem(422)["errors"][0]["field"], "contact");
    let bad_code = server
        .post(
            "/api/v1/auth/verify",
            None,
            &json!({ "contact": "0612345678", "code": "12ab" }),
        )
        .await;
    assert_eq!(bad_code.problem(422)["errors"][0]["field"], "code");
    server
        .get("/api/v1/places?limit=500&q=fig", None)
        .await
        .problem(422);
    server
        .get("/api/v1/places?limit=abc&q=fig", None)
        .await
        .problem(422);
    server.get("/api/v1/places", None).await.problem(422);
    server
        .post("/api/v1/offers", None, &good)
        .await
        .problem(401);

    // Nothing was written.
    assert_eq!(
        server.get("/api/v1/offers", Some(&token)).await.body,
        json!([])
    );
    assert_eq!(
        server.get("/api/v1/requests", Some(&token)).await.body,
        json!([])
    );
    // And the good body still works.
    let created = server.post("/api/v1/offers", Some(&token), &good).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
}
