//! Relays act for people without a smartphone: the people they
//! registered, registering one, one person's needs, and what became of a
//! need. Used on office PCs through the web shell, online: these screens
//! read the server directly.

use dioxus::prelude::*;
use lotocar_shared::api::{Need, Place};
use lotocar_shared::relay::{BeneficiaryInput, Outcome, OutcomeInput, ReachBy};
use lotocar_shared::time::french_date_with_year;
use lotocar_shared::validation::FieldError;

use super::forms::TZ;
use super::pieces::{
    Back, FieldMessage, Loading, PlacePicker, chosen, national_phone, staff_territory, territory,
};
use super::riding::progress_of;
use super::{AppHandle, Route};

/// The people registered on the territory, and what to do for them.
#[component]
pub fn RelayHome() -> Element {
    let app = use_context::<AppHandle>();
    let coordinating = staff_territory(&app).is_some_and(|t| t.1);
    let people =
        use_resource(move || async move { app.api().await.beneficiaries(&territory(&app)).await });
    rsx! {
        Back { to: Route::Home {} }
        h1 { "Espace relais" }
        button { id: "new-person", onclick: move |_| app.go(Route::NewBeneficiary {}), "Inscrire une personne" }
        if coordinating {
            button { id: "go-coordination", class: "secondary", onclick: move |_| app.go(Route::Coordination {}), "Coordination du territoire" }
        }
        h2 { "Personnes inscrites" }
        match &*people.read() {
            None => rsx! { Loading { error: None } },
            Some(Err(err)) => rsx! { Loading { error: Some(err.message()) } },
            Some(Ok(list)) if list.is_empty() => rsx! {
                p { class: "muted", "Personne n'est encore inscrit. Inscrivez les personnes sans smartphone qui ont besoin d'un trajet." }
            },
            Some(Ok(list)) => rsx! {
                for person in list.clone() {
                    div { class: "card person", key: "{person.id}",
                        p { strong { "{person.display_name}" } " — {person.commune_label}" }
                        p { class: "muted", "Prévenir : {person.reach_by.label()}" }
                        button { class: "small", onclick: { let id = person.id.clone(); move |_| app.go(Route::Beneficiary { id: id.clone() }) }, "Ouvrir" }
                    }
                }
            },
        }
    }
}

