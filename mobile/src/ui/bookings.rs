//! Bookings: the list, and one booking with what can be done with it.

use dioxus::prelude::*;
use lotocar_shared::BookingStatus;
use lotocar_shared::api::{BookingPatch, Leg};
use lotocar_shared::rating::RatingInput;
use lotocar_shared::validation::FieldError;

use super::pieces::{
    Back, ConfirmButton, FieldMessage, focus_first_fault, invalid, message_id, national_phone,
};
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
        if matches!(b.status, BookingStatus::CompletedPendingValidation | BookingStatus::Validated) {
            Feedback {
                booking_id: b.id.clone(),
                about: if driver { b.passenger.display_name.clone() } else { b.driver.display_name.clone() },
                for_person: if driver { None } else { b.booked_by.as_ref().map(|_| b.passenger.display_name.clone()) },
            }
        }
    }
}

/// The words of the grades, 1 to 5.
const GRADES: [&str; 5] = ["Mauvais", "Décevant", "Correct", "Bien", "Très bien"];

/// After the trip: a grade from 1 to 5 and a few words about the other
/// person (only the coordinator reads them), once, and changed within 7
/// days. A relay gives the word of the person she helps (`for_person`).
#[component]
fn Feedback(booking_id: String, about: String, for_person: Option<String>) -> Element {
    let app = use_context::<AppHandle>();
    let key = booking_id.clone();
    let mut current = use_resource(move || {
        let id = key.clone();
        async move { app.api().await.my_rating(&id).await }
    });
    let mut grade = use_signal(|| 0i64);
    let mut comment = use_signal(String::new);
    let mut errors = use_signal(Vec::<FieldError>::new);
    let mut editing = use_signal(|| false);
    let existing = match &*current.read() {
        Some(Ok(rating)) => rating.clone(),
        _ => None,
    };
    let open = existing
        .as_ref()
        .is_none_or(|r| r.editable_until > chrono::Utc::now());
    let whose = match &for_person {
        Some(person) => format!("L'avis de {person} sur le trajet"),
        None => "Votre avis sur le trajet".to_string(),
    };
    let send = {
        let id = booking_id.clone();
        move |event: FormEvent| {
            event.prevent_default();
            let id = id.clone();
            spawn(async move {
                let input = RatingInput {
                    grade: grade(),
                    comment: comment.read().clone(),
                };
                match app.api().await.rate(&id, &input).await {
                    Ok(_) => {
                        errors.set(Vec::new());
                        editing.set(false);
                        app.say("Merci pour votre avis !");
                        current.restart();
                    }
                    Err(err) => {
                        errors.set(err.field_errors());
                        app.warn(err.message());
                        focus_first_fault();
                    }
                }
            });
        }
    };
    let e = errors();
    rsx! {
        h2 { "{whose}" }
        if let (Some(r), false) = (&existing, editing()) {
            p { id: "my-rating", "Note donnée : {r.grade} sur 5 ({GRADES[(r.grade.clamp(1, 5) - 1) as usize].to_lowercase()})" }
            if !r.comment.is_empty() { p { class: "muted", "« {r.comment} »" } }
            if open {
                button { id: "change-rating", class: "secondary",
                    onclick: {
                        let (g, c) = (r.grade, r.comment.clone());
                        move |_| { grade.set(g); comment.set(c.clone()); editing.set(true); }
                    },
                    "Changer mon avis"
                }
            }
        } else if open {
            form { novalidate: true, onsubmit: send,
                fieldset {
                    legend { "Comment s'est passé le trajet avec {about} ?" }
                    for (i, word) in GRADES.iter().enumerate() {
                        label { class: "check",
                            input { r#type: "radio", name: "grade", id: "grade-{i + 1}", checked: grade() == i as i64 + 1,
                                "aria-describedby": message_id("grade"),
                                onchange: move |_| grade.set(i as i64 + 1) }
                            "{i + 1} — {word}"
                        }
                    }
                    FieldMessage { errors: e.clone(), field: "grade" }
                }
                label { r#for: "rating-comment", "Quelques mots (facultatif, lus seulement par l'équipe)" }
                textarea { id: "rating-comment", rows: "3", maxlength: "300", value: "{comment}",
                    "aria-invalid": invalid(&e, "comment"), "aria-describedby": message_id("comment"),
                    oninput: move |event| comment.set(event.value()) }
                FieldMessage { errors: e.clone(), field: "comment" }
                button { id: "send-rating", r#type: "submit", "Envoyer mon avis" }
            }
        }
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
