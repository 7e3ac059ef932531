//! Bookings: a passenger asks for a seat, the driver confirms or declines,
//! either side cancels, and after the trip one side says it happened and
//! the other validates (or 48 hours pass). Statuses only move forward.
//! Seats are held per trip, leg and date in `seat_ledger`, added to only
//! while they stay within the trip's seats: no overbooking, whatever the
//! concurrency. Every change notifies the other party in the same
//! transaction.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;
use lotocar_shared::BookingStatus;
use lotocar_shared::api::{
    Booking, BookingDate, BookingInput, BookingPatch, ContactDetails, ContactReveal, Leg,
    MatchStop, Problem, PublicPerson,
};
use lotocar_shared::booking::TransitionError;
use lotocar_shared::need::NeedStatus;
use lotocar_shared::schedule::{clock_time, local_instant};
use lotocar_shared::time::{LocalTime, Weekdays, french_date};
use sqlx::Row;
use sqlx::any::AnyRow;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthUser;
use crate::db::{Tx, from_ms, new_id, next_change, now_ms};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::idempotency::{Attempt, Creation, IdempotencyKey};
use crate::matching::{self, leg_code, public_names, short};
use crate::notify::{self, Notice};
use crate::state::AppState;
use crate::territories;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_booking, list_bookings))
        .routes(routes!(get_booking, patch_booking))
        .routes(routes!(cancel_date))
        .routes(routes!(contact_reveals))
        .routes(routes!(check_in))
}

/// Statuses in which a booking still counts.
const LIVE: &str = "('INITIATED', 'WAITING_CONFIRMATION', 'WAITING_DRIVER_CONFIRMATION', 'WAITING_PASSENGER_CONFIRMATION', 'CONFIRMED', 'COMPLETED_PENDING_VALIDATION')";

// ---------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------

/// Asks for a seat on a trip that can take the passenger (see the
/// request's matches). The driver is told at once.
#[utoipa::path(post, path = "/api/v1/bookings", tag = "bookings",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    request_body = BookingInput,
    responses(
        (status = 201, body = Booking),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "Already asked, trip full or closed", body = Problem),
        (status = 422, description = "This trip cannot take this need that day", body = Problem),
    ))]
async fn create_booking(
    State(state): State<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
    ApiJson(input): ApiJson<BookingInput>,
) -> ApiResult<Response> {
    let creation = Creation::new(&user.id, key, "/api/v1/bookings", &input);
    let territories = territories::list(&state.db).await?;
    let need_row = sqlx::query("SELECT * FROM needs WHERE id = $1 AND owner_id = $2")
        .bind(&input.request_id)
        .bind(&user.id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or_else(|| {
            ApiError::field(
                "request_id",
                "Demande inconnue : choisissez une de vos demandes.",
            )
        })?;
    let offer_row = sqlx::query("SELECT * FROM offers WHERE id = $1 AND deleted_at IS NULL")
        .bind(&input.offer_id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or_else(|| ApiError::not_found("Ce trajet n'existe plus."))?;
    let (_, need) = matching::need_from_row(&need_row, &territories, &state)?;
    let need = need.ok_or_else(|| ApiError::Conflict {
        code: "request_closed",
        detail: "Cette demande est close ou passée : publiez une nouvelle demande.".into(),
    })?;
    let (_, trip) = matching::trip_from_row(&offer_row, &territories, &state)?;
    let trip = trip.ok_or_else(|| ApiError::Conflict {
        code: "offer_closed",
        detail: "Ce trajet est en pause ou terminé : choisissez-en un autre.".into(),
    })?;
    if trip.driver_id == user.id {
        return Err(ApiError::field(
            "offer_id",
            "Vous ne pouvez pas réserver une place sur votre propre trajet.",
        ));
    }
    let found = matching::between(&state, &trip, &need).await?;
    let Some(m) = found.iter().find(|f| {
        f.need_leg == input.need_leg && (f.date == input.date || f.dates.contains(&input.date))
    }) else {
        return Err(ApiError::field(
            "date",
            "Ce trajet ne peut pas vous prendre ce jour-là (horaires ou détour incompatibles) : choisissez un trajet proposé.",
        ));
    };
    let recurring = !m.weekdays.is_empty();
    let dates: Vec<NaiveDate> = if recurring {
        m.dates
            .iter()
            .copied()
            .filter(|d| *d >= input.date)
            .collect()
    } else {
        vec![input.date]
    };
    let weekdays = Weekdays::new(m.weekdays.iter().copied()).map(|w| i64::from(w.bits()));
    for date in &dates {
        let left = i64::from(trip.seats)
            - matching::seats_taken(&state.db.pool, &trip.id, *date, m.trip_leg).await?;
        if left < i64::from(need.seats) {
            return Err(ApiError::Conflict {
                code: "no_seat",
                detail: format!(
                    "Ce trajet est complet le {} : choisissez-en un autre.",
                    french_date(*date)
                ),
            });
        }
    }
    let pickup = matching::stop(&m.pickup.place, &m.pickup_at);
    let dropoff = matching::stop(&m.dropoff.place, &m.dropoff_at);

    let mut tx = match creation.begin(&state).await? {
        Attempt::Replay(response) => return Ok(response),
        Attempt::Fresh(tx) => tx,
    };
    let already: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM bookings WHERE need_id = $1 AND offer_id = $2 AND need_leg = $3 AND status IN {LIVE}"
    )))
    .bind(&need.id)
    .bind(&trip.id)
    .bind(leg_code(input.need_leg))
    .fetch_one(&mut *tx)
    .await?
    .try_get("n")?;
    if already > 0 {
        return Err(ApiError::Conflict {
            code: "already_booked",
            detail: "Vous avez déjà demandé une place sur ce trajet : voyez vos réservations."
                .into(),
        });
    }
    let id = new_id();
    let now = now_ms();
    let change_seq = next_change(&mut tx).await?;
    sqlx::query(
        "INSERT INTO bookings (id, offer_id, need_id, driver_id, passenger_id, recurring, weekdays, first_date, leg, need_leg,
                               seats, status, pickup, dropoff, detour_minutes, status_by, created_at, updated_at, change_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $5, $16, $16, $17)",
    )
    .bind(&id)
    .bind(&trip.id)
    .bind(&need.id)
    .bind(&trip.driver_id)
    .bind(&user.id)
    .bind(i64::from(recurring))
    .bind(weekdays)
    .bind(dates[0].to_string())
    .bind(leg_code(m.trip_leg))
    .bind(leg_code(m.need_leg))
    .bind(i64::from(need.seats))
    .bind(BookingStatus::WaitingDriverConfirmation.code())
    .bind(serde_json::to_string(&pickup).map_err(anyhow::Error::from)?)
    .bind(serde_json::to_string(&dropoff).map_err(anyhow::Error::from)?)
    .bind(m.detour_minutes)
    .bind(now)
    .bind(change_seq)
    .execute(&mut *tx)
    .await?;
    for date in &dates {
        sqlx::query("INSERT INTO booking_dates (booking_id, date, status, holds_seat) VALUES ($1, $2, 'active', 0)")
            .bind(&id)
            .bind(date.to_string())
            .execute(&mut *tx)
            .await?;
    }
    let row = load(&mut *tx, &id, &user.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("booking {id} vanished"))?;
    let names = public_names(&state, &[row.driver_id.clone(), row.passenger_id.clone()]).await?;
    let passenger = names
        .get(&row.passenger_id)
        .cloned()
        .unwrap_or_else(|| "Un passager".into());
    notify::post(
        &mut tx,
        Notice {
            user_id: row.driver_id.clone(),
            kind: "booking_requested",
            title: "Nouvelle demande de place".into(),
            body: format!(
                "{passenger} demande une place {} : prise en charge à {} à {}. Répondez dans l'application.",
                row.when(),
                pickup.time_spoken(),
                short(&pickup.place.label)
            ),
            url: format!("/bookings/{id}"),
            urgent: row.is_today(state.config.timezone),
            deliver_after: 0,
            dedupe_key: None,
        },
    )
    .await?;
    let view = view(&state, &mut tx, &row, &user.id, false).await?;
    creation.commit(&state, tx, &view).await
}