/// Registering a person, with their consent.
#[component]
pub fn NewBeneficiary() -> Element {
    let app = use_context::<AppHandle>();
    let mut name = use_signal(String::new);
    let mut phone = use_signal(String::new);
    let mut commune = use_signal(|| None::<Place>);
    let mut by_sms = use_signal(|| false);
    let mut share_phone = use_signal(|| false);
    let mut consent = use_signal(|| false);
    let mut method = use_signal(|| "oral, au guichet".to_string());
    let mut errors = use_signal(Vec::<FieldError>::new);
    let submit = move |_| {
        let input = BeneficiaryInput {
            display_name: name.read().clone(),
            phone: Some(phone.read().clone()).filter(|p| !p.trim().is_empty()),
            commune_id: commune
                .read()
                .as_ref()
                .map(|p| p.id.clone())
                .unwrap_or_default(),
            reach_by: Some(if by_sms() {
                ReachBy::Sms
            } else {
                ReachBy::RelayCall
            }),
            share_phone: share_phone(),
            consent_given: consent(),
            consent_method: method.read().clone(),
        };
        if let Err(invalid) = input.validate() {
            errors.set(invalid.errors);
            app.warn("Certains champs sont à corriger.");
            return;
        }
        spawn(async move {
            match app
                .api()
                .await
                .create_beneficiary(&territory(&app), &input)
                .await
            {
                Ok(person) => {
                    app.go(Route::Beneficiary {
                        id: person.id.clone(),
                    });
                    app.say(format!(
                        "Inscription enregistrée : {}.",
                        person.display_name
                    ));
                }
                Err(err) => {
                    errors.set(err.field_errors());
                    app.warn(err.message());
                }
            }
        });
    };
    rsx! {
        Back { to: Route::RelayHome {} }
        h1 { "Inscrire une personne" }
        label { r#for: "person-name", "Prénom et nom" }
        input { id: "person-name", r#type: "text", value: "{name}", oninput: move |e| name.set(e.value()) }
        FieldMessage { errors: errors(), field: "display_name" }
        label { r#for: "person-phone", "Téléphone (si elle en a un)" }
        input { id: "person-phone", r#type: "tel", value: "{phone}", oninput: move |e| phone.set(e.value()) }
        FieldMessage { errors: errors(), field: "phone" }
        PlacePicker { label: "Sa commune", id: "person-commune", selected: commune(), onselect: move |p| commune.set(chosen(p)) }
        FieldMessage { errors: errors(), field: "commune_id" }
        p { "Comment la prévenir ?" }
        label { class: "check",
            input { r#type: "radio", name: "reach", checked: !by_sms(), onchange: move |_| by_sms.set(false) }
            "Le relais l'appelle"
        }
        label { class: "check",
            input { r#type: "radio", name: "reach", checked: by_sms(), onchange: move |_| by_sms.set(true) }
            "Par SMS"
        }
        FieldMessage { errors: errors(), field: "reach_by" }
        label { class: "check",
            input { id: "person-share-phone", r#type: "checkbox", checked: share_phone(), onchange: move |e| share_phone.set(e.checked()) }
            "Elle accepte que son conducteur voie son numéro (sinon, il appellera le relais)"
        }
        label { class: "check",
            input { id: "person-consent", r#type: "checkbox", checked: consent(), onchange: move |e| consent.set(e.checked()) }
            "La personne est d'accord pour être inscrite"
        }
        FieldMessage { errors: errors(), field: "consent_given" }
        label { r#for: "person-consent-method", "Comment a-t-elle donné son accord ?" }
        input { id: "person-consent-method", r#type: "text", value: "{method}", oninput: move |e| method.set(e.value()) }
        FieldMessage { errors: errors(), field: "consent_method" }
        button { id: "register-person", onclick: submit, "Inscrire" }
    }
}

/// One person: their details and their needs, with what happened.
#[component]
pub fn BeneficiaryScreen(id: String) -> Element {
    let app = use_context::<AppHandle>();
    let key = id.clone();
    let data = use_resource(move || {
        let id = key.clone();
        async move {
            let api = app.api().await;
            let t = territory(&app);
            let people = api.beneficiaries(&t).await?;
            let needs = api.territory_requests(&t, "").await?;
            let person = people.into_iter().find(|p| p.id == id);
            let needs: Vec<Need> = needs
                .into_iter()
                .filter(|n| n.on_behalf_of.as_deref() == Some(id.as_str()))
                .collect();
            Ok::<_, crate::api::ApiError>((person, needs))
        }
    });
    let person_id = id.clone();
    rsx! {
        Back { to: Route::RelayHome {} }
        match &*data.read() {
            None => rsx! { Loading { error: None } },
            Some(Err(err)) => rsx! { Loading { error: Some(err.message()) } },
            Some(Ok((None, _))) => rsx! { p { "Cette personne n'est pas inscrite sur votre territoire." } },
            Some(Ok((Some(person), needs))) => rsx! {
                h1 { "{person.display_name}" }
                p { "{person.commune_label} · prévenir : {person.reach_by.label()}" }
                if let Some(phone) = &person.phone {
                    p { "Téléphone : {national_phone(phone)}" }
                    p { class: "muted",
                        if person.share_phone { "Son conducteur voit ce numéro." } else { "Son conducteur ne voit pas ce numéro : il appelle le relais." }
                    }
                }
                p { class: "muted", "Accord donné le {french_date_with_year(person.consent.at.with_timezone(&TZ).date_naive())} ({person.consent.method}), noté par {person.consent.recorded_by_name}." }
                button { id: "request-for", onclick: { let id = person_id.clone(); move |_| app.go(Route::NewRequestFor { id: id.clone() }) }, "Demander un trajet pour cette personne" }
                h2 { "Ses demandes" }
                if needs.is_empty() { p { class: "muted", "Aucune demande pour l'instant." } }
                for need in needs.clone() {
                    div { class: "card need", key: "{need.id}",
                        p { strong { "{need.summary}" } }
                        p { class: "status", "{progress_of(&need).label}" }
                        if let Some(o) = &need.outcome {
                            p { class: "outcome", "Suite : {o.label}" if let Some(r) = &o.reason { " — {r}" } }
                        }
                        if progress_of(&need).state.seeks_driver() {
                            button { class: "small", onclick: { let id = need.id.clone(); move |_| app.go(Route::RequestMatches { id: id.clone() }) }, "Voir les conducteurs" }
                        }
                        button { class: "small secondary", onclick: { let id = need.id.clone(); move |_| app.go(Route::RecordOutcome { id: id.clone() }) }, "Indiquer ce qui s'est passé" }
                    }
                }
            },
        }
    }
}

/// What became of a need.
#[component]
pub fn RecordOutcome(id: String) -> Element {
    let app = use_context::<AppHandle>();
    let mut outcome = use_signal(|| Outcome::Done);
    let mut reason = use_signal(String::new);
    let mut errors = use_signal(Vec::<FieldError>::new);
    let need_id = id.clone();
    let submit = move |_| {
        let input = OutcomeInput {
            outcome: outcome(),
            reason: Some(reason.read().clone()),
        };
        if let Err(invalid) = input.validate() {
            errors.set(invalid.errors);
            return;
        }
        let id = need_id.clone();
        spawn(async move {
            match app.api().await.record_outcome(&id, &input).await {
                Ok(need) => {
                    app.go(match need.on_behalf_of {
                        Some(person) => Route::Beneficiary { id: person },
                        None => Route::RelayHome {},
                    });
                    app.say("C'est noté.");
                }
                Err(err) => {
                    errors.set(err.field_errors());
                    app.warn(err.message());
                }
            }
        });
    };
    rsx! {
        Back { to: Route::RelayHome {} }
        h1 { "Ce qui s'est passé" }
        for o in Outcome::ALL {
            label { class: "check",
                input { r#type: "radio", name: "outcome", value: "{o.code()}", checked: outcome() == o, onchange: move |_| outcome.set(o) }
                "{o.label()}"
            }
        }
        label { r#for: "outcome-reason", "Pourquoi ? (obligatoire si le trajet n'a pas eu lieu)" }
        input { id: "outcome-reason", r#type: "text", value: "{reason}", oninput: move |e| reason.set(e.value()) }
        FieldMessage { errors: errors(), field: "reason" }
        button { id: "save-outcome", onclick: submit, "Enregistrer" }
    }
}
