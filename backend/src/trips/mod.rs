//! Trips and needs: a driver's offer (a regular commute or a one-off trip)
//! and a passenger's request. Create, read, update, delete, list mine.
//! Only the owner sees their own; anyone else gets 404, as if it did not
//! exist.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use chrono_tz::Tz;
use lotocar_shared::api::{
    Need, NeedCreated, NeedInput, NeedPatch, Offer, OfferInput, OfferPatch, PlaceInput, PlaceQuery,
    Problem, TripPlace,
};
use lotocar_shared::need::NeedStatus;
use lotocar_shared::offer::{DetourTolerance, Seats};
use lotocar_shared::schedule::{NeedSchedule, OfferSchedule};
use lotocar_shared::validation::Invalid;
use sqlx::Row;
use sqlx::any::AnyRow;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthUser;
use crate::bookings;
use crate::db::{Tx, from_ms, new_id, next_change, now_ms};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::idempotency::{Attempt, Creation, IdempotencyKey};
use crate::matching;
use crate::places;
use crate::state::AppState;
use crate::territories::{self, Territory};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_offer, list_offers))
        .routes(routes!(get_offer, patch_offer, delete_offer))
        .routes(routes!(create_request, list_requests))
        .routes(routes!(get_request, patch_request, delete_request))
}

// ---------------------------------------------------------------------------
// Offers
// ---------------------------------------------------------------------------

/// Posts a trip: a regular commute (weekdays, times) or a one-off trip.
#[utoipa::path(post, path = "/api/v1/offers", tag = "offers",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = OfferInput,
    responses(
        (status = 201, body = Offer),
        (status = 401, body = Problem),
        (status = 422, description = "Invalid fields, all listed in `errors`", body = Problem),
    ))]
async fn create_offer(
    State(state): State<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    ApiJson(input): ApiJson<OfferInput>,
) -> ApiResult<Response> {
    let (draft, trip) = both(
        input.validate(),
        Endpoints::resolve_input(&state, &input.origin, &input.destination).await,
    )?;
    let tz = trip.timezone(&state);
    check_offer_schedule(&draft.schedule, tz)?;
    let creation = Creation::new(&user.id, key, "/api/v1/offers", &input);
    let mut tx = match creation.begin(&state).await? {
        Attempt::Replay(response) => return Ok(response),
        Attempt::Fresh(tx) => tx,
    };
    let id = insert_offer(
        &mut tx,
        &user.id,
        &trip,
        &draft.schedule,
        draft.seats,
        draft.max_detour,
        tz,
    )
    .await?;
    let offer = load_offer(&state, &mut *tx, &id, &user.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("offer {id} not readable after insert"))?;
    matching::announce(&state, &mut tx, &offer_for_matching(&offer, &user.id, tz)).await?;
    creation.commit(&state, tx, &offer).await
}

/// Stores a new trip and returns its id.
pub(crate) async fn insert_offer(
    tx: &mut Tx,
    owner_id: &str,
    trip: &Endpoints,
    schedule: &OfferSchedule,
    seats: Seats,
    max_detour: DetourTolerance,
    tz: Tz,
) -> Result<String, sqlx::Error> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO offers (id, owner_id, territory_id,
            origin_place_id, origin_label, origin_insee, origin_lat, origin_lon,
            dest_place_id, dest_label, dest_insee, dest_lat, dest_lon,
            schedule, first_date, last_date, seats, max_detour_minutes, paused, created_at, updated_at, change_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 0, $19, $19, $20)",
    )
    .bind(&id)
    .bind(owner_id)
    .bind(trip.territory.as_ref().map(|t| t.id.clone()))
    .bind(trip.origin.place_id.clone())
    .bind(&trip.origin.label)
    .bind(trip.origin.insee.clone())
    .bind(trip.origin.lat)
    .bind(trip.origin.lon)
    .bind(trip.destination.place_id.clone())
    .bind(&trip.destination.label)
    .bind(trip.destination.insee.clone())
    .bind(trip.destination.lat)
    .bind(trip.destination.lon)
    .bind(json_text(schedule))
    .bind(offer_first_date(schedule, tz).to_string())
    .bind(schedule.last_date(tz).map(|d| d.to_string()))
    .bind(i64::from(seats))
    .bind(i64::from(max_detour))
    .bind(now_ms())
    .bind(next_change(tx).await?)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// My trips, newest first.
