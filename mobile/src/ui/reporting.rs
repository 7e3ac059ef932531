//! What coordinators report: impact figures for funders, how the service
//! is used (for the team), the proof registry's export, and the audit log.

use dioxus::prelude::*;
use lotocar_shared::reporting::{self, Figures, UsageFigures};
use lotocar_shared::text::french_number;
use lotocar_shared::time::{french_date_time, french_date_with_year, french_month_of_key};

use super::forms::TZ;
use super::pieces::{Back, Loading, percent_encode, territory};
use super::{AppHandle, Route};

/// The figures, two charts and the CSV.
#[component]
pub fn ImpactScreen() -> Element {
    let app = use_context::<AppHandle>();
    let data = use_resource(move || async move {
        let api = app.api().await;
        let t = territory(&app);
        let figures = api.impact(&t).await?;
        let csv = api.territory_text(&t, "impact?format=csv").await?;
        Ok::<_, crate::api::ApiError>((figures, csv))
    });
    rsx! {
        Back { to: Route::Coordination {} }
        h1 { "Chiffres d'impact" }
        match &*data.read() {
            None => rsx! { Loading { error: None } },
            Some(Err(err)) => rsx! { Loading { error: Some(err.message()) } },
            Some(Ok((f, csv))) => rsx! {
                Totals { impact: f.clone() }
                h2 { "Par mois" }
                BarChart { label: "Demandes et demandes servies, par mois",
                    rows: f.by_month.iter().map(|m| (french_month_of_key(&m.month), m.figures.clone())).collect::<Vec<_>>() }
                h2 { "Par commune de départ" }
                BarChart { label: "Demandes et demandes servies, par commune de départ",
                    rows: f.by_commune.iter().take(10).map(|c| (c.name.clone(), c.figures.clone())).collect::<Vec<_>>() }
                h2 { "Pourquoi des demandes n'ont pas abouti" }
                if f.reasons.is_empty() { p { class: "muted", "Aucune demande sans suite." } }
                ul {
                    for r in f.reasons.iter() {
                        li { "{r.label} : {r.count}" }
                    }
                }
                a { id: "impact-csv", class: "button", href: "data:text/csv;charset=utf-8,{percent_encode(&with_mark(csv))}", download: "impact.csv", "Télécharger le tableau (CSV)" }
                p { class: "muted", "CO₂ : {french_number(f.co2_kg_per_km, 3)} kg par km de voiture évité (ADEME)." }
            },
        }
    }
}

/// The CSV with its byte order mark, which tells a spreadsheet it is UTF-8
/// (reading the text may have dropped it).
fn with_mark(csv: &str) -> String {
    if csv.starts_with('\u{feff}') {
        csv.to_string()
    } else {
        format!("\u{feff}{csv}")
    }
}

/// The figures of the whole period.
#[component]
fn Totals(impact: reporting::Impact) -> Element {
    let t = &impact.totals;
    rsx! {
        dl { class: "figures",
            dt { "Demandes" } dd { id: "fig-needs", "{t.needs_posted}" }
            dt { "Servies" } dd { id: "fig-served", "{t.needs_served} ({percent(t.served_share)} %)" }
            dt { "Trajets effectués" } dd { id: "fig-done", "{t.trips_done}" }
            dt { "Personnes transportées" } dd { "{t.people_served}" }
            dt { "Kilomètres partagés" } dd { "{french_number(t.km_shared, 1)} km" }
            dt { "CO₂ évité" } dd { "{french_number(t.co2_avoided_kg, 1)} kg" }
            dt { "Personnes revenues" } dd { "{percent(impact.return_rate)} %" }
        }
    }
}

/// A share as a whole percentage.
fn percent(share: f64) -> f64 {
    (share * 100.0).round()
}

/// Needs posted (light) and served (dark), one pair of bars per row
/// (a month, a commune), its name above them. Drawn 320 wide: on a phone
/// (and the chart is never wider than 480 px), its words are 16 px or more.
#[component]
fn BarChart(label: String, rows: Vec<(String, Figures)>) -> Element {
    let max = rows
        .iter()
        .map(|(_, f)| f.needs_posted as f64)
        .fold(1.0, f64::max);
    let height = 64.0 * rows.len() as f64 + 8.0;
    rsx! {
        svg { class: "chart", view_box: "0 0 320 {height}", width: "100%", role: "img", "aria-label": "{label}",
            title { "{label}" }
            for (i, (name, f)) in rows.iter().enumerate() {
                {
                    let y = 4.0 + 64.0 * i as f64;
                    let posted = 240.0 * f.needs_posted as f64 / max;
                    let served = 240.0 * f.needs_served as f64 / max;
                    rsx! {
                        text { x: "0", y: "{y + 18.0}", font_size: "17", "{name}" }
                        rect { x: "0", y: "{y + 24.0}", width: "{posted}", height: "16", fill: "#b9d3de" }
                        rect { x: "0", y: "{y + 42.0}", width: "{served}", height: "16", fill: "#12506a" }
                        text { x: "{posted + 6.0}", y: "{y + 38.0}", font_size: "17", "{f.needs_posted}" }
                        text { x: "{served + 6.0}", y: "{y + 56.0}", font_size: "17", "{f.needs_served}" }
                    }
                }
            }
        }
        p { class: "muted", "Clair : demandes ; foncé : demandes servies." }
    }
}

