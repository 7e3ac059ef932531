//! Riding: my needs, a new need (mine, or a relay's for someone), the
//! drivers who could take it.

use dioxus::prelude::*;
use lotocar_shared::api::{BookingGlance, BookingInput, Match, Need, NeedProgress, NeedState};
use lotocar_shared::need::Purpose;
use lotocar_shared::validation::FieldError;

use super::forms::NeedForm;
use super::pieces::{
    Back, ConfirmButton, Days, EndsPicker, FieldMessage, TO_CORRECT, focus_first_fault, invalid,
    message_id,
};
use super::{AppHandle, Route};
use crate::store::Action;
use crate::sync::Outcome;

/// Where a need stands, as the server said (staff screens), or else
/// derived by the same rule from nothing but its status.
pub(crate) fn progress_of(need: &Need) -> NeedProgress {
    need.progress
        .clone()
        .unwrap_or_else(|| NeedProgress::derive(need.status, []))
}

#[component]
pub fn Ride() -> Element {
    let app = use_context::<AppHandle>();
    let store = app.store.read();
    let mut requests: Vec<_> = store.requests.values().cloned().collect();
    requests.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    // Where each need stands, from the bookings this device holds: the
    // same rule as the server's.
    let progress: Vec<NeedProgress> = requests
        .iter()
        .map(|r| {
            NeedProgress::derive(
                r.status,
                store
                    .bookings
                    .values()
                    .filter(|b| b.request_id == r.id)
                    .map(BookingGlance::from),
            )
        })
        .collect();
    drop(store);
    rsx! {
        Back { to: Route::Home {} }
        h1 { "Je cherche un trajet" }
        button { id: "new-request", onclick: move |_| app.go(Route::NewRequest {}), "Demander un trajet" }
        for (request, progress) in requests.into_iter().zip(progress) {
            div { class: "card need", key: "{request.id}",
                p { strong { "{request.summary}" } }
                p { class: "status", "{progress.label}" }
                if progress.state.seeks_driver() {
                    button { class: "small", onclick: { let id = request.id.clone(); move |_| app.go(Route::RequestMatches { id: id.clone() }) }, "Voir les conducteurs" }
                }
                if request.status.is_active() {
                    ConfirmButton {
                        label: "Annuler la demande",
                        question: "Annuler cette demande ?",
                        consequence: need_cancel_consequence(&progress),
                        yes: "Oui, annuler la demande",
                        onconfirm: { let id = request.id.clone(); move |_| {
                            let id = id.clone();
                            spawn(async move { app.perform(Action::CancelRequest { id }, "Annuler une demande", "Demande annulée.").await; });
                        } },
                    }
                }
            }
        }
    }
}

/// What cancelling a need does: the driver asked, or holding a place, is
/// told.
fn need_cancel_consequence(progress: &NeedProgress) -> String {
    let driver = progress.driver.as_ref().map(|d| d.display_name.as_str());
    match (progress.state, driver) {
        (NeedState::Confirmed, Some(driver)) => format!(
            "Nous préviendrons {driver} : votre place sera annulée. Aucun conducteur ne vous sera plus proposé."
        ),
        (NeedState::Asked, Some(driver)) => format!(
            "Nous préviendrons {driver} que vous n'avez plus besoin de la place. Aucun conducteur ne vous sera plus proposé."
        ),
        _ => "Aucun conducteur ne vous sera plus proposé pour ce trajet.".to_string(),
    }
}

