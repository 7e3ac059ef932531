//! The driver's side: offers posted, changed, paused, withdrawn, and the
//! passengers they can take.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lotocar_shared::api::{Match, Offer, OfferInput, OfferPatch, Problem};

use super::{Trips, both};
use crate::auth::AuthUser;
use crate::bookings::Of;
use crate::db::Tx;
use crate::error::{ApiJson, ApiPath, ApiResult, Error, Result};
use crate::idempotency::{Answer, Attempt, Creation, IdempotencyKey};
use crate::matching::offer_view;
use crate::offers::{self, Changes, NewOffer, StoredOffer};
use crate::places::Endpoints;

fn not_found() -> Error {
    Error::not_found("Ce trajet n'existe pas, ou il a été supprimé.")
}

impl Trips {
    async fn offer_api(&self, offer: &StoredOffer) -> Result<Offer> {
        let tz = self
            .territories
            .tz_of(offer.territory_id.as_deref())
            .await?;
        Ok(offer.to_api(tz))
    }

    /// Posts an offer and tells the passengers it can take.
    pub async fn post_offer(
        &self,
        user_id: &str,
        input: &OfferInput,
        creation: &Creation,
    ) -> Result<Answer> {
        let (draft, ends) = both(
            input.validate(),
            Endpoints::resolve_input(&self.places, &input.origin, &input.destination).await,
        )?;
        let tz = self.territories.tz_of(ends.territory_id()).await?;
        offers::check_schedule(&draft.schedule, tz, None)?;
        let mut tx = match creation.begin(&self.db).await? {
            Attempt::Replay(answer) => return Ok(answer),
            Attempt::Fresh(tx) => tx,
        };
        let offer = offers::insert(
            &mut tx,
            NewOffer {
                owner_id: user_id,
                ends: &ends,
                schedule: &draft.schedule,
                seats: draft.seats,
                max_detour: draft.max_detour,
            },
            tz,
        )
        .await?;
        // Matched against the open needs after the commit (news).
        crate::news::record(&mut tx, &offer.id).await?;
        creation.commit(&self.db, tx, &offer.to_api(tz)).await
    }

    /// Pauses or resumes an offer, or changes its seats, detour or times;
    /// the passengers booked on it are told of a new time or a pause.
    pub async fn change_offer(&self, user_id: &str, id: &str, patch: &OfferPatch) -> Result<Offer> {
        let change = patch.validate()?;
        let mut tx = self.db.begin_write().await?;
        let offer = offers::get_owned(&mut *tx, id, user_id)
            .await?
            .ok_or_else(not_found)?;
        let tz = self
            .territories
            .tz_of(offer.territory_id.as_deref())
            .await?;
        let retimed = change.schedule.is_some();
        let schedule = match change.schedule {
            Some(schedule) => {
                offers::check_schedule(&schedule, tz, Some(&offer.schedule))?;
                schedule
            }
            None => offer.schedule.clone(),
        };
        if let Some(seats) = change.seats {
            let held = self
                .bookings
                .seats_held(&mut tx, id, offer.territory_id.as_deref())
                .await?;
            if i64::from(seats) < held {
                return Err(Error::conflict(
                    "seats_taken",
                    format!(
                        "{held} place(s) sont déjà réservées sur ce trajet : annulez des réservations avant de réduire le nombre de places."
                    ),
                ));
            }
        }
        let updated = offers::update(
            &mut tx,
            id,
            Changes {
                schedule,
                seats: change.seats.map(i64::from).unwrap_or(offer.seats),
                max_detour_minutes: change
                    .max_detour
                    .map(i64::from)
                    .unwrap_or(offer.max_detour_minutes),
                paused: change.paused.unwrap_or(offer.paused),
            },
            tz,
        )
        .await?;
        if !updated.paused {
            crate::news::record(&mut tx, &updated.id).await?;
        }
        let shown = updated.to_api(tz);
        if retimed || (updated.paused && !offer.paused) {
            let what = if updated.paused {
                "trajet mis en pause".to_string()
            } else {
                shown.summary.clone()
            };
            self.bookings.tell_offer_changed(&mut tx, id, &what).await?;
        }
        tx.commit().await?;
        Ok(shown)
    }

