//! Notifications: what people are told, for every change that concerns
//! them. A notification is written in the same transaction as the change
//! (the transactional outbox), with one delivery row per channel; the
//! dispatcher (`dispatch`) delivers them by Web Push, SMS or e-mail; open
//! apps get them live over SSE; the inbox keeps them all.

pub mod dispatch;
pub mod push;
pub mod transports;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use lotocar_shared::api::{Notification, Problem, PushKey, PushSubscriptionInput};
use serde::Deserialize;
use sqlx::Row;
use tokio::sync::broadcast;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{AuthUser, user_for_token};
use crate::db::{Db, Tx, from_ms, new_id, next_change, now_ms};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(inbox))
        .routes(routes!(mark_read))
        .routes(routes!(events))
        .routes(routes!(vapid_public_key))
        .routes(routes!(subscribe, subscriptions))
        .routes(routes!(unsubscribe))
}

// ---------------------------------------------------------------------------
// Writing a notification (in the caller's transaction)
// ---------------------------------------------------------------------------

/// Something to tell someone.
pub struct Notice {
    pub user_id: String,
    pub kind: &'static str,
    pub title: String,
    pub body: String,
    pub url: String,
    /// Same-day trips: delivered even in quiet hours.
    pub urgent: bool,
    /// Not before this instant (epoch ms); 0: now.
    pub deliver_after: i64,
    /// The same news is told once: a second notice with this key is dropped.
    pub dedupe_key: Option<String>,
}

/// Writes the notification and its deliveries in `tx`. Channels: Web Push
/// always (skipped at sending time if the person has no subscription),
/// plus SMS or e-mail when that is how the person prefers to be told, or
/// when they cannot receive push. Returns the notification's id, or `None`
/// when the same news was already told.
pub async fn post(tx: &mut Tx, notice: Notice) -> Result<Option<String>, sqlx::Error> {
    let id = new_id();
    let now = now_ms();
    let dedupe = notice.dedupe_key.clone().unwrap_or_else(|| id.clone());
    let change_seq = next_change(tx).await?;
    let inserted = sqlx::query(
        "INSERT INTO notifications (id, user_id, kind, title, body, url, dedupe_key, created_at, deliver_after, urgent, change_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (user_id, dedupe_key) DO NOTHING",
    )
    .bind(&id)
    .bind(&notice.user_id)
    .bind(notice.kind)
    .bind(&notice.title)
    .bind(&notice.body)
    .bind(&notice.url)
    .bind(&dedupe)
    .bind(now)
    .bind(notice.deliver_after)
    .bind(i64::from(notice.urgent))
    .bind(change_seq)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(None);
    }
    let user = sqlx::query(
        "SELECT u.phone, u.email, u.preferred_channel,
                (SELECT COUNT(*) FROM push_subscriptions s WHERE s.user_id = u.id) AS subscriptions
         FROM users u WHERE u.id = $1",
    )
    .bind(&notice.user_id)
    .fetch_one(&mut **tx)
    .await?;
    let phone: Option<String> = user.try_get("phone")?;
    let email: Option<String> = user.try_get("email")?;
    let preferred: String = user.try_get("preferred_channel")?;
    let subscriptions: i64 = user.try_get("subscriptions")?;
    let second = match (preferred.as_str(), &phone, &email) {
        ("sms", Some(_), _) => Some("sms"),
        ("email", _, Some(_)) => Some("email"),
        // Prefers push but has no subscription: the way they signed in.
        (_, Some(_), _) if subscriptions == 0 => Some("sms"),
        (_, None, Some(_)) if subscriptions == 0 => Some("email"),
        _ => None,
    };
    let start = notice.deliver_after.max(now);
    // A booking a relay made for a person told by SMS: that person gets
    // the SMS too (the relay keeps the notification in its inbox).
    if let Some(booking_id) = notice.url.strip_prefix("/bookings/") {
        let phone: Option<String> = sqlx::query(
            "SELECT b.phone FROM bookings bk
             JOIN needs n ON n.id = bk.need_id
             JOIN beneficiaries b ON b.id = n.on_behalf_of
             WHERE bk.id = $1 AND bk.passenger_id = $2 AND b.reach_by = 'sms' AND b.erased_at IS NULL",
        )
        .bind(booking_id)
        .bind(&notice.user_id)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get("phone"))
        .transpose()?
        .flatten();
        if let Some(phone) = phone {
            sqlx::query(
                "INSERT INTO deliveries (id, notification_id, user_id, channel, status, attempts, next_attempt_at, created_at, to_phone)
                 VALUES ($1, $2, $3, 'sms', 'pending', 0, $4, $5, $6)",
            )
            .bind(new_id())
            .bind(&id)
            .bind(&notice.user_id)
            .bind(start)
            .bind(now)
            .bind(phone)
            .execute(&mut **tx)
            .await?;
        }
    }
    for channel in std::iter::once("push").chain(second) {
        sqlx::query(
            "INSERT INTO deliveries (id, notification_id, user_id, channel, status, attempts, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6)",
        )
        .bind(new_id())
        .bind(&id)
        .bind(&notice.user_id)
        .bind(channel)
        .bind(start)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(Some(id))
}

