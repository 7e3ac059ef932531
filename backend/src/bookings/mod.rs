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
    Booking, BookingGlance, BookingInput, BookingPatch, ContactDetails, ContactReveal, Need,
    NeedProgress, Problem, PublicPerson,
};
use lotocar_shared::booking::trip_day_reached;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, AuthUser, accounts, public_names};
use crate::beneficiaries;
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
        .book(&user, &input, &creation)
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

    /// The booking as `viewer` sees it: who travels (the passenger, or
    /// the person a relay booked for, by her public name), who booked for
    /// her, the status in the viewer's words. With `reveal`, on a
    /// confirmed booking, the other party's consented contact details, and
    /// an audit row.
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
        let driver_side = viewer == booking.driver_id;
        let (passenger, booked_by) = match booking.beneficiary_id.as_deref() {
            Some(person_id) => (
                PublicPerson {
                    display_name: beneficiaries::public_name(&mut **tx, person_id)
                        .await?
                        .unwrap_or_else(|| "Personne désinscrite".into()),
                },
                Some(PublicPerson {
                    display_name: accounts::display_name(&self.db, &booking.booked_by).await?,
                }),
            ),
            None => (person(&booking.passenger_id), None),
        };
        let driver = person(&booking.driver_id);
        let contact = if reveal && booking.status == lotocar_shared::BookingStatus::Confirmed {
            self.reveal(tx, booking, viewer).await?
        } else {
            None
        };
        let other_name = if driver_side {
            &passenger.display_name
        } else {
            &driver.display_name
        };
        let today = self
            .territories
            .today_in(booking.territory_id.as_deref())
            .await?;
        Ok(Booking {
            id: booking.id.clone(),
            offer_id: booking.offer_id.clone(),
            request_id: booking.need_id.clone(),
            status: booking.status,
            status_label: booking.status.label_for(driver_side, other_name),
            role: if driver_side { "driver" } else { "passenger" }.to_string(),
            recurring: booking.recurring,
            date: booking.date,
            dates,
            leg: booking.leg,
            need_leg: booking.need_leg,
            seats: booking.seats,
            pickup: booking.pickup.clone(),
            dropoff: booking.dropoff.clone(),
            detour_minutes: (booking.detour_minutes * 10.0).round() / 10.0,
            driver,
            passenger,
            booked_by,
            on_behalf_of: booking.beneficiary_id.clone().filter(|_| !driver_side),
            can_say_done: booking.status == lotocar_shared::BookingStatus::Confirmed
                && trip_day_reached(booking.date, today),
            contact,
            reason: booking.reason.clone(),
            created_at: from_ms(booking.created_at),
            updated_at: from_ms(booking.updated_at),
        })
    }

    /// The contact details `viewer` may be shown on a confirmed booking,
    /// each showing recorded: the other party's consented phone or e-mail;
    /// for the driver of a person a relay booked for, her phone if she
    /// agreed, otherwise the line of the relay who acts for her, said as
    /// such (acting for her, the relay is her contact).
    async fn reveal(
        &self,
        tx: &mut Tx,
        booking: &StoredBooking,
        viewer: &str,
    ) -> Result<Option<ContactDetails>> {
        let (subject, details) = match booking.beneficiary_id.as_deref() {
            Some(person) if viewer == booking.driver_id => {
                match beneficiaries::shared_phone(tx, person).await? {
                    Some(phone) => (
                        person.to_string(),
                        Some(ContactDetails {
                            phone: Some(phone),
                            email: None,
                            through: None,
                        }),
                    ),
                    None => {
                        let relay = &booking.booked_by;
                        let line = accounts::reach(&mut **tx, relay).await?;
                        let name = accounts::display_name(&self.db, relay).await?;
                        (
                            relay.clone(),
                            line.filter(|l| l.phone.is_some() || l.email.is_some())
                                .map(|l| ContactDetails {
                                    phone: l.phone,
                                    email: l.email,
                                    through: Some(name),
                                }),
                        )
                    }
                }
            }
            _ => {
                let other = booking.other(viewer).to_string();
                let details = accounts::shared_contact(tx, &other).await?;
                (other, details)
            }
        };
        if let Some(details) = &details {
            let fields: Vec<&str> = [
                details.phone.as_ref().map(|_| "phone"),
                details.email.as_ref().map(|_| "email"),
            ]
            .into_iter()
            .flatten()
            .collect();
            store::record_reveal(tx, &booking.id, viewer, &subject, &fields).await?;
        }
        Ok(details)
    }

    /// Where a need stands, from its bookings: the one rule
    /// ([`NeedProgress::derive`]) every view of a need reads.
    pub async fn progress_of(&self, need: &crate::needs::StoredNeed) -> Result<NeedProgress> {
        let bookings = store::of_need(&self.db.pool, &need.id).await?;
        let drivers: Vec<String> = bookings.iter().map(|b| b.driver_id.clone()).collect();
        let names = public_names(&self.db, &drivers).await?;
        let glances: Vec<(String, &StoredBooking)> = bookings
            .iter()
            .map(|b| {
                (
                    names
                        .get(&b.driver_id)
                        .cloned()
                        .unwrap_or_else(|| "Membre".into()),
                    b,
                )
            })
            .collect();
        Ok(NeedProgress::derive(
            need.status,
            glances.iter().map(|(driver, b)| BookingGlance {
                id: &b.id,
                status: b.status,
                driver,
                date: b.date,
                time: &b.pickup.time,
                recurring: b.recurring,
            }),
        ))
    }

    /// A need as its owner sees it, with where it stands.
    pub async fn need_view(&self, need: &crate::needs::StoredNeed) -> Result<Need> {
        Ok(Need {
            progress: Some(self.progress_of(need).await?),
            ..need.to_api()
        })
    }

    /// A need as the territory's staff see it, with where it stands.
    pub async fn need_staff_view(&self, need: &crate::needs::StoredNeed) -> Result<Need> {
        Ok(Need {
            progress: Some(self.progress_of(need).await?),
            ..need.to_staff_api()
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
