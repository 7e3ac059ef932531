-- Bookings, their seats, contact reveals; notification delivery (the
-- transactional outbox) and push subscriptions.

CREATE TABLE bookings (
    id             TEXT PRIMARY KEY,
    offer_id       TEXT NOT NULL REFERENCES offers(id),
    need_id        TEXT NOT NULL REFERENCES needs(id),
    driver_id      TEXT NOT NULL REFERENCES users(id),
    passenger_id   TEXT NOT NULL REFERENCES users(id),
    recurring      BIGINT NOT NULL DEFAULT 0,
    weekdays       BIGINT,          -- a regular booking's days (bit 0: Monday)
    first_date     TEXT NOT NULL,
    leg            TEXT NOT NULL,   -- the driver's leg: outbound | return
    need_leg       TEXT NOT NULL,
    seats          BIGINT NOT NULL,
    status         TEXT NOT NULL,
    pickup         TEXT NOT NULL,   -- JSON MatchStop
    dropoff        TEXT NOT NULL,   -- JSON MatchStop
    detour_minutes REAL NOT NULL,
    reason         TEXT,
    status_by      TEXT,            -- who made the last change
    completed_by   TEXT,
    completed_at   BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    change_seq     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX bookings_driver ON bookings (driver_id, status);
CREATE INDEX bookings_passenger ON bookings (passenger_id, status);
CREATE INDEX bookings_offer ON bookings (offer_id, status);
CREATE INDEX bookings_change ON bookings (change_seq);

-- The dates a booking covers: one for a one-off trip, every shared weekday
-- of the coming weeks for a regular one; each can be cancelled alone.
CREATE TABLE booking_dates (
    booking_id TEXT NOT NULL REFERENCES bookings(id) ON DELETE CASCADE,
    date       TEXT NOT NULL,
    status     TEXT NOT NULL,        -- active | cancelled
    holds_seat BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (booking_id, date)
);

-- Seats taken on one leg of one trip on one date. Confirmation adds to it
-- only while it stays within the trip's seats (a conditional UPDATE), which
-- makes overbooking impossible whatever the concurrency.
CREATE TABLE seat_ledger (
    offer_id TEXT NOT NULL,
    date     TEXT NOT NULL,
    leg      TEXT NOT NULL,
    taken    BIGINT NOT NULL,
    PRIMARY KEY (offer_id, date, leg)
);

-- Who saw whose phone or e-mail, and when.
CREATE TABLE contact_reveals (
    id         TEXT PRIMARY KEY,
    booking_id TEXT NOT NULL,
    viewer_id  TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    fields     TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX contact_reveals_subject ON contact_reveals (subject_id, at);

CREATE TABLE push_subscriptions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    endpoint   TEXT NOT NULL UNIQUE,
    p256dh     TEXT NOT NULL,
    auth       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id);

-- Notifications due later (a reminder the evening before) and urgent ones
-- (same-day trips, not held back by quiet hours).
ALTER TABLE notifications ADD COLUMN deliver_after BIGINT NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN urgent BIGINT NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX notifications_change ON notifications (change_seq);
CREATE INDEX notifications_due ON notifications (deliver_after);

-- The outbox: one row per notification and channel, written in the same
-- transaction as the notification. Dispatchers claim rows with a lease,
-- deliver, retry with backoff, and give up ("dead") after a number of tries.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    notification_id TEXT NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL,
    channel         TEXT NOT NULL,   -- push | sms | email
    status          TEXT NOT NULL,   -- pending | sent | skipped | dead
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
