//! How bookings are stored: the one writer of `bookings`, `booking_dates`,
//! `contact_reveals` and `booking_checkins` (seats are in [`super::seats`]).

use std::sync::LazyLock;

use chrono::NaiveDate;
use chrono_tz::Tz;
use lotocar_shared::BookingStatus;
use lotocar_shared::api::{BookingDate, Leg, MatchStop};
use lotocar_shared::schedule::{clock_time, local_instant};
use lotocar_shared::time::{Weekdays, french_date};
use sqlx::FromRow;

use crate::db::{Db, Tx, code, day, from_json, new_id, next_change, now_ms, to_json};
use crate::error::{Error, Result};

/// The statuses in `pred`, as an SQL list (`('CONFIRMED', …)`), derived
/// from [`BookingStatus`] so that a new status cannot be forgotten here.
fn status_list(pred: impl Fn(BookingStatus) -> bool) -> String {
    let codes: Vec<String> = BookingStatus::ALL
        .into_iter()
        .filter(|s| pred(*s))
        .map(|s| format!("'{}'", s.code()))
        .collect();
    format!("({})", codes.join(", "))
}

/// Statuses in which a booking still counts (not final).
pub static LIVE: LazyLock<String> = LazyLock::new(|| status_list(|s| !s.is_final()));
/// Statuses in which a driver said yes (a seat is or was held).
pub static HOLDING: LazyLock<String> = LazyLock::new(|| status_list(BookingStatus::holds_seat));

/// A booking as stored.
#[derive(Debug, Clone)]
pub struct StoredBooking {
    pub id: String,
    pub offer_id: String,
    pub need_id: String,
    pub driver_id: String,
    /// The account on the passenger's side, who is told and may act: the
    /// passenger, or the relay who booked for a registered person.
    pub passenger_id: String,
    /// Who made the booking (the passenger, or her relay).
    pub booked_by: String,
    /// The registered person who travels, when a relay booked for her.
    pub beneficiary_id: Option<String>,
    pub territory_id: Option<String>,
    pub recurring: bool,
    pub weekdays: Option<Weekdays>,
    /// The (first) date.
    pub date: NaiveDate,
    /// The driver's leg.
    pub leg: Leg,
    pub need_leg: Leg,
    pub seats: i64,
    pub status: BookingStatus,
    pub pickup: MatchStop,
    pub dropoff: MatchStop,
    pub detour_minutes: f64,
    pub reason: Option<String>,
    pub completed_by: Option<String>,
    pub completed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub change_seq: i64,
}

#[derive(FromRow)]
struct Record {
    id: String,
    offer_id: String,
    need_id: String,
    driver_id: String,
    passenger_id: String,
    booked_by: String,
    beneficiary_id: Option<String>,
    territory_id: Option<String>,
    recurring: i64,
    weekdays: Option<i64>,
    first_date: String,
    leg: String,
    need_leg: String,
    seats: i64,
    status: String,
    pickup: String,
    dropoff: String,
    detour_minutes: f64,
    reason: Option<String>,
    completed_by: Option<String>,
    completed_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    change_seq: i64,
}

pub const COLUMNS: &str = "id, offer_id, need_id, driver_id, passenger_id,
    COALESCE(booked_by, passenger_id) AS booked_by, beneficiary_id, territory_id, recurring,
    weekdays, first_date, leg, need_leg, seats, status, pickup, dropoff, detour_minutes, reason,
    completed_by, completed_at, created_at, updated_at, change_seq";

impl TryFrom<Record> for StoredBooking {
    type Error = anyhow::Error;

    fn try_from(r: Record) -> anyhow::Result<StoredBooking> {
        Ok(StoredBooking {
            recurring: r.recurring != 0,
            weekdays: r.weekdays.and_then(|b| Weekdays::from_bits(b as u8)),
            date: day("first_date", &r.first_date)?,
            leg: code("leg", &r.leg, Leg::from_code)?,
            need_leg: code("need_leg", &r.need_leg, Leg::from_code)?,
            status: code("status", &r.status, BookingStatus::from_code)?,
            pickup: from_json("pickup", &r.pickup)?,
            dropoff: from_json("dropoff", &r.dropoff)?,
            id: r.id,
            offer_id: r.offer_id,
            need_id: r.need_id,
            driver_id: r.driver_id,
            passenger_id: r.passenger_id,
            booked_by: r.booked_by,
            beneficiary_id: r.beneficiary_id,
            territory_id: r.territory_id,
            seats: r.seats,
            detour_minutes: r.detour_minutes,
            reason: r.reason,
            completed_by: r.completed_by,
            completed_at: r.completed_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            change_seq: r.change_seq,
        })
    }
}