/// My bookings, as driver and as passenger, newest first.
#[utoipa::path(get, path = "/api/v1/bookings", tag = "bookings",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Booking>), (status = 401, body = Problem)))]
async fn list_bookings(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<Vec<Booking>>> {
    let rows = sqlx::query(
        "SELECT * FROM bookings WHERE driver_id = $1 OR passenger_id = $1 ORDER BY created_at DESC LIMIT 500",
    )
    .bind(&user.id)
    .fetch_all(&state.db.pool)
    .await?;
    let mut tx = state.db.pool.begin().await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(view(&state, &mut tx, &BookingRow::from(row)?, &user.id, false).await?);
    }
    tx.commit().await?;
    Ok(Json(out))
}

/// One booking. On a confirmed booking, the other party's phone or e-mail
/// is given if they agreed to share it; every such showing is recorded.
#[utoipa::path(get, path = "/api/v1/bookings/{id}", tag = "bookings",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Booking), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get_booking(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Booking>> {
    let mut tx = state.db.begin_write().await?;
    let row = load(&mut *tx, &id, &user.id).await?.ok_or_else(not_found)?;
    let view = view(&state, &mut tx, &row, &user.id, true).await?;
    tx.commit().await?;
    Ok(Json(view))
}

/// Moves a booking forward: the driver confirms (CONFIRMED) or declines
/// (CANCELLED); either side cancels (CANCELLED, with a reason); after the
/// trip, one side says it happened (COMPLETED_PENDING_VALIDATION) and the
/// other validates (VALIDATED). A move backward is refused (409).
#[utoipa::path(patch, path = "/api/v1/bookings/{id}", tag = "bookings",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = BookingPatch,
    responses(
        (status = 200, body = Booking),
        (status = 401, body = Problem),
        (status = 403, description = "Not this side's move", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "Backward, already set, or no seat left", body = Problem),
        (status = 422, body = Problem),
    ))]
async fn patch_booking(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<BookingPatch>,
) -> ApiResult<Json<Booking>> {
    let reason = input.reason()?;
    let mut tx = state.db.begin_write().await?;
    let row = load(&mut *tx, &id, &user.id).await?.ok_or_else(not_found)?;
    let current = row.status;
    let next = input.status;
    current.transition(next).map_err(|err| ApiError::Conflict {
        code: match err {
            TransitionError::AlreadySet => "status_already_set",
            TransitionError::Backward => "status_backward",
            TransitionError::Final => "booking_closed",
        },
        detail: err.to_string(),
    })?;
    let is_driver = row.driver_id == user.id;
    let tz = state.config.timezone;
    match next {
        BookingStatus::Confirmed => {
            if !is_driver {
                return Err(ApiError::Forbidden(
                    "Seul le conducteur peut confirmer une réservation.".into(),
                ));
            }
            hold_seats(&mut tx, &row, tz).await?;
        }
        BookingStatus::Cancelled => release_seats(&mut tx, &row, None).await?,
        BookingStatus::CompletedPendingValidation => {
            if row.started_at(tz) > crate::db::now().timestamp_millis() {
                return Err(ApiError::Conflict {
                    code: "trip_not_started",
                    detail: "Le trajet n'a pas encore eu lieu : vous pourrez le confirmer après."
                        .into(),
                });
            }
        }
        BookingStatus::Validated => {
            if row.completed_by.as_deref() == Some(user.id.as_str()) {
                return Err(ApiError::Forbidden(
                    "C'est à l'autre personne de confirmer que le trajet a eu lieu.".into(),
                ));
            }
        }
        _ => {
            return Err(ApiError::field(
                "status",
                "Statut non accepté ici : CONFIRMED, CANCELLED, COMPLETED_PENDING_VALIDATION ou VALIDATED.",
            ));
        }
    }
    set_status(&mut tx, &row, next, &user.id, reason.as_deref()).await?;
    after_change(
        &state,
        &mut tx,
        &row,
        current,
        next,
        &user.id,
        reason.as_deref(),
    )
    .await?;
    let row = load(&mut *tx, &id, &user.id).await?.ok_or_else(not_found)?;
    let view = view(&state, &mut tx, &row, &user.id, true).await?;
    tx.commit().await?;
    Ok(Json(view))
}

