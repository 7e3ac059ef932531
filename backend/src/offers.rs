//! Offers: a driver's trip, a regular commute or a one-off trip. The one
//! writer of `offers`: how a trip is stored, changed and withdrawn (a
//! tombstone, so that other devices learn of it), and the rules of its
//! schedule. Posting, changing and withdrawing as a person does it (with
//! matching and the bookings on it) is `trips`.

use chrono::NaiveDate;
use chrono_tz::Tz;
use lotocar_shared::api::{Offer, TripPlace};
use lotocar_shared::offer::{DetourTolerance, Seats};
use lotocar_shared::schedule::{DateBounds, OfferSchedule};
use lotocar_shared::validation::Invalid;
use sqlx::FromRow;

use crate::db::{Db, Tx, day, from_json, from_ms, new_id, next_change, now_ms, to_json};
use crate::error::{Error, Result};
use crate::places::Endpoints;

/// An offer as stored.
#[derive(Debug, Clone)]
pub struct StoredOffer {
    pub id: String,
    pub owner_id: String,
    pub territory_id: Option<String>,
    pub origin: TripPlace,
    pub destination: TripPlace,
    pub schedule: OfferSchedule,
    pub first_date: NaiveDate,
    pub last_date: Option<NaiveDate>,
    pub seats: i64,
    pub max_detour_minutes: i64,
    pub paused: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub change_seq: i64,
}

/// The flat row.
#[derive(FromRow)]
struct Record {
    id: String,
    owner_id: String,
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
    max_detour_minutes: i64,
    paused: i64,
    created_at: i64,
    updated_at: i64,
    deleted_at: Option<i64>,
    change_seq: i64,
}

const COLUMNS: &str = "id, owner_id, territory_id,
    origin_place_id, origin_label, origin_insee, origin_lat, origin_lon,
    dest_place_id, dest_label, dest_insee, dest_lat, dest_lon,
    schedule, first_date, last_date, seats, max_detour_minutes, paused,
    created_at, updated_at, deleted_at, change_seq";

impl TryFrom<Record> for StoredOffer {
    type Error = anyhow::Error;

    fn try_from(r: Record) -> anyhow::Result<StoredOffer> {
        Ok(StoredOffer {
            schedule: from_json("schedule", &r.schedule)?,
            first_date: day("first_date", &r.first_date)?,
            last_date: r
                .last_date
                .as_deref()
                .map(|d| day("last_date", d))
                .transpose()?,
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
            id: r.id,
            owner_id: r.owner_id,
            territory_id: r.territory_id,
            seats: r.seats,
            max_detour_minutes: r.max_detour_minutes,
            paused: r.paused != 0,
            created_at: r.created_at,
            updated_at: r.updated_at,
            deleted_at: r.deleted_at,
            change_seq: r.change_seq,
        })
    }
}

fn decode(records: Vec<Record>) -> Result<Vec<StoredOffer>> {
    records
        .into_iter()
        .map(|r| StoredOffer::try_from(r).map_err(Error::from))
        .collect()
}

impl StoredOffer {
    /// Whether it can take someone now: not withdrawn, not paused, not over.
    pub fn is_active(&self, today: NaiveDate) -> bool {
        self.deleted_at.is_none() && !self.paused && self.last_date.is_none_or(|d| d >= today)
    }

    /// As the API shows it; `tz` is its territory's.
    pub fn to_api(&self, tz: Tz) -> Offer {
        let seats = self.seats;
        Offer {
            id: self.id.clone(),
            summary: format!(
                "{} → {}, {} · {seats} place{}",
                short_label(&self.origin),
                short_label(&self.destination),
                self.schedule.describe(tz),
                if seats > 1 { "s" } else { "" }
            ),
            origin: self.origin.clone(),
            destination: self.destination.clone(),
            schedule: self.schedule.clone(),
            seats,
            max_detour_minutes: self.max_detour_minutes,
            paused: self.paused,
            territory_id: self.territory_id.clone(),
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
        }
    }
}

/// "Figeac" out of "Figeac (46100)".
pub fn short_label(place: &TripPlace) -> &str {
    place.label.split(" (").next().unwrap_or(&place.label)
}

// ---------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------

