//! What funders and the national registry see: a relay's trip for a person
//! without a smartphone shows in the territory's impact figures, in their
//! CSV, and as a registry `POST /journeys` body that validates against the
//! registry's own schema; unserved and cancelled needs show with their
//! reasons; no personal data in the figures. On both databases.

mod common;

use common::booking::*;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_databases!(
    a_relays_trip_reaches_the_figures_the_csv_and_the_registry,
    check_ins_at_the_meeting_point_make_class_b_and_c_proofs,
);

const RELAY: &str = "relais.gramat@example.fr";
const COORDINATOR: &str = "coordination@example.fr";

/// The request schema of `POST /journeys` in the registry's OpenAPI file
/// (3.0, close to JSON Schema draft 4), with its `components` so that its
/// `$ref`s resolve.
fn journey_schema() -> jsonschema::Validator {
    let yaml = include_str!("fixtures/rpc-operator-api-v3.3.yaml");
    let spec: Value = serde_norway::from_str(yaml).unwrap();
    let body = spec
        .pointer("/paths/~1journeys/post/requestBody/content/application~1json/schema")
        .expect("POST /journeys schema")
        .clone();
    let root = json!({
        "$ref": "#/$defs/journey",
        "$defs": { "journey": body },
        "components": { "schemas": spec["components"]["schemas"].clone() },
    });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&root)
        .unwrap()
}

