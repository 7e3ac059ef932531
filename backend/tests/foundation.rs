//! The foundation over HTTP: service endpoints, sign-in, places, trips and
//! needs, bad input, restarts. Every scenario runs on SQLite and PostgreSQL.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_databases!(
    service_endpoints_answer,
    a_new_user_posts_a_trip_and_a_need_and_finds_them_after_a_restart,
    sign_in_codes_are_single_use_and_allow_five_attempts,
    sign_in_is_rate_limited_per_contact_and_per_ip,
    codes_are_returned_only_in_dev_mode,
    profile_changes_and_sign_out,
    others_cannot_see_or_touch_my_trips_and_needs,
    bad_input_of_every_kind_gets_a_clear_error_and_changes_nothing,
    trips_can_be_paused_changed_and_deleted,
    a_cancelled_need_stays_visible,
    retried_posts_with_an_idempotency_key_create_once,
    place_search_ranks_the_territory_first_with_aliases_and_meeting_points,
    demo_seed_is_idempotent_and_roles_are_granted_from_the_command_line,
);

async fn service_endpoints_answer(backend: Backend) {
    let server = Server::start(backend).await;
    let health = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = server.http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);

    let doc = server.get("/api/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/auth/start",
        "/api/v1/auth/verify",
        "/api/v1/me",
        "/api/v1/places",
        "/api/v1/offers",
        "/api/v1/offers/{id}",
        "/api/v1/requests",
        "/api/v1/requests/{id}",
    ] {
        assert!(
            doc.body["paths"][path].is_object(),
            "{path} missing from OpenAPI"
        );
    }
    assert!(doc.body["components"]["schemas"]["OfferInput"].is_object());

    let unknown = server.get("/api/v1/nowhere", None).await;
    unknown.problem(404);
    let wrong_method = server.call(Method::PUT, "/api/v1/offers", None, None).await;
    wrong_method.problem(405);
}

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

async fn sign_in_codes_are_single_use_and_allow_five_attempts(backend: Backend) {
    let server = Server::start(backend).await;
    let contact = "marie@exemple.fr";
    let started = server
        .post("/api/v1/auth/start", None, &json!({ "contact": contact }))
        .await;
    assert_eq!(started.status, StatusCode::ACCEPTED);
    assert!(
        started.body["message"]
            .as_str()
            .unwrap()
            .contains("marie@exemple.fr")
    );
    assert_eq!(started.body["expires_in_seconds"], 600);
    let code = started.body["dev_code"].as_str().unwrap().to_string();
    let wrong = if code == "000000" { "111111" } else { "000000" };

    let attempt = |code: String| {
        let server = &server;
        async move {
            server
                .post(
                    "/api/v1/auth/verify",
                    None,
                    &json!({ "contact": contact, "code": code }),
                )
                .await
        }
    };
    let first = attempt(wrong.to_string()).await;
    let problem = first.problem(422);
    assert_eq!(problem["errors"][0]["field"], "code");
    assert_eq!(
        problem["errors"][0]["message"],
        "Code incorrect. Il vous reste 4 essais."
    );

    // The right code works, once; the account is created on first sign-in.
    let ok = attempt(code.clone()).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["token"].as_str().unwrap().len(), 43);
    assert_eq!(ok.body["user"]["roles"], json!([]));
    attempt(code.clone()).await.problem(422);

    // Five wrong codes burn a code: even the right one is then refused.
    let started = server
        .post("/api/v1/auth/start", None, &json!({ "contact": contact }))
        .await;
    let code = started.body["dev_code"].as_str().unwrap().to_string();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        attempt(wrong.to_string()).await.problem(422);
    }
    let refused = attempt(code).await;
    assert!(
        refused.problem(422)["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Demandez un nouveau code")
    );

    // Signing in again with the same contact reaches the same account.
    let token = server.sign_in("Marie@Exemple.fr").await;
    let me = server.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.body["id"], ok.body["user"]["id"]);
    assert_eq!(me.body["email"], "marie@exemple.fr");
}