// ---------------------------------------------------------------------------
// Inbox
// ---------------------------------------------------------------------------

pub(crate) fn notification_from_row(row: &sqlx::any::AnyRow) -> Result<Notification, sqlx::Error> {
    Ok(Notification {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        url: row.try_get("url")?,
        created_at: from_ms(
            row.try_get::<i64, _>("created_at")?
                .max(row.try_get("deliver_after")?),
        ),
        read: row.try_get::<Option<i64>, _>("read_at")?.is_some(),
    })
}

pub(crate) const NOTIFICATION_COLUMNS: &str =
    "id, user_id, kind, title, body, url, created_at, deliver_after, read_at, change_seq";

/// My notifications, newest first (those due: a reminder shows the
/// evening before, not when it was planned).
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Notification>), (status = 401, body = Problem)))]
async fn inbox(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<Vec<Notification>>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {NOTIFICATION_COLUMNS} FROM notifications
         WHERE user_id = $1 AND deliver_after <= $2 ORDER BY change_seq DESC LIMIT 200"
    )))
    .bind(&user.id)
    .bind(now_ms())
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(notification_from_row)
        .collect::<Result<Vec<_>, _>>()
        .map(Json)
        .map_err(Into::into)
}

/// Marks a notification as read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "notifications",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn mark_read(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let done = sqlx::query(
        "UPDATE notifications SET read_at = $3 WHERE id = $1 AND user_id = $2 AND read_at IS NULL",
    )
    .bind(&id)
    .bind(&user.id)
    .bind(now_ms())
    .execute(&state.db.writer)
    .await?
    .rows_affected();
    if done == 0 {
        let exists =
            sqlx::query("SELECT 1 AS one FROM notifications WHERE id = $1 AND user_id = $2")
                .bind(&id)
                .bind(&user.id)
                .fetch_optional(&state.db.pool)
                .await?;
        if exists.is_none() {
            return Err(ApiError::not_found("Cette notification n'existe pas."));
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------
// Live stream (SSE), fed across instances by polling the table
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
}

impl Default for Live {
    fn default() -> Self {
        Live {
            sender: broadcast::channel(4096).0,
        }
    }
}

impl Live {
    pub fn clients(&self) -> usize {
        self.sender.receiver_count()
    }
}

/// Follows the notifications table (written by any instance) and hands
/// each notification to this instance's open streams when it is due.
pub async fn follow(state: AppState) {
    let counter = async |db: &Db| -> Result<i64, sqlx::Error> {
        sqlx::query("SELECT value FROM change_counter WHERE name = 'global'")
            .fetch_one(&db.pool)
            .await?
            .try_get("value")
    };
    let mut last_seq = match counter(&state.db).await {
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
        let Ok(upto) = counter(&state.db).await else {
            continue;
        };
        // Written since the last look and due, or written before and due
        // since the last look (reminders).
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications
             WHERE (change_seq > $1 AND change_seq <= $2 AND deliver_after <= $4)
                OR (change_seq <= $1 AND deliver_after > $3 AND deliver_after <= $4)
             ORDER BY change_seq"
        )))
        .bind(last_seq)
        .bind(upto)
        .bind(last_due)
        .bind(now)
        .fetch_all(&state.db.pool)
        .await;
        let rows = match rows {
            Ok(rows) => rows,
            Err(err) => {
                tracing::warn!(error = %err, "live feed: cannot read notifications");
                continue;
            }
        };
        for row in &rows {
            if let (Ok(user_id), Ok(seq), Ok(notification)) = (
                row.try_get::<String, _>("user_id"),
                row.try_get::<i64, _>("change_seq"),
                notification_from_row(row),
            ) {
                let _ = state.live.sender.send(Arc::new(LiveNote {
                    user_id,
                    seq,
                    notification,
                }));
            }
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
    responses((status = 200, description = "text/event-stream of Notification"), (status = 401, body = Problem)))]
async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<EventsParams>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
        .or(params.token)
        .ok_or(ApiError::Unauthorized)?;
    let user_id = user_for_token(&state, &token)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    // Subscribe first, then replay what was missed: nothing falls between.
    let receiver = state.live.sender.subscribe();
    let resume: Option<i64> = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let mut backlog = Vec::new();
    if let Some(after) = resume {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications
             WHERE user_id = $1 AND change_seq > $2 AND deliver_after <= $3 ORDER BY change_seq LIMIT 500"
        )))
        .bind(&user_id)
        .bind(after)
        .bind(now_ms())
        .fetch_all(&state.db.pool)
        .await?;
        for row in &rows {
            backlog.push((
                row.try_get::<i64, _>("change_seq")?,
                notification_from_row(row)?,
            ));
        }
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
    Ok(Sse::new(first.chain(live)).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("ping"),
    ))
}

// ---------------------------------------------------------------------------
// Web Push subscriptions
// ---------------------------------------------------------------------------

/// The server's VAPID public key, for `pushManager.subscribe`.
#[utoipa::path(get, path = "/api/v1/push/vapid-public-key", tag = "notifications",
    responses((status = 200, body = PushKey)))]