/// A need: mine, or (`on_behalf_of`) one a relay posts for a person they
/// registered.
#[component]
pub fn NewRequest(#[props(default)] on_behalf_of: Option<String>) -> Element {
    let app = use_context::<AppHandle>();
    let for_person = on_behalf_of.clone();
    let mut form = use_signal(NeedForm::default);
    let mut errors = use_signal(Vec::<FieldError>::new);
    // Enter in a field sends the form, as its button does.
    let submit = move |event: FormEvent| {
        event.prevent_default();
        let for_person = for_person.clone();
        spawn(async move {
            let mut f = form.read().clone();
            let api = app.api().await;
            if f.ends.settle(&api).await {
                form.write().ends = f.ends.clone();
            }
            let mut input = match f.to_input() {
                Ok(input) => input,
                Err(found) => {
                    errors.set(found);
                    app.warn(TO_CORRECT);
                    focus_first_fault();
                    return;
                }
            };
            errors.set(Vec::new());
            input.on_behalf_of = for_person;
            let before: Vec<String> = app.store.read().requests.keys().cloned().collect();
            match app
                .perform(
                    Action::CreateRequest { input },
                    "Demander un trajet",
                    "Demande publiée.",
                )
                .await
            {
                Outcome::Refused(err) => {
                    errors.set(err.field_errors());
                    focus_first_fault();
                }
                Outcome::Queued => app.go_telling(Route::Ride {}),
                Outcome::Done => {
                    let new = app
                        .store
                        .read()
                        .requests
                        .keys()
                        .find(|k| !before.contains(k))
                        .cloned();
                    app.go_telling(
                        new.map(|id| Route::RequestMatches { id })
                            .unwrap_or(Route::Ride {}),
                    );
                }
            }
        });
    };
    let f = form.read().clone();
    let e = errors();
    let back = match &on_behalf_of {
        Some(person) => Route::Beneficiary { id: person.clone() },
        None => Route::Ride {},
    };
    let timing = if f.arrive {
        "schedule.arrive_by"
    } else {
        "schedule.depart_after"
    };
    rsx! {
        Back { to: back }
        h1 { "Demander un trajet" }
        if on_behalf_of.is_some() { p { class: "muted", "Pour la personne que vous accompagnez." } }
        form { novalidate: true, onsubmit: submit,
            EndsPicker { prefix: "need", ends: f.ends.clone(), errors: e.clone(),
                onedit: move |edit| form.write().ends.apply(edit) }
            fieldset {
                legend { "Quand ?" }
                label { class: "check",
                    input { r#type: "radio", name: "need-kind", checked: !f.regular, onchange: move |_| form.write().regular = false }
                    "Une seule fois"
                }
                label { class: "check",
                    input { r#type: "radio", name: "need-kind", checked: f.regular, onchange: move |_| form.write().regular = true }
                    "Chaque semaine (travail, formation)"
                }
            }
            if f.regular {
                Days { days: f.days, onchange: move |(i, on): (usize, bool)| form.write().days[i] = on }
                FieldMessage { errors: e.clone(), field: "schedule.weekdays" }
            } else {
                label { r#for: "need-date", "Le" }
                input { id: "need-date", r#type: "date", value: "{f.date}",
                    "aria-invalid": invalid(&e, "schedule.date"), "aria-describedby": message_id("schedule.date"),
                    oninput: move |e| form.write().date = e.value() }
                FieldMessage { errors: e.clone(), field: "schedule.date" }
            }
            fieldset {
                legend { "L'heure" }
                label { class: "check",
                    input { r#type: "radio", name: "need-timing", checked: f.arrive, onchange: move |_| form.write().arrive = true }
                    "Je dois arriver avant"
                }
                label { class: "check",
                    input { r#type: "radio", name: "need-timing", checked: !f.arrive, onchange: move |_| form.write().arrive = false }
                    "Je peux partir à partir de"
                }
            }
            label { r#for: "need-time", if f.arrive { "Arriver avant (heure)" } else { "Partir à partir de (heure)" } }
            input { id: "need-time", r#type: "time", value: "{f.time}",
                "aria-invalid": invalid(&e, timing), "aria-describedby": message_id(timing),
                oninput: move |e| form.write().time = e.value() }
            FieldMessage { errors: e.clone(), field: timing }
            label { r#for: "need-flex", "Souplesse" }
            select { id: "need-flex", value: "{f.flexibility}",
                "aria-invalid": invalid(&e, "schedule.flexibility_minutes"), "aria-describedby": message_id("schedule.flexibility_minutes"),
                onchange: move |e| form.write().flexibility = e.value(),
                option { value: "0", "Pile à l'heure" }
                option { value: "15", "15 minutes de plus ou de moins" }
                option { value: "30", "30 minutes" }
                option { value: "60", "1 heure" }
            }
            FieldMessage { errors: e.clone(), field: "schedule.flexibility_minutes" }
            label { r#for: "need-back", "Heure du retour (si besoin)" }
            input { id: "need-back", r#type: "time", value: "{f.back}",
                "aria-invalid": invalid(&e, "schedule.return_after"), "aria-describedby": message_id("schedule.return_after"),
                oninput: move |e| form.write().back = e.value() }
            FieldMessage { errors: e.clone(), field: "schedule.return_after" }
            label { r#for: "need-purpose", "Pour" }
            select { id: "need-purpose", value: "{f.purpose.code()}",
                onchange: move |e| form.write().purpose = Purpose::from_code(&e.value()).unwrap_or(Purpose::Other),
                for purpose in Purpose::ALL { option { value: "{purpose.code()}", "{purpose.french()}" } }
            }
            button { id: "publish-request", r#type: "submit", "Chercher un conducteur" }
        }
    }
}

/// A need a relay posts for the person registered with this id.
#[component]
pub fn NewRequestFor(id: String) -> Element {
    rsx! { NewRequest { on_behalf_of: id } }
}

#[component]
pub fn RequestMatches(id: String) -> Element {
    let app = use_context::<AppHandle>();
    let key = id.clone();
    let fresh = use_resource(move || {
        let id = key.clone();
        async move { app.api().await.request_matches(&id).await }
    });
    let known = app
        .store
        .read()
        .matches
        .get(&id)
        .cloned()
        .unwrap_or_default();
    let list: Vec<Match> = match &*fresh.read() {
        Some(Ok(list)) => list.clone(),
        _ => known,
    };
    let summary = app
        .store
        .read()
        .requests
        .get(&id)
        .map(|r| r.summary.clone())
        .unwrap_or_default();
    // A relay's need for someone: back to that person.
    let back = app
        .store
        .read()
        .requests
        .get(&id)
        .and_then(|r| r.on_behalf_of.clone())
        .map(|id| Route::Beneficiary { id })
        .unwrap_or(Route::Ride {});
    rsx! {
        Back { to: back }
        h1 { "Conducteurs possibles" }
        p { class: "muted", "{summary}" }
        if list.is_empty() {
            p { "Aucun conducteur pour l'instant. Vous serez prévenu dès qu'un conducteur passe sur votre trajet." }
        }
        for m in list {
            div { class: "card",
                p { strong { "{m.driver.display_name}" } }
                p { class: "explanation", "{m.explanation}" }
                p { class: "detour", "Détour {m.detour_class.label()}" }
                button {
                    class: "book",
                    onclick: { let m = m.clone(); move |_| {
                        let input = BookingInput { request_id: m.request_id.clone(), offer_id: m.offer_id.clone(), date: m.date, need_leg: m.need_leg };
                        spawn(async move {
                            if app.perform(Action::CreateBooking { input }, "Réserver une place", "Demande envoyée au conducteur.").await != Outcome::Refused(crate::api::ApiError::Offline) {
                                app.go(Route::Bookings {});
                            }
                        });
                    } },
                    "Réserver"
                }
            }
        }
    }
}
