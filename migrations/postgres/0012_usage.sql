-- Usage figures for the team (docs/usage.md): how each person came, when a
-- need first had a driver to propose, and when a request was answered.
-- Rows written before this migration keep NULL: not known, never guessed.

-- app | web (the web shell); people a relay registers are beneficiaries.
ALTER TABLE users ADD COLUMN joined_via TEXT;
-- When a driver who can take the passenger was first found (at posting,
-- or when the trip was posted later).
ALTER TABLE needs ADD COLUMN first_candidate_at BIGINT;
-- When the person asked answered (confirmed or declined), and when the
-- booking was confirmed.
ALTER TABLE bookings ADD COLUMN answered_at BIGINT;
ALTER TABLE bookings ADD COLUMN confirmed_at BIGINT;
