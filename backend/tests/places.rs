//! The place search over HTTP: the territory first, local names and
//! meeting points, accents and postal codes. Every scenario runs on SQLite
//! and PostgreSQL.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::json;

on_both_databases!(place_search_ranks_the_territory_first_with_aliases_and_meeting_points);

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
