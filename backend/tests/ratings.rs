//! Feedback after a trip, from the person's side and on both databases:
//! not before the trip took place; a grade from 1 to 5 and a short comment,
//! told in French when wrong; once per side, changed within 7 days and not
//! after; a relay records the feedback of the person she helps, and the
//! driver grades that person, not the relay; one's average shows from
//! three ratings; comments are for the coordinator, who sees the low ones
//! flagged and hides one with a reason kept in the audit log; in the data
//! export; erased with the account and with the person.

mod common;

use common::booking::*;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_databases!(ratings_after_a_trip_from_giving_to_erasing);

const COORDINATOR: &str = "coordination@example.fr";
const RELAY: &str = "relais.gramat@example.fr";

async fn rate(server: &Server, who: &str, booking: &str, body: Value) -> Response {
    server
        .put(
            &format!("/api/v1/bookings/{booking}/rating"),
            Some(who),
            &body,
        )
        .await
}

async fn summary(server: &Server, who: &str) -> Value {
    let answer = server.get("/api/v1/me/rating", Some(who)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body
}

async fn listed(server: &Server, coordinator: &str, query: &str) -> Vec<Value> {
    let answer = server
        .get(
            &format!("/api/v1/territories/lot/ratings{query}"),
            Some(coordinator),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body.as_array().unwrap().clone()
}

async fn ratings_after_a_trip_from_giving_to_erasing(backend: Backend) {
    let mut server = Server::start_with(backend, many_sign_ins()).await;
    server.add_lot();
    let coordinator = server
        .sign_in_with_role(COORDINATOR, "Coordination Lot", "coordinator", "lot")
        .await;
    let relay = server
        .sign_in_with_role(RELAY, "Relais Gramat", "relay", "lot")
        .await;
    let tuesday = next_weekday(1, 2);
    let ride = commuting_driver(&server, "+33611110001", false).await;
    let marie = ride.driver.clone();
    // Léa and Paul book Marie's commute; the relay books it for Jeanne.
    let lea = server.sign_in_as("+33622220001", "Léa Roux").await;
    let paul = server.sign_in_as("+33622220002", "Paul Blanc").await;
    let mut bookings = Vec::new();
    for passenger in [&lea, &paul] {
        let booking = post_need_and_book(&server, passenger, &ride.offer_id, &tuesday).await;
        let id = id_of(&booking).to_string();
        confirm(&server, &marie, &id).await;
        bookings.push(id);
    }
    let jeanne = register_person(&server, &relay, "Jeanne Martin", None, LIVERNON).await;
    let need = post_need(&server, &relay, &need_for(&jeanne, &tuesday)).await;
    let booking = book(&server, &relay, id_of(&need), &ride.offer_id, &tuesday).await;
    let for_jeanne = id_of(&booking).to_string();
    confirm(&server, &marie, &for_jeanne).await;
    let (for_lea, for_paul) = (bookings[0].clone(), bookings[1].clone());

    // Before the trip: not yet.
    let early = rate(&server, &lea, &for_lea, json!({ "grade": 5 })).await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    assert!(
        early.problem(409)["detail"]
            .as_str()
            .unwrap()
            .contains("une fois le trajet effectué")
    );

    // The day of the trip: it took place.
    server.options.env.push((
        "LOTOCAR_DEV_CLOCK_OFFSET_HOURS".into(),
        hours_until_noon(&tuesday).to_string(),
    ));
    server.restart().await;
    set_status(&server, &lea, &for_lea, "COMPLETED_PENDING_VALIDATION").await;
    set_status(&server, &paul, &for_paul, "COMPLETED_PENDING_VALIDATION").await;
    set_status(&server, &relay, &for_jeanne, "COMPLETED_PENDING_VALIDATION").await;

    // Wrong grades and comments are told at their field, and nothing is kept.
    for (body, field) in [
        (json!({ "grade": 0 }), "grade"),
        (json!({ "grade": 6, "comment": "Super" }), "grade"),
        (json!({ "grade": 4, "comment": "é".repeat(301) }), "comment"),
    ] {
        let wrong = rate(&server, &lea, &for_lea, body.clone()).await;
        assert_eq!(
            wrong.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            wrong.body
        );
        assert_eq!(
            wrong.error_fields(),
            vec![field.to_string()],
            "{}",
            wrong.body
        );
    }
    let unknown_field = rate(&server, &lea, &for_lea, json!({ "grade": 4, "stars": 4 })).await;
    assert!(
        unknown_field.status.is_client_error(),
        "{}",
        unknown_field.body
    );
    let none = server
        .get(&format!("/api/v1/bookings/{for_lea}/rating"), Some(&lea))
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    // Someone else's booking is not found.
    let stranger = server.sign_in_as("+33622220009", "Inconnu").await;
    let theirs = rate(&server, &stranger, &for_lea, json!({ "grade": 1 })).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);

    // Léa grades Marie, then changes her mind the same week: one rating.
    let given = rate(
        &server,
        &lea,
        &for_lea,
        json!({ "grade": 5, "comment": "  Ponctuelle, très aimable\n" }),
    )
    .await;
    assert_eq!(given.status, StatusCode::CREATED, "{}", given.body);
    assert_eq!(given.body["comment"], "Ponctuelle, très aimable");
    let changed = rate(
        &server,
        &lea,
        &for_lea,
        json!({ "grade": 4, "comment": "Ponctuelle" }),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["id"], given.body["id"]);
    let mine = server
        .get(&format!("/api/v1/bookings/{for_lea}/rating"), Some(&lea))
        .await;
    assert_eq!(mine.body["grade"], 4, "{}", mine.body);
    // Marie grades Léa (low), the relay gives Jeanne's word, Marie grades
    // Jeanne, Paul grades Marie.
    for (who, booking, grade, comment) in [
        (&marie, &for_lea, 2, "En retard de vingt minutes"),
        (&relay, &for_jeanne, 5, "Jeanne remercie Marie"),
        (&marie, &for_jeanne, 1, "Absente au point de rendez-vous"),
        (&paul, &for_paul, 3, ""),
    ] {
        let answer = rate(
            &server,
            who,
            booking,
            json!({ "grade": grade, "comment": comment }),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::CREATED,
            "{comment}: {}",
            answer.body
        );
    }

    // Marie has three grades: her average shows; Léa's one does not yet;
    // the relay is graded for nobody (Marie graded Jeanne).
    assert_eq!(
        summary(&server, &marie).await,
        json!({ "count": 3, "average": 4.0 })
    );
    assert_eq!(
        summary(&server, &lea).await,
        json!({ "count": 1, "average": null })
    );
    assert_eq!(summary(&server, &relay).await["count"], 0);

    // The coordinator reads every comment, the low ones flagged, with the
    // public names of who wrote and about whom.
    let all = listed(&server, &coordinator, "").await;
    assert_eq!(all.len(), 5, "{all:?}");
    let about_jeanne = all
        .iter()
        .find(|r| r["about_name"] == "Jeanne M.")
        .expect("Marie's word about Jeanne");
    assert_eq!(about_jeanne["from_name"], "Marie D.");
    assert_eq!(about_jeanne["low"], true);
    assert!(
        all.iter()
            .any(|r| r["from_name"] == "Jeanne M." && r["about_name"] == "Marie D.")
    );
    let low = listed(&server, &coordinator, "?low=true").await;
    let mut grades: Vec<i64> = low.iter().map(|r| r["grade"].as_i64().unwrap()).collect();
    grades.sort();
    assert_eq!(grades, [1, 2]);
    // Nobody else reads them.
    for who in [&relay, &lea] {
        let refused = server
            .get("/api/v1/territories/lot/ratings", Some(who))
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }

    // Hiding needs a reason; it is kept in the audit log, and a hidden
    // grade no longer counts.
    let paul_word = all.iter().find(|r| r["grade"] == 3).expect("Paul's word")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let hide = |id: &str| format!("/api/v1/territories/lot/ratings/{id}/hide");
    let no_reason = server
        .post(
            &hide(&paul_word),
            Some(&coordinator),
            &json!({ "reason": "  " }),
        )
        .await;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_reason.error_fields(), vec!["reason".to_string()]);
    let by_relay = server
        .post(
            &hide(&paul_word),
            Some(&relay),
            &json!({ "reason": "test" }),
        )
        .await;
    assert_eq!(by_relay.status, StatusCode::FORBIDDEN);
    let unknown = server
        .post(
            &hide("nope"),
            Some(&coordinator),
            &json!({ "reason": "test" }),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let hidden = server
        .post(
            &hide(&paul_word),
            Some(&coordinator),
            &json!({ "reason": "note donnée par erreur, dit Paul au téléphone" }),
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NO_CONTENT, "{}", hidden.body);
    assert_eq!(
        summary(&server, &marie).await,
        json!({ "count": 2, "average": null })
    );
    let after = listed(&server, &coordinator, "").await;
    let paul_after = after
        .iter()
        .find(|r| r["id"] == paul_word.as_str())
        .unwrap();
    assert_eq!(paul_after["hidden"], true);
    assert_eq!(
        paul_after["hidden_reason"],
        "note donnée par erreur, dit Paul au téléphone"
    );
    let audit = server
        .get("/api/v1/territories/lot/audit", Some(&coordinator))
        .await;
    assert!(
        audit
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "rating_hidden"
                && a["detail"] == "note donnée par erreur, dit Paul au téléphone"),
        "{}",
        audit.body
    );

    // In Léa's data: what she gave and what was said about her.
    let export = server.get("/api/v1/me/export", Some(&lea)).await;
    assert_eq!(export.status, StatusCode::OK);
    let ratings = &export.body["ratings"];
    assert_eq!(ratings["given"][0]["grade"], 4, "{ratings}");
    assert_eq!(
        ratings["received"][0]["comment"], "En retard de vingt minutes",
        "{ratings}"
    );
    assert!(
        !export.text.contains("Absente"),
        "another person's rating in Léa's export"
    );

    // Eight days later: a rating can no longer change.
    server
        .options
        .env
        .retain(|(k, _)| k != "LOTOCAR_DEV_CLOCK_OFFSET_HOURS");
    server.options.env.push((
        "LOTOCAR_DEV_CLOCK_OFFSET_HOURS".into(),
        (hours_until_noon(&tuesday) + 8 * 24).to_string(),
    ));
    server.restart().await;
    let late = rate(&server, &lea, &for_lea, json!({ "grade": 1 })).await;
    assert_eq!(late.status, StatusCode::CONFLICT, "{}", late.body);
    assert!(
        late.problem(409)["detail"]
            .as_str()
            .unwrap()
            .contains("7 jours")
    );

    // Léa leaves: what she wrote and what was written about her go.
    let erased = server.delete("/api/v1/me", Some(&lea)).await;
    assert_eq!(erased.status, StatusCode::NO_CONTENT);
    let left = listed(&server, &coordinator, "").await;
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(left.iter().all(|r| r["booking_id"] != for_lea.as_str()));
    // Jeanne's data erased by her relay: hers go too.
    let gone = server
        .delete(&format!("/api/v1/beneficiaries/{jeanne}"), Some(&relay))
        .await;
    assert!(gone.status.is_success(), "{}", gone.body);
    let left = listed(&server, &coordinator, "").await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["id"], paul_word.as_str());
}
