//! Passwordless sign-in: a 6-digit code sent by SMS or e-mail, exchanged
//! for a bearer token. Codes and tokens are stored hashed; codes expire
//! after 10 minutes and allow 5 attempts; requests are rate-limited per
//! contact and per IP address through the database, so that the limits
//! hold across server instances.

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use base64::Engine;
use hmac::{Hmac, Mac};
use lotocar_shared::api::{
    AuthSession, AuthStart, AuthStarted, AuthVerify, Me, MePatch, Problem, RoleGrant, UserSummary,
};
use lotocar_shared::contact::Contact;
use lotocar_shared::people::{Channel, Role};
use rand::Rng;
use sha2::{Digest, Sha256};
use sqlx::Row;
use subtle::ConstantTimeEq;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::{CODE_MAX_ATTEMPTS, CODE_TTL_SECONDS};
use crate::db::{Db, from_ms, new_id, now_ms};
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::http::ClientIp;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start))
        .routes(routes!(verify))
        .routes(routes!(sign_out))
        .routes(routes!(get_me, patch_me))
}

// ---------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------

/// Sends a sign-in code to a phone number or an e-mail address.
#[utoipa::path(post, path = "/api/v1/auth/start", tag = "auth",
    request_body = AuthStart,
    responses(
        (status = 202, description = "Code sent", body = AuthStarted),
        (status = 422, description = "Not a phone number or e-mail", body = Problem),
        (status = 429, description = "Too many codes asked", body = Problem),
    ))]
async fn start(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<AuthStart>,
) -> ApiResult<impl IntoResponse> {
    let contact = body.validate()?;
    let hour = 3_600_000;
    rate_limit(
        &state.db,
        &format!("ip:{ip}"),
        state.config.signin_per_ip_hour,
        hour,
        "Trop de demandes de connexion depuis cette adresse.",
    )
    .await?;
    rate_limit(
        &state.db,
        &format!("contact:{contact}"),
        state.config.codes_per_contact_hour,
        hour,
        "Trop de codes demandés pour ce contact.",
    )
    .await?;

    let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
    let now = now_ms();
    sqlx::query(
        "INSERT INTO sign_in_codes (contact, code_hash, expires_at, attempts, created_at)
         VALUES ($1, $2, $3, 0, $4)
         ON CONFLICT (contact) DO UPDATE SET code_hash = $2, expires_at = $3, attempts = 0, created_at = $4",
    )
    .bind(contact.as_str())
    .bind(state.hash_code(&contact, &code))
    .bind(now + i64::from(CODE_TTL_SECONDS) * 1000)
    .bind(now)
    .execute(&state.db.writer)
    .await?;

    // Sent at once through the SMS or e-mail transport (the default ones
    // write to the log, where an operator can read the code).
    let text = format!(
        "{} : votre code de connexion est {code}. Il est valable 10 minutes. Ne le donnez à personne.",
        state.config.brand
    );
    let (channel, shown, sent) = match &contact {
        Contact::Phone(p) => (
            "SMS",
            format!("au {}", p.national()),
            state.sms.send(p.as_str(), &text).await,
        ),
        Contact::Email(e) => (
            "e-mail",
            format!("à {}", e.as_str()),
            state
                .mail
                .send(e.as_str(), "Votre code de connexion", &text)
                .await,
        ),
    };
    if let Err(err) = sent {
        tracing::error!(error = %err, "sign-in code not sent");
        return Err(ApiError::Unavailable(
            "Le code n'a pas pu être envoyé pour le moment. Réessayez dans quelques minutes."
                .into(),
        ));
    }

    Ok((
        StatusCode::ACCEPTED,
        axum::Json(AuthStarted {
            message: format!(
                "Un code à 6 chiffres a été envoyé par {channel} {shown}. Il est valable 10 minutes."
            ),
            expires_in_seconds: CODE_TTL_SECONDS,
            dev_code: state.config.dev.then_some(code),
        }),
    ))
}

/// Exchanges a sign-in code for a bearer token; creates the account on
/// first sign-in.
#[utoipa::path(post, path = "/api/v1/auth/verify", tag = "auth",
    request_body = AuthVerify,
    responses(
        (status = 200, description = "Signed in", body = AuthSession),
        (status = 422, description = "Wrong or expired code", body = Problem),
        (status = 429, description = "Too many attempts", body = Problem),
    ))]