fn decode(records: Vec<Record>) -> Result<Vec<StoredBooking>> {
    records
        .into_iter()
        .map(|r| StoredBooking::try_from(r).map_err(Error::from))
        .collect()
}

impl StoredBooking {
    /// The other party.
    pub fn other(&self, user_id: &str) -> &str {
        if user_id == self.driver_id {
            &self.passenger_id
        } else {
            &self.driver_id
        }
    }

    /// "le mardi 8 décembre", or "du lundi au vendredi".
    pub fn when(&self) -> String {
        match self.weekdays {
            Some(days) if self.recurring => days.french(),
            _ => format!("le {}", french_date(self.date)),
        }
    }

    /// When the trip (its first date) starts, epoch ms, in `tz`.
    pub fn started_at(&self, tz: Tz) -> i64 {
        local_instant(tz, self.date, clock_time(&self.pickup.at)).timestamp_millis()
    }
}

/// One booking, whoever asks.
pub async fn get<'e, E>(executor: E, id: &str) -> Result<Option<StoredBooking>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let record: Option<Record> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM bookings WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(executor)
    .await?;
    Ok(record.map(StoredBooking::try_from).transpose()?)
}

/// A booking `user_id` is the driver or the passenger of (anyone else's
/// is not found).
pub async fn get_for<'e, E>(executor: E, id: &str, user_id: &str) -> Result<Option<StoredBooking>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    Ok(get(executor, id)
        .await?
        .filter(|b| b.driver_id == user_id || b.passenger_id == user_id))
}

/// A person's bookings as driver and passenger, newest first (500 at most).
pub async fn of_user(db: &Db, user_id: &str) -> Result<Vec<StoredBooking>> {
    decode(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM bookings WHERE driver_id = $1 OR passenger_id = $1
             ORDER BY created_at DESC LIMIT 500"
        )))
        .bind(user_id)
        .fetch_all(&db.pool)
        .await?,
    )
}

/// Every booking a person took part in, oldest first (export).
pub async fn all_of_user(db: &Db, user_id: &str) -> Result<Vec<StoredBooking>> {
    decode(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM bookings WHERE driver_id = $1 OR passenger_id = $1 ORDER BY created_at"
        )))
        .bind(user_id)
        .fetch_all(&db.pool)
        .await?,
    )
}

/// A person's bookings changed within (`since`, `upto`] of the change
/// sequence, in order.
pub async fn changed_of(
    db: &Db,
    user_id: &str,
    since: i64,
    upto: i64,
) -> Result<Vec<StoredBooking>> {
    decode(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM bookings
             WHERE (driver_id = $1 OR passenger_id = $1) AND change_seq > $2 AND change_seq <= $3
             ORDER BY change_seq"
        )))
        .bind(user_id)
        .bind(since)
        .bind(upto)
        .fetch_all(&db.pool)
        .await?,
    )
}

/// Whose live bookings to read.
#[derive(Debug, Clone, Copy)]
pub enum Of<'a> {
    Offer(&'a str),
    Need(&'a str),
}

/// The live bookings of an offer or a need, by id: transactions that
/// change several bookings lock them in one order, so that a trip withdrawn
/// and a need closed at the same time wait for each other instead of
/// deadlocking (PostgreSQL).
pub async fn live_of(tx: &mut Tx, of: Of<'_>) -> Result<Vec<StoredBooking>> {
    let (column, id) = match of {
        Of::Offer(id) => ("offer_id", id),
        Of::Need(id) => ("need_id", id),
    };
    decode(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM bookings WHERE {column} = $1 AND status IN {} ORDER BY id",
            *LIVE
        )))
        .bind(id)
        .fetch_all(&mut **tx)
        .await?,
    )
}

