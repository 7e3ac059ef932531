//! An SMS gateway that keeps what it is asked to send: a fake at its HTTP
//! boundary (SMS is a paid service). It checks the gateway's credentials.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use serde_json::{Value, json};

pub type Inbox = Arc<Mutex<Vec<String>>>;

/// An SMS gateway that keeps what it is asked to send.
pub async fn sms_gateway() -> (String, Inbox) {
    let inbox: Inbox = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/send", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route(
            "/send",
            post(|State(inbox): State<Inbox>, headers: HeaderMap, Json(body): Json<Value>| async move {
                assert_eq!(headers["authorization"], "Bearer s3cret");
                inbox.lock().unwrap().push(body.to_string());
                Json(json!({ "status": "queued" }))
            }),
        )
        .with_state(inbox.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, inbox)
}

/// The texts sent so far (the `text` of each request).
pub fn texts(inbox: &Inbox) -> Vec<String> {
    inbox
        .lock()
        .unwrap()
        .iter()
        .map(|m| {
            serde_json::from_str::<Value>(m).unwrap()["text"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}