#[utoipa::path(get, path = "/api/v1/offers", tag = "offers",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Offer>), (status = 401, body = Problem)))]
async fn list_offers(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Vec<Offer>>> {
    let rows = sqlx::query(
        "SELECT * FROM offers WHERE owner_id = $1 AND deleted_at IS NULL
         ORDER BY created_at DESC LIMIT 500",
    )
    .bind(&user.id)
    .fetch_all(&state.db.pool)
    .await?;
    let territories = territories::list(&state.db).await?;
    rows.iter()
        .map(|row| offer_from_row(row, &territories, &state))
        .collect::<ApiResult<Vec<_>>>()
        .map(Json)
}

/// One of my trips.
#[utoipa::path(get, path = "/api/v1/offers/{id}", tag = "offers",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Offer), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get_offer(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Offer>> {
    load_offer(&state, &state.db.pool, &id, &user.id)
        .await?
        .map(Json)
        .ok_or_else(offer_not_found)
}

/// Pauses or resumes a trip, or changes its seats, detour or times.
#[utoipa::path(patch, path = "/api/v1/offers/{id}", tag = "offers",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = OfferPatch,
    responses(
        (status = 200, body = Offer),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ))]
async fn patch_offer(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<OfferPatch>,
) -> ApiResult<Json<Offer>> {
    let change = patch.validate()?;
    let mut tx = state.db.begin_write().await?;
    let offer = load_offer(&state, &mut *tx, &id, &user.id)
        .await?
        .ok_or_else(offer_not_found)?;
    let tz = state.timezone_of(offer.territory_id.as_deref()).await?;
    let retimed = change.schedule.is_some();
    let schedule = match change.schedule {
        Some(schedule) => {
            check_offer_schedule(&schedule, tz)?;
            schedule
        }
        None => offer.schedule,
    };
    if let Some(seats) = change.seats {
        let held = bookings::seats_held(
            &mut tx,
            &id,
            crate::db::now().with_timezone(&tz).date_naive(),
        )
        .await?;
        if i64::from(seats) < held {
            return Err(ApiError::Conflict {
                code: "seats_taken",
                detail: format!(
                    "{held} place(s) sont déjà réservées sur ce trajet : annulez des réservations avant de réduire le nombre de places."
                ),
            });
        }
    }
    let change_seq = next_change(&mut tx).await?;
    sqlx::query(
        "UPDATE offers SET schedule = $2, first_date = $3, last_date = $4, seats = $5,
                max_detour_minutes = $6, paused = $7, updated_at = $8, change_seq = $9
         WHERE id = $1",
    )
    .bind(&id)
    .bind(json_text(&schedule))
    .bind(offer_first_date(&schedule, tz).to_string())
    .bind(schedule.last_date(tz).map(|d| d.to_string()))
    .bind(change.seats.map(i64::from).unwrap_or(offer.seats))
    .bind(
        change
            .max_detour
            .map(i64::from)
            .unwrap_or(offer.max_detour_minutes),
    )
    .bind(i64::from(change.paused.unwrap_or(offer.paused)))
    .bind(now_ms())
    .bind(change_seq)
    .execute(&mut *tx)
    .await?;
    let updated = load_offer(&state, &mut *tx, &id, &user.id)
        .await?
        .ok_or_else(offer_not_found)?;
    if !updated.paused {
        matching::announce(&state, &mut tx, &offer_for_matching(&updated, &user.id, tz)).await?;
    }
    if retimed || (updated.paused && !offer.paused) {
        let what = if updated.paused {
            "trajet mis en pause".to_string()
        } else {
            updated.summary.clone()
        };
        bookings::tell_trip_changed(&state, &mut tx, &id, &what).await?;
    }
    tx.commit().await?;
    Ok(Json(updated))
}

