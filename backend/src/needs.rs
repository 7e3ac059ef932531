//! Needs: a passenger's request for a ride (a one-off appointment or a
//! regular commute), possibly posted by a relay for a person she
//! registered. The one writer of `needs`: how a need is stored and
//! changed, how its status follows its bookings, how it is closed with an
//! outcome (kept forever, for the territory's figures). Posting and
//! cancelling as a person does it (with matching and the bookings) is
//! `trips`.

use chrono::NaiveDate;
use lotocar_shared::api::{Need, TripPlace};
use lotocar_shared::need::{NeedStatus, Purpose};
use lotocar_shared::relay::{Outcome, RecordedOutcome};
use lotocar_shared::schedule::{DateBounds, NeedSchedule};
use lotocar_shared::validation::Invalid;
use sqlx::FromRow;

use crate::db::{
    Db, Tx, code, day, from_json, from_ms, next_change, now_ms, placeholders, to_json,
};
use crate::error::{Error, Result};
use crate::offers::short_label;
use crate::places::Endpoints;

/// A need as stored.
#[derive(Debug, Clone)]
pub struct StoredNeed {
    pub id: String,
    pub owner_id: String,
    /// The registered person a relay posted it for.
    pub on_behalf_of: Option<String>,
    pub territory_id: Option<String>,
    pub origin: TripPlace,
    pub destination: TripPlace,
    pub schedule: NeedSchedule,
    pub first_date: NaiveDate,
    pub last_date: Option<NaiveDate>,
    pub seats: i64,
    pub purpose: Purpose,
    pub status: NeedStatus,
    pub outcome: Option<RecordedOutcome>,
    pub created_at: i64,
    pub updated_at: i64,
    pub change_seq: i64,
    /// Her name, when read with the person (`with_person` queries).
    pub beneficiary_name: Option<String>,
}

#[derive(FromRow)]
struct Record {
    id: String,
    owner_id: String,
    on_behalf_of: Option<String>,
    territory_id: Option<String>,
    origin_place_id: Option<String>,
    origin_label: String,
    origin_insee: Option<String>,
    origin_lat: f64,
    origin_lon: f64,
    dest_place_id: Option<String>,
    dest_label: String,
    dest_insee: Option<String>,
    dest_lat: f64,
    dest_lon: f64,
    schedule: String,
    first_date: String,
    last_date: Option<String>,
    seats: i64,
    purpose: String,
    status: String,
    outcome: Option<String>,
    outcome_reason: Option<String>,
    outcome_by: Option<String>,
    outcome_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    change_seq: i64,
    beneficiary_name: Option<String>,
}

/// Every column, as `n`, with the registered person's name (or NULL).
const SELECT: &str = "SELECT n.id, n.owner_id, n.on_behalf_of, n.territory_id,
        n.origin_place_id, n.origin_label, n.origin_insee, n.origin_lat, n.origin_lon,
        n.dest_place_id, n.dest_label, n.dest_insee, n.dest_lat, n.dest_lon,
        n.schedule, n.first_date, n.last_date, n.seats, n.purpose, n.status,
        n.outcome, n.outcome_reason, n.outcome_by, n.outcome_at,
        n.created_at, n.updated_at, n.change_seq, b.display_name AS beneficiary_name
     FROM needs n LEFT JOIN beneficiaries b ON b.id = n.on_behalf_of";

impl TryFrom<Record> for StoredNeed {
    type Error = anyhow::Error;

    fn try_from(r: Record) -> anyhow::Result<StoredNeed> {
        let outcome = match r.outcome.as_deref() {
            Some(c) => {
                let outcome = code("outcome", c, Outcome::from_code)?;
                Some(RecordedOutcome {
                    outcome,
                    label: outcome.label().to_string(),
                    reason: r.outcome_reason,
                    recorded_by: r.outcome_by.unwrap_or_default(),
                    at: from_ms(r.outcome_at.unwrap_or(0)),
                })
            }
            None => None,
        };
        Ok(StoredNeed {
            schedule: from_json("schedule", &r.schedule)?,
            first_date: day("first_date", &r.first_date)?,
            last_date: r
                .last_date
                .as_deref()
                .map(|d| day("last_date", d))
                .transpose()?,
            purpose: code("purpose", &r.purpose, Purpose::from_code)?,
            status: code("status", &r.status, NeedStatus::from_code)?,
            origin: TripPlace {
                place_id: r.origin_place_id,
                label: r.origin_label,
                insee: r.origin_insee,
                lat: r.origin_lat,
                lon: r.origin_lon,
            },
            destination: TripPlace {
                place_id: r.dest_place_id,
                label: r.dest_label,
                insee: r.dest_insee,
                lat: r.dest_lat,
                lon: r.dest_lon,
            },
            outcome,
            id: r.id,
            owner_id: r.owner_id,
            on_behalf_of: r.on_behalf_of,
            territory_id: r.territory_id,
            seats: r.seats,
            created_at: r.created_at,
            updated_at: r.updated_at,
            change_seq: r.change_seq,
            beneficiary_name: r.beneficiary_name.filter(|n| !n.is_empty()),
        })
    }
}

