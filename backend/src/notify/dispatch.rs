//! The dispatcher: claims due deliveries with a lease (so that several
//! instances, or a restarted one, never work on the same row at once),
//! hands each to its channel, retries with exponential backoff, gives up
//! after a number of tries ("dead", counted in /metrics). Quiet hours are
//! the local hours of the notification's territory. A delivery whose instance died
//! mid-way is claimed again when its lease runs out: delivery is at least
//! once, and a repeat carries the same notification id.

use std::time::Duration;

use chrono::{TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use futures_util::StreamExt;
use lotocar_shared::people::Channel;
use sqlx::{FromRow, Row};

use super::channels::{Channels, Delivery, Message, Sent};
use crate::db::{Db, Lane, now_ms};

/// Tries before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = 8;
/// Deliveries handled at once by one instance.
const CONCURRENCY: usize = 32;

/// What the dispatcher needs: the channels, and its settings.
#[derive(Clone)]
pub struct Dispatcher {
    pub db: Db,
    pub channels: Channels,
    pub settings: Settings,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Seconds a claim lasts before another instance may take it over.
    pub lease_seconds: u32,
    /// First retry delay, doubled each time.
    pub retry_base_ms: u64,
    /// Quiet hours, local time of the notification's territory.
    pub quiet_start_hour: u32,
    pub quiet_end_hour: u32,
    /// For notifications written without a time zone.
    pub default_tz: Tz,
    /// Public address of the service, before the links.
    pub public_url: String,
}

/// Runs until the process ends.
pub async fn run(dispatcher: Dispatcher) {
    let owner = uuid::Uuid::new_v4().to_string();
    let mut idle = tokio::time::interval(Duration::from_millis(200));
    idle.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        match claim(&dispatcher, &owner, 100).await {
            Ok(batch) if !batch.is_empty() => {
                futures_util::stream::iter(batch)
                    .for_each_concurrent(CONCURRENCY, |d| {
                        let dispatcher = dispatcher.clone();
                        let owner = owner.clone();
                        async move { handle(&dispatcher, &owner, d).await }
                    })
                    .await;
            }
            Ok(_) => {
                idle.tick().await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot claim deliveries");
                idle.tick().await;
            }
        }
    }
}

#[derive(FromRow)]
struct ClaimedRecord {
    id: String,
    notification_id: String,
    user_id: String,
    channel: String,
    attempts: i64,
    to_phone: Option<String>,
}

/// Claims up to `limit` due deliveries. The sub-select may pick rows that
/// another instance claims at the same moment; the outer conditions are
/// checked again on the locked row, so each row goes to one instance.
async fn claim(
    dispatcher: &Dispatcher,
    owner: &str,
    limit: i64,
) -> Result<Vec<Delivery>, sqlx::Error> {
    let now = now_ms();
    let lease = now + i64::from(dispatcher.settings.lease_seconds) * 1000;
    let records: Vec<ClaimedRecord> = sqlx::query_as(
        "UPDATE deliveries SET lease_owner = $1, lease_until = $2
         WHERE id IN (SELECT id FROM deliveries
                      WHERE status = 'pending' AND next_attempt_at <= $3
                        AND (lease_until IS NULL OR lease_until < $3)
                      ORDER BY next_attempt_at LIMIT $4)
           AND status = 'pending' AND (lease_until IS NULL OR lease_until < $3)
         RETURNING id, notification_id, user_id, channel, attempts, to_phone",
    )
    .bind(owner)
    .bind(lease)
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *dispatcher.db.write_conn(Lane::Bulk).await?)
    .await?;
    Ok(records
        .into_iter()
        .map(|r| Delivery {
            // An unknown code (written by a newer version) fails at
            // delivery, and is retried, maybe by a newer instance.
            channel: Channel::from_code(&r.channel),
            channel_code: r.channel,
            id: r.id,
            notification_id: r.notification_id,
            user_id: r.user_id,
            attempts: r.attempts,
            to_phone: r.to_phone,
            lease_until: lease,
        })
        .collect())
}

