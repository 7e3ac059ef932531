//! The passenger's side (or a relay's, for a person she registered): needs
//! posted with their matches, changed, cancelled or closed with an outcome.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lotocar_shared::api::{Match, Need, NeedCreated, NeedInput, NeedPatch, Problem};
use lotocar_shared::relay::Outcome;

use super::{Trips, both};
use crate::audit::{self, Action, Line, Subject};
use crate::auth::AuthUser;
use crate::bookings::{Bookings, Of};
use crate::db::{Tx, new_id};
use crate::error::{ApiJson, ApiPath, ApiResult, Error, Result};
use crate::idempotency::{Answer, Attempt, Creation, IdempotencyKey};
use crate::matching::need_view;
use crate::needs::{self, Closing, NewNeed, StoredNeed, Whose};
use crate::places::Endpoints;

fn not_found() -> Error {
    Error::not_found("Cette demande n'existe pas.")
}

impl Trips {
    /// Posts a need (for oneself, or as a relay for a person registered on
    /// the territory); the answer lists the offers that can take the
    /// passenger, best first.
    pub async fn post_need(
        &self,
        user: &AuthUser,
        input: &NeedInput,
        creation: &Creation,
    ) -> Result<Answer> {
        let (draft, ends) = both(
            input.validate(),
            Endpoints::resolve_input(&self.places, &input.origin, &input.destination).await,
        )?;
        // The schedule first, in the time zone of where the trip goes.
        let where_tz = self.territories.tz_of(ends.territory_id()).await?;
        needs::check_schedule(
            &draft.schedule,
            crate::db::now().with_timezone(&where_tz).date_naive(),
            None,
        )?;
        // A relay posts for a person they registered; the need belongs to
        // the person's territory, where its relays and coordinator see it.
        let beneficiary = match draft.on_behalf_of.as_deref() {
            None => None,
            Some(id) => Some(
                crate::beneficiaries::load_for(&self.db.pool, user, id)
                    .await
                    .map_err(|_| {
                        Error::field(
                            "on_behalf_of",
                            "Personne inconnue : choisissez une personne inscrite sur votre territoire.",
                        )
                    })?,
            ),
        };
        let territory_id = match &beneficiary {
            Some(b) => Some(b.territory_id.clone()),
            None => ends.territory_id().map(str::to_string),
        };
        let tz = self.territories.tz_of(territory_id.as_deref()).await?;
        let today = crate::db::now().with_timezone(&tz).date_naive();
        let id = new_id();
        // Matched before the need is written, so that the answer and its
        // idempotency record commit together.
        let view = crate::matching::engine::Need {
            ends: crate::matching::engine::Ends::of(&ends.origin, &ends.destination),
            id: id.clone(),
            passenger_id: user.id.clone(),
            origin: ends.origin.clone(),
            destination: ends.destination.clone(),
            schedule: draft.schedule.clone(),
            seats: draft.seats.get(),
            tz,
        };
        let candidates = self.matching.for_need(&view).await?;
        let matches = crate::bookings::seats::with_free_seats(&self.db, candidates).await?;
        let mut tx = match creation.begin(&self.db).await? {
            Attempt::Replay(answer) => return Ok(answer),
            Attempt::Fresh(tx) => tx,
        };
        let need = needs::insert(
            &mut tx,
            NewNeed {
                id: &id,
                owner_id: &user.id,
                on_behalf_of: beneficiary.as_ref().map(|b| b.id.as_str()),
                territory_id: territory_id.as_deref(),
                ends: &ends,
                schedule: &draft.schedule,
                seats: i64::from(draft.seats),
                purpose: draft.purpose,
                with_candidates: !matches.is_empty(),
            },
            today,
        )
        .await?;
        if let Some(b) = &beneficiary {
            crate::beneficiaries::touch(&mut tx, &b.id).await?;
            audit::record(
                &mut tx,
                Line {
                    territory_id: Some(&b.territory_id),
                    actor: &user.id,
                    action: Action::NeedPostedFor,
                    subject: Subject::Need(&id),
                    // The person's name is read when the log is shown (so
                    // that erasing her erases it here too).
                    detail: "",
                },
            )
            .await?;
        }
        // A new need has no booking yet.
        let created = NeedCreated {
            request: Need {
                progress: Some(lotocar_shared::api::NeedProgress::derive(need.status, [])),
                ..need.to_api()
            },
            matches,
        };
        creation.commit(&self.db, tx, &created).await
    }

    /// Changes the times, seats or purpose of one of my open needs.
    pub async fn change_need(&self, user_id: &str, id: &str, patch: &NeedPatch) -> Result<Need> {
        let change = patch.validate()?;
        let mut tx = self.db.begin_write().await?;
        let need = needs::get_owned(&mut *tx, id, user_id)
            .await?
            .ok_or_else(not_found)?;
        let today = self
            .territories
            .today_in(need.territory_id.as_deref())
            .await?;
        if need.status == lotocar_shared::need::NeedStatus::Open
            && let Some(schedule) = &change.schedule
        {
            let kept_start = match &need.schedule {
                lotocar_shared::NeedSchedule::Weekly(weekly) => weekly.from,
                lotocar_shared::NeedSchedule::Once(_) => None,
            };
            needs::check_schedule(schedule, today, kept_start)?;
        }
        let schedule = change.schedule.unwrap_or_else(|| need.schedule.clone());
        let updated = needs::update(
            &mut tx,
            &need,
            &schedule,
            change.seats.map(i64::from).unwrap_or(need.seats),
            change.purpose.unwrap_or(need.purpose),
            today,
        )
        .await?;
        tx.commit().await?;
        self.bookings.need_view(&updated).await
    }

