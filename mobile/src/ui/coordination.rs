//! Coordinators run a territory: the matching board, the map and unmet
//! demand, the team (relays), meeting points and local place names.

use dioxus::prelude::*;
use lotocar_shared::api::Place;
use lotocar_shared::coordination::{
    AliasInput, MeetingPointInput, ProposalInput, StaffInput, UnmetCorridor,
};
use lotocar_shared::people::Role;
use lotocar_shared::validation::FieldError;

use super::pieces::{Back, ConfirmButton, FieldMessage, Loading, PlacePicker, chosen, territory};
use super::riding::progress_of;
use super::{AppHandle, Route};

#[component]
pub fn Coordination() -> Element {
    let app = use_context::<AppHandle>();
    // Low grades not yet looked at are told here, on the way in.
    let low = use_low_ratings();
    let ratings_label = match low() {
        n if n > 0 => format!("Avis après les trajets ({n} à regarder)"),
        _ => "Avis après les trajets".to_string(),
    };
    rsx! {
        Back { to: Route::RelayHome {} }
        h1 { "Coordination" }
        nav { class: "home",
            button { id: "go-board", onclick: move |_| app.go(Route::Board {}), "Demandes et candidats" }
            button { id: "go-impact", onclick: move |_| app.go(Route::Impact {}), "Chiffres d'impact" }
            button { id: "go-usage", onclick: move |_| app.go(Route::Usage {}), "Utilisation du service" }
            button { id: "go-ratings", class: "secondary", onclick: move |_| app.go(Route::Ratings {}), "{ratings_label}" }
            button { id: "go-map", class: "secondary", onclick: move |_| app.go(Route::MapView {}), "Carte et demande non satisfaite" }
            button { id: "go-registry", class: "secondary", onclick: move |_| app.go(Route::Registry {}), "Registre de preuve" }
            button { id: "go-team", class: "secondary", onclick: move |_| app.go(Route::Team {}), "Relais et lieux" }
            button { id: "go-audit", class: "secondary", onclick: move |_| app.go(Route::Audit {}), "Journal des actions" }
        }
    }
}

/// How many low grades (1 or 2) of the territory are shown, not hidden:
/// 0 until known, or for someone who may not read them.
fn use_low_ratings() -> Memo<usize> {
    let app = use_context::<AppHandle>();
    let low = use_resource(move || async move {
        app.api()
            .await
            .ratings(&territory(&app), true)
            .await
            .map(|list| list.iter().filter(|r| !r.hidden).count())
    });
    use_memo(move || match &*low.read() {
        Some(Ok(n)) => *n,
        _ => 0,
    })
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
    let low = use_low_ratings();
    rsx! {
        Back { to: Route::Coordination {} }
        h1 { "Demandes et candidats" }
        if low() > 0 {
            div { class: "card highlight", id: "low-ratings",
                p { strong { if low() == 1 { "1 avis bas (1 ou 2 sur 5) à regarder" } else { "{low()} avis bas (1 ou 2 sur 5) à regarder" } } }
                button { class: "secondary", onclick: move |_| app.go(Route::Ratings {}), "Voir les avis" }
            }
        }
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
                        p { class: "status", "{progress_of(&entry.request).label}" }
                        if progress_of(&entry.request).state.seeks_driver() {
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
                                                    Err(err) => app.warn(err.message()),
                                                }
                                            });
                                        } },
                                        "Proposer au conducteur"
                                    }
                                }
                            }
                        }
                    }
                }
            },
        }
    }
}

