//! Matching both ways: a new need gets the trips that can take it at once,
//! and a new or changed trip is matched against open needs, whose
//! passengers are told ("un conducteur passe sur votre trajet").

pub mod engine;
pub mod index;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use chrono::NaiveDate;
use chrono_tz::Tz;
use lotocar_shared::GeoPoint;
use lotocar_shared::api::{Leg, Match, MatchStop, Problem, PublicPerson, TripPlace};
use lotocar_shared::need::NeedStatus;
use lotocar_shared::offer::DetourClass;
use lotocar_shared::schedule::clock_time;
use lotocar_shared::text::public_name;
use lotocar_shared::time::Weekdays;
use sqlx::Row;
use sqlx::any::AnyRow;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthUser;
use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use crate::places::gazetteer::Gazetteer;
use crate::routing::{CrowFly, Router};
use crate::state::AppState;
use crate::territories::{self, Territory};
use crate::trips::place_from_row;
use engine::{Found, Need, NeedStops, Plan, Rules, Stop, Trip};
use index::{Change, Index, NeedEntry};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_matches))
        .routes(routes!(offer_matches))
}

/// Trips that can take this passenger, best first.
#[utoipa::path(get, path = "/api/v1/requests/{id}/matches", tag = "requests",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<Match>), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn request_matches(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Match>>> {
    let row = sqlx::query("SELECT * FROM needs WHERE id = $1 AND owner_id = $2")
        .bind(&id)
        .bind(&user.id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or_else(|| ApiError::not_found("Cette demande n'existe pas."))?;
    let territories = territories::list(&state.db).await?;
    let (_, need) = need_from_row(&row, &territories, &state)?;
    match need {
        Some(need) => Ok(Json(for_need(&state, &need).await?)),
        None => Ok(Json(Vec::new())),
    }
}

/// Open needs this trip can serve, best first.
#[utoipa::path(get, path = "/api/v1/offers/{id}/matches", tag = "offers",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<Match>), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn offer_matches(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Match>>> {
    let row =
        sqlx::query("SELECT * FROM offers WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL")
            .bind(&id)
            .bind(&user.id)
            .fetch_optional(&state.db.pool)
            .await?
            .ok_or_else(|| ApiError::not_found("Ce trajet n'existe pas, ou il a été supprimé."))?;
    let territories = territories::list(&state.db).await?;
    let (_, trip) = trip_from_row(&row, &territories, &state)?;
    match trip {
        Some(trip) => Ok(Json(for_trip(&state, &trip).await?)),
        None => Ok(Json(Vec::new())),
    }
}

// ---------------------------------------------------------------------------
// The matcher: index, router, rules
// ---------------------------------------------------------------------------

pub struct Matcher {
    pub index: Index,
    pub router: Arc<dyn Router>,
    /// One refresh of the index at a time.
    sync_lock: tokio::sync::Mutex<()>,
}

impl Matcher {
    pub fn new(rules: Rules, router: Arc<dyn Router>) -> Matcher {
        Matcher {
            index: Index::new(rules),
            router,
            sync_lock: tokio::sync::Mutex::new(()),
        }
    }

    pub fn rules(&self) -> &Rules {
        self.index.rules()
    }
}

/// Brings the index up to date with every committed change.
pub async fn sync(state: &AppState) -> ApiResult<()> {
    let matcher = &state.matcher;
    let _one_at_a_time = matcher.sync_lock.lock().await;
    let since = matcher.index.last_change();
    // Every sequence number up to the counter's committed value is
    // committed too (the counter row serialises writers).
    let upto: i64 = sqlx::query("SELECT value FROM change_counter WHERE name = 'global'")
        .fetch_one(&state.db.pool)
        .await?
        .try_get("value")?;
    if upto <= since {
        return Ok(());
    }
    let territories = territories::list(&state.db).await?;
    let mut changes = Vec::new();
    let offers = sqlx::query(
        "SELECT * FROM offers WHERE change_seq > $1 AND change_seq <= $2 ORDER BY change_seq",
    )
    .bind(since)
    .bind(upto)
    .fetch_all(&state.db.pool)
    .await?;
    for row in &offers {
        let (id, trip) = trip_from_row(row, &territories, state)?;
        changes.push(Change::Trip { id, trip });
    }
    let needs = sqlx::query(
        "SELECT * FROM needs WHERE change_seq > $1 AND change_seq <= $2 ORDER BY change_seq",
    )
    .bind(since)
    .bind(upto)
    .fetch_all(&state.db.pool)
    .await?;
    let mps = meeting_points(state).await?;
    let rules = *matcher.rules();
    for row in &needs {
        let (id, need) = need_from_row(row, &territories, state)?;
        let need = need.map(|need| NeedEntry {
            stops: need_stops(&need, &mps, &state.places, &rules),
            need,
        });
        changes.push(Change::Need { id, need });
    }
    matcher.index.apply(changes, upto);
    Ok(())
}

