//! Telling passengers that drivers pass their way: at most one message a
//! day per need, composed after the trip's transaction, not inside it.
//!
//! - A trip posted or changed records one event in its own transaction
//!   ([`record`]): one row, whatever the number of open needs.
//! - The fan-out worker ([`run`]) takes events with a lease (as the
//!   dispatcher takes deliveries: two instances never take the same one,
//!   an instance that died leaves them to the next), matches each trip
//!   against the open needs in the index, and writes what it found as the
//!   needs' news, many rows per statement. It works at most half the time,
//!   so that requests keep the database writer.
//! - A need's digest is due once its first news has waited a little (trips
//!   posted together make one message) and a day has passed since the
//!   previous digest: « 3 nouveaux conducteurs passent sur votre trajet
//!   Livernon → Figeac », the best driver first. Its text message (for
//!   those told by SMS) names only the best one.
//!
//! The one writer of `offer_events`, `driver_news` and `need_digests`
//! (a need's first driver found is noted by [`crate::needs`]).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use lotocar_shared::schedule::clock_time;
use sqlx::Row;

use crate::auth::public_names;
use crate::db::{Db, Lane, Tx, new_id, now_ms, placeholders};
use crate::error::Result;
use crate::matching::explain::{short, when};
use crate::matching::{Matching, today_in};
use crate::notify::{self, Kind, Notice, Subject};

/// A day: digests of one need are at least this far apart.
pub const DAY_MS: i64 = 24 * 3_600_000;
/// Events matched per round.
const EVENTS_PER_ROUND: i64 = 16;
/// Digests sent per round.
const DIGESTS_PER_ROUND: i64 = 50;
/// Rows written per statement.
const ROWS_PER_STATEMENT: usize = 100;
/// Needs whose news of one trip are committed together.
const NEEDS_PER_TRANSACTION: usize = 100;
/// How long a lease on an event lasts.
const LEASE_MS: i64 = 60_000;
/// Drivers named in a digest (the others are counted).
const NAMED: usize = 3;

/// What the worker works with.
#[derive(Clone)]
pub struct News {
    pub db: Db,
    pub matching: Matching,
    /// How long the first news of a need waits for others (ms).
    pub wait_ms: i64,
}

/// Records, in the transaction that wrote the trip, that `offer_id` is to
/// be matched against the open needs.
pub async fn record(tx: &mut Tx, offer_id: &str) -> std::result::Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO offer_events (id, offer_id, created_at) VALUES ($1, $2, $3)")
        .bind(new_id())
        .bind(offer_id)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Runs until the process ends.