fn decode(records: Vec<Record>) -> Result<Vec<StoredNeed>> {
    records
        .into_iter()
        .map(|r| StoredNeed::try_from(r).map_err(Error::from))
        .collect()
}

impl StoredNeed {
    /// Whether drivers can still be found for it: open, and not over.
    pub fn is_open(&self, today: NaiveDate) -> bool {
        self.status == NeedStatus::Open && self.last_date.is_none_or(|d| d >= today)
    }

    /// As its owner sees it (the name of the person a relay posted it for
    /// is for the territory's staff: [`StoredNeed::to_staff_api`]).
    pub fn to_api(&self) -> Need {
        Need {
            beneficiary_name: None,
            ..self.to_staff_api()
        }
    }

    /// As the relays and coordinators of its territory see it, with the
    /// registered person's name.
    pub fn to_staff_api(&self) -> Need {
        Need {
            id: self.id.clone(),
            summary: format!(
                "{} → {}, {}",
                short_label(&self.origin),
                short_label(&self.destination),
                self.schedule.describe()
            ),
            origin: self.origin.clone(),
            destination: self.destination.clone(),
            schedule: self.schedule.clone(),
            seats: self.seats,
            purpose: self.purpose,
            status: self.status,
            on_behalf_of: self.on_behalf_of.clone(),
            beneficiary_name: self.beneficiary_name.clone(),
            outcome: self.outcome.clone(),
            progress: None,
            territory_id: self.territory_id.clone(),
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
        }
    }
}

// ---------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------

/// A new or changed schedule must lie ahead, and within the bounds of
/// `DateBounds` (a one-off need within a year; a period from a year back
/// to three years ahead). `kept_start`: the first date of the schedule it
/// replaces, which may stay as it was. Every faulty date is reported,
/// under `schedule.`.
pub fn check_schedule(
    schedule: &NeedSchedule,
    today: NaiveDate,
    kept_start: Option<NaiveDate>,
) -> Result<()> {
    let mut invalid = Invalid::new();
    match schedule {
        NeedSchedule::Once(once) if once.date < today => invalid.push(
            "schedule.date",
            "Cette date est déjà passée : choisissez une date à venir.",
        ),
        NeedSchedule::Weekly(weekly) if weekly.until.is_some_and(|until| until < today) => invalid
            .push(
                "schedule.until",
                "Cette date de fin est déjà passée : choisissez une date à venir, ou aucune.",
            ),
        _ => {}
    }
    if let Err(out_of_bounds) = DateBounds::from_today(today)
        .keeping(kept_start)
        .check_need(schedule)
    {
        for error in out_of_bounds.errors {
            let field = format!("schedule.{}", error.field);
            if !invalid.errors.iter().any(|e| e.field == field) {
                invalid.push(field, error.message);
            }
        }
    }
    invalid.finish(|| ()).map_err(Error::from)
}

/// What happened to one of a need's bookings, for the need to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingEvent {
    /// The driver confirmed a seat.
    Confirmed,
    /// A booking ended (cancelled, declined); `others_live`: another one
    /// still stands.
    Released { others_live: bool },
    /// The trip of a one-off booking took place, both sides agree.
    Validated { recurring: bool },
}

