//! Impact figures of a territory, for the people who fund it: needs
//! posted, the share served, trips done, people served, kilometres shared,
//! CO₂ avoided, return rate, why needs went unserved; by month and by
//! commune; as JSON or CSV. Aggregates only: no name, phone or e-mail ever
//! appears, people are counted by opaque ids. Definitions: docs/impact.md.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use lotocar_shared::GeoPoint;
use lotocar_shared::api::Problem;
use lotocar_shared::relay::Outcome;
use lotocar_shared::reporting::{CommuneFigures, Figures, Impact, MonthFigures, Reason};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, AuthUser};
use crate::db::Db;
use crate::error::{ApiPath, ApiQuery, ApiResult, Error, Result};
use crate::places::Places;
use crate::territories::Territories;

/// What the reports (impact figures, the registry export) read with.
#[derive(Clone)]
pub struct Reporting {
    pub db: Db,
    pub places: Places,
    pub territories: Territories,
    /// kg CO₂e per car-km avoided.
    pub co2_kg_per_km: f64,
    /// Road distance over crow-fly distance.
    pub circuity: f64,
}

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Reporting: FromRef<S>,
    Auth: FromRef<S>,
{
    OpenApiRouter::new().routes(routes!(impact))
}

/// kg CO₂e per car-km: ADEME, Base Empreinte / impactCO2.fr, "voiture
/// thermique" (0.218 kg CO₂e/km). Every passenger-km shared is counted as
/// one car-km not driven (docs/impact.md).
pub const DEFAULT_CO2_KG_PER_KM: f64 = 0.218;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ImpactParams {
    /// First day of the period (YYYY-MM-DD), by the date of the trip asked.
    #[param(format = Date)]
    from: Option<String>,
    /// Last day of the period (YYYY-MM-DD).
    #[param(format = Date)]
    to: Option<String>,
    /// `csv` for a French spreadsheet, opened with a double click
    /// (semicolons, decimal commas, UTF-8 with a byte order mark; also chosen
    /// by `Accept: text/csv`), `csv-rfc4180` for the plain form (commas,
    /// decimal points, no mark), `json` (the default); any other value is
    /// refused (422).
    #[param(inline)]
    format: Option<ReportFormat>,
}

/// The formats of the reports (impact, usage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ReportFormat {
    Json,
    Csv,
    #[serde(rename = "csv-rfc4180")]
    CsvRfc4180,
}

impl ReportFormat {
    /// The CSV dialect asked (by `format`, else by `Accept: text/csv`),
    /// `None` for JSON.
    pub(crate) fn dialect(format: Option<ReportFormat>, headers: &HeaderMap) -> Option<Dialect> {
        match format {
            Some(ReportFormat::Csv) => Some(Dialect::French),
            Some(ReportFormat::CsvRfc4180) => Some(Dialect::Rfc4180),
            Some(ReportFormat::Json) => None,
            None => headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/csv"))
                .then_some(Dialect::French),
        }
    }
}

/// One need, reduced to what the figures use.
struct Row_ {
    person: String,
    first_date: String,
    commune_insee: Option<String>,
    commune_label: String,
    status: String,
    outcome: Option<String>,
    km: f64,
}

#[derive(Default)]
struct Tally {
    needs: u64,
    served: u64,
    done: u64,
    people: HashSet<String>,
    km: f64,
}

impl Tally {
    fn add(&mut self, row: &Row_) {
        self.needs += 1;
        let done = row.status == "done";
        if done || row.status == "booked" {
            self.served += 1;
        }
        if done {
            self.done += 1;
            self.people.insert(row.person.clone());
            self.km += row.km;
        }
    }

    fn figures(&self, co2_per_km: f64) -> Figures {
        let round = |x: f64| (x * 10.0).round() / 10.0;
        Figures {
            needs_posted: self.needs,
            needs_served: self.served,
            served_share: if self.needs == 0 {
                0.0
            } else {
                (self.served as f64 / self.needs as f64 * 1000.0).round() / 1000.0
            },
            trips_done: self.done,
            people_served: self.people.len() as u64,
            km_shared: round(self.km),
            co2_avoided_kg: round(self.km * co2_per_km),
        }
    }
}

/// An optional `YYYY-MM-DD` query parameter, with a French error on `field`.
pub(crate) fn parse_day(field: &str, value: &Option<String>) -> Result<Option<NaiveDate>> {
    match value.as_deref() {
        None => Ok(None),
        Some(v) => lotocar_shared::schedule::parse_date(v)
            .map(Some)
            .map_err(|message| Error::field(field, message)),
    }
}

