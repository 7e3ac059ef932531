//! Matching over HTTP: a need gets the trips that can take it, a trip the
//! needs it can serve, passengers are told of new drivers, and a trip
//! written through one instance is matched by another. On both databases.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_databases!(
    the_cahors_figeac_commute_takes_passengers_on_its_way_and_no_one_else,
    a_new_trip_tells_passengers_who_wait_on_its_way,
    regular_needs_list_the_weekdays_they_share_with_regular_trips,
    return_legs_are_matched_too,
    a_meeting_point_within_walking_distance_can_make_the_match,
    a_trip_written_through_another_instance_is_matched,
    matches_asked_again_follow_every_change,
);

/// Posts a trip as a driver with a display name.
async fn driver_with_trip(
    server: &Server,
    contact: &str,
    name: &str,
    trip: Value,
) -> (String, String) {
    let token = server.sign_in_as(contact, name).await;
    let offer = server.post("/api/v1/offers", Some(&token), &trip).await;
    assert_eq!(offer.status, StatusCode::CREATED, "{}", offer.body);
    (token, offer.body["id"].as_str().unwrap().to_string())
}

fn offer_ids(matches: &Value) -> Vec<String> {
    matches
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["offer_id"].as_str().unwrap().to_string())
        .collect()
}

async fn the_cahors_figeac_commute_takes_passengers_on_its_way_and_no_one_else(backend: Backend) {
    let server = Server::start(backend).await;
    let tuesday = next_weekday(1, 2);
    let (driver, offer_id) = driver_with_trip(
        &server,
        "0611111111",
        "Marie Dupont",
        weekly_offer(CAHORS, FIGEAC, "07:30", &date_in(1)),
    )
    .await;
    let passenger = server.sign_in_as("0622222222", "Lucie Moreau").await;

    let mut served = Vec::new();
    for from in [LIVERNON, CAJARC] {
        let need = server
            .post(
                "/api/v1/requests",
                Some(&passenger),
                &need_arriving(from, FIGEAC, &tuesday, "09:30"),
            )
            .await;
        assert_eq!(need.status, StatusCode::CREATED, "{}", need.body);
        let matches = &need.body["matches"];
        assert_eq!(
            offer_ids(matches),
            vec![offer_id.clone()],
            "{from}: {matches}"
        );
        let m = &matches[0];
        assert_eq!(m["date"], tuesday.as_str());
        assert_eq!(m["leg"], "outbound");
        assert_eq!(m["driver"]["display_name"], "Marie D.");
        assert!(m["detour_minutes"].as_f64().unwrap() <= 15.0);
        assert_eq!(m["walk_meters"], 0);
        let pickup = m["pickup"]["time"].as_str().unwrap();
        let dropoff = m["dropoff"]["time"].as_str().unwrap();
        assert!(
            pickup > "07:30" && dropoff > pickup && dropoff <= "09:30",
            "{pickup} {dropoff}"
        );
        assert!(m["pickup"]["at"].as_str().unwrap().starts_with(&tuesday));
        assert_eq!(m["dropoff"]["place"]["place_id"], FIGEAC);
        let explanation = m["explanation"].as_str().unwrap();
        assert!(
            explanation.contains("min de détour pour le conducteur"),
            "{explanation}"
        );
        assert!(explanation.contains("prise en charge à "), "{explanation}");
        assert!(m.get("phone").is_none() && m["driver"].get("phone").is_none());
        // The same list later, from the need's own endpoint.
        let id = need.body["id"].as_str().unwrap();
        let again = server
            .get(&format!("/api/v1/requests/{id}/matches"), Some(&passenger))
            .await;
        assert_eq!(offer_ids(&again.body), vec![offer_id.clone()]);
        served.push(id.to_string());
    }

    // Too far out of the way, and too early.
    let gourdon = server
        .post(
            "/api/v1/requests",
            Some(&passenger),
            &need_arriving(GOURDON, FIGEAC, &tuesday, "09:30"),
        )
        .await;
    assert_eq!(gourdon.body["matches"], json!([]));
    let early = server
        .post(
            "/api/v1/requests",
            Some(&passenger),
            &need_arriving(LIVERNON, FIGEAC, &tuesday, "07:00"),
        )
        .await;
    assert_eq!(early.body["matches"], json!([]));
    // A Sunday: the commute does not run.
    let sunday = server
        .post(
            "/api/v1/requests",
            Some(&passenger),
            &need_arriving(LIVERNON, FIGEAC, &next_weekday(6, 2), "09:30"),
        )
        .await;
    assert_eq!(sunday.body["matches"], json!([]));

    // The driver sees the two needs it can serve, with the passenger's name.
    let reverse = server
        .get(&format!("/api/v1/offers/{offer_id}/matches"), Some(&driver))
        .await;
    assert_eq!(reverse.status, StatusCode::OK);
    let mut requests: Vec<String> = reverse
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["request_id"].as_str().unwrap().to_string())
        .collect();
    requests.sort();
    served.sort();
    assert_eq!(requests, served);
    assert_eq!(reverse.body[0]["passenger"]["display_name"], "Lucie M.");

    // A paused trip matches nobody; someone else cannot ask its matches.
    server
        .patch(
            &format!("/api/v1/offers/{offer_id}"),
            Some(&driver),
            &json!({ "paused": true }),
        )
        .await;
    let paused = server
        .get(
            &format!("/api/v1/requests/{}/matches", served[0]),
            Some(&passenger),
        )
        .await;
    assert_eq!(paused.body, json!([]));
    server
        .get(
            &format!("/api/v1/offers/{offer_id}/matches"),
            Some(&passenger),
        )
        .await
        .problem(404);
}

