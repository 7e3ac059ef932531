//! Sign-in codes, sessions and rate limits: the one writer of
//! `sign_in_codes`, `sessions`, `rate_limit_buckets` and `rate_limit_hits`.

use std::net::IpAddr;

use base64::Engine;
use hmac::{Hmac, Mac};
use lotocar_shared::api::{AuthSession, AuthStarted, RoleGrant, UserSummary};
use lotocar_shared::contact::Contact;
use lotocar_shared::people::Role;
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Auth, AuthUser, accounts};
use crate::db::{Db, Lane, Tx, now_ms};
use crate::error::{Error, Result};

/// How long a sign-in code is valid.
pub const CODE_TTL_SECONDS: u32 = 10 * 60;
/// Wrong codes allowed before a new one must be requested.
pub const CODE_MAX_ATTEMPTS: i64 = 5;

const HOUR_MS: i64 = 3_600_000;

/// Sends a code to `contact`, within the limits per address and per contact.
pub async fn send_code(auth: &Auth, contact: &Contact, ip: IpAddr) -> Result<AuthStarted> {
    let settings = &auth.settings;
    // The limits and the code in one transaction: one wait for the writer,
    // in the lane of small writes (they share no row with trips).
    let mut tx = auth.db.begin_write_in(Lane::Small).await?;
    for (bucket, limit, detail) in [
        (
            format!("ip:{ip}"),
            settings.signin_per_ip_hour,
            "Trop de demandes de connexion depuis cette adresse.",
        ),
        (
            format!("contact:{contact}"),
            settings.codes_per_contact_hour,
            "Trop de codes demandés pour ce contact.",
        ),
    ] {
        if let Some(refused) = hit(&mut tx, &bucket, limit, HOUR_MS, detail).await? {
            tx.commit().await?;
            return Err(refused);
        }
    }
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
    let now = now_ms();
    sqlx::query(
        "INSERT INTO sign_in_codes (contact, code_hash, expires_at, attempts, created_at)
         VALUES ($1, $2, $3, 0, $4)
         ON CONFLICT (contact) DO UPDATE SET code_hash = $2, expires_at = $3, attempts = 0, created_at = $4",
    )
    .bind(contact.as_str())
    .bind(hash_code(&auth.code_secret, contact, &code))
    .bind(now + i64::from(CODE_TTL_SECONDS) * 1000)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;

    // Sent at once through the SMS or e-mail transport (the default ones
    // write to the log, where an operator can read the code).
    let text = format!(
        "{} : votre code de connexion est {code}. Il est valable 10 minutes. Ne le donnez à personne.",
        settings.brand
    );
    let (channel, shown, sent) = match contact {
        Contact::Phone(p) => (
            "SMS",
            format!("au {}", p.national()),
            auth.sms.send(p.as_str(), &text).await,
        ),
        Contact::Email(e) => (
            "e-mail",
            format!("à {}", e.as_str()),
            auth.mail
                .send(e.as_str(), "Votre code de connexion", &text)
                .await,
        ),
    };
    if let Err(err) = sent {
        tracing::error!(error = %err, "sign-in code not sent");
        return Err(Error::Unavailable(
            "Le code n'a pas pu être envoyé pour le moment. Réessayez dans quelques minutes."
                .into(),
        ));
    }
    Ok(AuthStarted {
        message: format!(
            "Un code à 6 chiffres a été envoyé par {channel} {shown}. Il est valable 10 minutes."
        ),
        expires_in_seconds: CODE_TTL_SECONDS,
        dev_code: settings.dev.then_some(code),
    })
}

/// Exchanges a code for a session; creates the account on first sign-in.
pub async fn verify(
    auth: &Auth,
    contact: &Contact,
    code: &str,
    ip: IpAddr,
    via: accounts::Joined,
) -> Result<AuthSession> {
    // The limit, the attempt and, for the right code, the account and the
    // session in one transaction (one wait for the writer, in the lane of
    // small writes). Each attempt is spent atomically: parallel guesses
    // wait for each other on the code's row, and a wrong one is committed
    // as spent.
    let mut tx = auth.db.begin_write_in(Lane::Small).await?;
    if let Some(refused) = hit(
        &mut tx,
        &format!("ip:{ip}"),
        auth.settings.signin_per_ip_hour,
        HOUR_MS,
        "Trop de tentatives de connexion depuis cette adresse.",
    )
    .await?
    {
        tx.commit().await?;
        return Err(refused);
    }
    let row: Option<(String, i64)> = sqlx::query_as(
        "UPDATE sign_in_codes SET attempts = attempts + 1
         WHERE contact = $1 AND attempts < $2 AND expires_at > $3
         RETURNING code_hash, attempts",
    )
    .bind(contact.as_str())
    .bind(CODE_MAX_ATTEMPTS)
    .bind(now_ms())
    .fetch_optional(&mut *tx)
    .await?;
    let Some((stored, attempts)) = row else {
        tx.commit().await?;
        return Err(Error::field(
            "code",
            "Ce code n'est plus valable (expiré, déjà utilisé ou trop d'essais). Demandez un nouveau code.",
        ));
    };
    let expected = hash_code(&auth.code_secret, contact, code);
    if !bool::from(stored.as_bytes().ct_eq(expected.as_bytes())) {
        tx.commit().await?;
        let left = CODE_MAX_ATTEMPTS - attempts;
        return Err(Error::field(
            "code",
            if left > 0 {
                format!(
                    "Code incorrect. Il vous reste {left} essai{}.",
                    if left > 1 { "s" } else { "" }
                )
            } else {
                "Code incorrect. Ce code n'est plus valable : demandez un nouveau code.".into()
            },
        ));
    }
    // The code is used up: the row lock taken by the attempt makes this
    // request the only one that signs in with it.
    sqlx::query("DELETE FROM sign_in_codes WHERE contact = $1")
        .bind(contact.as_str())
        .execute(&mut *tx)
        .await?;
    let user_id = accounts::find_or_create_in(&auth.db, &mut tx, contact, via).await?;
    let token = new_session_in(&mut tx, &user_id, auth.settings.session_days).await?;
    tx.commit().await?;
    let me = accounts::me(&auth.db, &user_id).await?;
    Ok(AuthSession {
        token,
        user: UserSummary {
            id: me.id,
            display_name: me.display_name,
            roles: me.roles,
        },
    })
}

