//! Usage figures for the team that runs a territory: people who came (by
//! the app, the web version or a relay), then, for the needs posted in
//! each week or month, how many found a driver, were booked, confirmed and
//! done; the medians of how long that took; the share served per purpose;
//! where people drop out. Computed from our own tables when asked: no
//! third-party analytics, no screen tracking, no name, phone or e-mail.
//! A report: it reads and writes nothing. Definitions: docs/usage.md.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Days, Months, NaiveDate, TimeZone};
use chrono_tz::Tz;
use lotocar_shared::api::Problem;
use lotocar_shared::booking::BookingStatus;
use lotocar_shared::need::{NeedStatus, Purpose};
use lotocar_shared::reporting::{
    Conversion, DropOuts, Funnel, NewPeople, PurposeUse, Usage, UsageFigures, UsagePeriod,
};
use lotocar_shared::time::{french_day, french_month};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, AuthUser};
use crate::db::Db;
use crate::error::{ApiPath, ApiQuery, ApiResult, Error, Result};
use crate::impact::{Dialect, ReportFormat, Reporting, csv_attachment, csv_field, parse_day};

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Reporting: FromRef<S>,
    Auth: FromRef<S>,
{
    OpenApiRouter::new().routes(routes!(usage))
}

/// Weeks shown when no start is given (by month: months).
const DEFAULT_PERIODS: u32 = 12;
/// At most this many weeks or months in one answer.
const MOST_PERIODS: usize = 520;

/// Weeks or months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum Grain {
    #[default]
    Week,
    Month,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct UsageParams {
    /// First day (YYYY-MM-DD); by default the start of the 12th week (or
    /// month) before `to`.
    #[param(format = Date)]
    from: Option<String>,
    /// Last day (YYYY-MM-DD); today by default.
    #[param(format = Date)]
    to: Option<String>,
    /// `week` (the default) or `month`.
    #[param(inline)]
    by: Option<Grain>,
    /// `json` (the default), `csv` (a French spreadsheet; also chosen by
    /// `Accept: text/csv`) or `csv-rfc4180`.
    #[param(inline)]
    format: Option<ReportFormat>,
}

/// How the territory is used over a period, week by week (or month by
/// month): JSON, or a CSV table.
#[utoipa::path(get, path = "/api/v1/territories/{id}/usage", tag = "impact",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory"), UsageParams),
    responses(
        (status = 200, description = "JSON, or a CSV table (`format=csv` or `Accept: text/csv`)",
            content((Usage = "application/json"), (String = "text/csv"))),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ))]
async fn usage(
    State(reporting): State<Reporting>,
    user: AuthUser,
    ApiPath(territory_id): ApiPath<String>,
    ApiQuery(params): ApiQuery<UsageParams>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let territory = user
        .require_staff(&reporting.territories, &territory_id)
        .await?;
    let tz = territory.timezone;
    let grain = params.by.unwrap_or_default();
    let today = crate::db::now().with_timezone(&tz).date_naive();
    let to = parse_day("to", &params.to)?.unwrap_or(today);
    let from = match parse_day("from", &params.from)? {
        Some(from) => from,
        None => default_start(to, grain),
    };
    if from > to {
        return Err(Error::field("to", "La fin de la période doit être après son début.").into());
    }
    let periods = periods(from, to, grain);
    if periods.len() > MOST_PERIODS {
        return Err(Error::field(
            "from",
            format!(
                "Période trop longue : {MOST_PERIODS} semaines ou mois au plus. Choisissez un début plus proche, ou « par mois »."
            ),
        )
        .into());
    }
    let figures = compute(
        &reporting.db,
        &territory_id,
        tz,
        (from, to),
        (grain, periods),
        today,
    )
    .await?;
    if let Some(dialect) = ReportFormat::dialect(params.format, &headers) {
        return Ok(csv_attachment(
            &format!("utilisation-{territory_id}-{from}-{to}.csv"),
            to_csv(&figures, dialect),
        ));
    }
    Ok(Json(figures).into_response())
}