async fn a_new_trip_tells_passengers_who_wait_on_its_way(backend: Backend) {
    let server = Server::start(backend).await;
    let tuesday = next_weekday(1, 2);
    let passenger = server.sign_in("0622222222").await;
    let need = server
        .post(
            "/api/v1/requests",
            Some(&passenger),
            &need_arriving(LIVERNON, FIGEAC, &tuesday, "09:30"),
        )
        .await;
    assert_eq!(need.body["matches"], json!([]));
    let need_id = need.body["id"].as_str().unwrap();
    let far = server.sign_in("0633333333").await;
    server
        .post(
            "/api/v1/requests",
            Some(&far),
            &need_arriving(GOURDON, FIGEAC, &tuesday, "09:30"),
        )
        .await;
    assert_eq!(
        server
            .get("/api/v1/notifications", Some(&passenger))
            .await
            .body,
        json!([])
    );

    let (driver, offer_id) = driver_with_trip(
        &server,
        "0611111111",
        "Marie Dupont",
        weekly_offer(CAHORS, FIGEAC, "07:30", &date_in(1)),
    )
    .await;
    let notes = server.inbox_with(&passenger, 1).await;
    server.trips_matched().await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["kind"], "new_driver");
    assert_eq!(
        notes[0]["title"],
        "Un conducteur passe sur votre trajet Livernon → Figeac"
    );
    assert!(
        notes[0]["body"]
            .as_str()
            .unwrap()
            .starts_with("Marie D. peut vous prendre")
    );
    assert_eq!(notes[0]["url"], format!("/requests/{need_id}"));
    // Nobody else is told; changing the trip does not tell the same news twice.
    assert_eq!(
        server.get("/api/v1/notifications", Some(&far)).await.body,
        json!([])
    );
    assert_eq!(
        server
            .get("/api/v1/notifications", Some(&driver))
            .await
            .body,
        json!([])
    );
    let changed = server
        .patch(
            &format!("/api/v1/offers/{offer_id}"),
            Some(&driver),
            &json!({ "seats": 2 }),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK);
    server.trips_matched().await;
    assert_eq!(
        server
            .get("/api/v1/notifications", Some(&passenger))
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A cancelled need is not matched any more.
    server
        .delete(&format!("/api/v1/requests/{need_id}"), Some(&passenger))
        .await;
    let reverse = server
        .get(&format!("/api/v1/offers/{offer_id}/matches"), Some(&driver))
        .await;
    assert_eq!(reverse.body, json!([]));
}