/// A session's user, when it was last used, the user's name, and one of
/// their roles (with its territory), if any.
type SessionRole = (String, i64, String, Option<String>, Option<String>);

/// The person a bearer token belongs to, with their roles; `None` for an
/// unknown or expired token. The sliding expiry is written at most once an
/// hour per session.
pub async fn authenticate(auth: &Auth, token: &str) -> Result<Option<AuthUser>> {
    let token_hash = hash_token(token);
    // One statement: the session, its user and their roles (one row per
    // role, or one with none).
    let rows: Vec<SessionRole> = sqlx::query_as(
        "SELECT s.user_id, s.last_used_at, u.display_name, r.role, r.territory_id
         FROM sessions s JOIN users u ON u.id = s.user_id
         LEFT JOIN user_roles r ON r.user_id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_at > $2
         ORDER BY r.territory_id, r.role",
    )
    .bind(&token_hash)
    .bind(now_ms())
    .fetch_all(&auth.db.pool)
    .await?;
    let Some((id, last_used, display_name, _, _)) = rows.first().cloned() else {
        return Ok(None);
    };
    let now = now_ms();
    if now - last_used > HOUR_MS {
        let expires = now + i64::from(auth.settings.session_days) * 86_400_000;
        sqlx::query("UPDATE sessions SET last_used_at = $2, expires_at = $3 WHERE token_hash = $1")
            .bind(&token_hash)
            .bind(now)
            .bind(expires)
            .execute(&auth.db.writer)
            .await?;
        accounts::seen(&auth.db, &id, now).await?;
    }
    // A role this version does not know is not granted.
    let roles = rows
        .into_iter()
        .filter_map(|(_, _, _, role, territory_id)| {
            Some(RoleGrant {
                role: Role::from_code(&role?)?,
                territory_id: territory_id?,
            })
        })
        .collect();
    Ok(Some(AuthUser {
        roles,
        display_name,
        id,
        token_hash,
    }))
}

/// A live session: its user, when it was last used, the user's name.
async fn session(db: &Db, token_hash: &str) -> Result<Option<(String, i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.user_id, s.last_used_at, u.display_name
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now_ms())
    .fetch_optional(&db.pool)
    .await
}

/// The user a bearer token belongs to (for the event stream, whose
/// browser client passes it in the query string).
pub async fn user_for_token(db: &Db, token: &str) -> Result<Option<String>> {
    Ok(session(db, &hash_token(token))
        .await?
        .map(|(user_id, _, _)| user_id))
}

pub(super) async fn end_session(db: &Db, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&db.writer)
        .await?;
    Ok(())
}

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// HMAC of a sign-in code with the server's secret: a leaked table does not
/// give the codes away, even though there are only a million of them.
pub fn hash_code(secret: &[u8], contact: &Contact, code: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(contact.as_str().as_bytes());
    mac.update(b"\0");
    mac.update(code.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Records one request in `bucket`, in `tx`; when `limit` requests were
/// already made in the last `window_ms`, records nothing and returns the
/// refusal (429) for the caller to give once `tx` is committed. Counting
/// and recording are one step, whatever the concurrency: the bucket's row
/// is updated first, so parallel requests of one bucket wait for each
/// other (its row lock on PostgreSQL; the write lock on SQLite).
async fn hit(
    tx: &mut Tx,
    bucket: &str,
    limit: u32,
    window_ms: i64,
    detail: &str,
) -> Result<Option<Error>> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO rate_limit_buckets (bucket, touched_at) VALUES ($1, $2)
         ON CONFLICT (bucket) DO UPDATE SET touched_at = $2",
    )
    .bind(bucket)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM rate_limit_hits WHERE bucket = $1 AND at <= $2")
        .bind(bucket)
        .bind(now - window_ms)
        .execute(&mut **tx)
        .await?;
    let (count, oldest): (i64, Option<i64>) = sqlx::query_as(
        "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM rate_limit_hits WHERE bucket = $1",
    )
    .bind(bucket)
    .fetch_one(&mut **tx)
    .await?;
    if count >= i64::from(limit) {
        let wait_ms = oldest.unwrap_or(now) + window_ms - now;
        return Ok(Some(Error::TooManyRequests {
            retry_after: (wait_ms.max(1000) as u64).div_ceil(1000),
            detail: detail.to_string(),
        }));
    }
    sqlx::query("INSERT INTO rate_limit_hits (bucket, at) VALUES ($1, $2)")
        .bind(bucket)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(None)
}

