//! Export to the national carpool proof registry ("Registre de preuve de
//! covoiturage", operator API v3.3): for each completed trip, the body of
//! `POST /journeys`. Journeys the registry's rules would refuse (under
//! 2 km, more than 4 a day for one person, less than 30 min apart, sent
//! more than 24 h after the start) or that lack what the registry needs
//! (a phone number, a last name) are flagged and marked not to send.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{FromRef, State};
use chrono::{DateTime, SecondsFormat, Utc};
use lotocar_shared::GeoPoint;
use lotocar_shared::api::{MatchStop, Problem};
use lotocar_shared::reporting::{RegistryExport, RegistryJourney};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, AuthUser};
use crate::error::{ApiPath, ApiQuery, ApiResult, Result};
use crate::impact::{Reporting, parse_day};

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Reporting: FromRef<S>,
    Auth: FromRef<S>,
{
    OpenApiRouter::new().routes(routes!(journeys))
}

/// `identity_key` as the registry defines it: SHA-256 (hex) of
/// "<phone in E.164>-<LAST NAME>", the last name in capitals, without
/// accents, hyphens or apostrophes (each becomes a space).
/// `"+33701020304"`, `"D'Hérûg-de-l'Hérault"` → sha256 of
/// `"+33701020304-D HERUG DE L HERAULT"`.
pub fn identity_key(phone_e164: &str, last_name: &str) -> String {
    let name: String = deunicode::deunicode(last_name)
        .to_uppercase()
        .chars()
        .map(|c| if c.is_ascii_uppercase() { c } else { ' ' })
        .collect();
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    hex::encode(Sha256::digest(format!("{phone_e164}-{name}").as_bytes()))
}

/// The phone number without its last two digits ("+336010203").
pub fn phone_trunc(phone_e164: &str) -> String {
    phone_e164[..phone_e164.len().saturating_sub(2)].to_string()
}

/// The last name in a display name: the words after the first name
/// ("Jean de La Fontaine" → "de La Fontaine"); none when there is only a
/// first name or an initial ("Marie D."). Lotocar asks for a display name,
/// not a civil identity: see docs/impact.md.
pub fn last_name_of(display_name: &str) -> Option<String> {
    let words: Vec<&str> = display_name.split_whitespace().collect();
    if words.len() < 2 {
        return None;
    }
    let rest = &words[1..];
    let initial = |w: &&str| w.chars().filter(|c| c.is_alphabetic()).count() < 2;
    if rest.iter().any(initial) {
        return None;
    }
    Some(rest.join(" "))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ExportParams {
    /// First day (YYYY-MM-DD) of the trips.
    #[param(format = Date)]
    from: Option<String>,
    /// Last day (YYYY-MM-DD).
    #[param(format = Date)]
    to: Option<String>,
}

/// A completed booking with its two people, as the export reads it.
#[derive(sqlx::FromRow)]
struct Done {
    id: String,
    offer_id: String,
    first_date: String,
    seats: i64,
    leg: String,
    pickup: String,
    dropoff: String,
    driver_id: String,
    passenger_id: String,
    on_behalf_of: Option<String>,
    driver_name: String,
    driver_phone: Option<String>,
    passenger_name: String,
    passenger_phone: Option<String>,
    beneficiary_name: Option<String>,
    beneficiary_phone: Option<String>,
}

/// One person's trip on a day: (trip id, start, index of the journey).
type DayTrip = (String, DateTime<Utc>, usize);

struct Person {
    id: String,
    name: String,
    phone: Option<String>,
}

/// The completed trips of the territory as registry journeys, for its
/// coordinator. A trip is completed when its driver or passenger (or the
/// relay who booked for the passenger) said it took place, or both did
/// (validated); a coordinator's word alone is not a proof. Class A: the operator
/// vouches for the match; B: one side checked in at the meeting point with
/// the position and time of their device; C: both did.
#[utoipa::path(get, path = "/api/v1/territories/{id}/registry/journeys", tag = "impact",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory"), ExportParams),
    responses(
        (status = 200, body = RegistryExport),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ))]
