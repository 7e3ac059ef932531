//! The delivery channels: Web Push, SMS, e-mail and the relay's inbox,
//! each an implementation of [`DeliveryChannel`] registered in
//! [`Channels`]. The dispatcher hands every claimed delivery to the
//! channel named on its row; a new channel (a partner's webhook) is one
//! more implementation.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use lotocar_shared::people::Channel;
use serde_json::json;
use sqlx::Row;

use super::push::{self, Outcome, Vapid};
use crate::auth::accounts;
use crate::db::Db;
use crate::transports::{Mail, Sms};

/// A claimed delivery: which notification, to whom, on which channel.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub notification_id: String,
    pub user_id: String,
    /// `None`: a code this version does not know (written by a newer one).
    pub channel: Option<Channel>,
    /// The code on the row.
    pub channel_code: String,
    pub attempts: i64,
    /// For a text to the person a relay acts for: her phone.
    pub to_phone: Option<String>,
    /// Until when this instance holds it (epoch ms).
    pub lease_until: i64,
}

/// What is said, as the channel sends it.
#[derive(Debug, Clone)]
pub struct Message {
    pub notification_id: String,
    pub kind: String,
    pub title: String,
    pub body: String,
    /// What a text message says instead of `body`, if shorter.
    pub sms_body: Option<String>,
    /// The path in the app (`/bookings/…`).
    pub url: String,
    /// The same, after the service's public address.
    pub link: String,
    pub urgent: bool,
}

/// What became of one attempt.
#[derive(Debug, PartialEq)]
pub enum Sent {
    Sent,
    /// Nothing to send on this channel (no subscription left, no phone).
    Skipped,
}

/// One way of telling people.
pub trait DeliveryChannel: Send + Sync {
    fn channel(&self) -> Channel;

    /// Whether quiet hours hold this channel back (they do not for e-mail,
    /// which waits in a mailbox anyway).
    fn quiet_hours_apply(&self) -> bool {
        true
    }

    /// Sends; an error is temporary (the dispatcher retries later).
    fn deliver<'a>(
        &'a self,
        delivery: &'a Delivery,
        message: &'a Message,
    ) -> BoxFuture<'a, anyhow::Result<Sent>>;
}

/// The registered channels, by the code on the delivery rows.
#[derive(Clone, Default)]
pub struct Channels(Arc<HashMap<Channel, Arc<dyn DeliveryChannel>>>);

impl Channels {
    pub fn new(channels: Vec<Arc<dyn DeliveryChannel>>) -> Channels {
        Channels(Arc::new(
            channels.into_iter().map(|c| (c.channel(), c)).collect(),
        ))
    }

    pub fn get(&self, channel: Channel) -> Option<&Arc<dyn DeliveryChannel>> {
        self.0.get(&channel)
    }
}

/// Web Push to every browser or phone the person subscribed.
pub struct PushChannel {
    pub db: Db,
    /// From [`super::endpoints::Policy::client`]: internal addresses are
    /// never connected to, redirects never followed.
    pub http: reqwest::Client,
    pub vapid: Arc<Vapid>,
    pub endpoints: super::endpoints::Policy,
}

impl DeliveryChannel for PushChannel {
    fn channel(&self) -> Channel {
        Channel::Push
    }

    fn deliver<'a>(
        &'a self,
        delivery: &'a Delivery,
        message: &'a Message,
    ) -> BoxFuture<'a, anyhow::Result<Sent>> {
        Box::pin(async move {
            let subscriptions = super::subscriptions::of_user(&self.db, &delivery.user_id).await?;
            if subscriptions.is_empty() {
                return Ok(Sent::Skipped);
            }
            let payload = serde_json::to_vec(&json!({
                "id": message.notification_id, "kind": message.kind, "title": message.title,
                "body": message.body, "url": message.url,
            }))?;
            let mut delivered = 0;
            let mut gone = 0;
            let mut errors = Vec::new();
            for subscription in &subscriptions {
                // Stored before the rules, or a literal address: checked
                // again; a refused one is forgotten.
                if self.endpoints.parse(&subscription.endpoint).is_err() {
                    gone += 1;
                    super::subscriptions::forget(&self.db, &subscription.id).await?;
                    continue;
                }
                match push::send(
                    &self.http,
                    &self.vapid,
                    subscription,
                    &payload,
                    message.urgent,
                )
                .await
                {
                    Ok(Outcome::Delivered) => delivered += 1,
                    Ok(Outcome::Gone) => {
                        gone += 1;
                        super::subscriptions::forget(&self.db, &subscription.id).await?;
                    }
                    Err(err) => errors.push(format!("{err:#}")),
                }
            }
            if delivered > 0 {
                Ok(Sent::Sent)
            } else if gone == subscriptions.len() {
                Ok(Sent::Skipped)
            } else {
                anyhow::bail!("{}", errors.join("; "))
            }
        })
    }
}