fn timezone(territories: &[Territory], territory_id: Option<&str>, state: &AppState) -> Tz {
    territory_id
        .and_then(|id| territories.iter().find(|t| t.id == id))
        .map(|t| t.timezone)
        .unwrap_or(state.config.timezone)
}

fn today_in(tz: Tz) -> NaiveDate {
    crate::db::now().with_timezone(&tz).date_naive()
}

fn json_column<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> ApiResult<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored {column}: {e}")))
}

/// A trip as matching sees it, or `None` when it cannot take anyone now
/// (deleted, paused, over).
pub(crate) fn trip_from_row(
    row: &AnyRow,
    territories: &[Territory],
    state: &AppState,
) -> ApiResult<(String, Option<Trip>)> {
    let id: String = row.try_get("id")?;
    let territory_id: Option<String> = row.try_get("territory_id")?;
    let tz = timezone(territories, territory_id.as_deref(), state);
    let deleted: Option<i64> = row.try_get("deleted_at")?;
    let paused: i64 = row.try_get("paused")?;
    let last_date: Option<String> = row.try_get("last_date")?;
    let over = last_date.is_some_and(|d| d < today_in(tz).to_string());
    if deleted.is_some() || paused != 0 || over {
        return Ok((id, None));
    }
    let seats: i64 = row.try_get("seats")?;
    let detour: i64 = row.try_get("max_detour_minutes")?;
    let origin = place_from_row(row, "origin")?;
    let destination = place_from_row(row, "dest")?;
    let trip = Trip {
        ends: engine::Ends::of(&origin, &destination),
        origin,
        destination,
        id: id.clone(),
        driver_id: row.try_get("owner_id")?,
        schedule: json_column(row, "schedule")?,
        seats: seats as u8,
        max_detour_minutes: detour as f64,
        tz,
    };
    Ok((id, Some(trip)))
}

/// An open need as matching sees it, or `None` when it is closed or over.
pub(crate) fn need_from_row(
    row: &AnyRow,
    territories: &[Territory],
    state: &AppState,
) -> ApiResult<(String, Option<Need>)> {
    let id: String = row.try_get("id")?;
    let territory_id: Option<String> = row.try_get("territory_id")?;
    let tz = timezone(territories, territory_id.as_deref(), state);
    let status: String = row.try_get("status")?;
    let last_date: Option<String> = row.try_get("last_date")?;
    let over = last_date.is_some_and(|d| d < today_in(tz).to_string());
    if status != NeedStatus::Open.code() || over {
        return Ok((id, None));
    }
    let seats: i64 = row.try_get("seats")?;
    let origin = place_from_row(row, "origin")?;
    let destination = place_from_row(row, "dest")?;
    let need = Need {
        ends: engine::Ends::of(&origin, &destination),
        origin,
        destination,
        id: id.clone(),
        passenger_id: row.try_get("owner_id")?,
        schedule: json_column(row, "schedule")?,
        seats: seats as u8,
        tz,
    };
    Ok((id, Some(need)))
}

// ---------------------------------------------------------------------------
// Walking to meeting points
// ---------------------------------------------------------------------------

/// Meeting points of every territory, as places.
pub async fn meeting_points(state: &AppState) -> ApiResult<Vec<TripPlace>> {
    let rows = sqlx::query("SELECT id, name, insee, lat, lon FROM meeting_points")
        .fetch_all(&state.db.pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(TripPlace {
                place_id: Some(format!("mp:{}", row.try_get::<String, _>("id")?)),
                label: row.try_get("name")?,
                insee: row.try_get("insee")?,
                lat: row.try_get("lat")?,
                lon: row.try_get("lon")?,
            })
        })
        .collect()
}