/// The territory's impact over a period (by the date of the trips asked),
/// in JSON or, with `format=csv` or `Accept: text/csv`, as a CSV table
/// (UTF-8, header row; one row for the whole period, one per month, one
/// per commune).
#[utoipa::path(get, path = "/api/v1/territories/{id}/impact", tag = "impact",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory"), ImpactParams),
    responses(
        (status = 200, description = "JSON, or a CSV table (`format=csv` or `Accept: text/csv`)",
            content((Impact = "application/json"), (String = "text/csv"))),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ))]
async fn impact(
    State(reporting): State<Reporting>,
    user: AuthUser,
    ApiPath(territory_id): ApiPath<String>,
    ApiQuery(params): ApiQuery<ImpactParams>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    user.require_staff(&reporting.territories, &territory_id)
        .await?;
    let from = parse_day("from", &params.from)?;
    let to = parse_day("to", &params.to)?;
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(Error::field("to", "La fin de la période doit être après son début.").into());
    }
    let figures = compute(&reporting, &territory_id, from, to).await?;
    if let Some(dialect) = ReportFormat::dialect(params.format, &headers) {
        let name = format!(
            "impact-{territory_id}-{}-{}.csv",
            from.map(|d| d.to_string())
                .unwrap_or_else(|| "debut".into()),
            to.map(|d| d.to_string()).unwrap_or_else(|| "fin".into())
        );
        return Ok(csv_attachment(&name, to_csv(&figures, dialect)));
    }
    Ok(Json(figures).into_response())
}

/// A CSV table to download as `file_name` (a report's).
pub(crate) fn csv_attachment(file_name: &str, csv: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        csv,
    )
        .into_response()
}

