//! The team's usage figures on a known history, over two weeks and on both
//! databases: people by how they came, the funnel of the needs of each
//! week (driver found, seat asked, confirmed, trip done) with its
//! conversions, the medians of how long each step took, the share served
//! per purpose, where people dropped out; the same as CSV and as
//! Prometheus gauges; another territory's activity apart; who may read
//! them and what a wrong query is told. (The web channel is shown by the
//! browser tests, where a person signs up in the web version.)

mod common;

use chrono::Datelike;
use common::booking::*;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_databases!(the_usage_figures_tell_a_known_history_week_by_week);

const COORDINATOR: &str = "coordination@example.fr";
const RELAY: &str = "relais.gramat@example.fr";
const RODEZ: &str = "commune:12202";
const MILLAU: &str = "commune:12145";
/// A week, in hours: the second part of the history happens a week later.
const WEEK_HOURS: i64 = 7 * 24;

/// The ISO week ("2026-W49") of the day `hours` from now, in Paris.
fn week_key(hours: i64) -> String {
    let day = (chrono::Utc::now() + chrono::Duration::hours(hours))
        .with_timezone(&chrono_tz::Europe::Paris)
        .date_naive();
    let week = day.iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

/// A need from `from` to `to` on `date`, for `purpose`.
fn need(from: &str, to: &str, date: &str, purpose: &str) -> Value {
    let mut body = need_arriving(from, to, date, "09:30");
    body["purpose"] = json!(purpose);
    body
}

/// The period `key` of a usage answer.
fn period<'a>(usage: &'a Value, key: &str) -> &'a Value {
    usage["periods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["key"] == key)
        .unwrap_or_else(|| panic!("no period {key} in {usage}"))
}

/// The purpose `code` of a figures object.
fn purpose<'a>(figures: &'a Value, code: &str) -> &'a Value {
    figures["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["purpose"] == code)
        .unwrap_or_else(|| panic!("no purpose {code} in {figures}"))
}

/// A median in minutes, within two minutes of `expected` (the history
/// takes some seconds to write).
fn about(value: &Value, expected: f64, what: &str) {
    let minutes = value
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: no median ({value})"));
    assert!(
        (minutes - expected).abs() <= 2.0,
        "{what}: {minutes} minutes, expected about {expected}"
    );
}