/// Where a passenger at `place` can board or leave: the place itself, then
/// the nearest meeting points and commune centres within walking distance.
pub fn stops_around(
    place: &TripPlace,
    meeting_points: &[TripPlace],
    gazetteer: &Gazetteer,
    rules: &Rules,
) -> Vec<Stop> {
    let here = place.point();
    let mut others: Vec<Stop> = meeting_points
        .iter()
        .map(|mp| (mp.clone(), mp.point()))
        .chain(
            gazetteer
                .communes_near(here, rules.walk_meters)
                .into_iter()
                .map(|c| {
                    (
                        TripPlace {
                            place_id: Some(c.id.clone()),
                            label: c.label(None),
                            insee: Some(c.insee.clone()),
                            lat: c.point.lat(),
                            lon: c.point.lon(),
                        },
                        c.point,
                    )
                }),
        )
        .filter_map(|(place, point)| {
            let walk = here.distance_m(point);
            (walk >= 50.0 && walk <= rules.walk_meters).then_some(Stop {
                place,
                point,
                walk_meters: walk,
            })
        })
        .collect();
    others.sort_by(|a, b| a.walk_meters.total_cmp(&b.walk_meters));
    others.truncate(3);
    let mut stops = vec![Stop::at(place)];
    stops.extend(others);
    stops
}

fn need_stops(
    need: &Need,
    meeting_points: &[TripPlace],
    gazetteer: &Gazetteer,
    rules: &Rules,
) -> NeedStops {
    NeedStops {
        origin: stops_around(&need.origin, meeting_points, gazetteer, rules),
        destination: stops_around(&need.destination, meeting_points, gazetteer, rules),
    }
}

// ---------------------------------------------------------------------------
// Both directions
// ---------------------------------------------------------------------------

/// Road times for a batch; if the road router fails, crow-fly times keep
/// the service answering (and the failure is logged).
async fn durations(state: &AppState, pairs: &[(GeoPoint, GeoPoint)]) -> Vec<f64> {
    match state.matcher.router.durations(pairs).await {
        Ok(durations) if durations.len() == pairs.len() => durations,
        outcome => {
            let error = outcome
                .err()
                .map(|e| e.to_string())
                .unwrap_or_else(|| "wrong count".into());
            tracing::error!(%error, router = state.matcher.router.name(), "road times unavailable, using crow-fly");
            let fallback = CrowFly::default();
            pairs
                .iter()
                .map(|(a, b)| fallback.seconds(*a, *b))
                .collect()
        }
    }
}

/// Runs a plan to the end, one router call per batch.
async fn run(
    state: &AppState,
    mut plan: Plan,
    trips: &[&Trip],
    needs: &[&Need],
    stops: &[NeedStops],
) -> Vec<Found> {
    let rules = *state.matcher.rules();
    let now = crate::db::now();
    while let Some(batch) = plan.next_batch(engine::BATCH, trips, needs, stops, now, &rules) {
        let durations = durations(state, batch.pairs()).await;
        plan.judge(&batch, &durations, trips, needs, stops, &rules);
    }
    plan.into_found()
}

/// The best trips that can take `need`, best first.
pub async fn for_need(state: &AppState, need: &Need) -> ApiResult<Vec<Match>> {
    sync(state).await?;
    let rules = *state.matcher.rules();
    if let Some(crow) = state.matcher.router.as_crow_fly() {
        // No I/O for road times: match in place, in the index.
        let stops = need_stops(need, &meeting_points(state).await?, &state.places, &rules);
        let (found, trips) =
            state
                .matcher
                .index
                .match_need(need, &stops, crate::db::now(), &mut |pairs| {
                    pairs.iter().map(|(a, b)| crow.seconds(*a, *b)).collect()
                });
        let trips: Vec<&Trip> = trips.iter().map(|t| t.as_ref()).collect();
        return to_api(state, &found, &trips, &[need], false).await;
    }
    let candidates: Vec<Arc<Trip>> = state
        .matcher
        .index
        .trips_near(need)
        .into_iter()
        .filter(|t| t.driver_id != need.passenger_id)
        .collect();
    let trips: Vec<&Trip> = candidates.iter().map(|t| t.as_ref()).collect();
    let needs = [need];
    let stops = [need_stops(
        need,
        &meeting_points(state).await?,
        &state.places,
        &rules,
    )];
    let mut plan = Plan::keeping(Some(rules.max_matches), true);
    for t in 0..trips.len() {
        engine::plan(&mut plan, &trips, t, &needs, 0, &stops, &rules);
    }
    let found = run(state, plan, &trips, &needs, &stops).await;
    to_api(state, &found, &trips, &needs, false).await
}