/// Deletes a trip.
#[utoipa::path(delete, path = "/api/v1/offers/{id}", tag = "offers",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn delete_offer(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin_write().await?;
    let change_seq = next_change(&mut tx).await?;
    let deleted = sqlx::query(
        "UPDATE offers SET deleted_at = $3, updated_at = $3, change_seq = $4
         WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL",
    )
    .bind(&id)
    .bind(&user.id)
    .bind(now_ms())
    .bind(change_seq)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if deleted == 0 {
        return Err(offer_not_found());
    }
    bookings::cancel_all(
        &state,
        &mut tx,
        "offer_id",
        &id,
        &user.id,
        "le conducteur a supprimé ce trajet",
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The matching view of a stored offer.
fn offer_for_matching(offer: &Offer, owner_id: &str, tz: Tz) -> matching::engine::Trip {
    matching::engine::Trip {
        ends: matching::engine::Ends::of(&offer.origin, &offer.destination),
        id: offer.id.clone(),
        driver_id: owner_id.to_string(),
        origin: offer.origin.clone(),
        destination: offer.destination.clone(),
        schedule: offer.schedule.clone(),
        seats: offer.seats as u8,
        max_detour_minutes: offer.max_detour_minutes as f64,
        tz,
    }
}

fn offer_not_found() -> ApiError {
    ApiError::not_found("Ce trajet n'existe pas, ou il a été supprimé.")
}

fn check_offer_schedule(schedule: &OfferSchedule, tz: Tz) -> ApiResult<()> {
    let today = crate::db::now().with_timezone(&tz).date_naive();
    match schedule {
        OfferSchedule::Once(once) if once.departure() < crate::db::now() => Err(ApiError::field(
            "schedule.departure",
            "Ce départ est déjà passé : choisissez une date et une heure à venir.",
        )),
        OfferSchedule::Weekly(weekly) if weekly.until().is_some_and(|until| until < today) => {
            Err(ApiError::field(
                "schedule.until",
                "Cette date de fin est déjà passée : choisissez une date à venir, ou aucune.",
            ))
        }
        _ => Ok(()),
    }
}

fn offer_first_date(schedule: &OfferSchedule, tz: Tz) -> NaiveDate {
    match schedule {
        OfferSchedule::Weekly(w) => w.from(),
        OfferSchedule::Once(o) => o.departure().with_timezone(&tz).date_naive(),
    }
}

async fn load_offer<'e, E>(
    state: &AppState,
    executor: E,
    id: &str,
    owner_id: &str,
) -> ApiResult<Option<Offer>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let Some(row) =
        sqlx::query("SELECT * FROM offers WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL")
            .bind(id)
            .bind(owner_id)
            .fetch_optional(executor)
            .await?
    else {
        return Ok(None);
    };
    let territories = territories::list(&state.db).await?;
    offer_from_row(&row, &territories, state).map(Some)
}

pub fn offer_from_row(
    row: &AnyRow,
    territories: &[Territory],
    state: &AppState,
) -> ApiResult<Offer> {
    let schedule: OfferSchedule = parse_json_column(row, "schedule")?;
    let territory_id: Option<String> = row.try_get("territory_id")?;
    let tz = timezone_in(territories, territory_id.as_deref(), state);
    let origin = place_from_row(row, "origin")?;
    let destination = place_from_row(row, "dest")?;
    let seats: i64 = row.try_get("seats")?;
    Ok(Offer {
        id: row.try_get("id")?,
        summary: format!(
            "{} → {}, {} · {seats} place{}",
            short_label(&origin),
            short_label(&destination),
            schedule.describe(tz),
            if seats > 1 { "s" } else { "" }
        ),
        origin,
        destination,
        schedule,
        seats,
        max_detour_minutes: row.try_get("max_detour_minutes")?,
        paused: row.try_get::<i64, _>("paused")? != 0,
        territory_id,
        created_at: from_ms(row.try_get("created_at")?),
        updated_at: from_ms(row.try_get("updated_at")?),
    })
}

