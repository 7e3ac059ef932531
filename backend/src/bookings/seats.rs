//! Seats: held per offer, leg and date in `seat_ledger` (its one writer),
//! added to only while they stay within the offer's seats, whatever the
//! concurrency (a conditional update; on PostgreSQL the row lock
//! serialises confirmations, on SQLite writers are serialised).

use std::collections::HashMap;

use chrono::NaiveDate;
use lotocar_shared::api::{Leg, Match};
use lotocar_shared::time::french_date;

use super::store::StoredBooking;
use crate::db::{Db, Tx, day, placeholders};
use crate::error::{Error, Result};
use crate::matching::Candidate;

/// Holds a seat on every active date from `today` on; refuses (409) if
/// one is full.
pub async fn hold(tx: &mut Tx, booking: &StoredBooking, today: NaiveDate) -> Result<()> {
    let capacity = crate::offers::get(&mut **tx, &booking.offer_id)
        .await?
        .ok_or_else(|| Error::conflict("offer_closed", "Ce trajet a été supprimé."))?
        .seats;
    let dates: Vec<(String,)> = sqlx::query_as(
        "SELECT date FROM booking_dates WHERE booking_id = $1 AND status = 'active' AND holds_seat = 0 AND date >= $2 ORDER BY date",
    )
    .bind(&booking.id)
    .bind(today.to_string())
    .fetch_all(&mut **tx)
    .await?;
    if dates.is_empty() {
        return Err(Error::conflict(
            "no_date_left",
            "Toutes les dates de cette réservation sont passées ou annulées.",
        ));
    }
    for (date,) in dates {
        sqlx::query(
            "INSERT INTO seat_ledger (offer_id, date, leg, taken) VALUES ($1, $2, $3, 0)
             ON CONFLICT (offer_id, date, leg) DO NOTHING",
        )
        .bind(&booking.offer_id)
        .bind(&date)
        .bind(booking.leg.code())
        .execute(&mut **tx)
        .await?;
        let held = sqlx::query(
            "UPDATE seat_ledger SET taken = taken + $4
             WHERE offer_id = $1 AND date = $2 AND leg = $3 AND taken + $4 <= $5",
        )
        .bind(&booking.offer_id)
        .bind(&date)
        .bind(booking.leg.code())
        .bind(booking.seats)
        .bind(capacity)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if held == 0 {
            return Err(Error::conflict(
                "no_seat",
                format!(
                    "Plus de place libre le {} : le trajet est complet.",
                    french_date(day("date", &date)?)
                ),
            ));
        }
        sqlx::query("UPDATE booking_dates SET holds_seat = 1 WHERE booking_id = $1 AND date = $2")
            .bind(&booking.id)
            .bind(&date)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Gives back the seats held (on one date, or all).
pub async fn release(
    tx: &mut Tx,
    booking: &StoredBooking,
    only: Option<NaiveDate>,
) -> Result<(), sqlx::Error> {
    let held: Vec<(String,)> = sqlx::query_as(
        // By date, the order in which `hold` locks the ledger's rows.
        "SELECT date FROM booking_dates WHERE booking_id = $1 AND holds_seat = 1 ORDER BY date",
    )
    .bind(&booking.id)
    .fetch_all(&mut **tx)
    .await?;
    for (date,) in held {
        if only.is_some_and(|d| d.to_string() != date) {
            continue;
        }
        let given = sqlx::query(
            "UPDATE seat_ledger SET taken = taken - $4 WHERE offer_id = $1 AND date = $2 AND leg = $3 AND taken >= $4",
        )
        .bind(&booking.offer_id)
        .bind(&date)
        .bind(booking.leg.code())
        .bind(booking.seats)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        // The date is given back once: a whole cancellation and one of its
        // dates at the same time (PostgreSQL) both read it as held; the
        // second to take the ledger's row finds it given back already,
        // and undoes its own count.
        let claimed = sqlx::query(
            "UPDATE booking_dates SET holds_seat = 0 WHERE booking_id = $1 AND date = $2 AND holds_seat = 1",
        )
        .bind(&booking.id)
        .bind(&date)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if given == 1 && claimed == 0 {
            sqlx::query(
                "UPDATE seat_ledger SET taken = taken + $4 WHERE offer_id = $1 AND date = $2 AND leg = $3",
            )
            .bind(&booking.offer_id)
            .bind(&date)
            .bind(booking.leg.code())
            .bind(booking.seats)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// The most seats held on any date of an offer from `from` on, on either
/// leg (an offer cannot shrink below it).
pub async fn most_held(tx: &mut Tx, offer_id: &str, from: NaiveDate) -> Result<i64, sqlx::Error> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COALESCE(MAX(taken), 0) FROM seat_ledger WHERE offer_id = $1 AND date >= $2",
    )
    .bind(offer_id)
    .bind(from.to_string())
    .fetch_one(&mut **tx)
    .await?;
    Ok(n)
}

/// Seats taken on an offer's leg on each of `dates`, in one query.
pub async fn taken(
    db: &Db,
    offer_id: &str,
    leg: Leg,
    dates: &[NaiveDate],
) -> Result<HashMap<NaiveDate, i64>> {
    let mut taken = HashMap::new();
    for chunk in dates.chunks(400) {
        let sql = format!(
            "SELECT date, taken FROM seat_ledger WHERE offer_id = $1 AND leg = $2 AND date IN ({})",
            placeholders(3, chunk.len())
        );
        let mut query = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql))
            .bind(offer_id)
            .bind(leg.code());
        for date in chunk {
            query = query.bind(date.to_string());
        }
        for (date, n) in query.fetch_all(&db.pool).await? {
            taken.insert(day("date", &date)?, n);
        }
    }
    Ok(taken)
}

/// The matches that still have a seat for their need on their date, with
/// the seats left (confirmed bookings hold seats): one query for all of
/// them (up to 400 trips; more in batches of 400).
pub async fn with_free_seats(db: &Db, candidates: Vec<Candidate>) -> Result<Vec<Match>> {
    let mut offers: Vec<&str> = candidates
        .iter()
        .map(|c| c.found.offer_id.as_str())
        .collect();
    offers.sort_unstable();
    offers.dedup();
    let (Some(first), Some(last)) = (
        candidates.iter().map(|c| c.found.date).min(),
        candidates.iter().map(|c| c.found.date).max(),
    ) else {
        return Ok(Vec::new());
    };
    let mut taken: HashMap<(String, String, NaiveDate), i64> = HashMap::new();
    for chunk in offers.chunks(400) {
        let sql = format!(
            "SELECT offer_id, leg, date, taken FROM seat_ledger
             WHERE date >= $1 AND date <= $2 AND taken > 0 AND offer_id IN ({})",
            placeholders(3, chunk.len())
        );
        let mut query =
            sqlx::query_as::<_, (String, String, String, i64)>(sqlx::AssertSqlSafe(sql))
                .bind(first.to_string())
                .bind(last.to_string());
        for id in chunk {
            query = query.bind(*id);
        }
        for (offer_id, leg, date, n) in query.fetch_all(&db.pool).await? {
            taken.insert((offer_id, leg, day("date", &date)?), n);
        }
    }
    Ok(candidates
        .into_iter()
        .filter_map(|c| {
            let mut found = c.found;
            let held = taken
                .get(&(
                    found.offer_id.clone(),
                    found.leg.code().to_string(),
                    found.date,
                ))
                .copied()
                .unwrap_or(0);
            found.seats_left = c.seats_offered - held;
            (found.seats_left >= c.seats_needed).then_some(found)
        })
        .collect())
}
