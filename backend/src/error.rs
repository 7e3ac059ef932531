//! Errors. Operations return [`Error`], what a person or a partner can be
//! refused (or a failure of ours), whoever calls them; the HTTP edge turns
//! it into [`ApiError`], rendered as RFC 9457 problem details with a French
//! `detail`. The extractors here turn malformed requests into such problems
//! instead of plain-text rejections.

use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lotocar_shared::api::Problem;
use lotocar_shared::validation::{FieldError, Invalid};
use serde::de::DeserializeOwned;

pub type ApiResult<T> = std::result::Result<T, ApiError>;

/// What an operation returns.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an operation refused, or failed. Every variant is a problem a
/// person can act on, except `Internal`, whose details go to the log.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Some fields are wrong (every one listed, with its path).
    #[error("validation failed: {0}")]
    Invalid(Invalid),
    /// No such thing, or not yours.
    #[error("not found: {0}")]
    NotFound(String),
    /// Not allowed to.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The state forbids it; `code` is a stable reason.
    #[error("conflict {code}: {detail}")]
    Conflict { code: &'static str, detail: String },
    /// Asked too often; try again in `retry_after` seconds.
    #[error("rate limited for {retry_after}s")]
    TooManyRequests { retry_after: u64, detail: String },
    /// A service we depend on is down.
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Error::Invalid(Invalid::field(field, message))
    }

    pub fn not_found(what: &str) -> Self {
        Error::NotFound(what.to_string())
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Error::Conflict {
            code,
            detail: detail.into(),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::Internal(err.into())
    }
}

impl From<Invalid> for Error {
    fn from(invalid: Invalid) -> Self {
        Error::Invalid(invalid)
    }
}

impl From<Error> for ApiError {
    fn from(err: Error) -> Self {
        match err {
            Error::Invalid(invalid) => ApiError::Validation(invalid),
            Error::NotFound(detail) => ApiError::NotFound(detail),
            Error::Forbidden(detail) => ApiError::Forbidden(detail),
            Error::Conflict { code, detail } => ApiError::Conflict { code, detail },
            Error::TooManyRequests {
                retry_after,
                detail,
            } => ApiError::TooManyRequests {
                retry_after,
                detail,
            },
            Error::Unavailable(detail) => ApiError::Unavailable(detail),
            Error::Internal(err) => ApiError::Internal(err),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 422: the body is well-formed but some fields are wrong.
    #[error("validation failed: {0}")]
    Validation(Invalid),
    /// 400: the request cannot be read at all.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401: no valid bearer token.
    #[error("not signed in")]
    Unauthorized,
    /// 403: signed in, but not allowed.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 404: no such thing, or not yours.
    #[error("not found: {0}")]
    NotFound(String),
    /// 409: the state forbids it; `code` is a stable reason.
    #[error("conflict {code}: {detail}")]
    Conflict { code: &'static str, detail: String },
    /// 413
    #[error("payload too large")]
    PayloadTooLarge,
    /// 415
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 429, with the number of seconds to wait.
    #[error("rate limited for {retry_after}s")]
    TooManyRequests { retry_after: u64, detail: String },
    /// 503: a dependency is down.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// 500: a bug or an outage; details go to the log, not to the client.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        ApiError::Internal(err.into())
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        ApiError::Validation(invalid)
    }
}

impl ApiError {
    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(what.to_string())
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(Invalid::field(field, message))
    }

    fn parts(&self) -> (StatusCode, &'static str, &'static str, String) {
        match self {
            ApiError::Validation(invalid) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Données invalides",
                if invalid.errors.len() == 1 {
                    "Un champ est à corriger : voir « errors ».".to_string()
                } else {
                    format!("{} champs sont à corriger : voir « errors ».", invalid.errors.len())
                },
            ),
            ApiError::BadRequest(detail) => (
                StatusCode::BAD_REQUEST,
                "bad-request",
                "Requête illisible",
                detail.clone(),
            ),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Connexion nécessaire",
                "Connectez-vous avec le code reçu par SMS ou par e-mail, puis réessayez.".into(),
            ),
            ApiError::Forbidden(detail) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "Action non autorisée",
                detail.clone(),
            ),
            ApiError::NotFound(detail) => (
                StatusCode::NOT_FOUND,
                "not-found",
                "Introuvable",
                detail.clone(),
            ),
            ApiError::Conflict { detail, .. } => (
                StatusCode::CONFLICT,
                "conflict",
                "Action impossible dans l'état actuel",
                detail.clone(),
            ),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Requête trop volumineuse",
                "La requête est trop volumineuse : envoyez moins de données.".into(),
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Format non pris en charge",
                "Envoyez le corps de la requête en JSON, avec l'en-tête Content-Type: application/json.".into(),
            ),
            ApiError::TooManyRequests { retry_after, detail } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Trop de demandes",
                format!("{detail} Réessayez dans {}.", french_duration(*retry_after)),
            ),
            ApiError::Unavailable(detail) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service momentanément indisponible",
                detail.clone(),
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Erreur du serveur",
                "Une erreur inattendue s'est produite de notre côté. Réessayez dans quelques minutes ; si elle persiste, contactez votre relais.".into(),
            ),
        }
    }

    pub fn problem(&self) -> Problem {
        let (status, slug, title, detail) = self.parts();
        Problem {
            type_: format!("/problems/{slug}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail,
            errors: match self {
                ApiError::Validation(invalid) => invalid.errors.clone(),
                _ => Vec::new(),
            },
            code: match self {
                ApiError::Conflict { code, .. } => Some((*code).to_string()),
                _ => None,
            },
        }
    }
}

