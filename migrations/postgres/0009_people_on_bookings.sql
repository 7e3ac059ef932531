-- A booking a relay makes for a person she registered: the person travels
-- (`beneficiary_id`), the relay made it (`booked_by`) and answers for the
-- passenger's side (`passenger_id`). A passenger's own booking has
-- booked_by = passenger_id and no beneficiary.
ALTER TABLE bookings ADD COLUMN booked_by TEXT REFERENCES users(id);
ALTER TABLE bookings ADD COLUMN beneficiary_id TEXT REFERENCES beneficiaries(id);
UPDATE bookings SET booked_by = passenger_id;
UPDATE bookings SET beneficiary_id = (SELECT n.on_behalf_of FROM needs n WHERE n.id = bookings.need_id);
CREATE INDEX bookings_beneficiary ON bookings (beneficiary_id);

-- Whether a registered person agrees that the driver of a confirmed trip
-- sees her phone (no answer is no: the driver gets her relay's line).
ALTER TABLE beneficiaries ADD COLUMN share_phone BIGINT NOT NULL DEFAULT 0;

-- The text sent to a person a relay acts for (her SMS), when it is not the
-- notification's (which the relay reads, naming her).
ALTER TABLE deliveries ADD COLUMN person_text TEXT;
