//! Safe to put on the internet: requests the server makes for users (push
//! endpoints), limits that hold under parallel requests, client addresses
//! that cannot be forged, one live booking per need and trip, retries that
//! get the first answer, development settings refused off loopback,
//! security headers, and the web app's socket guarded.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use axum::response::IntoResponse;
use axum::routing::post;
use common::booking::*;
use common::push::{Behaviour, PushReceiver};
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

on_both_databases!(
    push_endpoints_inside_are_refused,
    a_push_service_redirect_is_not_followed,
    an_endpoint_moves_to_another_person_only_with_its_keys,
    sign_in_limits_hold_under_parallel_requests,
    forged_forwarded_hops_do_not_beat_the_limit,
    parallel_identical_bookings_make_one,
    parallel_retries_with_one_key_get_the_first_answer,
);

fn local_push() -> Options {
    let mut options = many_sign_ins();
    options.env.extend([
        ("LOTOCAR_QUIET_START_HOUR".into(), "0".into()),
        ("LOTOCAR_QUIET_END_HOUR".into(), "0".into()),
        ("LOTOCAR_RETRY_BASE_MS".into(), "20".into()),
        ("LOTOCAR_DEV_ALLOW_LOCAL_PUSH".into(), "true".into()),
    ]);
    options
}

/// A browser's subscription JSON (real keys) with another endpoint.
fn subscription_to(receiver: &PushReceiver, name: &str, endpoint: &str) -> Value {
    let mut subscription = receiver.device(name, Behaviour::Accept);
    subscription["endpoint"] = json!(endpoint);
    subscription
}

async fn push_endpoints_inside_are_refused(backend: Backend) {
    // Without the development switch, even a local receiver is refused.
    let server = Server::start_with(backend, many_sign_ins()).await;
    let token = server.sign_in("+33612000001").await;
    let key = server.get("/api/v1/push/vapid-public-key", None).await;
    let receiver = PushReceiver::start(key.body["key"].as_str().unwrap()).await;
    for endpoint in [
        format!("{}/push/local", receiver.base),
        "http://push.example.net/send/x".to_string(),
        "https://127.0.0.1/push".to_string(),
        "https://2130706433/push".to_string(),
        "https://0x7f.0.0.1/push".to_string(),
        "https://169.254.169.254/latest/meta-data/".to_string(),
        "https://10.0.0.8:8443/push".to_string(),
        "https://192.168.1.20/push".to_string(),
        "https://[::1]/push".to_string(),
        "https://[::ffff:169.254.169.254]/push".to_string(),
        "https://[fd12:3456::1]/push".to_string(),
        "https://localhost/push".to_string(),
    ] {
        let refused = server
            .post(
                "/api/v1/push/subscriptions",
                Some(&token),
                &subscription_to(&receiver, "x", &endpoint),
            )
            .await;
        refused.problem(422);
        assert_eq!(
            refused.error_fields(),
            ["endpoint"],
            "{endpoint}: {}",
            refused.body
        );
        assert!(
            refused.body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("https://"),
            "{}",
            refused.body
        );
    }
    // Nothing was kept.
    let kept = server.get("/api/v1/push/subscriptions", Some(&token)).await;
    assert_eq!(kept.body, json!([]));
    // A push service's address is fine.
    let accepted = server
        .post(
            "/api/v1/push/subscriptions",
            Some(&token),
            &subscription_to(&receiver, "y", "https://fcm.googleapis.com/fcm/send/abcdef"),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.body);

    // The development switch is refused without development mode.
    let output = std::process::Command::new(binary())
        .args(["serve", "--bind", "127.0.0.1:0", "--dev-allow-local-push"])
        .arg("--data-dir")
        .arg(server.data_dir())
        .env_remove("DATABASE_URL")
        .env_remove("LOTOCAR_DEV")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--dev-allow-local-push"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A "push service" that redirects to an internal address, and counts.
async fn redirecting_service() -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let asked = Arc::new(AtomicUsize::new(0));
    let inside = Arc::new(AtomicUsize::new(0));
    let internal = format!("{base}/internal");
    let app = Router::new()
        .route(
            "/push/{device}",
            post({
                let asked = asked.clone();
                move || async move {
                    asked.fetch_add(1, Ordering::SeqCst);
                    (
                        AxumStatus::TEMPORARY_REDIRECT,
                        [("location", internal.clone())],
                    )
                        .into_response()
                }
            }),
        )
        .route(
            "/internal",
            post(|State(inside): State<Arc<AtomicUsize>>| async move {
                inside.fetch_add(1, Ordering::SeqCst);
                "secret"
            })
            .get(|State(inside): State<Arc<AtomicUsize>>| async move {
                inside.fetch_add(1, Ordering::SeqCst);
                "secret"
            }),
        )
        .with_state(inside.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, asked, inside)
}