// ---------------------------------------------------------------------------
// Needs
// ---------------------------------------------------------------------------

/// Posts a need; the answer lists the trips that can take the passenger,
/// best first.
#[utoipa::path(post, path = "/api/v1/requests", tag = "requests",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = NeedInput,
    responses(
        (status = 201, body = NeedCreated),
        (status = 401, body = Problem),
        (status = 422, description = "Invalid fields, all listed in `errors`", body = Problem),
    ))]
async fn create_request(
    State(state): State<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    ApiJson(input): ApiJson<NeedInput>,
) -> ApiResult<Response> {
    let (draft, trip) = both(
        input.validate(),
        Endpoints::resolve_input(&state, &input.origin, &input.destination).await,
    )?;
    let tz = trip.timezone(&state);
    check_need_schedule(&draft.schedule, tz)?;
    // A relay posts for a person they registered; the need belongs to the
    // beneficiary's territory, where its relays and coordinator see it.
    let beneficiary = match draft.on_behalf_of.as_deref() {
        None => None,
        Some(id) => Some(
            crate::relay::load_for(&state.db.pool, &user, id)
                .await
                .map_err(|_| {
                    ApiError::field(
                        "on_behalf_of",
                        "Personne inconnue : choisissez une personne inscrite sur votre territoire.",
                    )
                })?,
        ),
    };
    let territory_id = match &beneficiary {
        Some(b) => Some(b.territory_id.clone()),
        None => trip.territory.as_ref().map(|t| t.id.clone()),
    };
    let today = crate::db::now().with_timezone(&tz).date_naive();
    let creation = Creation::new(&user.id, key, "/api/v1/requests", &input);
    let id = new_id();
    // Matched before the need is written, so that the answer and its
    // idempotency record commit together.
    let need = matching::engine::Need {
        ends: matching::engine::Ends::of(&trip.origin, &trip.destination),
        id: id.clone(),
        passenger_id: user.id.clone(),
        origin: trip.origin.clone(),
        destination: trip.destination.clone(),
        schedule: draft.schedule.clone(),
        seats: draft.seats.get(),
        tz,
    };
    let matches = matching::for_need(&state, &need).await?;
    let mut tx = match creation.begin(&state).await? {
        Attempt::Replay(response) => return Ok(response),
        Attempt::Fresh(tx) => tx,
    };
    let change_seq = next_change(&mut tx).await?;
    sqlx::query(
        "INSERT INTO needs (id, owner_id, on_behalf_of, territory_id,
            origin_place_id, origin_label, origin_insee, origin_lat, origin_lon,
            dest_place_id, dest_label, dest_insee, dest_lat, dest_lon,
            schedule, first_date, last_date, seats, purpose, status, created_at, updated_at, change_seq)
         VALUES ($1, $2, $22, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20, $21)",
    )
    .bind(&id)
    .bind(&user.id)
    .bind(territory_id.clone())
    .bind(trip.origin.place_id.clone())
    .bind(&trip.origin.label)
    .bind(trip.origin.insee.clone())
    .bind(trip.origin.lat)
    .bind(trip.origin.lon)
    .bind(trip.destination.place_id.clone())
    .bind(&trip.destination.label)
    .bind(trip.destination.insee.clone())
    .bind(trip.destination.lat)
    .bind(trip.destination.lon)
    .bind(json_text(&draft.schedule))
    .bind(draft.schedule.first_date(today).to_string())
    .bind(draft.schedule.last_date().map(|d| d.to_string()))
    .bind(i64::from(draft.seats))
    .bind(draft.purpose.code())
    .bind(NeedStatus::Open.code())
    .bind(now_ms())
    .bind(change_seq)
    .bind(beneficiary.as_ref().map(|b| b.id.clone()))
    .execute(&mut *tx)
    .await?;
    if let Some(b) = &beneficiary {
        sqlx::query("UPDATE beneficiaries SET last_active_at = $2 WHERE id = $1")
            .bind(&b.id)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        crate::relay::audit(
            &mut tx,
            Some(&b.territory_id),
            &user.id,
            "request_posted_for",
            ("request", &id),
            // The person's name is read when the log is shown (so that
            // erasing them erases it here too).
            "",
        )
        .await?;
    }
    let request = load_need(&mut *tx, &id, &user.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("need {id} not readable after insert"))?;
    creation
        .commit(&state, tx, &NeedCreated { request, matches })
        .await
}

