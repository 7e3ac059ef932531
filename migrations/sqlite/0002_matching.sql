-- Matching: a change sequence that orders every write to trips and needs
-- (instances keep their in-memory index up to date by reading what changed
-- since the last sequence they saw), and notifications for passengers.

-- One row per counter. Writers take the row lock for the rest of their
-- transaction, so sequence numbers commit in order: a reader who sees
-- number N has also seen every number below it.
CREATE TABLE change_counter (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO change_counter (name, value) VALUES ('global', 0);

ALTER TABLE offers ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE needs ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX offers_change ON offers (change_seq);
CREATE INDEX needs_change ON needs (change_seq);

-- What a person is told: the inbox, and the source of every delivery.
-- dedupe_key makes "the same news" one row (a driver announced once per need).
CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    url        TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at    BIGINT,
    UNIQUE (user_id, dedupe_key)
);
CREATE INDEX notifications_user ON notifications (user_id, created_at);