pub async fn run(news: News) {
    let owner = uuid::Uuid::new_v4().to_string();
    loop {
        let started = Instant::now();
        match news.round(&owner).await {
            // Work done: rest as long, so that at most half the time goes
            // to the fan-out.
            Ok(worked) if worked > 0 => tokio::time::sleep(started.elapsed()).await,
            Ok(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            Err(err) => {
                tracing::warn!(error = %err, "driver news round failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// A driver found for a need.
struct Found {
    need_id: String,
    offer_id: String,
    what: String,
    rank: (i64, i64, i64),
    same_day: bool,
}

impl News {
    /// One round: a batch of events, then the digests that are due.
    /// Returns how much was done.
    pub async fn round(&self, owner: &str) -> Result<usize> {
        let events = self.fan_out(owner).await?;
        let digests = self.send_digests().await?;
        Ok(events + digests)
    }

    /// Matches a batch of recorded trips against the open needs, and
    /// writes what was found.
    async fn fan_out(&self, owner: &str) -> Result<usize> {
        let now = now_ms();
        let claimed: Vec<(String, String)> = sqlx::query_as(
            "UPDATE offer_events SET lease_owner = $1, lease_until = $2
             WHERE id IN (SELECT id FROM offer_events
                          WHERE lease_until IS NULL OR lease_until < $3
                          ORDER BY created_at LIMIT $4)
               AND (lease_until IS NULL OR lease_until < $3)
             RETURNING id, offer_id",
        )
        .bind(owner)
        .bind(now + LEASE_MS)
        .bind(now)
        .bind(EVENTS_PER_ROUND)
        .fetch_all(&mut *self.db.write_conn(Lane::Bulk).await?)
        .await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        // The trips were committed with their events: the index sees them.
        self.matching.sync().await?;
        // Events of one trip are matched once; each trip's news are
        // committed on their own, so that the writer is held briefly.
        let mut by_offer: Vec<(&str, Vec<&str>)> = Vec::new();
        for (id, offer_id) in &claimed {
            match by_offer.iter_mut().find(|(o, _)| o == offer_id) {
                Some((_, ids)) => ids.push(id),
                None => by_offer.push((offer_id, vec![id])),
            }
        }
        for (offer_id, events) in by_offer {
            let found = self.found_for(offer_id).await?;
            self.write_news(owner, &events, found).await?;
        }
        Ok(claimed.len())
    }

    /// Writes a trip's news, a few hundred needs per transaction so that
    /// the one writer of SQLite is never held long (a sign-in waits for it),
    /// then forgets the trip's events. A crash in between loses nothing:
    /// the events stay, the trip is matched again, and news already
    /// written are not written twice (nor their digests moved).
    async fn write_news(&self, owner: &str, events: &[&str], mut found: Vec<Found>) -> Result<()> {
        // In a steady order, so that two instances lock rows alike.
        found.sort_by(|a, b| a.need_id.cmp(&b.need_id));
        let found_at = now_ms();
        for part in found.chunks(NEEDS_PER_TRANSACTION) {
            let mut tx = self.db.begin_write_in(Lane::Bulk).await?;
            self.write_part(&mut tx, part, found_at).await?;
            tx.commit().await?;
        }
        let sql = format!(
            "DELETE FROM offer_events WHERE lease_owner = $1 AND id IN ({})",
            placeholders(2, events.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(owner);
        for id in events {
            query = query.bind(*id);
        }
        query
            .execute(&mut *self.db.write_conn(Lane::Bulk).await?)
            .await?;
        Ok(())
    }

    /// Some needs' news of one trip, and their digests, in `tx`.
    async fn write_part(&self, tx: &mut Tx, found: &[Found], found_at: i64) -> Result<()> {
        let mut needs: Vec<&str> = found.iter().map(|f| f.need_id.as_str()).collect();
        needs.dedup();
        crate::needs::found_candidates(tx, &needs, found_at).await?;
        let mut news_for = std::collections::BTreeSet::new();
        for chunk in found.chunks(ROWS_PER_STATEMENT) {
            let rows = (0..chunk.len())
                .map(|i| format!("({})", placeholders(i * 8 + 1, 8)))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO driver_news (need_id, offer_id, found_at, what, rank_detour, rank_deviation, rank_walk, same_day)
                 VALUES {rows} ON CONFLICT (need_id, offer_id) DO NOTHING RETURNING need_id"
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for f in chunk {
                query = query
                    .bind(&f.need_id)
                    .bind(&f.offer_id)
                    .bind(found_at)
                    .bind(&f.what)
                    .bind(f.rank.0)
                    .bind(f.rank.1)
                    .bind(f.rank.2)
                    .bind(i64::from(f.same_day));
            }
            for row in query.fetch_all(&mut **tx).await? {
                news_for.insert(row.try_get::<String, _>("need_id")?);
            }
        }
        // Written after the news (see need_digests in the migration): due
        // after the wait, and a day after the last digest.
        let news_for: Vec<String> = news_for.into_iter().collect();
        for chunk in news_for.chunks(ROWS_PER_STATEMENT) {
            let rows = (0..chunk.len())
                .map(|i| format!("(${}, $1)", i + 3))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO need_digests (need_id, due_at) VALUES {rows}
                 ON CONFLICT (need_id) DO UPDATE SET due_at = COALESCE(need_digests.due_at,
                     CASE WHEN need_digests.last_sent_at IS NOT NULL AND need_digests.last_sent_at + $2 > excluded.due_at
                          THEN need_digests.last_sent_at + $2 ELSE excluded.due_at END)"
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(found_at + self.wait_ms)
                .bind(DAY_MS);
            for id in chunk {
                query = query.bind(id);
            }
            query.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// The open needs `offer_id` can serve, each with its best way;
    /// nothing when the trip cannot take anyone any more.
    async fn found_for(&self, offer_id: &str) -> Result<Vec<Found>> {
        let Some(offer) = self.matching.matcher.index.offer(offer_id) else {
            return Ok(Vec::new());
        };
        let (found, needs) = self.matching.found_for_offer(&offer).await?;
        let mut best: HashMap<usize, &crate::matching::engine::Found> = HashMap::new();
        for f in &found {
            best.entry(f.need)
                .and_modify(|b| {
                    if f.rank_key() < b.rank_key() {
                        *b = f;
                    }
                })
                .or_insert(f);
        }
        Ok(best
            .into_values()
            .map(|f| {
                let need = &needs[f.need].need;
                Found {
                    need_id: need.id.clone(),
                    offer_id: offer.id.clone(),
                    what: format!(
                        "{} : prise en charge à {} à {}",
                        when(f),
                        clock_time(&f.pickup_at).spoken(),
                        short(&f.pickup.place.label)
                    ),
                    rank: f.rank_key(),
                    same_day: f.date == today_in(need.tz),
                }
            })
            .collect())
    }

    /// Sends the digests that are due.
    async fn send_digests(&self) -> Result<usize> {
        let due: Vec<(String,)> = sqlx::query_as(
            "SELECT need_id FROM need_digests WHERE due_at <= $1 ORDER BY due_at LIMIT $2",
        )
        .bind(now_ms())
        .bind(DIGESTS_PER_ROUND)
        .fetch_all(&self.db.pool)
        .await?;
        if due.is_empty() {
            return Ok(0);
        }
        // Whether trips and needs still run is read in this instance's
        // index: brought up to date with what other instances wrote.
        self.matching.sync().await?;
        let mut sent = 0;
        for (need_id,) in &due {
            sent += usize::from(self.digest(need_id).await?);
        }
        Ok(sent)
    }

    /// Tells one need's news in one notification, holding the lock of its
    /// digest row (another instance finds it no longer due). Returns
    /// whether this instance took it.
    async fn digest(&self, need_id: &str) -> Result<bool> {
        let mut tx = self.db.begin_write_in(Lane::Bulk).await?;
        let now = now_ms();
        let taken = sqlx::query(
            "UPDATE need_digests SET due_at = NULL WHERE need_id = $1 AND due_at <= $2",
        )
        .bind(need_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if taken == 0 {
            return Ok(false);
        }
        // Read under the lock: news written before it are all here; those
        // written after it make the next digest due.
        let rows = sqlx::query(
            "SELECT offer_id, what, same_day FROM driver_news
             WHERE need_id = $1 AND told_at IS NULL
             ORDER BY rank_detour, rank_deviation, rank_walk, found_at",
        )
        .bind(need_id)
        .fetch_all(&mut *tx)
        .await?;
        let index = &self.matching.matcher.index;
        let need = index.need(need_id);
        // Trips that still run; news of a need closed meanwhile are dropped.
        let mut fresh = Vec::new();
        let mut stale = Vec::new();
        for row in &rows {
            let offer_id: String = row.try_get("offer_id")?;
            match (&need, index.offer(&offer_id)) {
                (Some(_), Some(offer)) => fresh.push((
                    offer,
                    row.try_get::<String, _>("what")?,
                    row.try_get::<i64, _>("same_day")? != 0,
                )),
                _ => stale.push(offer_id),
            }
        }
        drop_news(&mut tx, need_id, &stale).await?;
        if let (Some(need), false) = (&need, fresh.is_empty()) {
            let drivers: Vec<String> = fresh.iter().map(|(o, _, _)| o.driver_id.clone()).collect();
            let names = public_names(&self.db, &drivers).await?;
            let lines: Vec<String> = fresh
                .iter()
                .map(|(offer, what, _)| {
                    let name = names
                        .get(&offer.driver_id)
                        .map(String::as_str)
                        .unwrap_or("Un conducteur");
                    format!("{name} peut vous prendre {what}")
                })
                .collect();
            let text = Digest {
                from: short(&need.need.origin.label),
                to: short(&need.need.destination.label),
                lines: &lines,
            };
            notify::post(
                &mut tx,
                Notice {
                    to: need.need.passenger_id.clone(),
                    kind: Kind::NewDriver,
                    subject: Subject::Need(need_id.to_string()),
                    title: text.title(),
                    body: text.body(),
                    urgent: fresh.iter().any(|(_, _, same_day)| *same_day),
                    deliver_after: 0,
                    dedupe_key: Some(format!("new_driver:{need_id}:{now}")),
                    tz: need.need.tz,
                    for_person: None,
                    person_text: None,
                    sms_body: Some(text.sms()),
                },
            )
            .await?;
            let told: Vec<&str> = fresh.iter().map(|(o, _, _)| o.id.as_str()).collect();
            let sql = format!(
                "UPDATE driver_news SET told_at = $2 WHERE need_id = $1 AND offer_id IN ({})",
                placeholders(3, told.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(need_id)
                .bind(now);
            for id in &told {
                query = query.bind(*id);
            }
            query.execute(&mut *tx).await?;
            sqlx::query("UPDATE need_digests SET last_sent_at = $2 WHERE need_id = $1")
                .bind(need_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }
}

async fn drop_news(tx: &mut Tx, need_id: &str, offers: &[String]) -> Result<()> {
    if offers.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "DELETE FROM driver_news WHERE need_id = $1 AND offer_id IN ({})",
        placeholders(2, offers.len())
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(need_id);
    for id in offers {
        query = query.bind(id);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// The words of a digest.
struct Digest<'a> {
    from: &'a str,
    to: &'a str,
    /// « Marie D. peut vous prendre le mardi 8 décembre : … », best first.
    lines: &'a [String],
}

impl Digest<'_> {
    fn title(&self) -> String {
        match self.lines.len() {
            1 => format!(
                "Un conducteur passe sur votre trajet {} → {}",
                self.from, self.to
            ),
            n => format!(
                "{} nouveaux conducteurs passent sur votre trajet {} → {}",
                lotocar_shared::text::french_number(n as f64, 0),
                self.from,
                self.to
            ),
        }
    }

    fn body(&self) -> String {
        let mut body: Vec<String> = self
            .lines
            .iter()
            .take(NAMED)
            .map(|l| format!("{l}."))
            .collect();
        match self.lines.len().saturating_sub(NAMED) {
            0 => {}
            1 => body.push("Et un autre : voyez-le dans l'application.".into()),
            n => body.push(format!(
                "Et {} autres : voyez-les dans l'application.",
                lotocar_shared::text::french_number(n as f64, 0)
            )),
        }
        body.join(" ")
    }

    /// Only the best driver, and how many others.
    fn sms(&self) -> String {
        let best = &self.lines[0];
        match self.lines.len() - 1 {
            0 => format!("{best}."),
            1 => format!("{best}, et un autre conducteur."),
            n => format!("{best}, et {n} autres conducteurs."),
        }
    }
}

/// Forgets the news of needs that are no longer open: which drivers were
/// found for them, and where they would have been picked up (erasure
/// closes a person's needs, then calls this; the jobs call it too).
/// The digests first, then the news, in the order a digest being sent
/// locks them: the two wait for each other instead of deadlocking
/// (PostgreSQL).
pub async fn forget_closed(conn: &mut sqlx::AnyConnection) -> std::result::Result<(), sqlx::Error> {
    for sql in [
        "DELETE FROM need_digests WHERE need_id IN (SELECT id FROM needs WHERE status NOT IN ('open', 'booked'))",
        "DELETE FROM driver_news WHERE need_id IN (SELECT id FROM needs WHERE status NOT IN ('open', 'booked'))",
    ] {
        sqlx::query(sql).execute(&mut *conn).await?;
    }
    Ok(())
}

/// How many trips wait to be matched, and since when (epoch ms).
pub async fn backlog(db: &Db) -> std::result::Result<(i64, Option<i64>), sqlx::Error> {
    let row = sqlx::query("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM offer_events")
        .fetch_one(&db.pool)
        .await?;
    Ok((row.try_get("n")?, row.try_get("oldest")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("Conducteur {i} peut vous prendre le mardi 8 décembre : prise en charge à 8 h 10 à Livernon"))
            .collect()
    }

    #[test]
    fn one_driver_is_named_and_many_are_counted_best_first() {
        let one = lines(1);
        let digest = Digest {
            from: "Livernon",
            to: "Figeac",
            lines: &one,
        };
        assert_eq!(
            digest.title(),
            "Un conducteur passe sur votre trajet Livernon → Figeac"
        );
        assert_eq!(digest.body(), format!("{}.", one[0]));
        assert_eq!(digest.sms(), format!("{}.", one[0]));
        let five = lines(5);
        let digest = Digest {
            from: "Livernon",
            to: "Figeac",
            lines: &five,
        };
        assert_eq!(
            digest.title(),
            "5 nouveaux conducteurs passent sur votre trajet Livernon → Figeac"
        );
        let body = digest.body();
        assert!(body.starts_with("Conducteur 0 peut vous prendre"), "{body}");
        assert!(body.contains("Conducteur 2"), "{body}");
        assert!(!body.contains("Conducteur 3"), "{body}");
        assert!(
            body.ends_with("Et 2 autres : voyez-les dans l'application."),
            "{body}"
        );
        // The text message names only the best.
        let sms = digest.sms();
        assert!(sms.starts_with("Conducteur 0 peut vous prendre"), "{sms}");
        assert!(!sms.contains("Conducteur 1"), "{sms}");
        assert!(sms.ends_with(", et 4 autres conducteurs."), "{sms}");
    }
}