/// My needs, newest first, including cancelled ones.
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Need>), (status = 401, body = Problem)))]
async fn list_requests(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<Vec<Need>>> {
    let rows =
        sqlx::query("SELECT * FROM needs WHERE owner_id = $1 ORDER BY created_at DESC LIMIT 500")
            .bind(&user.id)
            .fetch_all(&state.db.pool)
            .await?;
    rows.iter()
        .map(need_from_row)
        .collect::<ApiResult<Vec<_>>>()
        .map(Json)
}

/// One of my needs.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Need), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get_request(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Need>> {
    load_need(&state.db.pool, &id, &user.id)
        .await?
        .map(Json)
        .ok_or_else(need_not_found)
}

/// Changes the times, seats or purpose of an open need.
#[utoipa::path(patch, path = "/api/v1/requests/{id}", tag = "requests",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = NeedPatch,
    responses(
        (status = 200, body = Need),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "The need is closed", body = Problem),
        (status = 422, body = Problem),
    ))]
async fn patch_request(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<NeedPatch>,
) -> ApiResult<Json<Need>> {
    let change = patch.validate()?;
    let mut tx = state.db.begin_write().await?;
    let need = load_need(&mut *tx, &id, &user.id)
        .await?
        .ok_or_else(need_not_found)?;
    if need.status != NeedStatus::Open {
        return Err(ApiError::Conflict {
            code: "request_closed",
            detail: "Cette demande est close : elle ne peut plus être modifiée. Publiez une nouvelle demande.".into(),
        });
    }
    let tz = state.timezone_of(need.territory_id.as_deref()).await?;
    let schedule = match change.schedule {
        Some(schedule) => {
            check_need_schedule(&schedule, tz)?;
            schedule
        }
        None => need.schedule,
    };
    let today = crate::db::now().with_timezone(&tz).date_naive();
    let change_seq = next_change(&mut tx).await?;
    sqlx::query(
        "UPDATE needs SET schedule = $2, first_date = $3, last_date = $4, seats = $5, purpose = $6,
                updated_at = $7, change_seq = $8
         WHERE id = $1",
    )
    .bind(&id)
    .bind(json_text(&schedule))
    .bind(schedule.first_date(today).to_string())
    .bind(schedule.last_date().map(|d| d.to_string()))
    .bind(change.seats.map(i64::from).unwrap_or(need.seats))
    .bind(change.purpose.unwrap_or(need.purpose).code())
    .bind(now_ms())
    .bind(change_seq)
    .execute(&mut *tx)
    .await?;
    let updated = load_need(&mut *tx, &id, &user.id)
        .await?
        .ok_or_else(need_not_found)?;
    tx.commit().await?;
    Ok(Json(updated))
}

