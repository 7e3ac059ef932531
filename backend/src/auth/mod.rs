//! Passwordless sign-in and accounts: a 6-digit code sent by SMS or
//! e-mail, exchanged for a bearer token; the profile; roles per territory.
//! Codes and tokens are stored hashed; codes expire after 10 minutes and
//! allow 5 attempts; requests are rate-limited per contact and per IP
//! address through the database, so that the limits hold across instances.
//!
//! Owns `users`, `user_roles`, `sessions`, `sign_in_codes` and
//! `rate_limit_hits` (see [`accounts`] and [`sign_in`]).

pub mod accounts;
pub mod client_ip;
pub mod sign_in;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use lotocar_shared::api::{AuthSession, AuthStart, AuthStarted, AuthVerify, Me, MePatch, Problem};
use lotocar_shared::people::Role;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::db::Db;
use crate::error::{ApiError, ApiJson, ApiResult, Error, Result};
use crate::territories::{Territories, Territory};
use crate::transports::{Mail, Sms};

pub use accounts::{Reach, public_names};
pub use lotocar_shared::api::RoleGrant;

/// What sign-in needs: the database, the code transports, the limits.
#[derive(Clone)]
pub struct Auth {
    pub db: Db,
    pub territories: Territories,
    pub settings: Arc<Settings>,
    code_secret: Arc<Vec<u8>>,
    sms: Arc<Sms>,
    mail: Arc<Mail>,
}

/// Sign-in settings (from the server's configuration).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Development: the code comes back in the answer.
    pub dev: bool,
    /// Name at the start of the code's text.
    pub brand: String,
    pub session_days: u32,
    pub codes_per_contact_hour: u32,
    pub signin_per_ip_hour: u32,
    /// The reverse proxies whose `X-Forwarded-For` hops are believed.
    pub trusted_proxies: Vec<client_ip::Cidr>,
    /// What the web shell of this process sends to be believed about the
    /// browser it serves (random, made at start).
    pub shell_key: String,
}

impl Auth {
    /// The key of the code HMAC is made once and shared by every instance
    /// through the database.
    pub async fn new(
        db: Db,
        territories: Territories,
        settings: Settings,
        sms: Arc<Sms>,
        mail: Arc<Mail>,
    ) -> anyhow::Result<Auth> {
        let secret = crate::db::secret(&db, "sign_in_code_hmac", || {
            use rand::Rng;
            let mut bytes = [0u8; 32];
            rand::rng().fill(&mut bytes);
            hex::encode(bytes)
        })
        .await?;
        Ok(Auth {
            db,
            territories,
            settings: Arc::new(settings),
            code_secret: Arc::new(hex::decode(secret)?),
            sms,
            mail,
        })
    }
}

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Auth: FromRef<S>,
{
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
    State(auth): State<Auth>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<AuthStart>,
) -> ApiResult<impl IntoResponse> {
    let contact = body.validate()?;
    let started = sign_in::send_code(&auth, &contact, ip).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(started)))
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
    State(auth): State<Auth>,
    ClientIp(ip): ClientIp,
    Via(via): Via,
    ApiJson(body): ApiJson<AuthVerify>,
) -> ApiResult<axum::Json<AuthSession>> {
    let (contact, code) = body.validate()?;
    Ok(axum::Json(
        sign_in::verify(&auth, &contact, &code, ip, via).await?,
    ))
}

/// Ends this session (the token stops working).
#[utoipa::path(post, path = "/api/v1/auth/signout", tag = "auth",
    security(("bearer" = [])),
    responses((status = 204, description = "Signed out"), (status = 401, body = Problem)))]
