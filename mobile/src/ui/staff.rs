//! Screens for relays (act for people without a smartphone) and
//! coordinators (run a territory). Used on office PCs through the web
//! shell, online: these screens read the server directly.

use dioxus::prelude::*;
use lotocar_shared::api::{Need, Place};
use lotocar_shared::coordination::{AliasInput, MeetingPointInput, ProposalInput, StaffInput};
use lotocar_shared::people::Role;
use lotocar_shared::relay::{BeneficiaryInput, Outcome, OutcomeInput, ReachBy};
use lotocar_shared::validation::FieldError;
use serde_json::Value;

use super::screens::{Back, FieldMessage, PlacePicker, chosen, need_status};
use super::{AppHandle, Screen};

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

fn territory(app: &AppHandle) -> String {
    staff_territory(app).map(|t| t.0).unwrap_or_default()
}

/// A line for "loading / could not load".
#[component]
fn Loading(error: Option<String>) -> Element {
    match error {
        Some(message) => rsx! { p { class: "error", role: "alert", "{message}" } },
        None => rsx! { p { class: "muted", "Chargement…" } },
    }
}

// ---------------------------------------------------------------------------
// Relay
// ---------------------------------------------------------------------------

/// The people registered on the territory, and what to do for them.
#[component]
pub fn RelayHome() -> Element {
    let app = use_context::<AppHandle>();
    let coordinating = staff_territory(&app).is_some_and(|t| t.1);
    let people =
        use_resource(move || async move { app.api().await.beneficiaries(&territory(&app)).await });
    rsx! {
        Back { to: Screen::Home }
        h1 { "Espace relais" }
        button { id: "new-person", onclick: move |_| app.go(Screen::NewBeneficiary), "Inscrire une personne" }
        if coordinating {
            button { id: "go-coordination", class: "secondary", onclick: move |_| app.go(Screen::Coordination), "Coordination du territoire" }
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
                        button { class: "small", onclick: { let id = person.id.clone(); move |_| app.go(Screen::Beneficiary(id.clone())) }, "Ouvrir" }
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
            consent_given: consent(),
            consent_method: method.read().clone(),
        };
        if let Err(invalid) = input.validate() {
            errors.set(invalid.errors);
            app.say("Certains champs sont à corriger.");
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
                    app.go(Screen::Beneficiary(person.id.clone()));
                    app.say(format!(
                        "Inscription enregistrée : {}.",
                        person.display_name
                    ));
                }
                Err(err) => {
                    errors.set(err.field_errors());
                    app.say(err.message());
                }
            }
        });
    };
    rsx! {
        Back { to: Screen::RelayHome }
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
        Back { to: Screen::RelayHome }
        match &*data.read() {
            None => rsx! { Loading { error: None } },
            Some(Err(err)) => rsx! { Loading { error: Some(err.message()) } },
            Some(Ok((None, _))) => rsx! { p { "Cette personne n'est pas inscrite sur votre territoire." } },
            Some(Ok((Some(person), needs))) => rsx! {
                h1 { "{person.display_name}" }
                p { "{person.commune_label} · prévenir : {person.reach_by.label()}" }
                if let Some(phone) = &person.phone { p { "Téléphone : {phone}" } }
                p { class: "muted", "Accord donné le {person.consent.at.format(\"%d/%m/%Y\")} ({person.consent.method}), noté par {person.consent.recorded_by_name}." }
                button { id: "request-for", onclick: { let id = person_id.clone(); move |_| app.go(Screen::NewRequestFor(id.clone())) }, "Demander un trajet pour cette personne" }
                h2 { "Ses demandes" }
                if needs.is_empty() { p { class: "muted", "Aucune demande pour l'instant." } }
                for need in needs.clone() {
                    div { class: "card need", key: "{need.id}",
                        p { strong { "{need.summary}" } }
                        p { class: "status", "{need_status(need.status)}" }
                        if let Some(o) = &need.outcome {
                            p { class: "outcome", "Suite : {o.label}" if let Some(r) = &o.reason { " — {r}" } }
                        }
                        if need.status.is_active() {
                            button { class: "small", onclick: { let id = need.id.clone(); move |_| app.go(Screen::RequestMatches(id.clone())) }, "Voir les conducteurs" }
                        }
                        button { class: "small secondary", onclick: { let id = need.id.clone(); move |_| app.go(Screen::RecordOutcome(id.clone())) }, "Indiquer ce qui s'est passé" }
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
                        Some(person) => Screen::Beneficiary(person),
                        None => Screen::RelayHome,
                    });
                    app.say("C'est noté.");
                }
                Err(err) => {
                    errors.set(err.field_errors());
                    app.say(err.message());
                }
            }
        });
    };
    rsx! {
        Back { to: Screen::RelayHome }
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

// ---------------------------------------------------------------------------
// Coordination
// ---------------------------------------------------------------------------

#[component]
pub fn Coordination() -> Element {
    let app = use_context::<AppHandle>();
    rsx! {
        Back { to: Screen::RelayHome }
        h1 { "Coordination" }
        nav { class: "home",
            button { id: "go-board", onclick: move |_| app.go(Screen::Board), "Demandes et candidats" }
            button { id: "go-impact", onclick: move |_| app.go(Screen::Impact), "Chiffres d'impact" }
            button { id: "go-map", class: "secondary", onclick: move |_| app.go(Screen::MapView), "Carte et demande non satisfaite" }
            button { id: "go-registry", class: "secondary", onclick: move |_| app.go(Screen::Registry), "Registre de preuve" }
            button { id: "go-team", class: "secondary", onclick: move |_| app.go(Screen::Team), "Relais et lieux" }
            button { id: "go-audit", class: "secondary", onclick: move |_| app.go(Screen::Audit), "Journal des actions" }
        }
    }
}

/// Every open need with its best candidates, and a proposal to a driver.
#[component]
pub fn Board() -> Element {
    let app = use_context::<AppHandle>();
    let mut status = use_signal(|| "open".to_string());
    let mut day = use_signal(String::new);
    let board = use_resource(move || async move {
        let mut query = format!("status={}", status());
        if !day().is_empty() {
            query.push_str(&format!("&from={0}&to={0}", day()));
        }
        app.api().await.board(&territory(&app), &query).await
    });
    rsx! {
        Back { to: Screen::Coordination }
        h1 { "Demandes et candidats" }
        label { r#for: "board-status", "Lesquelles" }
        select { id: "board-status", value: "{status}", onchange: move |e| status.set(e.value()),
            option { value: "open", "en attente d'un conducteur" }
            option { value: "booked", "place réservée" }
            option { value: "unserved", "sans conducteur" }
            option { value: "done", "trajet effectué" }
            option { value: "cancelled", "annulées" }
        }
        label { r#for: "board-day", "Le (laisser vide pour tous les jours)" }
        input { id: "board-day", r#type: "date", value: "{day}", oninput: move |e| day.set(e.value()) }
        match &*board.read() {
            None => rsx! { Loading { error: None } },
            Some(Err(err)) => rsx! { Loading { error: Some(err.message()) } },
            Some(Ok(entries)) if entries.is_empty() => rsx! { p { class: "muted", "Aucune demande en attente." } },
            Some(Ok(entries)) => rsx! {
                for entry in entries.clone() {
                    div { class: "card board", key: "{entry.request.id}",
                        p { strong { "{entry.request.summary}" } }
                        if let Some(name) = &entry.request.beneficiary_name { p { "Pour {name} (relais)" } }
                        if entry.candidates.is_empty() { p { class: "muted", "Aucun conducteur sur ce trajet." } }
                        for m in entry.candidates.clone() {
                            div { class: "candidate",
                                p { "{m.driver.display_name} — détour {m.detour_class.label()}" }
                                p { class: "explanation", "{m.explanation}" }
                                button { class: "small",
                                    onclick: { let m = m.clone(); move |_| {
                                        let input = ProposalInput { request_id: m.request_id.clone(), offer_id: m.offer_id.clone(), date: m.date };
                                        spawn(async move {
                                            match app.api().await.propose(&territory(&app), &input).await {
                                                Ok(()) => app.say("Proposition envoyée au conducteur."),
                                                Err(err) => app.say(err.message()),
                                            }
                                        });
                                    } },
                                    "Proposer au conducteur"
                                }
                            }
                        }
                    }
                }
            },
        }
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

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// The figures, two charts and the CSV.
#[component]
pub fn Impact() -> Element {
    let app = use_context::<AppHandle>();
    let data = use_resource(move || async move {
        let api = app.api().await;
        let t = territory(&app);
        let figures = api.territory_json(&t, "impact").await?;
        let csv = api.territory_text(&t, "impact?format=csv").await?;
        Ok::<_, crate::api::ApiError>((figures, csv))
    });
    rsx! {
        Back { to: Screen::Coordination }
        h1 { "Chiffres d'impact" }
        match &*data.read() {
            None => rsx! { Loading { error: None } },
            Some(Err(err)) => rsx! { Loading { error: Some(err.message()) } },
            Some(Ok((f, csv))) => rsx! {
                dl { class: "figures",
                    dt { "Demandes" } dd { id: "fig-needs", "{f[\"needs_posted\"]}" }
                    dt { "Servies" } dd { id: "fig-served", "{f[\"needs_served\"]} ({(num(&f[\"served_share\"]) * 100.0).round()} %)" }
                    dt { "Trajets effectués" } dd { id: "fig-done", "{f[\"trips_done\"]}" }
                    dt { "Personnes transportées" } dd { "{f[\"people_served\"]}" }
                    dt { "Kilomètres partagés" } dd { "{f[\"km_shared\"]} km" }
                    dt { "CO₂ évité" } dd { "{f[\"co2_avoided_kg\"]} kg" }
                    dt { "Personnes revenues" } dd { "{(num(&f[\"return_rate\"]) * 100.0).round()} %" }
                }
                h2 { "Par mois" }
                BarChart { rows: f["by_month"].as_array().cloned().unwrap_or_default(), label: "month".to_string() }
                h2 { "Par commune de départ" }
                BarChart { rows: f["by_commune"].as_array().cloned().unwrap_or_default().into_iter().take(10).collect::<Vec<_>>(), label: "name".to_string() }
                h2 { "Pourquoi des demandes n'ont pas abouti" }
                if f["reasons"].as_array().is_none_or(|a| a.is_empty()) { p { class: "muted", "Aucune demande sans suite." } }
                ul {
                    for r in f["reasons"].as_array().cloned().unwrap_or_default() {
                        li { "{r[\"label\"].as_str().unwrap_or_default()} : {r[\"count\"]}" }
                    }
                }
                a { id: "impact-csv", class: "button", href: "data:text/csv;charset=utf-8,{percent_encode(csv)}", download: "impact.csv", "Télécharger le tableau (CSV)" }
                p { class: "muted", "CO₂ : {f[\"co2_kg_per_km\"]} kg par km de voiture évité (ADEME)." }
            },
        }
    }
}

/// Needs posted (light) and served (dark), one pair of bars per row.
#[component]
fn BarChart(rows: Vec<Value>, label: String) -> Element {
    let max = rows
        .iter()
        .map(|r| num(&r["needs_posted"]))
        .fold(1.0, f64::max);
    let height = 40.0 * rows.len() as f64 + 10.0;
    rsx! {
        svg { class: "chart", view_box: "0 0 400 {height}", width: "100%", role: "img",
            for (i, r) in rows.iter().enumerate() {
                {
                    let y = 10.0 + 40.0 * i as f64;
                    let posted = 200.0 * num(&r["needs_posted"]) / max;
                    let served = 200.0 * num(&r["needs_served"]) / max;
                    let name = r[label.as_str()].as_str().unwrap_or_default().to_string();
                    rsx! {
                        text { x: "0", y: "{y + 20.0}", font_size: "14", "{name}" }
                        rect { x: "140", y: "{y}", width: "{posted}", height: "14", fill: "#b9d3de" }
                        rect { x: "140", y: "{y + 16.0}", width: "{served}", height: "14", fill: "#12506a" }
                        text { x: "{145.0 + posted}", y: "{y + 12.0}", font_size: "12", "{r[\"needs_posted\"]}" }
                        text { x: "{145.0 + served}", y: "{y + 28.0}", font_size: "12", "{r[\"needs_served\"]}" }
                    }
                }
            }
        }
        p { class: "muted", "Clair : demandes ; foncé : demandes servies." }
    }
}

/// The map (SVG drawn by the server) and unmet demand.
#[component]
pub fn MapView() -> Element {
    let app = use_context::<AppHandle>();
    let data = use_resource(move || async move {
        let api = app.api().await;
        let t = territory(&app);
        let map = api.territory_text(&t, "map").await?;
        let unmet = api.territory_json(&t, "unmet").await?;
        Ok::<_, crate::api::ApiError>((map, unmet))
    });
    rsx! {
        Back { to: Screen::Coordination }
        h1 { "Carte" }
        match &*data.read() {
            None => rsx! { Loading { error: None } },
            Some(Err(err)) => rsx! { Loading { error: Some(err.message()) } },
            Some(Ok((map, unmet))) => rsx! {
                div { class: "map", dangerous_inner_html: "{map}" }
                h2 { "Où recruter des conducteurs" }
                if unmet.as_array().is_none_or(|a| a.is_empty()) { p { class: "muted", "Aucune demande restée sans conducteur." } }
                for c in unmet.as_array().cloned().unwrap_or_default() {
                    div { class: "card",
                        p { strong { "{c[\"from\"][\"name\"].as_str().unwrap_or_default()} → {c[\"to\"][\"name\"].as_str().unwrap_or_default()}" } }
                        p { "{c[\"unserved\"]} demande(s) sans conducteur, {c[\"waiting\"]} en attente" }
                        for t in c["closest_trips"].as_array().cloned().unwrap_or_default() {
                            p { class: "muted", "Le plus proche : {t[\"summary\"].as_str().unwrap_or_default()} ({t[\"driver\"].as_str().unwrap_or_default()}, à {t[\"gap_km\"]} km)" }
                        }
                    }
                }
            },
        }
    }
}

/// The bodies for the national proof registry.
#[component]
pub fn Registry() -> Element {
    let app = use_context::<AppHandle>();
    let data = use_resource(move || async move {
        app.api()
            .await
            .territory_json(&territory(&app), "registry/journeys")
            .await
    });
    rsx! {
        Back { to: Screen::Coordination }
        h1 { "Registre de preuve de covoiturage" }
        match &*data.read() {
            None => rsx! { Loading { error: None } },
            Some(Err(err)) => rsx! { Loading { error: Some(err.message()) } },
            Some(Ok(export)) => rsx! {
                if export["journeys"].as_array().is_none_or(|a| a.is_empty()) { p { class: "muted", "Aucun trajet effectué à déclarer." } }
                for j in export["journeys"].as_array().cloned().unwrap_or_default() {
                    div { class: "card journey",
                        p { strong { "Trajet du {j[\"date\"].as_str().unwrap_or_default()}" } }
                        if j["send"].as_bool() == Some(true) {
                            p { class: "status", "À envoyer" }
                        } else {
                            p { class: "status", "Non envoyé" }
                            ul {
                                for f in j["flags"].as_array().cloned().unwrap_or_default() {
                                    li { "{flag_label(f.as_str().unwrap_or_default())}" }
                                }
                            }
                        }
                        if !j["body"].is_null() {
                            pre { class: "registry-body", "{serde_json::to_string_pretty(&j[\"body\"]).unwrap_or_default()}" }
                        }
                    }
                }
            },
        }
    }
}

/// Relays of the territory, and local place names.
#[component]
pub fn Team() -> Element {
    let app = use_context::<AppHandle>();
    let mut version = use_signal(|| 0);
    let data = use_resource(move || async move {
        let _ = version();
        let api = app.api().await;
        let t = territory(&app);
        let staff = api.territory_json(&t, "staff").await?;
        let aliases = api.territory_json(&t, "aliases").await?;
        let points = api.territory_json(&t, "meeting-points").await?;
        Ok::<_, crate::api::ApiError>((staff, aliases, points))
    });
    let mut contact = use_signal(String::new);
    let mut point_name = use_signal(String::new);
    let mut point_position = use_signal(String::new);
    let mut alias = use_signal(String::new);
    let mut place = use_signal(|| None::<Place>);
    let mut errors = use_signal(Vec::<FieldError>::new);
    let add_relay = move |_| {
        let input = StaffInput {
            contact: contact.read().clone(),
            role: Role::Relay,
        };
        spawn(async move {
            match app.api().await.add_staff(&territory(&app), &input).await {
                Ok(_) => {
                    contact.set(String::new());
                    version += 1;
                    app.say("Relais ajouté : il peut se connecter avec ce contact.");
                }
                Err(err) => {
                    errors.set(err.field_errors());
                    app.say(err.message());
                }
            }
        });
    };
    let add_point = move |_| {
        // "44.7800, 1.7253", as copied from a map.
        let text = point_position.read().replace(';', ",");
        let mut parts = text.split(',').map(|p| p.trim().parse::<f64>());
        let (Some(Ok(lat)), Some(Ok(lon))) = (parts.next(), parts.next()) else {
            errors.set(vec![FieldError {
                field: "lat".into(),
                message: "Indiquez la position comme « 44.7800, 1.7253 » (latitude, longitude), copiée depuis une carte.".into(),
            }]);
            return;
        };
        let input = MeetingPointInput {
            name: point_name.read().clone(),
            lat,
            lon,
        };
        spawn(async move {
            match app
                .api()
                .await
                .add_meeting_point(&territory(&app), &input)
                .await
            {
                Ok(_) => {
                    point_name.set(String::new());
                    point_position.set(String::new());
                    version += 1;
                    app.say(
                        "Point de rendez-vous enregistré : il est proposé dans les recherches.",
                    );
                }
                Err(err) => {
                    errors.set(err.field_errors());
                    app.say(err.message());
                }
            }
        });
    };
    let remove = move |what: String| {
        spawn(async move {
            match app
                .api()
                .await
                .territory_delete(&territory(&app), &what)
                .await
            {
                Ok(()) => {
                    version += 1;
                    app.say("C'est retiré.");
                }
                Err(err) => app.say(err.message()),
            }
        });
    };
    let add_alias = move |_| {
        let input = AliasInput {
            alias: alias.read().clone(),
            place_id: place
                .read()
                .as_ref()
                .map(|p| p.id.clone())
                .unwrap_or_default(),
        };
        spawn(async move {
            match app.api().await.add_alias(&territory(&app), &input).await {
                Ok(_) => {
                    alias.set(String::new());
                    place.set(None);
                    version += 1;
                    app.say("Nom local enregistré.");
                }
                Err(err) => {
                    errors.set(err.field_errors());
                    app.say(err.message());
                }
            }
        });
    };
    rsx! {
        Back { to: Screen::Coordination }
        h1 { "Relais et lieux" }
        match &*data.read() {
            None => rsx! { Loading { error: None } },
            Some(Err(err)) => rsx! { Loading { error: Some(err.message()) } },
            Some(Ok((staff, aliases, points))) => rsx! {
                h2 { "L'équipe" }
                for s in staff.as_array().cloned().unwrap_or_default() {
                    div { class: "card",
                        p { "{s[\"display_name\"].as_str().unwrap_or_default()} ({s[\"role\"].as_str().unwrap_or_default()}) — {s[\"contact\"].as_str().unwrap_or_default()}" }
                        if s["role"] == "relay" {
                            button { class: "small danger",
                                onclick: { let id = s["user_id"].as_str().unwrap_or_default().to_string(); move |_| remove(format!("staff/{id}?role=relay")) },
                                "Retirer ce relais"
                            }
                        }
                    }
                }
                h2 { "Points de rendez-vous" }
                for p in points.as_array().cloned().unwrap_or_default() {
                    div { class: "card",
                        p { "{p[\"name\"].as_str().unwrap_or_default()}" }
                        button { class: "small danger",
                            onclick: { let id = p["id"].as_str().unwrap_or_default().to_string(); move |_| remove(format!("meeting-points/{id}")) },
                            "Retirer"
                        }
                    }
                }
                h2 { "Noms locaux" }
                for a in aliases.as_array().cloned().unwrap_or_default() {
                    div { class: "card",
                        p { "« {a[\"alias\"].as_str().unwrap_or_default()} » → {a[\"place_label\"].as_str().unwrap_or_default()}" }
                        button { class: "small danger",
                            onclick: { let id = a["id"].as_str().unwrap_or_default().to_string(); move |_| remove(format!("aliases/{id}")) },
                            "Retirer"
                        }
                    }
                }
            },
        }
        h2 { "Ajouter un relais" }
        label { r#for: "relay-contact", "Son numéro de portable ou son e-mail" }
        input { id: "relay-contact", r#type: "text", value: "{contact}", oninput: move |e| contact.set(e.value()) }
        FieldMessage { errors: errors(), field: "contact" }
        button { id: "add-relay", onclick: add_relay, "Ajouter le relais" }
        h2 { "Ajouter un point de rendez-vous" }
        label { r#for: "point-name", "Son nom (commune, lieu)" }
        input { id: "point-name", r#type: "text", placeholder: "Gramat, place de la République", value: "{point_name}", oninput: move |e| point_name.set(e.value()) }
        FieldMessage { errors: errors(), field: "name" }
        label { r#for: "point-position", "Sa position (latitude, longitude)" }
        input { id: "point-position", r#type: "text", placeholder: "44.7800, 1.7253", value: "{point_position}", oninput: move |e| point_position.set(e.value()) }
        FieldMessage { errors: errors(), field: "lat" }
        button { id: "add-point", onclick: add_point, "Enregistrer le point" }
        h2 { "Ajouter un nom local" }
        label { r#for: "alias-name", "Le nom que les gens disent" }
        input { id: "alias-name", r#type: "text", value: "{alias}", oninput: move |e| alias.set(e.value()) }
        FieldMessage { errors: errors(), field: "alias" }
        PlacePicker { label: "Le lieu qu'ils veulent dire", id: "alias-place", selected: place(), onselect: move |p| place.set(chosen(p)) }
        FieldMessage { errors: errors(), field: "place_id" }
        button { id: "add-alias", onclick: add_alias, "Enregistrer le nom" }
    }
}

/// Who did what on the territory.
#[component]
pub fn Audit() -> Element {
    let app = use_context::<AppHandle>();
    let data = use_resource(move || async move {
        app.api()
            .await
            .territory_json(&territory(&app), "audit")
            .await
    });
    rsx! {
        Back { to: Screen::Coordination }
        h1 { "Journal des actions" }
        match &*data.read() {
            None => rsx! { Loading { error: None } },
            Some(Err(err)) => rsx! { Loading { error: Some(err.message()) } },
            Some(Ok(list)) => rsx! {
                ul { class: "audit",
                    for e in list.as_array().cloned().unwrap_or_default() {
                        li { "{e[\"at\"].as_str().unwrap_or_default().get(..16).unwrap_or_default()} — {e[\"actor_name\"].as_str().unwrap_or_default()} : {action_label(e[\"action\"].as_str().unwrap_or_default())} {e[\"subject_name\"].as_str().unwrap_or_default()} {e[\"detail\"].as_str().unwrap_or_default()}" }
                    }
                }
            },
        }
    }
}

/// Why a trip is not sent to the registry, in plain words.
fn flag_label(flag: &str) -> &'static str {
    match flag {
        "distance_too_short" => "trajet de moins de 2 km",
        "too_many_trips_by_day" => "plus de 4 trajets le même jour pour une personne",
        "too_close_trips" => "deux trajets d'une personne à moins de 30 minutes",
        "expired" => "plus de 24 heures après le départ : le registre le refuserait",
        "driver_phone_missing" => "le conducteur n'a pas de numéro de téléphone",
        "passenger_phone_missing" => "le passager n'a pas de numéro de téléphone",
        "driver_last_name_missing" => "le nom de famille du conducteur manque",
        "passenger_last_name_missing" => "le nom de famille du passager manque",
        _ => "règle du registre",
    }
}

fn action_label(action: &str) -> &'static str {
    match action {
        "beneficiary_registered" => "personne inscrite",
        "beneficiary_updated" => "personne modifiée",
        "beneficiary_erased" => "personne effacée",
        "request_posted_for" => "demande publiée",
        "outcome_recorded" => "suite notée",
        "contact_revealed" => "coordonnées montrées",
        "match_proposed" => "proposition à un conducteur",
        "role_granted" => "rôle donné",
        "role_removed" => "rôle retiré",
        "meeting_point_saved" | "meeting_point_removed" => "point de rendez-vous",
        "alias_saved" | "alias_removed" => "nom local",
        _ => "action",
    }
}