/// Every booking of a need, oldest first.
pub async fn of_need<'e, E>(executor: E, need_id: &str) -> Result<Vec<StoredBooking>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    decode(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM bookings WHERE need_id = $1 ORDER BY created_at"
        )))
        .bind(need_id)
        .fetch_all(executor)
        .await?,
    )
}

/// A need's bookings in `status`, by id (as [`live_of`]).
pub async fn of_need_in(
    tx: &mut Tx,
    need_id: &str,
    status: BookingStatus,
) -> Result<Vec<StoredBooking>> {
    decode(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM bookings WHERE need_id = $1 AND status = $2 ORDER BY id"
        )))
        .bind(need_id)
        .bind(status.code())
        .fetch_all(&mut **tx)
        .await?,
    )
}

/// How many of a need's bookings had a driver's yes.
pub async fn count_holding(tx: &mut Tx, need_id: &str) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM bookings WHERE need_id = $1 AND status IN {}",
        *HOLDING
    )))
    .bind(need_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(n)
}

/// Whether any booking of a need is still live.
pub async fn any_live(tx: &mut Tx, need_id: &str) -> Result<bool, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM bookings WHERE need_id = $1 AND status IN {}",
        *LIVE
    )))
    .bind(need_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(n > 0)
}

/// Whether this passenger's need already has a live booking on this
/// offer and leg.
pub async fn already_asked(
    tx: &mut Tx,
    need_id: &str,
    offer_id: &str,
    need_leg: Leg,
) -> Result<bool, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM bookings WHERE need_id = $1 AND offer_id = $2 AND need_leg = $3 AND status IN {}",
        *LIVE
    )))
    .bind(need_id)
    .bind(offer_id)
    .bind(need_leg.code())
    .fetch_one(&mut **tx)
    .await?;
    Ok(n > 0)
}

/// Validated-by-nobody bookings whose completion is older than `deadline`.
pub async fn completed_before(db: &Db, deadline: i64, limit: i64) -> Result<Vec<StoredBooking>> {
    decode(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM bookings WHERE status = $1 AND completed_at < $2 LIMIT $3"
        )))
        .bind(BookingStatus::CompletedPendingValidation.code())
        .bind(deadline)
        .bind(limit)
        .fetch_all(&db.pool)
        .await?,
    )
}

/// Live regular bookings, with the last date each one covers.
pub async fn live_regular(db: &Db) -> Result<Vec<(StoredBooking, Option<NaiveDate>)>> {
    let records: Vec<Record> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM bookings WHERE recurring = 1 AND status IN {}",
        *LIVE
    )))
    .fetch_all(&db.pool)
    .await?;
    let mut out = Vec::with_capacity(records.len());
    for booking in decode(records)? {
        let last: Option<(String,)> =
            sqlx::query_as("SELECT MAX(date) FROM booking_dates WHERE booking_id = $1")
                .bind(&booking.id)
                .fetch_optional(&db.pool)
                .await?;
        let last = last.and_then(|(d,)| day("date", &d).ok());
        out.push((booking, last));
    }
    Ok(out)
}

/// What a new booking is made of.
pub struct NewBooking<'a> {
    pub offer_id: &'a str,
    pub need_id: &'a str,
    pub driver_id: &'a str,
    pub passenger_id: &'a str,
    pub booked_by: &'a str,
    pub beneficiary_id: Option<&'a str>,
    pub territory_id: Option<&'a str>,
    pub weekdays: Option<Weekdays>,
    pub dates: &'a [NaiveDate],
    pub leg: Leg,
    pub need_leg: Leg,
    pub seats: i64,
    pub pickup: &'a MatchStop,
    pub dropoff: &'a MatchStop,
    pub detour_minutes: f64,
}

