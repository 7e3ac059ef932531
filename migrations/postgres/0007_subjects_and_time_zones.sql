-- Notifications name what they are about (a booking, a need, an offer)
-- and the person a relay acts for, instead of a link to parse; the time
-- zone of their territory decides their quiet hours. A booking carries
-- its territory, whose time zone sets its reminders.
ALTER TABLE notifications ADD COLUMN subject_kind TEXT;
ALTER TABLE notifications ADD COLUMN subject_id TEXT;
ALTER TABLE notifications ADD COLUMN on_behalf_of TEXT;
ALTER TABLE notifications ADD COLUMN timezone TEXT;
UPDATE notifications SET subject_kind = 'booking', subject_id = substr(url, 11) WHERE url LIKE '/bookings/%';
UPDATE notifications SET subject_kind = 'need', subject_id = substr(url, 11) WHERE url LIKE '/requests/%';
UPDATE notifications SET subject_kind = 'offer', subject_id = substr(url, 9) WHERE url LIKE '/offers/%';
UPDATE notifications SET on_behalf_of = (
    SELECT n.on_behalf_of FROM bookings b JOIN needs n ON n.id = b.need_id
    WHERE b.id = notifications.subject_id)
  WHERE subject_kind = 'booking';
CREATE INDEX notifications_subject ON notifications (subject_kind, subject_id);
CREATE INDEX notifications_behalf ON notifications (on_behalf_of);

ALTER TABLE bookings ADD COLUMN territory_id TEXT;
UPDATE bookings SET territory_id = COALESCE(
    (SELECT territory_id FROM needs WHERE needs.id = bookings.need_id),
    (SELECT territory_id FROM offers WHERE offers.id = bookings.offer_id));
