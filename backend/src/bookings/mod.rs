//! Bookings: a passenger asks for a seat, the driver confirms or declines,
//! either side cancels, and after the trip one side says it happened and
//! the other validates (or 48 hours pass). Statuses only move forward.
//! Seats are held per offer, leg and date ([`seats`]): no overbooking,
//! whatever the concurrency. Every change tells the other party in the
//! same transaction ([`tell`]), and the need follows its bookings.
//!
//! The operations ([`lifecycle`]) are what the app's handlers below, the
//! relays' and partners' call. Owns `bookings`, `booking_dates`,
//! `seat_ledger`, `contact_reveals` and `booking_checkins` ([`store`]).

pub mod lifecycle;
pub mod seats;
pub mod store;
mod tell;

use axum::Json;
use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Response};
use lotocar_shared::api::{
    Booking, BookingInput, BookingPatch, ContactReveal, Problem, PublicPerson,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, AuthUser, accounts, public_names};
use crate::db::{Db, Tx, from_ms};
use crate::error::{ApiJson, ApiPath, ApiResult, Error, Result};
use crate::idempotency::{Creation, IdempotencyKey};
use crate::matching::Matching;
use crate::territories::Territories;
pub use store::{Of, StoredBooking};

/// What bookings work with.
#[derive(Clone)]
pub struct Bookings {
    pub db: Db,
    pub territories: Territories,
    pub matching: Matching,
}

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Bookings: FromRef<S>,
    Auth: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(create_booking, list_bookings))
        .routes(routes!(get_booking, patch_booking))
        .routes(routes!(cancel_date))
        .routes(routes!(contact_reveals))
        .routes(routes!(check_in))
}

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
    State(bookings): State<Bookings>,
    user: AuthUser,
    key: IdempotencyKey,
    ApiJson(input): ApiJson<BookingInput>,
) -> ApiResult<Response> {
    let creation = Creation::new(&user.id, key, "/api/v1/bookings", &input);
    Ok(bookings
        .book(&user.id, &input, &creation)
        .await?
        .into_response())
}

/// My bookings, as driver and as passenger, newest first.
#[utoipa::path(get, path = "/api/v1/bookings", tag = "bookings",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Booking>), (status = 401, body = Problem)))]
async fn list_bookings(
    State(bookings): State<Bookings>,
    user: AuthUser,
) -> ApiResult<Json<Vec<Booking>>> {
    Ok(Json(bookings.of_user(&user.id).await?))
}

