//! The authorization matrix: every endpoint of the API (checked against the
//! OpenAPI document, so a new endpoint cannot be forgotten) × every role
//! (anonymous, passenger, driver, another user, relay / coordinator of this
//! or another territory, admin) on their own and others' resources, with
//! the exact status expected; and no answer shows a phone or an e-mail to
//! someone who may not see it. On both databases.

mod common;

use std::collections::BTreeSet;

use common::booking::*;
use common::*;
use reqwest::Method;
use serde_json::{Value, json};

on_both_databases!(every_endpoint_answers_each_role_as_it_should);

/// The people, in the order of the expectation columns.
const ROLES: [&str; 9] = [
    "anonymous",
    "passenger",
    "driver",
    "other user",
    "relay (lot)",
    "relay (aveyron)",
    "coordinator (lot)",
    "coordinator (aveyron)",
    "admin (lot)",
];

/// Contact of each signed-in role (None: anonymous).
const CONTACTS: [Option<&str>; 9] = [
    None,
    Some("+33600000010"),
    Some("+33600000001"),
    Some("+33600000099"),
    Some("relais.gramat@example.fr"),
    Some("relais.rodez@example.fr"),
    Some("coordination@example.fr"),
    Some("coordination.aveyron@example.fr"),
    Some("admin.lot@example.fr"),
];

/// Yvette, registered by the Lot relay, has a phone.
const YVETTE_PHONE: &str = "+33633333333";

/// The contact details each role may see somewhere in an answer: their
/// own, the driver's phone for the passenger (confirmed booking, the
/// driver consented), Yvette's phone for the Lot's staff.
fn may_see(role: usize) -> Vec<&'static str> {
    let mut allowed: Vec<&str> = CONTACTS[role].into_iter().collect();
    match role {
        1 => allowed.push("+33600000001"),
        4 => allowed.push(YVETTE_PHONE),
        // The Lot's coordinator and admin manage its staff: they see how
        // its relays, coordinators and admins sign in.
        6 | 8 => allowed.extend([
            YVETTE_PHONE,
            "relais.gramat@example.fr",
            "coordination@example.fr",
            "admin.lot@example.fr",
        ]),
        _ => {}
    }
    allowed
}

fn secrets() -> Vec<&'static str> {
    let mut all: Vec<&str> = CONTACTS.iter().flatten().copied().collect();
    all.push(YVETTE_PHONE);
    all
}

struct Row {
    method: Method,
    /// The path as in the OpenAPI document, for the coverage check.
    route: &'static str,
    /// The path called.
    path: String,
    body: Option<Value>,
    expect: [u16; 9],
    /// Called with a fresh session (sign-out must not end the session the
    /// next rows use).
    fresh_session: bool,
}

fn row(
    method: Method,
    route: &'static str,
    path: String,
    body: Option<Value>,
    expect: [u16; 9],
) -> Row {
    Row {
        method,
        route,
        path,
        body,
        expect,
        fresh_session: false,
    }
}

const A: u16 = 401;

fn subscription(role: usize) -> Value {
    // The public key and secret of RFC 8291's example: valid values.
    json!({
        "endpoint": format!("https://push.example.net/send/role-{role}"),
        "keys": {
            "p256dh": "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
            "auth": "BTBZMqHH6r4Tts7J_aSIgg"
        }
    })
}

