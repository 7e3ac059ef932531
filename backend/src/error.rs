//! Errors. Operations return [`Error`], what a person or a partner can be
//! refused (or a failure of ours), whoever calls them; the HTTP edge turns
//! it into [`ApiError`], rendered as RFC 9457 problem details with a French
//! `detail`. The extractors here turn malformed requests into such problems
//! instead of plain-text rejections.

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
    /// 400: a parameter of the address (a path segment, the query string)
    /// cannot be read; `field` names it.
    #[error("bad parameter {field}: {message}")]
    BadParameter { field: String, message: String },
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
            ApiError::BadParameter { message, .. } => (
                StatusCode::BAD_REQUEST,
                "bad-request",
                "Requête illisible",
                message.clone(),
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
                ApiError::BadParameter { field, message } => vec![FieldError {
                    field: field.clone(),
                    message: message.clone(),
                }],
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
    if let Some(rest) = message.strip_prefix("duplicate field ") {
        let field = between_backticks(rest).unwrap_or(rest);
        let at = if path == field || path.ends_with(&format!(".{field}")) {
            path.to_string()
        } else {
            join_path(path, field)
        };
        return (
            at,
            "Ce champ est donné deux fois : gardez-en un seul.".into(),
        );
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

/// Query-string parameters, read with French problems: 400 when the
/// query string cannot be read (a value that is not UTF-8 once
/// percent-decoded), 422 with the parameter's name when a value is
/// missing, of the wrong type, out of range, unknown (an enum lists its
/// values) or given twice.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> ApiResult<Self> {
        parse_query(parts.uri.query().unwrap_or_default()).map(ApiQuery)
    }
}

