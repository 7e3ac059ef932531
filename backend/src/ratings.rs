//! Feedback after a trip: once the trip of a booking took place, each side
//! may grade the other from 1 to 5 with a short comment, once, and change
//! it for 7 days. A relay records the feedback of the person she helps. A
//! person sees their own average and count once they have three; comments
//! are for the coordinator, who sees low grades (1–2) flagged and may hide
//! one with a reason (kept in the audit log; a hidden rating no longer
//! counts). In the data export; erased with the account or the person.
//!
//! The one writer of `ratings`.

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use lotocar_shared::BookingStatus;
use lotocar_shared::api::Problem;
use lotocar_shared::rating::{
    EDITABLE_DAYS, HideRating, Rating, RatingInput, RatingSummary, SHOWN_FROM, StaffRating,
};
use serde::Deserialize;
use sqlx::Row;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::{self, Action, Line, Subject};
use crate::auth::{Auth, AuthUser};
use crate::bookings::store::{self, StoredBooking};
use crate::db::{Db, Tx, from_ms, new_id, now_ms};
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, Error, Result};
use crate::trips::Trips;

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Trips: FromRef<S>,
    Auth: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(get_rating, put_rating))
        .routes(routes!(my_summary))
        .routes(routes!(territory_ratings))
        .routes(routes!(hide_rating))
}

const DAY_MS: i64 = 24 * 3_600_000;

/// A `ratings` row.
struct Stored {
    id: String,
    booking_id: String,
    side: String,
    rater_id: String,
    rater_person: Option<String>,
    rated_id: Option<String>,
    rated_person: Option<String>,
    grade: i64,
    comment: String,
    created_at: i64,
    updated_at: i64,
    hidden_at: Option<i64>,
    hidden_reason: Option<String>,
}

const COLUMNS: &str = "id, booking_id, side, rater_id, rater_person, rated_id, rated_person, grade, comment, \
     created_at, updated_at, hidden_at, hidden_reason";

fn decode(r: sqlx::any::AnyRow) -> std::result::Result<Stored, sqlx::Error> {
    Ok(Stored {
        id: r.try_get("id")?,
        booking_id: r.try_get("booking_id")?,
        side: r.try_get("side")?,
        rater_id: r.try_get("rater_id")?,
        rater_person: r.try_get("rater_person")?,
        rated_id: r.try_get("rated_id")?,
        rated_person: r.try_get("rated_person")?,
        grade: r.try_get("grade")?,
        comment: r.try_get("comment")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        hidden_at: r.try_get("hidden_at")?,
        hidden_reason: r.try_get("hidden_reason")?,
    })
}

impl Stored {
    fn to_api(&self) -> Rating {
        Rating {
            id: self.id.clone(),
            booking_id: self.booking_id.clone(),
            side: self.side.clone(),
            grade: self.grade,
            comment: self.comment.clone(),
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
            editable_until: from_ms(self.created_at + EDITABLE_DAYS * DAY_MS),
        }
    }
}

/// The side `user_id` is on in `booking`: the driver, or the passenger's
/// account (the passenger, or the relay who booked for a person).
fn side_of(booking: &StoredBooking, user_id: &str) -> &'static str {
    if booking.driver_id == user_id {
        "driver"
    } else {
        "passenger"
    }
}

async fn mine<'e, E>(executor: E, booking_id: &str, side: &str) -> Result<Option<Stored>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM ratings WHERE booking_id = $1 AND side = $2"
    )))
    .bind(booking_id)
    .bind(side)
    .fetch_optional(executor)
    .await?;
    Ok(row.map(decode).transpose()?)
}

fn not_found() -> Error {
    Error::not_found("Réservation introuvable.")
}

/// My rating of a booking's trip (404 while there is none).
#[utoipa::path(get, path = "/api/v1/bookings/{id}/rating", tag = "ratings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Booking")),
    responses((status = 200, body = Rating), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get_rating(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Rating>> {
    let booking = store::get_for(&trips.db.pool, &id, &user.id)
        .await?
        .ok_or_else(not_found)?;
    let rating = mine(&trips.db.pool, &booking.id, side_of(&booking, &user.id))
        .await?
        .ok_or_else(|| Error::not_found("Pas encore d'avis sur ce trajet."))?;
    Ok(Json(rating.to_api()))
}

/// Grades the other side of a booking whose trip took place (201), or
/// changes my grade within 7 days (200).
#[utoipa::path(put, path = "/api/v1/bookings/{id}/rating", tag = "ratings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Booking")),
    request_body = RatingInput,
    responses(
        (status = 200, description = "Changed", body = Rating),
        (status = 201, description = "Given", body = Rating),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "The trip has not taken place, or 7 days have passed", body = Problem),
        (status = 422, body = Problem),
    ))]