/// Cancels one date of a regular booking (a day off, a holiday); the other
/// dates stay.
#[utoipa::path(patch, path = "/api/v1/bookings/{id}/dates/{date}", tag = "bookings",
    security(("bearer" = [])),
    params(("id" = String, Path), ("date" = String, Path)),
    request_body = BookingPatch,
    responses(
        (status = 200, body = Booking),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 409, body = Problem),
        (status = 422, body = Problem),
    ))]
async fn cancel_date(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, date)): Path<(String, String)>,
    ApiJson(input): ApiJson<BookingPatch>,
) -> ApiResult<Json<Booking>> {
    let mut tx = state.db.begin_write().await?;
    // Someone else's booking is not found, whatever the body says.
    let row = load(&mut *tx, &id, &user.id).await?.ok_or_else(not_found)?;
    let reason = input.reason()?;
    if input.status != BookingStatus::Cancelled {
        return Err(ApiError::field(
            "status",
            "Pour une date, seule l'annulation (CANCELLED) est possible.",
        ));
    }
    let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
        .map_err(|_| ApiError::not_found("Cette date ne fait pas partie de la réservation."))?;
    if row.status.is_final() {
        return Err(ApiError::Conflict {
            code: "booking_closed",
            detail: "Cette réservation est close : elle ne peut plus changer.".into(),
        });
    }
    let state_of_date: Option<String> =
        sqlx::query("SELECT status FROM booking_dates WHERE booking_id = $1 AND date = $2")
            .bind(&id)
            .bind(date.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get("status"))
            .transpose()?;
    match state_of_date.as_deref() {
        None => {
            return Err(ApiError::not_found(
                "Cette date ne fait pas partie de la réservation.",
            ));
        }
        Some("cancelled") => {
            return Err(ApiError::Conflict {
                code: "status_already_set",
                detail: "Cette date est déjà annulée.".into(),
            });
        }
        Some(_) => {}
    }
    release_seats(&mut tx, &row, Some(date)).await?;
    sqlx::query(
        "UPDATE booking_dates SET status = 'cancelled' WHERE booking_id = $1 AND date = $2",
    )
    .bind(&id)
    .bind(date.to_string())
    .execute(&mut *tx)
    .await?;
    touch(&mut tx, &id).await?;
    let other = row.other(&user.id).to_string();
    let names = public_names(&state, std::slice::from_ref(&user.id)).await?;
    notify::post(
        &mut tx,
        Notice {
            user_id: other,
            kind: "booking_cancelled",
            title: "Un jour annulé".into(),
            body: format!(
                "{} ne fera pas le trajet le {}{}. Les autres jours ne changent pas.",
                names
                    .get(&user.id)
                    .cloned()
                    .unwrap_or_else(|| "L'autre personne".into()),
                french_date(date),
                reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            ),
            url: format!("/bookings/{id}"),
            urgent: date == today(state.config.timezone),
            deliver_after: 0,
            dedupe_key: Some(format!("date_cancelled:{id}:{date}")),
        },
    )
    .await?;
    let row = load(&mut *tx, &id, &user.id).await?.ok_or_else(not_found)?;
    let view = view(&state, &mut tx, &row, &user.id, true).await?;
    tx.commit().await?;
    Ok(Json(view))
}

fn not_found() -> ApiError {
    ApiError::not_found("Cette réservation n'existe pas.")
}

/// The bookings of `user_id` changed within (`since`, `upto`] of the change
/// sequence, as they see them (no contact details: those are shown on
/// demand, and recorded).
pub async fn changed_for(
    state: &AppState,
    user_id: &str,
    since: i64,
    upto: i64,
) -> ApiResult<Vec<Booking>> {
    let rows = sqlx::query(
        "SELECT * FROM bookings WHERE (driver_id = $1 OR passenger_id = $1) AND change_seq > $2 AND change_seq <= $3
         ORDER BY change_seq",
    )
    .bind(user_id)
    .bind(since)
    .bind(upto)
    .fetch_all(&state.db.pool)
    .await?;
    let mut tx = state.db.pool.begin().await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(view(state, &mut tx, &BookingRow::from(row)?, user_id, false).await?);
    }
    tx.commit().await?;
    Ok(out)
}

