//! The web shell: the app's screens served by this process through
//! LiveView (rendered here, shown and driven in the browser), so relays
//! and desktop users need nothing installed. The app talks to this server
//! through its HTTP API, like every other client.

use std::sync::Arc;

use axum::Router;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use dioxus::prelude::VirtualDom;
use dioxus_liveview::{LiveViewPool, axum_socket, interpreter_glue};
use lotocar_mobile::{App, AppConfig};

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
