//! The inbox (every notification a person was told) and the live stream
//! (SSE) that open apps follow, fed across instances by following the
//! notifications table through the change sequence.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use lotocar_shared::api::{Notification, Problem};
use serde::Deserialize;
use tokio::sync::{broadcast, watch};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Notify;
use super::outbox::{NOTIFICATION_COLUMNS, NotificationRecord};
use crate::auth::{Auth, AuthUser, sign_in};
use crate::db::{Db, now_ms};
use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult, Error};

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Notify: FromRef<S>,
    Auth: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(inbox))
        .routes(routes!(mark_read))
        .routes(routes!(events))
}

/// My notifications, newest first (those due: a reminder shows the
/// evening before, not when it was planned).
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Notification>), (status = 401, body = Problem)))]
async fn inbox(State(notify): State<Notify>, user: AuthUser) -> ApiResult<Json<Vec<Notification>>> {
    let records: Vec<NotificationRecord> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {NOTIFICATION_COLUMNS} FROM notifications
         WHERE user_id = $1 AND deliver_after <= $2 ORDER BY change_seq DESC LIMIT 200"
    )))
    .bind(&user.id)
    .bind(now_ms())
    .fetch_all(&notify.db.pool)
    .await?;
    Ok(Json(
        records.iter().map(NotificationRecord::to_api).collect(),
    ))
}

/// Marks a notification as read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn mark_read(
    State(notify): State<Notify>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let done = sqlx::query(
        "UPDATE notifications SET read_at = $3 WHERE id = $1 AND user_id = $2 AND read_at IS NULL",
    )
    .bind(&id)
    .bind(&user.id)
    .bind(now_ms())
    .execute(&notify.db.writer)
    .await?
    .rows_affected();
    if done == 0 {
        let exists =
            sqlx::query("SELECT 1 AS one FROM notifications WHERE id = $1 AND user_id = $2")
                .bind(&id)
                .bind(&user.id)
                .fetch_optional(&notify.db.pool)
                .await?;
        if exists.is_none() {
            return Err(Error::not_found("Cette notification n'existe pas.").into());
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------
// Live stream
// ---------------------------------------------------------------------------

/// A notification that became due, for the open streams of this instance.
#[derive(Clone, Debug)]
pub struct LiveNote {
    pub user_id: String,
    pub seq: i64,
    pub notification: Notification,
}

/// The live feed of this instance.
pub struct Live {
    sender: broadcast::Sender<Arc<LiveNote>>,
    /// Set when the server stops: the open streams end, so that the
    /// requests in flight can finish and the process exit (a stream never
    /// ends by itself).
    closing: watch::Sender<bool>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            sender: broadcast::channel(4096).0,
            closing: watch::channel(false).0,
        }
    }
}

impl Live {
    pub fn clients(&self) -> usize {
        self.sender.receiver_count()
    }

    /// Ends every open stream, and those opened from now on at once (the
    /// client reconnects, to another instance or to this one restarted).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves when the server stops (`close`).
    pub fn closed(&self) -> impl Future<Output = ()> + use<> {
        let mut closing = self.closing.subscribe();
        async move {
            let _ = closing.wait_for(|closed| *closed).await;
        }
    }
}

/// Follows the notifications table (written by any instance) and hands
/// each notification to this instance's open streams when it is due.
pub async fn follow(db: Db, live: Arc<Live>) {
    let mut last_seq = match crate::db::last_change(&db).await {
        Ok(value) => value,
        Err(err) => {
            tracing::error!(error = %err, "live feed cannot start");
            return;
        }
    };
    let mut last_due = now_ms();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        let now = now_ms();
        // Everything up to the counter's value is committed (see db.rs).
        let Ok(upto) = crate::db::last_change(&db).await else {
            continue;
        };
        // Written since the last look and due, or written before and due
        // since the last look (reminders).
        let records: Result<Vec<NotificationRecord>, _> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications
             WHERE (change_seq > $1 AND change_seq <= $2 AND deliver_after <= $4)
                OR (change_seq <= $1 AND deliver_after > $3 AND deliver_after <= $4)
             ORDER BY change_seq"
            )))
            .bind(last_seq)
            .bind(upto)
            .bind(last_due)
            .bind(now)
            .fetch_all(&db.pool)
            .await;
        let records = match records {
            Ok(records) => records,
            Err(err) => {
                tracing::warn!(error = %err, "live feed: cannot read notifications");
                continue;
            }
        };
        for record in &records {
            let _ = live.sender.send(Arc::new(LiveNote {
                user_id: record.user_id.clone(),
                seq: record.change_seq,
                notification: record.to_api(),
            }));
        }
        last_seq = upto;
        last_due = now;
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct EventsParams {
    /// The bearer token, for browsers' EventSource (which cannot send headers).
    token: Option<String>,
}

/// My notifications as they happen (Server-Sent Events; the event id lets
/// a reconnecting client resume with `Last-Event-ID`).
#[utoipa::path(get, path = "/api/v1/events", tag = "notifications",
    security(("bearer" = [])),
    params(EventsParams),
    responses((status = 200, description = "A stream of server-sent events, each a Notification in JSON", content_type = "text/event-stream", body = String), (status = 401, body = Problem)))]
async fn events(
    State(notify): State<Notify>,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<EventsParams>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
        .or(params.token)
        .ok_or(ApiError::Unauthorized)?;
    let user_id = sign_in::user_for_token(&notify.db, &token)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    // Subscribe first, then replay what was missed: nothing falls between.
    let receiver = notify.live.sender.subscribe();
    let resume: Option<i64> = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let mut backlog = Vec::new();
    if let Some(after) = resume {
        let records: Vec<NotificationRecord> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications
             WHERE user_id = $1 AND change_seq > $2 AND deliver_after <= $3 ORDER BY change_seq LIMIT 500"
        )))
        .bind(&user_id)
        .bind(after)
        .bind(now_ms())
        .fetch_all(&notify.db.pool)
        .await?;
        backlog.extend(records.iter().map(|r| (r.change_seq, r.to_api())));
    }
    let replayed_upto = backlog
        .last()
        .map(|(seq, _)| *seq)
        .unwrap_or(resume.unwrap_or(0));
    let event = |seq: i64, n: &Notification| {
        Ok(Event::default()
            .id(seq.to_string())
            .event("notification")
            .json_data(n)
            .unwrap_or_else(|_| Event::default().comment("unserializable")))
    };
    let first = tokio_stream::iter(backlog.into_iter().map(move |(seq, n)| event(seq, &n)));
    let live = BroadcastStream::new(receiver).filter_map(move |item| match item {
        Ok(note) if note.user_id == user_id && note.seq > replayed_upto => {
            Some(event(note.seq, &note.notification))
        }
        _ => None,
    });
    let stream = futures_util::StreamExt::take_until(first.chain(live), notify.live.closed());
    Ok(Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("ping"),
    ))
}
