//! Notifications: what people are told, for every change that concerns
//! them. A notification is written in the same transaction as the change
//! (the transactional outbox, [`outbox`]), with one delivery row per
//! channel; the dispatcher ([`dispatch`]) hands them to the channels
//! ([`channels`]: Web Push, SMS, e-mail, the relay's inbox); open apps get
//! them live over SSE; the inbox keeps them all ([`inbox`]).
//!
//! Owns `notifications`, `deliveries` and `push_subscriptions`.

pub mod channels;
pub mod dispatch;
pub mod endpoints;
pub mod inbox;
pub mod outbox;
pub mod push;
pub mod subscriptions;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::FromRef;
use lotocar_shared::people::Channel;
use sqlx::Row;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::Auth;
use crate::db::Db;
pub use inbox::Live;
pub use outbox::{
    ForPerson, Kind, Notice, PersonReach, Subject, drop_pending_texts_to, erase_person, erase_user,
    post, withdraw_planned,
};
use push::Vapid;

/// What the notification routes need.
#[derive(Clone)]
pub struct Notify {
    pub db: Db,
    pub live: Arc<Live>,
    pub vapid: Arc<Vapid>,
    /// Which push endpoints are accepted.
    pub endpoints: endpoints::Policy,
}

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Notify: FromRef<S>,
    Auth: FromRef<S>,
{
    OpenApiRouter::new()
        .merge(inbox::router())
        .merge(subscriptions::router())
}

/// Prometheus text: deliveries by channel and status, notifications, open
/// streams of this instance.
pub async fn metrics_text(notify: &Notify) -> Result<String, sqlx::Error> {
    let mut out = String::new();
    out.push_str("# HELP lotocar_deliveries Notification deliveries by channel and status.\n");
    out.push_str("# TYPE lotocar_deliveries gauge\n");
    let rows = sqlx::query("SELECT channel, status, COUNT(*) AS n FROM deliveries GROUP BY channel, status ORDER BY channel, status")
        .fetch_all(&notify.db.pool)
        .await?;
    let mut seen: HashMap<(String, String), i64> = HashMap::new();
    for row in rows {
        seen.insert(
            (row.try_get("channel")?, row.try_get("status")?),
            row.try_get("n")?,
        );
    }
    for channel in Channel::ALL {
        let channel = channel.code();
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
    // A delivery due and not sent: the outbox is stuck (quiet hours and
    // retries set a later due time, so they do not count).
    let now = crate::db::now_ms();
    let (oldest_due,): (Option<i64>,) = sqlx::query_as(
        "SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1",
    )
    .bind(now)
    .fetch_one(&notify.db.pool)
    .await?;
    out.push_str("# HELP lotocar_deliveries_oldest_due_seconds How long the oldest delivery due has waited to be sent (0: none waits).
# TYPE lotocar_deliveries_oldest_due_seconds gauge
");
    out.push_str(&format!(
        "lotocar_deliveries_oldest_due_seconds {}
",
        oldest_due.map_or(0, |at| (now - at).max(0) / 1000)
    ));
    let (total,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM notifications")
        .fetch_one(&notify.db.pool)
        .await?;
    out.push_str(
        "# HELP lotocar_notifications Notifications written.\n# TYPE lotocar_notifications gauge\n",
    );
    out.push_str(&format!("lotocar_notifications {total}\n"));
    out.push_str("# HELP lotocar_live_streams Open event streams on this instance.\n# TYPE lotocar_live_streams gauge\n");
    out.push_str(&format!("lotocar_live_streams {}\n", notify.live.clients()));
    Ok(out)
}
