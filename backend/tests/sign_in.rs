//! Sign-in over HTTP: single-use codes and their attempts, rate limits,
//! codes shown only in development mode, the profile and signing out.
//! Every scenario runs on SQLite and PostgreSQL; the last one, on row
//! locks, on PostgreSQL only (SQLite has one writer and no row locks).

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

on_both_databases!(
    sign_in_codes_are_single_use_and_allow_five_attempts,
    sign_in_is_rate_limited_per_contact_and_per_ip,
    codes_are_returned_only_in_dev_mode,
    profile_changes_and_sign_out,
);

async fn sign_in_codes_are_single_use_and_allow_five_attempts(backend: Backend) {
    let server = Server::start(backend).await;
    let contact = "marie@exemple.fr";
    let started = server
        .post("/api/v1/auth/start", None, &json!({ "contact": contact }))
        .await;
    assert_eq!(started.status, StatusCode::ACCEPTED);
    assert!(
        started.body["message"]
            .as_str()
            .unwrap()
            .contains("marie@exemple.fr")
    );
    assert_eq!(started.body["expires_in_seconds"], 600);
    let code = started.body["dev_code"].as_str().unwrap().to_string();
    let wrong = if code == "000000" { "111111" } else { "000000" };

    let attempt = |code: String| {
        let server = &server;
        async move {
            server
                .post(
                    "/api/v1/auth/verify",
                    None,
                    &json!({ "contact": contact, "code": code }),
                )
                .await
        }
    };
    let first = attempt(wrong.to_string()).await;
    let problem = first.problem(422);
    assert_eq!(problem["errors"][0]["field"], "code");
    assert_eq!(
        problem["errors"][0]["message"],
        "Code incorrect. Il vous reste 4 essais."
    );

    // The right code works, once; the account is created on first sign-in.
    let ok = attempt(code.clone()).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["token"].as_str().unwrap().len(), 43);
    assert_eq!(ok.body["user"]["roles"], json!([]));
    attempt(code.clone()).await.problem(422);

    // Five wrong codes burn a code: even the right one is then refused.
    let started = server
        .post("/api/v1/auth/start", None, &json!({ "contact": contact }))
        .await;
    let code = started.body["dev_code"].as_str().unwrap().to_string();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        attempt(wrong.to_string()).await.problem(422);
    }
    let refused = attempt(code).await;
    assert!(
        refused.problem(422)["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Demandez un nouveau code")
    );

    // Signing in again with the same contact reaches the same account.
    let token = server.sign_in("Marie@Exemple.fr").await;
    let me = server.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.body["id"], ok.body["user"]["id"]);
    assert_eq!(me.body["email"], "marie@exemple.fr");
}

async fn sign_in_is_rate_limited_per_contact_and_per_ip(backend: Backend) {
    let server = Server::start_with(
        backend,
        Options {
            env: vec![
                ("LOTOCAR_CODES_PER_CONTACT_HOUR".into(), "2".into()),
                ("LOTOCAR_SIGNIN_PER_IP_HOUR".into(), "5".into()),
            ],
            ..Default::default()
        },
    )
    .await;
    let ask = async |contact: &str| {
        server
            .post("/api/v1/auth/start", None, &json!({ "contact": contact }))
            .await
    };
    assert_eq!(ask("0611111111").await.status, StatusCode::ACCEPTED);
    assert_eq!(ask("0611111111").await.status, StatusCode::ACCEPTED);
    let limited = ask("0611111111").await;
    let problem = limited.problem(429);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Réessayez dans")
    );
    let retry_after: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3000..=3600).contains(&retry_after), "{retry_after}");

    // Another contact from the same address: allowed until the IP limit.
    assert_eq!(ask("0622222222").await.status, StatusCode::ACCEPTED);
    assert_eq!(ask("0633333333").await.status, StatusCode::ACCEPTED);
    ask("0644444444").await.problem(429);
}

async fn codes_are_returned_only_in_dev_mode(backend: Backend) {
    let server = Server::start_with(
        backend,
        Options {
            dev: false,
            ..Default::default()
        },
    )
    .await;
    let started = server
        .post(
            "/api/v1/auth/start",
            None,
            &json!({ "contact": "0612345678" }),
        )
        .await;
    assert_eq!(started.status, StatusCode::ACCEPTED);
    assert!(started.body.get("dev_code").is_none(), "{}", started.body);
}

