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
    /// The push service's address: `https://`, on a public address.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^\s*https://\S+\s*$", max_length = 2000)
    )]
    pub endpoint: String,
    pub keys: PushKeys,
    /// Sent by browsers; not used.
    #[serde(default, rename = "expirationTime")]
    pub expiration_time: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushKeys {
    /// The browser's P-256 public key: 65 bytes in base64url.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^\s*[A-Za-z0-9_-]{87}=*\s*$"))]
    pub p256dh: String,
    /// The browser's secret: 16 bytes in base64url.
    #[cfg_attr(feature = "openapi", schema(pattern = r"^\s*[A-Za-z0-9_-]{22}=*\s*$"))]
    pub auth: String,
}

/// A checked [`PushSubscriptionInput`].
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedSubscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

/// How many bytes `text` holds in base64url (padding only at the end).
pub(super) fn base64url_len(text: &str) -> Option<usize> {
    let text = text.trim_end_matches('=');
    let valid = text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid.then(|| text.len() * 3 / 4)
}

impl PushSubscriptionInput {
    pub fn validate(&self) -> Result<CheckedSubscription, Invalid> {
        let mut invalid = Invalid::new();
        let endpoint = self.endpoint.trim();
        if !(endpoint.starts_with("https://") || endpoint.starts_with("http://"))
            || self.endpoint.len() > 2000
            || endpoint.contains(char::is_whitespace)
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
