//! The web shell in a real browser: `e2e/flow.mjs` drives Debian's
//! Chromium through Playwright against this server (SQLite, `--dev`, the
//! demo territory). Screenshots of each step land in `target/e2e/`.
//! Runs when `e2e/node_modules` is installed (`npm ci --prefix e2e`) and
//! Chromium is at /usr/bin/chromium; `LOTOCAR_REQUIRE_E2E=1` makes their
//! absence a failure (CI sets it).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Whether the browser tools are installed (else skip, or fail in CI).
fn browser_ready() -> bool {
    let root = workspace();
    let ready = root.join("e2e/node_modules/playwright-core").exists()
        && std::path::Path::new("/usr/bin/chromium").exists();
    if !ready {
        if std::env::var("LOTOCAR_REQUIRE_E2E").as_deref() == Ok("1") {
            panic!("LOTOCAR_REQUIRE_E2E=1 but e2e/node_modules or /usr/bin/chromium is missing");
        }
        eprintln!("note: browser test skipped (npm ci --prefix e2e; apt install chromium)");
    }
    ready
}

/// Runs `node e2e/<script> <args>` and checks it printed `expect`.
fn node(script: &str, args: &[&str], expect: &str) {
    let root = workspace();
    let output = Command::new("node")
        .arg(root.join("e2e").join(script))
        .args(args)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "browser flow {script} {args:?} failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(expect), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relay_books_for_a_person_without_a_smartphone_and_the_coordinator_sees_it() {
    if !browser_ready() {
        return;
    }
    let mut server = Server::start_with(
        Backend::Sqlite,
        Options {
            demo: true,
            ..many_sign_ins()
        },
    )
    .await;
    let shots = workspace().join("target/e2e");
    let shots = shots.to_str().unwrap();
    let tuesday = next_weekday(1, 2);
    node(
        "relay.mjs",
        &[&server.base, shots, &tuesday, "book"],
        "relay book ok",
    );
    // The day of the trip, at noon.
    server.options.env.push((
        "LOTOCAR_DEV_CLOCK_OFFSET_HOURS".into(),
        hours_until_noon(&tuesday).to_string(),
    ));
    server.restart().await;
    node(
        "relay.mjs",
        &[&server.base, shots, &tuesday, "record"],
        "relay record ok",
    );
    assert!(
        workspace()
            .join("target/e2e/relay-record-04-map.png")
            .exists()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_passenger_books_and_the_driver_confirms_in_the_browser() {
    let root = workspace();
    if !browser_ready() {
        return;
    }
    let server = Server::start_with(
        Backend::Sqlite,
        Options {
            demo: true,
            ..Default::default()
        },
    )
    .await;
    let shots = root.join("target/e2e");
    node(
        "flow.mjs",
        &[&server.base, shots.to_str().unwrap(), &next_weekday(1, 2)],
        "e2e ok",
    );
    assert!(shots.join("08-driver-phone.png").exists());
}
