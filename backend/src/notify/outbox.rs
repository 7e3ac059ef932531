//! Writing a notification: in the caller's transaction (the transactional
//! outbox), with one delivery row per channel. The one writer of
//! `notifications` and `deliveries`.

use chrono_tz::Tz;
use lotocar_shared::api::Notification;
use lotocar_shared::people::Channel;
use sqlx::{FromRow, Row};

use crate::auth::accounts;
use crate::db::{Db, Tx, from_ms, new_id, next_change, now_ms};

/// What a notification tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A passenger asked the driver for a seat.
    BookingRequested,
    BookingConfirmed,
    /// The driver said no to a request.
    BookingDeclined,
    BookingCancelled,
    /// Did the trip take place?
    CompletionCheck,
    BookingValidated,
    /// The driver changed or paused a trip someone booked.
    OfferChanged,
    /// The evening before the trip.
    Reminder,
    /// A driver passes on a passenger's way.
    NewDriver,
    /// The coordination proposes a passenger to a driver.
    MatchProposed,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::BookingRequested,
        Kind::BookingConfirmed,
        Kind::BookingDeclined,
        Kind::BookingCancelled,
        Kind::CompletionCheck,
        Kind::BookingValidated,
        Kind::OfferChanged,
        Kind::Reminder,
        Kind::NewDriver,
        Kind::MatchProposed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Kind::BookingRequested => "booking_requested",
            Kind::BookingConfirmed => "booking_confirmed",
            Kind::BookingDeclined => "booking_declined",
            Kind::BookingCancelled => "booking_cancelled",
            Kind::CompletionCheck => "confirm_trip",
            Kind::BookingValidated => "trip_validated",
            Kind::OfferChanged => "trip_changed",
            Kind::Reminder => "reminder",
            Kind::NewDriver => "new_driver",
            Kind::MatchProposed => "match_proposed",
        }
    }

    pub fn from_code(code: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// What a notification is about; its link is derived from it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    Booking(String),
    Need(String),
    Offer(String),
}

impl Subject {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            Subject::Booking(id) => ("booking", id),
            Subject::Need(id) => ("need", id),
            Subject::Offer(id) => ("offer", id),
        }
    }

    /// The path that opens it in the app (and, after the public address,
    /// the link in an SMS, an e-mail or a push).
    pub fn url(&self) -> String {
        match self {
            Subject::Booking(id) => format!("/bookings/{id}"),
            Subject::Need(id) => format!("/requests/{id}"),
            Subject::Offer(id) => format!("/offers/{id}"),
        }
    }
}

/// A person a relay acts for, concerned by a notification sent to the
/// relay, and how she is reached.
#[derive(Debug, Clone, PartialEq)]
pub struct ForPerson {
    pub beneficiary_id: String,
    pub reach: PersonReach,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PersonReach {
    /// By SMS at this number: she gets the text too.
    Sms(String),
    /// By a call of her relay, who reads it in the relay's inbox.
    RelayCall,
}

/// Something to tell someone.
pub struct Notice {
    pub to: String,
    pub kind: Kind,
    pub subject: Subject,
    pub title: String,
    pub body: String,
    /// Same-day trips: delivered even in quiet hours.
    pub urgent: bool,
    /// Not before this instant (epoch ms); 0: now.
    pub deliver_after: i64,
    /// The same news is told once: a second notice with this key is dropped.
    pub dedupe_key: Option<String>,
    /// The time zone of the territory concerned: quiet hours are local.
    pub tz: Tz,
    /// The person the recipient (a relay) acts for, if any.
    pub for_person: Option<ForPerson>,
    /// What that person herself is told (her SMS: "vous", without the
    /// link to the relay's app), when `body` is the relay's text about her.
    pub person_text: Option<String>,
    /// What a text message to the recipient says, when shorter than
    /// `body` (a digest's SMS names only the best driver).
    pub sms_body: Option<String>,
}

/// Writes the notification and its deliveries in `tx`. Channels: Web Push
/// always (skipped at sending time if the person has no subscription),
/// plus SMS or e-mail when that is how the person prefers to be told, or
/// when they cannot receive push; for a person a relay acts for, an SMS to
/// her phone, or the relay's inbox. Returns the notification's id, or
/// `None` when the same news was already told.
pub async fn post(tx: &mut Tx, notice: Notice) -> Result<Option<String>, sqlx::Error> {
    let id = new_id();
    let now = now_ms();
    let dedupe = notice.dedupe_key.clone().unwrap_or_else(|| id.clone());
    let (subject_kind, subject_id) = notice.subject.parts();
    let change_seq = next_change(tx).await?;
    let inserted = sqlx::query(
        "INSERT INTO notifications (id, user_id, kind, title, body, url, dedupe_key, created_at, deliver_after,
                                    urgent, change_seq, subject_kind, subject_id, on_behalf_of, timezone, sms_body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         ON CONFLICT (user_id, dedupe_key) DO NOTHING",
    )
    .bind(&id)
    .bind(&notice.to)
    .bind(notice.kind.code())
    .bind(&notice.title)
    .bind(&notice.body)
    .bind(notice.subject.url())
    .bind(&dedupe)
    .bind(now)
    .bind(notice.deliver_after)
    .bind(i64::from(notice.urgent))
    .bind(change_seq)
    .bind(subject_kind)
    .bind(subject_id)
    .bind(notice.for_person.as_ref().map(|p| p.beneficiary_id.clone()))
    .bind(notice.tz.name())
    .bind(&notice.sms_body)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(None);
    }
    let start = notice.deliver_after.max(now);
    for (channel, to_phone) in channels_for(tx, &notice).await? {
        let person_text = to_phone.as_ref().and(notice.person_text.clone());
        sqlx::query(
            "INSERT INTO deliveries (id, notification_id, user_id, channel, status, attempts, next_attempt_at, created_at, to_phone, person_text)
             VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6, $7, $8)",
        )
        .bind(new_id())
        .bind(&id)
        .bind(&notice.to)
        .bind(channel.code())
        .bind(start)
        .bind(now)
        .bind(to_phone)
        .bind(person_text)
        .execute(&mut **tx)
        .await?;
    }
    Ok(Some(id))
}