    /// Withdraws an offer: its live bookings are cancelled (the passengers
    /// told), then the offer goes (a tombstone stays for other devices).
    /// False when it was not there.
    pub async fn withdraw_offer(
        &self,
        tx: &mut Tx,
        id: &str,
        by: &str,
        reason: &str,
    ) -> Result<bool> {
        if !offers::delete(tx, id).await? {
            return Ok(false);
        }
        self.bookings
            .cancel_all(tx, Of::Offer(id), by, reason)
            .await?;
        Ok(true)
    }

    /// Every offer of a person who leaves.
    pub async fn withdraw_offers_of(&self, tx: &mut Tx, owner_id: &str) -> Result<()> {
        for id in offers::live_ids_of(tx, owner_id).await? {
            self.withdraw_offer(tx, &id, owner_id, "cette personne a quitté le service")
                .await?;
        }
        Ok(())
    }

    /// The open needs an offer of mine can serve, best first, with a seat
    /// free for each.
    pub async fn offer_matches(&self, user_id: &str, id: &str) -> Result<Vec<Match>> {
        let offer = offers::get_owned(&self.db.pool, id, user_id)
            .await?
            .ok_or_else(not_found)?;
        let territories = self
            .territories
            .covering([offer.territory_id.as_deref()])
            .await?;
        let Some(view) = offer_view(&offer, &territories) else {
            return Ok(Vec::new());
        };
        let candidates = self.matching.for_offer(&view).await?;
        crate::bookings::seats::with_free_seats(&self.db, candidates).await
    }
}

// ---------------------------------------------------------------------------
// Handlers
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
pub(super) async fn create_offer(
    State(trips): State<Trips>,
    user: AuthUser,
    key: IdempotencyKey,
    ApiJson(input): ApiJson<OfferInput>,
) -> ApiResult<Response> {
    let creation = Creation::new(&user.id, key, "/api/v1/offers", &input);
    Ok(trips
        .post_offer(&user.id, &input, &creation)
        .await?
        .into_response())
}

/// My trips, newest first.
#[utoipa::path(get, path = "/api/v1/offers", tag = "offers",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Offer>), (status = 401, body = Problem)))]
pub(super) async fn list_offers(
    State(trips): State<Trips>,
    user: AuthUser,
) -> ApiResult<Json<Vec<Offer>>> {
    let offers = offers::of_owner(&trips.db, &user.id).await?;
    let territories = trips
        .territories
        .covering(offers.iter().map(|o| o.territory_id.as_deref()))
        .await?;
    Ok(Json(
        offers
            .iter()
            .map(|o| o.to_api(territories.tz_of(o.territory_id.as_deref())))
            .collect(),
    ))
}

/// One of my trips.
#[utoipa::path(get, path = "/api/v1/offers/{id}", tag = "offers",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Offer), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn get_offer(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Offer>> {
    let offer = offers::get_owned(&trips.db.pool, &id, &user.id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(trips.offer_api(&offer).await?))
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
pub(super) async fn patch_offer(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(patch): ApiJson<OfferPatch>,
) -> ApiResult<Json<Offer>> {
    Ok(Json(trips.change_offer(&user.id, &id, &patch).await?))
}

/// Deletes a trip.
#[utoipa::path(delete, path = "/api/v1/offers/{id}", tag = "offers",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn delete_offer(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let mut tx = trips.db.begin_write().await?;
    offers::get_owned(&mut *tx, &id, &user.id)
        .await?
        .ok_or_else(not_found)?;
    if !trips
        .withdraw_offer(&mut tx, &id, &user.id, "le conducteur a supprimé ce trajet")
        .await?
    {
        return Err(not_found().into());
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Open needs this trip can serve, best first.
#[utoipa::path(get, path = "/api/v1/offers/{id}/matches", tag = "offers",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<Match>), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn offer_matches(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<Match>>> {
    Ok(Json(trips.offer_matches(&user.id, &id).await?))
}
