-- Rate limits: one row per bucket, updated first in the transaction that
-- counts and records a request, so that two requests of one bucket are
-- counted one after the other (a row lock on PostgreSQL, the write lock on
-- SQLite): the limit holds under parallel requests.
CREATE TABLE rate_limit_buckets (
    bucket     TEXT PRIMARY KEY,
    touched_at BIGINT NOT NULL
);

-- One live booking per need, offer, leg of the need and date. Bookings
-- that parallel requests created twice are cancelled first (the oldest
-- stays; the seats they held are given back), then the index makes a
-- second one impossible.
CREATE TEMPORARY TABLE duplicate_bookings AS
SELECT b.id FROM bookings b
 WHERE b.status NOT IN ('CANCELLED', 'VALIDATED')
   AND EXISTS (SELECT 1 FROM bookings o
                WHERE o.need_id = b.need_id AND o.offer_id = b.offer_id
                  AND o.need_leg = b.need_leg AND o.first_date = b.first_date
                  AND o.status NOT IN ('CANCELLED', 'VALIDATED')
                  AND (o.created_at < b.created_at OR (o.created_at = b.created_at AND o.id < b.id)));
UPDATE seat_ledger SET taken = taken - COALESCE((
    SELECT SUM(b.seats) FROM bookings b JOIN booking_dates d ON d.booking_id = b.id
     WHERE b.id IN (SELECT id FROM duplicate_bookings) AND d.holds_seat = 1
       AND b.offer_id = seat_ledger.offer_id AND b.leg = seat_ledger.leg AND d.date = seat_ledger.date), 0);
UPDATE booking_dates SET holds_seat = 0 WHERE booking_id IN (SELECT id FROM duplicate_bookings);
UPDATE bookings SET status = 'CANCELLED', reason = 'demande en double'
 WHERE id IN (SELECT id FROM duplicate_bookings);
DROP TABLE duplicate_bookings;
CREATE UNIQUE INDEX bookings_one_live ON bookings (need_id, offer_id, need_leg, first_date)
 WHERE status NOT IN ('CANCELLED', 'VALIDATED');
