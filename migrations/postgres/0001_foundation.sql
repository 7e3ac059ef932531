-- Foundation: territories and their places, people and sign-in, trips and needs.
-- Instants are BIGINT milliseconds since the Unix epoch (UTC); local dates
-- are TEXT 'YYYY-MM-DD'; flags are BIGINT 0/1 (one SQL text for SQLite and
-- PostgreSQL through sqlx's Any driver).

CREATE TABLE territories (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    brand        TEXT NOT NULL,
    departements TEXT NOT NULL,  -- space-separated département codes
    timezone     TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE meeting_points (
    id              TEXT PRIMARY KEY,
    territory_id    TEXT NOT NULL REFERENCES territories(id),
    name            TEXT NOT NULL,
    insee           TEXT,
    lat             DOUBLE PRECISION NOT NULL,
    lon             DOUBLE PRECISION NOT NULL,
    search_key      TEXT NOT NULL,  -- key of the name
    search_key_full TEXT NOT NULL,  -- key of "<commune> <name>"
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX meeting_points_key ON meeting_points (search_key);
CREATE INDEX meeting_points_key_full ON meeting_points (search_key_full);
CREATE UNIQUE INDEX meeting_points_name ON meeting_points (territory_id, search_key_full);

CREATE TABLE place_aliases (
    id           TEXT PRIMARY KEY,
    territory_id TEXT NOT NULL REFERENCES territories(id),
    alias        TEXT NOT NULL,
    search_key   TEXT NOT NULL,
    place_id     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (territory_id, search_key)
);
CREATE INDEX place_aliases_key ON place_aliases (search_key);

CREATE TABLE users (
    id                TEXT PRIMARY KEY,
    display_name      TEXT NOT NULL,
    phone             TEXT UNIQUE,
    email             TEXT UNIQUE,
    preferred_channel TEXT NOT NULL,
    share_phone       BIGINT NOT NULL DEFAULT 0,
    share_email       BIGINT NOT NULL DEFAULT 0,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    last_seen_at      BIGINT NOT NULL
);

CREATE TABLE user_roles (
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role         TEXT NOT NULL,
    territory_id TEXT NOT NULL REFERENCES territories(id),
    granted_at   BIGINT NOT NULL,
    PRIMARY KEY (user_id, role, territory_id)
);

CREATE TABLE sign_in_codes (
    contact    TEXT PRIMARY KEY,
    code_hash  TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE rate_limit_hits (
    bucket TEXT NOT NULL,
    at     BIGINT NOT NULL
);
CREATE INDEX rate_limit_hits_bucket ON rate_limit_hits (bucket, at);

CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE server_secrets (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE offers (
    id                 TEXT PRIMARY KEY,
    owner_id           TEXT NOT NULL REFERENCES users(id),
    territory_id       TEXT REFERENCES territories(id),
    origin_place_id    TEXT,
    origin_label       TEXT NOT NULL,
    origin_insee       TEXT,
    origin_lat         DOUBLE PRECISION NOT NULL,
    origin_lon         DOUBLE PRECISION NOT NULL,
    dest_place_id      TEXT,
    dest_label         TEXT NOT NULL,
    dest_insee         TEXT,
    dest_lat           DOUBLE PRECISION NOT NULL,
    dest_lon           DOUBLE PRECISION NOT NULL,
    schedule           TEXT NOT NULL,  -- JSON, the API's schedule object
    first_date         TEXT NOT NULL,
    last_date          TEXT,           -- NULL: no end
    seats              BIGINT NOT NULL,
    max_detour_minutes BIGINT NOT NULL,
    paused             BIGINT NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    deleted_at         BIGINT          -- tombstone, so other devices learn of the deletion
);
CREATE INDEX offers_owner ON offers (owner_id, deleted_at);
CREATE INDEX offers_active ON offers (deleted_at, paused, last_date);

CREATE TABLE needs (
    id              TEXT PRIMARY KEY,
    owner_id        TEXT NOT NULL REFERENCES users(id),
    on_behalf_of    TEXT,
    territory_id    TEXT REFERENCES territories(id),
    origin_place_id TEXT,
    origin_label    TEXT NOT NULL,
    origin_insee    TEXT,
    origin_lat      DOUBLE PRECISION NOT NULL,
    origin_lon      DOUBLE PRECISION NOT NULL,
    dest_place_id   TEXT,
    dest_label      TEXT NOT NULL,
    dest_insee      TEXT,
    dest_lat        DOUBLE PRECISION NOT NULL,
    dest_lon        DOUBLE PRECISION NOT NULL,
    schedule        TEXT NOT NULL,
    first_date      TEXT NOT NULL,
    last_date       TEXT,
    seats           BIGINT NOT NULL,
    purpose         TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX needs_owner ON needs (owner_id);
CREATE INDEX needs_open ON needs (status, last_date);

-- A retried POST with the same Idempotency-Key returns the first response
-- and creates nothing new. The record commits with what the POST created.
CREATE TABLE idempotency_keys (
    user_id     TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      BIGINT NOT NULL,
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