/// Cancels a need. It is not erased: it stays in my list, cancelled.
#[utoipa::path(delete, path = "/api/v1/requests/{id}", tag = "requests",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204, description = "Cancelled"), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn delete_request(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin_write().await?;
    let need = load_need(&mut *tx, &id, &user.id)
        .await?
        .ok_or_else(need_not_found)?;
    if need.status.is_active() {
        bookings::cancel_all(
            &state,
            &mut tx,
            "need_id",
            &id,
            &user.id,
            "le passager a annulé sa demande",
        )
        .await?;
        let change_seq = next_change(&mut tx).await?;
        // Kept with its outcome, for the territory's figures.
        sqlx::query(
            "UPDATE needs SET status = $2, updated_at = $3, change_seq = $4,
                outcome = 'cancelled_by_passenger', outcome_reason = 'annulée dans l''application',
                outcome_by = $5, outcome_at = $3
             WHERE id = $1",
        )
        .bind(&id)
        .bind(NeedStatus::Cancelled.code())
        .bind(now_ms())
        .bind(change_seq)
        .bind(&user.id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

fn need_not_found() -> ApiError {
    ApiError::not_found("Cette demande n'existe pas.")
}

fn check_need_schedule(schedule: &NeedSchedule, tz: Tz) -> ApiResult<()> {
    let today = crate::db::now().with_timezone(&tz).date_naive();
    match schedule {
        NeedSchedule::Once(once) if once.date < today => Err(ApiError::field(
            "schedule.date",
            "Cette date est déjà passée : choisissez une date à venir.",
        )),
        NeedSchedule::Weekly(weekly) if weekly.until.is_some_and(|until| until < today) => {
            Err(ApiError::field(
                "schedule.until",
                "Cette date de fin est déjà passée : choisissez une date à venir, ou aucune.",
            ))
        }
        _ => Ok(()),
    }
}

async fn load_need<'e, E>(executor: E, id: &str, owner_id: &str) -> ApiResult<Option<Need>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let Some(row) = sqlx::query("SELECT * FROM needs WHERE id = $1 AND owner_id = $2")
        .bind(id)
        .bind(owner_id)
        .fetch_optional(executor)
        .await?
    else {
        return Ok(None);
    };
    need_from_row(&row).map(Some)
}

pub fn need_from_row(row: &AnyRow) -> ApiResult<Need> {
    let schedule: NeedSchedule = parse_json_column(row, "schedule")?;
    let territory_id: Option<String> = row.try_get("territory_id")?;
    let origin = place_from_row(row, "origin")?;
    let destination = place_from_row(row, "dest")?;
    let purpose: String = row.try_get("purpose")?;
    let status: String = row.try_get("status")?;
    let outcome = match row.try_get::<Option<String>, _>("outcome")? {
        Some(code) => {
            let outcome = lotocar_shared::relay::Outcome::from_code(&code)
                .ok_or_else(|| anyhow::anyhow!("stored outcome {code}"))?;
            Some(lotocar_shared::relay::RecordedOutcome {
                outcome,
                label: outcome.label().to_string(),
                reason: row.try_get("outcome_reason")?,
                recorded_by: row
                    .try_get::<Option<String>, _>("outcome_by")?
                    .unwrap_or_default(),
                at: from_ms(row.try_get::<Option<i64>, _>("outcome_at")?.unwrap_or(0)),
            })
        }
        None => None,
    };
    Ok(Need {
        id: row.try_get("id")?,
        summary: format!(
            "{} → {}, {}",
            short_label(&origin),
            short_label(&destination),
            schedule.describe()
        ),
        origin,
        destination,
        schedule,
        seats: row.try_get("seats")?,
        purpose: lotocar_shared::need::Purpose::from_code(&purpose)
            .ok_or_else(|| anyhow::anyhow!("stored purpose {purpose}"))?,
        status: NeedStatus::from_code(&status)
            .ok_or_else(|| anyhow::anyhow!("stored status {status}"))?,
        on_behalf_of: row.try_get("on_behalf_of")?,
        // Only queries that join the beneficiary have this column.
        beneficiary_name: row
            .try_get::<Option<String>, _>("beneficiary_name")
            .ok()
            .flatten()
            .filter(|n| !n.is_empty()),
        outcome,
        territory_id,
        created_at: from_ms(row.try_get("created_at")?),
        updated_at: from_ms(row.try_get("updated_at")?),
    })
}

// ---------------------------------------------------------------------------
// Shared by offers and needs
// ---------------------------------------------------------------------------

/// The two ends of a trip or need, resolved, and the territory they fall in.
pub(crate) struct Endpoints {
    pub origin: TripPlace,
    pub destination: TripPlace,
    pub territory: Option<Territory>,
}

/// Below this, origin and destination are the same place.
const MIN_TRIP_METERS: f64 = 500.0;

impl Endpoints {
    pub async fn resolve(
        state: &AppState,
        origin: &PlaceQuery,
        destination: &PlaceQuery,
    ) -> ApiResult<Endpoints> {
        let mut invalid = Invalid::new();
        let mut resolved = Vec::with_capacity(2);
        for (field, query) in [("origin", origin), ("destination", destination)] {
            match places::resolve(&state.db, &state.places, query, field).await {
                Ok(place) => resolved.push(Some(place)),
                Err(ApiError::Validation(errors)) => {
                    invalid.absorb("", errors);
                    resolved.push(None);
                }
                Err(other) => return Err(other),
            }
        }
        let (Some((origin, origin_dep)), Some((destination, dest_dep))) =
            (resolved[0].take(), resolved[1].take())
        else {
            return Err(invalid.into());
        };
        if origin.point().distance_m(destination.point()) < MIN_TRIP_METERS {
            return Err(ApiError::field(
                "destination",
                "Le départ et l'arrivée sont au même endroit : choisissez une autre destination.",
            ));
        }
        let all = territories::list(&state.db).await?;
        let territory =
            territories::for_trip(&all, origin_dep.as_deref(), dest_dep.as_deref()).cloned();
        Ok(Endpoints {
            origin,
            destination,
            territory,
        })
    }

    /// Resolves the places of a request body, reporting the faults of both.
    pub async fn resolve_input(
        state: &AppState,
        origin: &PlaceInput,
        destination: &PlaceInput,
    ) -> ApiResult<Endpoints> {
        let (origin, destination) = match (origin.validate(), destination.validate()) {
            (Ok(origin), Ok(destination)) => (origin, destination),
            (origin, destination) => {
                let mut invalid = Invalid::new();
                invalid.check("origin", origin);
                invalid.check("destination", destination);
                return Err(invalid.into());
            }
        };
        Self::resolve(state, &origin, &destination).await
    }

    pub fn timezone(&self, state: &AppState) -> Tz {
        self.territory
            .as_ref()
            .map(|t| t.timezone)
            .unwrap_or(state.config.timezone)
    }
}

impl AppState {
    /// The time zone of a territory, or the server's default.
    pub async fn timezone_of(&self, territory_id: Option<&str>) -> Result<Tz, sqlx::Error> {
        Ok(match territory_id {
            Some(id) => territories::get(&self.db, id)
                .await?
                .map(|t| t.timezone)
                .unwrap_or(self.config.timezone),
            None => self.config.timezone,
        })
    }
}

/// Both values, or every validation fault of either (each once).
fn both<A, B>(a: Result<A, Invalid>, b: ApiResult<B>) -> ApiResult<(A, B)> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(mut invalid), Err(ApiError::Validation(more))) => {
            for error in more.errors {
                if !invalid.errors.contains(&error) {
                    invalid.errors.push(error);
                }
            }
            Err(invalid.into())
        }
        (Err(invalid), Ok(_)) => Err(invalid.into()),
        (_, Err(other)) => Err(other),
    }
}

fn timezone_in(territories: &[Territory], territory_id: Option<&str>, state: &AppState) -> Tz {
    territory_id
        .and_then(|id| territories.iter().find(|t| t.id == id))
        .map(|t| t.timezone)
        .unwrap_or(state.config.timezone)
}

pub(crate) fn place_from_row(row: &AnyRow, prefix: &str) -> Result<TripPlace, sqlx::Error> {
    Ok(TripPlace {
        place_id: row.try_get(format!("{prefix}_place_id").as_str())?,
        label: row.try_get(format!("{prefix}_label").as_str())?,
        insee: row.try_get(format!("{prefix}_insee").as_str())?,
        lat: row.try_get(format!("{prefix}_lat").as_str())?,
        lon: row.try_get(format!("{prefix}_lon").as_str())?,
    })
}

/// "Figeac" out of "Figeac (46100)".
fn short_label(place: &TripPlace) -> &str {
    place.label.split(" (").next().unwrap_or(&place.label)
}

fn json_text(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("domain values serialize")
}

fn parse_json_column<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> ApiResult<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored {column} unreadable: {e}")))
}