/// Who was shown my phone or e-mail, and when.
#[utoipa::path(get, path = "/api/v1/me/contact-reveals", tag = "bookings",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<ContactReveal>), (status = 401, body = Problem)))]
async fn contact_reveals(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<Vec<ContactReveal>>> {
    let rows = sqlx::query(
        "SELECT booking_id, viewer_id, fields, at FROM contact_reveals WHERE subject_id = $1 ORDER BY at DESC LIMIT 500",
    )
    .bind(&user.id)
    .fetch_all(&state.db.pool)
    .await?;
    let viewers: Vec<String> = rows
        .iter()
        .filter_map(|r| r.try_get("viewer_id").ok())
        .collect();
    let names = public_names(&state, &viewers).await?;
    rows.iter()
        .map(|r| {
            let viewer: String = r.try_get("viewer_id")?;
            let fields: String = r.try_get("fields")?;
            Ok(ContactReveal {
                booking_id: r.try_get("booking_id")?,
                viewer: PublicPerson {
                    display_name: names
                        .get(&viewer)
                        .cloned()
                        .unwrap_or_else(|| "Membre".into()),
                },
                fields: fields.split(',').map(str::to_string).collect(),
                at: from_ms(r.try_get("at")?),
            })
        })
        .collect::<ApiResult<Vec<_>>>()
        .map(Json)
}

// ---------------------------------------------------------------------------
// Seats
// ---------------------------------------------------------------------------

/// Holds a seat on every active date to come; refuses (409) if one is full.
async fn hold_seats(tx: &mut Tx, row: &BookingRow, tz: Tz) -> ApiResult<()> {
    let capacity: i64 =
        sqlx::query("SELECT seats FROM offers WHERE id = $1 AND deleted_at IS NULL")
            .bind(&row.offer_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| ApiError::Conflict {
                code: "offer_closed",
                detail: "Ce trajet a été supprimé.".into(),
            })?
            .try_get("seats")?;
    let dates = sqlx::query(
        "SELECT date FROM booking_dates WHERE booking_id = $1 AND status = 'active' AND holds_seat = 0 AND date >= $2 ORDER BY date",
    )
    .bind(&row.id)
    .bind(today(tz).to_string())
    .fetch_all(&mut **tx)
    .await?;
    if dates.is_empty() {
        return Err(ApiError::Conflict {
            code: "no_date_left",
            detail: "Toutes les dates de cette réservation sont passées ou annulées.".into(),
        });
    }
    for date in dates {
        let date: String = date.try_get("date")?;
        sqlx::query(
            "INSERT INTO seat_ledger (offer_id, date, leg, taken) VALUES ($1, $2, $3, 0)
             ON CONFLICT (offer_id, date, leg) DO NOTHING",
        )
        .bind(&row.offer_id)
        .bind(&date)
        .bind(leg_code(row.leg))
        .execute(&mut **tx)
        .await?;
        let held = sqlx::query(
            "UPDATE seat_ledger SET taken = taken + $4
             WHERE offer_id = $1 AND date = $2 AND leg = $3 AND taken + $4 <= $5",
        )
        .bind(&row.offer_id)
        .bind(&date)
        .bind(leg_code(row.leg))
        .bind(row.seats)
        .bind(capacity)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if held == 0 {
            let day = NaiveDate::parse_from_str(&date, "%Y-%m-%d").map_err(anyhow::Error::from)?;
            return Err(ApiError::Conflict {
                code: "no_seat",
                detail: format!(
                    "Plus de place libre le {} : le trajet est complet.",
                    french_date(day)
                ),
            });
        }
        sqlx::query("UPDATE booking_dates SET holds_seat = 1 WHERE booking_id = $1 AND date = $2")
            .bind(&row.id)
            .bind(&date)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Gives back the seats held (on one date, or all).
async fn release_seats(
    tx: &mut Tx,
    row: &BookingRow,
    only: Option<NaiveDate>,
) -> Result<(), sqlx::Error> {
    let held =
        sqlx::query("SELECT date FROM booking_dates WHERE booking_id = $1 AND holds_seat = 1")
            .bind(&row.id)
            .fetch_all(&mut **tx)
            .await?;
    for date in held {
        let date: String = date.try_get("date")?;
        if only.is_some_and(|d| d.to_string() != date) {
            continue;
        }
        sqlx::query(
            "UPDATE seat_ledger SET taken = taken - $4 WHERE offer_id = $1 AND date = $2 AND leg = $3 AND taken >= $4",
        )
        .bind(&row.offer_id)
        .bind(&date)
        .bind(leg_code(row.leg))
        .bind(row.seats)
        .execute(&mut **tx)
        .await?;
        sqlx::query("UPDATE booking_dates SET holds_seat = 0 WHERE booking_id = $1 AND date = $2")
            .bind(&row.id)
            .bind(&date)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The most seats held on any date to come, on either leg.
pub async fn seats_held(tx: &mut Tx, offer_id: &str, from: NaiveDate) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "SELECT COALESCE(MAX(taken), 0) AS n FROM seat_ledger WHERE offer_id = $1 AND date >= $2",
    )
    .bind(offer_id)
    .bind(from.to_string())
    .fetch_one(&mut **tx)
    .await?
    .try_get("n")
}

// ---------------------------------------------------------------------------
// Status changes and what they tell
// ---------------------------------------------------------------------------

/// Compare-and-set: the status changes only if nobody changed it meanwhile.
async fn set_status(
    tx: &mut Tx,
    row: &BookingRow,
    next: BookingStatus,
    by: &str,
    reason: Option<&str>,
) -> ApiResult<()> {
    let now = now_ms();
    let completing = next == BookingStatus::CompletedPendingValidation;
    let change_seq = next_change(tx).await?;
    let changed = sqlx::query(
        "UPDATE bookings SET status = $3, status_by = $4, reason = COALESCE($5, reason), updated_at = $6, change_seq = $7,
                completed_by = CASE WHEN $8 = 1 THEN $4 ELSE completed_by END,
                completed_at = CASE WHEN $8 = 1 THEN $6 ELSE completed_at END
         WHERE id = $1 AND status = $2",
    )
    .bind(&row.id)
    .bind(row.status.code())
    .bind(next.code())
    .bind(by)
    .bind(reason)
    .bind(now)
    .bind(change_seq)
    .bind(i64::from(completing))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(ApiError::Conflict {
            code: "status_changed",
            detail: "Cette réservation vient de changer : rechargez-la.".into(),
        });
    }
    Ok(())
}

async fn touch(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    let change_seq = next_change(tx).await?;
    sqlx::query("UPDATE bookings SET updated_at = $2, change_seq = $3 WHERE id = $1")
        .bind(id)
        .bind(now_ms())
        .bind(change_seq)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn set_need_status(
    tx: &mut Tx,
    need_id: &str,
    from: &[NeedStatus],
    to: NeedStatus,
) -> Result<(), sqlx::Error> {
    let change_seq = next_change(tx).await?;
    let from: Vec<String> = from.iter().map(|s| format!("'{}'", s.code())).collect();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE needs SET status = $2, updated_at = $3, change_seq = $4 WHERE id = $1 AND status IN ({})",
        from.join(", ")
    )))
    .bind(need_id)
    .bind(to.code())
    .bind(now_ms())
    .bind(change_seq)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The need follows its bookings: booked while one holds, open again when
/// none is left, done when validated.
async fn after_change(
    state: &AppState,
    tx: &mut Tx,
    row: &BookingRow,
    before: BookingStatus,
    next: BookingStatus,
    by: &str,
    reason: Option<&str>,
) -> ApiResult<()> {
    let names = public_names(state, &[row.driver_id.clone(), row.passenger_id.clone()]).await?;
    let driver = names
        .get(&row.driver_id)
        .cloned()
        .unwrap_or_else(|| "Le conducteur".into());
    let passenger = names
        .get(&row.passenger_id)
        .cloned()
        .unwrap_or_else(|| "Le passager".into());
    let by_driver = by == row.driver_id;
    let because = reason.map(|r| format!(" Raison : {r}")).unwrap_or_default();
    let url = format!("/bookings/{}", row.id);
    let tz = state.config.timezone;
    let urgent = row.is_today(tz);
    let tell = |user_id: &str, kind: &'static str, title: &str, body: String| Notice {
        user_id: user_id.to_string(),
        kind,
        title: title.to_string(),
        body,
        url: url.clone(),
        urgent,
        deliver_after: 0,
        dedupe_key: Some(format!("{kind}:{}:{user_id}", row.id)),
    };
    match next {
        BookingStatus::Confirmed => {
            set_need_status(tx, &row.need_id, &[NeedStatus::Open], NeedStatus::Booked).await?;
            notify::post(
                tx,
                tell(
                    &row.passenger_id,
                    "booking_confirmed",
                    "Réservation confirmée",
                    format!(
                        "{driver} vous prendra {} à {} à {}.",
                        row.when(),
                        row.pickup.time_spoken(),
                        short(&row.pickup.place.label)
                    ),
                ),
            )
            .await?;
            schedule_reminders(tx, row, &driver, &passenger, tz).await?;
        }
        BookingStatus::Cancelled => {
            let (to, kind, title, body) = if by_driver
                && before == BookingStatus::WaitingDriverConfirmation
            {
                (
                    &row.passenger_id,
                    "booking_declined",
                    "Demande refusée",
                    format!(
                        "{driver} ne peut pas vous prendre {}.{because} D'autres conducteurs peuvent passer : vous serez prévenu.",
                        row.when()
                    ),
                )
            } else if by_driver {
                (
                    &row.passenger_id,
                    "booking_cancelled",
                    "Trajet annulé",
                    format!(
                        "{driver} a annulé le trajet {}.{because} Vous serez prévenu si un autre conducteur passe.",
                        row.when()
                    ),
                )
            } else {
                (
                    &row.driver_id,
                    "booking_cancelled",
                    "Réservation annulée",
                    format!(
                        "{passenger} a annulé sa réservation {}.{because}",
                        row.when()
                    ),
                )
            };
            notify::post(tx, tell(to, kind, title, body)).await?;
            cancel_scheduled(tx, &row.id).await?;
            let others: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) AS n FROM bookings WHERE need_id = $1 AND id <> $2 AND status IN {LIVE}"
            )))
            .bind(&row.need_id)
            .bind(&row.id)
            .fetch_one(&mut **tx)
            .await?
            .try_get("n")?;
            if others == 0 {
                set_need_status(tx, &row.need_id, &[NeedStatus::Booked], NeedStatus::Open).await?;
            }
        }
        BookingStatus::CompletedPendingValidation => {
            let (to, who) = if by_driver {
                (&row.passenger_id, &driver)
            } else {
                (&row.driver_id, &passenger)
            };
            notify::post(
                tx,
                tell(
                    to,
                    "confirm_trip",
                    "Le trajet a-t-il eu lieu ?",
                    format!("{who} indique que le trajet {} a eu lieu. Confirmez-le dans l'application.", row.when()),
                ),
            )
            .await?;
        }
        BookingStatus::Validated => {
            if !row.recurring {
                set_need_status(
                    tx,
                    &row.need_id,
                    &[NeedStatus::Booked, NeedStatus::Open],
                    NeedStatus::Done,
                )
                .await?;
            }
            let completer = row
                .completed_by
                .clone()
                .unwrap_or_else(|| row.other(by).to_string());
            notify::post(
                tx,
                tell(
                    &completer,
                    "trip_validated",
                    "Trajet validé",
                    format!("Le trajet {} est validé. Merci !", row.when()),
                ),
            )
            .await?;
        }
        _ => {}
    }
    Ok(())
}