/// A new or changed schedule must lie ahead, and within the bounds of
/// `DateBounds` (a one-off trip within a year; a period and its pauses
/// from a year back to three years ahead). `previous`: the schedule it
/// replaces, whose first date may stay as it was, however old. Every
/// faulty date is reported, under `schedule.`.
pub fn check_schedule(
    schedule: &OfferSchedule,
    tz: Tz,
    previous: Option<&OfferSchedule>,
) -> Result<()> {
    let today = crate::db::now().with_timezone(&tz).date_naive();
    let mut invalid = Invalid::new();
    match schedule {
        OfferSchedule::Once(once) if once.departure() < crate::db::now() => invalid.push(
            "schedule.departure",
            "Ce départ est déjà passé : choisissez une date et une heure à venir.",
        ),
        OfferSchedule::Weekly(weekly) if weekly.until().is_some_and(|until| until < today) => {
            invalid.push(
                "schedule.until",
                "Cette date de fin est déjà passée : choisissez une date à venir, ou aucune.",
            )
        }
        _ => {}
    }
    let kept_start = match previous {
        Some(OfferSchedule::Weekly(previous)) => Some(previous.from()),
        _ => None,
    };
    if let Err(out_of_bounds) = DateBounds::from_today(today)
        .keeping(kept_start)
        .check_offer(schedule)
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

fn first_date(schedule: &OfferSchedule, tz: Tz) -> NaiveDate {
    match schedule {
        OfferSchedule::Weekly(w) => w.from(),
        OfferSchedule::Once(o) => o.departure().with_timezone(&tz).date_naive(),
    }
}

// ---------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------

/// What an offer is made of.
pub struct NewOffer<'a> {
    pub owner_id: &'a str,
    pub ends: &'a Endpoints,
    pub schedule: &'a OfferSchedule,
    pub seats: Seats,
    pub max_detour: DetourTolerance,
}

/// Stores a new offer and returns it.
pub async fn insert(tx: &mut Tx, offer: NewOffer<'_>, tz: Tz) -> Result<StoredOffer> {
    let id = new_id();
    let (origin, destination) = (&offer.ends.origin, &offer.ends.destination);
    sqlx::query(
        "INSERT INTO offers (id, owner_id, territory_id,
            origin_place_id, origin_label, origin_insee, origin_lat, origin_lon,
            dest_place_id, dest_label, dest_insee, dest_lat, dest_lon,
            schedule, first_date, last_date, seats, max_detour_minutes, paused, created_at, updated_at, change_seq)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 0, $19, $19, $20)",
    )
    .bind(&id)
    .bind(offer.owner_id)
    .bind(offer.ends.territory_id())
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
    .bind(to_json(offer.schedule))
    .bind(first_date(offer.schedule, tz).to_string())
    .bind(offer.schedule.last_date(tz).map(|d| d.to_string()))
    .bind(i64::from(offer.seats))
    .bind(i64::from(offer.max_detour))
    .bind(now_ms())
    .bind(next_change(tx).await?)
    .execute(&mut **tx)
    .await?;
    get(&mut **tx, &id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("offer {id} not readable after insert").into())
}

/// What changes on an offer (everything stated; the caller merges).
pub struct Changes {
    pub schedule: OfferSchedule,
    pub seats: i64,
    pub max_detour_minutes: i64,
    pub paused: bool,
}

/// Changes an offer, and returns it.
pub async fn update(tx: &mut Tx, id: &str, changes: Changes, tz: Tz) -> Result<StoredOffer> {
    let change_seq = next_change(tx).await?;
    sqlx::query(
        "UPDATE offers SET schedule = $2, first_date = $3, last_date = $4, seats = $5,
                max_detour_minutes = $6, paused = $7, updated_at = $8, change_seq = $9
         WHERE id = $1",
    )
    .bind(id)
    .bind(to_json(&changes.schedule))
    .bind(first_date(&changes.schedule, tz).to_string())
    .bind(changes.schedule.last_date(tz).map(|d| d.to_string()))
    .bind(changes.seats)
    .bind(changes.max_detour_minutes)
    .bind(i64::from(changes.paused))
    .bind(now_ms())
    .bind(change_seq)
    .execute(&mut **tx)
    .await?;
    get(&mut **tx, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("offer {id} vanished").into())
}

