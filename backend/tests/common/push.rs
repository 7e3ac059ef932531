//! A Web Push receiver for tests: it holds real P-256 subscription keys and
//! auth secrets, checks the VAPID JWT of every POST against the server's
//! public key, decrypts the aes128gcm body (RFC 8291) and keeps the JSON.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hkdf::Hkdf;
use p256::ecdsa::signature::Verifier;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand::Rng;
use serde_json::{Value, json};
use sha2::Sha256;

/// What a device does with a push.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Behaviour {
    Accept,
    /// 410: the subscription is gone.
    Gone,
    /// 500: try again later.
    Fail,
    /// Accepts after a pause.
    Slow(u64),
}

struct Device {
    secret: p256::SecretKey,
    public: Vec<u8>,
    auth: [u8; 16],
    behaviour: Behaviour,
}

/// One push received, decrypted.
#[derive(Clone, Debug)]
pub struct Received {
    pub device: String,
    pub payload: Value,
    pub ttl: Option<String>,
    pub urgency: Option<String>,
}

#[derive(Default)]
struct Inner {
    devices: HashMap<String, Device>,
    received: Vec<Received>,
    rejected: Vec<String>,
    vapid_key: String,
    origin: String,
}

#[derive(Clone)]
pub struct PushReceiver {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl PushReceiver {
    /// Listens on loopback; pushes must be signed with `vapid_key`.
    pub async fn start(vapid_key: &str) -> PushReceiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let inner = Arc::new(Mutex::new(Inner {
            vapid_key: vapid_key.to_string(),
            origin: base.clone(),
            ..Default::default()
        }));
        let app = Router::new()
            .route("/push/{device}", post(receive))
            .with_state(inner.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        PushReceiver { base, inner }
    }

    /// A new device; returns the browser's PushSubscription JSON for it.
    pub fn device(&self, name: &str, behaviour: Behaviour) -> Value {
        let secret = loop {
            let mut bytes = [0u8; 32];
            rand::rng().fill(&mut bytes);
            if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
                break secret;
            }
        };
        let public = secret
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec();
        let mut auth = [0u8; 16];
        rand::rng().fill(&mut auth);
        let subscription = json!({
            "endpoint": format!("{}/push/{name}", self.base),
            "expirationTime": null,
            "keys": { "p256dh": B64.encode(&public), "auth": B64.encode(auth) },
        });
        self.inner.lock().unwrap().devices.insert(
            name.to_string(),
            Device {
                secret,
                public,
                auth,
                behaviour,
            },
        );
        subscription
    }