    /// Cancels one of my needs: it stays in my list, cancelled, and the
    /// drivers of its bookings are told. Cancelling it again changes nothing.
    pub async fn cancel_need(&self, user_id: &str, id: &str) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        let need = needs::get_owned(&mut *tx, id, user_id)
            .await?
            .ok_or_else(not_found)?;
        if need.status.is_active() {
            close_need(
                &self.bookings,
                &mut tx,
                &need.id,
                user_id,
                "le passager a annulé sa demande",
                Closing {
                    outcome: Outcome::CancelledByPassenger,
                    reason: Some("annulée dans l'application"),
                    by: Some(user_id),
                    keep_earlier: false,
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The offers that can take a need, best first, each with a seat free.
    pub async fn matches_of(&self, need: &StoredNeed) -> Result<Vec<Match>> {
        let territories = self
            .territories
            .covering([need.territory_id.as_deref()])
            .await?;
        let Some(view) = need_view(need, &territories) else {
            return Ok(Vec::new());
        };
        let candidates = self.matching.for_need(&view).await?;
        crate::bookings::seats::with_free_seats(&self.db, candidates).await
    }
}

/// Closes a need with its outcome: "done" first marks its confirmed trip
/// as having taken place (the driver is asked to confirm); any other
/// outcome cancels its live bookings and tells the drivers (`reason`).
/// Then the need is closed, and kept for the figures.
pub async fn close_need(
    bookings: &Bookings,
    tx: &mut Tx,
    need_id: &str,
    by: &str,
    reason: &str,
    closing: Closing<'_>,
) -> Result<()> {
    match closing.outcome {
        Outcome::Done => {
            bookings.complete_all_for_need(tx, need_id, by).await?;
        }
        _ => {
            bookings
                .cancel_all(tx, Of::Need(need_id), by, reason)
                .await?;
        }
    }
    needs::close(tx, need_id, closing).await?;
    Ok(())
}

/// Closes the open needs of a person who leaves (an account, or a person
/// registered by a relay): their live bookings are cancelled and the
/// drivers told; the needs stay, cancelled, as anonymous figures.
pub async fn close_needs_of(
    bookings: &Bookings,
    tx: &mut Tx,
    whose: Whose<'_>,
    by: &str,
) -> Result<()> {
    for id in needs::active_ids(tx, whose).await? {
        close_need(
            bookings,
            tx,
            &id,
            by,
            "cette personne a quitté le service",
            Closing {
                outcome: Outcome::CancelledByPassenger,
                reason: Some("compte supprimé"),
                by: None,
                keep_earlier: true,
            },
        )
        .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Handlers
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
pub(super) async fn create_request(
    State(trips): State<Trips>,
    user: AuthUser,
    key: IdempotencyKey,
    ApiJson(input): ApiJson<NeedInput>,
) -> ApiResult<Response> {
    let creation = Creation::new(&user.id, key, "/api/v1/requests", &input);
    Ok(trips
        .post_need(&user, &input, &creation)
        .await?
        .into_response())
}

/// My needs, newest first, including cancelled ones.
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Need>), (status = 401, body = Problem)))]
pub(super) async fn list_requests(
    State(trips): State<Trips>,
    user: AuthUser,
) -> ApiResult<Json<Vec<Need>>> {
    let needs = needs::of_owner(&trips.db, &user.id).await?;
    let mut shown = Vec::with_capacity(needs.len());
    for need in &needs {
        shown.push(trips.bookings.need_view(need).await?);
    }
    Ok(Json(shown))
}

/// One of my needs.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Need), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn get_request(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Need>> {
    let need = needs::get_owned(&trips.db.pool, &id, &user.id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(trips.bookings.need_view(&need).await?))
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
pub(super) async fn patch_request(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(patch): ApiJson<NeedPatch>,
) -> ApiResult<Json<Need>> {
    Ok(Json(trips.change_need(&user.id, &id, &patch).await?))
}

/// Cancels a need. It is not erased: it stays in my list, cancelled.
#[utoipa::path(delete, path = "/api/v1/requests/{id}", tag = "requests",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204, description = "Cancelled"), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn delete_request(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    trips.cancel_need(&user.id, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Trips that can take this passenger, best first.
#[utoipa::path(get, path = "/api/v1/requests/{id}/matches", tag = "requests",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<Match>), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn request_matches(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<Match>>> {
    let need = needs::get_owned(&trips.db.pool, &id, &user.id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(trips.matches_of(&need).await?))
}