/// For a one-off trip: a reminder to both the evening before (18:00), and
/// after the trip, a question to both: did it happen?
async fn schedule_reminders(
    tx: &mut Tx,
    row: &BookingRow,
    driver: &str,
    passenger: &str,
    tz: Tz,
) -> ApiResult<()> {
    if row.recurring {
        return Ok(());
    }
    let now = now_ms();
    let evening = local_instant(
        tz,
        row.date - Duration::days(1),
        LocalTime::new(18, 0).expect("a time"),
    )
    .timestamp_millis();
    let after = row.dropoff.at.timestamp_millis() + 2 * 3_600_000;
    let place = short(&row.pickup.place.label).to_string();
    let time = row.pickup.time_spoken();
    let url = format!("/bookings/{}", row.id);
    let mut notices = Vec::new();
    if evening > now {
        notices.push((
            row.passenger_id.clone(),
            "reminder",
            "Rappel : trajet demain",
            format!("Demain à {time}, {driver} vous prend à {place}."),
            evening,
        ));
        notices.push((
            row.driver_id.clone(),
            "reminder",
            "Rappel : trajet demain",
            format!("Demain à {time}, vous prenez {passenger} à {place}."),
            evening,
        ));
    }
    for user in [&row.passenger_id, &row.driver_id] {
        notices.push((
            user.clone(),
            "confirm_trip",
            "Le trajet a-t-il eu lieu ?",
            "Dites-nous si le trajet a bien eu lieu : un geste dans l'application suffit."
                .to_string(),
            after,
        ));
    }
    for (user_id, kind, title, body, at) in notices {
        notify::post(
            tx,
            Notice {
                dedupe_key: Some(format!("scheduled:{}:{kind}:{user_id}", row.id)),
                user_id,
                kind,
                title: title.into(),
                body,
                url: url.clone(),
                urgent: false,
                deliver_after: at,
            },
        )
        .await?;
    }
    Ok(())
}

