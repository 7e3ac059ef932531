//! Notifications and Web Push subscriptions.

use crate::validation::Invalid;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Something a person is told. Delivered at least once, by several
/// channels: the `id` lets an app show it once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    pub id: String,
    /// What happened: `new_driver`, `booking_requested`, `booking_confirmed`, …
    pub kind: String,
    /// French, short.
    pub title: String,
    /// French, one or two sentences.
    pub body: String,
    /// Where in the app to look.
    pub url: String,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

/// The server's VAPID public key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushKey {
    /// Base64url, uncompressed P-256 point.
    pub key: String,
}

/// A browser's PushSubscription, as `JSON.stringify(subscription)` gives it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushSubscriptionInput {
    pub endpoint: String,
    pub keys: PushKeys,
    /// Sent by browsers; not used.
    #[serde(default, rename = "expirationTime")]
    pub expiration_time: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushKeys {
    pub p256dh: String,
    pub auth: String,
}

/// A checked [`PushSubscriptionInput`].
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedSubscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

pub(super) fn base64url_len(text: &str) -> Option<usize> {
    let valid = text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=');
    valid.then(|| text.trim_end_matches('=').len() * 3 / 4)
}

impl PushSubscriptionInput {
    pub fn validate(&self) -> Result<CheckedSubscription, Invalid> {
        let mut invalid = Invalid::new();
        let endpoint = self.endpoint.trim();
        if !(endpoint.starts_with("https://") || endpoint.starts_with("http://"))
            || endpoint.len() > 2000
        {
            invalid.push(
                "endpoint",
                "Adresse d'abonnement invalide : une adresse https:// est attendue.",
            );
        }
        if base64url_len(self.keys.p256dh.trim()) != Some(65) {
            invalid.push(
                "keys.p256dh",
                "Clé p256dh invalide : 65 octets en base64url sont attendus.",
            );
        }
        if base64url_len(self.keys.auth.trim()) != Some(16) {
            invalid.push(
                "keys.auth",
                "Secret auth invalide : 16 octets en base64url sont attendus.",
            );
        }
        invalid.finish(|| CheckedSubscription {
            endpoint: endpoint.to_string(),
            p256dh: self.keys.p256dh.trim().trim_end_matches('=').to_string(),
            auth: self.keys.auth.trim().trim_end_matches('=').to_string(),
        })
    }
}

/// A registered push subscription.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushSubscription {
    pub id: String,
    pub endpoint: String,
}
