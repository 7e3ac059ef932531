//! Requests hyper refuses before any router sees them (an address over
//! 64 KiB, a malformed request line, headers too large) are answered by
//! `http::listener` with French problem details instead of hyper's empty
//! 414, 400 and 431; every other answer passes through untouched, on the
//! same keep-alive connection.

use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn serve() -> std::net::SocketAddr {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let app = Router::new()
        .route("/", get(|| async { "bonjour" }))
        .route(
            "/peer",
            get(
                |ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>| async move {
                    peer.ip().to_string()
                },
            ),
        )
        .route(
            "/empty-400",
            get(|| async { axum::http::StatusCode::BAD_REQUEST }),
        );
    tokio::spawn(async move {
        axum::serve(
            lotocar_backend::http::listener(tcp),
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

/// Sends `request` raw and reads the answer until the server closes or
/// goes quiet.
async fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The server may answer (and close) before the whole request is sent.
    let _ = stream.write_all(request).await;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn problem_of(answer: &str) -> serde_json::Value {
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("content-type: application/problem+json"),
        "{head}"
    );
    assert!(
        head.contains(&format!("content-length: {}", body.len())),
        "{head}"
    );
    serde_json::from_str(body).unwrap()
}

#[tokio::test]
async fn hypers_own_refusals_become_french_problems() {
    let addr = serve().await;

    let long = format!(
        "GET /api/v1/places?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(100_000)
    );
    let answer = exchange(addr, long.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 414 "), "{answer}");
    let problem = problem_of(&answer);
    assert_eq!(problem["status"], 414);
    assert!(
        problem["detail"].as_str().unwrap().contains("trop longue"),
        "{problem}"
    );

    let answer = exchange(addr, b"GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert_eq!(problem_of(&answer)["status"], 400);

    let huge_header = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(500_000)
    );
    let answer = exchange(addr, huge_header.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    assert_eq!(problem_of(&answer)["status"], 431);
}

#[tokio::test]
async fn other_answers_pass_through_untouched() {
    let addr = serve().await;
    // Two requests on one connection, then a handler's own bodiless 400.
    let answer = exchange(
        addr,
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /peer HTTP/1.1\r\nHost: x\r\n\r\nGET /empty-400 HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert_eq!(answer.matches("HTTP/1.1 200 OK").count(), 2, "{answer}");
    assert!(answer.contains("bonjour"), "{answer}");
    assert!(answer.contains("127.0.0.1"), "{answer}");
    assert!(answer.contains("HTTP/1.1 400 Bad Request"), "{answer}");
    assert!(!answer.contains("problem+json"), "{answer}");
}
