//! Notifications: what people are told, kept as an inbox.

use axum::Json;
use axum::extract::State;
use lotocar_shared::api::{Notification, Problem};
use sqlx::Row;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthUser;
use crate::db::from_ms;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(inbox))
}

/// My notifications, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Notification>), (status = 401, body = Problem)))]
async fn inbox(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<Vec<Notification>>> {
    let rows = sqlx::query(
        "SELECT id, kind, title, body, url, created_at, read_at FROM notifications
         WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 200",
    )
    .bind(&user.id)
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Notification {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                title: row.try_get("title")?,
                body: row.try_get("body")?,
                url: row.try_get("url")?,
                created_at: from_ms(row.try_get("created_at")?),
                read: row.try_get::<Option<i64>, _>("read_at")?.is_some(),
            })
        })
        .collect::<ApiResult<Vec<_>>>()
        .map(Json)
}