async fn sign_out(State(auth): State<Auth>, user: AuthUser) -> ApiResult<StatusCode> {
    sign_in::end_session(&auth.db, &user.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// My profile.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
async fn get_me(State(auth): State<Auth>, user: AuthUser) -> ApiResult<axum::Json<Me>> {
    Ok(axum::Json(
        accounts::me_with(&auth.db, &user.id, Some(user.roles))
            .await
            .map_err(gone)?,
    ))
}

/// An account that vanished under its session: not signed in (401).
fn gone(err: Error) -> ApiError {
    match err {
        Error::NotFound(_) => ApiError::Unauthorized,
        other => other.into(),
    }
}

/// Changes my display name, how I am notified, and whether my phone or
/// e-mail may be shown to the other party of a confirmed booking.
#[utoipa::path(patch, path = "/api/v1/me", tag = "auth",
    security(("bearer" = [])),
    request_body = MePatch,
    responses((status = 200, body = Me), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn patch_me(
    State(auth): State<Auth>,
    user: AuthUser,
    ApiJson(body): ApiJson<MePatch>,
) -> ApiResult<axum::Json<Me>> {
    let change = body.validate()?;
    Ok(axum::Json(
        accounts::change_profile(&auth.db, &user.id, change)
            .await
            .map_err(gone)?,
    ))
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

    /// Relay, coordinator or admin of the territory.
    pub fn is_staff(&self, territory_id: &str) -> bool {
        [Role::Relay, Role::Coordinator, Role::Admin]
            .into_iter()
            .any(|r| self.has_role(r, territory_id))
    }

    /// Coordinator or admin of the territory.
    pub fn is_coordinator(&self, territory_id: &str) -> bool {
        self.has_role(Role::Coordinator, territory_id) || self.has_role(Role::Admin, territory_id)
    }

    /// The territory, for a relay, coordinator or admin of it: 404 for a
    /// territory that does not exist, 403 for someone who has no role in it.
    pub async fn require_staff(
        &self,
        territories: &Territories,
        territory_id: &str,
    ) -> Result<Territory> {
        require(
            territories,
            territory_id,
            self.is_staff(territory_id),
            "Réservé aux relais et aux coordinateurs de ce territoire.",
        )
        .await
    }

    /// The territory, for a coordinator or admin of it (as
    /// [`AuthUser::require_staff`]).
    pub async fn require_coordinator(
        &self,
        territories: &Territories,
        territory_id: &str,
    ) -> Result<Territory> {
        require(
            territories,
            territory_id,
            self.is_coordinator(territory_id),
            "Réservé aux coordinateurs de ce territoire.",
        )
        .await
    }
}

async fn require(
    territories: &Territories,
    territory_id: &str,
    allowed: bool,
    refusal: &str,
) -> Result<Territory> {
    let territory = territories
        .get(territory_id)
        .await?
        .ok_or_else(|| Error::NotFound("Ce territoire n'existe pas.".into()))?;
    if !allowed {
        return Err(Error::Forbidden(refusal.into()));
    }
    Ok(territory)
}

impl<S> FromRequestParts<S> for AuthUser
where
    S: Send + Sync,
    Auth: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        let auth = Auth::from_ref(state);
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
        sign_in::authenticate(&auth, token)
            .await?
            .ok_or(ApiError::Unauthorized)
    }
}

/// The client's IP address (see [`client_ip`]): the peer, the right-most
/// `X-Forwarded-For` hop not added by a trusted proxy, or, for the web
/// shell of this process, the browser it serves.
pub struct ClientIp(pub IpAddr);

impl<S> FromRequestParts<S> for ClientIp
where
    S: Send + Sync,
    Auth: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        let settings = &Auth::from_ref(state).settings;
        let peer = peer_of(parts);
        if let Some(browser) = client_ip::from_shell(peer, &parts.headers, &settings.shell_key) {
            return Ok(ClientIp(browser));
        }
        Ok(ClientIp(client_ip::client_ip(
            peer,
            &parts.headers,
            &settings.trusted_proxies,
        )))
    }
}

/// The address the connection comes from (loopback when not known).
fn peer_of(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

/// How the request came: from this process's web shell (for a browser,
/// with the shell's key) or from the app.
pub struct Via(pub accounts::Joined);

impl<S> FromRequestParts<S> for Via
where
    S: Send + Sync,
    Auth: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        let settings = &Auth::from_ref(state).settings;
        let shell = client_ip::from_shell(peer_of(parts), &parts.headers, &settings.shell_key);
        Ok(Via(if shell.is_some() {
            accounts::Joined::Web
        } else {
            accounts::Joined::App
        }))
    }
}
