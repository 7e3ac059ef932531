//! The deployment artefacts in `deploy/`, checked with the tools that run
//! them: the systemd unit with `systemd-analyze` (valid, and confined under
//! a fixed exposure), the Caddy configuration with `caddy validate` and as
//! a real proxy in front of a real server, and the container build file on
//! its text (this machine reaches no registry to pull its base images).
//! `LOTOCAR_REQUIRE_DEPLOY_CHECKS=1` (set by `.ci/test`) makes a missing
//! tool a failure instead of a note.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn deploy(file: &str) -> String {
    std::fs::read_to_string(workspace().join("deploy").join(file)).expect("a deploy file")
}

/// Whether `tool` can be run (else a note, or a failure in CI).
fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("LOTOCAR_REQUIRE_DEPLOY_CHECKS").as_deref() == Ok("1") {
            panic!("LOTOCAR_REQUIRE_DEPLOY_CHECKS=1 but {tool} is missing");
        }
        eprintln!("note: {tool} missing, its check skipped (apt install systemd caddy)");
    }
    found
}

#[test]
fn the_systemd_unit_is_valid_and_confined() {
    let unit = deploy("lotocar.service");
    for line in [
        "User=lotocar",
        "ExecStart=/usr/local/bin/lotocar serve",
        "Restart=on-failure",
        "StateDirectory=lotocar",
        "Environment=LOTOCAR_DATA_DIR=/var/lib/lotocar",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=",
    ] {
        assert!(
            unit.lines().any(|l| l.trim() == line),
            "the unit has no « {line} »"
        );
    }
    if !have("systemd-analyze") {
        return;
    }
    // The unit as installed, its binary being the one just built.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lotocar.service");
    std::fs::write(
        &file,
        unit.replace("/usr/local/bin/lotocar", binary().to_str().unwrap()),
    )
    .unwrap();
    let verified = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&file)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&verified.stderr);
    assert!(verified.status.success(), "{said}");
    // A misspelt directive is only a warning for systemd: none is allowed.
    assert!(said.trim().is_empty(), "systemd-analyze verify: {said}");
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&file)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&security.stdout);
    let exposure: f64 = report
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for lotocar.service:")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in: {report}"));
    // 0 is a sealed box, 10 no confinement; what remains is the network it
    // needs (it listens, and calls the SMS gateway, SMTP and push services).
    assert!(exposure <= 1.5, "exposure {exposure}:\n{report}");
}