/// Holds the need's row until `tx` ends, before its bookings are counted:
/// two bookings of one need cancelled at once are then counted one after
/// the other, and the last one sees that none is left (on PostgreSQL; on
/// SQLite a write transaction is alone anyway). Taken after the booking's
/// own row, as [`follow_booking`] does.
pub async fn hold(tx: &mut Tx, need_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE needs SET status = status WHERE id = $1")
        .bind(need_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The need follows its bookings: booked while one holds, open again when
/// none is left, done when validated.
pub async fn follow_booking(
    tx: &mut Tx,
    need_id: &str,
    event: BookingEvent,
) -> Result<(), sqlx::Error> {
    let (from, to): (&[NeedStatus], NeedStatus) = match event {
        BookingEvent::Confirmed => (&[NeedStatus::Open], NeedStatus::Booked),
        BookingEvent::Released { others_live: false } => (&[NeedStatus::Booked], NeedStatus::Open),
        BookingEvent::Validated { recurring: false } => {
            (&[NeedStatus::Booked, NeedStatus::Open], NeedStatus::Done)
        }
        BookingEvent::Released { others_live: true }
        | BookingEvent::Validated { recurring: true } => {
            return Ok(());
        }
    };
    let change_seq = next_change(tx).await?;
    let from: Vec<String> = from.iter().map(|s| format!("'{}'", s.code())).collect();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE needs SET status = $2, updated_at = $3, change_seq = $4 WHERE id = $1 AND status IN ({})",
        from.join(", ")
    )))
    .bind(need_id)
    .bind(to.code())
    .bind(now_ms())
    .bind(change_seq)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// How a need is closed.
pub struct Closing<'a> {
    pub outcome: Outcome,
    pub reason: Option<&'a str>,
    /// Who said so (none: the service, for a person who left).
    pub by: Option<&'a str>,
    /// Keep an outcome recorded before (a person who leaves does not
    /// rewrite what happened).
    pub keep_earlier: bool,
}

impl Closing<'_> {
    fn status(&self) -> NeedStatus {
        match self.outcome {
            Outcome::Done => NeedStatus::Done,
            Outcome::NoDriver => NeedStatus::Unserved,
            _ => NeedStatus::Cancelled,
        }
    }
}

/// Closes a need with its outcome (the row stays, for the figures).
/// Callers go through `trips::close_need`, which first settles its
/// bookings.
pub async fn close(tx: &mut Tx, id: &str, closing: Closing<'_>) -> Result<(), sqlx::Error> {
    let change_seq = next_change(tx).await?;
    let sql = if closing.keep_earlier {
        "UPDATE needs SET status = $2, outcome = COALESCE(outcome, $3),
            outcome_reason = COALESCE(outcome_reason, $4), outcome_by = COALESCE(outcome_by, $5),
            outcome_at = COALESCE(outcome_at, $6), updated_at = $6, change_seq = $7 WHERE id = $1"
    } else {
        "UPDATE needs SET status = $2, outcome = $3, outcome_reason = $4, outcome_by = $5,
            outcome_at = $6, updated_at = $6, change_seq = $7 WHERE id = $1"
    };
    sqlx::query(sql)
        .bind(id)
        .bind(closing.status().code())
        .bind(closing.outcome.code())
        .bind(closing.reason)
        .bind(closing.by)
        .bind(now_ms())
        .bind(change_seq)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// What a need is made of.
pub struct NewNeed<'a> {
    pub id: &'a str,
    pub owner_id: &'a str,
    pub on_behalf_of: Option<&'a str>,
    pub territory_id: Option<&'a str>,
    pub ends: &'a Endpoints,
    pub schedule: &'a NeedSchedule,
    pub seats: i64,
    pub purpose: Purpose,
    /// Whether drivers who can take the passenger were found at posting.
    pub with_candidates: bool,
}

/// Stores a new, open need (`today` in its territory) and returns it.
pub async fn insert(tx: &mut Tx, need: NewNeed<'_>, today: NaiveDate) -> Result<StoredNeed> {
    let (origin, destination) = (&need.ends.origin, &need.ends.destination);
    let change_seq = next_change(tx).await?;
    sqlx::query(
        "INSERT INTO needs (id, owner_id, on_behalf_of, territory_id,
            origin_place_id, origin_label, origin_insee, origin_lat, origin_lon,
            dest_place_id, dest_label, dest_insee, dest_lat, dest_lon,
            schedule, first_date, last_date, seats, purpose, status, created_at, updated_at, change_seq,
            first_candidate_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21, $22,
            CASE WHEN $23 = 1 THEN $21 END)",
    )
    .bind(need.id)
    .bind(need.owner_id)
    .bind(need.on_behalf_of)
    .bind(need.territory_id)
    .bind(&origin.place_id)
    .bind(&origin.label)
    .bind(&origin.insee)
    .bind(origin.lat)
    .bind(origin.lon)
    .bind(&destination.place_id)
    .bind(&destination.label)
    .bind(&destination.insee)
    .bind(destination.lat)
    .bind(destination.lon)
    .bind(to_json(need.schedule))
    .bind(need.schedule.first_date(today).to_string())
    .bind(need.schedule.last_date().map(|d| d.to_string()))
    .bind(need.seats)
    .bind(need.purpose.code())
    .bind(NeedStatus::Open.code())
    .bind(now_ms())
    .bind(change_seq)
    .bind(i64::from(need.with_candidates))
    .execute(&mut **tx)
    .await?;
    get(&mut **tx, need.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("need {} not readable after insert", need.id).into())
}

