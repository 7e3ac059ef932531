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
    a_booking_for_a_person_names_her_and_says_how_to_reach_her,
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
    // Every action is the relay's; Marie was shown the relay's line (she
    // reaches Yvette through it), and that showing is in the log too.
    assert!(
        audit
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "contact_revealed" && a["actor_name"] == "Marie Dupont"),
        "{}",
        audit.body
    );
    assert!(
        audit
            .body
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["action"] != "contact_revealed")
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

/// The bookings `token` sees, by id.
async fn bookings_of(server: &Server, token: &str) -> std::collections::HashMap<String, Value> {
    let listed = server.get("/api/v1/bookings", Some(token)).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (id_of(b).to_string(), b.clone()))
        .collect()
}

async fn a_booking_for_a_person_names_her_and_says_how_to_reach_her(backend: Backend) {
    let server = demo_server(backend).await;
    // A relay office with a phone line.
    let relay = server
        .sign_in_with_role("05 65 34 00 00", "France Services Figeac", "relay", "lot")
        .await;
    let marie = server.sign_in(MARIE).await;
    // Yvette has a landline she does not want shown; the relay calls her.
    // Jeanne has a mobile, is told by SMS and agrees that her driver sees
    // her number.
    let mut landline = yvette();
    landline["phone"] = json!("05 65 11 22 33");
    let yvette = register(&server, &relay, &landline).await;
    assert_eq!(yvette["share_phone"], false, "{yvette}");
    let jeanne = register(
        &server,
        &relay,
        &json!({ "display_name": "Jeanne Martin", "phone": "06 44 44 44 44",
                 "commune_id": LIVERNON, "reach_by": "sms", "share_phone": true,
                 "consent_given": true, "consent_method": "oral, au guichet" }),
    )
    .await;
    assert_eq!(jeanne["share_phone"], true, "{jeanne}");

    let mut ids = Vec::new();
    for (person, weekday, name) in [(&yvette, 1, "Yvette R."), (&jeanne, 3, "Jeanne M.")] {
        let date = next_weekday(weekday, 2);
        let need = post_need(&server, &relay, &need_for(id_of(person), &date)).await;
        let booking = book(&server, &relay, id_of(&need), first_match(&need), &date).await;
        // The passenger of the booking is the person; the relay made it.
        assert_eq!(booking["passenger"]["display_name"], name, "{booking}");
        assert_eq!(
            booking["booked_by"]["display_name"], "France Services Figeac",
            "{booking}"
        );
        ids.push(id_of(&booking).to_string());
    }

    // The relay's list names each person on each booking.
    let mine = bookings_of(&server, &relay).await;
    assert_eq!(mine[&ids[0]]["passenger"]["display_name"], "Yvette R.");
    assert_eq!(mine[&ids[1]]["passenger"]["display_name"], "Jeanne M.");
    assert_eq!(mine[&ids[0]]["driver"]["display_name"], "Marie D.");
    assert_eq!(mine[&ids[0]]["role"], "passenger");

    // The driver is asked by the person's name, the relay named, and
    // sees no contact before she says yes.
    let asked = server.get("/api/v1/notifications", Some(&marie)).await;
    let requests: Vec<&str> = asked
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "booking_requested")
        .map(|n| n["body"].as_str().unwrap())
        .collect();
    assert!(
        requests
            .iter()
            .any(|b| b.contains("Yvette R.") && b.contains("France Services Figeac")),
        "{requests:?}"
    );
    let theirs = bookings_of(&server, &marie).await;
    assert_eq!(theirs[&ids[0]]["passenger"]["display_name"], "Yvette R.");
    assert_eq!(
        theirs[&ids[0]]["booked_by"]["display_name"],
        "France Services Figeac"
    );
    let early = server
        .get(&format!("/api/v1/bookings/{}", ids[0]), Some(&marie))
        .await;
    assert!(early.body.get("contact").is_none(), "{}", early.body);

    // Once confirmed: Yvette is reached through the relay's line, stated
    // as such, never at her landline; Jeanne at her own mobile.
    for id in &ids {
        confirm(&server, &marie, id).await;
    }
    let yvette_trip = server
        .get(&format!("/api/v1/bookings/{}", ids[0]), Some(&marie))
        .await;
    assert_eq!(yvette_trip.status, StatusCode::OK, "{}", yvette_trip.body);
    let contact = &yvette_trip.body["contact"];
    assert_eq!(contact["through"], "France Services Figeac", "{contact}");
    assert_eq!(contact["phone"], "+33565340000", "{contact}");
    assert!(
        !yvette_trip.text.contains("+33565112233"),
        "{}",
        yvette_trip.text
    );
    let jeanne_trip = server
        .get(&format!("/api/v1/bookings/{}", ids[1]), Some(&marie))
        .await;
    let contact = &jeanne_trip.body["contact"];
    assert_eq!(contact["phone"], "+33644444444", "{contact}");
    assert!(
        contact.get("through").is_none_or(Value::is_null),
        "{contact}"
    );
    // The relay still sees Marie's phone (she shares it).
    let relay_side = server
        .get(&format!("/api/v1/bookings/{}", ids[0]), Some(&relay))
        .await;
    assert_eq!(relay_side.body["contact"]["phone"], "+33600000001");

    // Nobody else reads these bookings: a passenger, another territory's
    // relay.
    server.add_aveyron();
    let lucie = server.sign_in("+33600000010").await;
    let other = server
        .sign_in_with_role("0655000001", "Relais Rodez", "relay", "aveyron")
        .await;
    for token in [&lucie, &other] {
        let seen = server
            .get(&format!("/api/v1/bookings/{}", ids[0]), Some(token))
            .await;
        assert_eq!(seen.status, StatusCode::NOT_FOUND, "{}", seen.body);
    }

    // A relay taken off the team can no longer book for the people of the
    // territory, and nothing is booked.
    let coordinator = server.sign_in(COORDINATOR).await;
    let date = next_weekday(4, 2);
    let need = post_need(&server, &relay, &need_for(id_of(&yvette), &date)).await;
    let relay_id = server.get("/api/v1/me", Some(&relay)).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let removed = server
        .delete(
            &format!("/api/v1/territories/lot/staff/{relay_id}?role=relay"),
            Some(&coordinator),
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text);
    let refused = server
        .post(
            "/api/v1/bookings",
            Some(&relay),
            &booking_body(id_of(&need), first_match(&need), &date),
        )
        .await;
    let problem = refused.problem(403);
    assert!(
        problem["detail"].as_str().unwrap().contains("relais"),
        "{problem}"
    );
    assert_eq!(bookings_of(&server, &relay).await.len(), 2);
    server.grant("05 65 34 00 00", "relay", "lot");

    // Jeanne asks to be erased: her booking is cancelled, the driver no
    // longer reads her name or her number; the relay's own export holds
    // neither person's name nor number.
    let erased = server
        .delete(
            &format!("/api/v1/beneficiaries/{}", id_of(&jeanne)),
            Some(&relay),
        )
        .await;
    assert_eq!(erased.status, StatusCode::NO_CONTENT, "{}", erased.text);
    let after = server
        .get(&format!("/api/v1/bookings/{}", ids[1]), Some(&marie))
        .await;
    assert_eq!(after.body["status"], "CANCELLED", "{}", after.body);
    assert!(!after.text.contains("Jeanne"), "{}", after.text);
    assert!(!after.text.contains("+33644444444"), "{}", after.text);
    let export = server.get("/api/v1/me/export", Some(&relay)).await;
    assert_eq!(export.status, StatusCode::OK);
    for secret in ["Jeanne", "Yvette", "+33644444444", "+33565112233"] {
        assert!(!export.text.contains(secret), "{secret} in {}", export.text);
    }
}