/// Stores a request for a seat (waiting for the driver) with its dates.
pub async fn insert(tx: &mut Tx, new: NewBooking<'_>) -> Result<StoredBooking> {
    let id = new_id();
    let now = now_ms();
    let change_seq = next_change(tx).await?;
    let first = new
        .dates
        .first()
        .ok_or_else(|| anyhow::anyhow!("a booking without a date"))?;
    sqlx::query(
        "INSERT INTO bookings (id, offer_id, need_id, driver_id, passenger_id, territory_id, recurring, weekdays,
                               first_date, leg, need_leg, seats, status, pickup, dropoff, detour_minutes, status_by,
                               created_at, updated_at, change_seq, booked_by, beneficiary_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $19, $17, $17, $18, $19, $20)",
    )
    .bind(&id)
    .bind(new.offer_id)
    .bind(new.need_id)
    .bind(new.driver_id)
    .bind(new.passenger_id)
    .bind(new.territory_id)
    .bind(i64::from(new.weekdays.is_some()))
    .bind(new.weekdays.map(|w| i64::from(w.bits())))
    .bind(first.to_string())
    .bind(new.leg.code())
    .bind(new.need_leg.code())
    .bind(new.seats)
    .bind(BookingStatus::WaitingDriverConfirmation.code())
    .bind(to_json(new.pickup))
    .bind(to_json(new.dropoff))
    .bind(new.detour_minutes)
    .bind(now)
    .bind(change_seq)
    .bind(new.booked_by)
    .bind(new.beneficiary_id)
    .execute(&mut **tx)
    .await
    .map_err(|err| {
        // One live booking per need, offer, leg and date (a unique index):
        // a parallel twin of this request won.
        if crate::db::is_unique_violation(&err) {
            Error::conflict(
                "already_booked",
                "Vous avez déjà demandé une place sur ce trajet : voyez vos réservations.",
            )
        } else {
            err.into()
        }
    })?;
    for date in new.dates {
        add_date(tx, &id, *date).await?;
    }
    get(&mut **tx, &id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("booking {id} vanished").into())
}

/// Adds a date to a booking (a regular one, extended); nothing if it has it.
pub async fn add_date(tx: &mut Tx, booking_id: &str, date: NaiveDate) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO booking_dates (booking_id, date, status, holds_seat) VALUES ($1, $2, 'active', 0)
         ON CONFLICT (booking_id, date) DO NOTHING",
    )
    .bind(booking_id)
    .bind(date.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Compare-and-set: the status changes only if nobody changed it meanwhile.
pub async fn set_status(
    tx: &mut Tx,
    booking: &StoredBooking,
    next: BookingStatus,
    by: &str,
    reason: Option<&str>,
) -> Result<()> {
    let now = now_ms();
    let completing = next == BookingStatus::CompletedPendingValidation;
    let answering = answers(booking, next, by);
    let confirming = next == BookingStatus::Confirmed;
    let change_seq = next_change(tx).await?;
    let changed = sqlx::query(
        "UPDATE bookings SET status = $3, status_by = $4, reason = COALESCE($5, reason), updated_at = $6, change_seq = $7,
                completed_by = CASE WHEN $8 = 1 THEN $4 ELSE completed_by END,
                completed_at = CASE WHEN $8 = 1 THEN $6 ELSE completed_at END,
                answered_at = CASE WHEN $9 = 1 AND answered_at IS NULL THEN $6 ELSE answered_at END,
                confirmed_at = CASE WHEN $10 = 1 AND confirmed_at IS NULL THEN $6 ELSE confirmed_at END
         WHERE id = $1 AND status = $2",
    )
    .bind(&booking.id)
    .bind(booking.status.code())
    .bind(next.code())
    .bind(by)
    .bind(reason)
    .bind(now)
    .bind(change_seq)
    .bind(i64::from(completing))
    .bind(i64::from(answering))
    .bind(i64::from(confirming))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(Error::conflict(
            "status_changed",
            "Cette réservation vient de changer : rechargez-la.",
        ));
    }
    Ok(())
}

/// Whether moving `booking` to `next`, by `by`, is the answer of the one
/// who was asked (the driver to a passenger's request, the passenger to a
/// driver's proposal): a confirmation, or a refusal by them. The asker
/// withdrawing is not an answer.
fn answers(booking: &StoredBooking, next: BookingStatus, by: &str) -> bool {
    let asked_driver = match booking.status {
        BookingStatus::WaitingDriverConfirmation | BookingStatus::WaitingConfirmation => true,
        BookingStatus::WaitingPassengerConfirmation => false,
        _ => return false,
    };
    match next {
        BookingStatus::Confirmed => true,
        BookingStatus::Cancelled => (by == booking.driver_id) == asked_driver,
        _ => false,
    }
}