/// The start of the `DEFAULT_PERIODS`-th week (or month) before `to`, `to`'s
/// own included.
fn default_start(to: NaiveDate, grain: Grain) -> NaiveDate {
    let start = period_start(to, grain);
    match grain {
        Grain::Week => start - Days::new(7 * u64::from(DEFAULT_PERIODS - 1)),
        Grain::Month => start - Months::new(DEFAULT_PERIODS - 1),
    }
}

/// The first day of the week (Monday) or month of `day`.
fn period_start(day: NaiveDate, grain: Grain) -> NaiveDate {
    match grain {
        Grain::Week => day - Days::new(u64::from(day.weekday().num_days_from_monday())),
        Grain::Month => day.with_day(1).expect("every month has a first day"),
    }
}

/// The weeks or months from `from` to `to`: key, label, first day counted.
fn periods(from: NaiveDate, to: NaiveDate, grain: Grain) -> Vec<(String, String, NaiveDate)> {
    let mut out = Vec::new();
    let mut start = period_start(from, grain);
    while start <= to && out.len() <= MOST_PERIODS {
        let (key, label) = match grain {
            Grain::Week => {
                let week = start.iso_week();
                (
                    format!("{}-W{:02}", week.year(), week.week()),
                    format!(
                        "semaine du {} {}",
                        french_day(start.day()),
                        french_month(start.year(), start.month())
                    ),
                )
            }
            Grain::Month => (
                format!("{}-{:02}", start.year(), start.month()),
                french_month(start.year(), start.month()),
            ),
        };
        out.push((key, label, start.max(from)));
        start = match grain {
            Grain::Week => start + Days::new(7),
            Grain::Month => start + Months::new(1),
        };
    }
    out
}

/// Midnight of `day` in `tz`, in milliseconds (the first instant of the
/// day when midnight is skipped).
fn midnight_ms(tz: Tz, day: NaiveDate) -> i64 {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    tz.from_local_datetime(&midnight)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|at| at.timestamp_millis())
        .unwrap_or_else(|| midnight.and_utc().timestamp_millis())
}

/// One need posted, as the figures read it.
struct NeedRow {
    id: String,
    created_at: i64,
    purpose: String,
    status: String,
    first_candidate_at: Option<i64>,
}

/// One booking of those needs.
struct BookingRow {
    need_id: String,
    created_at: i64,
    status: String,
    first_date: String,
    answered_at: Option<i64>,
    confirmed_at: Option<i64>,
}

