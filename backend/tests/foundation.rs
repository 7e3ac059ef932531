//! The foundation over HTTP: service endpoints, and the demo seed with
//! roles granted from the command line. Sign-in, trips and needs, bad
//! input and the place search have their own files. Every scenario runs on
//! SQLite and PostgreSQL.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

on_both_databases!(
    service_endpoints_answer,
    demo_seed_is_idempotent_and_roles_are_granted_from_the_command_line,
);

async fn service_endpoints_answer(backend: Backend) {
    let server = Server::start(backend).await;
    let health = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = server.http.get(server.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);

    let doc = server.get("/api/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/auth/start",
        "/api/v1/auth/verify",
        "/api/v1/me",
        "/api/v1/places",
        "/api/v1/offers",
        "/api/v1/offers/{id}",
        "/api/v1/requests",
        "/api/v1/requests/{id}",
    ] {
        assert!(
            doc.body["paths"][path].is_object(),
            "{path} missing from OpenAPI"
        );
    }
    assert!(doc.body["components"]["schemas"]["OfferInput"].is_object());

    let unknown = server.get("/api/v1/nowhere", None).await;
    unknown.problem(404);
    let wrong_method = server.call(Method::PUT, "/api/v1/offers", None, None).await;
    wrong_method.problem(405);
}

async fn demo_seed_is_idempotent_and_roles_are_granted_from_the_command_line(backend: Backend) {
    let mut server = Server::start_with(
        backend.clone(),
        Options {
            demo: true,
            ..Default::default()
        },
    )
    .await;
    server.restart().await; // seeds a second time
    let driver = server.sign_in("+33600000001").await;
    let trips = server.get("/api/v1/offers", Some(&driver)).await;
    assert_eq!(trips.body.as_array().unwrap().len(), 1, "{}", trips.body);
    assert!(
        trips.body[0]["summary"]
            .as_str()
            .unwrap()
            .starts_with("Cahors → Figeac")
    );
    let gares = server.get("/api/v1/places?q=cahors%20gare", None).await;
    assert_eq!(gares.body.as_array().unwrap().len(), 1);
    let relay = server.sign_in("relais.gramat@example.fr").await;
    let me = server.get("/api/v1/me", Some(&relay)).await;
    assert_eq!(
        me.body["roles"],
        json!([{ "role": "relay", "territory_id": "lot" }])
    );
    assert_eq!(me.body["display_name"], "France Services Gramat");

    // `lotocar admin grant` on the same database.
    let mut grant = std::process::Command::new(binary());
    grant
        .args([
            "admin",
            "grant",
            "--contact",
            "06 55 44 33 22",
            "--role",
            "coordinator",
            "--territory",
            "lot",
        ])
        .arg("--data-dir")
        .arg(server.data_dir())
        .env_remove("DATABASE_URL");
    if let Some(url) = backend.database_url() {
        grant.env("DATABASE_URL", url);
    }
    let output = grant.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let unknown = std::process::Command::new(binary())
        .args([
            "admin",
            "grant",
            "--contact",
            "0655443322",
            "--role",
            "relay",
            "--territory",
            "nowhere",
        ])
        .arg("--data-dir")
        .arg(server.data_dir())
        .envs(backend.database_url().map(|u| ("DATABASE_URL", u)))
        .output()
        .unwrap();
    assert!(!unknown.status.success());

    let coordinator = server.sign_in("0655443322").await;
    let me = server.get("/api/v1/me", Some(&coordinator)).await;
    assert_eq!(
        me.body["roles"],
        json!([{ "role": "coordinator", "territory_id": "lot" }])
    );
}