fn errors(validator: &jsonschema::Validator, body: &Value) -> Vec<String> {
    validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

async fn a_relays_trip_reaches_the_figures_the_csv_and_the_registry(backend: Backend) {
    let mut server = demo_server(backend).await;
    let relay = server.sign_in(RELAY).await;
    let tuesday = next_weekday(1, 2);
    let thursday = next_weekday(3, 2);

    // Yvette (a phone, no smartphone): the relay books Marie's commute.
    let yvette = register_person(
        &server,
        &relay,
        "Yvette Roux",
        Some("06 33 33 33 33"),
        LIVERNON,
    )
    .await;
    let need = post_need(&server, &relay, &need_for(&yvette, &tuesday)).await;
    let need_id = id_of(&need).to_string();
    let marie = server.sign_in("+33600000001").await;
    booked_and_confirmed(
        &server,
        &relay,
        &need_id,
        first_match(&need),
        &tuesday,
        &marie,
    )
    .await;

    // Jeanne (no phone): nobody drives her way that day.
    let jeanne = register_person(&server, &relay, "Jeanne Martin", None, LIVERNON).await;
    let unserved = post_need(&server, &relay, &need_for(&jeanne, &thursday)).await;
    let recorded = server
        .put(
            &format!(
                "/api/v1/requests/{}/outcome",
                unserved["id"].as_str().unwrap()
            ),
            Some(&relay),
            &json!({ "outcome": "no_driver", "reason": "pas de conducteur le jeudi" }),
        )
        .await;
    assert_eq!(recorded.status, StatusCode::OK, "{}", recorded.body);

    // Lucie, in the app, cancels hers.
    let lucie = server.sign_in("+33600000010").await;
    let hers = post_need(&server, &lucie, &livernon_to_figeac(&thursday)).await;
    let cancelled = server
        .delete(
            &format!("/api/v1/requests/{}", hers["id"].as_str().unwrap()),
            Some(&lucie),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::NO_CONTENT);

    // Tuesday noon: the relay records Yvette's trip as done.
    server.options.env.push((
        "LOTOCAR_DEV_CLOCK_OFFSET_HOURS".into(),
        hours_until_noon(&tuesday).to_string(),
    ));
    server.restart().await;
    let relay = server.sign_in(RELAY).await;
    let done = server
        .put(
            &format!("/api/v1/requests/{need_id}/outcome"),
            Some(&relay),
            &json!({ "outcome": "done" }),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);

    // The figures.
    let coordinator = server.sign_in(COORDINATOR).await;
    let period = format!("from={}&to={}", date_in(0), date_in(30));
    let impact = server
        .get(
            &format!("/api/v1/territories/lot/impact?{period}"),
            Some(&coordinator),
        )
        .await;
    assert_eq!(impact.status, StatusCode::OK, "{}", impact.body);
    let figures = &impact.body;
    assert_eq!(figures["needs_posted"], 3, "{figures}");
    assert_eq!(figures["needs_served"], 1);
    assert_eq!(figures["served_share"], 0.333);
    assert_eq!(figures["trips_done"], 1);
    assert_eq!(figures["people_served"], 1);
    let km = figures["km_shared"].as_f64().unwrap();
    // Livernon → Figeac: 16 km as the crow flies × 1.4.
    assert!((20.0..25.0).contains(&km), "{km}");
    let co2 = figures["co2_avoided_kg"].as_f64().unwrap();
    assert!((co2 - km * 0.218).abs() < 0.2, "{co2} for {km} km");
    let reasons: Vec<(&str, u64)> = figures["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["code"].as_str().unwrap(), r["count"].as_u64().unwrap()))
        .collect();
    assert!(reasons.contains(&("no_driver", 1)), "{reasons:?}");
    assert!(
        reasons.contains(&("cancelled_by_passenger", 1)),
        "{reasons:?}"
    );
    let months: u64 = figures["by_month"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["needs_posted"].as_u64().unwrap())
        .sum();
    assert_eq!(months, 3);
    assert_eq!(figures["by_commune"][0]["name"], "Livernon");
    assert_eq!(figures["by_commune"][0]["needs_posted"], 3);
    // Aggregates only: no name, phone or e-mail.
    let text = figures.to_string();
    for personal in ["Yvette", "Roux", "Jeanne", "Lucie", "Marie", "+336", "@"] {
        assert!(!text.contains(personal), "{personal} in {text}");
    }

    // The same as CSV, by query or by Accept header: by default what a
    // French spreadsheet opens with a double click (a byte order mark,
    // semicolons, decimal commas), and the plain RFC 4180 form on request.
    let csv_bytes = |format: &'static str| {
        let request = server
            .http
            .get(server.url(&format!(
                "/api/v1/territories/lot/impact?{period}&format={format}"
            )))
            .bearer_auth(&coordinator);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(
                response.headers()["content-type"],
                "text/csv; charset=utf-8"
            );
            response.bytes().await.unwrap().to_vec()
        }
    };
    let french = csv_bytes("csv").await;
    assert!(french.starts_with(b"\xEF\xBB\xBF"), "no byte order mark");
    let french = String::from_utf8(french[3..].to_vec()).unwrap();
    let lines: Vec<&str> = french.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "dimension;cle;libelle;demandes;demandes_servies;part_servie;trajets_effectues;personnes_servies;km_partages;co2_evite_kg"
    );
    assert!(lines[1].starts_with("periode;lot;"), "{french}");
    assert!(lines[1].contains(";3;1;0,333;1;1;"), "{french}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("commune;commune:46176;Livernon;3;1;")),
        "{french}"
    );
    let plain = String::from_utf8(csv_bytes("csv-rfc4180").await).unwrap();
    let lines: Vec<&str> = plain.split("\r\n").collect();
    assert_eq!(
        lines[0],
        "dimension,cle,libelle,demandes,demandes_servies,part_servie,trajets_effectues,personnes_servies,km_partages,co2_evite_kg"
    );
    assert!(lines[1].starts_with("periode,lot,"), "{plain}");
    assert!(lines[1].contains(",3,1,0.333,1,1,"), "{plain}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("commune,commune:46176,Livernon,3,1,")),
        "{plain}"
    );
    let csv = server
        .get(
            &format!("/api/v1/territories/lot/impact?{period}&format=csv"),
            Some(&coordinator),
        )
        .await;
    let accepted = server
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/territories/lot/impact?{period}"),
            Some(&coordinator),
            None,
        )
        .await;
    assert_eq!(accepted.content_type(), "application/json");
    let by_header = server
        .http
        .get(server.url(&format!("/api/v1/territories/lot/impact?{period}")))
        .bearer_auth(&coordinator)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(
        by_header.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert_eq!(by_header.text().await.unwrap(), csv.text);

    // Bad input and the wrong people.
    let bad = server
        .get(
            "/api/v1/territories/lot/impact?from=31/12/2026",
            Some(&coordinator),
        )
        .await;
    assert_eq!(bad.error_fields(), ["from"]);
    assert_eq!(
        server
            .get("/api/v1/territories/lot/impact", None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        server
            .get("/api/v1/territories/lot/impact", Some(&lucie))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // The registry export: one journey, to send, valid against the
    // registry's schema.
    let export = server
        .get(
            "/api/v1/territories/lot/registry/journeys",
            Some(&coordinator),
        )
        .await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.body);
    let journeys = export.body["journeys"].as_array().unwrap();
    assert_eq!(journeys.len(), 1, "{}", export.body);
    let journey = &journeys[0];
    assert_eq!(journey["flags"], json!([]), "{journey}");
    assert_eq!(journey["send"], true);
    let body = &journey["body"];
    let schema = journey_schema();
    assert_eq!(errors(&schema, body), Vec::<String>::new(), "{body}");
    assert_eq!(body["operator_class"], "A");
    assert_eq!(body["incentives"], json!([]));
    assert_eq!(body["passenger"]["identity"]["phone_trunc"], "+336333333");
    // sha256("+33633333333-ROUX") and sha256("+33600000001-DUPONT").
    assert_eq!(
        body["passenger"]["identity"]["identity_key"],
        "e2e05412f84c1c0faeae6397ede885f01d6335e30d8d8400924ec56fcdcf0518"
    );
    assert_eq!(
        body["driver"]["identity"]["identity_key"],
        "23d04d23b28e29eef797ad824fbce7ca6a1db5484733bdcad9ef0f43d21b1abd"
    );
    assert!(body["distance"].as_f64().unwrap() > 2_000.0);
    assert!(body["start"]["datetime"].as_str().unwrap().ends_with('Z'));
    // The schema does catch a wrong body.
    let mut broken = body.clone();
    broken.as_object_mut().unwrap().remove("incentives");
    broken["operator_class"] = json!("D");
    assert_eq!(
        errors(&schema, &broken).len(),
        2,
        "{:?}",
        errors(&schema, &broken)
    );
    // Only the coordinator exports.
    assert_eq!(
        server
            .get("/api/v1/territories/lot/registry/journeys", Some(&relay))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Two days later, the registry would refuse it: flagged, not to send,
    // still valid.
    server
        .options
        .env
        .retain(|(k, _)| k != "LOTOCAR_DEV_CLOCK_OFFSET_HOURS");
    server.options.env.push((
        "LOTOCAR_DEV_CLOCK_OFFSET_HOURS".into(),
        (hours_until_noon(&tuesday) + 48).to_string(),
    ));
    server.restart().await;
    let coordinator = server.sign_in(COORDINATOR).await;
    let later = server
        .get(
            "/api/v1/territories/lot/registry/journeys",
            Some(&coordinator),
        )
        .await;
    let journey = &later.body["journeys"][0];
    assert_eq!(journey["flags"], json!(["expired"]), "{journey}");
    assert_eq!(journey["send"], false);
    assert_eq!(errors(&schema, &journey["body"]), Vec::<String>::new());
}

async fn check_ins_at_the_meeting_point_make_class_b_and_c_proofs(backend: Backend) {
    let mut server = demo_server(backend).await;
    let marie = server.sign_in("+33600000001").await;
    let mut bookings = Vec::new();
    // Lucie and Paul (the demo passenger, a new one) on Marie's Tuesday trip.
    let tuesday = next_weekday(1, 2);
    for contact in ["+33600000010", "0677777777"] {
        let passenger = server.sign_in_as(contact, "Paul Delmas").await;
        let need = post_need(&server, &passenger, &livernon_to_figeac(&tuesday)).await;
        let booked = booked_and_confirmed(
            &server,
            &passenger,
            id_of(&need),
            first_match(&need),
            &tuesday,
            &marie,
        )
        .await;
        bookings.push((contact, booked.path, booked.booking["pickup"].clone()));
    }
    // Days before: not now, and nothing recorded.
    let (_, first_path, pickup) = &bookings[0];
    let at_pickup = json!({ "lat": pickup["place"]["lat"], "lon": pickup["place"]["lon"] });
    let early = server
        .post(&format!("{first_path}/checkin"), Some(&marie), &at_pickup)
        .await;
    assert_eq!(early.problem(409)["code"], "not_now");

    // Tuesday, between the pick-up and an hour after the drop-off.
    server.options.env.push((
        "LOTOCAR_DEV_CLOCK_OFFSET_HOURS".into(),
        hours_until(&tuesday, 9, 40).to_string(),
    ));
    server.restart().await;
    let marie = server.sign_in("+33600000001").await;
    let mut registry_classes = Vec::new();
    for (i, (contact, path, pickup)) in bookings.iter().enumerate() {
        let passenger = server.sign_in(contact).await;
        let here = json!({ "lat": pickup["place"]["lat"], "lon": pickup["place"]["lon"] });
        // Far from the meeting point: refused, in French.
        let far = server
            .post(
                &format!("{path}/checkin"),
                Some(&passenger),
                &json!({ "lat": 44.9, "lon": 1.2 }),
            )
            .await;
        assert_eq!(far.error_fields(), ["lat"]);
        let driver_in = server
            .post(&format!("{path}/checkin"), Some(&marie), &here)
            .await;
        assert_eq!(driver_in.status, StatusCode::CREATED, "{}", driver_in.body);
        assert_eq!(driver_in.body["side"], "driver");
        let again = server
            .post(&format!("{path}/checkin"), Some(&marie), &here)
            .await;
        assert_eq!(again.problem(409)["code"], "already_checked_in");
        if i == 0 {
            // Both sides for the first booking: class C.
            let passenger_in = server
                .post(&format!("{path}/checkin"), Some(&passenger), &here)
                .await;
            assert_eq!(passenger_in.body["side"], "passenger");
            registry_classes.push("C");
        } else {
            registry_classes.push("B");
        }
        let done = server
            .patch(
                path,
                Some(&passenger),
                &json!({ "status": "COMPLETED_PENDING_VALIDATION" }),
            )
            .await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    }
    let coordinator = server.sign_in(COORDINATOR).await;
    let export = server
        .get(
            "/api/v1/territories/lot/registry/journeys",
            Some(&coordinator),
        )
        .await;
    let schema = journey_schema();
    let mut classes: Vec<String> = Vec::new();
    for journey in export.body["journeys"].as_array().unwrap() {
        assert_eq!(errors(&schema, &journey["body"]), Vec::<String>::new());
        assert_eq!(journey["send"], true, "{journey}");
        classes.push(journey["body"]["operator_class"].as_str().unwrap().into());
    }
    classes.sort();
    assert_eq!(classes, ["B", "C"], "{}", export.body);
    // The check-in is the person's data: in their export.
    let lucie = server.sign_in("+33600000010").await;
    let mine = server.get("/api/v1/me/export", Some(&lucie)).await;
    assert_eq!(mine.body["checkins"].as_array().unwrap().len(), 1);
}
