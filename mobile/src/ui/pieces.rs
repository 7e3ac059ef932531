//! Pieces the screens share: the back button, field messages, the place
//! picker, the days of the week, and for staff screens the territory and a
//! "loading" line.

use dioxus::prelude::*;
use lotocar_shared::api::Place;
use lotocar_shared::people::Role;
use lotocar_shared::time::Weekday;
use lotocar_shared::validation::FieldError;

use super::forms::error_for;
use super::{AppHandle, Route};

#[component]
pub(crate) fn Back(to: Route) -> Element {
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
pub(crate) fn Days(days: [bool; 7], onchange: EventHandler<(usize, bool)>) -> Element {
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
// For relays and coordinators
// ---------------------------------------------------------------------------

/// The territory where the signed-in person is relay, coordinator or
/// admin, and whether they coordinate it.
pub fn staff_territory(app: &AppHandle) -> Option<(String, bool)> {
    let store = app.store.read();
    let roles = &store.me.as_ref()?.roles;
    let coordinating = roles
        .iter()
        .find(|r| matches!(r.role, Role::Coordinator | Role::Admin));
    if let Some(r) = coordinating {
        return Some((r.territory_id.clone(), true));
    }
    roles
        .iter()
        .find(|r| r.role == Role::Relay)
        .map(|r| (r.territory_id.clone(), false))
}

pub(crate) fn territory(app: &AppHandle) -> String {
    staff_territory(app).map(|t| t.0).unwrap_or_default()
}

/// A line for "loading / could not load".
#[component]
pub(crate) fn Loading(error: Option<String>) -> Element {
    match error {
        Some(message) => rsx! { p { class: "error", role: "alert", "{message}" } },
        None => rsx! { p { class: "muted", "Chargement…" } },
    }
}

/// Percent-encodes text for a `data:` link.
pub(crate) fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
