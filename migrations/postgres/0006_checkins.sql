-- Check-ins: a driver or passenger says "I am at the meeting point", with
-- the position and time of their device. Both sides checked in make the
-- trip a class C proof for the national registry, one side class B.
CREATE TABLE booking_checkins (
    booking_id TEXT NOT NULL REFERENCES bookings(id),
    side       TEXT NOT NULL,   -- driver | passenger
    user_id    TEXT NOT NULL,
    lat        DOUBLE PRECISION NOT NULL,
    lon        DOUBLE PRECISION NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (booking_id, side)
);