/// The map (SVG drawn by the server) and unmet demand.
#[component]
pub fn MapView() -> Element {
    let app = use_context::<AppHandle>();
    // The corridor of the unmet demand shown over the rest, if any.
    let mut shown = use_signal(|| None::<UnmetCorridor>);
    let map = use_resource(move || async move {
        let what = match shown() {
            Some(c) => format!("map?from_commune={}&to_commune={}", c.from.id, c.to.id),
            None => "map".to_string(),
        };
        app.api()
            .await
            .territory_text(&territory(&app), &what)
            .await
    });
    let unmet = use_resource(move || async move { app.api().await.unmet(&territory(&app)).await });
    rsx! {
        Back { to: Route::Coordination {} }
        h1 { "Carte" }
        if let Some(c) = shown() {
            div { class: "card highlight", role: "status",
                p { strong { "Sur la carte : {c.from.name} → {c.to.name}" } }
                p { "En rouge épais, ses demandes ; en bleu épais, les trajets de conducteurs qui passent le plus près." }
                button { class: "small secondary", r#type: "button", onclick: move |_| shown.set(None), "Voir toute la carte" }
            }
        }
        match &*map.read() {
            None => rsx! { Loading { error: None } },
            Some(Err(err)) => rsx! { Loading { error: Some(err.message()) } },
            Some(Ok(svg)) => rsx! { div { id: "territory-map", class: "map", dangerous_inner_html: "{svg}" } },
        }
        h2 { "Où recruter des conducteurs" }
        match &*unmet.read() {
            None => rsx! { Loading { error: None } },
            Some(Err(err)) => rsx! { Loading { error: Some(err.message()) } },
            Some(Ok(unmet)) => rsx! {
                if unmet.is_empty() { p { class: "muted", "Aucune demande restée sans conducteur." } }
                for c in unmet.iter().cloned() {
                    div { class: "card corridor", key: "{c.from.id}-{c.to.id}",
                        p { strong { "{c.from.name} → {c.to.name}" } }
                        p { "{c.unserved} demande(s) sans conducteur, {c.waiting} en attente" }
                        for t in c.closest_trips.iter() {
                            p { class: "muted", "Le plus proche : {t.summary} ({t.driver}, à {kilometres(t.gap_km)} km)" }
                        }
                        button { class: "small", r#type: "button",
                            onclick: move |_| {
                                shown.set(Some(c.clone()));
                                document::eval("document.getElementById('territory-map')?.scrollIntoView({ block: 'start' });");
                            },
                            "Voir sur la carte"
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
        let staff = api.staff(&t).await?;
        let aliases = api.aliases(&t).await?;
        let points = api.meeting_points(&t).await?;
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
                    app.warn(err.message());
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
                    app.warn(err.message());
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
                Err(err) => app.warn(err.message()),
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
                    app.warn(err.message());
                }
            }
        });
    };
    rsx! {
        Back { to: Route::Coordination {} }
        h1 { "Relais et lieux" }
        match &*data.read() {
            None => rsx! { Loading { error: None } },
            Some(Err(err)) => rsx! { Loading { error: Some(err.message()) } },
            Some(Ok((staff, aliases, points))) => rsx! {
                h2 { "L'équipe" }
                for s in staff.iter() {
                    div { class: "card", key: "{s.user_id}-{s.role.code()}",
                        p { "{s.display_name} ({role_label(s.role)}) — {s.contact}" }
                        if s.role == Role::Relay {
                            ConfirmButton {
                                label: "Retirer ce relais",
                                question: format!("Retirer {} des relais ?", s.display_name),
                                consequence: "Ce relais ne pourra plus agir pour les personnes qu'il accompagne ; leurs demandes restent suivies par la coordination.",
                                yes: "Oui, retirer ce relais",
                                onconfirm: { let id = s.user_id.clone(); move |_| remove(format!("staff/{id}?role=relay")) },
                            }
                        }
                    }
                }
                h2 { "Points de rendez-vous" }
                for p in points.iter() {
                    div { class: "card", key: "{p.id}",
                        p { "{p.name}" }
                        ConfirmButton {
                            label: "Retirer",
                            question: format!("Retirer le point de rendez-vous « {} » ?", p.name),
                            consequence: "Il ne sera plus proposé dans les nouveaux trajets et demandes.",
                            yes: "Oui, retirer ce point",
                            onconfirm: { let id = p.id.clone(); move |_| remove(format!("meeting-points/{id}")) },
                        }
                    }
                }
                h2 { "Noms locaux" }
                for a in aliases.iter() {
                    div { class: "card", key: "{a.id}",
                        p { "« {a.alias} » → {a.place_label}" }
                        ConfirmButton {
                            label: "Retirer",
                            question: format!("Retirer le nom local « {} » ?", a.alias),
                            consequence: "On ne le trouvera plus en le tapant.",
                            yes: "Oui, retirer ce nom",
                            onconfirm: { let id = a.id.clone(); move |_| remove(format!("aliases/{id}")) },
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

/// A role, as the team calls it.
pub(crate) fn role_label(role: Role) -> &'static str {
    match role {
        Role::Relay => "relais",
        Role::Coordinator => "coordination",
        Role::Admin => "administration",
    }
}

/// A distance in km, with a French decimal comma.
fn kilometres(km: f64) -> String {
    lotocar_shared::text::french_number(km, 1)
}
