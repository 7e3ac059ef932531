-- A person registered by a relay and told by SMS gets the SMS of their
-- bookings' notifications (sent to the relay's inbox) at this number.
ALTER TABLE deliveries ADD COLUMN to_phone TEXT;
