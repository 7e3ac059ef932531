//! Bookings: the list, and one booking with what can be done with it.

use dioxus::prelude::*;
use lotocar_shared::BookingStatus;
use lotocar_shared::api::{BookingPatch, Leg};

use super::pieces::{Back, ConfirmButton, national_phone};
use super::{AppHandle, Route};
use crate::store::Action;

#[component]
pub fn Bookings() -> Element {
    let app = use_context::<AppHandle>();
    let mut bookings: Vec<_> = app.store.read().bookings.values().cloned().collect();
    bookings.sort_by_key(|b| b.date);
    rsx! {
        Back { to: Route::Home {} }
        h1 { "Mes réservations" }
        if bookings.is_empty() { p { class: "muted", "Aucune réservation pour l'instant." } }
        for b in bookings {
            div { class: "card booking", key: "{b.id}",
                p { strong { "{b.headline()}" } }
                if let (true, Some(relay)) = (b.is_driver(), &b.booked_by) {
                    p { class: "muted", "Réservé par le relais {relay.display_name}" }
                }
                p { "{lotocar_shared::time::french_date(b.date)} à {b.pickup.time_spoken()}, {b.pickup.place.label}" }
                p { span { class: "status {b.status.code()}", "{b.status_label}" } }
                button { class: "small", onclick: { let id = b.id.clone(); move |_| app.go(Route::Booking { id: id.clone() }) }, "Ouvrir" }
            }
        }
    }
}