async fn put_rating(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<RatingInput>,
) -> ApiResult<(StatusCode, Json<Rating>)> {
    let (grade, comment) = input.validate().map_err(Error::Invalid)?;
    let mut tx = trips.db.begin_write().await?;
    let booking = store::get_for(&mut *tx, &id, &user.id)
        .await?
        .ok_or_else(not_found)?;
    if !matches!(
        booking.status,
        BookingStatus::CompletedPendingValidation | BookingStatus::Validated
    ) {
        return Err(Error::conflict(
            "trip_not_done",
            "Vous pourrez donner votre avis une fois le trajet effectué.",
        )
        .into());
    }
    let side = side_of(&booking, &user.id);
    let now = now_ms();
    let (status, stored) = match mine(&mut *tx, &booking.id, side).await? {
        Some(existing) => {
            if now > existing.created_at + EDITABLE_DAYS * DAY_MS {
                return Err(Error::conflict(
                    "rating_closed",
                    format!(
                        "Cet avis ne peut plus être changé : {EDITABLE_DAYS} jours sont passés."
                    ),
                )
                .into());
            }
            sqlx::query(
                "UPDATE ratings SET grade = $2, comment = $3, updated_at = $4 WHERE id = $1",
            )
            .bind(&existing.id)
            .bind(grade)
            .bind(&comment)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            (StatusCode::OK, existing.id)
        }
        None => {
            // The passenger's side: a relay speaks for the person she
            // booked for; the driver grades that person, not the relay.
            let (rater_person, rated_id, rated_person) = if side == "driver" {
                match &booking.beneficiary_id {
                    Some(person) => (None, None, Some(person.clone())),
                    None => (None, Some(booking.passenger_id.clone()), None),
                }
            } else {
                (
                    booking.beneficiary_id.clone(),
                    Some(booking.driver_id.clone()),
                    None,
                )
            };
            let rating_id = new_id();
            sqlx::query(
                "INSERT INTO ratings (id, booking_id, territory_id, side, rater_id, rater_person, rated_id,
                    rated_person, grade, comment, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
                 ON CONFLICT (booking_id, side) DO NOTHING",
            )
            .bind(&rating_id)
            .bind(&booking.id)
            .bind(&booking.territory_id)
            .bind(side)
            .bind(&user.id)
            .bind(rater_person)
            .bind(rated_id)
            .bind(rated_person)
            .bind(grade)
            .bind(&comment)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            (StatusCode::CREATED, rating_id)
        }
    };
    let rating = mine(&mut *tx, &booking.id, side)
        .await?
        .filter(|r| r.id == stored)
        .ok_or_else(|| {
            Error::conflict(
                "rating_changed",
                "Un avis vient d'être donné pour ce trajet : rechargez-le.",
            )
        })?;
    tx.commit().await?;
    Ok((status, Json(rating.to_api())))
}

/// My average grade and how many gave one; the average shows from three
/// ratings on (`null` before).
#[utoipa::path(get, path = "/api/v1/me/rating", tag = "ratings",
    security(("bearer" = [])),
    responses((status = 200, body = MySummary), (status = 401, body = Problem)))]
async fn my_summary(State(trips): State<Trips>, user: AuthUser) -> ApiResult<Json<MySummary>> {
    let summary = summary_of(&trips.db, &user.id).await?;
    Ok(Json(MySummary {
        count: summary.count,
        average: (summary.count >= SHOWN_FROM).then_some(summary.average),
    }))
}

/// How a person is graded (hidden ratings left out).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
struct MySummary {
    count: u64,
    /// One decimal; `null` below three ratings.
    average: Option<f64>,
}

/// The average and count of the visible grades of `user_id`.
pub async fn summary_of(db: &Db, user_id: &str) -> Result<RatingSummary> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(grade), 0) AS BIGINT) AS total FROM ratings
         WHERE rated_id = $1 AND hidden_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(&db.pool)
    .await?;
    let count: i64 = row.try_get("n")?;
    let total: i64 = row.try_get("total")?;
    Ok(RatingSummary {
        average: if count == 0 {
            0.0
        } else {
            (total as f64 / count as f64 * 10.0).round() / 10.0
        },
        count: count as u64,
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Only the low grades (1 or 2).
    low: Option<bool>,
}

/// A territory's ratings, newest first (500 at most), with their comments
/// and the low ones flagged: for its coordinators.
#[utoipa::path(get, path = "/api/v1/territories/{id}/ratings", tag = "ratings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory"), ListParams),
    responses(
        (status = 200, body = [StaffRating]),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
    ))]
