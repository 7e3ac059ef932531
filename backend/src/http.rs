//! The one place that builds the router: every capability's routes, the
//! service endpoints, the OpenAPI document and the middleware.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderName, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lotocar API",
        description = "Covoiturage solidaire et domicile-travail pour les territoires ruraux. Errors are RFC 9457 problem details with a French `detail`.",
        license(name = "MIT")
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "service", description = "Health and description"),
        (name = "auth", description = "Passwordless sign-in and profile"),
        (name = "places", description = "Communes, aliases and meeting points"),
        (name = "offers", description = "Drivers' trips"),
        (name = "requests", description = "Passengers' needs and their matches"),
        (name = "bookings", description = "Seats on trips"),
        (name = "notifications", description = "What people are told"),
        (name = "sync", description = "Catching up after being offline"),
        (name = "impact", description = "Figures for funders: aggregates only"),
        (name = "relays", description = "Relays act for people without a smartphone; coordinators oversee a territory"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The media type of every error the server sends (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// The OpenAPI document as served: what utoipa derives from the
/// handlers, made true to what the server does with errors, so that a
/// client generated from it validates what the server validates.
///
/// - Every error response is `application/problem+json` (the derive says
///   `application/json`), with the `Problem` schema.
/// - The errors every operation of a kind can get are listed, whether or
///   not its handler names them: 400 (an unreadable body, path or query
///   parameter or header), 401 when signed in, 413 and 415 with a body,
///   422 with a body or query parameters (a field or parameter refused,
///   listed in `errors`), 429 everywhere (rate limits, with
///   `Retry-After`).
/// - Each response has a description (the reason phrase when the handler
///   gave none), as OpenAPI requires.
pub fn document(openapi: &utoipa::openapi::OpenApi) -> serde_json::Value {
    use serde_json::{Value, json};
    let mut doc = serde_json::to_value(openapi).expect("the OpenAPI document serialises");
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, operation) in item.iter_mut() {
                if METHODS.contains(&method.as_str()) {
                    document_operation(operation);
                }
            }
        }
    }
    if let Some(problem) = doc.pointer_mut("/components/schemas/Problem/properties") {
        problem["status"] = json!({ "type": "integer", "minimum": 400, "maximum": 599 });
        problem["detail"] = json!({
            "type": "string",
            "minLength": 1,
            "description": "In French, says what to do."
        });
    }
    doc
}

/// See [`document`].
fn document_operation(operation: &mut serde_json::Value) {
    use serde_json::{Value, json};
    let has_body = operation.get("requestBody").is_some();
    let located = |place: &str| {
        operation
            .get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|ps| ps.iter().any(|p| p["in"] == place))
    };
    let (has_query, has_path, has_header) = (located("query"), located("path"), located("header"));
    let secured = operation
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    if let Some(parameters) = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
    {
        for parameter in parameters {
            if parameter["in"] == "header" && parameter["name"] == "Idempotency-Key" {
                parameter["schema"] = json!({
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 255,
                    "pattern": "^[!-~]+$"
                });
            }
        }
    }
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (status, response) in responses.iter_mut() {
        if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut)
            && content
                .get("application/json")
                .is_some_and(|c| c["schema"]["$ref"] == "#/components/schemas/Problem")
            && let Some(problem) = content.remove("application/json")
        {
            content.insert(PROBLEM_JSON.into(), problem);
        }
        if response["description"].as_str().is_none_or(str::is_empty) {
            let reason = status
                .parse::<u16>()
                .ok()
                .and_then(|s| StatusCode::from_u16(s).ok())
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Response");
            response["description"] = Value::String(reason.into());
        }
    }
    let problem = |description: &str| {
        json!({
            "description": description,
            "content": { PROBLEM_JSON: { "schema": { "$ref": "#/components/schemas/Problem" } } }
        })
    };
    let mut add = |status: &str, applies: bool, description: &str| {
        if applies && !responses.contains_key(status) {
            responses.insert(status.into(), problem(description));
        }
    };
    add(
        "400",
        has_body || has_query || has_path || has_header,
        "The request cannot be read: a body that is not JSON, a parameter or header that cannot be read",
    );
    add("401", secured, "Not signed in");
    add("413", has_body, "The body is too large");
    add("415", has_body, "The body is not JSON");
    add(
        "422",
        has_body || has_query,
        "Invalid fields or parameters, all listed in `errors`",
    );
    add(
        "429",
        true,
        "Too many requests: try again after `Retry-After` seconds",
    );
    if let Some(limited) = responses.get_mut("429") {
        limited["headers"] = json!({
            "Retry-After": {
                "description": "Seconds to wait",
                "schema": { "type": "integer", "minimum": 0 }
            }
        });
    }
}