/// "2 minutes", "45 secondes", "1 heure".
fn french_duration(seconds: u64) -> String {
    let plural = |n: u64, word: &str| format!("{n} {word}{}", if n > 1 { "s" } else { "" });
    if seconds < 60 {
        plural(seconds.max(1), "seconde")
    } else if seconds < 3600 {
        plural(seconds.div_ceil(60), "minute")
    } else {
        plural(seconds.div_ceil(3600), "heure")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(err) = &self {
            tracing::error!(error = ?err, "internal error");
        }
        let problem = self.problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self {
            ApiError::TooManyRequests { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            ApiError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            // The rest of the body was not read: the connection cannot be
            // reused, and the client must know it.
            ApiError::PayloadTooLarge => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}

// ---------------------------------------------------------------------------
// Extractors
// ---------------------------------------------------------------------------

/// A JSON body whose faults come back as problem details: 415 without a
/// JSON content type, 413 when too large, 400 when not JSON, 422 with the
/// faulty field's path and a French message when a field is missing or of
/// the wrong type.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> ApiResult<Self> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::BadRequest("Le corps de la requête n'a pas pu être lu.".into())
                }
            })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Reads `bytes` as a `T`, with problem-details errors.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let inner = err.inner();
        match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                ApiError::BadRequest(format!(
                    "Le corps de la requête n'est pas du JSON valide (ligne {}, colonne {}).",
                    inner.line(),
                    inner.column()
                ))
            }
            serde_json::error::Category::Io => {
                ApiError::BadRequest("Le corps de la requête n'a pas pu être lu.".into())
            }
            serde_json::error::Category::Data => {
                // "pauses[0].until" → "pauses.0.until", as our own validation writes it.
                let path = err.path().to_string().replace('[', ".").replace(']', "");
                let path = if path == "." { String::new() } else { path };
                let (field, message) =
                    explain_serde_error(&path, &strip_position(&inner.to_string()));
                ApiError::Validation(Invalid {
                    errors: vec![FieldError { field, message }],
                })
            }
        }
    })?;
    de.end().map_err(|e| {
        ApiError::BadRequest(format!(
            "Le corps de la requête contient des caractères après le JSON (ligne {}, colonne {}).",
            e.line(),
            e.column()
        ))
    })?;
    Ok(value)
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn between_backticks(s: &str) -> Option<&str> {
    let start = s.find('`')? + 1;
    let end = start + s[start..].find('`')?;
    Some(&s[start..end])
}