async fn journeys(
    State(reporting): State<Reporting>,
    user: AuthUser,
    ApiPath(territory_id): ApiPath<String>,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> ApiResult<Json<RegistryExport>> {
    user.require_coordinator(&reporting.territories, &territory_id)
        .await?;
    Ok(Json(export(&reporting, territory_id, &params).await?))
}

/// The export of a territory: a report that reads bookings, needs, people
/// and check-ins, and writes nothing.
async fn export(
    reporting: &Reporting,
    territory_id: String,
    params: &ExportParams,
) -> Result<RegistryExport> {
    let day = |field: &str, v: &Option<String>| -> Result<String> {
        Ok(parse_day(field, v)?
            .map(|d| d.to_string())
            .unwrap_or_default())
    };
    let from = day("from", &params.from)?;
    let to = day("to", &params.to)?;
    let rows: Vec<Done> = sqlx::query_as(
        "SELECT b.id, b.offer_id, b.first_date, b.seats, b.leg, b.pickup, b.dropoff, b.driver_id, b.passenger_id,
                n.on_behalf_of,
                d.display_name AS driver_name, d.phone AS driver_phone,
                p.display_name AS passenger_name, p.phone AS passenger_phone,
                bf.display_name AS beneficiary_name, bf.phone AS beneficiary_phone
         FROM bookings b
         JOIN needs n ON n.id = b.need_id
         JOIN users d ON d.id = b.driver_id
         JOIN users p ON p.id = b.passenger_id
         LEFT JOIN beneficiaries bf ON bf.id = n.on_behalf_of
         WHERE n.territory_id = $1 AND b.recurring = 0
           AND (b.status = 'VALIDATED'
                OR (b.status = 'COMPLETED_PENDING_VALIDATION' AND b.completed_by IN (b.driver_id, b.passenger_id)))
           AND ($2 = '' OR b.first_date >= $2) AND ($3 = '' OR b.first_date <= $3)
         ORDER BY b.first_date, b.id",
    )
    .bind(&territory_id)
    .bind(&from)
    .bind(&to)
    .fetch_all(&reporting.db.pool)
    .await?;

    let circuity = reporting.circuity;
    let now = crate::db::now();
    let mut journeys = Vec::new();
    // (identity, date) → the trips and start times of that person that day.
    for r in rows {
        let pickup: MatchStop = crate::db::from_json("pickup", &r.pickup)?;
        let dropoff: MatchStop = crate::db::from_json("dropoff", &r.dropoff)?;
        let (booking_id, date, offer_id, seats) = (r.id, r.first_date, r.offer_id, r.seats);
        let driver = Person {
            id: r.driver_id,
            name: r.driver_name,
            phone: r.driver_phone,
        };
        let passenger = match &r.on_behalf_of {
            Some(b) => Person {
                id: format!("b{}", b.replace('-', "")),
                name: r.beneficiary_name.unwrap_or_default(),
                phone: r.beneficiary_phone,
            },
            None => Person {
                id: r.passenger_id,
                name: r.passenger_name,
                phone: r.passenger_phone,
            },
        };
        let mut flags = Vec::new();
        // Check-ins at the meeting point: class C when both sides did,
        // B when one did; the start is where and when the passenger (else
        // the driver) checked in.
        let checkins: Vec<(String, f64, f64, i64)> = sqlx::query_as(
            "SELECT side, lat, lon, at FROM booking_checkins WHERE booking_id = $1 ORDER BY side DESC",
        )
        .bind(&booking_id)
        .fetch_all(&reporting.db.pool)
        .await?;
        let class = match checkins.len() {
            0 => "A",
            1 => "B",
            _ => "C",
        };
        let (start_at, start_lat, start_lon) = match checkins.first() {
            Some((_, lat, lon, at)) => (crate::db::from_ms(*at), *lat, *lon),
            None => (
                pickup.at.with_timezone(&Utc),
                pickup.place.lat,
                pickup.place.lon,
            ),
        };
        let end_at = dropoff.at.with_timezone(&Utc);
        let distance = match (
            GeoPoint::new(pickup.place.lat, pickup.place.lon),
            GeoPoint::new(dropoff.place.lat, dropoff.place.lon),
        ) {
            (Ok(a), Ok(b)) => (a.distance_m(b) * circuity).round(),
            _ => 0.0,
        };
        if distance < 2_000.0 {
            flags.push("distance_too_short".to_string());
        }
        if now - start_at > chrono::Duration::hours(24) {
            flags.push("expired".to_string());
        }
        let identity = |who: &Person, side: &str, flags: &mut Vec<String>| -> Value {
            let phone = who.phone.clone().unwrap_or_default();
            if phone.is_empty() {
                flags.push(format!("{side}_phone_missing"));
            }
            let last = last_name_of(&who.name);
            if last.is_none() {
                flags.push(format!("{side}_last_name_missing"));
            }
            json!({
                "operator_user_id": who.id,
                "identity_key": identity_key(&phone, last.as_deref().unwrap_or("")),
                "phone_trunc": phone_trunc(&phone),
            })
        };
        let driver_identity = identity(&driver, "driver", &mut flags);
        let passenger_identity = identity(&passenger, "passenger", &mut flags);
        let trip_id = format!("{offer_id}-{date}-{}", r.leg);
        let body = json!({
            "operator_journey_id": booking_id.replace('-', "").to_lowercase(),
            "operator_trip_id": trip_id,
            "operator_class": class,
            "start": {
                "datetime": start_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                "lat": start_lat,
                "lon": start_lon,
            },
            "end": {
                "datetime": end_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                "lat": dropoff.place.lat,
                "lon": dropoff.place.lon,
            },
            "distance": distance,
            "incentives": [],
            "driver": { "identity": driver_identity, "revenue": 0 },
            "passenger": {
                "identity": passenger_identity,
                "contribution": 0,
                "seats": seats,
                "payments": [],
            },
        });
        // Without a phone number there is no identity the registry accepts
        // (`phone_trunc` is required): no body, only the reason.
        let body = if flags.iter().any(|f| f.ends_with("_phone_missing")) {
            Value::Null
        } else {
            body
        };
        journeys.push(RegistryJourney {
            booking_id,
            date,
            send: false,
            flags,
            body,
        });
    }
    apply_day_rules(&mut journeys);
    Ok(RegistryExport {
        territory_id,
        api_version: "3.3".into(),
        journeys,
    })
}

/// The registry's rules across journeys: at most 4 trips a day for one
/// person (driver or passenger, by identity key), and 30 minutes between
/// two trips of one person; then `send` when nothing is flagged.
pub fn apply_day_rules(journeys: &mut [RegistryJourney]) {
    let mut by_person_day: HashMap<(String, String), Vec<DayTrip>> = HashMap::new();
    for (index, j) in journeys.iter().enumerate() {
        if j.body.is_null() {
            continue;
        }
        let trip = j.body["operator_trip_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let Some(start) = j.body["start"]["datetime"]
            .as_str()
            .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
        else {
            continue;
        };
        for side in ["driver", "passenger"] {
            by_person_day
                .entry((identity_key_in(&j.body, side), j.date.clone()))
                .or_default()
                .push((trip.clone(), start.with_timezone(&Utc), index));
        }
    }
    for trips in by_person_day.values() {
        let distinct: std::collections::HashSet<&String> = trips.iter().map(|t| &t.0).collect();
        if distinct.len() > 4 {
            for t in trips {
                flag(&mut journeys[t.2], "too_many_trips_by_day");
            }
        }
        for a in trips {
            for b in trips {
                if a.0 != b.0 && (a.1 - b.1).num_minutes().abs() < 30 {
                    flag(&mut journeys[a.2], "too_close_trips");
                }
            }
        }
    }
    for j in journeys.iter_mut() {
        j.send = j.flags.is_empty();
    }
}

fn identity_key_in(body: &Value, side: &str) -> String {
    body[side]["identity"]["identity_key"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn flag(journey: &mut RegistryJourney, code: &str) {
    if !journey.flags.iter().any(|f| f == code) {
        journey.flags.push(code.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_key_follows_the_registry_example() {
        // The example of the registry's specification (v3.3).
        assert_eq!(
            identity_key("+33701020304", "D'Hérûg-de-l'Hérault"),
            "f44ff5364363e53da750d8b7b44fa3176ea36228c5f951a9c1e606c915093d30"
        );
        assert_eq!(phone_trunc("+33601020304"), "+336010203");
    }

    fn journey(passenger: &str, trip: &str, start: &str) -> RegistryJourney {
        RegistryJourney {
            booking_id: format!("{trip}-{start}"),
            date: "2026-12-01".into(),
            send: false,
            flags: Vec::new(),
            body: json!({
                "operator_trip_id": trip,
                "start": { "datetime": start },
                "driver": { "identity": { "identity_key": format!("driver-of-{trip}") } },
                "passenger": { "identity": { "identity_key": passenger } },
            }),
        }
    }

    fn flags(journeys: &[RegistryJourney]) -> Vec<Vec<String>> {
        journeys.iter().map(|j| j.flags.clone()).collect()
    }

    #[test]
    fn a_fifth_trip_in_a_day_is_flagged_for_every_trip_of_that_person() {
        let mut day: Vec<RegistryJourney> = (0..5)
            .map(|i| {
                journey(
                    "yvette",
                    &format!("t{i}"),
                    &format!("2026-12-01T0{}:00:00Z", i + 5),
                )
            })
            .collect();
        apply_day_rules(&mut day);
        assert!(
            day.iter()
                .all(|j| j.flags == ["too_many_trips_by_day"] && !j.send)
        );
        let mut four = day[..4].to_vec();
        for j in &mut four {
            j.flags.clear();
        }
        apply_day_rules(&mut four);
        assert!(
            four.iter().all(|j| j.flags.is_empty() && j.send),
            "{:?}",
            flags(&four)
        );
    }

    #[test]
    fn two_trips_of_one_person_less_than_30_minutes_apart_are_flagged() {
        let mut close = vec![
            journey("yvette", "t1", "2026-12-01T07:00:00Z"),
            journey("yvette", "t2", "2026-12-01T07:20:00Z"),
            journey("jeanne", "t3", "2026-12-01T07:10:00Z"),
        ];
        apply_day_rules(&mut close);
        assert_eq!(
            flags(&close),
            [vec!["too_close_trips"], vec!["too_close_trips"], vec![]]
        );
        // Two passengers of the same trip are not "too close".
        let mut shared = vec![
            journey("yvette", "t1", "2026-12-01T07:00:00Z"),
            journey("jeanne", "t1", "2026-12-01T07:05:00Z"),
        ];
        apply_day_rules(&mut shared);
        assert!(shared.iter().all(|j| j.send));
    }

    #[test]
    fn a_last_name_is_a_whole_word() {
        assert_eq!(last_name_of("Marie Dupont").as_deref(), Some("Dupont"));
        assert_eq!(last_name_of("Marie D."), None);
        assert_eq!(last_name_of("Marie"), None);
        assert_eq!(
            last_name_of("Jean de La Fontaine").as_deref(),
            Some("de La Fontaine")
        );
    }
}