async fn regular_needs_list_the_weekdays_they_share_with_regular_trips(backend: Backend) {
    let server = Server::start(backend).await;
    let mut trip = weekly_offer(CAHORS, FIGEAC, "07:30", &date_in(1));
    trip["schedule"]["weekdays"] = json!(["mon", "tue", "thu"]);
    let (_, offer_id) = driver_with_trip(&server, "0611111111", "Marie Dupont", trip).await;
    let commuter = server.sign_in("0622222222").await;
    let need = server
        .post(
            "/api/v1/requests",
            Some(&commuter),
            &json!({
                "origin": { "place_id": CAJARC }, "destination": { "place_id": FIGEAC },
                "schedule": { "kind": "weekly", "weekdays": ["tue", "wed", "thu"], "arrive_by": "09:00" },
                "purpose": "work"
            }),
        )
        .await;
    assert_eq!(need.status, StatusCode::CREATED, "{}", need.body);
    let m = &need.body["matches"][0];
    assert_eq!(m["offer_id"], offer_id.as_str());
    assert_eq!(m["weekdays"], json!(["tue", "thu"]));
    let dates = m["dates"].as_array().unwrap();
    assert!(dates.len() >= 4, "{dates:?}");
    assert_eq!(m["date"], dates[0]);
    assert!(
        m["explanation"]
            .as_str()
            .unwrap()
            .starts_with("Mardi et jeudi"),
        "{}",
        m["explanation"]
    );
}

async fn return_legs_are_matched_too(backend: Backend) {
    let server = Server::start(backend).await;
    let tuesday = next_weekday(1, 2);
    let (_, offer_id) = driver_with_trip(
        &server,
        "0611111111",
        "Marie Dupont",
        weekly_offer(CAHORS, FIGEAC, "07:30", &date_in(1)),
    )
    .await;
    let passenger = server.sign_in("0622222222").await;
    let mut body = need_arriving(LIVERNON, FIGEAC, &tuesday, "09:30");
    body["schedule"]["return_after"] = json!("17:00");
    let need = server
        .post("/api/v1/requests", Some(&passenger), &body)
        .await;
    let matches = need.body["matches"].as_array().unwrap();
    assert_eq!(matches.len(), 2, "{}", need.body["matches"]);
    let back = matches
        .iter()
        .find(|m| m["need_leg"] == "return")
        .expect("a match for the way back");
    assert_eq!(back["offer_id"], offer_id.as_str());
    assert_eq!(back["leg"], "return");
    assert_eq!(back["pickup"]["place"]["place_id"], FIGEAC);
    assert_eq!(back["dropoff"]["place"]["place_id"], LIVERNON);
    assert!(back["pickup"]["time"].as_str().unwrap() >= "17:30");
    assert!(back["explanation"].as_str().unwrap().starts_with("Retour"));
}

async fn a_meeting_point_within_walking_distance_can_make_the_match(backend: Backend) {
    let server = Server::start(backend).await;
    let tuesday = next_weekday(1, 2);
    // A driver who will not make any detour at all, from Cahors town hall.
    let mut trip = weekly_offer(CAHORS, FIGEAC, "07:30", &date_in(1));
    trip["max_detour_minutes"] = json!(0);
    let (_, offer_id) = driver_with_trip(&server, "0611111111", "Marie Dupont", trip).await;
    let passenger = server.sign_in("0622222222").await;
    // The passenger lives 800 m north of the town hall.
    let need = server
        .post(
            "/api/v1/requests",
            Some(&passenger),
            &json!({
                "origin": { "lat": 44.44683 + 0.0072, "lon": 1.44062, "label": "Chez moi" },
                "destination": { "place_id": FIGEAC },
                "schedule": { "kind": "once", "date": tuesday, "arrive_by": "09:30" }
            }),
        )
        .await;
    let m = &need.body["matches"][0];
    assert_eq!(m["offer_id"], offer_id.as_str(), "{}", need.body);
    assert_eq!(m["detour_minutes"], 0.0);
    let walk = m["walk_meters"].as_u64().unwrap();
    assert!((750..=850).contains(&walk), "{walk}");
    assert_eq!(m["pickup"]["place"]["place_id"], CAHORS);
    assert!(m["explanation"].as_str().unwrap().contains("m à pied"));
}