async fn sign_in_is_rate_limited_per_contact_and_per_ip(backend: Backend) {
    let server = Server::start_with(
        backend,
        Options {
            env: vec![
                ("LOTOCAR_CODES_PER_CONTACT_HOUR".into(), "2".into()),
                ("LOTOCAR_SIGNIN_PER_IP_HOUR".into(), "5".into()),
            ],
            ..Default::default()
        },
    )
    .await;
    let ask = async |contact: &str| {
        server
            .post("/api/v1/auth/start", None, &json!({ "contact": contact }))
            .await
    };
    assert_eq!(ask("0611111111").await.status, StatusCode::ACCEPTED);
    assert_eq!(ask("0611111111").await.status, StatusCode::ACCEPTED);
    let limited = ask("0611111111").await;
    let problem = limited.problem(429);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Réessayez dans")
    );
    let retry_after: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3000..=3600).contains(&retry_after), "{retry_after}");

    // Another contact from the same address: allowed until the IP limit.
    assert_eq!(ask("0622222222").await.status, StatusCode::ACCEPTED);
    assert_eq!(ask("0633333333").await.status, StatusCode::ACCEPTED);
    ask("0644444444").await.problem(429);
}

async fn codes_are_returned_only_in_dev_mode(backend: Backend) {
    let server = Server::start_with(
        backend,
        Options {
            dev: false,
            ..Default::default()
        },
    )
    .await;
    let started = server
        .post(
            "/api/v1/auth/start",
            None,
            &json!({ "contact": "0612345678" }),
        )
        .await;
    assert_eq!(started.status, StatusCode::ACCEPTED);
    assert!(started.body.get("dev_code").is_none(), "{}", started.body);
}