/// Withdraws the reminders not yet due of a cancelled booking.
async fn cancel_scheduled(tx: &mut Tx, booking_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM notifications WHERE dedupe_key LIKE $1 AND deliver_after > $2")
        .bind(format!("scheduled:{booking_id}:%"))
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// "I am at the meeting point": where and when, from the device.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInInput {
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct CheckIn {
    /// `driver` or `passenger`.
    pub side: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The driver or the passenger of a confirmed booking says they are at the
/// meeting point, with the position and time of their device (from an hour
/// before the pick-up to an hour after the drop-off, within 1 km of the
/// pick-up). Both sides checked in: a class C proof for the national
/// registry; one side: class B.
#[utoipa::path(post, path = "/api/v1/bookings/{id}/checkin", tag = "bookings",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = CheckInInput,
    responses(
        (status = 201, body = CheckIn),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "Not confirmed, not now, or already done", body = Problem),
        (status = 422, description = "Not at the meeting point", body = Problem),
    ))]
async fn check_in(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CheckInInput>,
) -> ApiResult<(axum::http::StatusCode, Json<CheckIn>)> {
    let mut tx = state.db.begin_write().await?;
    let row = load(&mut *tx, &id, &user.id).await?.ok_or_else(not_found)?;
    let point =
        lotocar_shared::GeoPoint::new(input.lat, input.lon).map_err(ApiError::Validation)?;
    let trip_on = matches!(
        row.status,
        BookingStatus::Confirmed
            | BookingStatus::CompletedPendingValidation
            | BookingStatus::Validated
    );
    if !trip_on || row.recurring {
        return Err(ApiError::Conflict {
            code: "not_confirmed",
            detail: "Seul un trajet confirmé peut être pointé au rendez-vous.".into(),
        });
    }
    let now = now_ms();
    let start = row.pickup.at.timestamp_millis();
    let end = row.dropoff.at.timestamp_millis();
    if now < start - 3_600_000 || now > end + 3_600_000 {
        return Err(ApiError::Conflict {
            code: "not_now",
            detail: format!(
                "Vous pourrez indiquer que vous êtes au rendez-vous le jour du trajet, vers {}.",
                row.pickup.time_spoken()
            ),
        });
    }
    let pickup = lotocar_shared::GeoPoint::new(row.pickup.place.lat, row.pickup.place.lon)
        .map_err(ApiError::Validation)?;
    if point.distance_m(pickup) > 1_000.0 {
        return Err(ApiError::field(
            "lat",
            "Vous n'êtes pas au point de rendez-vous (à plus d'un kilomètre) : réessayez une fois sur place.",
        ));
    }
    let side = if row.driver_id == user.id {
        "driver"
    } else {
        "passenger"
    };
    let inserted = sqlx::query(
        "INSERT INTO booking_checkins (booking_id, side, user_id, lat, lon, at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (booking_id, side) DO NOTHING",
    )
    .bind(&id)
    .bind(side)
    .bind(&user.id)
    .bind(point.lat())
    .bind(point.lon())
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(ApiError::Conflict {
            code: "already_checked_in",
            detail: "C'est déjà noté : vous êtes au rendez-vous.".into(),
        });
    }
    tx.commit().await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(CheckIn {
            side: side.into(),
            at: from_ms(now),
        }),
    ))
}

/// Cancels the live bookings of a trip the driver deleted, or of a need
/// the passenger cancelled, and tells the other side.
pub async fn cancel_all(
    state: &AppState,
    tx: &mut Tx,
    column: &str,
    id: &str,
    by: &str,
    reason: &str,
) -> ApiResult<usize> {
    let column = match column {
        "offer_id" => "offer_id",
        _ => "need_id",
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT * FROM bookings WHERE {column} = $1 AND status IN {LIVE}"
    )))
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    for row in &rows {
        let row = BookingRow::from(row)?;
        release_seats(tx, &row, None).await?;
        set_status(tx, &row, BookingStatus::Cancelled, by, Some(reason)).await?;
        after_change(
            state,
            tx,
            &row,
            row.status,
            BookingStatus::Cancelled,
            by,
            Some(reason),
        )
        .await?;
    }
    Ok(rows.len())
}

/// A relay (or the passenger) says the trip of a need took place: its
/// confirmed one-off bookings whose trip has started move to "completed,
/// waiting for the driver's validation", as when the passenger says it in
/// the app.
pub async fn complete_all_for_need(
    state: &AppState,
    tx: &mut Tx,
    need_id: &str,
    by: &str,
) -> ApiResult<usize> {
    let rows = sqlx::query("SELECT * FROM bookings WHERE need_id = $1 AND status = 'CONFIRMED'")
        .bind(need_id)
        .fetch_all(&mut **tx)
        .await?;
    let tz = state.config.timezone;
    let mut completed = 0;
    for row in &rows {
        let row = BookingRow::from(row)?;
        if row.recurring || row.started_at(tz) > crate::db::now().timestamp_millis() {
            continue;
        }
        let next = BookingStatus::CompletedPendingValidation;
        set_status(tx, &row, next, by, None).await?;
        after_change(state, tx, &row, row.status, next, by, None).await?;
        completed += 1;
    }
    Ok(completed)
}