async fn a_trip_written_through_another_instance_is_matched(backend: Backend) {
    let first = Server::start(backend).await;
    let second = first.another_instance().await;
    let tuesday = next_weekday(1, 2);
    let passenger = first.sign_in("0622222222").await;
    // The first instance matches once, so its index is loaded.
    let before = first
        .post(
            "/api/v1/requests",
            Some(&passenger),
            &need_arriving(LIVERNON, FIGEAC, &tuesday, "09:30"),
        )
        .await;
    assert_eq!(before.body["matches"], json!([]));
    let need_id = before.body["id"].as_str().unwrap().to_string();

    let (driver, offer_id) = driver_with_trip(
        &second,
        "0611111111",
        "Marie Dupont",
        weekly_offer(CAHORS, FIGEAC, "07:30", &date_in(1)),
    )
    .await;
    let after = first
        .get(
            &format!("/api/v1/requests/{need_id}/matches"),
            Some(&passenger),
        )
        .await;
    assert_eq!(offer_ids(&after.body), vec![offer_id.clone()]);
    // And a deletion through the second is seen by the first.
    second
        .delete(&format!("/api/v1/offers/{offer_id}"), Some(&driver))
        .await;
    let gone = first
        .get(
            &format!("/api/v1/requests/{need_id}/matches"),
            Some(&passenger),
        )
        .await;
    assert_eq!(gone.body, json!([]));
}

/// A need's matches asked again and again (a passenger reopening the
/// screen) show every change in between: a new trip, a paused one, one
/// that withdrew.
async fn matches_asked_again_follow_every_change(backend: Backend) {
    let server = Server::start(backend).await;
    let tuesday = next_weekday(1, 2);
    let (first_driver, first) = driver_with_trip(
        &server,
        "0611111111",
        "Marie Dupont",
        weekly_offer(CAHORS, FIGEAC, "07:30", &date_in(1)),
    )
    .await;
    let passenger = server.sign_in("0622222222").await;
    let need = server
        .post(
            "/api/v1/requests",
            Some(&passenger),
            &need_arriving(LIVERNON, FIGEAC, &tuesday, "09:30"),
        )
        .await;
    assert_eq!(need.status, StatusCode::CREATED, "{}", need.body);
    let path = format!(
        "/api/v1/requests/{}/matches",
        need.body["id"].as_str().unwrap()
    );
    let ask = async || {
        let mut ids = offer_ids(&server.get(&path, Some(&passenger)).await.body);
        ids.sort();
        ids
    };
    assert_eq!(ask().await, vec![first.clone()]);
    assert_eq!(ask().await, vec![first.clone()]);

    let (_, second) = driver_with_trip(
        &server,
        "0633333333",
        "Paul Martin",
        weekly_offer(CAHORS, FIGEAC, "07:45", &date_in(1)),
    )
    .await;
    let mut both = vec![first.clone(), second.clone()];
    both.sort();
    assert_eq!(ask().await, both);

    let paused = server
        .patch(
            &format!("/api/v1/offers/{first}"),
            Some(&first_driver),
            &json!({ "paused": true }),
        )
        .await;
    assert_eq!(paused.status, StatusCode::OK, "{}", paused.body);
    assert_eq!(ask().await, vec![second.clone()]);
    let resumed = server
        .patch(
            &format!("/api/v1/offers/{first}"),
            Some(&first_driver),
            &json!({ "paused": false }),
        )
        .await;
    assert_eq!(resumed.status, StatusCode::OK, "{}", resumed.body);
    assert_eq!(ask().await, both);

    let withdrawn = server
        .delete(&format!("/api/v1/offers/{first}"), Some(&first_driver))
        .await;
    assert!(withdrawn.status.is_success(), "{}", withdrawn.body);
    assert_eq!(ask().await, vec![second]);
}