/// How the service is used: people who came, what became of their
/// requests step by step, how long it took, where people stop; by week or
/// by month, and as a CSV table.
#[component]
pub fn UsageScreen() -> Element {
    let app = use_context::<AppHandle>();
    let mut monthly = use_signal(|| false);
    let data = use_resource(move || async move {
        let by = if monthly() { "month" } else { "week" };
        let api = app.api().await;
        let t = territory(&app);
        let usage = api.usage(&t, by).await?;
        let csv = api
            .territory_text(&t, &format!("usage?by={by}&format=csv"))
            .await?;
        Ok::<_, crate::api::ApiError>((usage, csv))
    });
    let pressed = |on: bool| if on { "true" } else { "false" };
    rsx! {
        Back { to: Route::Coordination {} }
        h1 { "Utilisation du service" }
        p { class: "muted", "Des totaux seulement, tirés de nos données : aucun nom, aucun suivi des écrans." }
        div { class: "choice",
            button { id: "usage-weeks", class: if monthly() { "secondary" } else { "" },
                "aria-pressed": pressed(!monthly()), onclick: move |_| monthly.set(false), "Par semaine" }
            button { id: "usage-months", class: if monthly() { "" } else { "secondary" },
                "aria-pressed": pressed(monthly()), onclick: move |_| monthly.set(true), "Par mois" }
        }
        match &*data.read() {
            None => rsx! { Loading { error: None } },
            Some(Err(err)) => rsx! { Loading { error: Some(err.message()) } },
            Some(Ok((usage, csv))) => {
                let whole = if usage.by == "month" {
                    format!("Sur les {} derniers mois", usage.periods.len())
                } else {
                    format!("Sur les {} dernières semaines", usage.periods.len())
                };
                let f = usage.totals.clone();
                rsx! {
                    h2 { "{whole}" }
                    Steps { figures: f.clone() }
                    h2 { "Par motif" }
                    ul { id: "usage-purposes",
                        for p in f.purposes.iter().filter(|p| p.needs_posted > 0) {
                            li { "{purpose_said(p)}" }
                        }
                    }
                    if f.funnel.needs_posted == 0 { p { class: "muted", "Aucune demande sur la période." } }
                    h2 { "Où les personnes s'arrêtent" }
                    DropOutList { figures: f.clone() }
                    h2 { if usage.by == "month" { "Mois par mois" } else { "Semaine par semaine" } }
                    for period in usage.periods.iter().rev() {
                        div { class: "card",
                            h3 { "{capitalised(&period.label)}" }
                            if period.figures.new_people.total == 0 && period.figures.funnel.needs_posted == 0 {
                                p { class: "muted", "Ni nouvelle personne, ni demande." }
                            } else {
                                PeriodLine { figures: period.figures.clone() }
                            }
                        }
                    }
                    a { id: "usage-csv", class: "button", href: "data:text/csv;charset=utf-8,{percent_encode(&with_mark(csv))}", download: "utilisation.csv", "Télécharger le tableau (CSV)" }
                }
            }
        }
    }
}

/// The whole period, step by step.
#[component]
fn Steps(figures: UsageFigures) -> Element {
    let (p, n) = (&figures.new_people, &figures.funnel);
    let c = &figures.conversion;
    rsx! {
        dl { class: "figures", id: "usage-steps",
            dt { "Nouvelles personnes" }
            dd { "{p.total} (appli {p.app}, navigateur {p.web}, relais {p.relay})" }
            dt { "Demandes de trajet" } dd { id: "usage-needs", "{n.needs_posted}" }
            dt { "Un conducteur trouvé" } dd { "{n.needs_with_candidate}{share_said(c.posted_to_candidate)}" }
            dt { "Une place demandée" } dd { "{n.needs_booked}{share_said(c.candidate_to_booked)}" }
            dt { "Une place confirmée" } dd { "{n.needs_confirmed}{share_said(c.booked_to_confirmed)}" }
            dt { "Trajet effectué" } dd { "{n.needs_done}{share_said(c.confirmed_to_done)}" }
            dt { "Attente du premier conducteur (médiane)" } dd { "{duration_said(figures.median_minutes_to_first_candidate)}" }
            dt { "Attente de la confirmation (médiane)" } dd { "{duration_said(figures.median_minutes_to_confirmation)}" }
        }
        p { class: "muted", "Entre parenthèses : la part de l'étape précédente." }
    }
}

