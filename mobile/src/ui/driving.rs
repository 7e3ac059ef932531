//! Driving: my trips, a new trip, the passengers on my way.

use dioxus::prelude::*;
use lotocar_shared::BookingStatus;
use lotocar_shared::validation::FieldError;

use super::forms::OfferForm;
use super::pieces::{
    Back, ConfirmButton, Days, EndsPicker, FieldMessage, TO_CORRECT, focus_first_fault,
    french_list, invalid, message_id,
};
use super::{AppHandle, Route};
use crate::store::Action;
use crate::sync::Outcome;

#[component]
pub fn Drive() -> Element {
    let app = use_context::<AppHandle>();
    let offers: Vec<_> = app.store.read().offers.values().cloned().collect();
    rsx! {
        Back { to: Route::Home {} }
        h1 { "Je conduis" }
        button { id: "new-offer", onclick: move |_| app.go(Route::NewOffer {}), "Proposer un trajet" }
        if offers.is_empty() {
            p { class: "muted", "Vous n'avez pas encore de trajet. Proposez le trajet que vous faites déjà : d'autres pourront monter avec vous." }
        }
        for offer in offers {
            div { class: "card", key: "{offer.id}",
                p { strong { "{offer.summary}" } }
                if offer.paused { p { class: "status", "En pause" } }
                button { class: "small", onclick: { let id = offer.id.clone(); move |_| app.go(Route::OfferMatches { id: id.clone() }) }, "Passagers sur mon chemin" }
                button { class: "small secondary",
                    onclick: { let id = offer.id.clone(); let paused = offer.paused; move |_| {
                        let id = id.clone();
                        spawn(async move {
                            let patch = lotocar_shared::api::OfferPatch { paused: Some(!paused), ..Default::default() };
                            app.perform(Action::PatchOffer { id, patch }, if paused { "Reprendre le trajet" } else { "Mettre le trajet en pause" },
                                if paused { "Trajet repris." } else { "Trajet mis en pause." }).await;
                        });
                    } },
                    if offer.paused { "Reprendre" } else { "Mettre en pause" }
                }
                ConfirmButton {
                    label: "Supprimer",
                    question: "Supprimer ce trajet ?",
                    consequence: deletion_consequence(&app, &offer.id),
                    yes: "Oui, supprimer le trajet",
                    onconfirm: { let id = offer.id.clone(); move |_| {
                        let id = id.clone();
                        spawn(async move {
                            app.perform(Action::DeleteOffer { id }, "Supprimer un trajet", "Trajet supprimé.").await;
                        });
                    } },
                }
            }
        }
    }
}

/// What deleting the trip `offer` does to others: who will be told that
/// their seat is cancelled.
fn deletion_consequence(app: &AppHandle, offer: &str) -> String {
    let store = app.store.read();
    let mut told: Vec<String> = store
        .bookings
        .values()
        .filter(|b| b.offer_id == offer && b.role == "driver")
        .filter(|b| !b.status.is_final() && b.status != BookingStatus::CompletedPendingValidation)
        .map(|b| b.passenger.display_name.clone())
        .collect();
    told.sort();
    told.dedup();
    match told.len() {
        0 => "Personne n'a réservé de place : le trajet disparaîtra simplement.".into(),
        1 => format!(
            "Nous préviendrons {} : sa réservation sera annulée.",
            told[0]
        ),
        _ => format!(
            "Nous préviendrons {} : leurs réservations seront annulées.",
            french_list(&told)
        ),
    }
}

