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
use tower_http::trace::TraceLayer;
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
        .merge(crate::registry::router())
        .merge(crate::coordination::router())
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    let (api, openapi) = api().split_for_parts();
    let request_id = HeaderName::from_static("x-request-id");
    let hsts = state.config.public_url.starts_with("https://");
    api.merge(crate::web::router())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(crate::notify::metrics))
        .route(
            "/api/openapi.json",
            get(move || async move { Json(openapi) }),
        )
        .fallback(crate::web::screens_or(not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http())
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

async fn readyz(State(db): State<crate::db::Db>) -> Result<&'static str, ApiError> {
    if db.ping().await {
        Ok("ready")
    } else {
        Err(ApiError::Unavailable(
            "La base de données ne répond pas.".into(),
        ))
    }
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
