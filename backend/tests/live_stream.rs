//! The live stream (`GET /api/v1/events`, outside the OpenAPI document and
//! so outside the authorization matrix) needs a session.

mod common;

use common::*;
use reqwest::StatusCode;

#[tokio::test]
async fn the_live_stream_needs_a_session() {
    let server = Server::start(Backend::Sqlite).await;
    let anonymous = server
        .http
        .get(server.url("/api/v1/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let token = server.sign_in("0611111111").await;
    let signed_in = server
        .http
        .get(server.url("/api/v1/events"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::OK);
    assert!(
        signed_in.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
}