fn join_path(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

/// Turns serde's English messages into a field path and a French message.
/// Messages our own types produce are French already and pass through.
fn explain_serde_error(path: &str, message: &str) -> (String, String) {
    if let Some(rest) = message.strip_prefix("missing field ") {
        let field = between_backticks(rest).unwrap_or(rest);
        return (join_path(path, field), "Ce champ est obligatoire.".into());
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let field = between_backticks(rest).unwrap_or(rest);
        // The path already ends with the unknown field.
        let at = if path == field || path.ends_with(&format!(".{field}")) {
            path.to_string()
        } else {
            join_path(path, field)
        };
        return (at, "Champ inconnu : vérifiez son nom ou retirez-le.".into());
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let value = between_backticks(rest).unwrap_or(rest);
        let expected: Vec<&str> = rest
            .split_once("expected ")
            .map(|(_, e)| e.split('`').skip(1).step_by(2).collect())
            .unwrap_or_default();
        let mut text = format!("Valeur inconnue « {value} »");
        if !expected.is_empty() {
            text.push_str(&format!(" : valeurs possibles {}.", expected.join(", ")));
        } else {
            text.push('.');
        }
        return (path.to_string(), text);
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let expected = rest.split_once("expected ").map(|(_, e)| e).unwrap_or("");
        return (
            path.to_string(),
            format!("Valeur invalide : {}.", french_expected(expected)),
        );
    }
    if let Some(rest) = message.strip_prefix("invalid value: ") {
        let expected = rest.split_once("expected ").map(|(_, e)| e).unwrap_or("");
        return (
            path.to_string(),
            format!("Valeur hors limites : {}.", french_expected(expected)),
        );
    }
    if message.starts_with("invalid length") {
        return (path.to_string(), "Nombre d'éléments invalide.".into());
    }
    (path.to_string(), message.to_string())
}

fn french_expected(expected: &str) -> &'static str {
    let e = expected.trim();
    if e.starts_with("u8")
        || e.starts_with("u16")
        || e.starts_with("u32")
        || e.starts_with("u64")
        || e.starts_with("i16")
        || e.starts_with("i32")
        || e.starts_with("i64")
        || e.contains("integer")
    {
        "un nombre entier est attendu"
    } else if e.starts_with("f64") || e.starts_with("f32") || e.contains("float") {
        "un nombre est attendu"
    } else if e.contains("bool") {
        "true ou false est attendu"
    } else if e.contains("string") || e.contains("str") {
        "un texte entre guillemets est attendu"
    } else if e.contains("sequence") {
        "une liste est attendue"
    } else if e.contains("struct") || e.contains("map") || e.contains("internally tagged") {
        "un objet est attendu"
    } else {
        "vérifiez le format de cette valeur"
    }
}

/// Query-string parameters, with a 400 problem when they cannot be read.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|rejection: QueryRejection| {
                let text = rejection.body_text();
                let message = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                let (field, message) = explain_serde_error("", message);
                let field = if field.is_empty() {
                    message
                        .split(':')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_string()
                } else {
                    field
                };
                ApiError::Validation(Invalid {
                    errors: vec![FieldError {
                        field,
                        message: if message.contains("invalid digit") {
                            "Valeur invalide : un nombre entier est attendu.".into()
                        } else {
                            message
                        },
                    }],
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lotocar_shared::api::OfferInput;

    fn problem_of(body: &str) -> Problem {
        parse_json::<OfferInput>(body.as_bytes())
            .unwrap_err()
            .problem()
    }

    #[test]
    fn serde_errors_become_french_field_errors() {
        let p = problem_of("{");
        assert_eq!(p.status, 400);
        assert!(p.detail.contains("JSON"));

        let p = problem_of(
            r#"{"destination":{"place_id":"x"},"schedule":{"kind":"once","departure":"2026-12-03T07:30:00+01:00"}}"#,
        );
        assert_eq!(p.status, 422);
        assert_eq!(p.errors[0].field, "origin");
        assert_eq!(p.errors[0].message, "Ce champ est obligatoire.");

        let p = problem_of(
            r#"{"origin":{"place_id":"x"},"destination":{"place_id":"x"},"seats":"three","schedule":{"kind":"once","departure":"2026-12-03T07:30:00+01:00"}}"#,
        );
        assert_eq!(p.errors[0].field, "seats");
        assert!(
            p.errors[0].message.contains("nombre entier"),
            "{}",
            p.errors[0].message
        );

        let p = problem_of(
            r#"{"origin":{"place_id":"x"},"destination":{"place_id":"x"},"schedule":{"kind":"daily"}}"#,
        );
        assert_eq!(p.errors[0].field, "schedule.kind");
        assert!(
            p.errors[0].message.contains("« daily »"),
            "{}",
            p.errors[0].message
        );
        assert!(
            p.errors[0].message.contains("weekly"),
            "{}",
            p.errors[0].message
        );

        let p = problem_of(
            r#"{"origin":{"place_id":"x"},"destination":{"place_id":"x"},"schedule":{"kind":"weekly","weekdays":["mon"],"departure_time":"25:00","from":"2026-12-01"}}"#,
        );
        assert_eq!(p.errors[0].field, "schedule.departure_time");
        assert!(
            p.errors[0].message.starts_with("Heure impossible"),
            "{}",
            p.errors[0].message
        );
    }

    #[test]
    fn durations_read_in_french() {
        assert_eq!(french_duration(1), "1 seconde");
        assert_eq!(french_duration(61), "2 minutes");
        assert_eq!(french_duration(3600), "1 heure");
    }
}
