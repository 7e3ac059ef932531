//! The web shell: the app's screens served by this process through
//! LiveView (rendered here, shown and driven in the browser), so relays
//! and desktop users need nothing installed. The app talks to this server
//! through its HTTP API, like every other client.
//!
//! Every screen has an address (`lotocar_mobile::Route`): the page is
//! served at each of them, and at the links the notifications carry
//! (`/bookings/{id}`…), so a link opens its screen.
//!
//! The browser keeps its sign-in in a cookie (`lotocar_session`: HttpOnly,
//! SameSite=Strict, Secure behind https) holding the API session's token:
//! a reload, a new tab or a link from an SMS opens signed in, until the
//! session ends (it expires, the person signs out, or erases the account:
//! the token then stops working, and the cookie is dropped). The page sets
//! it after signing in with `POST /web/session` (the token as bearer), and
//! removes it with `DELETE /web/session`; the socket reads it, from this
//! site's pages only.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::Message;
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use dioxus::prelude::VirtualDom;
use dioxus_liveview::{LiveViewError, LiveViewPool, interpreter_glue};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use lotocar_mobile::api::OnBehalf;
use lotocar_mobile::{App, AppConfig, Route};

use crate::auth::client_ip::client_ip;
use crate::auth::sign_in::authenticate;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(page))
        .route("/ws", get(socket))
        .route("/sw.js", get(service_worker))
        .route("/web.js", get(page_script))
        .route("/web/session", post(keep_session).delete(drop_session))
}

const COOKIE: &str = "lotocar_session";

/// The token of the browser's session cookie, if any.
fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// `Set-Cookie` for `value` kept `max_age` seconds (0: removed).
fn set_cookie(state: &AppState, value: &str, max_age: u64) -> HeaderValue {
    let secure = if state.config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("a token is a valid header value")
}

/// Keeps this browser signed in: the bearer token of a valid session goes
/// into the cookie, for as long as a session lasts without use.
async fn keep_session(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = bearer(&headers) else {
        return ApiError::Unauthorized.into_response();
    };
    match authenticate(&state.auth, token).await {
        Ok(Some(_)) => {
            let days = u64::from(state.config.session_days);
            (
                StatusCode::NO_CONTENT,
                [(header::SET_COOKIE, set_cookie(&state, token, days * 86_400))],
            )
                .into_response()
        }
        Ok(None) => ApiError::Unauthorized.into_response(),
        Err(err) => ApiError::from(err).into_response(),
    }
}

/// Forgets the sign-in of this browser (signing out, erasing the account).
async fn drop_session(State(state): State<AppState>) -> Response {
    (
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, set_cookie(&state, "", 0))],
    )
        .into_response()
}

/// Whether the socket is opened by a page of this site: the browser sends
/// the page's origin, which must be the service's public address
/// (`--public-url`, as behind a reverse proxy) or the host asked; another
/// site's page may not use the cookie.
fn same_site(headers: &HeaderMap, public_url: &str) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // Not a browser (no cookie use without one): allowed, signed out.
        return true;
    };
    let public = public_url.trim_end_matches('/');
    if origin.eq_ignore_ascii_case(public) {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
}

/// The sessions' runtime, and the sockets open per client address.
pub struct Shell {
    pool: Arc<LiveViewPool>,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    limits: Limits,
}

/// How many sockets one client address may hold, and how long a silent
/// one stays (the page pings every 30 s: silence means it is gone).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_client: usize,
    pub idle: Duration,
}

impl Shell {
    pub fn new(limits: Limits) -> Shell {
        Shell {
            pool: Arc::new(LiveViewPool::new()),
            open: Arc::default(),
            limits,
        }
    }

    /// A place for one more socket of `client`, given back when dropped;
    /// `None` when it holds as many as allowed.
    fn admit(&self, client: IpAddr) -> Option<Admitted> {
        let mut open = self.open.lock().expect("unpoisoned");
        let count = open.entry(client).or_default();
        if *count >= self.limits.per_client {
            return None;
        }
        *count += 1;
        Some(Admitted {
            open: self.open.clone(),
            client,
        })
    }
}

