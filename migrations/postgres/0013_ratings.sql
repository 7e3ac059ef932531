-- Feedback after a trip (docs/ratings.md): each side of a booking whose
-- trip took place may grade the other from 1 to 5 with a short comment,
-- once, editable for 7 days. A relay records the feedback of the person
-- she helps. A coordinator may hide one, with a reason (the audit log
-- keeps it). Written only by `ratings`.
CREATE TABLE ratings (
    id            TEXT PRIMARY KEY,
    booking_id    TEXT NOT NULL REFERENCES bookings(id),
    territory_id  TEXT,
    -- Who wrote it: `driver` or `passenger` (the passenger's side: the
    -- passenger, or the relay for the person she helps).
    side          TEXT NOT NULL,
    rater_id      TEXT NOT NULL,
    -- The person a relay recorded the feedback of.
    rater_person  TEXT,
    -- The account graded (NULL when it is a person a relay helps, who has
    -- no account: then `rated_person`).
    rated_id      TEXT,
    rated_person  TEXT,
    grade         BIGINT NOT NULL,
    comment       TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    hidden_at     BIGINT,
    hidden_by     TEXT,
    hidden_reason TEXT,
    UNIQUE (booking_id, side)
);
CREATE INDEX ratings_rated ON ratings (rated_id);
CREATE INDEX ratings_territory ON ratings (territory_id, created_at);
