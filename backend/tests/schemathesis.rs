//! Schemathesis against the real server (`--dev --demo`): every operation
//! of the OpenAPI document, with generated valid and invalid input, once
//! anonymous and once signed in as the demo coordinator. Fails on any 5xx
//! and on any answer the document does not describe (status code, content
//! type, headers, body schema), on invalid input accepted and on valid
//! input refused (beyond the rules JSON Schema cannot state, see
//! `fixtures/schemathesis.toml`).
//!
//! The run is bounded (examples per operation, time) and seeded. Without
//! the `schemathesis` command (`pip install --user schemathesis==4.32.5`)
//! the test is skipped with a note, unless `LOTOCAR_REQUIRE_SCHEMATHESIS=1`
//! (CI), which makes it a failure. `LOTOCAR_SCHEMATHESIS` names the
//! command when it is not on the `PATH` nor in `~/.local/bin`.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use common::*;

/// The version the document and its fixes were checked with.
const PINNED: &str = "4.32.5";

/// Examples per operation, and the seed: each of the two runs takes about
/// a minute here. The run has no time budget of its own (Schemathesis's
/// `--max-time` repeats until it is spent): the number of examples bounds
/// it.
const MAX_EXAMPLES: &str = "40";
const SEED: &str = "20261201";

fn schemathesis() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(path) = std::env::var("LOTOCAR_SCHEMATHESIS") {
        candidates.push(path.into());
    }
    candidates.push("schemathesis".into());
    if let Ok(home) = std::env::var("HOME") {
        candidates.push(PathBuf::from(home).join(".local/bin/schemathesis"));
    }
    candidates.into_iter().find(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_answers_as_its_openapi_document_says() {
    let Some(cli) = schemathesis() else {
        if std::env::var("LOTOCAR_REQUIRE_SCHEMATHESIS").as_deref() == Ok("1") {
            panic!(
                "LOTOCAR_REQUIRE_SCHEMATHESIS=1 but no schemathesis command was found \
                 (pip install --user schemathesis=={PINNED})"
            );
        }
        eprintln!("note: Schemathesis test skipped (pip install --user schemathesis=={PINNED})");
        return;
    };
    let version = Command::new(&cli).arg("--version").output().unwrap();
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    if !version.ends_with(PINNED) {
        eprintln!("note: {version}, checked with {PINNED}");
    }

    let server = Server::start_with(
        Backend::Sqlite,
        Options {
            demo: true,
            ..many_sign_ins()
        },
    )
    .await;
    let token = server.sign_in("coordination@example.fr").await;
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schemathesis.toml");
    let reports = tempfile::tempdir().unwrap();
    let config = config.canonicalize().expect("the Schemathesis settings");

    let mut failures = Vec::new();
    for (who, auth) in [
        ("anonymous", None),
        ("signed in", Some(format!("Authorization: Bearer {token}"))),
    ] {
        let started = Instant::now();
        let mut command = Command::new(&cli);
        command
            .arg("--config-file")
            .arg(&config)
            .arg("--no-color")
            .arg("run")
            .arg(server.url("/api/openapi.json"))
            .args(["--checks", "all"])
            .args(["--max-examples", MAX_EXAMPLES])
            .args(["--seed", SEED])
            .args(["--request-timeout", "10"])
            .args(["--workers", "1"])
            .args(["--generation-database", "none"])
            .arg("--report-dir")
            .arg(reports.path())
            // Its cache of crashes goes there too, not in the sources.
            .current_dir(reports.path())
            .env("NO_COLOR", "1");
        if let Some(header) = &auth {
            command.args(["-H", header]);
        }
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .unwrap()
            .expect("run schemathesis");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let summary: String = stdout
            .lines()
            .skip_while(|l| !l.contains("SUMMARY"))
            .collect::<Vec<_>>()
            .join("\n");
        eprintln!(
            "schemathesis ({who}, {} s):\n{summary}",
            started.elapsed().as_secs()
        );
        if !output.status.success() {
            failures.push(format!(
                "--- {who} ---\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
