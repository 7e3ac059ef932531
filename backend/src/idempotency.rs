//! `Idempotency-Key`: a POST retried with the same key (a flaky rural
//! connection, an offline app replaying its outbox) returns the first
//! response and creates nothing new. The key's record commits in the same
//! transaction as what the POST created, so a crash cannot separate them.
//! Keys are kept 24 hours. The one writer of `idempotency_keys`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::db::{Db, Tx, is_unique_violation, now_ms};
use crate::error::{ApiError, ApiResult, Error, Result};

const KEEP_MS: i64 = 24 * 3_600_000;

/// The `Idempotency-Key` header, if the client sent one.
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<Self> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(IdempotencyKey(None));
        };
        let key = value.to_str().unwrap_or_default().trim();
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::BadRequest(
                "L'en-tête Idempotency-Key doit contenir de 1 à 255 caractères visibles (un UUID par exemple).".into(),
            ));
        }
        Ok(IdempotencyKey(Some(key.to_string())))
    }
}

/// A creating POST in progress: either the answer to a retry, or a fresh
/// write transaction in which to create, then to record the answer.
pub enum Attempt {
    Replay(Answer),
    Fresh(Tx),
}

/// The answer to a creating request: what was created, as first answered.
#[derive(Debug)]
pub struct Answer {
    status: StatusCode,
    body: String,
    replayed: bool,
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        json_response(self.status, self.body, self.replayed)
    }
}

/// What identifies one creating request.
pub struct Creation {
    user_id: String,
    key: Option<String>,
    fingerprint: String,
}

impl Creation {
    /// `path` and `body` identify the request; a retry must repeat both.
    pub fn new(user_id: &str, key: IdempotencyKey, path: &str, body: &impl Serialize) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(path.as_bytes());
        hasher.update(b"\0");
        hasher.update(serde_json::to_vec(body).unwrap_or_default());
        Creation {
            user_id: user_id.to_string(),
            key: key.0,
            fingerprint: hex::encode(hasher.finalize()),
        }
    }

    /// The first response when the key was seen before, else a write
    /// transaction to create in. The key is claimed in that transaction
    /// (an unfinished record): a retry sent meanwhile waits for it to
    /// commit (on the key's unique index on PostgreSQL; for the write lock
    /// on SQLite), then answers what it answered.
    pub async fn begin(&self, db: &Db) -> Result<Attempt> {
        let Some(key) = &self.key else {
            return Ok(Attempt::Fresh(db.begin_write().await?));
        };
        if let Some(answer) = self.replay(db, key).await? {
            return Ok(Attempt::Replay(answer));
        }
        let mut tx = db.begin_write().await?;
        let now = now_ms();
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND created_at < $3",
        )
        .bind(&self.user_id)
        .bind(key)
        .bind(now - KEEP_MS)
        .execute(&mut *tx)
        .await?;
        let claimed = sqlx::query(
            "INSERT INTO idempotency_keys (user_id, key, fingerprint, status, body, created_at)
             VALUES ($1, $2, $3, 0, '', $4)",
        )
        .bind(&self.user_id)
        .bind(key)
        .bind(&self.fingerprint)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match claimed {
            Ok(_) => Ok(Attempt::Fresh(tx)),
            // Claimed and committed by a concurrent request: its answer.
            Err(err) if is_unique_violation(&err) => {
                tx.rollback().await?;
                self.replay(db, key)
                    .await?
                    .map(Attempt::Replay)
                    .ok_or_else(|| anyhow::anyhow!("idempotency record vanished").into())
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Records `created` as the answer to this key in `tx`, commits, and
    /// answers 201 with it.
    pub async fn commit(&self, _db: &Db, mut tx: Tx, created: &impl Serialize) -> Result<Answer> {
        let body = serde_json::to_string(created).map_err(anyhow::Error::from)?;
        if let Some(key) = &self.key {
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
                .bind(now_ms() - KEEP_MS)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE idempotency_keys SET status = $3, body = $4 WHERE user_id = $1 AND key = $2",
            )
            .bind(&self.user_id)
            .bind(key)
            .bind(i64::from(StatusCode::CREATED.as_u16()))
            .bind(&body)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Answer {
            status: StatusCode::CREATED,
            body,
            replayed: false,
        })
    }

    async fn replay(&self, db: &Db, key: &str) -> Result<Option<Answer>> {
        let row = sqlx::query(
            "SELECT fingerprint, status, body FROM idempotency_keys
         WHERE user_id = $1 AND key = $2 AND created_at >= $3 AND status > 0",
        )
        .bind(&self.user_id)
        .bind(key)
        .bind(now_ms() - KEEP_MS)
        .fetch_optional(&db.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let stored: String = row.try_get("fingerprint")?;
        if stored != self.fingerprint {
            return Err(Error::conflict(
                "idempotency_key_reused",
                "Cette clé Idempotency-Key a déjà servi pour une autre demande : utilisez une nouvelle clé.",
            ));
        }
        let status: i64 = row.try_get("status")?;
        let status = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
        Ok(Some(Answer {
            status,
            body: row.try_get("body")?,
            replayed: true,
        }))
    }
}

fn json_response(status: StatusCode, body: String, replayed: bool) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

/// Erasing an account: its recorded answers go.
pub async fn erase_user(tx: &mut Tx, user_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