/// Open needs that `trip` can serve, best first.
pub async fn for_trip(state: &AppState, trip: &Trip) -> ApiResult<Vec<Match>> {
    let (found, needs) = found_for_trip(state, trip).await?;
    let needs: Vec<&Need> = needs.iter().map(|n| &n.need).collect();
    to_api(state, &found, &[trip], &needs, true).await
}

async fn found_for_trip(
    state: &AppState,
    trip: &Trip,
) -> ApiResult<(Vec<Found>, Vec<Arc<NeedEntry>>)> {
    sync(state).await?;
    let rules = *state.matcher.rules();
    if let Some(crow) = state.matcher.router.as_crow_fly() {
        // No I/O for road times: match in place, in the index.
        return Ok(state
            .matcher
            .index
            .match_trip(trip, crate::db::now(), &mut |pairs| {
                pairs.iter().map(|(a, b)| crow.seconds(*a, *b)).collect()
            }));
    }
    let candidates: Vec<Arc<NeedEntry>> = state
        .matcher
        .index
        .needs_near(trip)
        .into_iter()
        .filter(|n| n.need.passenger_id != trip.driver_id)
        .collect();
    let needs: Vec<&Need> = candidates.iter().map(|n| &n.need).collect();
    let stops: Vec<NeedStops> = candidates.iter().map(|n| n.stops.clone()).collect();
    let trips = [trip];
    let mut plan = Plan::all();
    for n in 0..needs.len() {
        engine::plan(&mut plan, &trips, 0, &needs, n, &stops, &rules);
    }
    let found = run(state, plan, &trips, &needs, &stops).await;
    Ok((found, candidates))
}

/// Every way `trip` can take `need` (each leg combination, best stops).
pub async fn between(state: &AppState, trip: &Trip, need: &Need) -> ApiResult<Vec<Found>> {
    let rules = *state.matcher.rules();
    let stops = [need_stops(
        need,
        &meeting_points(state).await?,
        &state.places,
        &rules,
    )];
    let mut plan = Plan::all();
    engine::plan(&mut plan, &[trip], 0, &[need], 0, &stops, &rules);
    Ok(run(state, plan, &[trip], &[need], &stops).await)
}

/// Seats already taken on a trip's leg on a date.
pub(crate) async fn seats_taken<'e, E>(
    executor: E,
    offer_id: &str,
    date: chrono::NaiveDate,
    leg: Leg,
) -> Result<i64, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    Ok(
        sqlx::query("SELECT taken FROM seat_ledger WHERE offer_id = $1 AND date = $2 AND leg = $3")
            .bind(offer_id)
            .bind(date.to_string())
            .bind(leg_code(leg))
            .fetch_optional(executor)
            .await?
            .map(|row| row.try_get::<i64, _>("taken"))
            .transpose()?
            .unwrap_or(0),
    )
}

pub(crate) fn leg_code(leg: Leg) -> &'static str {
    match leg {
        Leg::Outbound => "outbound",
        Leg::Return => "return",
    }
}

/// Tells the passengers of the open needs `trip` can serve that a driver
/// passes their way, once per need and trip, in the transaction that wrote
/// the trip.
pub async fn announce(state: &AppState, tx: &mut Tx, trip: &Trip) -> ApiResult<usize> {
    let (found, needs) = found_for_trip(state, trip).await?;
    let driver = public_names(state, std::slice::from_ref(&trip.driver_id)).await?;
    let driver = driver
        .get(&trip.driver_id)
        .cloned()
        .unwrap_or_else(|| "Un conducteur".into());
    let mut told = std::collections::HashSet::new();
    for f in &found {
        let need = &needs[f.need].need;
        if !told.insert(need.id.clone()) {
            continue;
        }
        let today = crate::db::now().with_timezone(&trip.tz).date_naive();
        crate::notify::post(
            tx,
            crate::notify::Notice {
                user_id: need.passenger_id.clone(),
                kind: "new_driver",
                title: "Un conducteur passe sur votre trajet".into(),
                body: format!(
                    "{driver} peut vous prendre {} : prise en charge à {} à {}.",
                    when(f),
                    clock_time(&f.pickup_at).spoken(),
                    short(&f.pickup.place.label)
                ),
                url: format!("/requests/{}", need.id),
                urgent: f.date == today,
                deliver_after: 0,
                dedupe_key: Some(format!("new_driver:{}:{}", need.id, trip.id)),
            },
        )
        .await?;
    }
    Ok(told.len())
}

