//! `GET /api/v1/sync?since=cursor`: what changed for the caller since the
//! cursor, so that an app that was offline catches up in one call. The
//! cursor is a position in the commit-ordered change sequence (see
//! `db::next_change`): nothing committed before it can be missed. Reads
//! through each owner; writes nothing.

use axum::Json;
use axum::extract::{FromRef, State};
use lotocar_shared::api::{Problem, SyncChange, SyncPage};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, AuthUser};
use crate::error::{ApiQuery, ApiResult, Error, Result};
use crate::trips::Trips;

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Trips: FromRef<S>,
    Auth: FromRef<S>,
{
    OpenApiRouter::new().routes(routes!(sync))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SyncParams {
    /// The cursor of the last page; none or "0" for everything.
    #[param(pattern = "^[0-9]{0,19}$")]
    since: Option<String>,
}

/// Everything of mine that changed since `since`.
#[utoipa::path(get, path = "/api/v1/sync", tag = "sync",
    security(("bearer" = [])),
    params(SyncParams),
    responses((status = 200, body = SyncPage), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn sync(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiQuery(params): ApiQuery<SyncParams>,
) -> ApiResult<Json<SyncPage>> {
    let since: i64 = match params.since.as_deref() {
        None | Some("") => 0,
        Some(text) => Some(text)
            .filter(|t| t.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| {
                Error::field(
                    "since",
                    "Curseur invalide : reprenez celui de la dernière synchronisation.",
                )
            })?,
    };
    Ok(Json(page(&trips, &user.id, since).await?))
}

/// The page of changes after `since`, in order, and the next cursor.
async fn page(trips: &Trips, user_id: &str, since: i64) -> Result<SyncPage> {
    let upto = crate::db::last_change(&trips.db).await?;
    // (sequence number, change), merged in order at the end.
    let mut changes: Vec<(i64, SyncChange)> = Vec::new();
    let offers = crate::offers::changed_of(&trips.db, user_id, since, upto).await?;
    let territories = trips
        .territories
        .covering(offers.iter().map(|o| o.territory_id.as_deref()))
        .await?;
    for offer in offers {
        let deleted = offer.deleted_at.is_some();
        changes.push((
            offer.change_seq,
            SyncChange::Offer {
                id: offer.id.clone(),
                deleted,
                offer: (!deleted).then(|| {
                    Box::new(offer.to_api(territories.tz_of(offer.territory_id.as_deref())))
                }),
            },
        ));
    }
    for need in crate::needs::changed_of(&trips.db, user_id, since, upto).await? {
        changes.push((
            need.change_seq,
            SyncChange::Request {
                id: need.id.clone(),
                request: Box::new(need.to_api()),
            },
        ));
    }
    for (seq, booking) in trips.bookings.changed_for(user_id, since, upto).await? {
        changes.push((
            seq,
            SyncChange::Booking {
                id: booking.id.clone(),
                booking: Box::new(booking),
            },
        ));
    }
    for (seq, notification) in
        crate::notify::outbox::changed_for(&trips.db, user_id, since, upto).await?
    {
        changes.push((
            seq,
            SyncChange::Notification {
                id: notification.id.clone(),
                notification,
            },
        ));
    }
    changes.sort_by_key(|(seq, _)| *seq);
    Ok(SyncPage {
        cursor: upto.to_string(),
        changes: changes.into_iter().map(|(_, change)| change).collect(),
    })
}