/// Forgets what is over: expired codes, hits older than `keep_ms`, and the
/// buckets not used since (the scheduled jobs run it).
///
/// Bucket by bucket, each in its own transaction that locks the bucket's
/// row before touching its hits, in the order [`hit`] takes them: a
/// sign-in in flight holds its bucket's row while it clears that bucket's
/// old hits, so a purge that took the hits of many buckets first and their
/// rows after would deadlock with it (PostgreSQL aborts one of the two).
pub async fn purge_expired(db: &Db, keep_ms: i64) -> Result<()> {
    let now = now_ms();
    let before = now - keep_ms;
    sqlx::query("DELETE FROM sign_in_codes WHERE expires_at < $1")
        .bind(now)
        .execute(&db.writer)
        .await?;
    let buckets: Vec<String> = sqlx::query_scalar(
        "SELECT bucket FROM rate_limit_hits WHERE at < $1
         UNION SELECT bucket FROM rate_limit_buckets WHERE touched_at < $1",
    )
    .bind(before)
    .fetch_all(&db.pool)
    .await?;
    for bucket in buckets {
        let mut tx = db.begin_write_in(Lane::Bulk).await?;
        let touched: Option<i64> = sqlx::query_scalar(
            "UPDATE rate_limit_buckets SET touched_at = touched_at WHERE bucket = $1
             RETURNING touched_at",
        )
        .bind(&bucket)
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM rate_limit_hits WHERE bucket = $1 AND at < $2")
            .bind(&bucket)
            .bind(before)
            .execute(&mut *tx)
            .await?;
        // A bucket is touched with each hit: unused since `before`, it has
        // no hit left.
        if touched.is_some_and(|at| at < before) {
            sqlx::query("DELETE FROM rate_limit_buckets WHERE bucket = $1")
                .bind(&bucket)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

/// Opens a session for `user_id` and returns its bearer token (256 random
/// bits, base64url); only its hash is stored.
pub async fn new_session(db: &Db, user_id: &str, days: u32) -> Result<String, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let token = new_session_in(&mut tx, user_id, days).await?;
    tx.commit().await?;
    Ok(token)
}

/// The same, in `tx`.
pub async fn new_session_in(tx: &mut Tx, user_id: &str, days: u32) -> Result<String, sqlx::Error> {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let now = now_ms();
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_used_at, expires_at)
         VALUES ($1, $2, $3, $3, $4)",
    )
    .bind(hash_token(&token))
    .bind(user_id)
    .bind(now)
    .bind(now + i64::from(days) * 86_400_000)
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

/// What erasure removes here: the person's sessions, their pending code,
/// and the rate-limit buckets that hold their phone or e-mail.
pub(super) async fn erase(tx: &mut Tx, user_id: &str, contacts: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    // The contact's bucket, its hits, then its code: the order in which
    // [`send_code`] locks them.
    for contact in contacts {
        for (sql, key) in [
            (
                "DELETE FROM rate_limit_buckets WHERE bucket = $1",
                format!("contact:{contact}"),
            ),
            (
                "DELETE FROM rate_limit_hits WHERE bucket = $1",
                format!("contact:{contact}"),
            ),
            (
                "DELETE FROM sign_in_codes WHERE contact = $1",
                contact.clone(),
            ),
        ] {
            sqlx::query(sql).bind(key).execute(&mut **tx).await?;
        }
    }
    Ok(())
}

/// The person's sessions, for the export of their data.
pub async fn sessions_of(db: &Db, user_id: &str) -> Result<Vec<(i64, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT created_at, last_used_at, expires_at FROM sessions
         WHERE user_id = $1 ORDER BY created_at",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_hashes_depend_on_secret_contact_and_code() {
        let contact: Contact = "0612345678".parse().unwrap();
        let other: Contact = "0612345679".parse().unwrap();
        let a = hash_code(b"secret-a", &contact, "123456");
        assert_eq!(a, hash_code(b"secret-a", &contact, "123456"));
        assert_ne!(a, hash_code(b"secret-b", &contact, "123456"));
        assert_ne!(a, hash_code(b"secret-a", &other, "123456"));
        assert_ne!(a, hash_code(b"secret-a", &contact, "123457"));
        assert_eq!(hash_token("abc").len(), 64);
    }
}