/// Text messages: to the person a relay acts for, or to the account
/// holder's phone.
pub struct SmsChannel {
    pub db: Db,
    pub sms: Arc<Sms>,
    pub brand: String,
}

impl DeliveryChannel for SmsChannel {
    fn channel(&self) -> Channel {
        Channel::Sms
    }

    fn deliver<'a>(
        &'a self,
        delivery: &'a Delivery,
        message: &'a Message,
    ) -> BoxFuture<'a, anyhow::Result<Sent>> {
        Box::pin(async move {
            // Her number may have been removed meanwhile (she was erased):
            // read it again.
            let (to_phone, person_text): (Option<String>, Option<String>) = match &delivery.to_phone
            {
                Some(_) => {
                    let Some(row) =
                        sqlx::query("SELECT to_phone, person_text FROM deliveries WHERE id = $1")
                            .bind(&delivery.id)
                            .fetch_optional(&self.db.pool)
                            .await?
                    else {
                        // Dropped meanwhile: nothing to send.
                        return Ok(Sent::Skipped);
                    };
                    let phone: Option<String> = row.try_get("to_phone")?;
                    if phone.is_none() {
                        return Ok(Sent::Skipped);
                    }
                    (phone, row.try_get("person_text")?)
                }
                None => (None, None),
            };
            let phone = match to_phone {
                Some(phone) => Some(phone),
                None => accounts::reach(&self.db.pool, &delivery.user_id)
                    .await?
                    .and_then(|r| r.phone),
            };
            let Some(phone) = phone else {
                return Ok(Sent::Skipped);
            };
            // A person a relay acts for reads her own text, without the
            // link (it opens the relay's account). Every text ends its
            // sentence.
            let text = match person_text {
                Some(text) => format!("{} : {}", self.brand, lotocar_shared::text::sentence(&text)),
                None => format!(
                    "{} : {} {}",
                    self.brand,
                    lotocar_shared::text::sentence(
                        message.sms_body.as_deref().unwrap_or(&message.body)
                    ),
                    message.link
                ),
            };
            self.sms.send(&phone, &text).await?;
            Ok(Sent::Sent)
        })
    }
}

/// E-mails to the account holder.
pub struct EmailChannel {
    pub db: Db,
    pub mail: Arc<Mail>,
    pub brand: String,
}

impl DeliveryChannel for EmailChannel {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    fn quiet_hours_apply(&self) -> bool {
        false
    }

    fn deliver<'a>(
        &'a self,
        delivery: &'a Delivery,
        message: &'a Message,
    ) -> BoxFuture<'a, anyhow::Result<Sent>> {
        Box::pin(async move {
            let Some(email) = accounts::reach(&self.db.pool, &delivery.user_id)
                .await?
                .and_then(|r| r.email)
            else {
                return Ok(Sent::Skipped);
            };
            self.mail
                .send(
                    &email,
                    &format!("{} — {}", self.brand, message.title),
                    &format!("{}\n\n{}\n", message.body, message.link),
                )
                .await?;
            Ok(Sent::Sent)
        })
    }
}

/// The relay's inbox, for a person reached by her relay's call: the
/// notification is in the inbox of the relay who acts for her (the
/// recipient), which the relay reads and passes on by phone; nothing goes
/// out of the service. The delivery is counted as sent once the
/// notification is there to read.
pub struct RelayInboxChannel {
    pub db: Db,
}

impl DeliveryChannel for RelayInboxChannel {
    fn channel(&self) -> Channel {
        Channel::Relay
    }

    fn quiet_hours_apply(&self) -> bool {
        false
    }

    fn deliver<'a>(
        &'a self,
        delivery: &'a Delivery,
        _message: &'a Message,
    ) -> BoxFuture<'a, anyhow::Result<Sent>> {
        Box::pin(async move {
            let in_inbox =
                sqlx::query("SELECT 1 AS one FROM notifications WHERE id = $1 AND user_id = $2")
                    .bind(&delivery.notification_id)
                    .bind(&delivery.user_id)
                    .fetch_optional(&self.db.pool)
                    .await?
                    .is_some();
            Ok(if in_inbox { Sent::Sent } else { Sent::Skipped })
        })
    }
}
