//! Pieces the screens share: the back button, field messages, the place
//! picker, the days of the week, and for staff screens the territory and a
//! "loading" line.

use dioxus::prelude::*;
use lotocar_shared::api::Place;
use lotocar_shared::people::Role;
use lotocar_shared::time::Weekday;
use lotocar_shared::validation::FieldError;

use lotocar_shared::text::search_key;

use super::forms::{Ends, EndsEdit, error_for, named_exactly, place_query};
use super::{AppHandle, Route};

#[component]
pub(crate) fn Back(to: Route) -> Element {
    let app = use_context::<AppHandle>();
    rsx! {
        button { class: "back", onclick: move |_| app.go(to.clone()), "← Retour" }
    }
}

/// The message under a field, found by its input through
/// `aria-describedby` ([`message_id`]).
#[component]
pub fn FieldMessage(errors: Vec<FieldError>, field: String) -> Element {
    match error_for(&errors, &field) {
        Some(message) => rsx! { p { id: message_id(&field), class: "error", "{message}" } },
        None => rsx! {},
    }
}

/// The id of the message under `field` ("schedule.date" → "error-schedule-date").
pub fn message_id(field: &str) -> String {
    format!("error-{}", field.replace('.', "-"))
}

/// `aria-invalid` of the input of `field`.
pub fn invalid(errors: &[FieldError], field: &str) -> &'static str {
    if error_for(errors, field).is_some() {
        "true"
    } else {
        "false"
    }
}

/// What the app says on top of a form sent with mistakes.
pub const TO_CORRECT: &str =
    "Certains champs sont à corriger : les messages en rouge, sous chacun, disent quoi faire.";

/// Moves to the first field to correct (once the screen shows the
/// messages), so that the person sees it, even at the bottom of a form.
pub fn focus_first_fault() {
    document::eval(
        r#"let tries = 0;
        const look = setInterval(() => {
          const field = document.querySelector('[aria-invalid="true"]');
          if (field || ++tries > 40) {
            clearInterval(look);
            if (field) { field.focus(); field.scrollIntoView({ block: "center" }); }
          }
        }, 50);"#,
    );
}