struct Admitted {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    client: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.open.lock().expect("unpoisoned");
        if let Some(count) = open.get_mut(&self.client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// Whether `path` is the address of one of the app's screens (or an old
/// link to one).
fn is_screen(path: &str) -> bool {
    path.parse::<Route>().is_ok()
}

/// What answers an address no route took: the app's page for a screen's
/// address (GET or HEAD), `otherwise` for any other.
pub fn screens_or<F, Fut, R>(
    otherwise: F,
) -> impl Fn(Method, Uri) -> Pin<Box<dyn Future<Output = Response> + Send>> + Clone + Send + Sync + 'static
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoResponse,
{
    move |method: Method, uri: Uri| {
        let otherwise = otherwise.clone();
        Box::pin(async move {
            let read = method == Method::GET || method == Method::HEAD;
            if read && is_screen(uri.path()) {
                page().await
            } else {
                otherwise().await.into_response()
            }
        })
    }
}

/// The page: it connects to `/ws` (from any address) and the app shows
/// the screen of the address; `/web.js` connects again when the socket
/// drops. Its one inline script carries a nonce that
/// its Content-Security-Policy allows (LiveView runs the scripts the
/// server sends through `Function`, hence `'unsafe-eval'`; the app's
/// styles are set inline, hence `'unsafe-inline'` for styles only).
async fn page() -> Response {
    let nonce = {
        use base64::Engine;
        use rand::Rng;
        let mut bytes = [0u8; 18];
        rand::rng().fill(&mut bytes);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let glue =
        interpreter_glue("/ws").replacen("<script>", &format!("<script nonce=\"{nonce}\">"), 1);
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    (
        [(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&policy).expect("a policy is a header value"),
        )],
        Html(format!(
            r##"<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="theme-color" content="#114b5f">
<title>Lot'ô car</title>
</head>
<body>
<div id="main"></div>
<noscript>Lot'ô car a besoin de JavaScript dans ce navigateur.</noscript>
{glue}
<script src="/web.js"></script>
</body>
</html>"##
        )),
    )
        .into_response()
}

async fn socket(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !same_site(&headers, &state.config.public_url) {
        return ApiError::Forbidden("Cette page n'est pas celle du service.".into())
            .into_response();
    }
    let settings = &state.auth.settings;
    let client = client_ip(peer.ip(), &headers, &settings.trusted_proxies);
    let Some(admitted) = state.shell.admit(client) else {
        return ApiError::TooManyRequests {
            retry_after: 60,
            detail: "Trop de pages ouvertes depuis cette adresse : fermez-en quelques-unes.".into(),
        }
        .into_response();
    };
    // A session that ended (signed out elsewhere, account erased, expired)
    // is not used: the page shows the sign-in screen.
    let session = match cookie_token(&headers) {
        Some(token) => match authenticate(&state.auth, &token).await {
            Ok(Some(_)) => Some(token),
            _ => None,
        },
        None => None,
    };
    let pool = state.shell.pool.clone();
    let idle = state.shell.limits.idle;
    let config = AppConfig {
        api_base: state.self_url.clone(),
        store_path: None,
        web: true,
        session,
        // The API counts this browser's requests, not the shell's.
        on_behalf: Some(OnBehalf {
            client: client.to_string(),
            key: settings.shell_key.clone(),
        }),
    };
    ws.on_upgrade(move |socket| async move {
        // Its place is given back when the session ends.
        let _admitted = admitted;
        // A socket silent for `idle` ends its session (its page is gone).
        let socket = Idle::new(socket, idle);
        let _ = pool
            .launch_virtualdom(liveview_socket(socket), move || {
                VirtualDom::new(App).with_root_context(config)
            })
            .await;
    })
}

/// A socket whose stream of messages ends after `idle` without one. Its
/// timer is made where the socket is first read, on the session's own
/// runtime (a timer of the server's runtime would panic there once that
/// runtime stops).
struct Idle<S> {
    inner: S,
    idle: Duration,
    silence: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S> Idle<S> {
    fn new(inner: S, idle: Duration) -> Idle<S> {
        Idle {
            inner,
            idle,
            silence: None,
        }
    }
}

impl<S: Stream + Unpin> Stream for Idle<S> {
    type Item = S::Item;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<S::Item>> {
        use std::task::Poll;
        let this = &mut *self;
        let idle = this.idle;
        let silence = this
            .silence
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(item) => {
                silence.as_mut().reset(tokio::time::Instant::now() + idle);
                Poll::Ready(item)
            }
            Poll::Pending => match silence.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<S: Sink<M> + Unpin, M> Sink<M> for Idle<S> {
    type Error = S::Error;

    fn poll_ready(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        Pin::new(&mut self.inner).poll_ready(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, item: M) -> Result<(), S::Error> {
        Pin::new(&mut self.inner).start_send(item)
    }

    fn poll_flush(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// The LiveView socket over an axum WebSocket (as `axum_socket`, on any
/// stream of its messages).
fn liveview_socket<S>(socket: S) -> impl dioxus_liveview::LiveViewSocket
where
    S: Stream<Item = Result<Message, axum::Error>>
        + Sink<Message, Error = axum::Error>
        + Send
        + 'static,
{
    socket
        .map(|message| {
            message
                .map_err(|_| LiveViewError::SendingFailed)?
                .into_text()
                .map(|s| s.as_str().into())
                .map_err(|_| LiveViewError::SendingFailed)
        })
        .with(|bytes: Vec<u8>| async move { Ok::<_, axum::Error>(Message::Binary(bytes.into())) })
        .sink_map_err(|_| LiveViewError::SendingFailed)
}

/// The page's own script, after LiveView's: it reconnects a dropped socket
/// and gives the screen back as it was (`assets/web.js`).
async fn page_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("../../assets/web.js"),
    )
}

async fn service_worker() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("../../assets/sw.js"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        headers
    }

    #[test]
    fn only_this_sites_pages_open_the_socket() {
        let public = "https://lotocar.example.fr";
        // The page itself, directly or behind a proxy that rewrites Host.
        assert!(same_site(
            &headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"),
            public
        ));
        assert!(same_site(
            &headers(Some("https://lotocar.example.fr"), "127.0.0.1:8080"),
            public
        ));
        // Another site's page.
        assert!(!same_site(
            &headers(Some("https://evil.example"), "lotocar.example.fr"),
            public
        ));
        assert!(!same_site(
            &headers(
                Some("https://lotocar.example.fr.evil.example"),
                "127.0.0.1:8080"
            ),
            public
        ));
        // Not a browser.
        assert!(same_site(&headers(None, "127.0.0.1:8080"), public));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; lotocar_session=tok; b=2"),
        );
        assert_eq!(cookie_token(&headers).as_deref(), Some("tok"));
        headers.insert(header::COOKIE, HeaderValue::from_static("lotocar_session="));
        assert_eq!(cookie_token(&headers), None);
    }
}