async fn verify(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<AuthVerify>,
) -> ApiResult<axum::Json<AuthSession>> {
    let (contact, code) = body.validate()?;
    rate_limit(
        &state.db,
        &format!("ip:{ip}"),
        state.config.signin_per_ip_hour,
        3_600_000,
        "Trop de tentatives de connexion depuis cette adresse.",
    )
    .await?;

    // Each attempt is spent atomically, so that parallel guesses cannot
    // exceed the allowance.
    let now = now_ms();
    let row = sqlx::query(
        "UPDATE sign_in_codes SET attempts = attempts + 1
         WHERE contact = $1 AND attempts < $2 AND expires_at > $3
         RETURNING code_hash, attempts",
    )
    .bind(contact.as_str())
    .bind(CODE_MAX_ATTEMPTS)
    .bind(now)
    .fetch_optional(&state.db.writer)
    .await?;
    let Some(row) = row else {
        return Err(ApiError::field(
            "code",
            "Ce code n'est plus valable (expiré, déjà utilisé ou trop d'essais). Demandez un nouveau code.",
        ));
    };
    let stored: String = row.try_get("code_hash")?;
    let attempts: i64 = row.try_get("attempts")?;
    let expected = state.hash_code(&contact, &code);
    if !bool::from(stored.as_bytes().ct_eq(expected.as_bytes())) {
        let left = CODE_MAX_ATTEMPTS - attempts;
        return Err(ApiError::field(
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
    // Only the request that consumes the code signs in.
    let consumed = sqlx::query("DELETE FROM sign_in_codes WHERE contact = $1 AND code_hash = $2")
        .bind(contact.as_str())
        .bind(&stored)
        .execute(&state.db.writer)
        .await?
        .rows_affected();
    if consumed == 0 {
        return Err(ApiError::field(
            "code",
            "Ce code vient d'être utilisé. Demandez un nouveau code.",
        ));
    }

    let user_id = find_or_create_user(&state.db, &contact).await?;
    let token = new_session(&state.db, &user_id, state.config.session_days).await?;
    let user = load_user(&state.db, &user_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("user {user_id} vanished after sign-in"))?;
    Ok(axum::Json(AuthSession {
        token,
        user: UserSummary {
            id: user.id.clone(),
            display_name: user.display_name.clone(),
            roles: user.roles.clone(),
        },
    }))
}

/// Ends this session (the token stops working).
#[utoipa::path(post, path = "/api/v1/auth/signout", tag = "auth",
    security(("bearer" = [])),
    responses((status = 204, description = "Signed out"), (status = 401, body = Problem)))]
async fn sign_out(State(state): State<AppState>, user: AuthUser) -> ApiResult<StatusCode> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(&user.token_hash)
        .execute(&state.db.writer)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// My profile.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
async fn get_me(State(state): State<AppState>, user: AuthUser) -> ApiResult<axum::Json<Me>> {
    load_me(&state.db, &user.id).await.map(axum::Json)
}

/// Changes my display name, how I am notified, and whether my phone or
/// e-mail may be shown to the other party of a confirmed booking.
#[utoipa::path(patch, path = "/api/v1/me", tag = "auth",
    security(("bearer" = [])),
    request_body = MePatch,
    responses((status = 200, body = Me), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn patch_me(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(body): ApiJson<MePatch>,
) -> ApiResult<axum::Json<Me>> {
    let change = body.validate()?;
    let current = load_me(&state.db, &user.id).await?;
    let channel = change
        .preferred_channel
        .unwrap_or(current.preferred_channel);
    let reachable = match channel {
        Channel::Sms => current.phone.is_some(),
        Channel::Email => current.email.is_some(),
        Channel::Push | Channel::Relay => true,
    };
    if !reachable {
        return Err(ApiError::field(
            "preferred_channel",
            match channel {
                Channel::Sms => {
                    "Pour être prévenu par SMS, connectez-vous avec votre numéro de portable."
                }
                _ => "Pour être prévenu par e-mail, connectez-vous avec votre adresse e-mail.",
            },
        ));
    }
    sqlx::query(
        "UPDATE users SET display_name = $2, preferred_channel = $3, share_phone = $4,
                share_email = $5, updated_at = $6
         WHERE id = $1",
    )
    .bind(&user.id)
    .bind(
        change
            .display_name
            .as_ref()
            .map(|n| n.as_str().to_string())
            .unwrap_or(current.display_name),
    )
    .bind(channel.code())
    .bind(i64::from(change.share_phone.unwrap_or(current.share_phone)))
    .bind(i64::from(change.share_email.unwrap_or(current.share_email)))
    .bind(now_ms())
    .execute(&state.db.writer)
    .await?;
    load_me(&state.db, &user.id).await.map(axum::Json)
}

// ---------------------------------------------------------------------------
// The signed-in user, as an extractor
// ---------------------------------------------------------------------------

/// The caller, authenticated by `Authorization: Bearer <token>`. A handler
/// that takes an `AuthUser` answers 401 to anyone else.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: String,
    pub display_name: String,
    pub roles: Vec<RoleGrant>,
    token_hash: String,
}

impl AuthUser {
    pub fn has_role(&self, role: Role, territory_id: &str) -> bool {
        self.roles
            .iter()
            .any(|g| g.role == role && g.territory_id == territory_id)
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::Unauthorized)?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::Unauthorized)?;
        let token_hash = hash_token(token);
        let now = now_ms();
        let row = session(state, &token_hash)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let id: String = row.try_get("user_id")?;
        let last_used: i64 = row.try_get("last_used_at")?;
        // Sliding expiry, written at most once an hour per session.
        if now - last_used > 3_600_000 {
            let expires = now + i64::from(state.config.session_days) * 86_400_000;
            sqlx::query(
                "UPDATE sessions SET last_used_at = $2, expires_at = $3 WHERE token_hash = $1",
            )
            .bind(&token_hash)
            .bind(now)
            .bind(expires)
            .execute(&state.db.writer)
            .await?;
            sqlx::query("UPDATE users SET last_seen_at = $2 WHERE id = $1")
                .bind(&id)
                .bind(now)
                .execute(&state.db.writer)
                .await?;
        }
        Ok(AuthUser {
            roles: load_roles(&state.db, &id).await?,
            display_name: row.try_get("display_name")?,
            id,
            token_hash,
        })
    }
}