/// Whether this instance still holds `d` long enough to send it: a
/// delivery that waited in its batch past half its lease (a slow machine,
/// a slow push service) takes the lease again first; one another instance
/// took meanwhile is left to it, so that each is sent once.
async fn still_mine(dispatcher: &Dispatcher, owner: &str, d: &Delivery) -> bool {
    let lease_ms = i64::from(dispatcher.settings.lease_seconds) * 1000;
    let now = now_ms();
    if now + lease_ms / 2 < d.lease_until {
        return true;
    }
    match sqlx::query(
        "UPDATE deliveries SET lease_until = $3
         WHERE id = $1 AND lease_owner = $2 AND status = 'pending'",
    )
    .bind(&d.id)
    .bind(owner)
    .bind(now + lease_ms)
    .execute(&mut *match dispatcher.db.write_conn(Lane::Bulk).await {
        Ok(conn) => conn,
        Err(err) => {
            tracing::warn!(error = %err, delivery = %d.id, "cannot renew a lease");
            return false;
        }
    })
    .await
    {
        Ok(done) => done.rows_affected() == 1,
        Err(err) => {
            tracing::warn!(error = %err, delivery = %d.id, "cannot renew a lease");
            false
        }
    }
}

/// What became of one attempt.
enum Attempt {
    Sent,
    /// Nothing to send on this channel (no subscription left).
    Skipped,
    /// Quiet hours: try again at this instant, no attempt spent.
    Later(i64),
    Failed(String),
}

async fn handle(dispatcher: &Dispatcher, owner: &str, d: Delivery) {
    if !still_mine(dispatcher, owner, &d).await {
        return;
    }
    let outcome = match deliver(dispatcher, &d).await {
        Ok(outcome) => outcome,
        Err(err) => Attempt::Failed(format!("{err:#}")),
    };
    let now = now_ms();
    let update = match outcome {
        Attempt::Sent => sqlx::query(
            "UPDATE deliveries SET status = 'sent', sent_at = $3, attempts = attempts + 1, lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND lease_owner = $2",
        )
        .bind(&d.id)
        .bind(owner)
        .bind(now),
        Attempt::Skipped => sqlx::query(
            "UPDATE deliveries SET status = 'skipped', sent_at = $3, lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND lease_owner = $2",
        )
        .bind(&d.id)
        .bind(owner)
        .bind(now),
        Attempt::Later(at) => sqlx::query(
            "UPDATE deliveries SET next_attempt_at = $3, lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND lease_owner = $2",
        )
        .bind(&d.id)
        .bind(owner)
        .bind(at),
        Attempt::Failed(error) => {
            let attempts = d.attempts + 1;
            tracing::warn!(delivery = %d.id, channel = %d.channel_code, attempts, %error, "delivery failed");
            let (status, next) = if attempts >= MAX_ATTEMPTS {
                ("dead", now)
            } else {
                (
                    "pending",
                    now + backoff_ms(attempts, dispatcher.settings.retry_base_ms),
                )
            };
            sqlx::query(
                "UPDATE deliveries SET status = $3, attempts = $4, next_attempt_at = $5, last_error = $6,
                        lease_owner = NULL, lease_until = NULL
                 WHERE id = $1 AND lease_owner = $2",
            )
            .bind(&d.id)
            .bind(owner)
            .bind(status)
            .bind(attempts)
            .bind(next)
            .bind(error.chars().take(500).collect::<String>())
        }
    };
    let recorded = match dispatcher.db.write_conn(Lane::Bulk).await {
        Ok(mut conn) => update.execute(&mut *conn).await.map(drop),
        Err(err) => Err(err),
    };
    if let Err(err) = recorded {
        tracing::warn!(error = %err, delivery = %d.id, "cannot record a delivery");
    }
}

/// Exponential backoff: base, 2×, 4×… capped at an hour.
pub fn backoff_ms(attempts: i64, base_ms: u64) -> i64 {
    let factor = 1u64 << (attempts.clamp(1, 20) - 1);
    (base_ms.saturating_mul(factor)).min(3_600_000) as i64
}