/// Where requests stop.
#[component]
fn DropOutList(figures: UsageFigures) -> Element {
    let d = &figures.drop_outs;
    rsx! {
        ul { id: "usage-drop-outs",
            li { "Conducteur trouvé, mais aucune place demandée : {d.candidates_not_booked}" }
            li { "Places demandées : {d.bookings_asked}, dont confirmées : {d.bookings_confirmed}" }
            li { "Refusées par la personne sollicitée : {d.bookings_declined}" }
            li { "Restées sans réponse : {d.bookings_unanswered}" }
            li { "En attente de réponse : {d.bookings_waiting}" }
            li { "Délai de réponse (médiane) : {duration_said(d.median_minutes_to_answer)}" }
        }
    }
}

/// One week or month, in a line.
#[component]
fn PeriodLine(figures: UsageFigures) -> Element {
    let (p, n) = (&figures.new_people, &figures.funnel);
    rsx! {
        p { "{people_and_needs(p.total, n.needs_posted)}" }
        p { "Conducteur trouvé : {n.needs_with_candidate} · place demandée : {n.needs_booked} · confirmée : {n.needs_confirmed} · effectué : {n.needs_done}" }
    }
}

/// « 2 nouvelles personnes, 3 demandes ».
fn people_and_needs(people: u64, needs: u64) -> String {
    format!(
        "{}, {}",
        plural(people, "nouvelle personne"),
        plural(needs, "demande")
    )
}

/// « Rendez-vous médical : 3 demandes, 1 servie (33 %) ».
fn purpose_said(p: &reporting::PurposeUse) -> String {
    format!(
        "{} : {}, {}{}",
        capitalised(&p.label),
        plural(p.needs_posted, "demande"),
        plural(p.needs_served, "servie"),
        share_said(p.served_share)
    )
}

/// "3 demandes", "1 demande", "0 demande" (French: the singular up to 1).
fn plural(n: u64, word: &str) -> String {
    if n > 1 {
        let words: Vec<String> = word.split(' ').map(|w| format!("{w}s")).collect();
        format!("{n} {}", words.join(" "))
    } else {
        format!("{n} {word}")
    }
}

/// " (60 %)", or nothing when there is no share.
fn share_said(share: Option<f64>) -> String {
    share
        .map(|s| format!(" ({} %)", percent(s)))
        .unwrap_or_default()
}

/// A median duration in plain words: « moins d'une minute », « 25 min »,
/// « 3 h 10 min », « 2 jours et 4 h »; « pas encore » when unknown.
fn duration_said(minutes: Option<f64>) -> String {
    let Some(minutes) = minutes else {
        return "pas encore".into();
    };
    let total = minutes.round() as i64;
    let (days, hours, mins) = (total / 1440, total % 1440 / 60, total % 60);
    match (days, hours) {
        _ if total < 1 => "moins d'une minute".into(),
        (0, 0) => format!("{mins} min"),
        (0, _) if mins == 0 => format!("{hours} h"),
        (0, _) => format!("{hours} h {mins} min"),
        (1, 0) => "1 jour".into(),
        (1, _) => format!("1 jour et {hours} h"),
        (_, 0) => format!("{days} jours"),
        _ => format!("{days} jours et {hours} h"),
    }
}

/// « Semaine du 23 novembre 2026 » from « semaine du… ».
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Feedback after trips: the low grades first, to look at, then the
/// others; each comment with who wrote it and about whom; hiding one asks
/// why (the audit log keeps it).
#[component]
pub fn RatingsScreen() -> Element {
    let app = use_context::<AppHandle>();
    let mut list =
        use_resource(move || async move { app.api().await.ratings(&territory(&app), false).await });
    rsx! {
        Back { to: Route::Coordination {} }
        h1 { "Avis après les trajets" }
        p { class: "muted", "Les notes de 1 à 5 que les conducteurs et les passagers se donnent. Les notes de 1 ou 2 sont à regarder." }
        match &*list.read() {
            None => rsx! { Loading { error: None } },
            Some(Err(err)) => rsx! { Loading { error: Some(err.message()) } },
            Some(Ok(ratings)) if ratings.is_empty() => rsx! { p { "Aucun avis pour l'instant." } },
            Some(Ok(ratings)) => {
                let mut sorted = ratings.clone();
                // Low and shown first; then the newest.
                sorted.sort_by_key(|r| (!r.low || r.hidden, std::cmp::Reverse(r.created_at)));
                rsx! {
                    for r in sorted {
                        RatingCard { key: "{r.id}", rating: r.clone(), onhidden: move |_| list.restart() }
                    }
                }
            }
        }
    }
}

