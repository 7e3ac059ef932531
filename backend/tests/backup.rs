//! Backups that restore: `lotocar admin backup` while trips are being
//! posted, `lotocar admin restore` into a new data directory, and a server
//! started on it finds every trip acknowledged before the backup began,
//! and its people still signed in. A restoration refuses to replace a
//! database a server is using, or one holding data without `--force`, and
//! refuses what is not a backup; each refusal changes nothing.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use reqwest::StatusCode;
use serde_json::Value;

/// Posts a weekly trip; its id once acknowledged.
async fn post_trip(http: &reqwest::Client, base: &str, token: &str, i: usize) -> String {
    let trip = weekly_offer(
        CAHORS,
        FIGEAC,
        &format!("{:02}:{:02}", 6 + (i / 60) % 12, i % 60),
        &date_in(1),
    );
    let response = http
        .post(format!("{base}/api/v1/offers"))
        .bearer_auth(token)
        .json(&trip)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_string()
}

fn run(args: &[&str], data_dir: &std::path::Path) -> std::process::Output {
    std::process::Command::new(binary())
        .arg("admin")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run lotocar admin")
}

fn said(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_taken_under_writes_restores_every_acknowledged_trip() {
    let server = Server::start_with(Backend::Sqlite, many_sign_ins()).await;
    let driver = server.sign_in_as("0611111111", "Marie Dupont").await;
    for i in 0..20 {
        post_trip(&server.http, &server.base, &driver, i).await;
    }
    // Trips keep coming while the backup is taken.
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (http, base, token) = (server.http.clone(), server.base.clone(), driver.clone());
        let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 100;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let id = post_trip(&http, &base, &token, i).await;
                acknowledged.lock().unwrap().push(id);
                i += 1;
            }
        })
    };
    while acknowledged.lock().unwrap().len() < 10 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let listed = server.get("/api/v1/offers", Some(&driver)).await;
    let mut before: Vec<String> = listed.body["items"]
        .as_array()
        .or(listed.body.as_array())
        .expect("a list of trips")
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    before.extend(acknowledged.lock().unwrap().iter().cloned());
    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("lotocar-sauvegarde.db");
    let data_dir = server.data_dir().to_path_buf();
    let taken = {
        let file = file.clone();
        tokio::task::spawn_blocking(move || {
            run(&["backup", "--to", file.to_str().unwrap()], &data_dir)
        })
        .await
        .unwrap()
    };
    let during = acknowledged.lock().unwrap().len();
    // Writes go on after it too.
    while acknowledged.lock().unwrap().len() < during + 5 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.await.unwrap();
    assert!(taken.status.success(), "backup: {}", said(&taken));
    assert!(
        said(&taken).contains("Sauvegarde écrite"),
        "backup said: {}",
        said(&taken)
    );
    assert!(
        before.len() >= 30,
        "{} trips before the backup",
        before.len()
    );

    // Restored into a new data directory, a server starts on it.
    let restored_dir = tempfile::tempdir().unwrap();
    let restored = run(
        &["restore", "--from", file.to_str().unwrap()],
        restored_dir.path(),
    );
    assert!(restored.status.success(), "restore: {}", said(&restored));
    assert!(
        said(&restored).contains("Base restaurée"),
        "{}",
        said(&restored)
    );
    let again = Server::start_in(restored_dir, many_sign_ins()).await;
    // Still signed in, with every trip acknowledged before the backup.
    let me = again.get("/api/v1/me", Some(&driver)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    for id in &before {
        let trip = again
            .get(&format!("/api/v1/offers/{id}"), Some(&driver))
            .await;
        assert_eq!(trip.status, StatusCode::OK, "trip {id} lost: {}", trip.body);
    }
    // It works as a server: a new trip is taken, and the index is built.
    post_trip(&again.http, &again.base, &driver, 7).await;
    let mut ready = false;
    for _ in 0..100 {
        if again.get("/readyz", None).await.status == StatusCode::OK {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "the restored server never said ready");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restoration_refuses_a_running_database_data_without_force_and_what_is_not_a_backup() {
    let mut server = Server::start_with(Backend::Sqlite, many_sign_ins()).await;
    let driver = server.sign_in_as("0611111111", "Marie Dupont").await;
    let first = post_trip(&server.http, &server.base, &driver, 1).await;
    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("sauvegarde.db");
    let file_arg = file.to_str().unwrap().to_string();
    let taken = server.admin_output(&["backup", "--to", &file_arg]);
    assert!(taken.status.success(), "{}", said(&taken));
    // Not over an existing file unless asked.
    let twice = server.admin_output(&["backup", "--to", &file_arg]);
    assert!(!twice.status.success());
    assert!(said(&twice).contains("existe déjà"), "{}", said(&twice));
    let second = post_trip(&server.http, &server.base, &driver, 2).await;

    // Under the running server: refused, even with --force; it goes on.
    let live = server.admin_output(&["restore", "--from", &file_arg, "--force"]);
    assert!(!live.status.success());
    assert!(
        said(&live).contains("Un serveur Lotocar utilise la base"),
        "{}",
        said(&live)
    );
    let trip = server
        .get(&format!("/api/v1/offers/{second}"), Some(&driver))
        .await;
    assert_eq!(trip.status, StatusCode::OK);

    // Stopped, but holding data: refused without --force.
    server.stop();
    let without = server.admin_output(&["restore", "--from", &file_arg]);
    assert!(!without.status.success());
    assert!(
        said(&without).contains("contient déjà des données"),
        "{}",
        said(&without)
    );
    // What is not a backup: refused, nothing touched.
    let junk = backups.path().join("notes.txt");
    std::fs::write(&junk, "Liste des conducteurs\n".repeat(200)).unwrap();
    let not_one = server.admin_output(&["restore", "--from", junk.to_str().unwrap(), "--force"]);
    assert!(!not_one.status.success());
    assert!(
        said(&not_one).contains("n'est pas une sauvegarde Lotocar"),
        "{}",
        said(&not_one)
    );
    let missing = server.admin_output(&["restore", "--from", "/nonexistent/sauvegarde.db"]);
    assert!(!missing.status.success());
    assert!(
        said(&missing).contains("n'existe pas"),
        "{}",
        said(&missing)
    );
    server.restart().await;
    let trip = server
        .get(&format!("/api/v1/offers/{second}"), Some(&driver))
        .await;
    assert_eq!(
        trip.status,
        StatusCode::OK,
        "a refused restoration changed the data"
    );

    // With --force: the backup's state, the replaced database kept beside.
    server.stop();
    let forced = server.admin_output(&["restore", "--from", &file_arg, "--force"]);
    assert!(forced.status.success(), "{}", said(&forced));
    let kept: Vec<_> = std::fs::read_dir(server.data_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|name| {
            name.starts_with("lotocar.db.avant-restauration-") && !name.ends_with("-wal")
        })
        .collect();
    assert_eq!(kept.len(), 1, "the replaced database is kept: {kept:?}");
    assert!(said(&forced).contains(&kept[0]), "{}", said(&forced));
    server.restart().await;
    let trip = server
        .get(&format!("/api/v1/offers/{first}"), Some(&driver))
        .await;
    assert_eq!(trip.status, StatusCode::OK);
    let after = server
        .get(&format!("/api/v1/offers/{second}"), Some(&driver))
        .await;
    assert_eq!(
        after.status,
        StatusCode::NOT_FOUND,
        "the trip posted after the backup is not in it"
    );
}

/// On PostgreSQL the commands say to use PostgreSQL's tools, and do nothing.
#[tokio::test(flavor = "multi_thread")]
async fn on_postgresql_backups_are_left_to_its_own_tools() {
    let Some(backend) = Backend::postgres().await else {
        return;
    };
    let server = Server::start(backend).await;
    let file = server.data_dir().join("sauvegarde.db");
    let file = file.to_str().unwrap();
    for command in [["backup", "--to", file], ["restore", "--from", file]] {
        let output = server.admin_output(&command);
        assert!(!output.status.success());
        assert!(said(&output).contains("pg_dump"), "{}", said(&output));
    }
    assert!(!std::path::Path::new(file).exists());
}
