//! `GET /api/v1/sync?since=cursor`: what changed for the caller since the
//! cursor, so that an app that was offline catches up in one call. The
//! cursor is a position in the commit-ordered change sequence (see
//! `db::next_change`): nothing committed before it can be missed.

use axum::Json;
use axum::extract::State;
use lotocar_shared::api::{Problem, SyncChange, SyncPage};
use serde::Deserialize;
use sqlx::Row;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthUser;
use crate::bookings;
use crate::db::now_ms;
use crate::error::{ApiError, ApiQuery, ApiResult};
use crate::notify::{NOTIFICATION_COLUMNS, notification_from_row};
use crate::state::AppState;
use crate::territories;
use crate::trips::{need_from_row, offer_from_row};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sync))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SyncParams {
    /// The cursor of the last page; none or "0" for everything.
    since: Option<String>,
}

/// Everything of mine that changed since `since`.
#[utoipa::path(get, path = "/api/v1/sync", tag = "sync",
    security(("bearer" = [])),
    params(SyncParams),
    responses((status = 200, body = SyncPage), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn sync(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(params): ApiQuery<SyncParams>,
) -> ApiResult<Json<SyncPage>> {
    let since: i64 = match params.since.as_deref() {
        None | Some("") => 0,
        Some(text) => text.parse().ok().filter(|n: &i64| *n >= 0).ok_or_else(|| {
            ApiError::field(
                "since",
                "Curseur invalide : reprenez celui de la dernière synchronisation.",
            )
        })?,
    };
    let upto: i64 = sqlx::query("SELECT value FROM change_counter WHERE name = 'global'")
        .fetch_one(&state.db.pool)
        .await?
        .try_get("value")?;
    // (sequence number, change), merged in order at the end.
    let mut changes: Vec<(i64, SyncChange)> = Vec::new();

    let territories = territories::list(&state.db).await?;
    for row in sqlx::query(
        "SELECT * FROM offers WHERE owner_id = $1 AND change_seq > $2 AND change_seq <= $3 ORDER BY change_seq",
    )
    .bind(&user.id)
    .bind(since)
    .bind(upto)
    .fetch_all(&state.db.pool)
    .await?
    {
        let seq: i64 = row.try_get("change_seq")?;
        let id: String = row.try_get("id")?;
        let deleted = row.try_get::<Option<i64>, _>("deleted_at")?.is_some();
        let offer = if deleted {
            None
        } else {
            Some(Box::new(offer_from_row(&row, &territories, &state)?))
        };
        changes.push((seq, SyncChange::Offer { id, deleted, offer }));
    }
    for row in sqlx::query(
        "SELECT * FROM needs WHERE owner_id = $1 AND change_seq > $2 AND change_seq <= $3 ORDER BY change_seq",
    )
    .bind(&user.id)
    .bind(since)
    .bind(upto)
    .fetch_all(&state.db.pool)
    .await?
    {
        let seq: i64 = row.try_get("change_seq")?;
        let request = need_from_row(&row)?;
        changes.push((
            seq,
            SyncChange::Request {
                id: request.id.clone(),
                request: Box::new(request),
            },
        ));
    }
    for booking in bookings::changed_for(&state, &user.id, since, upto).await? {
        let seq = booking_seq(&state, &booking.id).await?;
        changes.push((
            seq,
            SyncChange::Booking {
                id: booking.id.clone(),
                booking: Box::new(booking),
            },
        ));
    }
    for row in sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {NOTIFICATION_COLUMNS} FROM notifications
         WHERE user_id = $1 AND change_seq > $2 AND change_seq <= $3 AND deliver_after <= $4
         ORDER BY change_seq DESC LIMIT 500"
    )))
    .bind(&user.id)
    .bind(since)
    .bind(upto)
    .bind(now_ms())
    .fetch_all(&state.db.pool)
    .await?
    {
        let seq: i64 = row.try_get("change_seq")?;
        let notification = notification_from_row(&row)?;
        changes.push((
            seq,
            SyncChange::Notification {
                id: notification.id.clone(),
                notification,
            },
        ));
    }
    changes.sort_by_key(|(seq, _)| *seq);
    Ok(Json(SyncPage {
        cursor: upto.to_string(),
        changes: changes.into_iter().map(|(_, change)| change).collect(),
    }))
}

async fn booking_seq(state: &AppState, id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT change_seq FROM bookings WHERE id = $1")
        .bind(id)
        .fetch_one(&state.db.pool)
        .await?
        .try_get("change_seq")
}
