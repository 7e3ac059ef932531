-- New drivers on a passenger's way are told in a digest, at most once a day
-- per need, composed after the trip's transaction (not inside it).

-- A trip posted or changed, waiting to be matched against the open needs
-- (the trip's transaction writes this one row; the fan-out worker takes it
-- with a lease, as the dispatcher takes deliveries, and deletes it when
-- its news are written).
CREATE TABLE offer_events (
    id          TEXT PRIMARY KEY,
    offer_id    TEXT NOT NULL REFERENCES offers(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT
);
CREATE INDEX offer_events_due ON offer_events (created_at);

-- A driver found for a need, to be told in its next digest (told_at set
-- then). One row per need and trip: a trip changed again is not news.
CREATE TABLE driver_news (
    need_id         TEXT NOT NULL REFERENCES needs(id) ON DELETE CASCADE,
    offer_id        TEXT NOT NULL REFERENCES offers(id) ON DELETE CASCADE,
    found_at        BIGINT NOT NULL,
    -- "le mardi 8 décembre : prise en charge à 8 h 10 à Livernon"
    what            TEXT NOT NULL,
    -- The engine's ranking (lower is better): detour, deviation, walk.
    rank_detour     BIGINT NOT NULL,
    rank_deviation  BIGINT NOT NULL,
    rank_walk       BIGINT NOT NULL,
    -- The first date both travel is the need's local today.
    same_day        BIGINT NOT NULL,
    told_at         BIGINT,
    PRIMARY KEY (need_id, offer_id)
);

-- When a need's next digest is due (NULL: nothing to tell), and when the
-- last one went: the next is not due before a day after it. A digest is
-- composed holding this row's lock, and news are written before it is
-- updated: news written meanwhile are either in the digest or make the
-- next one due.
CREATE TABLE need_digests (
    need_id      TEXT PRIMARY KEY REFERENCES needs(id) ON DELETE CASCADE,
    due_at       BIGINT,
    last_sent_at BIGINT
);
CREATE INDEX need_digests_due ON need_digests (due_at);

-- What a text message says when it is shorter than the notification (a
-- digest's SMS names only the best driver).
ALTER TABLE notifications ADD COLUMN sms_body TEXT;
