//! Every bad input gets a 4xx problem in French, on the faulty field, and
//! nothing is written: absurd dates and weekdays, points outside France,
//! unreadable path parameters and query strings, values too large, days
//! that do not exist, a key given twice, unknown filter values, an address
//! too long; and the OpenAPI document says what the server does. Storage
//! scenarios run on SQLite and PostgreSQL.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_databases!(
    absurd_dates_weekdays_and_points_are_refused_and_nothing_is_written,
    unreadable_addresses_queries_and_bodies_are_french_problems,
    unknown_filter_values_are_refused_with_the_allowed_ones,
);

const COORDINATOR: &str = "coordination@example.fr";

/// Asserts a 422 (or `status`) problem with an error on `field`, every
/// message a French sentence; returns the message on `field`.
#[track_caller]
fn refused_on(response: &Response, status: u16, field: &str) -> String {
    let problem = response.problem(status);
    let errors = problem["errors"].as_array().cloned().unwrap_or_default();
    for error in &errors {
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            message.ends_with('.') && !message.is_empty(),
            "not a sentence: {message}"
        );
        for english in [
            "expected",
            "input is",
            "number too",
            "duplicate",
            "unknown",
            "Failed",
        ] {
            assert!(
                !message.contains(english),
                "English in {message} ({problem})"
            );
        }
    }
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        !detail.contains("Invalid") && !detail.contains("Failed"),
        "{detail}"
    );
    errors
        .iter()
        .find(|e| e["field"] == field)
        .and_then(|e| e["message"].as_str())
        .unwrap_or_else(|| panic!("expected an error on {field}, got {problem}"))
        .to_string()
}

/// The harness's view of a response sent by hand.
async fn read(response: reqwest::Response) -> Response {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    Response {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        text,
    }
}

/// A date `years` years from today (Paris), same day of the year.
fn years_ahead(years: i32) -> String {
    use chrono::Datelike;
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    today
        .with_year(today.year() + years)
        .unwrap_or(today + chrono::Duration::days(365 * i64::from(years)))
        .to_string()
}

fn once_offer(departure: &str) -> Value {
    json!({
        "origin": { "place_id": CAHORS },
        "destination": { "place_id": FIGEAC },
        "schedule": { "kind": "once", "departure": departure },
        "seats": 2
    })
}