async fn territory_ratings(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(territory_id): ApiPath<String>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Vec<StaffRating>>> {
    user.require_coordinator(&trips.territories, &territory_id)
        .await?;
    let low = params.low.unwrap_or(false);
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM ratings WHERE territory_id = $1 AND ($2 = 0 OR grade <= 2)
         ORDER BY created_at DESC LIMIT 500"
    )))
    .bind(&territory_id)
    .bind(i64::from(low))
    .fetch_all(&trips.db.pool)
    .await?
    .into_iter()
    .map(decode)
    .collect::<std::result::Result<Vec<_>, _>>()?;
    // Names read once for the whole list, already public (« Marie D. »).
    let ids = |pick: fn(&Stored) -> [Option<&String>; 2]| {
        let mut ids: Vec<String> = rows.iter().flat_map(pick).flatten().cloned().collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let accounts = crate::auth::public_names(
        &trips.db,
        &ids(|r| [Some(&r.rater_id), r.rated_id.as_ref()]),
    )
    .await?;
    let people = crate::beneficiaries::public_names(
        &trips.db,
        &ids(|r| [r.rater_person.as_ref(), r.rated_person.as_ref()]),
    )
    .await?;
    let name = |person: &Option<String>, account: Option<&String>| {
        person
            .as_ref()
            .and_then(|id| people.get(id))
            .or_else(|| account.and_then(|id| accounts.get(id)))
            .cloned()
            .unwrap_or_default()
    };
    let list = rows
        .into_iter()
        .map(|r| StaffRating {
            from_name: name(&r.rater_person, Some(&r.rater_id)),
            about_name: name(&r.rated_person, r.rated_id.as_ref()),
            low: r.grade <= 2,
            created_at: from_ms(r.created_at),
            hidden: r.hidden_at.is_some(),
            id: r.id,
            booking_id: r.booking_id,
            side: r.side,
            grade: r.grade,
            comment: r.comment,
            hidden_reason: r.hidden_reason,
        })
        .collect();
    Ok(Json(list))
}

/// Hides a rating (its comment and its grade no longer count), with the
/// reason, which the audit log keeps.
#[utoipa::path(post, path = "/api/v1/territories/{id}/ratings/{rating}/hide", tag = "ratings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory"), ("rating" = String, Path, description = "Rating")),
    request_body = HideRating,
    responses(
        (status = 204, description = "Hidden"),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ))]
async fn hide_rating(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath((territory_id, rating_id)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<HideRating>,
) -> ApiResult<StatusCode> {
    user.require_coordinator(&trips.territories, &territory_id)
        .await?;
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 300 {
        return Err(Error::field(
            "reason",
            "Indiquez en quelques mots pourquoi cet avis est masqué (300 caractères au plus).",
        )
        .into());
    }
    let mut tx = trips.db.begin_write().await?;
    let hidden = sqlx::query(
        "UPDATE ratings SET hidden_at = $3, hidden_by = $4, hidden_reason = $5
         WHERE id = $1 AND territory_id = $2",
    )
    .bind(&rating_id)
    .bind(&territory_id)
    .bind(now_ms())
    .bind(&user.id)
    .bind(reason)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if hidden == 0 {
        return Err(Error::not_found("Avis introuvable sur ce territoire.").into());
    }
    audit::record(
        &mut tx,
        Line {
            territory_id: Some(&territory_id),
            actor: &user.id,
            action: Action::RatingHidden,
            subject: Subject::Rating(&rating_id),
            detail: reason,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The ratings a person gave and received, for the export of their data
/// (received ones with their comments: data about them).
pub async fn export_of(db: &Db, user_id: &str) -> Result<serde_json::Value> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM ratings WHERE rater_id = $1 OR rated_id = $1 ORDER BY created_at"
    )))
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?
    .into_iter()
    .map(decode)
    .collect::<std::result::Result<Vec<_>, _>>()?;
    let shown = |r: &Stored| {
        serde_json::json!({
            "booking_id": r.booking_id, "grade": r.grade, "comment": r.comment,
            "created_at": from_ms(r.created_at), "updated_at": from_ms(r.updated_at),
            "hidden_by_the_coordinator": r.hidden_at.is_some(),
        })
    };
    Ok(serde_json::json!({
        // A relay's feedback for a person she helps is that person's.
        "given": rows.iter().filter(|r| r.rater_id == user_id && r.rater_person.is_none()).map(shown).collect::<Vec<_>>(),
        "received": rows.iter().filter(|r| r.rated_id.as_deref() == Some(user_id)).map(shown).collect::<Vec<_>>(),
    }))
}

/// Erases the ratings a person gave or received (their account erased).
pub async fn erase_user(tx: &mut Tx, user_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM ratings WHERE (rater_id = $1 AND rater_person IS NULL) OR rated_id = $1",
    )
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Erases the ratings a person helped by a relay gave or received.
pub async fn erase_person(tx: &mut Tx, person_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM ratings WHERE rater_person = $1 OR rated_person = $1")
        .bind(person_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
