//! The screens. French, plain words, large targets, one task each.

use dioxus::prelude::*;
use lotocar_shared::BookingStatus;
use lotocar_shared::api::{BookingInput, BookingPatch, Leg, Match, MePatch, Place};
use lotocar_shared::need::{NeedStatus, Purpose};
use lotocar_shared::people::{Channel, Role};
use lotocar_shared::time::Weekday;
use lotocar_shared::validation::FieldError;

use super::forms::{NeedForm, OfferForm, error_for};
use super::{AppHandle, Screen};
use crate::store::Action;
use crate::sync::Outcome;

// ---------------------------------------------------------------------------
// Pieces
// ---------------------------------------------------------------------------

#[component]
pub(crate) fn Back(to: Screen) -> Element {
    let app = use_context::<AppHandle>();
    rsx! {
        button { class: "back", onclick: move |_| app.go(to.clone()), "← Retour" }
    }
}

#[component]
pub fn FieldMessage(errors: Vec<FieldError>, field: String) -> Element {
    match error_for(&errors, &field) {
        Some(message) => rsx! { p { class: "error", role: "alert", "{message}" } },
        None => rsx! {},
    }
}

/// A place typed and chosen from suggestions (`/api/v1/places`).
#[component]
pub fn PlacePicker(
    label: String,
    id: String,
    selected: Option<Place>,
    onselect: EventHandler<Place>,
) -> Element {
    let app = use_context::<AppHandle>();
    let mut text = use_signal(String::new);
    let mut suggestions = use_signal(Vec::<Place>::new);
    let shown = selected.as_ref().map(|p| p.label.clone());
    rsx! {
        label { r#for: "{id}", "{label}" }
        if let Some(chosen) = shown {
            p { class: "card highlight",
                "{chosen} "
                button { class: "small secondary", onclick: move |_| { text.set(String::new()); onselect.call(Place { id: String::new(), ..placeholder() }) }, "Changer" }
            }
        } else {
            input {
                id: "{id}",
                r#type: "text",
                autocomplete: "off",
                placeholder: "Tapez le début du nom de la commune",
                value: "{text}",
                oninput: move |event| {
                    let typed = event.value();
                    text.set(typed.clone());
                    spawn(async move {
                        let found = if typed.trim().chars().count() >= 2 {
                            app.api().await.places(&typed).await.unwrap_or_default()
                        } else {
                            Vec::new()
                        };
                        // Only the answer to what is typed now.
                        if *text.peek() == typed {
                            suggestions.set(found);
                        }
                    });
                },
            }
            div { class: "suggestions",
                for place in suggestions.read().iter().cloned() {
                    button {
                        class: "secondary",
                        onclick: move |_| {
                            suggestions.set(Vec::new());
                            onselect.call(place.clone());
                        },
                        "{place.label}"
                    }
                }
            }
        }
    }
}

/// A place that means "nothing chosen" (an empty id).
fn placeholder() -> Place {
    Place {
        id: String::new(),
        name: String::new(),
        insee: None,
        kind: lotocar_shared::api::PlaceKind::Commune,
        lat: 0.0,
        lon: 0.0,
        label: String::new(),
        departement: None,
        population: None,
        alias: None,
    }
}

pub(crate) fn chosen(place: Place) -> Option<Place> {
    (!place.id.is_empty()).then_some(place)
}

#[component]
fn Days(days: [bool; 7], onchange: EventHandler<(usize, bool)>) -> Element {
    rsx! {
        div { class: "days",
            for (i, day) in Weekday::ALL.into_iter().enumerate() {
                label { class: "check",
                    input {
                        r#type: "checkbox",
                        checked: days[i],
                        onchange: move |event| onchange.call((i, event.checked())),
                    }
                    "{day.french()}"
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Sign-in
// ---------------------------------------------------------------------------

#[component]
pub fn SignIn() -> Element {
    let app = use_context::<AppHandle>();
    let mut contact = use_signal(String::new);
    let mut code = use_signal(String::new);
    let mut sent = use_signal(|| false);
    let mut errors = use_signal(Vec::<FieldError>::new);
    let mut hint = use_signal(|| None::<String>);
    let ask = move |_| {
        spawn(async move {
            match app.api().await.start_sign_in(&contact.read()).await {
                Ok(started) => {
                    errors.set(Vec::new());
                    if let Some(dev) = &started.dev_code {
                        code.set(dev.clone());
                    }
                    hint.set(Some(started.message.clone()));
                    sent.set(true);
                }
                Err(err) => {
                    errors.set(err.field_errors());
                    app.say(err.message());
                }
            }
        });
    };
    let enter = move |_| {
        spawn(async move {
            let api = app.api().await;
            match api.verify(&contact.read(), &code.read()).await {
                Ok(session) => {
                    app.with_engine(async |e| {
                        e.signed_in(session.token.clone());
                        let _ = e.pull().await;
                    })
                    .await;
                    if app.web {
                        subscribe_to_push(app, session.token).await;
                    }
                    app.go(Screen::Home);
                }
                Err(err) => {
                    errors.set(err.field_errors());
                    app.say(err.message());
                }
            }
        });
    };
    rsx! {
        h1 { "Lot'ô car" }
        p { "Covoiturage solidaire : des conducteurs qui font déjà le trajet, des passagers qui en ont besoin." }
        h2 { "Se connecter" }
        label { r#for: "contact", "Votre numéro de portable ou votre e-mail" }
        input { id: "contact", r#type: "text", inputmode: "tel", autocomplete: "tel", value: "{contact}",
            placeholder: "06 12 34 56 78",
            oninput: move |e| contact.set(e.value()) }
        FieldMessage { errors: errors(), field: "contact" }
        button { id: "ask-code", onclick: ask, "Recevoir un code" }
        if sent() {
            if let Some(message) = hint() { p { "{message}" } }
            label { r#for: "code", "Le code reçu (6 chiffres)" }
            input { id: "code", r#type: "text", inputmode: "numeric", autocomplete: "one-time-code", value: "{code}",
                oninput: move |e| code.set(e.value()) }
            FieldMessage { errors: errors(), field: "code" }
            button { id: "sign-in", onclick: enter, "Se connecter" }
        }
    }
}

/// In the browser: a service worker, and a Web Push subscription with the
/// server's key, so that a relay's browser is told even when closed.
async fn subscribe_to_push(app: AppHandle, token: String) {
    let Ok(key) = app.api().await.vapid_key().await else {
        return;
    };
    let mut eval = document::eval(
        r#"
        const { key, token } = await dioxus.recv();
        try {
            if (!("serviceWorker" in navigator) || !("PushManager" in window)) { dioxus.send("unsupported"); return; }
            const registration = await navigator.serviceWorker.register("/sw.js");
            await navigator.serviceWorker.ready;
            const raw = atob(key.replace(/-/g, "+").replace(/_/g, "/"));
            const bytes = Uint8Array.from(raw, c => c.charCodeAt(0));
            const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes });
            await fetch("/api/v1/push/subscriptions", {
                method: "POST",
                headers: { "content-type": "application/json", "authorization": "Bearer " + token },
                body: JSON.stringify(subscription),
            });
            dioxus.send("subscribed");
        } catch (e) {
            dioxus.send("refused: " + e);
        }
        "#,
    );
    let _ = eval.send(serde_json::json!({ "key": key.key, "token": token }));
    let _ = eval.recv::<String>().await;
}

// ---------------------------------------------------------------------------
// Home
// ---------------------------------------------------------------------------

#[component]
pub fn Home() -> Element {
    let app = use_context::<AppHandle>();
    let store = app.store.read();
    let name = store
        .me
        .as_ref()
        .map(|m| m.display_name.clone())
        .filter(|n| !n.is_empty());
    let unread = store.notifications.values().filter(|n| !n.read).count();
    let relay = store.me.as_ref().is_some_and(|m| {
        m.roles
            .iter()
            .any(|r| matches!(r.role, Role::Relay | Role::Coordinator | Role::Admin))
    });
    rsx! {
        h1 { "Lot'ô car" }
        if let Some(name) = name { p { "Bonjour {name} !" } } else { p { "Bonjour ! Pensez à indiquer votre prénom dans « Mon profil »." } }
        nav { class: "home",
            button { id: "go-drive", onclick: move |_| app.go(Screen::Drive), "Je conduis" }
            button { id: "go-ride", onclick: move |_| app.go(Screen::Ride), "Je cherche un trajet" }
            button { id: "go-bookings", onclick: move |_| app.go(Screen::Bookings), "Mes réservations" }
            button { id: "go-inbox", class: "secondary", onclick: move |_| app.go(Screen::Inbox),
                if unread > 0 { "Notifications ({unread})" } else { "Notifications" }
            }
            button { class: "secondary", onclick: move |_| app.go(Screen::Profile), "Mon profil" }
            button { class: "secondary", onclick: move |_| app.go(Screen::Settings), "Réglages" }
            if relay {
                button { id: "go-relay", onclick: move |_| app.go(Screen::RelayHome), "Espace relais" }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Driving
// ---------------------------------------------------------------------------

#[component]
pub fn Drive() -> Element {
    let app = use_context::<AppHandle>();
    let offers: Vec<_> = app.store.read().offers.values().cloned().collect();
    rsx! {
        Back { to: Screen::Home }
        h1 { "Je conduis" }
        button { id: "new-offer", onclick: move |_| app.go(Screen::NewOffer), "Proposer un trajet" }
        if offers.is_empty() {
            p { class: "muted", "Vous n'avez pas encore de trajet. Proposez le trajet que vous faites déjà : d'autres pourront monter avec vous." }
        }
        for offer in offers {
            div { class: "card", key: "{offer.id}",
                p { strong { "{offer.summary}" } }
                if offer.paused { p { class: "status", "En pause" } }
                button { class: "small", onclick: { let id = offer.id.clone(); move |_| app.go(Screen::OfferMatches(id.clone())) }, "Passagers sur mon chemin" }
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
                button { class: "small danger",
                    onclick: { let id = offer.id.clone(); move |_| {
                        let id = id.clone();
                        spawn(async move {
                            app.perform(Action::DeleteOffer { id }, "Supprimer un trajet", "Trajet supprimé.").await;
                        });
                    } },
                    "Supprimer"
                }
            }
        }
    }
}

#[component]
pub fn NewOffer() -> Element {
    let app = use_context::<AppHandle>();
    let mut form = use_signal(OfferForm::default);
    let mut errors = use_signal(Vec::<FieldError>::new);
    let submit = move |_| match form.read().to_input() {
        Err(found) => {
            errors.set(found);
            app.say("Certains champs sont à corriger.");
        }
        Ok(input) => {
            errors.set(Vec::new());
            spawn(async move {
                match app
                    .perform(
                        Action::CreateOffer { input },
                        "Proposer un trajet",
                        "Trajet publié. Les passagers sur votre chemin seront prévenus.",
                    )
                    .await
                {
                    Outcome::Refused(err) => errors.set(err.field_errors()),
                    _ => app.go(Screen::Drive),
                }
            });
        }
    };
    let f = form.read().clone();
    rsx! {
        Back { to: Screen::Drive }
        h1 { "Proposer un trajet" }
        PlacePicker { label: "Je pars de", id: "offer-from", selected: f.origin.clone(), onselect: move |p| form.write().origin = chosen(p) }
        FieldMessage { errors: errors(), field: "origin" }
        PlacePicker { label: "Je vais à", id: "offer-to", selected: f.destination.clone(), onselect: move |p| form.write().destination = chosen(p) }
        FieldMessage { errors: errors(), field: "destination" }
        label { class: "check",
            input { r#type: "radio", name: "offer-kind", checked: f.regular, onchange: move |_| form.write().regular = true }
            "Trajet régulier (chaque semaine)"
        }
        label { class: "check",
            input { r#type: "radio", name: "offer-kind", checked: !f.regular, onchange: move |_| form.write().regular = false }
            "Une seule fois"
        }
        if f.regular {
            label { "Les jours" }
            Days { days: f.days, onchange: move |(i, on): (usize, bool)| form.write().days[i] = on }
            FieldMessage { errors: errors(), field: "schedule.weekdays" }
        }
        label { r#for: "offer-date", if f.regular { "À partir du" } else { "Le" } }
        input { id: "offer-date", r#type: "date", value: "{f.date}", oninput: move |e| form.write().date = e.value() }
        FieldMessage { errors: errors(), field: if f.regular { "schedule.from" } else { "schedule.departure" } }
        label { r#for: "offer-time", "Heure de départ" }
        input { id: "offer-time", r#type: "time", value: "{f.departure}", oninput: move |e| form.write().departure = e.value() }
        FieldMessage { errors: errors(), field: "schedule.departure_time" }
        label { r#for: "offer-back", "Heure du retour (si vous revenez)" }
        input { id: "offer-back", r#type: "time", value: "{f.back}", oninput: move |e| form.write().back = e.value() }
        FieldMessage { errors: errors(), field: "schedule.return_time" }
        label { r#for: "offer-seats", "Places libres" }
        input { id: "offer-seats", r#type: "number", min: "1", max: "8", value: "{f.seats}", oninput: move |e| form.write().seats = e.value() }
        FieldMessage { errors: errors(), field: "seats" }
        label { r#for: "offer-detour", "Détour accepté pour prendre quelqu'un" }
        select { id: "offer-detour", value: "{f.detour}", onchange: move |e| form.write().detour = e.value(),
            option { value: "5", "5 minutes" }
            option { value: "10", "10 minutes" }
            option { value: "15", "15 minutes" }
            option { value: "20", "20 minutes" }
            option { value: "30", "30 minutes" }
        }
        FieldMessage { errors: errors(), field: "max_detour_minutes" }
        button { id: "publish-offer", onclick: submit, "Publier le trajet" }
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
        Back { to: Screen::Drive }
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

// ---------------------------------------------------------------------------
// Riding
// ---------------------------------------------------------------------------

pub(crate) fn need_status(status: NeedStatus) -> &'static str {
    match status {
        NeedStatus::Open => "en attente d'un conducteur",
        NeedStatus::Booked => "place réservée",
        NeedStatus::Done => "trajet effectué",
        NeedStatus::Unserved => "aucun conducteur trouvé",
        NeedStatus::Cancelled => "annulée",
    }
}

#[component]
pub fn Ride() -> Element {
    let app = use_context::<AppHandle>();
    let mut requests: Vec<_> = app.store.read().requests.values().cloned().collect();
    requests.sort_by_key(|r| std::cmp::Reverse(r.created_at));
    rsx! {
        Back { to: Screen::Home }
        h1 { "Je cherche un trajet" }
        button { id: "new-request", onclick: move |_| app.go(Screen::NewRequest), "Demander un trajet" }
        for request in requests {
            div { class: "card", key: "{request.id}",
                p { strong { "{request.summary}" } }
                p { class: "status", "{need_status(request.status)}" }
                if request.status.is_active() {
                    button { class: "small", onclick: { let id = request.id.clone(); move |_| app.go(Screen::RequestMatches(id.clone())) }, "Voir les conducteurs" }
                    button { class: "small danger",
                        onclick: { let id = request.id.clone(); move |_| {
                            let id = id.clone();
                            spawn(async move { app.perform(Action::CancelRequest { id }, "Annuler une demande", "Demande annulée.").await; });
                        } },
                        "Annuler la demande"
                    }
                }
            }
        }
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
    let submit = move |_| match form.read().to_input() {
        Err(found) => {
            errors.set(found);
            app.say("Certains champs sont à corriger.");
        }
        Ok(mut input) => {
            errors.set(Vec::new());
            input.on_behalf_of = for_person.clone();
            spawn(async move {
                let before: Vec<String> = app.store.read().requests.keys().cloned().collect();
                match app
                    .perform(
                        Action::CreateRequest { input },
                        "Demander un trajet",
                        "Demande publiée.",
                    )
                    .await
                {
                    Outcome::Refused(err) => errors.set(err.field_errors()),
                    Outcome::Queued => app.go(Screen::Ride),
                    Outcome::Done => {
                        let new = app
                            .store
                            .read()
                            .requests
                            .keys()
                            .find(|k| !before.contains(k))
                            .cloned();
                        app.go(new.map(Screen::RequestMatches).unwrap_or(Screen::Ride));
                    }
                }
            });
        }
    };
    let f = form.read().clone();
    let back = match &on_behalf_of {
        Some(person) => Screen::Beneficiary(person.clone()),
        None => Screen::Ride,
    };
    rsx! {
        Back { to: back }
        h1 { "Demander un trajet" }
        if on_behalf_of.is_some() { p { class: "muted", "Pour la personne que vous accompagnez." } }
        PlacePicker { label: "Je pars de", id: "need-from", selected: f.origin.clone(), onselect: move |p| form.write().origin = chosen(p) }
        FieldMessage { errors: errors(), field: "origin" }
        PlacePicker { label: "Je vais à", id: "need-to", selected: f.destination.clone(), onselect: move |p| form.write().destination = chosen(p) }
        FieldMessage { errors: errors(), field: "destination" }
        label { class: "check",
            input { r#type: "radio", name: "need-kind", checked: !f.regular, onchange: move |_| form.write().regular = false }
            "Une seule fois"
        }
        label { class: "check",
            input { r#type: "radio", name: "need-kind", checked: f.regular, onchange: move |_| form.write().regular = true }
            "Chaque semaine (travail, formation)"
        }
        if f.regular {
            Days { days: f.days, onchange: move |(i, on): (usize, bool)| form.write().days[i] = on }
            FieldMessage { errors: errors(), field: "schedule.weekdays" }
        } else {
            label { r#for: "need-date", "Le" }
            input { id: "need-date", r#type: "date", value: "{f.date}", oninput: move |e| form.write().date = e.value() }
            FieldMessage { errors: errors(), field: "schedule.date" }
        }
        label { class: "check",
            input { r#type: "radio", name: "need-timing", checked: f.arrive, onchange: move |_| form.write().arrive = true }
            "Je dois arriver avant"
        }
        label { class: "check",
            input { r#type: "radio", name: "need-timing", checked: !f.arrive, onchange: move |_| form.write().arrive = false }
            "Je peux partir à partir de"
        }
        input { id: "need-time", r#type: "time", value: "{f.time}", oninput: move |e| form.write().time = e.value() }
        FieldMessage { errors: errors(), field: if f.arrive { "schedule.arrive_by" } else { "schedule.depart_after" } }
        label { r#for: "need-flex", "Souplesse" }
        select { id: "need-flex", value: "{f.flexibility}", onchange: move |e| form.write().flexibility = e.value(),
            option { value: "0", "Pile à l'heure" }
            option { value: "15", "15 minutes de plus ou de moins" }
            option { value: "30", "30 minutes" }
            option { value: "60", "1 heure" }
        }
        label { r#for: "need-back", "Heure du retour (si besoin)" }
        input { id: "need-back", r#type: "time", value: "{f.back}", oninput: move |e| form.write().back = e.value() }
        FieldMessage { errors: errors(), field: "schedule.return_after" }
        label { r#for: "need-purpose", "Pour" }
        select { id: "need-purpose", value: "{f.purpose.code()}",
            onchange: move |e| form.write().purpose = Purpose::from_code(&e.value()).unwrap_or(Purpose::Other),
            for purpose in Purpose::ALL { option { value: "{purpose.code()}", "{purpose.french()}" } }
        }
        button { id: "publish-request", onclick: submit, "Chercher un conducteur" }
    }
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
        .map(Screen::Beneficiary)
        .unwrap_or(Screen::Ride);
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
                                app.go(Screen::Bookings);
                            }
                        });
                    } },
                    "Réserver"
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Bookings
// ---------------------------------------------------------------------------

#[component]
pub fn Bookings() -> Element {
    let app = use_context::<AppHandle>();
    let mut bookings: Vec<_> = app.store.read().bookings.values().cloned().collect();
    bookings.sort_by_key(|b| b.date);
    rsx! {
        Back { to: Screen::Home }
        h1 { "Mes réservations" }
        if bookings.is_empty() { p { class: "muted", "Aucune réservation pour l'instant." } }
        for b in bookings {
            div { class: "card booking", key: "{b.id}",
                p { strong {
                    if b.role == "driver" { "Vous prenez {b.passenger.display_name}" } else { "{b.driver.display_name} vous prend" }
                } }
                p { "{lotocar_shared::time::french_date(b.date)} à {b.pickup.time_spoken()}, {b.pickup.place.label}" }
                p { span { class: "status {b.status.code()}", "{b.status_label}" } }
                button { class: "small", onclick: { let id = b.id.clone(); move |_| app.go(Screen::Booking(id.clone())) }, "Ouvrir" }
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
        return rsx! { Back { to: Screen::Bookings } p { "Chargement…" } };
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
    let change = move |status: BookingStatus, done: &'static str| {
        let id = booking_id.clone();
        move |_| {
            let id = id.clone();
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
        }
    };
    let driver = b.role == "driver";
    let other = if driver {
        b.passenger.display_name.clone()
    } else {
        b.driver.display_name.clone()
    };
    let waiting = matches!(
        b.status,
        BookingStatus::WaitingDriverConfirmation | BookingStatus::WaitingConfirmation
    );
    let live = !b.status.is_final() && b.status != BookingStatus::CompletedPendingValidation;
    rsx! {
        Back { to: Screen::Bookings }
        h1 { if driver { "Vous prenez {other}" } else { "{other} vous prend" } }
        p { span { id: "booking-status", class: "status {b.status.code()}", "{b.status_label}" } }
        p { "Prise en charge : {lotocar_shared::time::french_date(b.date)} à {b.pickup.time_spoken()}, {b.pickup.place.label}" }
        p { "Arrivée : {b.dropoff.time_spoken()}, {b.dropoff.place.label}" }
        if b.recurring { p { class: "muted", "Trajet régulier : {b.dates.len()} dates prévues." } }
        if let Some(reason) = &b.reason { p { class: "muted", "Motif : {reason}" } }
        if let Some(contact) = &b.contact {
            div { class: "card highlight",
                p { if driver { "Pour joindre le passager :" } else { "Pour joindre le conducteur :" } }
                if let Some(phone) = &contact.phone {
                    p { class: "contact",
                        a { id: "contact-phone", href: "tel:{phone}", "{national(phone)}" }
                    }
                }
                if let Some(email) = &contact.email { p { class: "contact", "{email}" } }
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
        if b.status == BookingStatus::Confirmed {
            button { class: "secondary", onclick: change(BookingStatus::CompletedPendingValidation, "Merci ! L'autre personne va confirmer."), "Le trajet a eu lieu" }
        }
        if b.status == BookingStatus::CompletedPendingValidation {
            button { onclick: change(BookingStatus::Validated, "Trajet validé. Merci !"), "Je confirme que le trajet a eu lieu" }
        }
        if live {
            label { r#for: "reason", "Motif (facultatif)" }
            input { id: "reason", r#type: "text", value: "{reason}", oninput: move |e| reason.set(e.value()) }
            button { class: "danger", onclick: change(BookingStatus::Cancelled, "Réservation annulée : l'autre personne est prévenue."),
                if driver && waiting { "Refuser" } else { "Annuler" }
            }
        }
        if !matches!(b.need_leg, Leg::Outbound) { p { class: "muted", "Trajet retour." } }
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
        app.say("Position introuvable : autorisez la localisation, puis réessayez.");
        return;
    };
    match app.api().await.check_in(&id, &position).await {
        Ok(()) => app.say("C'est noté : vous êtes au rendez-vous."),
        Err(err) => app.say(err.message()),
    }
}

/// "06 12 34 56 78" for a French number.
fn national(phone: &str) -> String {
    lotocar_shared::PhoneNumber::parse(phone)
        .map(|p| p.national())
        .unwrap_or_else(|_| phone.to_string())
}

// ---------------------------------------------------------------------------
// Notifications, profile, settings
// ---------------------------------------------------------------------------

#[component]
pub fn Inbox() -> Element {
    let app = use_context::<AppHandle>();
    let store = app.store.read();
    let notes: Vec<_> = store.inbox().into_iter().cloned().collect();
    rsx! {
        Back { to: Screen::Home }
        h1 { "Notifications" }
        if notes.is_empty() { p { class: "muted", "Rien de nouveau." } }
        for n in notes {
            div { class: if n.read { "card" } else { "card highlight" }, key: "{n.id}",
                p { strong { "{n.title}" } }
                p { "{n.body}" }
                p { class: "muted", {n.created_at.with_timezone(&super::forms::TZ).format("%d/%m à %H:%M").to_string()} }
            }
        }
    }
}

#[component]
pub fn Profile() -> Element {
    let app = use_context::<AppHandle>();
    let me = app.store.read().me.clone();
    let mut name = use_signal(|| {
        me.as_ref()
            .map(|m| m.display_name.clone())
            .unwrap_or_default()
    });
    let mut channel = use_signal(|| {
        me.as_ref()
            .map(|m| m.preferred_channel)
            .unwrap_or(Channel::Push)
    });
    let mut share_phone = use_signal(|| me.as_ref().is_some_and(|m| m.share_phone));
    let mut share_email = use_signal(|| me.as_ref().is_some_and(|m| m.share_email));
    let mut errors = use_signal(Vec::<FieldError>::new);
    let save = move |_| {
        let patch = MePatch {
            display_name: Some(name.read().clone()),
            preferred_channel: Some(channel()),
            share_phone: Some(share_phone()),
            share_email: Some(share_email()),
        };
        spawn(async move {
            match app.api().await.update_me(&patch).await {
                Ok(updated) => {
                    errors.set(Vec::new());
                    app.with_engine(async |e| {
                        e.store.me = Some(updated);
                        e.save();
                    })
                    .await;
                    app.say("Profil enregistré.");
                }
                Err(err) => {
                    errors.set(err.field_errors());
                    app.say(err.message());
                }
            }
        });
    };
    let contact = me
        .as_ref()
        .and_then(|m| m.phone.clone().or(m.email.clone()))
        .unwrap_or_default();
    rsx! {
        Back { to: Screen::Home }
        h1 { "Mon profil" }
        p { class: "muted", "Connecté avec : {contact}" }
        label { r#for: "name", "Votre prénom et l'initiale de votre nom" }
        input { id: "name", r#type: "text", value: "{name}", oninput: move |e| name.set(e.value()) }
        FieldMessage { errors: errors(), field: "display_name" }
        label { r#for: "channel", "Être prévenu par" }
        select { id: "channel", value: "{channel().code()}",
            onchange: move |e| channel.set(Channel::from_code(&e.value()).unwrap_or(Channel::Push)),
            option { value: "push", "Notification sur le téléphone" }
            option { value: "sms", "SMS" }
            option { value: "email", "E-mail" }
        }
        FieldMessage { errors: errors(), field: "preferred_channel" }
        h2 { "Après une réservation confirmée" }
        label { class: "check",
            input { id: "share-phone", r#type: "checkbox", checked: share_phone(), onchange: move |e| share_phone.set(e.checked()) }
            "J'accepte que mon numéro de téléphone soit montré à l'autre personne"
        }
        label { class: "check",
            input { r#type: "checkbox", checked: share_email(), onchange: move |e| share_email.set(e.checked()) }
            "J'accepte que mon e-mail soit montré à l'autre personne"
        }
        p { class: "muted", "Sans votre accord, rien n'est montré. Vous pouvez changer d'avis à tout moment." }
        button { id: "save-profile", onclick: save, "Enregistrer" }
    }
}

#[component]
pub fn Settings() -> Element {
    let app = use_context::<AppHandle>();
    let sign_out = move |_| {
        spawn(async move {
            let api = app.api().await;
            let _ = api.sign_out().await;
            app.with_engine(async |e| e.signed_out()).await;
            app.go(Screen::SignIn);
        });
    };
    let mut exported = use_signal(|| None::<String>);
    let mut confirming = use_signal(|| false);
    let export = move |_| {
        spawn(async move {
            match app.api().await.export_me().await {
                Ok(json) => {
                    exported.set(Some(json));
                    app.say("Vos données sont prêtes : enregistrez le fichier.");
                }
                Err(err) => app.say(err.message()),
            }
        });
    };
    let erase = move |_| {
        spawn(async move {
            match app.api().await.erase_me().await {
                Ok(()) => {
                    app.with_engine(async |e| e.signed_out()).await;
                    app.go(Screen::SignIn);
                    app.say("Votre compte est supprimé. Merci d'avoir utilisé Lot'ô car.");
                }
                Err(err) => app.say(err.message()),
            }
        });
    };
    rsx! {
        Back { to: Screen::Home }
        h1 { "Réglages" }
        h2 { "Mes données" }
        p { class: "muted", "Vous pouvez récupérer tout ce que nous gardons sur vous, ou tout effacer." }
        button { id: "export-data", class: "secondary", onclick: export, "Exporter mes données" }
        if let Some(json) = exported() {
            a { id: "export-link", class: "button", href: "data:application/json;charset=utf-8,{super::staff::percent_encode(&json)}",
                download: "lotocar-mes-donnees.json", "Enregistrer le fichier de mes données" }
        }
        if confirming() {
            p { class: "error", role: "alert", "Tout sera effacé : vos trajets, vos demandes, vos réservations en cours (les autres personnes seront prévenues). C'est définitif." }
            button { id: "erase-confirm", class: "danger", onclick: erase, "Oui, supprimer mon compte" }
            button { class: "secondary", onclick: move |_| confirming.set(false), "Non, garder mon compte" }
        } else {
            button { id: "erase-account", class: "danger", onclick: move |_| confirming.set(true), "Supprimer mon compte" }
        }
        h2 { "Session" }
        button { class: "secondary", onclick: sign_out, "Se déconnecter" }
    }
}