async fn absurd_dates_weekdays_and_points_are_refused_and_nothing_is_written(backend: Backend) {
    let server = demo_server(backend).await;
    let token = server.sign_in("0612345678").await;
    let tomorrow = date_in(1);
    let good = weekly_offer(CAHORS, FIGEAC, "07:30", &tomorrow);
    let with = |schedule: Value| {
        let mut body = good.clone();
        for (k, v) in schedule.as_object().unwrap() {
            body["schedule"][k] = v.clone();
        }
        body
    };
    let in_two_years = years_ahead(2);
    let in_five_years = years_ahead(5);
    let two_years_back = years_ahead(-2);

    // Offers: one-off dates within a year; periods and pauses from a year
    // back to three years ahead; each weekday once; points in France.
    let offer_cases: Vec<(Value, &str)> = vec![
        (
            once_offer("9999-12-31T07:30:00+01:00"),
            "schedule.departure",
        ),
        (
            once_offer(&format!("{in_two_years}T07:30:00+01:00")),
            "schedule.departure",
        ),
        (
            once_offer("+10000-01-01T07:30:00+01:00"),
            "schedule.departure",
        ),
        (
            json!({
                "origin": { "place_id": CAHORS }, "destination": { "place_id": FIGEAC },
                "schedule": { "kind": "once", "departure": format!("{tomorrow}T07:30:00+01:00"),
                              "return_departure": "9999-12-31T18:00:00+01:00" }
            }),
            "schedule.return_departure",
        ),
        (with(json!({ "from": "0000-01-01" })), "schedule.from"),
        (with(json!({ "from": two_years_back })), "schedule.from"),
        (with(json!({ "from": "9999-01-01" })), "schedule.from"),
        (with(json!({ "from": "+10000-01-01" })), "schedule.from"),
        (with(json!({ "until": "9999-12-31" })), "schedule.until"),
        (with(json!({ "until": in_five_years })), "schedule.until"),
        (
            with(json!({ "pauses": [{ "from": "0000-01-01", "until": "9999-12-31" }] })),
            "schedule.pauses.0.from",
        ),
        (
            with(json!({ "pauses": [{ "from": tomorrow, "until": "9999-12-31" }] })),
            "schedule.pauses.0.until",
        ),
        (
            with(json!({ "weekdays": ["mon", "mon"] })),
            "schedule.weekdays",
        ),
        (
            with(json!({ "weekdays": ["fri", "mon", "tue", "fri"] })),
            "schedule.weekdays",
        ),
        (
            with(json!({ "weekdays": vec!["wed"; 700] })),
            "schedule.weekdays",
        ),
        (
            json!({
                "origin": { "lat": 0.0, "lon": 0.0, "label": "Golfe de Guinée" },
                "destination": { "place_id": FIGEAC },
                "schedule": good["schedule"].clone()
            }),
            "origin.lat",
        ),
        (
            json!({
                "origin": { "place_id": CAHORS },
                "destination": { "lat": 40.4168, "lon": -3.7038, "label": "Madrid" },
                "schedule": good["schedule"].clone()
            }),
            "destination.lon",
        ),
        (
            json!({
                // Anse-Bertrand with the source's wrong longitude sign.
                "origin": { "lat": 16.47209, "lon": 61.50881, "label": "x" },
                "destination": { "place_id": FIGEAC },
                "schedule": good["schedule"].clone()
            }),
            "origin.lat",
        ),
    ];
    for (body, field) in offer_cases {
        let response = server.post("/api/v1/offers", Some(&token), &body).await;
        let message = refused_on(&response, 422, field);
        if field.contains("weekdays") {
            assert!(
                message.contains("une seule fois") || message.contains("deux fois"),
                "{message}"
            );
        }
        if field.ends_with(".lat") || field.ends_with(".lon") {
            assert!(message.contains("hors de la zone couverte"), "{message}");
        }
    }
    // A date too far says until when.
    let far = server
        .post(
            "/api/v1/offers",
            Some(&token),
            &with(json!({ "until": "9999-12-31" })),
        )
        .await;
    let message = refused_on(&far, 422, "schedule.until");
    assert!(message.contains("trois ans"), "{message}");

    // Needs: a one-off date within a year, a period within the bounds,
    // each weekday once, points in France.
    let need = |schedule: Value| {
        json!({
            "origin": { "place_id": LIVERNON },
            "destination": { "place_id": FIGEAC },
            "schedule": schedule
        })
    };
    let need_cases: Vec<(Value, &str)> = vec![
        (
            need(json!({ "kind": "once", "date": "9999-12-31", "arrive_by": "09:00" })),
            "schedule.date",
        ),
        (
            need(json!({ "kind": "once", "date": in_two_years, "arrive_by": "09:00" })),
            "schedule.date",
        ),
        (
            need(json!({ "kind": "once", "date": "+10000-01-01", "arrive_by": "09:00" })),
            "schedule.date",
        ),
        (
            need(
                json!({ "kind": "weekly", "weekdays": ["mon"], "arrive_by": "09:00", "from": "0000-01-01" }),
            ),
            "schedule.from",
        ),
        (
            need(
                json!({ "kind": "weekly", "weekdays": ["mon"], "arrive_by": "09:00", "until": "9999-12-31" }),
            ),
            "schedule.until",
        ),
        (
            need(json!({ "kind": "weekly", "weekdays": ["tue", "tue"], "arrive_by": "09:00" })),
            "schedule.weekdays",
        ),
        (
            json!({
                "origin": { "lat": 0.0, "lon": 0.0, "label": "x" },
                "destination": { "place_id": FIGEAC },
                "schedule": { "kind": "once", "date": tomorrow, "arrive_by": "09:00" }
            }),
            "origin.lon",
        ),
    ];
    for (body, field) in need_cases {
        let response = server.post("/api/v1/requests", Some(&token), &body).await;
        refused_on(&response, 422, field);
    }

    // Changes are held to the same bounds.
    let offer = server.post("/api/v1/offers", Some(&token), &good).await;
    assert_eq!(offer.status, StatusCode::CREATED, "{}", offer.body);
    let offer_id = offer.body["id"].as_str().unwrap().to_string();
    let mut retimed = good["schedule"].clone();
    retimed["pauses"] = json!([{ "from": "0000-01-01", "until": "0000-01-02" }]);
    let patched = server
        .patch(
            &format!("/api/v1/offers/{offer_id}"),
            Some(&token),
            &json!({ "schedule": retimed }),
        )
        .await;
    refused_on(&patched, 422, "schedule.pauses.0.from");
    let mut doubled = good["schedule"].clone();
    doubled["weekdays"] = json!(["sat", "sat"]);
    let patched = server
        .patch(
            &format!("/api/v1/offers/{offer_id}"),
            Some(&token),
            &json!({ "schedule": doubled }),
        )
        .await;
    refused_on(&patched, 422, "schedule.weekdays");

    // Meeting points lie in France too.
    let coordinator = server.sign_in(COORDINATOR).await;
    let before = server
        .get("/api/v1/territories/lot/meeting-points", Some(&coordinator))
        .await
        .body;
    let point = server
        .post(
            "/api/v1/territories/lot/meeting-points",
            Some(&coordinator),
            &json!({ "name": "Nulle part", "lat": 0.0, "lon": 0.0 }),
        )
        .await;
    refused_on(&point, 422, "lat");

    // Nothing was written: the one good offer, unchanged; no need; no point.
    let offers = server.get("/api/v1/offers", Some(&token)).await.body;
    assert_eq!(offers.as_array().unwrap().len(), 1, "{offers}");
    assert_eq!(
        offers[0]["schedule"]["weekdays"],
        good["schedule"]["weekdays"]
    );
    assert_eq!(offers[0]["schedule"]["pauses"], json!([]));
    assert_eq!(
        server.get("/api/v1/requests", Some(&token)).await.body,
        json!([])
    );
    assert_eq!(
        server
            .get("/api/v1/territories/lot/meeting-points", Some(&coordinator))
            .await
            .body,
        before
    );

    // The bounds themselves are accepted: a one-off trip in eleven months,
    // a weekly one starting eleven months back and ending in two years,
    // with a pause in it; a need in eleven months.
    let eleven_months = date_in(330);
    let ok = server
        .post(
            "/api/v1/offers",
            Some(&token),
            &once_offer(&format!("{eleven_months}T07:30:00+01:00")),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    let ok = server
        .post(
            "/api/v1/offers",
            Some(&token),
            &with(json!({
                "from": date_in(-330), "until": in_two_years,
                "weekdays": ["mon", "wed", "fri"],
                "pauses": [{ "from": date_in(30), "until": date_in(40) }]
            })),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
    let ok = server
        .post(
            "/api/v1/requests",
            Some(&token),
            &need(json!({ "kind": "once", "date": eleven_months, "arrive_by": "09:00" })),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.body);
}

async fn unreadable_addresses_queries_and_bodies_are_french_problems(backend: Backend) {
    let server = demo_server(backend).await;
    let token = server.sign_in("0612345678").await;
    let coordinator = server.sign_in(COORDINATOR).await;

    // Path parameters that are not UTF-8 once decoded: 400, naming them.
    for (path, who, field) in [
        ("/api/v1/offers/%FF", &token, "id"),
        ("/api/v1/offers/%C3%28/matches", &token, "id"),
        ("/api/v1/requests/%FF", &token, "id"),
        ("/api/v1/bookings/%FF", &token, "id"),
        ("/api/v1/bookings/b1/dates/%FF", &token, "date"),
        ("/api/v1/territories/%FF/board", &coordinator, "id"),
        (
            "/api/v1/territories/lot/aliases/%FF",
            &coordinator,
            "alias_id",
        ),
    ] {
        let response = if path.contains("aliases") {
            server.delete(path, Some(who)).await
        } else if path.contains("/dates/") {
            server
                .patch(path, Some(who), &json!({"status": "CANCELLED"}))
                .await
        } else {
            server.get(path, Some(who)).await
        };
        let message = refused_on(&response, 400, field);
        assert!(message.contains("Vérifiez le lien"), "{message}");
    }

    // Query values: too large, not a number, a day that does not exist,
    // given twice, not UTF-8.
    let limit = server
        .get("/api/v1/places?q=fig&limit=99999999999999999999", None)
        .await;
    let message = refused_on(&limit, 422, "limit");
    assert!(message.contains("trop grand"), "{message}");
    let limit = server
        .get("/api/v1/places?q=fig&limit=-99999999999999999999", None)
        .await;
    refused_on(&limit, 422, "limit");
    let limit = server.get("/api/v1/places?q=fig&limit=1.5", None).await;
    refused_on(&limit, 422, "limit");
    let twice = server
        .get("/api/v1/places?q=fig&limit=2&limit=3", None)
        .await;
    refused_on(&twice, 422, "limit");
    let not_utf8 = server.get("/api/v1/places?q=%FF", None).await;
    refused_on(&not_utf8, 400, "q");
    for path in [
        "/api/v1/territories/lot/board?from=2026-02-30",
        "/api/v1/territories/lot/requests?from=2026-02-30",
        "/api/v1/territories/lot/unmet?from=2026-02-30",
        "/api/v1/territories/lot/map?from=2026-02-30",
        "/api/v1/territories/lot/impact?from=2026-02-30",
        "/api/v1/territories/lot/registry/journeys?from=2026-02-30",
    ] {
        let response = server.get(path, Some(&coordinator)).await;
        let message = refused_on(&response, 422, "from");
        assert!(message.contains("n'existe pas"), "{path}: {message}");
    }
    let board = server
        .get(
            "/api/v1/territories/lot/board?to=demain",
            Some(&coordinator),
        )
        .await;
    refused_on(&board, 422, "to");
    let since = server.get("/api/v1/sync?since=%2B5", Some(&token)).await;
    refused_on(&since, 422, "since");

    // A key given twice in a body is refused, not one of them kept.
    let raw = |body: String| {
        server
            .http
            .post(server.url("/api/v1/offers"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let tomorrow = date_in(1);
    let mut good = weekly_offer(CAHORS, FIGEAC, "07:30", &tomorrow).to_string();
    good.pop();
    let duplicate = read(raw(format!("{good},\"seats\":8}}")).await.unwrap()).await;
    let message = refused_on(&duplicate, 422, "seats");
    assert!(message.contains("deux fois"), "{message}");
    let nested = weekly_offer(CAHORS, FIGEAC, "07:30", &tomorrow)
        .to_string()
        .replacen(
            "\"kind\":\"weekly\"",
            "\"kind\":\"weekly\",\"kind\":\"once\"",
            1,
        );
    let duplicate = read(raw(nested).await.unwrap()).await;
    refused_on(&duplicate, 422, "schedule.kind");

    // Nothing was written.
    assert_eq!(
        server.get("/api/v1/offers", Some(&token)).await.body,
        json!([])
    );
}

async fn unknown_filter_values_are_refused_with_the_allowed_ones(backend: Backend) {
    let server = demo_server(backend).await;
    let coordinator = server.sign_in(COORDINATOR).await;
    for (path, field, allowed) in [
        (
            "/api/v1/territories/lot/board?status=xyz",
            "status",
            &["open", "booked", "done", "unserved", "cancelled"][..],
        ),
        (
            "/api/v1/territories/lot/board?status=",
            "status",
            &["open", "cancelled"][..],
        ),
        (
            "/api/v1/territories/lot/requests?status=OPEN",
            "status",
            &["open"][..],
        ),
        (
            "/api/v1/territories/lot/impact?format=xml",
            "format",
            &["json", "csv", "csv-rfc4180"][..],
        ),
    ] {
        let response = server.get(path, Some(&coordinator)).await;
        let message = refused_on(&response, 422, field);
        for value in allowed {
            assert!(message.contains(value), "{path}: {message}");
        }
    }
    let role = server
        .delete(
            "/api/v1/territories/lot/staff/someone?role=chef",
            Some(&coordinator),
        )
        .await;
    let message = refused_on(&role, 422, "role");
    assert!(message.contains("relay"), "{message}");
    // The known values still work.
    for path in [
        "/api/v1/territories/lot/board?status=cancelled",
        "/api/v1/territories/lot/requests?status=open",
        "/api/v1/territories/lot/impact?format=json",
    ] {
        let response = server.get(path, Some(&coordinator)).await;
        assert_eq!(response.status, StatusCode::OK, "{path}: {}", response.body);
    }
    let csv = server
        .get(
            "/api/v1/territories/lot/impact?format=csv",
            Some(&coordinator),
        )
        .await;
    assert!(csv.content_type().starts_with("text/csv"));
}

/// The document says `application/problem+json` for every error, lists
/// the errors every operation of a kind can get, and states the
/// constraints the server enforces.
#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_says_what_the_server_does() {
    let server = Server::start(Backend::Sqlite).await;
    let doc = server.get("/api/openapi.json", None).await.body;
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            let responses = operation["responses"].as_object().unwrap();
            for (status, response) in responses {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status}: no description"
                );
                let content = response["content"].as_object();
                let json_problem = content
                    .and_then(|c| c.get("application/json"))
                    .is_some_and(|c| c["schema"]["$ref"] == "#/components/schemas/Problem");
                assert!(
                    !json_problem,
                    "{method} {path} {status}: Problem as application/json"
                );
                if status.starts_with('4') {
                    assert_eq!(
                        response["content"]["application/problem+json"]["schema"]["$ref"],
                        "#/components/schemas/Problem",
                        "{method} {path} {status}"
                    );
                }
            }
            let has_body = operation.get("requestBody").is_some();
            let has_query = operation["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
            let mut expected = vec!["429"];
            if has_body {
                expected.extend(["400", "413", "415", "422"]);
            }
            if has_query {
                expected.extend(["400", "422"]);
            }
            if operation.get("security").is_some() {
                expected.push("401");
            }
            for status in expected {
                assert!(
                    responses.contains_key(status),
                    "{method} {path} does not document {status}"
                );
            }
        }
    }
    assert!(operations > 50, "{operations}");

    let schemas = &doc["components"]["schemas"];
    let offer = &schemas["OfferInput"]["properties"];
    assert_eq!(offer["seats"]["minimum"], 1);
    assert_eq!(offer["seats"]["maximum"], 8);
    assert_eq!(offer["max_detour_minutes"]["maximum"], 60);
    let weekdays = &schemas["OfferScheduleInput"]["properties"]["weekdays"];
    assert_eq!(weekdays["uniqueItems"], true);
    assert_eq!(weekdays["maxItems"], 7);
    assert_eq!(weekdays["minItems"], 1);
    assert!(schemas["OfferScheduleInput"]["properties"]["departure_time"]["pattern"].is_string());
    assert_eq!(
        schemas["NeedScheduleInput"]["properties"]["flexibility_minutes"]["maximum"],
        240
    );
    assert_eq!(schemas["PlaceInput"]["properties"]["lat"]["maximum"], 90);
    assert_eq!(schemas["Problem"]["properties"]["status"]["minimum"], 400);

    let parameter = |path: &str, name: &str| -> Value {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{path} {name}"))
            .clone()
    };
    let limit = parameter("/api/v1/places", "limit");
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(limit["schema"]["maximum"], 50);
    let q = parameter("/api/v1/places", "q");
    assert_eq!(q["required"], true);
    assert_eq!(q["schema"]["maxLength"], 100);
    let status = parameter("/api/v1/territories/{id}/board", "status");
    assert_eq!(
        status["schema"]["enum"],
        json!(["open", "booked", "done", "unserved", "cancelled"])
    );
    let format = parameter("/api/v1/territories/{id}/impact", "format");
    assert_eq!(
        format["schema"]["enum"],
        json!(["json", "csv", "csv-rfc4180"])
    );
    assert_eq!(
        parameter("/api/v1/territories/{id}/board", "from")["schema"]["format"],
        "date"
    );
    let impact = &doc["paths"]["/api/v1/territories/{id}/impact"]["get"]["responses"]["200"];
    assert!(impact["content"]["text/csv"].is_object());
    let board = &doc["paths"]["/api/v1/territories/{id}/board"]["get"]["responses"];
    assert!(board["422"].is_object());
}

/// An address too long for the HTTP parser (over 64 KiB) is answered with
/// a French problem, not hyper's empty 414. Sent by hand: an HTTP client
/// cannot build such an address either.
///
/// Needs `lib::serve` to listen through `http::listener` (one line there,
/// owned elsewhere); `tests/http_listener.rs` checks the listener itself.
#[tokio::test(flavor = "multi_thread")]
async fn an_address_too_long_is_a_french_problem() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = Server::start(Backend::Sqlite).await;
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = format!(
        "GET /api/v1/places?q={} HTTP/1.1\r\nHost: {addr}\r\n\r\n",
        "a".repeat(100_000)
    );
    let _ = stream.write_all(request.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut answer),
    )
    .await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 414 "), "{answer}");
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{head}"
    );
    let problem: Value = serde_json::from_str(body).unwrap();
    assert_eq!(problem["status"], 414);
    assert!(problem["detail"].as_str().unwrap().contains("trop longue"));
    // Long but within the parser's reach: the parameter's own limit.
    let response = server
        .get(&format!("/api/v1/places?q={}", "a".repeat(10_000)), None)
        .await;
    refused_on(&response, 422, "q");
}