// ---------------------------------------------------------------------------
// Storage
// ---------------------------------------------------------------------------

async fn session(
    state: &AppState,
    token_hash: &str,
) -> Result<Option<sqlx::any::AnyRow>, sqlx::Error> {
    sqlx::query(
        "SELECT s.user_id, s.last_used_at, u.display_name
         FROM sessions s JOIN users u ON u.id = s.user_id
         WHERE s.token_hash = $1 AND s.expires_at > $2",
    )
    .bind(token_hash)
    .bind(now_ms())
    .fetch_optional(&state.db.pool)
    .await
}

/// The user a bearer token belongs to (for the event stream, whose
/// browser client passes it in the query string).
pub async fn user_for_token(state: &AppState, token: &str) -> ApiResult<Option<String>> {
    Ok(session(state, &hash_token(token))
        .await?
        .map(|row| row.try_get("user_id"))
        .transpose()?)
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

/// Records one request in `bucket`; refuses it with 429 when `limit`
/// requests were already made in the last `window_ms`.
pub async fn rate_limit(
    db: &Db,
    bucket: &str,
    limit: u32,
    window_ms: i64,
    detail: &str,
) -> ApiResult<()> {
    let now = now_ms();
    sqlx::query("DELETE FROM rate_limit_hits WHERE bucket = $1 AND at <= $2")
        .bind(bucket)
        .bind(now - window_ms)
        .execute(&db.writer)
        .await?;
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM rate_limit_hits WHERE bucket = $1",
    )
    .bind(bucket)
    .fetch_one(&db.pool)
    .await?;
    let count: i64 = row.try_get("n")?;
    if count >= i64::from(limit) {
        let oldest: Option<i64> = row.try_get("oldest")?;
        let wait_ms = oldest.unwrap_or(now) + window_ms - now;
        return Err(ApiError::TooManyRequests {
            retry_after: (wait_ms.max(1000) as u64).div_ceil(1000),
            detail: detail.to_string(),
        });
    }
    sqlx::query("INSERT INTO rate_limit_hits (bucket, at) VALUES ($1, $2)")
        .bind(bucket)
        .bind(now)
        .execute(&db.writer)
        .await?;
    Ok(())
}