/// Tells the passengers of a trip's live bookings that it changed.
pub async fn tell_trip_changed(
    state: &AppState,
    tx: &mut Tx,
    offer_id: &str,
    summary: &str,
) -> ApiResult<()> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT * FROM bookings WHERE offer_id = $1 AND status IN {LIVE}"
    )))
    .bind(offer_id)
    .fetch_all(&mut **tx)
    .await?;
    let stamp = now_ms();
    for row in &rows {
        let row = BookingRow::from(row)?;
        notify::post(
            tx,
            Notice {
                user_id: row.passenger_id.clone(),
                kind: "trip_changed",
                title: "Trajet modifié".into(),
                body: format!(
                    "Le conducteur a modifié son trajet : {summary}. Vérifiez votre réservation."
                ),
                url: format!("/bookings/{}", row.id),
                urgent: row.is_today(state.config.timezone),
                deliver_after: 0,
                dedupe_key: Some(format!("trip_changed:{}:{stamp}", row.id)),
            },
        )
        .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Housekeeping (run by every instance's dispatcher; each step is safe to
// run twice at once)
// ---------------------------------------------------------------------------

/// Validates trips nobody contested within 48 hours, and extends regular
/// bookings to the coming weeks.
pub async fn housekeeping(state: &AppState) -> ApiResult<()> {
    let deadline = now_ms() - 48 * 3_600_000;
    let due = sqlx::query("SELECT * FROM bookings WHERE status = 'COMPLETED_PENDING_VALIDATION' AND completed_at < $1 LIMIT 200")
        .bind(deadline)
        .fetch_all(&state.db.pool)
        .await?;
    for row in &due {
        let row = BookingRow::from(row)?;
        let mut tx = state.db.begin_write().await?;
        let by = row
            .other(row.completed_by.as_deref().unwrap_or(&row.driver_id))
            .to_string();
        match set_status(
            &mut tx,
            &row,
            BookingStatus::Validated,
            &by,
            Some("validé automatiquement après 48 h"),
        )
        .await
        {
            Ok(()) => {
                after_change(
                    state,
                    &mut tx,
                    &row,
                    row.status,
                    BookingStatus::Validated,
                    &by,
                    None,
                )
                .await?;
                tx.commit().await?;
            }
            Err(ApiError::Conflict { .. }) => tx.rollback().await?,
            Err(other) => return Err(other),
        }
    }
    extend_regular(state).await
}

/// Regular bookings cover the next four weeks; new dates hold a seat if the
/// booking is confirmed and one is free.
async fn extend_regular(state: &AppState) -> ApiResult<()> {
    let tz = state.config.timezone;
    let horizon = today(tz) + Duration::days(28);
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT b.*, (SELECT MAX(date) FROM booking_dates d WHERE d.booking_id = b.id) AS last_date
         FROM bookings b WHERE b.recurring = 1 AND b.status IN {LIVE}"
    )))
    .fetch_all(&state.db.pool)
    .await?;
    let territories = territories::list(&state.db).await?;
    for row in &rows {
        let last: String = row.try_get("last_date")?;
        let Ok(last) = NaiveDate::parse_from_str(&last, "%Y-%m-%d") else {
            continue;
        };
        if last >= horizon - Duration::days(7) {
            continue;
        }
        let booking = BookingRow::from(row)?;
        let offer = sqlx::query("SELECT * FROM offers WHERE id = $1")
            .bind(&booking.offer_id)
            .fetch_one(&state.db.pool)
            .await?;
        let need = sqlx::query("SELECT * FROM needs WHERE id = $1")
            .bind(&booking.need_id)
            .fetch_one(&state.db.pool)
            .await?;
        let (_, Some(trip)) = matching::trip_from_row(&offer, &territories, state)? else {
            continue;
        };
        let (_, Some(need)) = matching::need_from_row(&need, &territories, state)? else {
            continue;
        };
        let lotocar_shared::schedule::OfferSchedule::Weekly(weekly) = &trip.schedule else {
            continue;
        };
        let days = booking.weekdays;
        let mut tx = state.db.begin_write().await?;
        let mut added = 0;
        for date in (last + Duration::days(1))
            .iter_days()
            .take_while(|d| *d <= horizon)
        {
            if weekly.runs_on(date)
                && need.schedule.applies_on(date)
                && days.is_none_or(|w| w.contains_date(date))
            {
                sqlx::query(
                    "INSERT INTO booking_dates (booking_id, date, status, holds_seat) VALUES ($1, $2, 'active', 0)
                     ON CONFLICT (booking_id, date) DO NOTHING",
                )
                .bind(&booking.id)
                .bind(date.to_string())
                .execute(&mut *tx)
                .await?;
                added += 1;
            }
        }
        if added > 0 && booking.status == BookingStatus::Confirmed {
            // A full date stays on the booking without a seat: the
            // passenger sees it and the driver can free one.
            let _ = hold_seats(&mut tx, &booking, tz).await;
        }
        tx.commit().await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

struct BookingRow {
    id: String,
    offer_id: String,
    need_id: String,
    driver_id: String,
    passenger_id: String,
    recurring: bool,
    weekdays: Option<Weekdays>,
    date: NaiveDate,
    leg: Leg,
    need_leg: Leg,
    seats: i64,
    status: BookingStatus,
    pickup: MatchStop,
    dropoff: MatchStop,
    detour_minutes: f64,
    reason: Option<String>,
    completed_by: Option<String>,
    created_at: i64,
    updated_at: i64,
}

fn leg_of(code: &str) -> Leg {
    if code == "return" {
        Leg::Return
    } else {
        Leg::Outbound
    }
}

impl BookingRow {
    fn from(row: &AnyRow) -> ApiResult<BookingRow> {
        let json = |column: &str| -> ApiResult<MatchStop> {
            let text: String = row.try_get(column)?;
            serde_json::from_str(&text)
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored {column}: {e}")))
        };
        let status: String = row.try_get("status")?;
        let date: String = row.try_get("first_date")?;
        Ok(BookingRow {
            id: row.try_get("id")?,
            offer_id: row.try_get("offer_id")?,
            need_id: row.try_get("need_id")?,
            driver_id: row.try_get("driver_id")?,
            passenger_id: row.try_get("passenger_id")?,
            recurring: row.try_get::<i64, _>("recurring")? != 0,
            weekdays: row
                .try_get::<Option<i64>, _>("weekdays")?
                .and_then(|b| Weekdays::from_bits(b as u8)),
            date: NaiveDate::parse_from_str(&date, "%Y-%m-%d").map_err(anyhow::Error::from)?,
            leg: leg_of(&row.try_get::<String, _>("leg")?),
            need_leg: leg_of(&row.try_get::<String, _>("need_leg")?),
            seats: row.try_get("seats")?,
            status: BookingStatus::from_code(&status)
                .ok_or_else(|| anyhow::anyhow!("stored status {status}"))?,
            pickup: json("pickup")?,
            dropoff: json("dropoff")?,
            detour_minutes: row.try_get("detour_minutes")?,
            reason: row.try_get("reason")?,
            completed_by: row.try_get("completed_by")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }

    /// The other party.
    fn other(&self, user_id: &str) -> &str {
        if user_id == self.driver_id {
            &self.passenger_id
        } else {
            &self.driver_id
        }
    }

    /// "le mardi 8 décembre", or "du lundi au vendredi".
    fn when(&self) -> String {
        match self.weekdays {
            Some(days) if self.recurring => days.french(),
            _ => format!("le {}", french_date(self.date)),
        }
    }

    fn is_today(&self, tz: Tz) -> bool {
        self.date == today(tz)
    }

    /// When the trip (its first date) starts, epoch ms.
    fn started_at(&self, tz: Tz) -> i64 {
        local_instant(tz, self.date, clock_time(&self.pickup.at)).timestamp_millis()
    }
}

async fn load<'e, E>(executor: E, id: &str, user_id: &str) -> ApiResult<Option<BookingRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("SELECT * FROM bookings WHERE id = $1 AND (driver_id = $2 OR passenger_id = $2)")
        .bind(id)
        .bind(user_id)
        .fetch_optional(executor)
        .await?
        .as_ref()
        .map(BookingRow::from)
        .transpose()
}

/// The booking as `viewer` sees it. With `reveal`, on a confirmed booking,
/// the other party's consented contact details, and an audit row.
async fn view(
    state: &AppState,
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    row: &BookingRow,
    viewer: &str,
    reveal: bool,
) -> ApiResult<Booking> {
    let dates =
        sqlx::query("SELECT date, status FROM booking_dates WHERE booking_id = $1 ORDER BY date")
            .bind(&row.id)
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| {
                let date: String = r.try_get("date")?;
                Ok(BookingDate {
                    date: NaiveDate::parse_from_str(&date, "%Y-%m-%d")
                        .map_err(anyhow::Error::from)?,
                    status: r.try_get("status")?,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
    let names = public_names(state, &[row.driver_id.clone(), row.passenger_id.clone()]).await?;
    let person = |id: &str| PublicPerson {
        display_name: names.get(id).cloned().unwrap_or_else(|| "Membre".into()),
    };
    let other = row.other(viewer).to_string();
    let contact = if reveal && row.status == BookingStatus::Confirmed {
        let subject =
            sqlx::query("SELECT phone, email, share_phone, share_email FROM users WHERE id = $1")
                .bind(&other)
                .fetch_optional(&mut **tx)
                .await?;
        match subject {
            Some(s) => {
                let phone = (s.try_get::<i64, _>("share_phone")? != 0)
                    .then(|| s.try_get::<Option<String>, _>("phone"))
                    .transpose()?
                    .flatten();
                let email = (s.try_get::<i64, _>("share_email")? != 0)
                    .then(|| s.try_get::<Option<String>, _>("email"))
                    .transpose()?
                    .flatten();
                if phone.is_some() || email.is_some() {
                    let fields: Vec<&str> = [
                        phone.as_ref().map(|_| "phone"),
                        email.as_ref().map(|_| "email"),
                    ]
                    .into_iter()
                    .flatten()
                    .collect();
                    sqlx::query("INSERT INTO contact_reveals (id, booking_id, viewer_id, subject_id, fields, at) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(new_id())
                        .bind(&row.id)
                        .bind(viewer)
                        .bind(&other)
                        .bind(fields.join(","))
                        .bind(now_ms())
                        .execute(&mut **tx)
                        .await?;
                    Some(ContactDetails { phone, email })
                } else {
                    None
                }
            }
            None => None,
        }
    } else {
        None
    };
    Ok(Booking {
        id: row.id.clone(),
        offer_id: row.offer_id.clone(),
        request_id: row.need_id.clone(),
        status: row.status,
        status_label: row.status.french().to_string(),
        role: if viewer == row.driver_id {
            "driver"
        } else {
            "passenger"
        }
        .to_string(),
        recurring: row.recurring,
        date: row.date,
        dates,
        leg: row.leg,
        need_leg: row.need_leg,
        seats: row.seats,
        pickup: row.pickup.clone(),
        dropoff: row.dropoff.clone(),
        detour_minutes: (row.detour_minutes * 10.0).round() / 10.0,
        driver: person(&row.driver_id),
        passenger: person(&row.passenger_id),
        contact,
        reason: row.reason.clone(),
        created_at: from_ms(row.created_at),
        updated_at: from_ms(row.updated_at),
    })
}

fn today(tz: Tz) -> NaiveDate {
    crate::db::now().with_timezone(&tz).date_naive()
}