/// Reads a query string (`a=1&b=x`) as a `T`, with problem-details errors.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> ApiResult<T> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = piece.split_once('=').unwrap_or((piece, ""));
        let key = percent_decode(key).ok_or_else(|| ApiError::BadParameter {
            field: String::new(),
            message: "L'adresse contient un paramètre illisible : vérifiez le lien.".into(),
        })?;
        let value = percent_decode(value).ok_or_else(|| ApiError::BadParameter {
            field: key.clone(),
            message: format!(
                "Le paramètre « {key} » contient des caractères illisibles : vérifiez le lien."
            ),
        })?;
        if pairs.iter().any(|(k, _)| *k == key) {
            return Err(ApiError::field(
                &key,
                "Ce paramètre est donné plusieurs fois : gardez-en un seul.",
            ));
        }
        pairs.push((key, value));
    }
    let deserializer = query::Pairs(&pairs);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let path = if path == "." { String::new() } else { path };
        let (field, message) = explain_serde_error(&path, &err.inner().0);
        ApiError::Validation(Invalid {
            errors: vec![FieldError { field, message }],
        })
    })
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a
/// byte; `None` when the bytes are not UTF-8 (or a `%` is not followed by
/// two hex digits).
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// A serde deserializer over query-string pairs: each value is text,
/// read as the field's type (numbers, booleans, enums, options).
mod query {
    use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};

    #[derive(Debug)]
    pub struct Error(pub String);

    impl std::fmt::Display for Error {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }

    impl std::error::Error for Error {}

    impl de::Error for Error {
        fn custom<M: std::fmt::Display>(message: M) -> Self {
            Error(message.to_string())
        }
    }

    pub struct Pairs<'a>(pub &'a [(String, String)]);

    impl<'de, 'a> de::Deserializer<'de> for Pairs<'a> {
        type Error = Error;

        fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            visitor.visit_map(Entries {
                pairs: self.0.iter(),
                value: None,
            })
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map struct enum identifier ignored_any
        }
    }

    struct Entries<'a> {
        pairs: std::slice::Iter<'a, (String, String)>,
        value: Option<&'a str>,
    }

    impl<'de, 'a> MapAccess<'de> for Entries<'a> {
        type Error = Error;

        fn next_key_seed<K: DeserializeSeed<'de>>(
            &mut self,
            seed: K,
        ) -> Result<Option<K::Value>, Error> {
            match self.pairs.next() {
                None => Ok(None),
                Some((key, value)) => {
                    self.value = Some(value);
                    seed.deserialize(key.as_str().into_deserializer()).map(Some)
                }
            }
        }

        fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
            seed.deserialize(Value(self.value.take().unwrap_or_default()))
        }
    }

    /// One value of the query string.
    struct Value<'a>(&'a str);

    const INTEGER: &str = "Valeur invalide : un nombre entier est attendu.";

    impl<'a> Value<'a> {
        fn integer<N>(&self) -> Result<N, Error>
        where
            N: std::str::FromStr<Err = std::num::ParseIntError>,
        {
            self.0.parse::<N>().map_err(|err| {
                use std::num::IntErrorKind::*;
                Error(match err.kind() {
                    PosOverflow | NegOverflow => {
                        "Nombre hors limites : il est bien trop grand (ou trop petit) pour ce paramètre."
                            .into()
                    }
                    _ => INTEGER.into(),
                })
            })
        }

        fn number(&self) -> Result<f64, Error> {
            self.0
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| Error("Valeur invalide : un nombre est attendu.".into()))
        }
    }

    macro_rules! integers {
        ($($method:ident $visit:ident $ty:ty),*) => {$(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                visitor.$visit(self.integer::<$ty>()?)
            }
        )*};
    }

    impl<'de, 'a> de::Deserializer<'de> for Value<'a> {
        type Error = Error;

        fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            visitor.visit_str(self.0)
        }

        fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.0 {
                "true" => visitor.visit_bool(true),
                "false" => visitor.visit_bool(false),
                _ => Err(Error("Valeur invalide : true ou false est attendu.".into())),
            }
        }

        integers! {
            deserialize_i8 visit_i8 i8, deserialize_i16 visit_i16 i16,
            deserialize_i32 visit_i32 i32, deserialize_i64 visit_i64 i64,
            deserialize_u8 visit_u8 u8, deserialize_u16 visit_u16 u16,
            deserialize_u32 visit_u32 u32, deserialize_u64 visit_u64 u64
        }

        fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            visitor.visit_f64(self.number()?)
        }

        fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            visitor.visit_f64(self.number()?)
        }

        fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            visitor.visit_some(self)
        }

        fn deserialize_newtype_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            visitor: V,
        ) -> Result<V::Value, Error> {
            visitor.visit_newtype_struct(self)
        }

        fn deserialize_enum<V: Visitor<'de>>(
            self,
            _name: &'static str,
            _variants: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, Error> {
            visitor.visit_enum(self.0.into_deserializer())
        }

        serde::forward_to_deserialize_any! {
            i128 u128 char str string bytes byte_buf unit unit_struct seq tuple
            tuple_struct map struct identifier ignored_any
        }
    }
}

/// Path parameters, with a French 400 problem naming the parameter when
/// one cannot be read (`/api/v1/offers/%FF`: not UTF-8 once decoded).
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> ApiResult<Self> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(path) => Ok(ApiPath(path.0)),
            Err(PathRejection::FailedToDeserializePathParams(err)) => {
                let unreadable = |key: &str| ApiError::BadParameter {
                    field: key.to_string(),
                    message: format!(
                        "Adresse illisible : « {key} » n'est pas un identifiant valable. Vérifiez le lien."
                    ),
                };
                Err(match err.into_kind() {
                    ErrorKind::InvalidUtf8InPathParam { key }
                    | ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::DeserializeError { key, .. } => unreadable(&key),
                    ErrorKind::ParseErrorAtIndex { .. } | ErrorKind::ParseError { .. } => {
                        unreadable("id")
                    }
                    other => ApiError::Internal(anyhow::anyhow!("path parameters: {other}")),
                })
            }
            Err(other) => Err(ApiError::Internal(anyhow::anyhow!(
                "path parameters: {}",
                other.body_text()
            ))),
        }
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