// ---------------------------------------------------------------------------
// Explanations
// ---------------------------------------------------------------------------

pub(crate) async fn public_names(
    state: &AppState,
    ids: &[String],
) -> ApiResult<HashMap<String, String>> {
    let mut names = HashMap::new();
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, display_name FROM users WHERE id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(id);
        }
        for row in query.fetch_all(&state.db.pool).await? {
            let name: String = row.try_get("display_name")?;
            names.insert(row.try_get("id")?, public_name(&name));
        }
    }
    Ok(names)
}

/// "le mardi 8 décembre" or "du lundi au vendredi".
fn when(found: &Found) -> String {
    if let Some(days) = Weekdays::new(found.weekdays.iter().copied()) {
        return days.french();
    }
    format!("le {}", lotocar_shared::time::french_date(found.date))
}

pub(crate) fn short(label: &str) -> &str {
    label.split(" (").next().unwrap_or(label)
}

fn explain(found: &Found) -> String {
    let detour = found.detour_minutes.ceil() as i64;
    let detour = if detour <= 0 {
        "sans détour pour le conducteur".to_string()
    } else {
        format!("+{detour} min de détour pour le conducteur")
    };
    let walk = |stop: &Stop, verb: &str| {
        if stop.walk_meters > 0.0 {
            format!(
                " ({} m à pied {verb})",
                (stop.walk_meters / 10.0).round() as i64 * 10
            )
        } else {
            String::new()
        }
    };
    let mut text = format!(
        "{} : {detour}, prise en charge à {} à {}{}, arrivée à {} à {}{}.",
        capitalize(&when(found)),
        clock_time(&found.pickup_at).spoken(),
        short(&found.pickup.place.label),
        walk(&found.pickup, "pour y aller"),
        clock_time(&found.dropoff_at).spoken(),
        short(&found.dropoff.place.label),
        walk(&found.dropoff, "ensuite"),
    );
    if found.need_leg == Leg::Return {
        text.insert_str(0, "Retour — ");
    }
    text
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

pub(crate) fn stop(place: &TripPlace, at: &chrono::DateTime<Tz>) -> MatchStop {
    MatchStop {
        place: place.clone(),
        time: clock_time(at).to_string(),
        at: at.fixed_offset(),
    }
}

/// The API form of what was found. `for_driver`: the driver looks at
/// passengers, so the passenger's public name is given too.
async fn to_api(
    state: &AppState,
    found: &[Found],
    trips: &[&Trip],
    needs: &[&Need],
    for_driver: bool,
) -> ApiResult<Vec<Match>> {
    let mut people: Vec<String> = found
        .iter()
        .map(|f| trips[f.trip].driver_id.clone())
        .collect();
    if for_driver {
        people.extend(found.iter().map(|f| needs[f.need].passenger_id.clone()));
    }
    people.sort();
    people.dedup();
    let names = public_names(state, &people).await?;
    let name_of = |id: &str| PublicPerson {
        display_name: names.get(id).cloned().unwrap_or_else(|| "Membre".into()),
    };
    let mut matches = Vec::with_capacity(found.len());
    for f in found {
        let trip = trips[f.trip];
        let need = needs[f.need];
        // A seat must be free that date (confirmed bookings hold seats).
        let seats_left = i64::from(trip.seats)
            - seats_taken(&state.db.pool, &trip.id, f.date, f.trip_leg).await?;
        if seats_left < i64::from(need.seats) {
            continue;
        }
        matches.push(Match {
            offer_id: trip.id.clone(),
            request_id: need.id.clone(),
            date: f.date,
            leg: f.trip_leg,
            need_leg: f.need_leg,
            pickup: stop(&f.pickup.place, &f.pickup_at),
            dropoff: stop(&f.dropoff.place, &f.dropoff_at),
            detour_minutes: (f.detour_minutes * 10.0).round() / 10.0,
            detour_class: DetourClass::of(f.detour_minutes),
            walk_meters: f.walk_meters().round() as u32,
            driver: name_of(&trip.driver_id),
            passenger: for_driver.then(|| name_of(&need.passenger_id)),
            weekdays: f.weekdays.clone(),
            dates: f.dates.clone(),
            seats_left,
            score: ((f.detour_minutes + f.deviation_minutes / 100.0 + f.walk_meters() / 100_000.0)
                * 1000.0)
                .round()
                / 1000.0,
            explanation: explain(f),
        });
    }
    Ok(matches)
}