/// The id of the user who signs in with `contact`, created if new.
pub async fn find_or_create_user(db: &Db, contact: &Contact) -> Result<String, sqlx::Error> {
    let (column_lookup, insert) = match contact {
        Contact::Phone(_) => (
            "SELECT id FROM users WHERE phone = $1",
            "INSERT INTO users (id, display_name, phone, email, preferred_channel, created_at, updated_at, last_seen_at)
             VALUES ($2, '', $1, NULL, 'sms', $3, $3, $3) ON CONFLICT DO NOTHING",
        ),
        Contact::Email(_) => (
            "SELECT id FROM users WHERE email = $1",
            "INSERT INTO users (id, display_name, phone, email, preferred_channel, created_at, updated_at, last_seen_at)
             VALUES ($2, '', NULL, $1, 'email', $3, $3, $3) ON CONFLICT DO NOTHING",
        ),
    };
    if let Some(row) = sqlx::query(column_lookup)
        .bind(contact.as_str())
        .fetch_optional(&db.pool)
        .await?
    {
        return row.try_get("id");
    }
    sqlx::query(insert)
        .bind(contact.as_str())
        .bind(new_id())
        .bind(now_ms())
        .execute(&db.writer)
        .await?;
    // Whoever won a concurrent first sign-in, this reads their row.
    sqlx::query(column_lookup)
        .bind(contact.as_str())
        .fetch_one(&db.pool)
        .await?
        .try_get("id")
}

/// Opens a session for `user_id` and returns its bearer token (256 random
/// bits, base64url); only its hash is stored.
pub async fn new_session(db: &Db, user_id: &str, days: u32) -> Result<String, sqlx::Error> {
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
    .execute(&db.writer)
    .await?;
    Ok(token)
}

pub async fn load_roles(db: &Db, user_id: &str) -> Result<Vec<RoleGrant>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT role, territory_id FROM user_roles WHERE user_id = $1 ORDER BY territory_id, role",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    let mut grants = Vec::with_capacity(rows.len());
    for row in rows {
        let role: String = row.try_get("role")?;
        if let Some(role) = Role::from_code(&role) {
            grants.push(RoleGrant {
                role,
                territory_id: row.try_get("territory_id")?,
            });
        }
    }
    Ok(grants)
}

async fn load_user(db: &Db, user_id: &str) -> ApiResult<Option<Me>> {
    let Some(row) = sqlx::query(
        "SELECT id, display_name, phone, email, preferred_channel, share_phone, share_email, created_at
         FROM users WHERE id = $1",
    )
    .bind(user_id)
    .fetch_optional(&db.pool)
    .await?
    else {
        return Ok(None);
    };
    let channel: String = row.try_get("preferred_channel")?;
    Ok(Some(Me {
        id: row.try_get("id")?,
        display_name: row.try_get("display_name")?,
        phone: row.try_get("phone")?,
        email: row.try_get("email")?,
        roles: load_roles(db, user_id).await?,
        preferred_channel: Channel::from_code(&channel).unwrap_or(Channel::Push),
        share_phone: row.try_get::<i64, _>("share_phone")? != 0,
        share_email: row.try_get::<i64, _>("share_email")? != 0,
        created_at: from_ms(row.try_get("created_at")?),
    }))
}

pub async fn load_me(db: &Db, user_id: &str) -> ApiResult<Me> {
    load_user(db, user_id).await?.ok_or(ApiError::Unauthorized)
}

/// Grants `role` in `territory_id` to whoever signs in with `contact`
/// (the account is created if it does not exist yet).
pub async fn grant_role(
    db: &Db,
    contact: &Contact,
    role: Role,
    territory_id: &str,
) -> anyhow::Result<String> {
    if crate::territories::get(db, territory_id).await?.is_none() {
        anyhow::bail!(
            "unknown territory {territory_id}: create it first (lotocar admin territory)"
        );
    }
    let user_id = find_or_create_user(db, contact).await?;
    sqlx::query(
        "INSERT INTO user_roles (user_id, role, territory_id, granted_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, role, territory_id) DO NOTHING",
    )
    .bind(&user_id)
    .bind(role.code())
    .bind(territory_id)
    .bind(now_ms())
    .execute(&db.writer)
    .await?;
    Ok(user_id)
}

/// Sets the display name of a user (used by the demo seed and relays).
pub async fn set_display_name(db: &Db, user_id: &str, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET display_name = $2, updated_at = $3 WHERE id = $1")
        .bind(user_id)
        .bind(name)
        .bind(now_ms())
        .execute(&db.writer)
        .await?;
    Ok(())
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