async fn profile_changes_and_sign_out(backend: Backend) {
    let server = Server::start(backend).await;
    let token = server.sign_in("0612345678").await;
    let me = server.get("/api/v1/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["phone"], "+33612345678");
    assert_eq!(me.body["share_phone"], false, "no answer means no");
    assert_eq!(me.body["preferred_channel"], "sms");

    let changed = server
        .patch(
            "/api/v1/me",
            Some(&token),
            &json!({ "display_name": "  Marie   Dupont ", "share_phone": true, "preferred_channel": "push" }),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["display_name"], "Marie Dupont");
    assert_eq!(changed.body["share_phone"], true);
    assert_eq!(changed.body["preferred_channel"], "push");

    // No e-mail on file: e-mail notifications cannot be chosen.
    let refused = server
        .patch(
            "/api/v1/me",
            Some(&token),
            &json!({ "preferred_channel": "email", "display_name": "" }),
        )
        .await;
    refused.problem(422);
    assert_eq!(refused.error_fields(), vec!["display_name"]);
    let refused = server
        .patch(
            "/api/v1/me",
            Some(&token),
            &json!({ "preferred_channel": "email" }),
        )
        .await;
    assert_eq!(
        refused.problem(422)["errors"][0]["field"],
        "preferred_channel"
    );
    let unchanged = server.get("/api/v1/me", Some(&token)).await;
    assert_eq!(unchanged.body["display_name"], "Marie Dupont");
    assert_eq!(unchanged.body["preferred_channel"], "push");

    let out = server
        .call(Method::POST, "/api/v1/auth/signout", Some(&token), None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = server.get("/api/v1/me", Some(&token)).await;
    after.problem(401);
    assert_eq!(after.headers["www-authenticate"], "Bearer");
}

/// The retention purge of sign-in limits runs while a sign-in is in flight
/// (on PostgreSQL, where both hold row locks): the sign-in has locked its
/// address's bucket and is about to clear that bucket's old hits when the
/// purge starts. Neither may be aborted as a deadlock: the sign-in goes
/// through, and the purge finishes once it is committed.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_the_sign_in_purge_does_not_deadlock_with_a_sign_in_in_flight() {
    use sqlx::Connection;
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    let url = backend.database_url().unwrap().to_string();
    let mut server = Server::start(backend).await;
    for contact in ["0611111111", "0622222222", "0633333333"] {
        let asked = server
            .post("/api/v1/auth/start", None, &json!({ "contact": contact }))
            .await;
        assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
    }
    server.stop();
    let old_hits = async |conn: &mut sqlx::PgConnection| -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM rate_limit_hits")
            .fetch_one(conn)
            .await
            .unwrap()
    };
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    assert_eq!(
        old_hits(&mut conn).await,
        6,
        "one hit per contact and per ask"
    );
    let (bucket,): (String,) =
        sqlx::query_as("SELECT bucket FROM rate_limit_buckets WHERE bucket LIKE 'ip:%'")
            .fetch_one(&mut conn)
            .await
            .unwrap();

    // Two days later, a sign-in from the same address has touched its
    // bucket (the first step of counting its hits)…
    let later_ms = now_ms() + 48 * 3_600_000;
    let mut sign_in = conn.begin().await.unwrap();
    sqlx::query("UPDATE rate_limit_buckets SET touched_at = $1 WHERE bucket = $2")
        .bind(later_ms)
        .bind(&bucket)
        .execute(&mut *sign_in)
        .await
        .unwrap();
    // …when the server starts and its jobs purge the day-old hits.
    server
        .options
        .env
        .push(("LOTOCAR_DEV_CLOCK_OFFSET_HOURS".into(), "48".into()));
    server.restart().await;
    let mut watcher = sqlx::PgConnection::connect(&url).await.unwrap();
    assert!(
        until_waiting_on_locks(&mut watcher, 1, || false).await,
        "the purge never reached the sign-in's bucket"
    );
    // The sign-in goes on: it clears its bucket's old hits and commits.
    sqlx::query("DELETE FROM rate_limit_hits WHERE bucket = $1 AND at <= $2")
        .bind(&bucket)
        .bind(later_ms - 3_600_000)
        .execute(&mut *sign_in)
        .await
        .expect("the sign-in in flight is not aborted");
    sign_in.commit().await.unwrap();
    // And the purge finishes (its next run would be 30 s later).
    for _ in 0..100 {
        if old_hits(&mut watcher).await == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(old_hits(&mut watcher).await, 0, "the purge did not finish");
    let asked = server
        .post(
            "/api/v1/auth/start",
            None,
            &json!({ "contact": "0611111111" }),
        )
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