#[component]
pub fn NewOffer() -> Element {
    let app = use_context::<AppHandle>();
    let mut form = use_signal(OfferForm::default);
    let mut errors = use_signal(Vec::<FieldError>::new);
    // Enter in a field sends the form, as its button does.
    let submit = move |event: FormEvent| {
        event.prevent_default();
        spawn(async move {
            let mut f = form.read().clone();
            let api = app.api().await;
            if f.ends.settle(&api).await {
                form.write().ends = f.ends.clone();
            }
            let input = match f.to_input() {
                Ok(input) => input,
                Err(found) => {
                    errors.set(found);
                    app.warn(TO_CORRECT);
                    focus_first_fault();
                    return;
                }
            };
            errors.set(Vec::new());
            match app
                .perform(
                    Action::CreateOffer { input },
                    "Proposer un trajet",
                    "Trajet publié. Les passagers sur votre chemin seront prévenus.",
                )
                .await
            {
                Outcome::Refused(err) => {
                    errors.set(err.field_errors());
                    focus_first_fault();
                }
                _ => app.go_telling(Route::Drive {}),
            }
        });
    };
    let f = form.read().clone();
    let e = errors();
    let when = if f.regular {
        "schedule.from"
    } else {
        "schedule.departure"
    };
    rsx! {
        Back { to: Route::Drive {} }
        h1 { "Proposer un trajet" }
        form { novalidate: true, onsubmit: submit,
            EndsPicker { prefix: "offer", ends: f.ends.clone(), errors: e.clone(),
                onedit: move |edit| form.write().ends.apply(edit) }
            fieldset {
                legend { "Quand ?" }
                label { class: "check",
                    input { r#type: "radio", name: "offer-kind", checked: f.regular, onchange: move |_| form.write().regular = true }
                    "Trajet régulier (chaque semaine)"
                }
                label { class: "check",
                    input { r#type: "radio", name: "offer-kind", checked: !f.regular, onchange: move |_| form.write().regular = false }
                    "Une seule fois"
                }
            }
            if f.regular {
                fieldset {
                    legend { "Les jours" }
                    Days { days: f.days, onchange: move |(i, on): (usize, bool)| form.write().days[i] = on }
                }
                FieldMessage { errors: e.clone(), field: "schedule.weekdays" }
            }
            label { r#for: "offer-date", if f.regular { "À partir du" } else { "Le" } }
            input { id: "offer-date", r#type: "date", value: "{f.date}",
                "aria-invalid": invalid(&e, when), "aria-describedby": message_id(when),
                oninput: move |e| form.write().date = e.value() }
            FieldMessage { errors: e.clone(), field: when }
            label { r#for: "offer-time", "Heure de départ" }
            input { id: "offer-time", r#type: "time", value: "{f.departure}",
                "aria-invalid": invalid(&e, "schedule.departure_time"), "aria-describedby": message_id("schedule.departure_time"),
                oninput: move |e| form.write().departure = e.value() }
            FieldMessage { errors: e.clone(), field: "schedule.departure_time" }
            label { r#for: "offer-back", "Heure du retour (si vous revenez)" }
            input { id: "offer-back", r#type: "time", value: "{f.back}",
                "aria-invalid": invalid(&e, "schedule.return_time"), "aria-describedby": message_id("schedule.return_time"),
                oninput: move |e| form.write().back = e.value() }
            FieldMessage { errors: e.clone(), field: "schedule.return_time" }
            label { r#for: "offer-seats", "Places libres" }
            input { id: "offer-seats", r#type: "number", min: "1", max: "8", inputmode: "numeric", value: "{f.seats}",
                "aria-invalid": invalid(&e, "seats"), "aria-describedby": message_id("seats"),
                oninput: move |e| form.write().seats = e.value() }
            FieldMessage { errors: e.clone(), field: "seats" }
            label { r#for: "offer-detour", "Détour accepté pour prendre quelqu'un" }
            select { id: "offer-detour", value: "{f.detour}",
                "aria-invalid": invalid(&e, "max_detour_minutes"), "aria-describedby": message_id("max_detour_minutes"),
                onchange: move |e| form.write().detour = e.value(),
                option { value: "5", "5 minutes" }
                option { value: "10", "10 minutes" }
                option { value: "15", "15 minutes" }
                option { value: "20", "20 minutes" }
                option { value: "30", "30 minutes" }
            }
            FieldMessage { errors: e.clone(), field: "max_detour_minutes" }
            button { id: "publish-offer", r#type: "submit", "Publier le trajet" }
        }
    }
}

#[component]
pub fn OfferMatches(id: String) -> Element {
    let app = use_context::<AppHandle>();
    let key = id.clone();
    let matches = use_resource(move || {
        let id = key.clone();
        async move { app.api().await.offer_matches(&id).await }
    });
    let summary = app
        .store
        .read()
        .offers
        .get(&id)
        .map(|o| o.summary.clone())
        .unwrap_or_default();
    rsx! {
        Back { to: Route::Drive {} }
        h1 { "Passagers sur mon chemin" }
        p { class: "muted", "{summary}" }
        match &*matches.read() {
            None => rsx! { p { "Recherche…" } },
            Some(Err(err)) => rsx! { p { class: "error", "{err.message()}" } },
            Some(Ok(list)) if list.is_empty() => rsx! { p { "Personne pour l'instant. Vous serez prévenu quand quelqu'un a besoin d'une place." } },
            Some(Ok(list)) => rsx! {
                for m in list.iter().cloned() {
                    div { class: "card",
                        p { strong { "{m.passenger.as_ref().map(|p| p.display_name.clone()).unwrap_or_default()}" } }
                        p { "{m.explanation}" }
                    }
                }
            },
        }
    }
}
