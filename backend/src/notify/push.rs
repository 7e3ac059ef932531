//! Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload
//! encryption (RFC 8291). The VAPID key pair is made on first start and
//! kept in the database, so every instance signs with the same key.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand::Rng;
use web_push::{
    ContentEncoding, SubscriptionInfo, Urgency, VapidSignature, VapidSignatureBuilder,
    WebPushMessageBuilder,
};

use crate::db::Db;

/// The server's VAPID identity.
pub struct Vapid {
    private: String,
    public: String,
    subject: String,
    /// Signatures by push service origin: a VAPID token is good for twelve
    /// hours, and signing is the costly part of a push.
    signatures: Mutex<HashMap<String, (VapidSignature, Instant)>>,
}

/// How long a cached signature is reused (tokens expire after 12 hours).
const SIGNATURE_REUSE: Duration = Duration::from_secs(6 * 3600);

impl Vapid {
    /// The key pair from the database, made (once, by whichever instance
    /// comes first) if there is none.
    pub async fn load_or_create(db: &Db, subject: &str) -> anyhow::Result<Vapid> {
        let private = crate::db::secret(db, "vapid_private_key", || {
            URL_SAFE_NO_PAD.encode(new_secret_key().to_bytes())
        })
        .await?;
        let secret = p256::SecretKey::from_slice(&URL_SAFE_NO_PAD.decode(&private)?)
            .context("stored VAPID key unreadable")?;
        let public = URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes());
        Ok(Vapid {
            private,
            public,
            subject: subject.to_string(),
            signatures: Mutex::default(),
        })
    }

    /// A key pair that lives in memory only (benchmarks).
    pub fn generate(subject: &str) -> Vapid {
        let secret = new_secret_key();
        Vapid {
            private: URL_SAFE_NO_PAD.encode(secret.to_bytes()),
            public: URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes()),
            subject: subject.to_string(),
            signatures: Mutex::default(),
        }
    }

    /// The signature for pushes to the service of `info`'s endpoint.
    fn signature(&self, info: &SubscriptionInfo) -> anyhow::Result<VapidSignature> {
        // The audience is the push service's origin, port included (RFC
        // 8292); the crate leaves the port out.
        let audience = origin(&info.endpoint)?;
        if let Some((signature, made)) = self
            .signatures
            .lock()
            .expect("signature cache")
            .get(&audience)
            && made.elapsed() < SIGNATURE_REUSE
        {
            return Ok(signature.clone());
        }
        let mut builder = VapidSignatureBuilder::from_base64(&self.private, info)?;
        builder.add_claim("sub", self.subject.as_str());
        builder.add_claim("aud", audience.as_str());
        let signature = builder.build()?;
        self.signatures
            .lock()
            .expect("signature cache")
            .insert(audience, (signature.clone(), Instant::now()));
        Ok(signature)
    }

    /// Base64url of the uncompressed P-256 public key (the
    /// `applicationServerKey` of `pushManager.subscribe`).
    pub fn public_key(&self) -> &str {
        &self.public
    }
}

/// A fresh P-256 key (32 random bytes, drawn again in the rare case they
/// are not a valid scalar).
fn new_secret_key() -> p256::SecretKey {
    loop {
        let mut bytes = [0u8; 32];
        rand::rng().fill(&mut bytes);
        if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
            break secret;
        }
    }
}

/// "scheme://host[:port]" of a URL.
fn origin(url: &str) -> anyhow::Result<String> {
    let (scheme, rest) = url
        .split_once("://")
        .context("push endpoint without a scheme")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority
        .rsplit_once('@')
        .map(|(_, host)| host)
        .unwrap_or(authority);
    anyhow::ensure!(!authority.is_empty(), "push endpoint without a host");
    Ok(format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase()
    ))
}

#[cfg(test)]
mod tests {
    use super::origin;

    #[test]
    fn the_audience_is_the_origin_with_its_port() {
        assert_eq!(
            origin("https://fcm.googleapis.com/fcm/send/abc").unwrap(),
            "https://fcm.googleapis.com"
        );
        assert_eq!(
            origin("http://127.0.0.1:4321/push/x?y").unwrap(),
            "http://127.0.0.1:4321"
        );
        assert!(origin("nowhere").is_err());
    }
}

/// A push subscription as stored.
pub struct Subscription {
    pub id: String,
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

/// What the push service said.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Delivered,
    /// 404 or 410: the subscription is gone; delete it.
    Gone,
}

/// How long a push service keeps a message for an offline device.
const TTL_SECONDS: u32 = 24 * 3600;

/// Encrypts `payload` for the subscription and posts it. An error is
/// temporary (retry later); `Outcome::Gone` is final.
pub async fn send(
    http: &reqwest::Client,
    vapid: &Vapid,
    subscription: &Subscription,
    payload: &[u8],
    urgent: bool,
) -> anyhow::Result<Outcome> {
    let info = SubscriptionInfo::new(
        subscription.endpoint.as_str(),
        subscription.p256dh.as_str(),
        subscription.auth.as_str(),
    );
    let mut builder = WebPushMessageBuilder::new(&info);
    builder.set_payload(ContentEncoding::Aes128Gcm, payload);
    builder.set_ttl(TTL_SECONDS);
    builder.set_urgency(if urgent {
        Urgency::High
    } else {
        Urgency::Normal
    });
    builder.set_vapid_signature(vapid.signature(&info)?);
    let message = builder.build()?;

    let mut request = http
        .post(subscription.endpoint.as_str())
        .timeout(Duration::from_secs(10))
        .header("TTL", message.ttl.to_string());
    if let Some(urgency) = message.urgency {
        request = request.header("Urgency", urgency.to_string());
    }
    if let Some(payload) = message.payload {
        request = request
            .header("Content-Encoding", payload.content_encoding.to_str())
            .header("Content-Type", "application/octet-stream");
        for (name, value) in payload.crypto_headers {
            request = request.header(name, value);
        }
        request = request.body(payload.content);
    }
    let response = request.send().await.context("push service unreachable")?;
    match response.status().as_u16() {
        200..=299 => Ok(Outcome::Delivered),
        404 | 410 => Ok(Outcome::Gone),
        status => anyhow::bail!("push service answered {status}"),
    }
}