/// The channels of a notice, each with the phone to text when it is not
/// the recipient's own.
async fn channels_for(
    tx: &mut Tx,
    notice: &Notice,
) -> Result<Vec<(Channel, Option<String>)>, sqlx::Error> {
    let mut channels = vec![(Channel::Push, None)];
    if let Some(reach) = accounts::reach(&mut **tx, &notice.to).await? {
        let (subscriptions,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM push_subscriptions WHERE user_id = $1")
                .bind(&notice.to)
                .fetch_one(&mut **tx)
                .await?;
        let second = match (reach.preferred, &reach.phone, &reach.email) {
            (Channel::Sms, Some(_), _) => Some(Channel::Sms),
            (Channel::Email, _, Some(_)) => Some(Channel::Email),
            // Prefers push but has no subscription: the way they signed in.
            (_, Some(_), _) if subscriptions == 0 => Some(Channel::Sms),
            (_, None, Some(_)) if subscriptions == 0 => Some(Channel::Email),
            _ => None,
        };
        channels.extend(second.map(|c| (c, None)));
    }
    match notice.for_person.as_ref().map(|p| &p.reach) {
        Some(PersonReach::Sms(phone)) => channels.push((Channel::Sms, Some(phone.clone()))),
        Some(PersonReach::RelayCall) => channels.push((Channel::Relay, None)),
        None => {}
    }
    Ok(channels)
}

/// Withdraws what was planned about `subject` and is not due yet (the
/// reminders of a cancelled booking).
pub async fn withdraw_planned(tx: &mut Tx, subject: &Subject) -> Result<(), sqlx::Error> {
    let (kind, id) = subject.parts();
    sqlx::query(
        "DELETE FROM notifications WHERE subject_kind = $1 AND subject_id = $2 AND deliver_after > $3",
    )
    .bind(kind)
    .bind(id)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Texts to a registered person's phone that are not sent yet are dropped
/// (her number changed, she is no longer told by SMS, or she is erased).
pub async fn drop_pending_texts_to(tx: &mut Tx, beneficiary_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM deliveries WHERE status = 'pending' AND to_phone IS NOT NULL
           AND notification_id IN (SELECT id FROM notifications WHERE on_behalf_of = $1)",
    )
    .bind(beneficiary_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Erasing a registered person: pending texts to her go, her number and
/// the texts already sent to her are removed, and her relay's
/// notifications about her no longer name her.
pub async fn erase_person(tx: &mut Tx, beneficiary_id: &str) -> Result<(), sqlx::Error> {
    drop_pending_texts_to(tx, beneficiary_id).await?;
    sqlx::query(
        "UPDATE deliveries SET to_phone = NULL, person_text = NULL
          WHERE (to_phone IS NOT NULL OR person_text IS NOT NULL)
           AND notification_id IN (SELECT id FROM notifications WHERE on_behalf_of = $1)",
    )
    .bind(beneficiary_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE notifications SET body = $2 WHERE on_behalf_of = $1")
        .bind(beneficiary_id)
        .bind(ERASED_PERSON)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// What remains of a notification about a person who was erased.
const ERASED_PERSON: &str = "Message au sujet d'une personne désinscrite : effacé.";

/// Erasing an account: its notifications, their deliveries and its push
/// subscriptions go.
pub async fn erase_user(tx: &mut Tx, user_id: &str) -> Result<(), sqlx::Error> {
    for sql in [
        "DELETE FROM deliveries WHERE user_id = $1",
        "DELETE FROM notifications WHERE user_id = $1",
        "DELETE FROM push_subscriptions WHERE user_id = $1",
    ] {
        sqlx::query(sql).bind(user_id).execute(&mut **tx).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/// A `notifications` row as the inbox shows it.
#[derive(FromRow)]
pub(super) struct NotificationRecord {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub url: String,
    pub created_at: i64,
    pub deliver_after: i64,
    pub read_at: Option<i64>,
    pub change_seq: i64,
}

pub(super) const NOTIFICATION_COLUMNS: &str =
    "id, user_id, kind, title, body, url, created_at, deliver_after, read_at, change_seq";

impl NotificationRecord {
    pub fn to_api(&self) -> Notification {
        Notification {
            id: self.id.clone(),
            kind: self.kind.clone(),
            title: self.title.clone(),
            body: self.body.clone(),
            url: self.url.clone(),
            // A reminder shows the evening before, not when it was planned.
            created_at: from_ms(self.created_at.max(self.deliver_after)),
            read: self.read_at.is_some(),
        }
    }
}

/// The notifications of `user_id` changed within (`since`, `upto`] of the
/// change sequence and due, newest first (at most 500), with their
/// positions.
pub async fn changed_for(
    db: &Db,
    user_id: &str,
    since: i64,
    upto: i64,
) -> Result<Vec<(i64, Notification)>, sqlx::Error> {
    let records: Vec<NotificationRecord> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {NOTIFICATION_COLUMNS} FROM notifications
         WHERE user_id = $1 AND change_seq > $2 AND change_seq <= $3 AND deliver_after <= $4
         ORDER BY change_seq DESC LIMIT 500"
    )))
    .bind(user_id)
    .bind(since)
    .bind(upto)
    .bind(now_ms())
    .fetch_all(&db.pool)
    .await?;
    Ok(records.iter().map(|r| (r.change_seq, r.to_api())).collect())
}

/// A person's notifications with how many deliveries each had, and their
/// push subscriptions, for the export of their data.
pub async fn export_of(
    db: &Db,
    user_id: &str,
) -> Result<(Vec<serde_json::Value>, Vec<serde_json::Value>), sqlx::Error> {
    let ms = |v: Option<i64>| v.map(from_ms);
    let notifications = sqlx::query(
        "SELECT n.id, n.kind, n.title, n.body, n.on_behalf_of, n.created_at, n.read_at,
                (SELECT COUNT(*) FROM deliveries d WHERE d.notification_id = n.id) AS deliveries
         FROM notifications n WHERE n.user_id = $1 ORDER BY n.created_at",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        // A relay's notice about a person she helps names that person:
        // her data, not the relay's.
        let about_person = r.try_get::<Option<String>, _>("on_behalf_of")?.is_some();
        let body = if about_person {
            serde_json::Value::Null
        } else {
            serde_json::Value::String(r.try_get::<String, _>("body")?)
        };
        Ok(serde_json::json!({
            "id": r.try_get::<String, _>("id")?,
            "kind": r.try_get::<String, _>("kind")?,
            "title": r.try_get::<String, _>("title")?,
            "body": body,
            "about_a_person_i_help": about_person,
            "created_at": ms(r.try_get("created_at")?),
            "read_at": ms(r.try_get("read_at")?),
            "deliveries": r.try_get::<i64, _>("deliveries")?,
        }))
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let subscriptions = sqlx::query(
        "SELECT endpoint, created_at FROM push_subscriptions WHERE user_id = $1 ORDER BY created_at",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok(serde_json::json!({
            "endpoint": r.try_get::<String, _>("endpoint")?,
            "created_at": ms(r.try_get("created_at")?),
        }))
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((notifications, subscriptions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_from_their_codes() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(Kind::from_code("nothing"), None);
    }

    #[test]
    fn a_subject_gives_the_link_that_opens_it() {
        assert_eq!(Subject::Booking("b1".into()).url(), "/bookings/b1");
        assert_eq!(Subject::Need("n1".into()).url(), "/requests/n1");
        assert_eq!(Subject::Offer("o1".into()).url(), "/offers/o1");
    }
}