async fn vapid_public_key(State(state): State<AppState>) -> Json<PushKey> {
    Json(PushKey {
        key: state.vapid.public_key().to_string(),
    })
}

/// Registers this browser or phone for Web Push (the JSON of the browser's
/// PushSubscription).
#[utoipa::path(post, path = "/api/v1/push/subscriptions", tag = "notifications",
    security(("bearer" = [])),
    request_body = PushSubscriptionInput,
    responses((status = 201, body = lotocar_shared::api::PushSubscription), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn subscribe(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(input): ApiJson<PushSubscriptionInput>,
) -> ApiResult<(StatusCode, Json<lotocar_shared::api::PushSubscription>)> {
    let checked = input.validate()?;
    let id = new_id();
    // The same endpoint registered again (or by someone else on a shared
    // browser) now belongs to this person.
    sqlx::query(
        "INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (endpoint) DO UPDATE SET user_id = $2, p256dh = $4, auth = $5",
    )
    .bind(&id)
    .bind(&user.id)
    .bind(&checked.endpoint)
    .bind(&checked.p256dh)
    .bind(&checked.auth)
    .bind(now_ms())
    .execute(&state.db.writer)
    .await?;
    let id: String = sqlx::query("SELECT id FROM push_subscriptions WHERE endpoint = $1")
        .bind(&checked.endpoint)
        .fetch_one(&state.db.pool)
        .await?
        .try_get("id")?;
    Ok((
        StatusCode::CREATED,
        Json(lotocar_shared::api::PushSubscription {
            id,
            endpoint: checked.endpoint,
        }),
    ))
}

/// My devices registered for Web Push.
#[utoipa::path(get, path = "/api/v1/push/subscriptions", tag = "notifications",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<lotocar_shared::api::PushSubscription>), (status = 401, body = Problem)))]
async fn subscriptions(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<Vec<lotocar_shared::api::PushSubscription>>> {
    let rows = sqlx::query(
        "SELECT id, endpoint FROM push_subscriptions WHERE user_id = $1 ORDER BY created_at",
    )
    .bind(&user.id)
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(lotocar_shared::api::PushSubscription {
                id: r.try_get("id")?,
                endpoint: r.try_get("endpoint")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map(Json)
        .map_err(Into::into)
}

/// Stops Web Push to a browser or phone.
#[utoipa::path(delete, path = "/api/v1/push/subscriptions/{id}", tag = "notifications",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn unsubscribe(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let gone = sqlx::query("DELETE FROM push_subscriptions WHERE id = $1 AND user_id = $2")
        .bind(&id)
        .bind(&user.id)
        .execute(&state.db.writer)
        .await?
        .rows_affected();
    if gone == 0 {
        return Err(ApiError::not_found("Cet appareil n'est pas abonné."));
    }
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------
// Metrics
// ---------------------------------------------------------------------------

/// Prometheus text: deliveries by channel and status, notifications, open
/// streams of this instance.
pub async fn metrics(
    State(state): State<AppState>,
) -> ApiResult<([(axum::http::HeaderName, &'static str); 1], String)> {
    let mut out = String::new();
    out.push_str("# HELP lotocar_deliveries Notification deliveries by channel and status.\n");
    out.push_str("# TYPE lotocar_deliveries gauge\n");
    let rows = sqlx::query("SELECT channel, status, COUNT(*) AS n FROM deliveries GROUP BY channel, status ORDER BY channel, status")
        .fetch_all(&state.db.pool)
        .await?;
    let mut seen: HashMap<(String, String), i64> = HashMap::new();
    for row in rows {
        seen.insert(
            (row.try_get("channel")?, row.try_get("status")?),
            row.try_get("n")?,
        );
    }
    for channel in ["push", "sms", "email"] {
        for status in ["pending", "sent", "skipped", "dead"] {
            let n = seen
                .get(&(channel.to_string(), status.to_string()))
                .copied()
                .unwrap_or(0);
            out.push_str(&format!(
                "lotocar_deliveries{{channel=\"{channel}\",status=\"{status}\"}} {n}\n"
            ));
        }
    }
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM notifications")
        .fetch_one(&state.db.pool)
        .await?
        .try_get("n")?;
    out.push_str(
        "# HELP lotocar_notifications Notifications written.\n# TYPE lotocar_notifications gauge\n",
    );
    out.push_str(&format!("lotocar_notifications {total}\n"));
    out.push_str("# HELP lotocar_live_streams Open event streams on this instance.\n# TYPE lotocar_live_streams gauge\n");
    out.push_str(&format!("lotocar_live_streams {}\n", state.live.clients()));
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    ))
}

/// Counts of deliveries by status (for tests and the benchmark).
pub async fn delivery_counts(db: &Db) -> Result<HashMap<String, i64>, sqlx::Error> {
    let mut counts = HashMap::new();
    for row in sqlx::query("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status")
        .fetch_all(&db.pool)
        .await?
    {
        counts.insert(row.try_get("status")?, row.try_get("n")?);
    }
    Ok(counts)
}