/// One thing the figures count.
enum Item<'a> {
    /// A person who came, and how.
    Person(Option<&'a str>),
    /// A need posted, with its bookings.
    Need(&'a NeedRow, &'a [&'a BookingRow]),
}

/// Every person and need of `rows`, with the instant it counts at.
fn each_item(rows: &Rows, mut f: impl FnMut(i64, Item<'_>)) {
    for (created_at, via) in &rows.people {
        f(*created_at, Item::Person(via.as_deref()));
    }
    let mut of_need: HashMap<&str, Vec<&BookingRow>> = HashMap::new();
    for b in &rows.bookings {
        of_need.entry(b.need_id.as_str()).or_default().push(b);
    }
    for need in &rows.needs {
        let bookings = of_need
            .get(need.id.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        f(need.created_at, Item::Need(need, bookings));
    }
}

/// What one period (or the whole) adds up.
#[derive(Default)]
struct Tally {
    people: NewPeople,
    funnel: Funnel,
    to_candidate: Vec<i64>,
    to_confirmation: Vec<i64>,
    to_answer: Vec<i64>,
    purposes: HashMap<&'static str, (u64, u64)>,
    drop_outs: DropOuts,
}

impl Tally {
    fn add(&mut self, item: &Item<'_>, today: &str) {
        match item {
            Item::Person(via) => self.person(*via),
            Item::Need(need, bookings) => self.need(need, bookings, today),
        }
    }

    fn person(&mut self, via: Option<&str>) {
        let people = &mut self.people;
        match via {
            Some("app") => people.app += 1,
            Some("web") => people.web += 1,
            Some("relay") => people.relay += 1,
            _ => people.unknown += 1,
        }
        people.total += 1;
    }

    fn need(&mut self, need: &NeedRow, bookings: &[&BookingRow], today: &str) {
        let f = &mut self.funnel;
        f.needs_posted += 1;
        let booked = !bookings.is_empty();
        let confirmed_at = bookings
            .iter()
            .filter(|b| was_confirmed(b))
            .map(|b| b.confirmed_at)
            .collect::<Vec<_>>();
        let confirmed = !confirmed_at.is_empty();
        let done = need.status == NeedStatus::Done.code();
        // A booking means a driver was found, even before this was noted.
        let candidate = need.first_candidate_at.is_some() || booked;
        f.needs_with_candidate += u64::from(candidate);
        f.needs_booked += u64::from(booked);
        f.needs_confirmed += u64::from(confirmed);
        f.needs_done += u64::from(done);
        if let Some(at) = need.first_candidate_at {
            self.to_candidate.push(at - need.created_at);
        }
        if let Some(at) = confirmed_at.iter().flatten().min() {
            self.to_confirmation.push(at - need.created_at);
        }
        let purpose = Purpose::from_code(&need.purpose).unwrap_or(Purpose::Other);
        let entry = self.purposes.entry(purpose.code()).or_default();
        entry.0 += 1;
        entry.1 += u64::from(confirmed || done);
        let d = &mut self.drop_outs;
        d.candidates_not_booked += u64::from(candidate && !booked);
        for b in bookings {
            d.bookings_asked += 1;
            if was_confirmed(b) {
                d.bookings_confirmed += 1;
            } else if b.answered_at.is_some() {
                d.bookings_declined += 1;
            } else if waiting(b) && b.first_date.as_str() >= today {
                d.bookings_waiting += 1;
            } else {
                d.bookings_unanswered += 1;
            }
            if let Some(at) = b.answered_at {
                self.to_answer.push(at - b.created_at);
            }
        }
    }

    fn figures(mut self) -> UsageFigures {
        let share = |part: u64, whole: u64| {
            (whole > 0).then(|| (part as f64 / whole as f64 * 1000.0).round() / 1000.0)
        };
        let f = &self.funnel;
        let conversion = Conversion {
            posted_to_candidate: share(f.needs_with_candidate, f.needs_posted),
            candidate_to_booked: share(f.needs_booked, f.needs_with_candidate),
            booked_to_confirmed: share(f.needs_confirmed, f.needs_booked),
            confirmed_to_done: share(f.needs_done, f.needs_confirmed),
        };
        self.drop_outs.median_minutes_to_answer = median_minutes(&mut self.to_answer);
        UsageFigures {
            median_minutes_to_first_candidate: median_minutes(&mut self.to_candidate),
            median_minutes_to_confirmation: median_minutes(&mut self.to_confirmation),
            purposes: Purpose::ALL
                .into_iter()
                .map(|p| {
                    let (posted, served) = self.purposes.get(p.code()).copied().unwrap_or_default();
                    PurposeUse {
                        purpose: p.code().to_string(),
                        label: p.french().to_string(),
                        needs_posted: posted,
                        needs_served: served,
                        served_share: share(served, posted),
                    }
                })
                .collect(),
            new_people: self.people,
            funnel: self.funnel,
            conversion,
            drop_outs: self.drop_outs,
        }
    }
}

/// Confirmed at some point (bookings confirmed before this was recorded
/// are known by their status).
fn was_confirmed(b: &BookingRow) -> bool {
    b.confirmed_at.is_some()
        || [
            BookingStatus::Confirmed,
            BookingStatus::CompletedPendingValidation,
            BookingStatus::Validated,
        ]
        .iter()
        .any(|s| s.code() == b.status)
}

fn waiting(b: &BookingRow) -> bool {
    [
        BookingStatus::Initiated,
        BookingStatus::WaitingConfirmation,
        BookingStatus::WaitingDriverConfirmation,
        BookingStatus::WaitingPassengerConfirmation,
    ]
    .iter()
    .any(|s| s.code() == b.status)
}

/// The median of durations in milliseconds, in minutes (one decimal).
fn median_minutes(values: &mut [i64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    let middle = if n % 2 == 1 {
        values[n / 2] as f64
    } else {
        (values[n / 2 - 1] + values[n / 2]) as f64 / 2.0
    };
    Some((middle.max(0.0) / 60_000.0 * 10.0).round() / 10.0)
}

/// The usage of a territory from `from` to `to` (days in `tz`), by week or
/// month (`periods`, as [`periods`] lists them); `today` tells a booking
/// still waiting from one never answered.
async fn compute(
    db: &Db,
    territory_id: &str,
    tz: Tz,
    (from, to): (NaiveDate, NaiveDate),
    (grain, periods): (Grain, Vec<(String, String, NaiveDate)>),
    today: NaiveDate,
) -> Result<Usage> {
    let starts: Vec<i64> = periods
        .iter()
        .map(|(_, _, start)| midnight_ms(tz, *start))
        .collect();
    let (start, end) = (midnight_ms(tz, from), midnight_ms(tz, to + Days::new(1)));
    let rows = read(db, territory_id, start, end).await?;
    // The period of an instant: the last one starting at or before it.
    let slot = |at: i64| starts.partition_point(|s| *s <= at).saturating_sub(1);
    let mut total = Tally::default();
    let mut tallies: Vec<Tally> = periods.iter().map(|_| Tally::default()).collect();
    let today = today.to_string();
    each_item(&rows, |at, item| {
        total.add(&item, &today);
        tallies[slot(at)].add(&item, &today);
    });
    Ok(Usage {
        territory_id: territory_id.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        by: match grain {
            Grain::Week => "week",
            Grain::Month => "month",
        }
        .to_string(),
        totals: total.figures(),
        periods: periods
            .into_iter()
            .zip(tallies)
            .map(|((key, label, start), tally)| UsagePeriod {
                key,
                label,
                start: start.to_string(),
                figures: tally.figures(),
            })
            .collect(),
    })
}

/// What the figures of `[start, end)` read.
struct Rows {
    /// When each person came, and how.
    people: Vec<(i64, Option<String>)>,
    needs: Vec<NeedRow>,
    bookings: Vec<BookingRow>,
}

async fn read(db: &Db, territory_id: &str, start: i64, end: i64) -> Result<Rows> {
    use sqlx::Row;
    // An account counts in the territory where it posted a trip or a need
    // of its own; a relay's people, in the relay's territory.
    let mut people: Vec<(i64, Option<String>)> = sqlx::query_as(
        "SELECT u.created_at, u.joined_via FROM users u
         WHERE u.created_at >= $2 AND u.created_at < $3
           AND (EXISTS (SELECT 1 FROM needs n WHERE n.owner_id = u.id AND n.on_behalf_of IS NULL AND n.territory_id = $1)
             OR EXISTS (SELECT 1 FROM offers o WHERE o.owner_id = u.id AND o.territory_id = $1))",
    )
    .bind(territory_id)
    .bind(start)
    .bind(end)
    .fetch_all(&db.pool)
    .await?;
    let registered: Vec<(i64,)> = sqlx::query_as(
        "SELECT created_at FROM beneficiaries WHERE territory_id = $1 AND created_at >= $2 AND created_at < $3",
    )
    .bind(territory_id)
    .bind(start)
    .bind(end)
    .fetch_all(&db.pool)
    .await?;
    people.extend(
        registered
            .into_iter()
            .map(|(at,)| (at, Some("relay".to_string()))),
    );
    let needs = sqlx::query(
        "SELECT id, created_at, purpose, status, first_candidate_at FROM needs
         WHERE territory_id = $1 AND created_at >= $2 AND created_at < $3",
    )
    .bind(territory_id)
    .bind(start)
    .bind(end)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(NeedRow {
            id: r.try_get("id")?,
            created_at: r.try_get("created_at")?,
            purpose: r.try_get("purpose")?,
            status: r.try_get("status")?,
            first_candidate_at: r.try_get("first_candidate_at")?,
        })
    })
    .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
    let bookings = sqlx::query(
        "SELECT b.need_id, b.created_at, b.status, b.first_date, b.answered_at, b.confirmed_at
         FROM bookings b JOIN needs n ON n.id = b.need_id
         WHERE n.territory_id = $1 AND n.created_at >= $2 AND n.created_at < $3",
    )
    .bind(territory_id)
    .bind(start)
    .bind(end)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(BookingRow {
            need_id: r.try_get("need_id")?,
            created_at: r.try_get("created_at")?,
            status: r.try_get("status")?,
            first_date: r.try_get("first_date")?,
            answered_at: r.try_get("answered_at")?,
            confirmed_at: r.try_get("confirmed_at")?,
        })
    })
    .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
    Ok(Rows {
        people,
        needs,
        bookings,
    })
}

/// One table: the whole period, then each week or month; lines end with
/// CRLF. Shares as fractions, durations in minutes; empty when not known.
pub fn to_csv(usage: &Usage, dialect: Dialect) -> String {
    let sep = dialect.separator().to_string();
    let mut out = String::new();
    if dialect == Dialect::French {
        out.push('\u{feff}');
    }
    let mut header: Vec<String> = [
        "periode",
        "libelle",
        "debut",
        "nouveaux_app",
        "nouveaux_web",
        "nouveaux_relais",
        "nouveaux_inconnu",
        "nouveaux_total",
        "demandes",
        "demandes_avec_conducteur",
        "demandes_reservees",
        "demandes_confirmees",
        "trajets_effectues",
        "taux_conducteur_trouve",
        "taux_reservation",
        "taux_confirmation",
        "taux_effectue",
        "minutes_premier_conducteur",
        "minutes_confirmation",
        "sans_reservation",
        "reservations",
        "reservations_confirmees",
        "reservations_refusees",
        "reservations_sans_reponse",
        "reservations_en_attente",
        "minutes_reponse",
    ]
    .map(String::from)
    .to_vec();
    for p in Purpose::ALL {
        header.push(format!("demandes_{}", p.code()));
        header.push(format!("servies_{}", p.code()));
    }
    out.push_str(&header.join(&sep));
    out.push_str("\r\n");
    let number = |v: Option<f64>| v.map(|v| dialect.number(v)).unwrap_or_default();
    let mut line = |key: &str, label: &str, start: &str, f: &UsageFigures| {
        let (p, n, c, d) = (&f.new_people, &f.funnel, &f.conversion, &f.drop_outs);
        let mut fields = vec![
            csv_field(key, dialect.separator()),
            csv_field(label, dialect.separator()),
            start.to_string(),
        ];
        fields.extend(
            [p.app, p.web, p.relay, p.unknown, p.total]
                .iter()
                .chain(&[
                    n.needs_posted,
                    n.needs_with_candidate,
                    n.needs_booked,
                    n.needs_confirmed,
                    n.needs_done,
                ])
                .map(u64::to_string),
        );
        fields.extend(
            [
                c.posted_to_candidate,
                c.candidate_to_booked,
                c.booked_to_confirmed,
                c.confirmed_to_done,
                f.median_minutes_to_first_candidate,
                f.median_minutes_to_confirmation,
            ]
            .map(number),
        );
        fields.extend(
            [
                d.candidates_not_booked,
                d.bookings_asked,
                d.bookings_confirmed,
                d.bookings_declined,
                d.bookings_unanswered,
                d.bookings_waiting,
            ]
            .map(|v| v.to_string()),
        );
        fields.push(number(d.median_minutes_to_answer));
        for p in &f.purposes {
            fields.push(p.needs_posted.to_string());
            fields.push(p.needs_served.to_string());
        }
        out.push_str(&fields.join(&sep));
        out.push_str("\r\n");
    };
    let whole = format!("{} – {}", usage.from, usage.to);
    line(&usage.territory_id, &whole, &usage.from, &usage.totals);
    for period in &usage.periods {
        line(&period.key, &period.label, &period.start, &period.figures);
    }
    out
}

/// The usage gauges of `/metrics`: every territory's figures since it
/// began, from the same tally as the report (four reads per territory,
/// each through an index: people, registered people, needs, bookings).
pub async fn gauges(reporting: &Reporting) -> Result<String> {
    let mut people = String::new();
    let mut needs = String::new();
    let mut bookings = String::new();
    for territory in reporting.territories.snapshot().await?.list() {
        let rows = read(&reporting.db, &territory.id, 0, i64::MAX).await?;
        let today = crate::db::now()
            .with_timezone(&territory.timezone)
            .date_naive()
            .to_string();
        let mut tally = Tally::default();
        each_item(&rows, |_, item| tally.add(&item, &today));
        let f = tally.figures();
        let (p, n, d) = (&f.new_people, &f.funnel, &f.drop_outs);
        let lines = |out: &mut String, name: &str, label: &str, counts: &[(&str, u64)]| {
            for (value, count) in counts {
                out.push_str(&format!(
                    "lotocar_usage_{name}{{territory=\"{}\",{label}=\"{value}\"}} {count}\n",
                    territory.id
                ));
            }
        };
        lines(
            &mut people,
            "people",
            "channel",
            &[
                ("app", p.app),
                ("web", p.web),
                ("relay", p.relay),
                ("unknown", p.unknown),
            ],
        );
        lines(
            &mut needs,
            "needs",
            "stage",
            &[
                ("posted", n.needs_posted),
                ("with_candidate", n.needs_with_candidate),
                ("booked", n.needs_booked),
                ("confirmed", n.needs_confirmed),
                ("done", n.needs_done),
            ],
        );
        lines(
            &mut bookings,
            "bookings",
            "outcome",
            &[
                ("confirmed", d.bookings_confirmed),
                ("declined", d.bookings_declined),
                ("unanswered", d.bookings_unanswered),
                ("waiting", d.bookings_waiting),
            ],
        );
    }
    Ok(format!(
        "# HELP lotocar_usage_people People who joined, by territory and how they came (app, web, relay; unknown: before it was recorded).\n# TYPE lotocar_usage_people gauge\n{people}\
         # HELP lotocar_usage_needs Needs posted, by territory and the furthest step reached (docs/usage.md).\n# TYPE lotocar_usage_needs gauge\n{needs}\
         # HELP lotocar_usage_bookings Seats asked, by territory and what became of them.\n# TYPE lotocar_usage_bookings gauge\n{bookings}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        // Tuesday 1 December 2026.
        let weeks = periods(day("2026-11-18"), day("2026-12-01"), Grain::Week);
        let keys: Vec<_> = weeks.iter().map(|w| w.0.as_str()).collect();
        assert_eq!(keys, ["2026-W47", "2026-W48", "2026-W49"]);
        assert_eq!(weeks[0].1, "semaine du 16 novembre 2026");
        // The first week counts from the period's first day.
        assert_eq!(weeks[0].2, day("2026-11-18"));
        assert_eq!(weeks[2].2, day("2026-11-30"));
        let months = periods(day("2026-10-31"), day("2026-12-01"), Grain::Month);
        let labels: Vec<_> = months.iter().map(|m| m.1.as_str()).collect();
        assert_eq!(labels, ["octobre 2026", "novembre 2026", "décembre 2026"]);
        assert_eq!(
            default_start(day("2026-12-01"), Grain::Week),
            day("2026-09-14")
        );
        assert_eq!(
            default_start(day("2026-12-01"), Grain::Month),
            day("2026-01-01")
        );
    }

    #[test]
    fn medians_are_of_the_middle_values_in_minutes() {
        assert_eq!(median_minutes(&mut []), None);
        assert_eq!(median_minutes(&mut [180_000, 60_000, 600_000]), Some(3.0));
        assert_eq!(median_minutes(&mut [60_000, 120_000]), Some(1.5));
    }

    #[test]
    fn a_day_begins_at_midnight_in_the_territory() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        // 1 December 2026, 00:00 in Paris is 23:00 UTC the day before.
        assert_eq!(
            midnight_ms(paris, day("2026-12-01")),
            chrono::Utc
                .with_ymd_and_hms(2026, 11, 30, 23, 0, 0)
                .unwrap()
                .timestamp_millis()
        );
    }
}