#[component]
fn RatingCard(rating: lotocar_shared::rating::StaffRating, onhidden: EventHandler<()>) -> Element {
    let app = use_context::<AppHandle>();
    let mut reason = use_signal(String::new);
    let mut hiding = use_signal(|| false);
    let r = rating;
    let input_id = format!("hide-reason-{}", r.id);
    let hide = {
        let id = r.id.clone();
        move |_| {
            let id = id.clone();
            spawn(async move {
                let api = app.api().await;
                match api.hide_rating(&territory(&app), &id, &reason.read()).await {
                    Ok(()) => {
                        app.say("Avis masqué : le journal des actions garde le motif.");
                        onhidden.call(());
                    }
                    Err(err) => app.warn(err.message()),
                }
            });
        }
    };
    let when = french_date_time(r.created_at.with_timezone(&TZ));
    rsx! {
        div { class: if r.low && !r.hidden { "card highlight rating" } else { "card rating" },
            if r.low && !r.hidden { p { class: "status CANCELLED", "À regarder" } }
            p { strong { "{r.grade} sur 5" } " — de {r.from_name}, sur {r.about_name}" }
            p { class: "muted", "{when}" }
            if !r.comment.is_empty() { p { "« {r.comment} »" } }
            if r.hidden {
                p { class: "muted", "Masqué. Motif : {r.hidden_reason.clone().unwrap_or_default()}" }
            } else if hiding() {
                label { r#for: "{input_id}", "Pourquoi le masquer ?" }
                input { id: "{input_id}", r#type: "text", value: "{reason}", oninput: move |e| reason.set(e.value()) }
                button { class: "danger", onclick: hide, "Masquer cet avis" }
                button { class: "secondary", onclick: move |_| hiding.set(false), "Non, le garder" }
            } else {
                button { class: "secondary", onclick: move |_| hiding.set(true), "Masquer…" }
            }
        }
    }
}

/// The bodies for the national proof registry.
#[component]
pub fn Registry() -> Element {
    let app = use_context::<AppHandle>();
    let data =
        use_resource(move || async move { app.api().await.registry(&territory(&app)).await });
    rsx! {
        Back { to: Route::Coordination {} }
        h1 { "Registre de preuve de covoiturage" }
        match &*data.read() {
            None => rsx! { Loading { error: None } },
            Some(Err(err)) => rsx! { Loading { error: Some(err.message()) } },
            Some(Ok(export)) => rsx! {
                if export.journeys.is_empty() { p { class: "muted", "Aucun trajet effectué à déclarer." } }
                for j in export.journeys.iter() {
                    div { class: "card journey", key: "{j.booking_id}",
                        p { strong { "Trajet du {journey_date(&j.date)}" } }
                        if j.send {
                            p { class: "status", "À envoyer" }
                        } else {
                            p { class: "status", "Non envoyé" }
                            ul {
                                for f in j.flags.iter() {
                                    li { "{flag_label(f)}" }
                                }
                            }
                        }
                        if !j.body.is_null() {
                            pre { class: "registry-body", "{serde_json::to_string_pretty(&j.body).unwrap_or_default()}" }
                        }
                    }
                }
            },
        }
    }
}

/// Who did what on the territory.
#[component]
pub fn Audit() -> Element {
    let app = use_context::<AppHandle>();
    let data = use_resource(move || async move { app.api().await.audit(&territory(&app)).await });
    rsx! {
        Back { to: Route::Coordination {} }
        h1 { "Journal des actions" }
        match &*data.read() {
            None => rsx! { Loading { error: None } },
            Some(Err(err)) => rsx! { Loading { error: Some(err.message()) } },
            Some(Ok(list)) => rsx! {
                ul { class: "audit",
                    for e in list.iter() {
                        li { "{when(&e.at)} — {e.actor_name} : {action_label(&e.action)} {e.subject_name} {detail_label(&e.detail)}" }
                    }
                }
            },
        }
    }
}

/// "mardi 8 décembre à 8 h 24", in France's time.
fn when(at: &chrono::DateTime<chrono::Utc>) -> String {
    french_date_time(at.with_timezone(&TZ))
}

/// "mardi 8 décembre 2026" for "2026-12-08".
fn journey_date(date: &str) -> String {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map(french_date_with_year)
        .unwrap_or_else(|_| date.to_string())
}

/// An audit line's detail in words: a role, a contact kind, or the text.
fn detail_label(detail: &str) -> String {
    if let Some(role) = lotocar_shared::people::Role::from_code(detail) {
        return format!("({})", super::coordination::role_label(role));
    }
    match detail {
        "phone" => "(téléphone)".into(),
        "email" => "(e-mail)".into(),
        other => other.to_string(),
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