async fn profile_changes_and_sign_out(backend: Backend) {
    let server = Server::start(backend).await;
    let token = server.sign_in("0612345678").await;
    let me = server.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["phone"], "+33612345678");
    assert_eq!(me.body["share_phone"], false, "no answer means no");
    assert_eq!(me.body["preferred_channel"], "sms");

    let changed = server
        .patch(
            "/api/v1/me",
            Some(&token),
            &json!({ "display_name": "  Marie   Dupont ", "share_phone": true, "preferred_channel": "push" }),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["display_name"], "Marie Dupont");
    assert_eq!(changed.body["share_phone"], true);
    assert_eq!(changed.body["preferred_channel"], "push");

    // No e-mail on file: e-mail notifications cannot be chosen.
    let refused = server
        .patch(
            "/api/v1/me",
            Some(&token),
            &json!({ "preferred_channel": "email", "display_name": "" }),
        )
        .await;
    refused.problem(422);
    assert_eq!(refused.error_fields(), vec!["display_name"]);
    let refused = server
        .patch(
            "/api/v1/me",
            Some(&token),
            &json!({ "preferred_channel": "email" }),
        )
        .await;
    assert_eq!(
        refused.problem(422)["errors"][0]["field"],
        "preferred_channel"
    );
    let unchanged = server.get("/api/v1/me", Some(&token)).await;
    assert_eq!(unchanged.body["display_name"], "Marie Dupont");
    assert_eq!(unchanged.body["preferred_channel"], "push");

    let out = server
        .call(Method::POST, "/api/v1/auth/signout", Some(&token), None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = server.get("/api/v1/me", Some(&token)).await;
    after.problem(401);
    assert_eq!(after.headers["www-authenticate"], "Bearer");
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

async fn place_search_ranks_the_territory_first_with_aliases_and_meeting_points(backend: Backend) {
    let server = Server::start_with(
        backend,
        Options {
            demo: true,
            ..Default::default()
        },
    )
    .await;
    let search = async |q: &str| {
        server
            .get(&format!("/api/v1/places?q={q}&limit=10"), None)
            .await
    };
    let names = |response: &Response| -> Vec<String> {
        response
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };

    let fig = search("fig").await;
    assert_eq!(fig.status, StatusCode::OK);
    assert_eq!(fig.body[0]["id"], FIGEAC);
    assert_eq!(fig.body[0]["label"], "Figeac (46100)");
    assert_eq!(fig.body[0]["insee"], "46102");
    assert!(fig.body[0]["lat"].as_f64().unwrap() > 44.0);
    // Figeac's meeting points come right after it.
    assert_eq!(fig.body[1]["kind"], "meeting_point");

    // Accents, case, abbreviations.
    for q in ["saint%20c%C3%A9r%C3%A9", "ST-CERE", "st%20cere"] {
        assert_eq!(names(&search(q).await)[0], "Saint-Céré", "{q}");
    }
    // Lot communes before bigger ones elsewhere: "Gour" finds Gourdon (Lot) first.
    assert_eq!(names(&search("gour").await)[0], "Gourdon");
    // A local alias: "Villeneuve" is the Aveyron town next to Figeac here.
    let villeneuve = search("villeneuve").await;
    assert_eq!(villeneuve.body[0]["id"], "commune:12301");
    assert_eq!(villeneuve.body[0]["alias"], "Villeneuve");
    // Meeting points by their own name.
    let gare = search("gare").await;
    assert!(
        names(&gare).iter().any(|n| n == "Cahors, gare SNCF"),
        "{:?}",
        names(&gare)
    );
    // A meeting point can be used on a trip.
    let token = server.sign_in("0612345678").await;
    let mp = gare
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Cahors, gare SNCF")
        .unwrap();
    let offer = server
        .post(
            "/api/v1/offers",
            Some(&token),
            &weekly_offer(mp["id"].as_str().unwrap(), FIGEAC, "07:30", &date_in(1)),
        )
        .await;
    assert_eq!(offer.status, StatusCode::CREATED, "{}", offer.body);
    assert_eq!(offer.body["origin"]["label"], "Cahors, gare SNCF");
    assert_eq!(offer.body["origin"]["insee"], "46042");
    // A free point gets the commune it falls in.
    let free = server
        .post(
            "/api/v1/requests",
            Some(&token),
            &json!({ "origin": { "lat": 44.6476, "lon": 1.8425, "label": "Chez moi" },
                     "destination": { "place_id": FIGEAC },
                     "schedule": { "kind": "once", "date": date_in(2), "arrive_by": "10:00" } }),
        )
        .await;
    assert_eq!(free.status, StatusCode::CREATED, "{}", free.body);
    assert_eq!(free.body["origin"]["insee"], "46176");
    // Postal codes, limits, empty queries.
    assert_eq!(names(&search("46100").await)[0], "Figeac");
    assert_eq!(
        server
            .get("/api/v1/places?q=sa&limit=3", None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(search("").await.body, json!([]));
    assert_eq!(search("zzzzqq").await.body, json!([]));
}

async fn demo_seed_is_idempotent_and_roles_are_granted_from_the_command_line(backend: Backend) {
    let mut server = Server::start_with(
        backend.clone(),
        Options {
            demo: true,
            ..Default::default()
        },
    )
    .await;
    server.restart().await; // seeds a second time
    let driver = server.sign_in("+33600000001").await;
    let trips = server.get("/api/v1/offers", Some(&driver)).await;
    assert_eq!(trips.body.as_array().unwrap().len(), 1, "{}", trips.body);
    assert!(
        trips.body[0]["summary"]
            .as_str()
            .unwrap()
            .starts_with("Cahors → Figeac")
    );
    let gares = server.get("/api/v1/places?q=cahors%20gare", None).await;
    assert_eq!(gares.body.as_array().unwrap().len(), 1);
    let relay = server.sign_in("relais.gramat@example.fr").await;
    let me = server.get("/api/v1/me", Some(&relay)).await;
    assert_eq!(
        me.body["roles"],
        json!([{ "role": "relay", "territory_id": "lot" }])
    );
    assert_eq!(me.body["display_name"], "France Services Gramat");

    // `lotocar admin grant` on the same database.
    let mut grant = std::process::Command::new(binary());
    grant
        .args([
            "admin",
            "grant",
            "--contact",
            "06 55 44 33 22",
            "--role",
            "coordinator",
            "--territory",
            "lot",
        ])
        .arg("--data-dir")
        .arg(server.data_dir())
        .env_remove("DATABASE_URL");
    if let Some(url) = backend.database_url() {
        grant.env("DATABASE_URL", url);
    }
    let output = grant.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let unknown = std::process::Command::new(binary())
        .args([
            "admin",
            "grant",
            "--contact",
            "0655443322",
            "--role",
            "relay",
            "--territory",
            "nowhere",
        ])
        .arg("--data-dir")
        .arg(server.data_dir())
        .envs(backend.database_url().map(|u| ("DATABASE_URL", u)))
        .output()
        .unwrap();
    assert!(!unknown.status.success());

    let coordinator = server.sign_in("0655443322").await;
    let me = server.get("/api/v1/me", Some(&coordinator)).await;
    assert_eq!(
        me.body["roles"],
        json!([{ "role": "coordinator", "territory_id": "lot" }])
    );
}