/// When quiet hours from `start` to `end` (local hours) end, if `now`
/// (epoch ms) is in them.
fn quiet_until_at(now: i64, tz: chrono_tz::Tz, start: u32, end: u32) -> Option<i64> {
    if start == end {
        return None;
    }
    let local = Utc.timestamp_millis_opt(now).single()?.with_timezone(&tz);
    let hour = local.hour();
    let quiet = if start > end {
        hour >= start || hour < end
    } else {
        hour >= start && hour < end
    };
    if !quiet {
        return None;
    }
    let mut day = local.date_naive();
    if hour >= end {
        day = day.succ_opt()?;
    }
    let wake = lotocar_shared::schedule::local_instant(
        tz,
        day,
        lotocar_shared::time::LocalTime::new(end, 0)?,
    );
    Some(wake.timestamp_millis())
}

async fn deliver(dispatcher: &Dispatcher, d: &Delivery) -> anyhow::Result<Attempt> {
    let row = sqlx::query(
        "SELECT kind, title, body, sms_body, url, urgent, timezone FROM notifications WHERE id = $1",
    )
    .bind(&d.notification_id)
    .fetch_optional(&dispatcher.db.pool)
    .await?;
    // The person erased their account meanwhile: nothing to send.
    let Some(row) = row else {
        return Ok(Attempt::Skipped);
    };
    let Some(channel) = d.channel.and_then(|c| dispatcher.channels.get(c)) else {
        anyhow::bail!("no channel {} on this server", d.channel_code);
    };
    let url: String = row.try_get("url")?;
    let settings = &dispatcher.settings;
    let message = Message {
        notification_id: d.notification_id.clone(),
        kind: row.try_get("kind")?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        sms_body: row.try_get("sms_body")?,
        link: format!("{}{url}", settings.public_url.trim_end_matches('/')),
        url,
        urgent: row.try_get::<i64, _>("urgent")? != 0,
    };
    // Quiet hours are those of the territory the notification is about.
    let tz = row
        .try_get::<Option<String>, _>("timezone")?
        .and_then(|name| name.parse::<Tz>().ok())
        .unwrap_or(settings.default_tz);
    if !message.urgent
        && channel.quiet_hours_apply()
        && let Some(wake) = quiet_until_at(
            now_ms(),
            tz,
            settings.quiet_start_hour,
            settings.quiet_end_hour,
        )
    {
        return Ok(Attempt::Later(wake));
    }
    Ok(match channel.deliver(d, &message).await? {
        Sent::Sent => Attempt::Sent,
        Sent::Skipped => Attempt::Skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_hold_messages_until_seven() {
        use chrono_tz::Europe::Paris;
        let at = |d: u32, h: u32, m: u32| {
            Paris
                .with_ymd_and_hms(2026, 12, d, h, m, 0)
                .unwrap()
                .timestamp_millis()
        };
        // 22:30 → 07:00 next morning; 06:10 → 07:00 the same morning.
        assert_eq!(
            quiet_until_at(at(8, 22, 30), Paris, 21, 7),
            Some(at(9, 7, 0))
        );
        assert_eq!(
            quiet_until_at(at(9, 6, 10), Paris, 21, 7),
            Some(at(9, 7, 0))
        );
        // Daytime, and no quiet hours at all.
        assert_eq!(quiet_until_at(at(9, 12, 0), Paris, 21, 7), None);
        assert_eq!(quiet_until_at(at(9, 23, 0), Paris, 0, 0), None);
        // Across the October clock change: 07:00 summer time is not 07:00 winter time.
        let before = Paris
            .with_ymd_and_hms(2027, 10, 30, 23, 0, 0)
            .unwrap()
            .timestamp_millis();
        let wake = Paris
            .with_ymd_and_hms(2027, 10, 31, 7, 0, 0)
            .unwrap()
            .timestamp_millis();
        assert_eq!(quiet_until_at(before, Paris, 21, 7), Some(wake));
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff_ms(1, 30_000), 30_000);
        assert_eq!(backoff_ms(2, 30_000), 60_000);
        assert_eq!(backoff_ms(4, 30_000), 240_000);
        assert_eq!(backoff_ms(12, 30_000), 3_600_000);
    }
}
