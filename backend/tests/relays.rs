//! Relays act for people without a smartphone: register them with their
//! consent, post their needs, book, record what happened; a relay sees only
//! its territory; the coordinator sees everything the relays did. On both
//! databases.

mod common;

use common::booking::*;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_databases!(
    a_relay_registers_a_person_books_for_them_and_records_the_trip,
    a_relay_sees_only_its_territory,
    unserved_and_cancelled_needs_stay_visible_with_their_reason,
);

const RELAY: &str = "relais.gramat@example.fr";
const COORDINATOR: &str = "coordination@example.fr";
const MARIE: &str = "+33600000001";

fn yvette() -> Value {
    json!({
        "display_name": "Yvette Roux",
        "phone": null,
        "commune_id": LIVERNON,
        "reach_by": "relay_call",
        "consent_given": true,
        "consent_method": "oral, par téléphone"
    })
}

async fn register(server: &Server, relay: &str, body: &Value) -> Value {
    let created = server
        .post("/api/v1/territories/lot/beneficiaries", Some(relay), body)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.body
}

async fn a_relay_registers_a_person_books_for_them_and_records_the_trip(backend: Backend) {
    let mut server = demo_server(backend).await;
    let relay = server.sign_in(RELAY).await;

    // Bad input: every faulty field, in French, and nothing registered.
    let bad = server
        .post(
            "/api/v1/territories/lot/beneficiaries",
            Some(&relay),
            &json!({ "display_name": "", "phone": "12", "commune_id": "Livernon",
                     "consent_given": false, "consent_method": "" }),
        )
        .await;
    assert_eq!(
        bad.error_fields(),
        [
            "display_name",
            "phone",
            "commune_id",
            "consent_given",
            "consent_method"
        ]
    );
    let none = server
        .get("/api/v1/territories/lot/beneficiaries", Some(&relay))
        .await;
    assert_eq!(none.body, json!([]));

    // Yvette has no phone: the relay calls her.
    let person = register(&server, &relay, &yvette()).await;
    assert_eq!(person["commune_label"], "Livernon");
    assert_eq!(person["reach_by"], "relay_call");
    assert_eq!(person["consent"]["method"], "oral, par téléphone");
    assert_eq!(
        person["consent"]["recorded_by_name"],
        "France Services Gramat"
    );
    let person_id = person["id"].as_str().unwrap();

    // Her need, posted by the relay: Marie's commute comes first, with
    // Lot'ô car's detour class.
    let date = next_weekday(1, 2);
    let need = post_need(&server, &relay, &need_for(person_id, &date)).await;
    assert_eq!(need["on_behalf_of"], person_id, "{need}");
    let best = &need["matches"][0];
    assert_eq!(best["driver"]["display_name"], "Marie D.", "{need}");
    assert!(
        ["mineur", "moyen", "important"].contains(&best["detour_class"].as_str().unwrap()),
        "{best}"
    );
    let need_id = need["id"].as_str().unwrap().to_string();

    // A passenger cannot post for her.
    let lucie = server.sign_in("+33600000010").await;
    let stolen = need_for(person_id, &date);
    let refused = server.post("/api/v1/requests", Some(&lucie), &stolen).await;
    assert_eq!(refused.error_fields(), ["on_behalf_of"]);

    // The relay books; Marie confirms; the relay's inbox is told.
    let marie = server.sign_in(MARIE).await;
    let offer_id = best["offer_id"].as_str().unwrap();
    let booking_path = booked_and_confirmed(&server, &relay, &need_id, offer_id, &date, &marie)
        .await
        .path;
    let inbox = server.get("/api/v1/notifications", Some(&relay)).await;
    assert!(
        inbox
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "booking_confirmed"),
        "{}",
        inbox.body
    );

    // Before the day, "done" is refused and changes nothing.
    let early = server
        .put(
            &format!("/api/v1/requests/{need_id}/outcome"),
            Some(&relay),
            &json!({ "outcome": "done" }),
        )
        .await;
    assert_eq!(early.problem(409)["code"], "trip_not_started");

    // After the trip, the relay records it done: the need is done and the
    // booking waits for Marie's validation.
    server
        .options
        .env
        .push(("LOTOCAR_DEV_CLOCK_OFFSET_HOURS".into(), "192".into()));
    server.restart().await;
    let done = server
        .put(
            &format!("/api/v1/requests/{need_id}/outcome"),
            Some(&relay),
            &json!({ "outcome": "done" }),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["status"], "done");
    assert_eq!(done.body["outcome"]["outcome"], "done");
    assert_eq!(done.body["outcome"]["label"], "trajet effectué");
    let booking = server.get(&booking_path, Some(&marie)).await;
    assert_eq!(booking.body["status"], "COMPLETED_PENDING_VALIDATION");
    // A trip that took place does not become unserved.
    let rewrite = server
        .put(
            &format!("/api/v1/requests/{need_id}/outcome"),
            Some(&relay),
            &json!({ "outcome": "no_driver", "reason": "erreur" }),
        )
        .await;
    assert_eq!(rewrite.problem(409)["code"], "trip_done");

    // The coordinator sees the need with the person's name, and every
    // action of the relay in the audit log.
    let coordinator = server.sign_in(COORDINATOR).await;
    let needs = server
        .get(
            "/api/v1/territories/lot/requests?status=done",
            Some(&coordinator),
        )
        .await;
    assert_eq!(needs.status, StatusCode::OK, "{}", needs.body);
    let listed: Vec<&Value> = needs.body.as_array().unwrap().iter().collect();
    assert_eq!(listed.len(), 1, "{}", needs.body);
    assert_eq!(listed[0]["beneficiary_name"], "Yvette Roux");
    let audit = server
        .get("/api/v1/territories/lot/audit", Some(&coordinator))
        .await;
    let actions: Vec<&str> = audit
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    for action in [
        "beneficiary_registered",
        "request_posted_for",
        "outcome_recorded",
    ] {
        assert!(actions.contains(&action), "{actions:?}");
    }
    let posted = audit
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "request_posted_for")
        .unwrap();
    assert_eq!(posted["subject_name"], "Yvette Roux");
    assert!(
        audit
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["actor_name"] == "France Services Gramat"),
        "{}",
        audit.body
    );
    // The relay may not read the audit log.
    let denied = server
        .get("/api/v1/territories/lot/audit", Some(&relay))
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
}