/// Notes that a driver who can take the passenger was found, at `at`, for
/// those of `ids` that had none yet (the usage figures: how long a need
/// waits for its first driver). Not a change the need's owner sees.
pub async fn found_candidates(tx: &mut Tx, ids: &[&str], at: i64) -> Result<(), sqlx::Error> {
    for chunk in ids.chunks(500) {
        let sql = format!(
            "UPDATE needs SET first_candidate_at = $1 WHERE first_candidate_at IS NULL AND id IN ({})",
            placeholders(2, chunk.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(at);
        for id in chunk {
            query = query.bind(*id);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Changes the times, seats or purpose of an open need (`today` in its
/// territory); a closed need cannot change (409).
pub async fn update(
    tx: &mut Tx,
    need: &StoredNeed,
    schedule: &NeedSchedule,
    seats: i64,
    purpose: Purpose,
    today: NaiveDate,
) -> Result<StoredNeed> {
    if need.status != NeedStatus::Open {
        return Err(Error::conflict(
            "request_closed",
            "Cette demande est close : elle ne peut plus être modifiée. Publiez une nouvelle demande.",
        ));
    }
    let change_seq = next_change(tx).await?;
    sqlx::query(
        "UPDATE needs SET schedule = $2, first_date = $3, last_date = $4, seats = $5, purpose = $6,
                updated_at = $7, change_seq = $8
         WHERE id = $1",
    )
    .bind(&need.id)
    .bind(to_json(schedule))
    .bind(schedule.first_date(today).to_string())
    .bind(schedule.last_date().map(|d| d.to_string()))
    .bind(seats)
    .bind(purpose.code())
    .bind(now_ms())
    .bind(change_seq)
    .execute(&mut **tx)
    .await?;
    get(&mut **tx, &need.id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("need {} vanished", need.id).into())
}

/// Erasing an account: the outcome reasons it wrote (about its own needs)
/// are replaced by a neutral word.
pub async fn scrub_reasons_by(tx: &mut Tx, user_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE needs SET outcome_reason = 'compte supprimé'
         WHERE outcome_by = $1 AND outcome_reason IS NOT NULL AND on_behalf_of IS NULL",
    )
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Erasing a registered person: the reasons written about her needs go.
pub async fn scrub_reasons_for(tx: &mut Tx, beneficiary_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE needs SET outcome_reason = NULL WHERE on_behalf_of = $1")
        .bind(beneficiary_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

pub async fn get<'e, E>(executor: E, id: &str) -> Result<Option<StoredNeed>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let record: Option<Record> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE n.id = $1")))
            .bind(id)
            .fetch_optional(executor)
            .await?;
    Ok(record.map(StoredNeed::try_from).transpose()?)
}

/// One of `owner_id`'s needs (someone else's is not found).
pub async fn get_owned<'e, E>(executor: E, id: &str, owner_id: &str) -> Result<Option<StoredNeed>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    Ok(get(executor, id)
        .await?
        .filter(|need| need.owner_id == owner_id))
}

/// A person's needs, newest first, cancelled ones included (500 at most).
pub async fn of_owner(db: &Db, owner_id: &str) -> Result<Vec<StoredNeed>> {
    decode(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE n.owner_id = $1 ORDER BY n.created_at DESC LIMIT 500"
        )))
        .bind(owner_id)
        .fetch_all(&db.pool)
        .await?,
    )
}

/// Every need a person posted, oldest first (export).
pub async fn all_of_owner(db: &Db, owner_id: &str) -> Result<Vec<StoredNeed>> {
    decode(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE n.owner_id = $1 ORDER BY n.created_at"
        )))
        .bind(owner_id)
        .fetch_all(&db.pool)
        .await?,
    )
}