/// The figures of a territory over a period. A report: it reads the needs
/// and the bookings' refusals, and writes nothing.
pub async fn compute(
    reporting: &Reporting,
    territory_id: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Impact> {
    let co2_per_km = reporting.co2_kg_per_km;
    let circuity = reporting.circuity;
    let mut needs = Vec::new();
    for need in crate::needs::dated_in(&reporting.db, territory_id, from, to).await? {
        let a = GeoPoint::new(need.origin.lat, need.origin.lon);
        let b = GeoPoint::new(need.destination.lat, need.destination.lon);
        let km = match (a, b) {
            (Ok(a), Ok(b)) => a.distance_m(b) * circuity / 1000.0 * need.seats as f64,
            _ => 0.0,
        };
        let commune_label = need
            .origin
            .insee
            .as_deref()
            .and_then(|i| reporting.places.gazetteer.current(i))
            .map(|c| c.name.clone())
            .unwrap_or_else(|| "?".into());
        needs.push(Row_ {
            person: need
                .on_behalf_of
                .map(|b| format!("b:{b}"))
                .unwrap_or(need.owner_id),
            first_date: need.first_date.to_string(),
            commune_insee: need.origin.insee,
            commune_label,
            status: need.status.code().to_string(),
            outcome: need.outcome.map(|o| o.outcome.code().to_string()),
            km,
        });
    }

    let mut total = Tally::default();
    let mut months: BTreeMap<String, Tally> = BTreeMap::new();
    let mut communes: HashMap<String, (String, Tally)> = HashMap::new();
    let mut done_by_person: HashMap<&str, u32> = HashMap::new();
    let mut reasons: BTreeMap<&'static str, u64> = BTreeMap::new();
    for need in &needs {
        total.add(need);
        months
            .entry(need.first_date.get(..7).unwrap_or("").to_string())
            .or_default()
            .add(need);
        if let Some(insee) = &need.commune_insee {
            communes
                .entry(insee.clone())
                .or_insert_with(|| (need.commune_label.clone(), Tally::default()))
                .1
                .add(need);
        }
        if need.status == "done" {
            *done_by_person.entry(&need.person).or_default() += 1;
        }
        if let Some(outcome) = need.outcome.as_deref().and_then(Outcome::from_code)
            && outcome != Outcome::Done
        {
            *reasons.entry(outcome.code()).or_default() += 1;
        }
    }
    let (declined,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) AS n FROM bookings b JOIN needs n ON n.id = b.need_id
         WHERE n.territory_id = $1 AND b.status = 'CANCELLED' AND b.status_by = b.driver_id
           AND ($2 = '' OR n.first_date >= $2) AND ($3 = '' OR n.first_date <= $3)",
    )
    .bind(territory_id)
    .bind(from.map(|d| d.to_string()).unwrap_or_default())
    .bind(to.map(|d| d.to_string()).unwrap_or_default())
    .fetch_one(&reporting.db.pool)
    .await?;

    let returning = done_by_person.values().filter(|&&n| n >= 2).count();
    let mut reasons: Vec<Reason> = reasons
        .into_iter()
        .map(|(code, count)| Reason {
            code: code.to_string(),
            label: Outcome::from_code(code)
                .map(|o| o.label().to_string())
                .unwrap_or_default(),
            count,
        })
        .collect();
    if declined > 0 {
        reasons.push(Reason {
            code: "declined_by_driver".into(),
            label: "demande refusée ou trajet annulé par le conducteur".into(),
            count: declined as u64,
        });
    }
    let mut by_commune: Vec<CommuneFigures> = communes
        .into_iter()
        .map(|(insee, (name, tally))| CommuneFigures {
            commune_id: format!("commune:{insee}"),
            name,
            figures: tally.figures(co2_per_km),
        })
        .collect();
    by_commune.sort_by(|a, b| {
        b.figures
            .needs_posted
            .cmp(&a.figures.needs_posted)
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok(Impact {
        territory_id: territory_id.to_string(),
        from: from.map(|d| d.to_string()),
        to: to.map(|d| d.to_string()),
        totals: total.figures(co2_per_km),
        return_rate: if done_by_person.is_empty() {
            0.0
        } else {
            (returning as f64 / done_by_person.len() as f64 * 1000.0).round() / 1000.0
        },
        reasons,
        by_month: months
            .into_iter()
            .map(|(month, tally)| MonthFigures {
                month,
                figures: tally.figures(co2_per_km),
            })
            .collect(),
        by_commune,
        co2_kg_per_km: co2_per_km,
    })
}

/// The two ways of writing a CSV table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// What a French spreadsheet opens with a double click: semicolons,
    /// decimal commas, UTF-8 with a byte order mark.
    French,
    /// RFC 4180: commas, decimal points, no mark.
    Rfc4180,
}

impl Dialect {
    pub(crate) fn separator(self) -> char {
        match self {
            Dialect::French => ';',
            Dialect::Rfc4180 => ',',
        }
    }

    pub(crate) fn number(self, value: f64) -> String {
        match self {
            Dialect::French => value.to_string().replace('.', ","),
            Dialect::Rfc4180 => value.to_string(),
        }
    }
}

/// One table: the whole period, then each month, then each commune; lines
/// end with CRLF (RFC 4180, and what spreadsheets write).
pub fn to_csv(impact: &Impact, dialect: Dialect) -> String {
    let sep = dialect.separator();
    let mut out = String::new();
    if dialect == Dialect::French {
        out.push('\u{feff}');
    }
    let header = [
        "dimension",
        "cle",
        "libelle",
        "demandes",
        "demandes_servies",
        "part_servie",
        "trajets_effectues",
        "personnes_servies",
        "km_partages",
        "co2_evite_kg",
    ];
    out.push_str(&header.join(&sep.to_string()));
    out.push_str("\r\n");
    let mut line = |dimension: &str, key: &str, label: &str, f: &Figures| {
        let fields = [
            dimension.to_string(),
            csv_field(key, sep),
            csv_field(label, sep),
            f.needs_posted.to_string(),
            f.needs_served.to_string(),
            dialect.number(f.served_share),
            f.trips_done.to_string(),
            f.people_served.to_string(),
            dialect.number(f.km_shared),
            dialect.number(f.co2_avoided_kg),
        ];
        out.push_str(&fields.join(&sep.to_string()));
        out.push_str("\r\n");
    };
    // Keys stay as machines read them; labels, as people do.
    let day = |day: Option<&str>, otherwise: &str| match (dialect, day) {
        (_, None) => otherwise.to_string(),
        (Dialect::French, Some(d)) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(lotocar_shared::time::french_date_with_year)
            .unwrap_or_else(|_| d.to_string()),
        (Dialect::Rfc4180, Some(d)) => d.to_string(),
    };
    let period = format!(
        "{} – {}",
        day(impact.from.as_deref(), "début"),
        day(impact.to.as_deref(), "aujourd'hui")
    );
    line("periode", &impact.territory_id, &period, &impact.totals);
    for m in &impact.by_month {
        let label = match dialect {
            Dialect::French => lotocar_shared::time::french_month_of_key(&m.month),
            Dialect::Rfc4180 => m.month.clone(),
        };
        line("mois", &m.month, &label, &m.figures);
    }
    for c in &impact.by_commune {
        line("commune", &c.commune_id, &c.name, &c.figures);
    }
    out
}

/// Quotes a CSV field when it needs it (RFC 4180), `sep` separating the
/// fields.
pub(crate) fn csv_field(value: &str, sep: char) -> String {
    if value.contains([sep, '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_with_commas_or_quotes_are_quoted() {
        assert_eq!(csv_field("Figeac", ','), "Figeac");
        assert_eq!(
            csv_field("Saint-Cirq, Lapopie", ','),
            "\"Saint-Cirq, Lapopie\""
        );
        assert_eq!(csv_field("Saint-Cirq, Lapopie", ';'), "Saint-Cirq, Lapopie");
        assert_eq!(csv_field("a;b", ';'), "\"a;b\"");
        assert_eq!(
            csv_field("dit \"le bourg\"", ';'),
            "\"dit \"\"le bourg\"\"\""
        );
    }
}
