//! The setup most scenarios share: a driver posts a trip, someone posts a
//! need, books a seat on the trip, and the driver confirms. Each helper
//! asserts that its step succeeded (the status, with the body on failure)
//! and returns what the next step needs; scenarios keep their own checks.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{CAHORS, FIGEAC, LIVERNON, Server, date_in, need_arriving, weekly_offer};

/// A driver and their trip.
pub struct Ride {
    pub driver: String,
    pub offer_id: String,
}

/// A booking the driver confirmed.
pub struct Booked {
    pub id: String,
    /// `/api/v1/bookings/{id}`.
    pub path: String,
    /// The booking as `POST /api/v1/bookings` returned it.
    pub booking: Value,
}

/// The `id` of a created resource.
pub fn id_of(body: &Value) -> &str {
    body["id"].as_str().expect("an id")
}

/// The trip of a need's best match.
pub fn first_match(need: &Value) -> &str {
    need["matches"][0]["offer_id"]
        .as_str()
        .expect("a match for the need")
}

/// The need the scenarios book: Livernon → Figeac, arriving by 09:30 on
/// `date`.
pub fn livernon_to_figeac(date: &str) -> Value {
    need_arriving(LIVERNON, FIGEAC, date, "09:30")
}

/// The same need, posted by a relay for `person`, whom they registered.
pub fn need_for(person: &str, date: &str) -> Value {
    let mut body = livernon_to_figeac(date);
    body["on_behalf_of"] = json!(person);
    body
}

/// A booking request body: a seat on `offer_id` on `date` for `need_id`.
pub fn booking_body(need_id: &str, offer_id: &str, date: &str) -> Value {
    json!({ "request_id": need_id, "offer_id": offer_id, "date": date })
}

/// `driver` posts the trip `body`; its id.
pub async fn post_offer(server: &Server, driver: &str, body: &Value) -> String {
    let offer = server.post("/api/v1/offers", Some(driver), body).await;
    assert_eq!(offer.status, StatusCode::CREATED, "{}", offer.body);
    id_of(&offer.body).to_string()
}

/// `driver` posts the Cahors → Figeac weekday commute at 07:30 (3 seats,
/// from tomorrow); its id.
pub async fn post_commute(server: &Server, driver: &str) -> String {
    post_offer(
        server,
        driver,
        &weekly_offer(CAHORS, FIGEAC, "07:30", &date_in(1)),
    )
    .await
}

/// Marie Dupont signs in with `contact` (sharing her phone on confirmed
/// bookings or not) and posts the Cahors → Figeac commute.
pub async fn commuting_driver(server: &Server, contact: &str, share_phone: bool) -> Ride {
    let driver = server
        .sign_in_sharing(contact, "Marie Dupont", share_phone)
        .await;
    let offer_id = post_commute(server, &driver).await;
    Ride { driver, offer_id }
}

/// `token` posts the need `body`; the need, with its matches.
pub async fn post_need(server: &Server, token: &str, body: &Value) -> Value {
    let need = server.post("/api/v1/requests", Some(token), body).await;
    assert_eq!(need.status, StatusCode::CREATED, "{}", need.body);
    need.body
}

/// `token` books a seat on `offer_id` on `date` for `need_id`; the
/// booking, waiting for the driver.
pub async fn book(
    server: &Server,
    token: &str,
    need_id: &str,
    offer_id: &str,
    date: &str,
) -> Value {
    let booking = server
        .post(
            "/api/v1/bookings",
            Some(token),
            &booking_body(need_id, offer_id, date),
        )
        .await;
    assert_eq!(booking.status, StatusCode::CREATED, "{}", booking.body);
    booking.body
}

/// `passenger` posts the Livernon → Figeac need for `date` and books a seat
/// on `offer_id`; the booking, waiting for the driver.
pub async fn post_need_and_book(
    server: &Server,
    passenger: &str,
    offer_id: &str,
    date: &str,
) -> Value {
    let need = post_need(server, passenger, &livernon_to_figeac(date)).await;
    book(server, passenger, id_of(&need), offer_id, date).await
}

/// The driver confirms the booking `id`; the booking as confirmed.
pub async fn confirm(server: &Server, driver: &str, id: &str) -> Value {
    let confirmed = server
        .patch(
            &format!("/api/v1/bookings/{id}"),
            Some(driver),
            &json!({ "status": "CONFIRMED" }),
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    confirmed.body
}

/// `token` books a seat on `offer_id` on `date` for `need_id`, and
/// `driver` confirms it.
pub async fn booked_and_confirmed(
    server: &Server,
    token: &str,
    need_id: &str,
    offer_id: &str,
    date: &str,
    driver: &str,
) -> Booked {
    let booking = book(server, token, need_id, offer_id, date).await;
    let id = id_of(&booking).to_string();
    confirm(server, driver, &id).await;
    Booked {
        path: format!("/api/v1/bookings/{id}"),
        id,
        booking,
    }
}

/// `who` moves booking `id` to `status` (a code: `CONFIRMED`, `CANCELLED`,
/// `COMPLETED_PENDING_VALIDATION`, `VALIDATED`).
pub async fn set_status(server: &Server, who: &str, id: &str, status: &str) {
    let moved = server
        .patch(
            &format!("/api/v1/bookings/{id}"),
            Some(who),
            &json!({ "status": status }),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{status}: {}", moved.body);
}