/// The API routes and their OpenAPI description.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::auth::router())
        .merge(crate::places::router())
        .merge(crate::trips::router())
        .merge(crate::notify::router())
        .merge(crate::bookings::router())
        .merge(crate::sync::router())
        .merge(crate::relay::router())
        .merge(crate::privacy::router())
        .merge(crate::impact::router())
        .merge(crate::usage::router())
        .merge(crate::ratings::router())
        .merge(crate::registry::router())
        .merge(crate::coordination::router())
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    let (api, openapi) = api().split_for_parts();
    let openapi = document(&openapi);
    let request_id = HeaderName::from_static("x-request-id");
    let hsts = state.config.public_url.starts_with("https://");
    api.merge(crate::web::router())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route(
            "/api/openapi.json",
            get(move || async move { Json(openapi) }),
        )
        .fallback(crate::web::screens_or(not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(axum::middleware::from_fn_with_state(
            state.http_metrics.clone(),
            crate::requests::observe,
        ))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response()
        }))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(axum::middleware::map_response(move |response| {
            security_headers(response, hsts)
        }))
        .with_state(state)
}

/// On every response: no type sniffing, no framing, no referrer leaving
/// the site, geolocation for this site only, HTTPS remembered when the
/// service is public over https; and, where a response sets none (the API),
/// a Content-Security-Policy that allows nothing (the web app's page sets
/// its own, with its script's nonce).
async fn security_headers(
    mut response: axum::response::Response,
    hsts: bool,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static(
            "geolocation=(self), camera=(), microphone=(), payment=(), usb=()",
        ),
    );
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
        );
    }
    if hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers and the matching index is built (it
/// is built at start; until then matching requests would wait for it).
async fn readyz(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    if !state.db.ping().await {
        return Err(ApiError::Unavailable(
            "La base de données ne répond pas.".into(),
        ));
    }
    if !state.matching.is_loaded() {
        return Err(ApiError::Unavailable(
            "Le service démarre : les trajets se chargent, réessayez dans un instant.".into(),
        ));
    }
    Ok("ready")
}

/// Prometheus text: the notifications' figures, and the trips waiting to
/// be matched against open needs.
async fn metrics(
    State(state): State<AppState>,
) -> Result<([(HeaderName, &'static str); 1], String), ApiError> {
    let mut out = crate::notify::metrics_text(&state.notify).await?;
    out.push_str(&state.http_metrics.text());
    out.push_str("# HELP lotocar_db_connections Database connections of this instance, by pool and state.\n# TYPE lotocar_db_connections gauge\n");
    for (pool, connections) in [("read", &state.db.pool), ("write", &state.db.writer)] {
        let (size, idle) = (connections.size(), connections.num_idle() as u32);
        out.push_str(&format!(
            "lotocar_db_connections{{pool=\"{pool}\",state=\"busy\"}} {}\nlotocar_db_connections{{pool=\"{pool}\",state=\"idle\"}} {idle}\n",
            size.saturating_sub(idle)
        ));
    }
    let (waiting, oldest) = crate::news::backlog(&state.db).await?;
    let age = oldest.map_or(0, |at| (crate::db::now_ms() - at).max(0) / 1000);
    out.push_str("# HELP lotocar_trips_to_match Trips posted or changed, not yet matched against open needs.\n# TYPE lotocar_trips_to_match gauge\n");
    out.push_str(&format!("lotocar_trips_to_match {waiting}\n"));
    out.push_str("# HELP lotocar_trips_to_match_age_seconds Age of the oldest trip waiting to be matched.\n# TYPE lotocar_trips_to_match_age_seconds gauge\n");
    out.push_str(&format!("lotocar_trips_to_match_age_seconds {age}\n"));
    if let Some(n) = crate::db::statements_run() {
        out.push_str("# HELP lotocar_sql_statements Database statements run by this instance (development).\n# TYPE lotocar_sql_statements counter\n");
        out.push_str(&format!("lotocar_sql_statements {n}\n"));
    }
    // The index catches up at each matching request: changes behind are
    // those committed since the last one on this instance.
    let behind = (crate::db::last_change(&state.db).await?
        - state.matching.matcher.index.last_change())
    .max(0);
    out.push_str("# HELP lotocar_index_changes_behind Committed changes (of any kind) not yet applied to this instance's matching index (it catches up at each matching request).\n# TYPE lotocar_index_changes_behind gauge\n");
    out.push_str(&format!("lotocar_index_changes_behind {behind}\n"));
    let (offers, needs) = state.matching.matcher.index.sizes();
    out.push_str("# HELP lotocar_index_entries Open trips and needs in this instance's matching index.\n# TYPE lotocar_index_entries gauge\n");
    out.push_str(&format!("lotocar_index_entries{{kind=\"offer\"}} {offers}\nlotocar_index_entries{{kind=\"need\"}} {needs}\n"));
    out.push_str(&crate::usage::gauges(&state.reporting).await?);
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    ))
}

async fn not_found() -> ApiError {
    ApiError::NotFound("Cette adresse n'existe pas. Vérifiez le lien.".into())
}

async fn method_not_allowed() -> impl IntoResponse {
    let mut problem = ApiError::BadRequest(String::new()).problem();
    problem.type_ = "/problems/method-not-allowed".into();
    problem.title = "Méthode non autorisée".into();
    problem.status = 405;
    problem.detail = "Cette action n'est pas possible à cette adresse.".into();
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(axum::http::header::CONTENT_TYPE, "application/problem+json")],
        Json(problem),
    )
}

