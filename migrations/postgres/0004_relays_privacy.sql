-- Relays and the people they register, outcomes of needs, the audit log of
-- relay actions, and erased accounts.

CREATE TABLE beneficiaries (
    id             TEXT PRIMARY KEY,
    territory_id   TEXT NOT NULL REFERENCES territories(id),
    display_name   TEXT NOT NULL,
    phone          TEXT,
    commune_insee  TEXT NOT NULL,
    commune_label  TEXT NOT NULL,
    reach_by       TEXT NOT NULL,     -- sms | relay_call
    consent_by     TEXT NOT NULL,     -- the relay who recorded the consent
    consent_at     BIGINT NOT NULL,
    consent_method TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    last_active_at BIGINT NOT NULL,
    erased_at      BIGINT             -- personal data removed; the row stays for figures
);
CREATE INDEX beneficiaries_territory ON beneficiaries (territory_id, erased_at);

-- What became of a need; never deleted.
ALTER TABLE needs ADD COLUMN outcome TEXT;
ALTER TABLE needs ADD COLUMN outcome_reason TEXT;
ALTER TABLE needs ADD COLUMN outcome_by TEXT;
ALTER TABLE needs ADD COLUMN outcome_at BIGINT;
CREATE INDEX needs_territory ON needs (territory_id, created_at);

-- Who did what for whom: relay actions and erasures, for the coordinator.
CREATE TABLE audit_log (
    id           TEXT PRIMARY KEY,
    territory_id TEXT,
    actor_id     TEXT NOT NULL,
    action       TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    detail       TEXT NOT NULL,
    at           BIGINT NOT NULL
);
CREATE INDEX audit_log_territory ON audit_log (territory_id, at);

ALTER TABLE users ADD COLUMN erased_at BIGINT;