#[component]
pub fn BookingScreen(id: String) -> Element {
    let app = use_context::<AppHandle>();
    let key = id.clone();
    let mut booking = use_resource(move || {
        let id = key.clone();
        async move { app.api().await.booking(&id).await }
    });
    let mut reason = use_signal(String::new);
    let stored = app.store.read().bookings.get(&id).cloned();
    let current = match &*booking.read() {
        Some(Ok(b)) => Some(b.clone()),
        _ => stored,
    };
    let Some(b) = current else {
        return rsx! { Back { to: Route::Bookings {} } p { "Chargement…" } };
    };
    let me = app
        .store
        .read()
        .me
        .as_ref()
        .map(|m| m.id.clone())
        .unwrap_or_default();
    let _ = me;
    let booking_id = b.id.clone();
    let send = move |id: String, status: BookingStatus, done: &'static str| {
        let patch = BookingPatch {
            status,
            reason: Some(reason.read().clone()).filter(|r| !r.trim().is_empty()),
        };
        spawn(async move {
            app.perform(
                Action::PatchBooking { id, patch },
                "Changer une réservation",
                done,
            )
            .await;
            booking.restart();
        });
    };
    let change = {
        let booking_id = booking_id.clone();
        move |status: BookingStatus, done: &'static str| {
            let id = booking_id.clone();
            move |_: MouseEvent| send(id.clone(), status, done)
        }
    };
    let driver = b.is_driver();
    // « Le trajet a eu lieu » from the day of the trip: the server's word,
    // or this device's clock for a copy read offline.
    let day_reached = b.can_say_done
        || (b.status == BookingStatus::Confirmed
            && lotocar_shared::booking::trip_day_reached(
                b.date,
                chrono::Utc::now()
                    .with_timezone(b.pickup.at.offset())
                    .date_naive(),
            ));
    let waiting = matches!(
        b.status,
        BookingStatus::WaitingDriverConfirmation | BookingStatus::WaitingConfirmation
    );
    let live = !b.status.is_final() && b.status != BookingStatus::CompletedPendingValidation;
    rsx! {
        Back { to: Route::Bookings {} }
        h1 { "{b.headline()}" }
        if let Some(relay) = &b.booked_by {
            if driver { p { "Réservé par le relais {relay.display_name}" } } else { p { class: "muted", "Réservation faite pour {b.passenger.display_name}" } }
        }
        p { span { id: "booking-status", class: "status {b.status.code()}", "{b.status_label}" } }
        p { "Prise en charge : {lotocar_shared::time::french_date(b.date)} à {b.pickup.time_spoken()}, {b.pickup.place.label}" }
        p { "Arrivée : {b.dropoff.time_spoken()}, {b.dropoff.place.label}" }
        if b.recurring { p { class: "muted", "Trajet régulier : {b.dates.len()} dates prévues." } }
        if let Some(reason) = &b.reason { p { class: "muted", "Motif : {reason}" } }
        if let Some(contact) = &b.contact {
            div { class: "card highlight",
                if let Some(relay) = &contact.through {
                    p { class: "contact",
                        "Joindre par le relais {relay} : "
                        if let Some(phone) = &contact.phone {
                            a { id: "contact-phone", href: "tel:{phone}", "{national_phone(phone)}" }
                        } else if let Some(email) = &contact.email {
                            a { href: "mailto:{email}", "{email}" }
                        }
                    }
                } else {
                    p { if driver { "Pour joindre le passager :" } else { "Pour joindre le conducteur :" } }
                    if let Some(phone) = &contact.phone {
                        p { class: "contact",
                            a { id: "contact-phone", href: "tel:{phone}", "{national_phone(phone)}" }
                        }
                    }
                    if let Some(email) = &contact.email { p { class: "contact", "{email}" } }
                }
            }
        }
        if driver && waiting {
            button { id: "confirm", onclick: change(BookingStatus::Confirmed, "Réservation confirmée : le passager est prévenu."), "Confirmer" }
        }
        if b.status == BookingStatus::Confirmed && !b.recurring {
            button { id: "check-in", onclick: { let id = b.id.clone(); move |_| { let id = id.clone(); spawn(async move { check_in(app, id).await; }); } },
                "Je suis au rendez-vous"
            }
        }
        if b.status == BookingStatus::Confirmed && day_reached {
            button { class: "secondary", onclick: change(BookingStatus::CompletedPendingValidation, "Merci ! L'autre personne va confirmer."), "Le trajet a eu lieu" }
        }
        if b.status == BookingStatus::CompletedPendingValidation {
            button { onclick: change(BookingStatus::Validated, "Trajet validé. Merci !"), "Je confirme que le trajet a eu lieu" }
        }
        if live {
            label { r#for: "reason", "Motif (facultatif)" }
            input { id: "reason", r#type: "text", value: "{reason}", oninput: move |e| reason.set(e.value()) }
            ConfirmButton {
                label: if driver && waiting { "Refuser" } else { "Annuler la réservation" },
                question: if driver && waiting { "Refuser cette demande ?" } else { "Annuler cette réservation ?" },
                consequence: cancel_consequence(&b, driver && waiting),
                yes: if driver && waiting { "Oui, refuser" } else { "Oui, annuler la réservation" },
                onconfirm: {
                    let id = booking_id.clone();
                    move |_| send(id.clone(), BookingStatus::Cancelled, "Réservation annulée : l'autre personne est prévenue.")
                },
            }
        }
        if !matches!(b.need_leg, Leg::Outbound) { p { class: "muted", "Trajet retour." } }
    }
}

/// What cancelling (or refusing) the booking `b` does to the other side.
fn cancel_consequence(b: &lotocar_shared::api::Booking, refusing: bool) -> String {
    let passenger = &b.passenger.display_name;
    if refusing {
        format!("Nous préviendrons {passenger}, qui pourra réserver avec un autre conducteur.")
    } else if b.is_driver() {
        format!("Nous préviendrons {passenger} : sa réservation sera annulée.")
    } else {
        format!(
            "Nous préviendrons {} que la place n'est plus prise ; elle sera libérée pour quelqu'un d'autre.",
            b.driver.display_name
        )
    }
}

/// "I am at the meeting point": the device's position (the browser's or
/// the webview's geolocation), sent with the time; it makes the trip's
/// proof stronger for the national registry.
async fn check_in(app: AppHandle, id: String) {
    let mut eval = document::eval(
        r#"
        if (!navigator.geolocation) { dioxus.send(null); return; }
        navigator.geolocation.getCurrentPosition(
            (p) => dioxus.send({ lat: p.coords.latitude, lon: p.coords.longitude }),
            () => dioxus.send(null),
            { enableHighAccuracy: true, timeout: 15000 });
        "#,
    );
    let position = eval
        .recv::<Option<serde_json::Value>>()
        .await
        .ok()
        .flatten();
    let Some(position) = position else {
        app.warn("Position introuvable : autorisez la localisation, puis réessayez.");
        return;
    };
    match app.api().await.check_in(&id, &position).await {
        Ok(()) => app.say("C'est noté : vous êtes au rendez-vous."),
        Err(err) => app.warn(err.message()),
    }
}