/// Withdraws an offer (a tombstone stays); false when it was not there.
/// Callers go through `trips::withdraw_offer`, which also cancels the
/// bookings on it.
pub async fn delete(tx: &mut Tx, id: &str) -> Result<bool, sqlx::Error> {
    let change_seq = next_change(tx).await?;
    Ok(sqlx::query(
        "UPDATE offers SET deleted_at = $2, updated_at = $2, change_seq = $3
         WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .bind(now_ms())
    .bind(change_seq)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        > 0)
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/// An offer that was not withdrawn.
pub async fn get<'e, E>(executor: E, id: &str) -> Result<Option<StoredOffer>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let record: Option<Record> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM offers WHERE id = $1 AND deleted_at IS NULL"
    )))
    .bind(id)
    .fetch_optional(executor)
    .await?;
    Ok(record.map(StoredOffer::try_from).transpose()?)
}

/// An offer, withdrawn or not (a booking's trip).
pub async fn get_any(db: &Db, id: &str) -> Result<Option<StoredOffer>> {
    let record: Option<Record> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM offers WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await?;
    Ok(record.map(StoredOffer::try_from).transpose()?)
}

/// One of `owner_id`'s offers (someone else's is not found).
pub async fn get_owned<'e, E>(executor: E, id: &str, owner_id: &str) -> Result<Option<StoredOffer>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    Ok(get(executor, id)
        .await?
        .filter(|offer| offer.owner_id == owner_id))
}

/// A person's offers, newest first (500 at most).
pub async fn of_owner(db: &Db, owner_id: &str) -> Result<Vec<StoredOffer>> {
    decode(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM offers WHERE owner_id = $1 AND deleted_at IS NULL
             ORDER BY created_at DESC LIMIT 500"
        )))
        .bind(owner_id)
        .fetch_all(&db.pool)
        .await?,
    )
}

/// Every offer a person ever posted, withdrawn ones too (export).
pub async fn all_of_owner(db: &Db, owner_id: &str) -> Result<Vec<StoredOffer>> {
    decode(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM offers WHERE owner_id = $1 ORDER BY created_at"
        )))
        .bind(owner_id)
        .fetch_all(&db.pool)
        .await?,
    )
}

/// The ids of a person's offers still up.
pub async fn live_ids_of(tx: &mut Tx, owner_id: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_as::<_, (String,)>(
        "SELECT id FROM offers WHERE owner_id = $1 AND deleted_at IS NULL",
    )
    .bind(owner_id)
    .fetch_all(&mut **tx)
    .await
    .map(|rows| rows.into_iter().map(|(id,)| id).collect())
}

/// Offers changed within (`since`, `upto`] of the change sequence, in
/// order, withdrawn ones included (matching follows them).
pub async fn changed(db: &Db, since: i64, upto: i64) -> Result<Vec<StoredOffer>> {
    decode(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM offers WHERE change_seq > $1 AND change_seq <= $2 ORDER BY change_seq"
        )))
        .bind(since)
        .bind(upto)
        .fetch_all(&db.pool)
        .await?,
    )
}

/// A person's offers changed within (`since`, `upto`] (sync).
pub async fn changed_of(
    db: &Db,
    owner_id: &str,
    since: i64,
    upto: i64,
) -> Result<Vec<StoredOffer>> {
    decode(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM offers WHERE owner_id = $1 AND change_seq > $2 AND change_seq <= $3
             ORDER BY change_seq"
        )))
        .bind(owner_id)
        .bind(since)
        .bind(upto)
        .fetch_all(&db.pool)
        .await?,
    )
}

/// The territory's offers that are up and not paused.
pub async fn running_in(db: &Db, territory_id: &str) -> Result<Vec<StoredOffer>> {
    decode(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM offers WHERE territory_id = $1 AND deleted_at IS NULL AND paused = 0"
        )))
        .bind(territory_id)
        .fetch_all(&db.pool)
        .await?,
    )
}

/// How many offers a person ever posted.
pub async fn count_of(db: &Db, owner_id: &str) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM offers WHERE owner_id = $1")
        .bind(owner_id)
        .fetch_one(&db.pool)
        .await?;
    Ok(n)
}