async fn a_relay_sees_only_its_territory(backend: Backend) {
    let server = demo_server(backend).await;
    server.add_aveyron();
    let relay = server.sign_in(RELAY).await;
    let other = server
        .sign_in_with_role("0655000001", "Relais Rodez", "relay", "aveyron")
        .await;
    let person = register(&server, &relay, &yvette()).await;
    let id = person["id"].as_str().unwrap();
    let need = post_need(&server, &relay, &need_for(id, &next_weekday(1, 2))).await;

    // The other territory's relay: not its people, not its needs.
    let path = format!("/api/v1/beneficiaries/{id}");
    assert_eq!(
        server.get(&path, Some(&other)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        server
            .get("/api/v1/territories/lot/beneficiaries", Some(&other))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        server
            .get("/api/v1/territories/lot/requests", Some(&other))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let mine = server
        .get("/api/v1/territories/aveyron/beneficiaries", Some(&other))
        .await;
    assert_eq!(mine.body, json!([]));
    let outcome = server
        .put(
            &format!("/api/v1/requests/{}/outcome", need["id"].as_str().unwrap()),
            Some(&other),
            &json!({ "outcome": "no_driver", "reason": "personne" }),
        )
        .await;
    assert_eq!(outcome.status, StatusCode::NOT_FOUND);
    let stolen = need_for(id, &next_weekday(1, 2));
    assert_eq!(
        server
            .post("/api/v1/requests", Some(&other), &stolen)
            .await
            .error_fields(),
        ["on_behalf_of"]
    );

    // A relay of the same territory (a colleague) sees her; an unknown
    // territory is 404; a passenger is refused.
    let colleague = server
        .sign_in_with_role("0655000002", "Relais Figeac", "relay", "lot")
        .await;
    let seen = server.get(&path, Some(&colleague)).await;
    assert_eq!(seen.body["display_name"], "Yvette Roux");
    let listed = server
        .get("/api/v1/territories/lot/requests", Some(&colleague))
        .await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert_eq!(
        server
            .get("/api/v1/territories/nowhere/beneficiaries", Some(&relay))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let lucie = server.sign_in("+33600000010").await;
    assert_eq!(
        server.get(&path, Some(&lucie)).await.status,
        StatusCode::NOT_FOUND
    );
    // A relay sees the people's needs, not every passenger's.
    post_need(&server, &lucie, &livernon_to_figeac(&next_weekday(2, 2))).await;
    let relay_view = server
        .get("/api/v1/territories/lot/requests", Some(&relay))
        .await;
    assert_eq!(relay_view.body.as_array().unwrap().len(), 1);
    let coordinator = server.sign_in(COORDINATOR).await;
    let all = server
        .get("/api/v1/territories/lot/requests", Some(&coordinator))
        .await;
    assert_eq!(all.body.as_array().unwrap().len(), 2);
}

async fn unserved_and_cancelled_needs_stay_visible_with_their_reason(backend: Backend) {
    let server = demo_server(backend).await;
    let relay = server.sign_in(RELAY).await;
    let person = register(&server, &relay, &yvette()).await;
    let id = person["id"].as_str().unwrap();
    let first = post_need(&server, &relay, &need_for(id, &next_weekday(1, 2))).await;
    let second = post_need(&server, &relay, &need_for(id, &next_weekday(3, 2))).await;
    let outcome =
        |need: &Value| format!("/api/v1/requests/{}/outcome", need["id"].as_str().unwrap());

    // A reason is required: nothing changes without one.
    let missing = server
        .put(
            &outcome(&first),
            Some(&relay),
            &json!({ "outcome": "no_driver" }),
        )
        .await;
    assert_eq!(missing.error_fields(), ["reason"]);
    let unknown = server
        .put(
            &outcome(&first),
            Some(&relay),
            &json!({ "outcome": "lost" }),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    // "Done" needs a driver who said yes.
    let no_driver_yet = server
        .put(
            &outcome(&first),
            Some(&relay),
            &json!({ "outcome": "done" }),
        )
        .await;
    assert_eq!(no_driver_yet.problem(409)["code"], "no_booking");
    let still = server
        .get("/api/v1/territories/lot/requests?status=open", Some(&relay))
        .await;
    assert_eq!(still.body.as_array().unwrap().len(), 2);

    let unserved = server
        .put(
            &outcome(&first),
            Some(&relay),
            &json!({ "outcome": "no_driver", "reason": "aucun conducteur le mardi matin" }),
        )
        .await;
    assert_eq!(unserved.body["status"], "unserved");
    let cancelled = server
        .put(
            &outcome(&second),
            Some(&relay),
            &json!({ "outcome": "cancelled_by_passenger", "reason": "rendez-vous déplacé" }),
        )
        .await;
    assert_eq!(cancelled.body["status"], "cancelled");

    let all = server
        .get("/api/v1/territories/lot/requests", Some(&relay))
        .await;
    let reasons: Vec<(&str, &str)> = all
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["outcome"]["outcome"].as_str().unwrap(),
                n["outcome"]["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(reasons.len(), 2);
    assert!(reasons.contains(&("no_driver", "aucun conducteur le mardi matin")));
    assert!(reasons.contains(&("cancelled_by_passenger", "rendez-vous déplacé")));
    let unserved_only = server
        .get(
            "/api/v1/territories/lot/requests?status=unserved",
            Some(&relay),
        )
        .await;
    assert_eq!(unserved_only.body.as_array().unwrap().len(), 1);
}