/// One booking. On a confirmed booking, the other party's phone or e-mail
/// is given if they agreed to share it; every such showing is recorded.
#[utoipa::path(get, path = "/api/v1/bookings/{id}", tag = "bookings",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Booking), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get_booking(
    State(bookings): State<Bookings>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Booking>> {
    Ok(Json(bookings.one(&user.id, &id).await?))
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
    State(bookings): State<Bookings>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<BookingPatch>,
) -> ApiResult<Json<Booking>> {
    Ok(Json(bookings.move_status(&user.id, &id, &input).await?))
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
    State(bookings): State<Bookings>,
    user: AuthUser,
    ApiPath((id, date)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<BookingPatch>,
) -> ApiResult<Json<Booking>> {
    Ok(Json(
        bookings.cancel_date(&user.id, &id, &date, &input).await?,
    ))
}

/// Who was shown my phone or e-mail, and when.
#[utoipa::path(get, path = "/api/v1/me/contact-reveals", tag = "bookings",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<ContactReveal>), (status = 401, body = Problem)))]
async fn contact_reveals(
    State(bookings): State<Bookings>,
    user: AuthUser,
) -> ApiResult<Json<Vec<ContactReveal>>> {
    Ok(Json(bookings.reveals_of(&user.id).await?))
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
    State(bookings): State<Bookings>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<CheckInInput>,
) -> ApiResult<(axum::http::StatusCode, Json<CheckIn>)> {
    let checked = bookings.check_in(&user.id, &id, &input).await?;
    Ok((axum::http::StatusCode::CREATED, Json(checked)))
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

impl Bookings {
    /// One booking as `user_id` sees it; on a confirmed one, the other
    /// party's consented contact details (the showing is recorded).
    pub async fn one(&self, user_id: &str, id: &str) -> Result<Booking> {
        let mut tx = self.db.begin_write().await?;
        let booking = store::get_for(&mut *tx, id, user_id)
            .await?
            .ok_or_else(|| Error::not_found("Cette réservation n'existe pas."))?;
        let view = self.view(&mut tx, &booking, user_id, true).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// A person's bookings, newest first (no contact details: those are
    /// shown on demand, and recorded).
    pub async fn of_user(&self, user_id: &str) -> Result<Vec<Booking>> {
        let stored = store::of_user(&self.db, user_id).await?;
        self.views(&stored, user_id).await
    }

    /// The bookings of `user_id` changed within (`since`, `upto`] of the
    /// change sequence, as they see them, with their positions.
    pub async fn changed_for(
        &self,
        user_id: &str,
        since: i64,
        upto: i64,
    ) -> Result<Vec<(i64, Booking)>> {
        let stored = store::changed_of(&self.db, user_id, since, upto).await?;
        let views = self.views(&stored, user_id).await?;
        Ok(stored.iter().map(|b| b.change_seq).zip(views).collect())
    }

    async fn views(&self, stored: &[StoredBooking], user_id: &str) -> Result<Vec<Booking>> {
        let mut tx = self.db.pool.begin().await?;
        let mut out = Vec::with_capacity(stored.len());
        for booking in stored {
            out.push(self.view(&mut tx, booking, user_id, false).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// The booking as `viewer` sees it. With `reveal`, on a confirmed
    /// booking, the other party's consented contact details, and an audit
    /// row.
    pub async fn view(
        &self,
        tx: &mut Tx,
        booking: &StoredBooking,
        viewer: &str,
        reveal: bool,
    ) -> Result<Booking> {
        let dates = store::dates_of(tx, &booking.id).await?;
        let names = public_names(
            &self.db,
            &[booking.driver_id.clone(), booking.passenger_id.clone()],
        )
        .await?;
        let person = |id: &str| PublicPerson {
            display_name: names.get(id).cloned().unwrap_or_else(|| "Membre".into()),
        };
        let other = booking.other(viewer).to_string();
        let contact = if reveal && booking.status == lotocar_shared::BookingStatus::Confirmed {
            match accounts::shared_contact(tx, &other).await? {
                Some(details) => {
                    let fields: Vec<&str> = [
                        details.phone.as_ref().map(|_| "phone"),
                        details.email.as_ref().map(|_| "email"),
                    ]
                    .into_iter()
                    .flatten()
                    .collect();
                    store::record_reveal(tx, &booking.id, viewer, &other, &fields).await?;
                    Some(details)
                }
                None => None,
            }
        } else {
            None
        };
        Ok(Booking {
            id: booking.id.clone(),
            offer_id: booking.offer_id.clone(),
            request_id: booking.need_id.clone(),
            status: booking.status,
            status_label: booking.status.french().to_string(),
            role: if viewer == booking.driver_id {
                "driver"
            } else {
                "passenger"
            }
            .to_string(),
            recurring: booking.recurring,
            date: booking.date,
            dates,
            leg: booking.leg,
            need_leg: booking.need_leg,
            seats: booking.seats,
            pickup: booking.pickup.clone(),
            dropoff: booking.dropoff.clone(),
            detour_minutes: (booking.detour_minutes * 10.0).round() / 10.0,
            driver: person(&booking.driver_id),
            passenger: person(&booking.passenger_id),
            contact,
            reason: booking.reason.clone(),
            created_at: from_ms(booking.created_at),
            updated_at: from_ms(booking.updated_at),
        })
    }

    /// Who was shown my phone or e-mail, newest first.
    pub async fn reveals_of(&self, user_id: &str) -> Result<Vec<ContactReveal>> {
        let rows = store::reveals(&self.db, user_id, false, 500).await?;
        let viewers: Vec<String> = rows.iter().map(|r| r.viewer_id.clone()).collect();
        let names = public_names(&self.db, &viewers).await?;
        Ok(rows
            .into_iter()
            .map(|r| ContactReveal {
                viewer: PublicPerson {
                    display_name: names
                        .get(&r.viewer_id)
                        .cloned()
                        .unwrap_or_else(|| "Membre".into()),
                },
                booking_id: r.booking_id,
                fields: r.fields.split(',').map(str::to_string).collect(),
                at: from_ms(r.at),
            })
            .collect())
    }
}