/// Marks a booking changed (one of its dates), for those who follow it.
pub async fn touch(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    let change_seq = next_change(tx).await?;
    sqlx::query("UPDATE bookings SET updated_at = $2, change_seq = $3 WHERE id = $1")
        .bind(id)
        .bind(now_ms())
        .bind(change_seq)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A booking's dates, in order.
pub async fn dates_of(tx: &mut Tx, booking_id: &str) -> Result<Vec<BookingDate>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT date, status FROM booking_dates WHERE booking_id = $1 ORDER BY date",
    )
    .bind(booking_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter()
        .map(|(date, status)| {
            Ok(BookingDate {
                date: day("date", &date)?,
                status,
            })
        })
        .collect()
}

/// The status of one date of a booking (`active`, `cancelled`), if it has it.
pub async fn date_status(
    tx: &mut Tx,
    booking_id: &str,
    date: NaiveDate,
) -> Result<Option<String>, sqlx::Error> {
    Ok(sqlx::query_as::<_, (String,)>(
        "SELECT status FROM booking_dates WHERE booking_id = $1 AND date = $2",
    )
    .bind(booking_id)
    .bind(date.to_string())
    .fetch_optional(&mut **tx)
    .await?
    .map(|(s,)| s))
}

pub async fn cancel_date_row(
    tx: &mut Tx,
    booking_id: &str,
    date: NaiveDate,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE booking_dates SET status = 'cancelled' WHERE booking_id = $1 AND date = $2",
    )
    .bind(booking_id)
    .bind(date.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Contact reveals and check-ins
// ---------------------------------------------------------------------------

/// Records that `viewer` was shown `fields` of `subject`'s contact.
pub async fn record_reveal(
    tx: &mut Tx,
    booking_id: &str,
    viewer: &str,
    subject: &str,
    fields: &[&str],
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO contact_reveals (id, booking_id, viewer_id, subject_id, fields, at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(new_id())
        .bind(booking_id)
        .bind(viewer)
        .bind(subject)
        .bind(fields.join(","))
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A contact reveal as stored.
#[derive(Debug, Clone, FromRow)]
pub struct RevealRecord {
    pub booking_id: String,
    pub viewer_id: String,
    pub subject_id: String,
    pub fields: String,
    pub at: i64,
}

/// Reveals of a person's details (`as_viewer` false) or to them (true),
/// newest first.
pub async fn reveals(
    db: &Db,
    user_id: &str,
    as_viewer: bool,
    limit: i64,
) -> Result<Vec<RevealRecord>, sqlx::Error> {
    let sql = if as_viewer {
        "SELECT booking_id, viewer_id, subject_id, fields, at FROM contact_reveals WHERE viewer_id = $1 ORDER BY at DESC LIMIT $2"
    } else {
        "SELECT booking_id, viewer_id, subject_id, fields, at FROM contact_reveals WHERE subject_id = $1 ORDER BY at DESC LIMIT $2"
    };
    sqlx::query_as(sql)
        .bind(user_id)
        .bind(limit)
        .fetch_all(&db.pool)
        .await
}

/// Records a check-in; false when this side already checked in.
pub async fn record_checkin(
    tx: &mut Tx,
    booking_id: &str,
    side: &str,
    user_id: &str,
    lat: f64,
    lon: f64,
    at: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO booking_checkins (booking_id, side, user_id, lat, lon, at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (booking_id, side) DO NOTHING",
    )
    .bind(booking_id)
    .bind(side)
    .bind(user_id)
    .bind(lat)
    .bind(lon)
    .bind(at)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        > 0)
}

/// A person's check-ins, for the export of their data.
pub async fn checkins_of(db: &Db, user_id: &str) -> Result<Vec<serde_json::Value>, sqlx::Error> {
    let rows: Vec<(String, String, f64, f64, i64)> = sqlx::query_as(
        "SELECT booking_id, side, lat, lon, at FROM booking_checkins WHERE user_id = $1 ORDER BY at",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(booking_id, side, lat, lon, at)| {
            serde_json::json!({
                "booking_id": booking_id, "side": side, "lat": lat, "lon": lon,
                "at": crate::db::from_ms(at),
            })
        })
        .collect())
}

/// Erasing an account: its check-ins go, and the reasons it wrote on
/// bookings.
pub async fn erase_user(tx: &mut Tx, user_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM booking_checkins WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE bookings SET reason = NULL WHERE status_by = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