async fn every_endpoint_answers_each_role_as_it_should(backend: Backend) {
    let server = demo_server(backend).await;
    server.add_aveyron();
    for (contact, role, territory) in [
        ("relais.rodez@example.fr", "relay", "aveyron"),
        ("coordination.aveyron@example.fr", "coordinator", "aveyron"),
        ("admin.lot@example.fr", "admin", "lot"),
    ] {
        server.grant(contact, role, territory);
    }
    let mut tokens: Vec<Option<String>> = vec![None];
    for contact in CONTACTS.iter().flatten() {
        tokens.push(Some(server.sign_in(contact).await));
    }
    let other = tokens[3].clone().unwrap();
    server
        .patch(
            "/api/v1/me",
            Some(&other),
            &json!({ "display_name": "Paul Autre" }),
        )
        .await;
    let (lucie, marie, relay) = (
        tokens[1].clone().unwrap(),
        tokens[2].clone().unwrap(),
        tokens[4].clone().unwrap(),
    );

    // The passenger's need and booking on the driver's commute, confirmed.
    let tuesday = next_weekday(1, 2);
    let need = post_need(&server, &lucie, &livernon_to_figeac(&tuesday)).await;
    let need_id = id_of(&need).to_string();
    let offer_id = first_match(&need).to_string();
    let booking_id = booked_and_confirmed(&server, &lucie, &need_id, &offer_id, &tuesday, &marie)
        .await
        .id;
    // Spare resources for the deleting rows.
    let spare_offer = post_offer(
        &server,
        &marie,
        &weekly_offer(GOURDON, CAHORS, "06:30", &date_in(1)),
    )
    .await;
    let spare_need = need_arriving(CAJARC, FIGEAC, &next_weekday(3, 2), "10:00");
    let spare_need = id_of(&post_need(&server, &lucie, &spare_need).await).to_string();
    // Yvette, registered by the Lot relay, and her need; a spare person.
    let yvette = register_person(
        &server,
        &relay,
        "Yvette Roux",
        Some("06 33 33 33 33"),
        LIVERNON,
    )
    .await;
    let spare_person = register_person(&server, &relay, "Jeanne Martin", None, LIVERNON).await;
    let yvette_need = post_need(&server, &relay, &need_for(&yvette, &tuesday)).await;
    let yvette_need = id_of(&yvette_need).to_string();
    let lucie_notification = server.get("/api/v1/notifications", Some(&lucie)).await.body[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let lucie_subscription = server
        .post(
            "/api/v1/push/subscriptions",
            Some(&lucie),
            &subscription(100),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let coordinator = tokens[6].clone().unwrap();
    let spare_relay = server
        .post(
            "/api/v1/territories/lot/staff",
            Some(&coordinator),
            &json!({ "contact": "0688888888", "role": "relay" }),
        )
        .await
        .body["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    let spare_point = server
        .post(
            "/api/v1/territories/lot/meeting-points",
            Some(&coordinator),
            &json!({ "name": "Assier, place de l'église", "lat": 44.6725, "lon": 1.8772 }),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let spare_alias = server
        .post(
            "/api/v1/territories/lot/aliases",
            Some(&coordinator),
            &json!({ "alias": "Le Bourg", "place_id": "commune:46033" }),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let marie_seats = server
        .get(&format!("/api/v1/offers/{offer_id}"), Some(&marie))
        .await
        .body["seats"]
        .clone();

    use Method as M;
    let offer_body = weekly_offer(CAHORS, FIGEAC, "07:10", &date_in(1));
    let need_body = need_arriving(LIVERNON, FIGEAC, &next_weekday(4, 2), "09:30");
    let person_body = json!({ "display_name": "Henri Vidal", "phone": null, "commune_id": LIVERNON,
                              "consent_given": true, "consent_method": "oral, au guichet" });
    //                               anon pass driv othr rLot rAvy cLot cAvy admL
    let mut rows = vec![
        // Public.
        row(
            M::GET,
            "/api/v1/places",
            "/api/v1/places?q=figeac".into(),
            None,
            [200, 200, 200, 200, 200, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/push/vapid-public-key",
            "/api/v1/push/vapid-public-key".into(),
            None,
            [200, 200, 200, 200, 200, 200, 200, 200, 200],
        ),
        row(
            M::POST,
            "/api/v1/auth/start",
            "/api/v1/auth/start".into(),
            Some(json!({ "contact": "pas un numéro" })),
            [422, 422, 422, 422, 422, 422, 422, 422, 422],
        ),
        row(
            M::POST,
            "/api/v1/auth/verify",
            "/api/v1/auth/verify".into(),
            Some(json!({ "contact": "0655555555", "code": "000000" })),
            [422, 422, 422, 422, 422, 422, 422, 422, 422],
        ),
        // Mine, for everyone signed in.
        row(
            M::GET,
            "/api/v1/me",
            "/api/v1/me".into(),
            None,
            [A, 200, 200, 200, 200, 200, 200, 200, 200],
        ),
        row(
            M::PATCH,
            "/api/v1/me",
            "/api/v1/me".into(),
            Some(json!({})),
            [A, 200, 200, 200, 200, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/me/contact-reveals",
            "/api/v1/me/contact-reveals".into(),
            None,
            [A, 200, 200, 200, 200, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/me/export",
            "/api/v1/me/export".into(),
            None,
            [A, 200, 200, 200, 200, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/notifications",
            "/api/v1/notifications".into(),
            None,
            [A, 200, 200, 200, 200, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/sync",
            "/api/v1/sync".into(),
            None,
            [A, 200, 200, 200, 200, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/offers",
            "/api/v1/offers".into(),
            None,
            [A, 200, 200, 200, 200, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/requests",
            "/api/v1/requests".into(),
            None,
            [A, 200, 200, 200, 200, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/bookings",
            "/api/v1/bookings".into(),
            None,
            [A, 200, 200, 200, 200, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/push/subscriptions",
            "/api/v1/push/subscriptions".into(),
            None,
            [A, 200, 200, 200, 200, 200, 200, 200, 200],
        ),
        row(
            M::POST,
            "/api/v1/offers",
            "/api/v1/offers".into(),
            Some(offer_body),
            [A, 201, 201, 201, 201, 201, 201, 201, 201],
        ),
        row(
            M::POST,
            "/api/v1/requests",
            "/api/v1/requests".into(),
            Some(need_body),
            [A, 201, 201, 201, 201, 201, 201, 201, 201],
        ),
        // The driver's trip: hers only.
        row(
            M::GET,
            "/api/v1/offers/{id}",
            format!("/api/v1/offers/{offer_id}"),
            None,
            [A, 404, 200, 404, 404, 404, 404, 404, 404],
        ),
        row(
            M::PATCH,
            "/api/v1/offers/{id}",
            format!("/api/v1/offers/{offer_id}"),
            Some(json!({ "seats": marie_seats })),
            [A, 404, 200, 404, 404, 404, 404, 404, 404],
        ),
        row(
            M::GET,
            "/api/v1/offers/{id}/matches",
            format!("/api/v1/offers/{offer_id}/matches"),
            None,
            [A, 404, 200, 404, 404, 404, 404, 404, 404],
        ),
        // The passenger's need: hers only (staff use the territory's list).
        row(
            M::GET,
            "/api/v1/requests/{id}",
            format!("/api/v1/requests/{need_id}"),
            None,
            [A, 200, 404, 404, 404, 404, 404, 404, 404],
        ),
        // Booked: it cannot change any more (409), and only for her.
        row(
            M::PATCH,
            "/api/v1/requests/{id}",
            format!("/api/v1/requests/{need_id}"),
            Some(json!({ "seats": 1 })),
            [A, 409, 404, 404, 404, 404, 404, 404, 404],
        ),
        row(
            M::GET,
            "/api/v1/requests/{id}/matches",
            format!("/api/v1/requests/{need_id}/matches"),
            None,
            [A, 200, 404, 404, 404, 404, 404, 404, 404],
        ),
        // Outcome of her need: hers, or the Lot's coordinator and admin;
        // the trip has not happened yet (409).
        row(
            M::PUT,
            "/api/v1/requests/{id}/outcome",
            format!("/api/v1/requests/{need_id}/outcome"),
            Some(json!({ "outcome": "done" })),
            [A, 409, 404, 404, 404, 404, 409, 404, 409],
        ),
        // Yvette's need: the Lot's relays, coordinator and admin.
        row(
            M::PUT,
            "/api/v1/requests/{id}/outcome",
            format!("/api/v1/requests/{yvette_need}/outcome"),
            Some(json!({ "outcome": "done" })),
            [A, 404, 404, 404, 409, 404, 409, 404, 409],
        ),
        // The booking: its passenger and driver only. It is already
        // confirmed: 409 for both (a passenger confirming a waiting
        // booking gets 403: tests/bookings.rs).
        row(
            M::GET,
            "/api/v1/bookings/{id}",
            format!("/api/v1/bookings/{booking_id}"),
            None,
            [A, 200, 200, 404, 404, 404, 404, 404, 404],
        ),
        row(
            M::PATCH,
            "/api/v1/bookings/{id}",
            format!("/api/v1/bookings/{booking_id}"),
            Some(json!({ "status": "CONFIRMED" })),
            [A, 409, 409, 404, 404, 404, 404, 404, 404],
        ),
        // Feedback: its two sides, once the trip took place (409 before).
        row(
            M::PUT,
            "/api/v1/bookings/{id}/rating",
            format!("/api/v1/bookings/{booking_id}/rating"),
            Some(json!({ "grade": 5 })),
            [A, 409, 409, 404, 404, 404, 404, 404, 404],
        ),
        row(
            M::GET,
            "/api/v1/bookings/{id}/rating",
            format!("/api/v1/bookings/{booking_id}/rating"),
            None,
            [A, 404, 404, 404, 404, 404, 404, 404, 404],
        ),
        // Check-in at the meeting point: its two sides, on the day (409
        // before).
        row(
            M::POST,
            "/api/v1/bookings/{id}/checkin",
            format!("/api/v1/bookings/{booking_id}/checkin"),
            Some(json!({ "lat": 44.646, "lon": 1.844 })),
            [A, 409, 409, 404, 404, 404, 404, 404, 404],
        ),
        row(
            M::PATCH,
            "/api/v1/bookings/{id}/dates/{date}",
            format!("/api/v1/bookings/{booking_id}/dates/{tuesday}"),
            Some(json!({ "status": "CONFIRMED" })),
            [A, 422, 422, 404, 404, 404, 404, 404, 404],
        ),
        // Booking on someone else's need is refused on the field; hers is
        // already booked.
        row(
            M::POST,
            "/api/v1/bookings",
            "/api/v1/bookings".into(),
            Some(booking_body(&need_id, &offer_id, &tuesday)),
            [A, 409, 422, 422, 422, 422, 422, 422, 422],
        ),
        row(
            M::POST,
            "/api/v1/notifications/{id}/read",
            format!("/api/v1/notifications/{lucie_notification}/read"),
            None,
            [A, 204, 404, 404, 404, 404, 404, 404, 404],
        ),
        // Territories: the Lot's staff; the audit log and the registry for
        // its coordinator and admin.
        row(
            M::GET,
            "/api/v1/territories/{id}/beneficiaries",
            "/api/v1/territories/lot/beneficiaries".into(),
            None,
            [A, 403, 403, 403, 200, 403, 200, 403, 200],
        ),
        row(
            M::GET,
            "/api/v1/territories/{id}/beneficiaries",
            "/api/v1/territories/aveyron/beneficiaries".into(),
            None,
            [A, 403, 403, 403, 403, 200, 403, 200, 403],
        ),
        row(
            M::GET,
            "/api/v1/territories/{id}/beneficiaries",
            "/api/v1/territories/nowhere/beneficiaries".into(),
            None,
            [A, 404, 404, 404, 404, 404, 404, 404, 404],
        ),
        row(
            M::POST,
            "/api/v1/territories/{id}/beneficiaries",
            "/api/v1/territories/lot/beneficiaries".into(),
            Some(person_body),
            [A, 403, 403, 403, 201, 403, 201, 403, 201],
        ),
        row(
            M::GET,
            "/api/v1/territories/{id}/requests",
            "/api/v1/territories/lot/requests".into(),
            None,
            [A, 403, 403, 403, 200, 403, 200, 403, 200],
        ),
        row(
            M::GET,
            "/api/v1/territories/{id}/impact",
            "/api/v1/territories/lot/impact".into(),
            None,
            [A, 403, 403, 403, 200, 403, 200, 403, 200],
        ),
        row(
            M::GET,
            "/api/v1/territories/{id}/usage",
            "/api/v1/territories/lot/usage".into(),
            None,
            [A, 403, 403, 403, 200, 403, 200, 403, 200],
        ),
        row(
            M::GET,
            "/api/v1/territories/{id}/usage",
            "/api/v1/territories/aveyron/usage".into(),
            None,
            [A, 403, 403, 403, 403, 200, 403, 200, 403],
        ),
        // Ratings: for the coordinators of the territory.
        row(
            M::GET,
            "/api/v1/territories/{id}/ratings",
            "/api/v1/territories/lot/ratings".into(),
            None,
            [A, 403, 403, 403, 403, 403, 200, 403, 200],
        ),
        row(
            M::POST,
            "/api/v1/territories/{id}/ratings/{rating}/hide",
            "/api/v1/territories/lot/ratings/nope/hide".into(),
            Some(json!({ "reason": "test" })),
            [A, 403, 403, 403, 403, 403, 404, 403, 404],
        ),
        row(
            M::GET,
            "/api/v1/me/rating",
            "/api/v1/me/rating".into(),
            None,
            [A, 200, 200, 200, 200, 200, 200, 200, 200],
        ),
        row(
            M::GET,
            "/api/v1/territories/{id}/audit",
            "/api/v1/territories/lot/audit".into(),
            None,
            [A, 403, 403, 403, 403, 403, 200, 403, 200],
        ),
        row(
            M::GET,
            "/api/v1/territories/{id}/audit",
            "/api/v1/territories/aveyron/audit".into(),
            None,
            [A, 403, 403, 403, 403, 403, 403, 200, 403],
        ),
        row(
            M::GET,
            "/api/v1/territories/{id}/registry/journeys",
            "/api/v1/territories/lot/registry/journeys".into(),
            None,
            [A, 403, 403, 403, 403, 403, 200, 403, 200],
        ),
        // Coordination: the Lot's coordinator and admin only.
        row(
            M::GET,
            "/api/v1/territories/{id}/staff",
            "/api/v1/territories/lot/staff".into(),
            None,
            [A, 403, 403, 403, 403, 403, 200, 403, 200],
        ),
        row(
            M::POST,
            "/api/v1/territories/{id}/staff",
            "/api/v1/territories/lot/staff".into(),
            Some(json!({ "contact": "0677777777", "role": "relay" })),
            [A, 403, 403, 403, 403, 403, 201, 403, 201],
        ),
        row(
            M::GET,
            "/api/v1/territories/{id}/meeting-points",
            "/api/v1/territories/lot/meeting-points".into(),
            None,
            [A, 403, 403, 403, 403, 403, 200, 403, 200],
        ),
        row(
            M::POST,
            "/api/v1/territories/{id}/meeting-points",
            "/api/v1/territories/lot/meeting-points".into(),
            Some(json!({ "name": "Gramat, gare", "lat": 44.7797, "lon": 1.7266 })),
            [A, 403, 403, 403, 403, 403, 201, 403, 201],
        ),
        row(
            M::GET,
            "/api/v1/territories/{id}/aliases",
            "/api/v1/territories/lot/aliases".into(),
            None,
            [A, 403, 403, 403, 403, 403, 200, 403, 200],
        ),
        row(
            M::POST,
            "/api/v1/territories/{id}/aliases",
            "/api/v1/territories/lot/aliases".into(),
            Some(json!({ "alias": "La Capelle", "place_id": "commune:46143" })),
            [A, 403, 403, 403, 403, 403, 201, 403, 201],
        ),
        row(
            M::GET,
            "/api/v1/territories/{id}/board",
            "/api/v1/territories/lot/board".into(),
            None,
            [A, 403, 403, 403, 403, 403, 200, 403, 200],
        ),
        row(
            M::POST,
            "/api/v1/territories/{id}/proposals",
            "/api/v1/territories/lot/proposals".into(),
            Some(json!({ "request_id": yvette_need, "offer_id": offer_id, "date": tuesday })),
            [A, 403, 403, 403, 403, 403, 202, 403, 202],
        ),
        row(
            M::GET,
            "/api/v1/territories/{id}/unmet",
            "/api/v1/territories/lot/unmet".into(),
            None,
            [A, 403, 403, 403, 403, 403, 200, 403, 200],
        ),
        row(
            M::GET,
            "/api/v1/territories/{id}/map",
            "/api/v1/territories/lot/map".into(),
            None,
            [A, 403, 403, 403, 403, 403, 200, 403, 200],
        ),
        row(
            M::GET,
            "/api/v1/territories/{id}/map",
            "/api/v1/territories/aveyron/map".into(),
            None,
            [A, 403, 403, 403, 403, 403, 403, 200, 403],
        ),
        // A registered person: the Lot's staff only.
        row(
            M::GET,
            "/api/v1/beneficiaries/{id}",
            format!("/api/v1/beneficiaries/{yvette}"),
            None,
            [A, 404, 404, 404, 200, 404, 200, 404, 200],
        ),
        row(
            M::PATCH,
            "/api/v1/beneficiaries/{id}",
            format!("/api/v1/beneficiaries/{yvette}"),
            Some(json!({ "reach_by": "sms" })),
            [A, 404, 404, 404, 200, 404, 200, 404, 200],
        ),
        // Push subscriptions: each role adds its own; only Lucie removes
        // hers.
        row(
            M::DELETE,
            "/api/v1/push/subscriptions/{id}",
            format!("/api/v1/push/subscriptions/{lucie_subscription}"),
            None,
            [A, 204, 404, 404, 404, 404, 404, 404, 404],
        ),
        // Deleting: each owner, once (later columns find it gone or not
        // theirs: 404).
        row(
            M::DELETE,
            "/api/v1/offers/{id}",
            format!("/api/v1/offers/{spare_offer}"),
            None,
            [A, 404, 204, 404, 404, 404, 404, 404, 404],
        ),
        row(
            M::DELETE,
            "/api/v1/requests/{id}",
            format!("/api/v1/requests/{spare_need}"),
            None,
            [A, 204, 404, 404, 404, 404, 404, 404, 404],
        ),
        row(
            M::DELETE,
            "/api/v1/beneficiaries/{id}",
            format!("/api/v1/beneficiaries/{spare_person}"),
            None,
            [A, 404, 404, 404, 204, 404, 404, 404, 404],
        ),
        row(
            M::DELETE,
            "/api/v1/territories/{id}/staff/{user_id}",
            format!("/api/v1/territories/lot/staff/{spare_relay}"),
            None,
            [A, 403, 403, 403, 403, 403, 204, 403, 404],
        ),
        row(
            M::DELETE,
            "/api/v1/territories/{id}/meeting-points/{point_id}",
            format!("/api/v1/territories/lot/meeting-points/{spare_point}"),
            None,
            [A, 403, 403, 403, 403, 403, 204, 403, 404],
        ),
        row(
            M::DELETE,
            "/api/v1/territories/{id}/aliases/{alias_id}",
            format!("/api/v1/territories/lot/aliases/{spare_alias}"),
            None,
            [A, 403, 403, 403, 403, 403, 204, 403, 404],
        ),
        Row {
            fresh_session: true,
            ..row(
                M::POST,
                "/api/v1/auth/signout",
                "/api/v1/auth/signout".into(),
                None,
                [A, 204, 204, 204, 204, 204, 204, 204, 204],
            )
        },
    ];
    // Per-role bodies: each adds its own push subscription.
    let mut subscribe = row(
        M::POST,
        "/api/v1/push/subscriptions",
        "/api/v1/push/subscriptions".into(),
        None,
        [A, 201, 201, 201, 201, 201, 201, 201, 201],
    );
    subscribe.body = Some(Value::Null);
    rows.insert(14, subscribe);
    // Last: everyone erases their account.
    rows.push(row(
        M::DELETE,
        "/api/v1/me",
        "/api/v1/me".into(),
        None,
        [A, 204, 204, 204, 204, 204, 204, 204, 204],
    ));

    // Every endpoint of the API is in the matrix (plus the live stream,
    // checked below).
    let spec = server.get("/api/openapi.json", None).await.body;
    let mut documented = BTreeSet::new();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let mut covered: BTreeSet<String> = rows
        .iter()
        .map(|r| format!("{} {}", r.method, r.route))
        .collect();
    covered.insert("GET /api/v1/events".into());
    let missing: Vec<&String> = documented.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "endpoints missing from the matrix: {missing:?}"
    );

    let forbidden = |role: usize| -> Vec<&'static str> {
        let allowed = may_see(role);
        secrets()
            .into_iter()
            .filter(|s| !allowed.contains(s))
            .collect()
    };
    let mut failures = Vec::new();
    for r in &rows {
        for (role, expected) in r.expect.iter().enumerate() {
            let token = match (&tokens[role], r.fresh_session) {
                (Some(_), true) => Some(server.sign_in(CONTACTS[role].unwrap()).await),
                (token, _) => token.clone(),
            };
            let body = match &r.body {
                Some(Value::Null) => Some(subscription(role)),
                other => other.clone(),
            };
            let answer = server
                .call(r.method.clone(), &r.path, token.as_deref(), body.as_ref())
                .await;
            if answer.status.as_u16() != *expected {
                failures.push(format!(
                    "{} {} as {}: {} (expected {expected}) {}",
                    r.method,
                    r.path,
                    ROLES[role],
                    answer.status.as_u16(),
                    answer.text.chars().take(200).collect::<String>()
                ));
            }
            for secret in forbidden(role) {
                if answer.text.contains(secret) {
                    failures.push(format!(
                        "{} {} as {} shows {secret}",
                        r.method, r.path, ROLES[role]
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