async fn the_usage_figures_tell_a_known_history_week_by_week(backend: Backend) {
    let mut server = Server::start_with(backend, many_sign_ins()).await;
    server.add_lot();
    server.add_aveyron();
    let coordinator = server
        .sign_in_with_role(COORDINATOR, "Coordination Lot", "coordinator", "lot")
        .await;
    let relay = server
        .sign_in_with_role(RELAY, "Relais Gramat", "relay", "lot")
        .await;
    let first_week = week_key(0);
    let second_week = week_key(WEEK_HOURS);
    assert_ne!(first_week, second_week);
    // Tuesdays at least ten days after each part of the history.
    let tuesday = next_weekday(1, 10);
    let later_tuesday = next_weekday(1, 7 + 10);

    // The first week. Marie drives the Cahors → Figeac commute; three
    // passengers find her at once and ask her for a seat.
    let marie = server.sign_in_as("+33611110001", "Marie Dupont").await;
    let commute = post_commute(&server, &marie).await;
    let mut asked = Vec::new();
    for (i, contact) in ["+33622220001", "+33622220002", "+33622220003"]
        .iter()
        .enumerate()
    {
        let passenger = server.sign_in_as(contact, &format!("Passager {i}")).await;
        let posted = post_need(&server, &passenger, &livernon_to_figeac(&tuesday)).await;
        assert!(
            !posted["matches"].as_array().unwrap().is_empty(),
            "{posted}"
        );
        let booking = book(&server, &passenger, id_of(&posted), &commute, &tuesday).await;
        asked.push((passenger, id_of(&booking).to_string()));
    }
    // Marie refuses the second at once; the third withdraws unanswered;
    // the first waits for her answer until next week.
    set_status(&server, &marie, &asked[1].1, "CANCELLED").await;
    set_status(&server, &asked[2].0, &asked[2].1, "CANCELLED").await;
    // Nobody drives from Gourdon to Cajarc yet.
    let shopper = server.sign_in_as("+33622220004", "Paul Courses").await;
    let shopping = post_need(
        &server,
        &shopper,
        &need(GOURDON, CAJARC, &tuesday, "shopping"),
    )
    .await;
    assert_eq!(shopping["matches"], json!([]), "{shopping}");
    // A relay registers Jeanne, who has no phone of her own, and posts her
    // need: a driver is found, she does not book (yet).
    let jeanne = register_person(&server, &relay, "Jeanne Martin", None, LIVERNON).await;
    let mut for_jeanne = need_for(&jeanne, &tuesday);
    for_jeanne["purpose"] = json!("work");
    let posted = post_need(&server, &relay, &for_jeanne).await;
    assert!(
        !posted["matches"].as_array().unwrap().is_empty(),
        "{posted}"
    );
    // Elsewhere, in the Aveyron: not the Lot's figures.
    let elsewhere = server.sign_in_as("+33622220009", "Ailleurs").await;
    post_need(
        &server,
        &elsewhere,
        &need(RODEZ, MILLAU, &tuesday, "medical"),
    )
    .await;

    // A week later.
    server.options.env.push((
        "LOTOCAR_DEV_CLOCK_OFFSET_HOURS".into(),
        WEEK_HOURS.to_string(),
    ));
    server.restart().await;
    // Marie confirms the first passenger, a week after she asked.
    set_status(&server, &marie, &asked[0].1, "CONFIRMED").await;
    // A driver now goes from Gourdon to Cajarc: the shopper's need has its
    // first driver, a week after it was posted.
    let driver = server.sign_in_as("+33611110002", "Luc Gourdon").await;
    post_offer(
        &server,
        &driver,
        &weekly_offer(GOURDON, CAJARC, "08:00", &date_in(8)),
    )
    .await;
    server.trips_matched().await;
    let found = server
        .get(
            &format!("/api/v1/requests/{}/matches", id_of(&shopping)),
            Some(&shopper),
        )
        .await;
    assert!(!found.body.as_array().unwrap().is_empty(), "{}", found.body);
    // A new passenger asks Marie; it waits, the day still to come.
    let newcomer = server.sign_in_as("+33622220005", "Nouvelle").await;
    post_need_and_book(&server, &newcomer, &commute, &later_tuesday).await;

    // The trip day of the first passenger: done, and validated by Marie.
    server
        .options
        .env
        .retain(|(k, _)| k != "LOTOCAR_DEV_CLOCK_OFFSET_HOURS");
    server.options.env.push((
        "LOTOCAR_DEV_CLOCK_OFFSET_HOURS".into(),
        hours_until_noon(&tuesday).to_string(),
    ));
    server.restart().await;
    set_status(
        &server,
        &asked[0].0,
        &asked[0].1,
        "COMPLETED_PENDING_VALIDATION",
    )
    .await;
    set_status(&server, &marie, &asked[0].1, "VALIDATED").await;

    let from = date_in(-1);
    let to = date_in(30);
    let answer = server
        .get(
            &format!("/api/v1/territories/lot/usage?from={from}&to={to}&by=week"),
            Some(&coordinator),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let usage = &answer.body;
    assert_eq!(usage["by"], "week");

    // The first week: Marie, three passengers and the shopper came with
    // the app; Jeanne through her relay (the staff and the Aveyron's
    // passenger are not counted).
    let first = period(usage, &first_week);
    assert_eq!(
        first["new_people"],
        json!({ "app": 5, "web": 0, "relay": 1, "unknown": 0, "total": 6 }),
        "{first}"
    );
    assert_eq!(
        first["funnel"],
        json!({ "needs_posted": 5, "needs_with_candidate": 5, "needs_booked": 3,
                "needs_confirmed": 1, "needs_done": 1 }),
        "{first}"
    );
    assert_eq!(
        first["conversion"],
        json!({ "posted_to_candidate": 1.0, "candidate_to_booked": 0.6,
                "booked_to_confirmed": 0.333, "confirmed_to_done": 1.0 }),
        "{first}"
    );
    // Four needs had a driver at once, the shopper's a week later.
    about(
        &first["median_minutes_to_first_candidate"],
        0.0,
        "first driver",
    );
    about(
        &first["median_minutes_to_confirmation"],
        (WEEK_HOURS * 60) as f64,
        "confirmation",
    );
    let drop_outs = &first["drop_outs"];
    assert_eq!(drop_outs["candidates_not_booked"], 2, "{drop_outs}");
    assert_eq!(drop_outs["bookings_asked"], 3, "{drop_outs}");
    assert_eq!(drop_outs["bookings_confirmed"], 1, "{drop_outs}");
    assert_eq!(drop_outs["bookings_declined"], 1, "{drop_outs}");
    assert_eq!(drop_outs["bookings_unanswered"], 1, "{drop_outs}");
    assert_eq!(drop_outs["bookings_waiting"], 0, "{drop_outs}");
    // Marie answered one at once and one a week later.
    about(
        &drop_outs["median_minutes_to_answer"],
        (WEEK_HOURS * 60) as f64 / 2.0,
        "answer",
    );
    assert_eq!(
        purpose(first, "medical"),
        &json!({ "purpose": "medical", "label": "rendez-vous médical",
                 "needs_posted": 3, "needs_served": 1, "served_share": 0.333 })
    );
    assert_eq!(purpose(first, "shopping")["needs_served"], 0);
    assert_eq!(purpose(first, "shopping")["served_share"], 0.0);
    assert_eq!(purpose(first, "work")["needs_posted"], 1);
    assert_eq!(purpose(first, "training")["served_share"], Value::Null);

    // The second week: the driver and the newcomer; her request waits.
    let second = period(usage, &second_week);
    assert_eq!(second["new_people"]["app"], 2, "{second}");
    assert_eq!(second["new_people"]["total"], 2, "{second}");
    assert_eq!(
        second["funnel"],
        json!({ "needs_posted": 1, "needs_with_candidate": 1, "needs_booked": 1,
                "needs_confirmed": 0, "needs_done": 0 }),
        "{second}"
    );
    assert_eq!(second["conversion"]["confirmed_to_done"], Value::Null);
    assert_eq!(second["drop_outs"]["bookings_waiting"], 1);
    assert_eq!(second["drop_outs"]["median_minutes_to_answer"], Value::Null);
    // Every week of the period is there, the empty ones too.
    let weeks = usage["periods"].as_array().unwrap();
    assert!(weeks.len() >= 5, "{usage}");
    let empty = weeks.last().unwrap();
    assert_eq!(empty["funnel"]["needs_posted"], 0, "{empty}");
    assert_eq!(empty["conversion"]["posted_to_candidate"], Value::Null);
    // The whole period.
    assert_eq!(usage["new_people"]["total"], 8, "{usage}");
    assert_eq!(usage["funnel"]["needs_posted"], 6, "{usage}");
    assert_eq!(usage["funnel"]["needs_booked"], 4, "{usage}");
    assert_eq!(usage["drop_outs"]["bookings_asked"], 4, "{usage}");

    // By month, the same whole.
    let monthly = server
        .get(
            &format!("/api/v1/territories/lot/usage?from={from}&to={to}&by=month"),
            Some(&coordinator),
        )
        .await;
    assert_eq!(monthly.status, StatusCode::OK, "{}", monthly.body);
    let months = monthly.body["periods"].as_array().unwrap();
    let posted: u64 = months
        .iter()
        .map(|m| m["funnel"]["needs_posted"].as_u64().unwrap())
        .sum();
    assert_eq!(posted, 6);
    assert!(
        months[0]["label"].as_str().unwrap().ends_with(&from[..4]),
        "{}",
        months[0]
    );

    // As a French spreadsheet: a header, the whole, then each week.
    let csv = server
        .get(
            &format!("/api/v1/territories/lot/usage?from={from}&to={to}&format=csv"),
            Some(&coordinator),
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.content_type().starts_with("text/csv"));
    let lines: Vec<&str> = csv.text.trim_start_matches('\u{feff}').lines().collect();
    let header: Vec<&str> = lines[0].split(';').collect();
    let row: Vec<&str> = lines
        .iter()
        .find(|l| l.starts_with(&format!("{first_week};")))
        .expect("the first week's line")
        .split(';')
        .collect();
    let cell = |name: &str| row[header.iter().position(|h| *h == name).unwrap()];
    assert_eq!(cell("demandes"), "5");
    assert_eq!(cell("nouveaux_relais"), "1");
    assert_eq!(cell("taux_reservation"), "0,6");
    assert_eq!(cell("reservations_refusees"), "1");
    assert_eq!(cell("demandes_medical"), "3");
    assert_eq!(lines.len(), 2 + weeks.len());
    // No one's name, phone or e-mail in any of it.
    for text in [&answer.text, &csv.text] {
        for personal in ["Marie", "Jeanne", "+336", "0611", "example.fr"] {
            assert!(!text.contains(personal), "{personal} in the figures");
        }
    }

    // The gauges: the Lot's since it began, the Aveyron's apart.
    let metrics = server.metrics().await;
    for line in [
        "lotocar_usage_people{territory=\"lot\",channel=\"app\"} 7",
        "lotocar_usage_people{territory=\"lot\",channel=\"relay\"} 1",
        "lotocar_usage_needs{territory=\"lot\",stage=\"posted\"} 6",
        "lotocar_usage_needs{territory=\"lot\",stage=\"with_candidate\"} 6",
        "lotocar_usage_needs{territory=\"lot\",stage=\"done\"} 1",
        "lotocar_usage_bookings{territory=\"lot\",outcome=\"declined\"} 1",
        "lotocar_usage_bookings{territory=\"lot\",outcome=\"waiting\"} 1",
        "lotocar_usage_needs{territory=\"aveyron\",stage=\"posted\"} 1",
        "lotocar_usage_people{territory=\"aveyron\",channel=\"app\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no « {line} » in\n{metrics}"
        );
    }

    // A relay of the territory may read them; a passenger may not; an
    // unknown territory is not found; a wrong query is told what to fix,
    // in French, at its field.
    let by_relay = server
        .get("/api/v1/territories/lot/usage", Some(&relay))
        .await;
    assert_eq!(by_relay.status, StatusCode::OK, "{}", by_relay.body);
    // Twelve weeks by default, up to this one.
    assert_eq!(by_relay.body["periods"].as_array().unwrap().len(), 12);
    let refused = server
        .get("/api/v1/territories/lot/usage", Some(&marie))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let unknown = server
        .get("/api/v1/territories/atlantide/usage", Some(&coordinator))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let none = server.get("/api/v1/territories/lot/usage", None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    for (query, field) in [
        (format!("from={to}&to={from}"), "to"),
        ("by=day".to_string(), "by"),
        ("from=2026-13-01".to_string(), "from"),
        ("from=1990-01-01&by=week".to_string(), "from"),
        ("format=xls".to_string(), "format"),
    ] {
        let wrong = server
            .get(
                &format!("/api/v1/territories/lot/usage?{query}"),
                Some(&coordinator),
            )
            .await;
        assert_eq!(
            wrong.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            wrong.body
        );
        let problem = wrong.problem(422);
        assert!(
            wrong.error_fields().contains(&field.to_string())
                || problem["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains(field)),
            "{query}: {problem}"
        );
    }
}