    /// The subscription JSON a device's browser sends again (the same
    /// keys), at `endpoint`.
    pub fn subscription_of(&self, name: &str, endpoint: &str) -> Value {
        let inner = self.inner.lock().unwrap();
        let device = &inner.devices[name];
        json!({
            "endpoint": endpoint,
            "expirationTime": null,
            "keys": { "p256dh": B64.encode(&device.public), "auth": B64.encode(device.auth) },
        })
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// Pushes refused because they were not signed or encrypted right.
    pub fn rejected(&self) -> Vec<String> {
        self.inner.lock().unwrap().rejected.clone()
    }

    /// Waits until `enough` says the pushes received are enough, or panics
    /// after `seconds`.
    pub async fn wait_for(
        &self,
        seconds: u64,
        enough: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        for _ in 0..seconds * 20 {
            let received = self.received();
            if enough(&received) {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let received = self.received();
        let rejected = self.rejected();
        panic!(
            "not enough pushes after {seconds}s: {} received, {} rejected, such as {:?}",
            received.len(),
            rejected.len(),
            rejected.iter().take(3).collect::<Vec<_>>()
        );
    }
}

async fn receive(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let (behaviour, checked) = {
        let state = inner.lock().unwrap();
        let Some(device) = state.devices.get(&name) else {
            return StatusCode::NOT_FOUND;
        };
        (device.behaviour, check(&state, device, &headers, &body))
    };
    let payload = match checked {
        Ok(payload) => payload,
        Err(why) => {
            inner.lock().unwrap().rejected.push(why);
            return StatusCode::UNAUTHORIZED;
        }
    };
    match behaviour {
        Behaviour::Gone => return StatusCode::GONE,
        Behaviour::Fail => return StatusCode::INTERNAL_SERVER_ERROR,
        Behaviour::Slow(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
        Behaviour::Accept => {}
    }
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    inner.lock().unwrap().received.push(Received {
        device: name,
        payload,
        ttl: header("ttl"),
        urgency: header("urgency"),
    });
    StatusCode::CREATED
}

/// Checks the VAPID signature and decrypts the body.
fn check(
    state: &Inner,
    device: &Device,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, String> {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    if header("content-encoding") != "aes128gcm" {
        return Err(format!("content-encoding {}", header("content-encoding")));
    }
    if header("ttl").is_empty() {
        return Err("no TTL".into());
    }
    // Authorization: vapid t=<jwt>, k=<key>
    let authorization = header("authorization");
    let rest = authorization
        .strip_prefix("vapid ")
        .ok_or("not a vapid authorization")?;
    let mut token = "";
    let mut key = "";
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(t) = part.strip_prefix("t=") {
            token = t;
        } else if let Some(k) = part.strip_prefix("k=") {
            key = k;
        }
    }
    if key != state.vapid_key {
        return Err(format!("signed with another key: {key}"));
    }
    let key_bytes = B64.decode(key).map_err(|e| e.to_string())?;
    let verifying =
        p256::ecdsa::VerifyingKey::from_sec1_bytes(&key_bytes).map_err(|e| e.to_string())?;
    let (signed, signature) = token.rsplit_once('.').ok_or("malformed JWT")?;
    let signature =
        p256::ecdsa::Signature::from_slice(&B64.decode(signature).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    verifying
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| "bad VAPID signature".to_string())?;
    let claims: Value = serde_json::from_slice(
        &B64.decode(signed.split('.').nth(1).ok_or("no claims")?)
            .map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    if claims["aud"] != state.origin.as_str() {
        return Err(format!("aud {}", claims["aud"]));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if claims["exp"]
        .as_u64()
        .is_none_or(|exp| exp <= now || exp > now + 24 * 3600)
    {
        return Err(format!("exp {}", claims["exp"]));
    }
    if claims["sub"]
        .as_str()
        .is_none_or(|s| !(s.starts_with("mailto:") || s.starts_with("https:")))
    {
        return Err(format!("sub {}", claims["sub"]));
    }
    let plain = decrypt(device, body)?;
    serde_json::from_slice(&plain).map_err(|e| e.to_string())
}

/// RFC 8291 / RFC 8188: one aes128gcm record.
fn decrypt(device: &Device, body: &[u8]) -> Result<Vec<u8>, String> {
    if body.len() < 21 {
        return Err("body too short".into());
    }
    let salt = &body[..16];
    let id_len = body[20] as usize;
    let sender = &body[21..21 + id_len];
    let ciphertext = &body[21 + id_len..];
    let sender_key = p256::PublicKey::from_sec1_bytes(sender).map_err(|e| e.to_string())?;
    let shared =
        p256::ecdh::diffie_hellman(device.secret.to_nonzero_scalar(), sender_key.as_affine());
    let mut info = b"WebPush: info\0".to_vec();
    info.extend_from_slice(&device.public);
    info.extend_from_slice(sender);
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(&device.auth), shared.raw_secret_bytes())
        .expand(&info, &mut ikm)
        .map_err(|e| e.to_string())?;
    let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let mut cek = [0u8; 16];
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek)
        .map_err(|e| e.to_string())?;
    let mut nonce = [0u8; 12];
    prk.expand(b"Content-Encoding: nonce\0", &mut nonce)
        .map_err(|e| e.to_string())?;
    let plain = Aes128Gcm::new_from_slice(&cek)
        .map_err(|e| e.to_string())?
        .decrypt(Nonce::from_slice(&nonce), ciphertext)
        .map_err(|_| "cannot decrypt".to_string())?;
    // Padding: the data, a 0x02 delimiter (last record), then zeros.
    let end = plain.iter().rposition(|b| *b != 0).ok_or("empty record")?;
    if plain[end] != 2 {
        return Err("bad record delimiter".into());
    }
    Ok(plain[..end].to_vec())
}