async fn a_push_service_redirect_is_not_followed(backend: Backend) {
    let server = Server::start_with(backend, local_push()).await;
    let key = server.get("/api/v1/push/vapid-public-key", None).await;
    let receiver = PushReceiver::start(key.body["key"].as_str().unwrap()).await;
    let (base, asked, inside) = redirecting_service().await;
    let ride = commuting_driver(&server, "+33612000002", false).await;
    let subscribed = server
        .post(
            "/api/v1/push/subscriptions",
            Some(&ride.driver),
            &subscription_to(&receiver, "driver", &format!("{base}/push/driver")),
        )
        .await;
    assert_eq!(
        subscribed.status,
        StatusCode::CREATED,
        "{}",
        subscribed.body
    );
    // A passenger asks for a seat: the driver is pushed to.
    let passenger = server.sign_in_as("+33612000003", "Léa Roux").await;
    post_need_and_book(&server, &passenger, &ride.offer_id, &next_weekday(1, 2)).await;
    for _ in 0..100 {
        if asked.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(asked.load(Ordering::SeqCst) > 0, "the push was never sent");
    // Retries come and go; the internal address is never reached.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(inside.load(Ordering::SeqCst), 0, "a redirect was followed");
}

async fn an_endpoint_moves_to_another_person_only_with_its_keys(backend: Backend) {
    let server = Server::start_with(backend, many_sign_ins()).await;
    let key = server.get("/api/v1/push/vapid-public-key", None).await;
    let receiver = PushReceiver::start(key.body["key"].as_str().unwrap()).await;
    let alice = server.sign_in("+33612000004").await;
    let mallory = server.sign_in("+33612000005").await;
    let endpoint = "https://fcm.googleapis.com/fcm/send/alice-phone";
    let alice_browser = subscription_to(&receiver, "alice", endpoint);
    let created = server
        .post("/api/v1/push/subscriptions", Some(&alice), &alice_browser)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    // Someone else sends the same endpoint with other keys: refused, and
    // Alice keeps her notifications.
    let taken = server
        .post(
            "/api/v1/push/subscriptions",
            Some(&mallory),
            &subscription_to(&receiver, "mallory", endpoint),
        )
        .await;
    assert_eq!(taken.problem(409)["code"], "endpoint_taken");
    let listed = |token: String| {
        let server = &server;
        async move {
            server
                .get("/api/v1/push/subscriptions", Some(&token))
                .await
                .body
                .as_array()
                .unwrap()
                .len()
        }
    };
    assert_eq!(listed(alice.clone()).await, 1);
    assert_eq!(listed(mallory.clone()).await, 0);
    // Alice renews her own subscription (new keys): fine.
    let renewed = server
        .post(
            "/api/v1/push/subscriptions",
            Some(&alice),
            &subscription_to(&receiver, "alice-2", endpoint),
        )
        .await;
    assert_eq!(renewed.status, StatusCode::CREATED, "{}", renewed.body);
    // The same browser (the same keys), signed in as someone else: moved.
    let shared = server
        .post(
            "/api/v1/push/subscriptions",
            Some(&mallory),
            &receiver.subscription_of("alice-2", endpoint),
        )
        .await;
    assert_eq!(shared.status, StatusCode::CREATED, "{}", shared.body);
    assert_eq!(listed(alice).await, 0);
    assert_eq!(listed(mallory).await, 1);
}

async fn sign_in_limits_hold_under_parallel_requests(backend: Backend) {
    // The default limits: 60 an hour per address, 5 per contact.
    let server = Arc::new(Server::start(backend).await);
    let mut asks = Vec::new();
    for i in 0..120 {
        let server = server.clone();
        asks.push(tokio::spawn(async move {
            server
                .post(
                    "/api/v1/auth/start",
                    None,
                    &json!({ "contact": format!("+3361300{i:04}") }),
                )
                .await
                .status
        }));
    }
    let mut sent = 0;
    for ask in asks {
        match ask.await.unwrap() {
            StatusCode::ACCEPTED => sent += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(sent, 60, "codes sent from one address in parallel");

    let server = Arc::new(Server::start_with(server.backend.clone(), many_sign_ins()).await);
    let mut asks = Vec::new();
    for _ in 0..40 {
        let server = server.clone();
        asks.push(tokio::spawn(async move {
            server
                .post(
                    "/api/v1/auth/start",
                    None,
                    &json!({ "contact": "+33613999999" }),
                )
                .await
                .status
        }));
    }
    let mut sent = 0;
    for ask in asks {
        if ask.await.unwrap() == StatusCode::ACCEPTED {
            sent += 1;
        }
    }
    assert_eq!(sent, 5, "codes sent to one contact in parallel");
}

async fn forged_forwarded_hops_do_not_beat_the_limit(backend: Backend) {
    let server = Server::start_with(
        backend,
        Options {
            env: vec![
                ("LOTOCAR_SIGNIN_PER_IP_HOUR".into(), "5".into()),
                ("LOTOCAR_TRUSTED_PROXIES".into(), "127.0.0.1,::1".into()),
            ],
            ..Default::default()
        },
    )
    .await;
    let ask = |forwarded: String, contact: String| {
        let server = &server;
        async move {
            server
                .http
                .post(server.url("/api/v1/auth/start"))
                .header("x-forwarded-for", forwarded)
                .json(&json!({ "contact": contact }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // The client writes a new first hop each time; the proxy (loopback,
    // trusted) appends the real address.
    let mut statuses = Vec::new();
    for i in 0..8 {
        statuses.push(
            ask(
                format!("10.{i}.{i}.{i}, 203.0.113.7"),
                format!("+3361400{i:04}"),
            )
            .await,
        );
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::ACCEPTED)
            .count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS);
    // Another real client, through the same proxy, has its own allowance.
    assert_eq!(
        ask("203.0.113.8".into(), "+33614999999".into()).await,
        StatusCode::ACCEPTED
    );
}

async fn parallel_identical_bookings_make_one(backend: Backend) {
    let server = Arc::new(Server::start_with(backend, many_sign_ins()).await);
    let ride = commuting_driver(&server, "+33615000001", false).await;
    let passenger = server.sign_in_as("+33615000002", "Léa Roux").await;
    let date = next_weekday(1, 2);
    let need = post_need(&server, &passenger, &livernon_to_figeac(&date)).await;
    let body = booking_body(id_of(&need), &ride.offer_id, &date);
    let mut posts = Vec::new();
    for _ in 0..20 {
        let (server, passenger, body) = (server.clone(), passenger.clone(), body.clone());
        posts.push(tokio::spawn(async move {
            let answer = server
                .post("/api/v1/bookings", Some(&passenger), &body)
                .await;
            (answer.status, answer.body)
        }));
    }
    let mut created = 0;
    for post in posts {
        let (status, body) = post.await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => assert_eq!(body["code"], "already_booked", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created, 1);
    let mine = server.get("/api/v1/bookings", Some(&passenger)).await;
    assert_eq!(mine.body.as_array().unwrap().len(), 1, "{}", mine.body);
}

async fn parallel_retries_with_one_key_get_the_first_answer(backend: Backend) {
    let server = Arc::new(Server::start_with(backend, many_sign_ins()).await);
    let ride = commuting_driver(&server, "+33616000001", false).await;
    let passenger = server.sign_in_as("+33616000002", "Léa Roux").await;
    let date = next_weekday(1, 2);
    let need = post_need(&server, &passenger, &livernon_to_figeac(&date)).await;
    let body = booking_body(id_of(&need), &ride.offer_id, &date);
    let mut posts = Vec::new();
    for _ in 0..20 {
        let (server, passenger, body) = (server.clone(), passenger.clone(), body.clone());
        posts.push(tokio::spawn(async move {
            let response = server
                .http
                .post(server.url("/api/v1/bookings"))
                .bearer_auth(&passenger)
                .header("idempotency-key", "one-tap-on-a-bad-line")
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    for post in posts {
        let (status, body) = post.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.insert(body["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    let mine = server.get("/api/v1/bookings", Some(&passenger)).await;
    assert_eq!(mine.body.as_array().unwrap().len(), 1);
}

/// Starts `lotocar serve <args>` and asserts it refuses at once, saying why
/// (every word of `why` in its message).
#[track_caller]
fn refuses_to_start(args: &[&str], why: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(binary())
        .arg("serve")
        .args(args)
        .arg("--data-dir")
        .arg(dir.path())
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A refusal comes at once; a server still up after 20 s started.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the server started with {args:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "the server started with {args:?}");
    for word in why {
        assert!(stderr.contains(word), "{args:?}: {stderr}");
    }
}

#[test]
fn development_mode_is_refused_off_loopback() {
    refuses_to_start(&["--dev", "--bind", "0.0.0.0:0"], &["--dev", "0.0.0.0"]);
    refuses_to_start(&["--dev", "--bind", "[::]:0"], &["--dev", "[::]"]);
    // The development switches need --dev.
    refuses_to_start(
        &["--dev-allow-local-push", "--bind", "127.0.0.1:0"],
        &["--dev-allow-local-push", "--dev"],
    );
    refuses_to_start(
        &["--dev-clock-offset-hours", "48", "--bind", "127.0.0.1:0"],
        &["--dev-clock-offset-hours", "--dev"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_response_carries_security_headers() {
    let server = Server::start_with(
        Backend::Sqlite,
        Options {
            env: vec![("LOTOCAR_PUBLIC_URL".into(), "https://lotocar.test".into())],
            ..Default::default()
        },
    )
    .await;
    for path in [
        "/",
        "/reservations/abc",
        "/api/v1/places?q=fig",
        "/api/v1/me",
        "/nowhere",
        "/healthz",
    ] {
        let answer = server.get(path, None).await;
        let header = |name: &str| {
            answer
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
        assert!(
            header("permissions-policy").contains("geolocation=(self)"),
            "{path}"
        );
        assert!(
            header("strict-transport-security").contains("max-age="),
            "{path}"
        );
        let policy = header("content-security-policy");
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        if answer.content_type().starts_with("text/html") {
            // The page's one inline script carries the nonce its policy allows.
            let nonce = policy
                .split("'nonce-")
                .nth(1)
                .and_then(|rest| rest.split('\'').next())
                .expect("a nonce in the page's policy");
            assert!(
                answer.text.contains(&format!("<script nonce=\"{nonce}\">")),
                "{path}"
            );
            // Any other script is the site's own file, not inline.
            assert_eq!(
                answer.text.matches("<script").count(),
                1 + answer.text.matches("<script src=\"/").count(),
                "{path}"
            );
            assert!(
                !policy.contains("script-src 'self' 'unsafe-inline'"),
                "{path}"
            );
        } else {
            assert!(policy.starts_with("default-src 'none'"), "{path}: {policy}");
        }
    }
    // Without https, no HSTS.
    let plain = Server::start(Backend::Sqlite).await;
    let answer = plain.get("/healthz", None).await;
    assert!(answer.headers.get("strict-transport-security").is_none());
}

/// Opens a WebSocket handshake to `/ws` with `origin`; the status line's
/// code and the stream (kept open on 101).
async fn handshake(server: &Server, origin: &str) -> (u16, tokio::net::TcpStream) {
    let address = server.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    let status = String::from_utf8_lossy(&head)
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, stream)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_web_socket_refuses_other_sites_caps_each_address_and_closes_silent_ones() {
    let server = Server::start_with(
        Backend::Sqlite,
        Options {
            env: vec![
                ("LOTOCAR_WEB_SOCKETS_PER_CLIENT".into(), "3".into()),
                ("LOTOCAR_WEB_IDLE_SECONDS".into(), "2".into()),
            ],
            ..Default::default()
        },
    )
    .await;
    let own = server.base.clone();
    // Another site's page may not open it (it would use the cookie).
    let (status, _) = handshake(&server, "https://evil.example").await;
    assert_eq!(status, 403);
    // Three sockets per address; the fourth is refused.
    let mut open = Vec::new();
    for _ in 0..3 {
        let (status, stream) = handshake(&server, &own).await;
        assert_eq!(status, 101);
        open.push(stream);
    }
    let (status, _) = handshake(&server, &own).await;
    assert_eq!(status, 429);
    // Silent sockets are closed, and their places given back.
    let mut first = open.remove(0);
    let mut buffer = [0u8; 4096];
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match first.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                // The app's first screen, or a close frame.
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "a silent socket stayed open");
    drop(open);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (status, _) = handshake(&server, &own).await;
    assert_eq!(status, 101, "places were not given back");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_web_page_is_served_to_pages_of_the_public_address() {
    // Behind a reverse proxy that rewrites Host, the page's origin is the
    // public address.
    let server = Server::start_with(
        Backend::Sqlite,
        Options {
            env: vec![("LOTOCAR_PUBLIC_URL".into(), "https://lotocar.test".into())],
            ..Default::default()
        },
    )
    .await;
    let (status, _) = handshake(&server, "https://lotocar.test").await;
    assert_eq!(status, 101);
    let (status, _) = handshake(&server, "https://lotocar.test.evil.example").await;
    assert_eq!(status, 403);
}