/// The site block of deploy/Caddyfile, after its global options.
fn caddy_site() -> String {
    let file = deploy("Caddyfile");
    let mut depth = 0;
    let mut global_done = false;
    let mut site = String::new();
    for line in file.lines() {
        let code = line.trim();
        if code.starts_with('#') {
            continue;
        }
        if !global_done {
            depth += code.matches('{').count() as i32 - code.matches('}').count() as i32;
            if code == "}" && depth == 0 {
                global_done = true;
            }
            continue;
        }
        site.push_str(line);
        site.push('\n');
    }
    assert!(global_done, "the Caddyfile starts with its global options");
    site
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn caddy_in_front_of_the_server_passes_its_pages_headers_and_streams() {
    if !have("caddy") {
        return;
    }
    let validated = Command::new("caddy")
        .args(["validate", "--adapter", "caddyfile", "--config"])
        .arg(workspace().join("deploy/Caddyfile"))
        .output()
        .unwrap();
    assert!(
        validated.status.success(),
        "caddy validate: {}",
        String::from_utf8_lossy(&validated.stderr)
    );

    // The site block as deployed, on other ports, with Caddy's own
    // certificate authority for "localhost".
    let (http_port, https_port) = (free_port(), free_port());
    let public = format!("https://localhost:{https_port}");
    let server = Server::start_with(
        Backend::Sqlite,
        Options {
            env: vec![
                ("LOTOCAR_PUBLIC_URL".into(), public.clone()),
                ("LOTOCAR_TRUSTED_PROXIES".into(), "127.0.0.1,::1".into()),
            ],
            ..Default::default()
        },
    )
    .await;
    let upstream = server.base.trim_start_matches("http://").to_string();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("Caddyfile");
    std::fs::write(
        &config,
        format!(
            "{{\n\tlocal_certs\n\tskip_install_trust\n\tadmin off\n\thttp_port {http_port}\n\thttps_port {https_port}\n\tstorage file_system {}\n}}\n\n{}",
            dir.path().join("data").display(),
            caddy_site()
        ),
    )
    .unwrap();
    let _caddy = Killed(
        Command::new("caddy")
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&config)
            .env("LOTOCAR_DOMAIN", "localhost")
            .env("LOTOCAR_UPSTREAM", &upstream)
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("xdg"))
            .env("XDG_CONFIG_HOME", dir.path().join("xdg"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("caddy runs"),
    );
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut health = None;
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("{public}/healthz")).send().await {
            health = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let health = health.expect("Caddy never answered over https");
    assert_eq!(health.status(), 200);
    // The server's own headers pass, and the proxy adds no banner.
    let headers = health.headers();
    for name in [
        "content-security-policy",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
        "strict-transport-security",
    ] {
        assert!(
            headers.contains_key(name),
            "no {name} through the proxy: {headers:?}"
        );
    }
    assert!(!headers.contains_key("server"), "{headers:?}");
    // The web app's page.
    let page = client.get(format!("{public}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<html"));
    // The API, and its live stream sent as it comes (its first keep-alive
    // arrives, 15 s in, rather than being held in a buffer).
    let started = client
        .post(format!("{public}/api/v1/auth/start"))
        .json(&serde_json::json!({ "contact": "0611111111" }))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 202);
    let code: serde_json::Value = started.json().await.unwrap();
    let verified: serde_json::Value = client
        .post(format!("{public}/api/v1/auth/verify"))
        .json(&serde_json::json!({ "contact": "0611111111", "code": code["dev_code"] }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = verified["token"]
        .as_str()
        .expect("a session through the proxy");
    let mut stream = client
        .get(format!("{public}/api/v1/events"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let first = tokio::time::timeout(Duration::from_secs(25), stream.chunk())
        .await
        .expect("nothing came on the live stream through the proxy in 25 s")
        .unwrap()
        .unwrap_or_default();
    assert!(
        String::from_utf8_lossy(&first).contains("ping"),
        "{first:?}"
    );
}

/// The Dockerfile instructions.
const INSTRUCTIONS: &[&str] = &[
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
];

#[test]
fn the_container_build_copies_the_whole_workspace_and_runs_without_privileges() {
    let file = deploy("Containerfile");
    // Continuation lines joined, comments left out.
    let mut instructions: Vec<(String, String)> = Vec::new();
    let mut pending = String::new();
    for line in file.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        pending.push_str(line.trim_end_matches('\\'));
        pending.push(' ');
        if line.ends_with('\\') {
            continue;
        }
        let text = std::mem::take(&mut pending);
        let (word, rest) = text.trim().split_once(' ').unwrap_or((text.trim(), ""));
        assert!(
            INSTRUCTIONS.contains(&word),
            "« {word} » is not a Containerfile instruction"
        );
        instructions.push((word.to_string(), rest.trim().to_string()));
    }
    let stages: Vec<usize> = instructions
        .iter()
        .enumerate()
        .filter(|(_, (w, _))| w == "FROM")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(stages.len(), 2, "a build stage and a small run stage");
    let (build, run) = instructions.split_at(stages[1]);
    // The build copies every workspace member, and what the binary embeds.
    let manifest: toml_members::Members = toml_members::read(&workspace().join("Cargo.toml"));
    let copied: Vec<&str> = build
        .iter()
        .filter(|(w, _)| w == "COPY")
        .flat_map(|(_, rest)| {
            let parts: Vec<&str> = rest.split_whitespace().collect();
            parts[..parts.len() - 1].to_vec()
        })
        .collect();
    for needed in manifest.0.iter().map(String::as_str).chain([
        "Cargo.toml",
        "Cargo.lock",
        "assets",
        "migrations",
    ]) {
        assert!(copied.contains(&needed), "the build does not copy {needed}");
        assert!(
            workspace().join(needed).exists(),
            "{needed} is copied but not in the repository"
        );
    }
    assert!(build.iter().any(
        |(w, r)| w == "RUN" && r.contains("cargo build --release --locked -p lotocar-backend")
    ));
    // The image runs as a user without privileges, the state in a volume.
    assert!(run[0].1.contains("slim") || run[0].1.contains("distroless"));
    let user = run
        .iter()
        .rev()
        .find(|(w, _)| w == "USER")
        .map(|(_, r)| r.clone())
        .expect("a USER in the run stage");
    let uid = user.split(':').next().unwrap();
    assert!(
        uid.parse::<u32>().is_ok_and(|n| n >= 1000),
        "the image runs as « {user} », not a numeric user without privileges"
    );
    let has = |word: &str, rest: &str| run.iter().any(|(w, r)| w == word && r.contains(rest));
    assert!(has("VOLUME", "/var/lib/lotocar"));
    assert!(has("ENV", "LOTOCAR_DATA_DIR=/var/lib/lotocar"));
    assert!(has("EXPOSE", "8080"));
    assert!(has("ENTRYPOINT", r#"["/usr/local/bin/lotocar"]"#));
    assert!(has("CMD", r#"["serve"]"#));
    // The build context leaves out what would make it huge or leak data.
    let ignored = std::fs::read_to_string(workspace().join(".containerignore")).unwrap();
    for left_out in ["target", "**/*.db", ".git"] {
        assert!(ignored.lines().any(|l| l.trim() == left_out), "{left_out}");
    }
}

/// The workspace members, read from the root manifest's `members = [...]`.
mod toml_members {
    use super::Path;

    pub struct Members(pub Vec<String>);

    pub fn read(manifest: &Path) -> Members {
        let text = std::fs::read_to_string(manifest).unwrap();
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("members"))
            .expect("workspace members");
        let list = line.split_once('[').unwrap().1.split_once(']').unwrap().0;
        Members(
            list.split(',')
                .map(|m| m.trim().trim_matches('"').to_string())
                .filter(|m| !m.is_empty())
                .collect(),
        )
    }
}

/// The example settings, read by `sh` as the administration wrapper does:
/// every variable is one the server knows, and the only errors left are
/// the database's (there is none yet).
#[test]
fn the_example_settings_are_known_and_make_a_configuration_without_errors() {
    let file = workspace().join("deploy/lotocar.env");
    let text = std::fs::read_to_string(&file).unwrap();
    let help = Command::new(binary())
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for line in text.lines() {
        let line = line.trim().trim_start_matches('#');
        let Some((name, _)) = line.split_once('=') else {
            continue;
        };
        if name.chars().all(|c| c.is_ascii_uppercase() || c == '_') && !name.is_empty() {
            assert!(
                help.contains(&format!("[env: {name}")),
                "{name} in deploy/lotocar.env is not a setting of lotocar serve"
            );
        }
    }
    let data = tempfile::tempdir().unwrap();
    let checked = Command::new("sh")
        .arg("-c")
        .arg(r#"set -a; . "$0"; set +a; exec "$1" admin check --data-dir "$2""#)
        .arg(&file)
        .arg(binary())
        .arg(data.path())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&checked.stdout);
    let errors: Vec<&str> = report.lines().filter(|l| l.starts_with("ERREUR")).collect();
    assert_eq!(errors.len(), 1, "{report}");
    assert!(errors[0].contains("Aucune base"), "{report}");
    assert!(
        report.contains("Passerelle SMS : sms.example.fr"),
        "{report}"
    );
    assert!(
        report.contains("Sujet VAPID : mailto:equipe@covoiturage.example.fr"),
        "{report}"
    );
}
