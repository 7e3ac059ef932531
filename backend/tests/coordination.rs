//! A coordinator runs the territory from the app: relays, meeting points,
//! local names, the matching board with a proposal to a driver, unmet
//! demand and the map. On both databases.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_databases!(
    a_coordinator_manages_relays_places_and_local_names,
    the_board_proposes_a_match_and_unmet_demand_shows_where_to_recruit,
);

const COORDINATOR: &str = "coordination@example.fr";

fn ids(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v[key].as_str().unwrap().to_string())
        .collect()
}

async fn a_coordinator_manages_relays_places_and_local_names(backend: Backend) {
    let server = demo_server(backend).await;
    let coordinator = server.sign_in(COORDINATOR).await;

    // A new relay, by phone number; they can work at once.
    let added = server
        .post(
            "/api/v1/territories/lot/staff",
            Some(&coordinator),
            &json!({ "contact": "06 44 44 44 44", "role": "relay" }),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let relay_id = added.body["user_id"].as_str().unwrap().to_string();
    let relay = server.sign_in("0644444444").await;
    let works = server
        .get("/api/v1/territories/lot/beneficiaries", Some(&relay))
        .await;
    assert_eq!(works.status, StatusCode::OK);
    let staff = server
        .get("/api/v1/territories/lot/staff", Some(&coordinator))
        .await;
    assert!(
        ids(&staff.body, "user_id").contains(&relay_id),
        "{}",
        staff.body
    );
    // A bad contact, and a coordinator naming another coordinator.
    let bad = server
        .post(
            "/api/v1/territories/lot/staff",
            Some(&coordinator),
            &json!({ "contact": "pas un numéro", "role": "relay" }),
        )
        .await;
    assert_eq!(bad.error_fields(), ["contact"]);
    let above = server
        .post(
            "/api/v1/territories/lot/staff",
            Some(&coordinator),
            &json!({ "contact": "0655555555", "role": "coordinator" }),
        )
        .await;
    assert_eq!(above.status, StatusCode::FORBIDDEN);
    // Taken away: the relay is refused at once.
    let removed = server
        .delete(
            &format!("/api/v1/territories/lot/staff/{relay_id}"),
            Some(&coordinator),
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let refused = server
        .get("/api/v1/territories/lot/beneficiaries", Some(&relay))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // A meeting point in Lacapelle-Marival: found by the place search.
    let point = server
        .post(
            "/api/v1/territories/lot/meeting-points",
            Some(&coordinator),
            &json!({ "name": "Lacapelle-Marival, parking du château", "lat": 44.7277, "lon": 1.9266 }),
        )
        .await;
    assert_eq!(point.status, StatusCode::CREATED, "{}", point.body);
    assert_eq!(point.body["commune"], "Lacapelle-Marival");
    let found = server
        .get("/api/v1/places?q=parking%20du%20chateau", None)
        .await;
    assert!(
        ids(&found.body, "id").contains(&point.body["id"].as_str().unwrap().to_string()),
        "{}",
        found.body
    );
    // Outside the territory (Paris): refused, nothing saved.
    let outside = server
        .post(
            "/api/v1/territories/lot/meeting-points",
            Some(&coordinator),
            &json!({ "name": "Paris, gare d'Austerlitz", "lat": 48.8424, "lon": 2.3656 }),
        )
        .await;
    assert_eq!(outside.error_fields(), ["lat"]);
    let listed = server
        .get("/api/v1/territories/lot/meeting-points", Some(&coordinator))
        .await;
    assert!(!listed.body.to_string().contains("Austerlitz"));
    let gone = server
        .delete(
            &format!(
                "/api/v1/territories/lot/meeting-points/{}",
                point.body["id"].as_str().unwrap()
            ),
            Some(&coordinator),
        )
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let found = server
        .get("/api/v1/places?q=parking%20du%20chateau", None)
        .await;
    assert_eq!(found.body, json!([]));

    // "Le Bourg", as people around Figeac say, is Capdenac-Gare.
    let alias = server
        .post(
            "/api/v1/territories/lot/aliases",
            Some(&coordinator),
            &json!({ "alias": "Capdenac la gare", "place_id": "commune:12052" }),
        )
        .await;
    assert_eq!(alias.status, StatusCode::CREATED, "{}", alias.body);
    let search = server
        .get("/api/v1/places?q=capdenac%20la%20gare", None)
        .await;
    assert_eq!(search.body[0]["id"], "commune:12052", "{}", search.body);
    let unknown = server
        .post(
            "/api/v1/territories/lot/aliases",
            Some(&coordinator),
            &json!({ "alias": "Nulle part", "place_id": "commune:99999" }),
        )
        .await;
    assert_eq!(unknown.error_fields(), ["place_id"]);
    let removed = server
        .delete(
            &format!(
                "/api/v1/territories/lot/aliases/{}",
                alias.body["id"].as_str().unwrap()
            ),
            Some(&coordinator),
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let audit = server
        .get("/api/v1/territories/lot/audit", Some(&coordinator))
        .await;
    for action in [
        "role_granted",
        "role_removed",
        "meeting_point_saved",
        "alias_saved",
    ] {
        assert!(audit.body.to_string().contains(action), "{action}");
    }
}

async fn the_board_proposes_a_match_and_unmet_demand_shows_where_to_recruit(backend: Backend) {
    let server = demo_server(backend).await;
    let coordinator = server.sign_in(COORDINATOR).await;
    let lucie = server.sign_in("+33600000010").await;
    let tuesday = next_weekday(1, 2);
    let need = server
        .post(
            "/api/v1/requests",
            Some(&lucie),
            &need_arriving(LIVERNON, FIGEAC, &tuesday, "09:30"),
        )
        .await;
    let need_id = need.body["id"].as_str().unwrap().to_string();

    // The board: Lucie's need, Marie's trip first among its candidates.
    let board = server
        .get("/api/v1/territories/lot/board", Some(&coordinator))
        .await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.body);
    let entry = board
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["request"]["id"] == need_id.as_str())
        .expect("the need is on the board")
        .clone();
    let best = &entry["candidates"][0];
    assert_eq!(best["driver"]["display_name"], "Marie D.");
    assert!(entry["candidates"].as_array().unwrap().len() <= 3);
    let filtered = server
        .get(
            &format!("/api/v1/territories/lot/board?from={tuesday}&to={tuesday}&status=open"),
            Some(&coordinator),
        )
        .await;
    assert_eq!(filtered.body.as_array().unwrap().len(), 1);

    // One action: Marie is told.
    let proposed = server
        .post(
            "/api/v1/territories/lot/proposals",
            Some(&coordinator),
            &json!({ "request_id": need_id, "offer_id": best["offer_id"], "date": tuesday }),
        )
        .await;
    assert_eq!(proposed.status, StatusCode::ACCEPTED, "{}", proposed.body);
    let marie = server.sign_in("+33600000001").await;
    let inbox = server.get("/api/v1/notifications", Some(&marie)).await;
    let told = inbox
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "match_proposed")
        .expect("Marie is told")
        .clone();
    assert!(
        told["body"].as_str().unwrap().contains("Livernon"),
        "{told}"
    );
    let wrong = server
        .post(
            "/api/v1/territories/lot/proposals",
            Some(&coordinator),
            &json!({ "request_id": need_id, "offer_id": "nope", "date": tuesday }),
        )
        .await;
    assert_eq!(wrong.error_fields(), ["offer_id"]);

    // Two people from Cajarc to Figeac found no driver.
    let relay = server.sign_in("relais.gramat@example.fr").await;
    for (name, day) in [("Yvette Roux", 2), ("Jeanne Martin", 4)] {
        let person = server
            .post(
                "/api/v1/territories/lot/beneficiaries",
                Some(&relay),
                &json!({ "display_name": name, "commune_id": CAJARC,
                         "consent_given": true, "consent_method": "oral" }),
            )
            .await;
        let mut body = need_arriving(CAJARC, FIGEAC, &next_weekday(day, 2), "10:00");
        body["on_behalf_of"] = person.body["id"].clone();
        let need = server.post("/api/v1/requests", Some(&relay), &body).await;
        let outcome = server
            .put(
                &format!(
                    "/api/v1/requests/{}/outcome",
                    need.body["id"].as_str().unwrap()
                ),
                Some(&relay),
                &json!({ "outcome": "no_driver", "reason": "personne à cette heure" }),
            )
            .await;
        assert_eq!(outcome.status, StatusCode::OK, "{}", outcome.body);
    }
    let unmet = server
        .get("/api/v1/territories/lot/unmet", Some(&coordinator))
        .await;
    assert_eq!(unmet.status, StatusCode::OK, "{}", unmet.body);
    let first = &unmet.body[0];
    assert_eq!(first["from"]["name"], "Cajarc", "{}", unmet.body);
    assert_eq!(first["to"]["name"], "Figeac");
    assert_eq!(first["unserved"], 2);
    // The trips that pass closest: Marie's Cahors → Figeac first.
    assert_eq!(first["closest_trips"][0]["driver"], "Marie D.", "{first}");
    assert!(!unmet.body.to_string().contains("Yvette"));

    // The map: every commune of the Lot, the four demo trips, the
    // unserved needs; nothing personal.
    let map = server
        .get("/api/v1/territories/lot/map", Some(&coordinator))
        .await;
    assert_eq!(map.status, StatusCode::OK);
    assert!(map.content_type().starts_with("image/svg+xml"));
    assert!(map.text.starts_with("<svg"));
    assert!(map.text.matches(r#"class="commune""#).count() > 300);
    assert_eq!(map.text.matches(r#"class="trip""#).count(), 4);
    assert_eq!(map.text.matches(r#"class="need-unserved""#).count(), 2);
    assert_eq!(map.text.matches(r#"class="need-open""#).count(), 1);
    assert!(!map.text.contains("Yvette") && !map.text.contains("+33"));
    // Only for the territory's coordinator.
    assert_eq!(
        server
            .get("/api/v1/territories/lot/map", Some(&relay))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
}
