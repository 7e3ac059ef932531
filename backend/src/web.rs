//! The web shell: the app's screens served by this process through
//! LiveView (rendered here, shown and driven in the browser), so relays
//! and desktop users need nothing installed. The app talks to this server
//! through its HTTP API, like every other client.
//!
//! Every screen has an address (`lotocar_mobile::Route`): the page is
//! served at each of them, and at the links the notifications carry
//! (`/bookings/{id}`…), so a link opens its screen.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{Method, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use dioxus::prelude::VirtualDom;
use dioxus_liveview::{LiveViewPool, axum_socket, interpreter_glue};
use lotocar_mobile::{App, AppConfig, Route};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(page))
        .route("/ws", get(socket))
        .route("/sw.js", get(service_worker))
}

/// The sessions' runtime.
pub struct Shell {
    pool: Arc<LiveViewPool>,
}

impl Default for Shell {
    fn default() -> Self {
        Shell {
            pool: Arc::new(LiveViewPool::new()),
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
                page().await.into_response()
            } else {
                otherwise().await.into_response()
            }
        })
    }
}

/// The page: it connects to `/ws` (from any address) and the app shows
/// the screen of the address.
async fn page() -> Html<String> {
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
{}
</body>
</html>"##,
        interpreter_glue("/ws")
    ))
}

async fn socket(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    let pool = state.shell.pool.clone();
    let config = AppConfig {
        api_base: state.self_url.clone(),
        store_path: None,
        web: true,
    };
    ws.on_upgrade(move |socket| async move {
        let _ = pool
            .launch_virtualdom(axum_socket(socket), move || {
                VirtualDom::new(App).with_root_context(config)
            })
            .await;
    })
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