// ---------------------------------------------------------------------------
// Errors hyper answers before the router
// ---------------------------------------------------------------------------

/// What `lib::serve` should listen with: [`Problems`] around the TCP
/// listener, tapped so that `ConnectInfo<SocketAddr>` still works.
pub type Listener = axum::serve::TapIo<
    Problems<tokio::net::TcpListener>,
    fn(&mut ProblemIo<tokio::net::TcpStream>),
>;

/// `axum::serve(http::listener(tcp), app)`: see [`Problems`].
pub fn listener(tcp: tokio::net::TcpListener) -> Listener {
    use axum::serve::ListenerExt;
    fn untouched(_: &mut ProblemIo<tokio::net::TcpStream>) {}
    Problems(tcp).tap_io(untouched as fn(&mut ProblemIo<tokio::net::TcpStream>))
}

/// A listener whose connections turn hyper's own answers to requests it
/// cannot parse — 400 (a malformed request line or header), 414 (an
/// address over 64 KiB: `http::Uri` holds at most 65,534 bytes, so such a
/// request never reaches the router) and 431 (headers too large), all
/// with an empty body — into French problem details like every other
/// error of the API.
pub struct Problems<L>(pub L);

impl<L> axum::serve::Listener for Problems<L>
where
    L: axum::serve::Listener,
{
    type Io = ProblemIo<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (io, addr) = self.0.accept().await;
        (
            ProblemIo {
                inner: io,
                pending: None,
            },
            addr,
        )
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// A connection of [`Problems`]: reads pass through; a write that is one
/// of hyper's automatic error heads is replaced by a problem response.
pub struct ProblemIo<I> {
    inner: I,
    /// A replacement being written: its bytes, how many are written, and
    /// how many bytes of hyper's head it stands for.
    pending: Option<(Vec<u8>, usize, usize)>,
}

/// The problem response standing for `head`, when `head` is a whole
/// automatic error response of hyper (`HTTP/1.1 414 URI Too Long`,
/// `connection: close`, `content-length: 0`, no content type). Responses
/// of the application always have a content type.
fn replacement_for(head: &[u8]) -> Option<Vec<u8>> {
    // Most writes are bodies and heads of the application: a glance
    // suffices (hyper's error heads are about a hundred bytes).
    if head.len() > 512 || !head.starts_with(b"HTTP/1.1 4") {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?;
    let rest = text.strip_prefix("HTTP/1.1 ")?;
    if !text.ends_with("\r\n\r\n") || text.matches("\r\n\r\n").count() != 1 {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    if !lower.contains("\r\ncontent-length: 0\r\n")
        || !lower.contains("\r\nconnection: close\r\n")
        || lower.contains("\r\ncontent-type:")
    {
        return None;
    }
    let (status, detail) = match rest.get(..4)? {
        "400 " => (
            StatusCode::BAD_REQUEST,
            "La requête HTTP est mal formée (ligne de requête ou en-têtes illisibles) : vérifiez l'adresse et les en-têtes.",
        ),
        "414 " => (
            StatusCode::URI_TOO_LONG,
            "L'adresse est trop longue : raccourcissez-la (les textes recherchés ont 100 caractères au plus).",
        ),
        "431 " => (
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Les en-têtes de la requête sont trop volumineux : envoyez-en moins.",
        ),
        _ => return None,
    };
    let problem = lotocar_shared::api::Problem {
        type_: match status.as_u16() {
            400 => "/problems/bad-request",
            414 => "/problems/uri-too-long",
            _ => "/problems/headers-too-large",
        }
        .into(),
        title: match status.as_u16() {
            400 => "Requête illisible",
            414 => "Adresse trop longue",
            _ => "En-têtes trop volumineux",
        }
        .into(),
        status: status.as_u16(),
        detail: detail.into(),
        errors: Vec::new(),
        code: None,
    };
    let body = serde_json::to_vec(&problem).ok()?;
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {PROBLEM_JSON}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    Some(out)
}

impl<I: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for ProblemIo<I> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<I: tokio::io::AsyncWrite + Unpin> ProblemIo<I> {
    /// Writes what remains of the replacement; ready with the length of
    /// the head it stands for once all of it is written.
    fn drive(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::task::Poll;
        while let Some((bytes, written, stands_for)) = &mut self.pending {
            if *written == bytes.len() {
                let n = *stands_for;
                self.pending = None;
                return Poll::Ready(Ok(n));
            }
            match std::pin::Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
                }
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(0))
    }
}

impl<I: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for ProblemIo<I> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if self.pending.is_none() {
            match replacement_for(buf) {
                Some(bytes) => self.pending = Some((bytes, 0, buf.len())),
                None => return std::pin::Pin::new(&mut self.inner).poll_write(cx, buf),
            }
        }
        self.drive(cx)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if self.pending.is_none() {
            let first = bufs.iter().find(|b| !b.is_empty());
            let only_one = bufs.iter().filter(|b| !b.is_empty()).count() == 1;
            match first.filter(|_| only_one).and_then(|b| replacement_for(b)) {
                Some(bytes) => {
                    let len = first.map_or(0, |b| b.len());
                    self.pending = Some((bytes, 0, len));
                }
                None => return std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs),
            }
        }
        self.drive(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