/// A place typed and chosen from suggestions (`/api/v1/places`): a name
/// typed in full is taken as it is (when only one place has it), a typo
/// still finds suggestions, and nothing found is said. `ontext` hears what
/// is typed (the form settles a name typed but not yet answered).
#[component]
pub fn PlacePicker(
    label: String,
    id: String,
    selected: Option<Place>,
    onselect: EventHandler<Place>,
    #[props(default)] ontext: Option<EventHandler<String>>,
    /// The form's message for this field, shown under it.
    #[props(default)]
    error: Option<String>,
) -> Element {
    let app = use_context::<AppHandle>();
    // A place chosen before (a form given back) shows its name.
    let mut text = use_signal(|| {
        selected
            .as_ref()
            .map(|p| p.label.clone())
            .unwrap_or_default()
    });
    let mut suggestions = use_signal(Vec::<Place>::new);
    // The text the suggestions answer.
    let mut answered = use_signal(|| None::<String>);
    let typed = text();
    let none_found = answered().as_deref() == Some(typed.as_str())
        && suggestions.read().is_empty()
        && search_key(place_query(&typed)).chars().count() >= 2;
    let hint = format!("{id}-place");
    let fault = format!("{id}-error");
    let described = if error.is_some() {
        format!("{hint} {fault}")
    } else {
        hint.clone()
    };
    let was_chosen = selected.is_some();
    rsx! {
        label { r#for: "{id}", "{label}" }
        input {
            id: "{id}",
            r#type: "text",
            autocomplete: "off",
            placeholder: "Tapez le nom de la commune",
            "aria-describedby": "{described}",
            "aria-invalid": if error.is_some() { "true" } else { "false" },
            value: "{typed}",
            oninput: move |event| {
                let typed = event.value();
                text.set(typed.clone());
                if let Some(ontext) = ontext {
                    ontext.call(typed.clone());
                }
                if was_chosen {
                    onselect.call(placeholder());
                }
                spawn(async move {
                    let query = place_query(&typed);
                    let found = if search_key(query).chars().count() >= 2 {
                        app.api().await.places(query).await.unwrap_or_default()
                    } else {
                        Vec::new()
                    };
                    // Only the answer to what is typed now.
                    if *text.peek() != typed {
                        return;
                    }
                    match named_exactly(&typed, &found) {
                        Some(place) => {
                            suggestions.set(Vec::new());
                            onselect.call(place);
                        }
                        None => suggestions.set(found),
                    }
                    answered.set(Some(typed));
                });
            },
        }
        if let Some(chosen) = &selected {
            p { id: "{hint}", class: "chosen", "✓ {chosen.label}" }
        } else if none_found {
            p { id: "{hint}", class: "hint", role: "status",
                "Aucune commune trouvée pour « {typed.trim()} ». Vérifiez l'orthographe, ou tapez le code postal."
            }
        }
        if let Some(message) = &error {
            p { id: "{fault}", class: "error", "{message}" }
        }
        div { class: "suggestions",
            for place in suggestions.read().iter().cloned() {
                button {
                    r#type: "button",
                    class: "secondary",
                    onclick: move |_| {
                        suggestions.set(Vec::new());
                        text.set(place.label.clone());
                        answered.set(Some(place.label.clone()));
                        onselect.call(place.clone());
                    },
                    "{place.label}"
                }
            }
        }
    }
}

/// The two place fields of a trip or a need (`{prefix}-from`,
/// `{prefix}-to`), each with its form message; what the person does comes
/// back as an [`EndsEdit`].
#[component]
pub fn EndsPicker(
    prefix: String,
    ends: Ends,
    errors: Vec<FieldError>,
    onedit: EventHandler<EndsEdit>,
) -> Element {
    rsx! {
        PlacePicker { label: "Je pars de", id: "{prefix}-from", selected: ends.origin.clone(),
            onselect: move |p| onedit.call(EndsEdit::Origin(chosen(p))),
            ontext: move |t| onedit.call(EndsEdit::OriginText(t)),
            error: error_for(&errors, "origin").map(str::to_string) }
        PlacePicker { label: "Je vais à", id: "{prefix}-to", selected: ends.destination.clone(),
            onselect: move |p| onedit.call(EndsEdit::Destination(chosen(p))),
            ontext: move |t| onedit.call(EndsEdit::DestinationText(t)),
            error: error_for(&errors, "destination").map(str::to_string) }
    }
}

/// A button for what cannot be undone: the first tap only asks, saying
/// what will follow (`consequence`); « `yes` » does it, « Non, garder »
/// leaves everything as it was.
#[component]
pub fn ConfirmButton(
    label: String,
    question: String,
    consequence: String,
    yes: String,
    onconfirm: EventHandler<()>,
) -> Element {
    let mut asking = use_signal(|| false);
    if asking() {
        rsx! {
            div { class: "confirm", role: "alertdialog", "aria-label": "{question}",
                p { strong { "{question}" } }
                p { "{consequence}" }
                button { class: "danger confirm-yes", r#type: "button",
                    onclick: move |_| {
                        asking.set(false);
                        onconfirm.call(());
                    },
                    "{yes}"
                }
                button { class: "secondary confirm-no", r#type: "button", autofocus: true,
                    onclick: move |_| asking.set(false),
                    "Non, garder"
                }
            }
        }
    } else {
        rsx! {
            button { class: "small danger apart", r#type: "button", onclick: move |_| asking.set(true), "{label}" }
        }
    }
}

/// Names in a French list: « Léa R. », « Léa R. et Paul M. », « Léa R.,
/// Paul M. et Zoé B. ».
pub fn french_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} et {last}", rest.join(", ")),
    }
}

/// A phone number as written in France: "05 65 34 12 34" (a foreign one
/// as it is).
pub fn national_phone(phone: &str) -> String {
    lotocar_shared::PhoneNumber::parse(phone)
        .map(|p| p.national())
        .unwrap_or_else(|_| phone.to_string())
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
                        id: "day-{day.code()}",
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