/// Whose needs are closed when a person leaves.
#[derive(Debug, Clone, Copy)]
pub enum Whose<'a> {
    /// An account's own needs (not those a relay posted for people it
    /// helps: those stay with the territory).
    Owner(&'a str),
    /// A registered person's.
    Beneficiary(&'a str),
}

/// The ids of the open or booked needs of a person.
pub async fn active_ids(tx: &mut Tx, whose: Whose<'_>) -> Result<Vec<String>, sqlx::Error> {
    let (sql, id) = match whose {
        Whose::Owner(id) => (
            "SELECT id FROM needs WHERE owner_id = $1 AND on_behalf_of IS NULL AND status IN ('open', 'booked')",
            id,
        ),
        Whose::Beneficiary(id) => (
            "SELECT id FROM needs WHERE on_behalf_of = $1 AND status IN ('open', 'booked')",
            id,
        ),
    };
    Ok(sqlx::query_as::<_, (String,)>(sql)
        .bind(id)
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(|(id,)| id)
        .collect())
}

/// The ids of every need posted for a registered person.
pub async fn ids_for(tx: &mut Tx, beneficiary_id: &str) -> Result<Vec<String>, sqlx::Error> {
    Ok(
        sqlx::query_as::<_, (String,)>("SELECT id FROM needs WHERE on_behalf_of = $1")
            .bind(beneficiary_id)
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect(),
    )
}

/// Needs changed within (`since`, `upto`] of the change sequence, in order
/// (matching follows them).
pub async fn changed(db: &Db, since: i64, upto: i64) -> Result<Vec<StoredNeed>> {
    decode(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE n.change_seq > $1 AND n.change_seq <= $2 ORDER BY n.change_seq"
        )))
        .bind(since)
        .bind(upto)
        .fetch_all(&db.pool)
        .await?,
    )
}

/// A person's needs changed within (`since`, `upto`] (sync).
pub async fn changed_of(db: &Db, owner_id: &str, since: i64, upto: i64) -> Result<Vec<StoredNeed>> {
    decode(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE n.owner_id = $1 AND n.change_seq > $2 AND n.change_seq <= $3
             ORDER BY n.change_seq"
        )))
        .bind(owner_id)
        .bind(since)
        .bind(upto)
        .fetch_all(&db.pool)
        .await?,
    )
}

/// Which of a territory's needs to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// A status code (`open`, `booked`, …).
    pub status: Option<String>,
    /// Needs whose dates reach this day or later.
    pub from: Option<NaiveDate>,
    /// Needs whose dates start this day or earlier.
    pub to: Option<NaiveDate>,
    /// Only those posted for registered people (a relay's view).
    pub only_for_people: bool,
}

/// A territory's needs, by date, newest first (1000 at most).
pub async fn in_territory(db: &Db, territory_id: &str, filter: &Filter) -> Result<Vec<StoredNeed>> {
    decode(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT}
             WHERE n.territory_id = $1 {}
               AND ($2 = '' OR n.status = $2)
               AND ($3 = '' OR n.last_date IS NULL OR n.last_date >= $3)
               AND ($4 = '' OR n.first_date <= $4)
             ORDER BY n.first_date DESC, n.created_at DESC LIMIT 1000",
            if filter.only_for_people {
                "AND n.on_behalf_of IS NOT NULL"
            } else {
                ""
            }
        )))
        .bind(territory_id)
        .bind(filter.status.clone().unwrap_or_default())
        .bind(filter.from.map(|d| d.to_string()).unwrap_or_default())
        .bind(filter.to.map(|d| d.to_string()).unwrap_or_default())
        .fetch_all(&db.pool)
        .await?,
    )
}

/// A territory's needs whose first date falls in a period (the map, the
/// unmet demand, the impact figures).
pub async fn dated_in(
    db: &Db,
    territory_id: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Vec<StoredNeed>> {
    decode(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE n.territory_id = $1 AND ($2 = '' OR n.first_date >= $2) AND ($3 = '' OR n.first_date <= $3)"
        )))
        .bind(territory_id)
        .bind(from.map(|d| d.to_string()).unwrap_or_default())
        .bind(to.map(|d| d.to_string()).unwrap_or_default())
        .fetch_all(&db.pool)
        .await?,
    )
}
