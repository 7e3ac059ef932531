//! The dispatcher: claims due deliveries with a lease (so that several
//! instances, or a restarted one, never work on the same row at once),
//! delivers, retries with exponential backoff, gives up after a number of
//! tries ("dead", counted in /metrics). A delivery whose instance died
//! mid-way is claimed again when its lease runs out: delivery is at least
//! once, and a repeat carries the same notification id.

use std::time::Duration;

use chrono::{TimeZone, Timelike, Utc};
use futures_util::StreamExt;
use serde_json::json;
use sqlx::Row;

use super::push::{self, Outcome, Subscription};
use crate::db::now_ms;
use crate::state::AppState;

/// Tries before a delivery is given up.
pub const MAX_ATTEMPTS: i64 = 8;
/// Deliveries handled at once by one instance.
const CONCURRENCY: usize = 32;

/// A delivery claimed by this instance.
struct Claimed {
    id: String,
    notification_id: String,
    user_id: String,
    channel: String,
    attempts: i64,
}

/// Runs until the process ends.
pub async fn run(state: AppState) {
    let owner = uuid::Uuid::new_v4().to_string();
    let mut idle = tokio::time::interval(Duration::from_millis(200));
    idle.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut housekeeping_at = 0i64;
    loop {
        if now_ms() >= housekeeping_at {
            if let Err(err) = crate::bookings::housekeeping(&state).await {
                tracing::warn!(error = %err, "housekeeping failed");
            }
            if let Err(err) = crate::privacy::purge_inactive(&state).await {
                tracing::warn!(error = %err, "retention purge failed");
            }
            housekeeping_at = now_ms() + 30_000;
        }
        match claim(&state, &owner, 100).await {
            Ok(batch) if !batch.is_empty() => {
                futures_util::stream::iter(batch)
                    .for_each_concurrent(CONCURRENCY, |d| {
                        let state = state.clone();
                        let owner = owner.clone();
                        async move { handle(&state, &owner, d).await }
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

/// Claims up to `limit` due deliveries. The sub-select may pick rows that
/// another instance claims at the same moment; the outer conditions are
/// checked again on the locked row, so each row goes to one instance.
async fn claim(state: &AppState, owner: &str, limit: i64) -> Result<Vec<Claimed>, sqlx::Error> {
    let now = now_ms();
    let lease = now + i64::from(state.config.delivery_lease_seconds) * 1000;
    let rows = sqlx::query(
        "UPDATE deliveries SET lease_owner = $1, lease_until = $2
         WHERE id IN (SELECT id FROM deliveries
                      WHERE status = 'pending' AND next_attempt_at <= $3
                        AND (lease_until IS NULL OR lease_until < $3)
                      ORDER BY next_attempt_at LIMIT $4)
           AND status = 'pending' AND (lease_until IS NULL OR lease_until < $3)
         RETURNING id, notification_id, user_id, channel, attempts",
    )
    .bind(owner)
    .bind(lease)
    .bind(now)
    .bind(limit)
    .fetch_all(&state.db.writer)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Claimed {
                id: row.try_get("id")?,
                notification_id: row.try_get("notification_id")?,
                user_id: row.try_get("user_id")?,
                channel: row.try_get("channel")?,
                attempts: row.try_get("attempts")?,
            })
        })
        .collect()
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

async fn handle(state: &AppState, owner: &str, d: Claimed) {
    let outcome = match deliver(state, &d).await {
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
            tracing::warn!(delivery = %d.id, channel = %d.channel, attempts, %error, "delivery failed");
            let (status, next) = if attempts >= MAX_ATTEMPTS {
                ("dead", now)
            } else {
                ("pending", now + backoff_ms(attempts, state.config.retry_base_ms))
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
    if let Err(err) = update.execute(&state.db.writer).await {
        tracing::warn!(error = %err, delivery = %d.id, "cannot record a delivery");
    }
}

/// Exponential backoff: base, 2×, 4×… capped at an hour.
pub fn backoff_ms(attempts: i64, base_ms: u64) -> i64 {
    let factor = 1u64 << (attempts.clamp(1, 20) - 1);
    (base_ms.saturating_mul(factor)).min(3_600_000) as i64
}

/// The next end of quiet hours, if `now` is in them (local time).
fn quiet_until(state: &AppState, now: i64) -> Option<i64> {
    quiet_until_at(
        now,
        state.config.timezone,
        state.config.quiet_start_hour,
        state.config.quiet_end_hour,
    )
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

async fn deliver(state: &AppState, d: &Claimed) -> anyhow::Result<Attempt> {
    let row = sqlx::query(
        "SELECT n.kind, n.title, n.body, n.url, n.urgent, u.phone, u.email
         FROM notifications n JOIN users u ON u.id = n.user_id WHERE n.id = $1",
    )
    .bind(&d.notification_id)
    .fetch_optional(&state.db.pool)
    .await?;
    // The person erased their account meanwhile: nothing to send.
    let Some(row) = row else {
        return Ok(Attempt::Skipped);
    };
    let kind: String = row.try_get("kind")?;
    let title: String = row.try_get("title")?;
    let body: String = row.try_get("body")?;
    let url: String = row.try_get("url")?;
    let urgent = row.try_get::<i64, _>("urgent")? != 0;
    if !urgent
        && d.channel != "email"
        && let Some(wake) = quiet_until(state, now_ms())
    {
        return Ok(Attempt::Later(wake));
    }
    let link = format!("{}{url}", state.config.public_url.trim_end_matches('/'));
    match d.channel.as_str() {
        "push" => {
            let subscriptions: Vec<Subscription> = sqlx::query(
                "SELECT id, endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = $1",
            )
            .bind(&d.user_id)
            .fetch_all(&state.db.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(Subscription {
                    id: r.try_get("id")?,
                    endpoint: r.try_get("endpoint")?,
                    p256dh: r.try_get("p256dh")?,
                    auth: r.try_get("auth")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
            if subscriptions.is_empty() {
                return Ok(Attempt::Skipped);
            }
            let payload = serde_json::to_vec(&json!({
                "id": d.notification_id, "kind": kind, "title": title, "body": body, "url": url,
            }))?;
            let mut delivered = 0;
            let mut gone = 0;
            let mut errors = Vec::new();
            for subscription in &subscriptions {
                match push::send(&state.http, &state.vapid, subscription, &payload, urgent).await {
                    Ok(Outcome::Delivered) => delivered += 1,
                    Ok(Outcome::Gone) => {
                        gone += 1;
                        sqlx::query("DELETE FROM push_subscriptions WHERE id = $1")
                            .bind(&subscription.id)
                            .execute(&state.db.writer)
                            .await?;
                    }
                    Err(err) => errors.push(format!("{err:#}")),
                }
            }
            Ok(if delivered > 0 {
                Attempt::Sent
            } else if gone == subscriptions.len() {
                Attempt::Skipped
            } else {
                Attempt::Failed(errors.join("; "))
            })
        }
        "sms" => {
            // To the person a relay acts for, or to the account holder.
            let Some(delivery) = sqlx::query("SELECT to_phone FROM deliveries WHERE id = $1")
                .bind(&d.id)
                .fetch_optional(&state.db.pool)
                .await?
            else {
                // Dropped meanwhile (the person was erased): nothing to send.
                return Ok(Attempt::Skipped);
            };
            let to: Option<String> = delivery.try_get("to_phone")?;
            let Some(phone) = to.or(row.try_get::<Option<String>, _>("phone")?) else {
                return Ok(Attempt::Skipped);
            };
            state
                .sms
                .send(&phone, &format!("{} : {body} {link}", state.config.brand))
                .await?;
            Ok(Attempt::Sent)
        }
        "email" => {
            let Some(email) = row.try_get::<Option<String>, _>("email")? else {
                return Ok(Attempt::Skipped);
            };
            state
                .mail
                .send(
                    &email,
                    &format!("{} — {title}", state.config.brand),
                    &format!("{body}\n\n{link}\n"),
                )
                .await?;
            Ok(Attempt::Sent)
        }
        other => anyhow::bail!("unknown channel {other}"),
    }
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
