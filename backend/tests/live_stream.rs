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
    let signed_in = server.live_stream(&token).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    assert!(
        signed_in.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
}

/// Asked to stop (SIGTERM, as systemd or a deployment does), a server with
/// a phone listening on the live stream ends the stream and exits at once:
/// the stream does not hold the stop until the service manager kills it.
#[tokio::test]
async fn a_server_asked_to_stop_ends_its_live_streams_and_exits() {
    let mut server = Server::start(Backend::Sqlite).await;
    let token = server.sign_in("0611111111").await;
    let mut stream = server.live_stream(&token).await;
    assert_eq!(stream.status(), StatusCode::OK);
    let asked = std::time::Instant::now();
    let stopping = tokio::task::spawn_blocking(move || {
        server.stop();
        asked.elapsed()
    });
    // The stream ends (rather than the connection being cut by the exit).
    let ended = tokio::time::timeout(std::time::Duration::from_secs(15), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(
        ended.is_ok(),
        "the live stream was still open 15 s after SIGTERM"
    );
    let took = tokio::time::timeout(std::time::Duration::from_secs(15), stopping)
        .await
        .expect("the server still running 15 s after SIGTERM")
        .unwrap();
    assert!(
        took < std::time::Duration::from_secs(15),
        "stopping took {took:?}"
    );
}
