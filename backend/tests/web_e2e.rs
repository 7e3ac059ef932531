//! The web shell in a real browser: the scripts of `e2e/` (`flow.mjs`,
//! `relay.mjs`, `people.mjs`, `deeplink.mjs`, `limits.mjs`,
//! `reconnect.mjs`, `forms.mjs`, `confirm.mjs`, `targets.mjs`, `rating.mjs`) drive
//! Debian's Chromium through Playwright against this server (SQLite,
//! `--dev`, the demo territory). Screenshots of each step land in
//! `target/e2e/`.
//! Runs when `e2e/node_modules` is installed (`npm ci --prefix e2e`) and
//! Chromium is at /usr/bin/chromium; `LOTOCAR_REQUIRE_E2E=1` makes their
//! absence a failure (CI sets it).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::booking::*;
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

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

/// Runs `script` twice: its `first` phase, then, after a restart that moves
/// the server's clock `hours` ahead (the day of the trip), its `second`.
async fn around_the_trip_day(
    server: &mut Server,
    script: &str,
    date: &str,
    [first, second]: [&str; 2],
    hours: i64,
) {
    let shots = workspace().join("target/e2e");
    let shots = shots.to_str().unwrap();
    let name = script.trim_end_matches(".mjs");
    node(
        script,
        &[&server.base, shots, date, first],
        &format!("{name} {first} ok"),
    );
    server
        .options
        .env
        .push(("LOTOCAR_DEV_CLOCK_OFFSET_HOURS".into(), hours.to_string()));
    server.restart().await;
    node(
        script,
        &[&server.base, shots, date, second],
        &format!("{name} {second} ok"),
    );
}

/// A seat for `need` on Marie's demo commute, booked by `token`; its id.
async fn book_with_marie(server: &Server, token: &str, need: &Value) -> String {
    let marie = need["matches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["driver"]["display_name"] == "Marie D.")
        .unwrap_or_else(|| panic!("no match with Marie: {need}"));
    let booking = server
        .post(
            "/api/v1/bookings",
            Some(token),
            &json!({ "request_id": id_of(need), "offer_id": marie["offer_id"],
                     "date": marie["date"], "need_leg": marie["need_leg"] }),
        )
        .await;
    assert_eq!(booking.status, StatusCode::CREATED, "{}", booking.body);
    id_of(&booking.body).to_string()
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
    let tuesday = next_weekday(1, 2);
    // The day of the trip, at noon.
    let hours = hours_until_noon(&tuesday);
    around_the_trip_day(
        &mut server,
        "relay.mjs",
        &tuesday,
        ["book", "record"],
        hours,
    )
    .await;
    assert!(
        workspace()
            .join("target/e2e/relay-record-04-map.png")
            .exists()
    );
}

/// A relay books for Yvette: the relay, the driver and the coordinator
/// all see her, and the same state of her need in their own words
/// (`e2e/people.mjs`); « Le trajet a eu lieu » only from the day.
#[tokio::test(flavor = "multi_thread")]
async fn everyone_sees_the_person_a_relay_books_for_and_statuses_agree() {
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
    let tuesday = next_weekday(1, 2);
    // The day of the trip, early in the morning (before the pick-up).
    let hours = hours_until(&tuesday, 6, 0);
    around_the_trip_day(&mut server, "people.mjs", &tuesday, ["book", "day"], hours).await;
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
    assert!(shots.join("09-driver-phone.png").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_link_from_an_sms_opens_the_booking_once_signed_in() {
    if !browser_ready() {
        return;
    }
    let server = demo_server(Backend::Sqlite).await;
    // A passenger books a seat on Marie's weekday commute Cahors → Figeac
    // (from Livernon), and Marie confirms: the passenger is told, with a
    // link to the booking.
    const PASSENGER: &str = "+33622334455";
    let passenger = server.sign_in_as(PASSENGER, "Claire P.").await;
    let tuesday = next_weekday(1, 2);
    let need = server
        .post(
            "/api/v1/requests",
            Some(&passenger),
            &need_arriving(LIVERNON, FIGEAC, &tuesday, "09:30"),
        )
        .await;
    assert_eq!(need.status, StatusCode::CREATED, "{}", need.body);
    let request_id = need.body["id"].as_str().unwrap();
    let matches = server
        .get(
            &format!("/api/v1/requests/{request_id}/matches"),
            Some(&passenger),
        )
        .await;
    assert_eq!(matches.status, StatusCode::OK, "{}", matches.body);
    let marie = matches
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["driver"]["display_name"] == "Marie D.")
        .unwrap_or_else(|| panic!("no match with Marie: {}", matches.body));
    let booking = server
        .post(
            "/api/v1/bookings",
            Some(&passenger),
            &json!({ "request_id": request_id, "offer_id": marie["offer_id"],
                     "date": marie["date"], "need_leg": marie["need_leg"] }),
        )
        .await;
    assert_eq!(booking.status, StatusCode::CREATED, "{}", booking.body);
    let id = booking.body["id"].as_str().unwrap().to_string();
    let driver = server.sign_in("+33600000001").await;
    let confirmed = server
        .patch(
            &format!("/api/v1/bookings/{id}"),
            Some(&driver),
            &json!({ "status": "CONFIRMED" }),
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let told = server
        .get("/api/v1/notifications", Some(&passenger))
        .await
        .body;
    let link = told
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["url"].as_str())
        .find(|url| url.contains(&id))
        .unwrap_or_else(|| panic!("no notification links to {id}: {told}"))
        .to_string();
    assert_eq!(link, format!("/bookings/{id}"));

    // The web shell serves its page at the screen's address and at the
    // link; any other address stays a 404 problem.
    for path in [format!("/reservations/{id}"), link.clone()] {
        let page = server.get(&path, None).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.text);
        assert!(page.content_type().starts_with("text/html"), "{path}");
        assert!(page.text.contains("/ws"), "{path}: {}", page.text);
    }
    for path in ["/nowhere", "/reservations/b1/more", "/api/v1/nowhere"] {
        let missing = server.get(path, None).await;
        let problem: &Value = missing.problem(404);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("Vérifiez le lien")
        );
    }
    let posted = server
        .post(&format!("/reservations/{id}"), None, &json!({}))
        .await;
    posted.problem(404);

    let shots = workspace().join("target/e2e");
    node(
        "deeplink.mjs",
        &[&server.base, shots.to_str().unwrap(), &id, &link, PASSENGER],
        "deep link ok",
    );
    assert!(shots.join("deeplink-08-old-link.png").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn each_person_of_the_web_shell_has_her_own_sign_in_limit() {
    if !browser_ready() {
        return;
    }
    let server = Server::start_with(
        Backend::Sqlite,
        Options {
            env: vec![
                ("LOTOCAR_SIGNIN_PER_IP_HOUR".into(), "4".into()),
                ("LOTOCAR_TRUSTED_PROXIES".into(), "127.0.0.1".into()),
            ],
            ..Default::default()
        },
    )
    .await;
    let shots = workspace().join("target/e2e");
    node(
        "limits.mjs",
        &[&server.base, shots.to_str().unwrap()],
        "limits ok",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forms_find_places_as_typed_send_with_enter_and_show_mistakes_at_their_field() {
    if !browser_ready() {
        return;
    }
    // On a phone, then on a desktop screen.
    for width in ["360", "1280"] {
        let server = demo_server(Backend::Sqlite).await;
        let shots = workspace().join("target/e2e");
        node(
            "forms.mjs",
            &[&server.base, shots.to_str().unwrap(), width],
            "forms ok",
        );
        // She signed up in the web version: the team's figures say so
        // (the demo's people came with the app).
        let coordinator = server
            .sign_in_with_role(
                "coordination@example.fr",
                "Coordination",
                "coordinator",
                "lot",
            )
            .await;
        let usage = server
            .get("/api/v1/territories/lot/usage", Some(&coordinator))
            .await;
        assert_eq!(usage.status, StatusCode::OK, "{}", usage.body);
        assert_eq!(usage.body["new_people"]["web"], 1, "{}", usage.body);
        assert_eq!(usage.body["new_people"]["unknown"], 0, "{}", usage.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_or_deleting_is_asked_first_naming_who_will_be_told() {
    if !browser_ready() {
        return;
    }
    // On a phone, then on a desktop screen.
    for width in ["360", "1280"] {
        let server = demo_server(Backend::Sqlite).await;
        const DRIVER: &str = "+33611112222";
        let ride = commuting_driver(&server, DRIVER, false).await;
        let passenger = server.sign_in_as("+33622220000", "Léa Roux").await;
        let tuesday = next_weekday(1, 2);
        let booking = post_need_and_book(&server, &passenger, &ride.offer_id, &tuesday).await;
        let id = id_of(&booking).to_string();
        confirm(&server, &ride.driver, &id).await;
        let shots = workspace().join("target/e2e");
        node(
            "confirm.mjs",
            &[
                &server.base,
                shots.to_str().unwrap(),
                DRIVER,
                "Léa R.",
                "+33622220000",
                "Marie D.",
                width,
            ],
            "confirm ok",
        );
        // Deleted once « Oui » was tapped: her seat is cancelled.
        let after = server
            .get(&format!("/api/v1/bookings/{id}"), Some(&passenger))
            .await;
        assert_eq!(after.body["status"], "CANCELLED", "{}", after.body);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn small_targets_small_text_and_axe_violations_are_none_on_phone_and_desktop() {
    if !browser_ready() {
        return;
    }
    let server = demo_server(Backend::Sqlite).await;
    // A confirmed seat with Marie (who shares her phone): the booking shows
    // her phone as a link.
    const PASSENGER: &str = "+33622221111";
    let passenger = server.sign_in_as(PASSENGER, "Jeanne B.").await;
    let need = post_need(
        &server,
        &passenger,
        &livernon_to_figeac(&next_weekday(1, 2)),
    )
    .await;
    let booking = book_with_marie(&server, &passenger, &need).await;
    let id = booking;
    let driver = server.sign_in("+33600000001").await;
    confirm(&server, &driver, &id).await;
    // She also drives, now and then.
    let trip = post_offer(
        &server,
        &passenger,
        &weekly_offer(FIGEAC, CAHORS, "12:15", &date_in(1)),
    )
    .await;
    let shots = workspace().join("target/e2e");
    node(
        "targets.mjs",
        &[
            &server.base,
            shots.to_str().unwrap(),
            PASSENGER,
            &id,
            id_of(&need),
            &trip,
        ],
        "targets ok",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn staff_screens_are_readable_accessible_and_in_french() {
    if !browser_ready() {
        return;
    }
    let server = demo_server(Backend::Sqlite).await;
    // A relay registers Yvette (a landline), asks for a seat for her on
    // Marie's commute, and Marie confirms: the relay's and the
    // coordinator's screens have something to show.
    const RELAY: &str = "relais.gramat@example.fr";
    let relay = server.sign_in(RELAY).await;
    let yvette = register_person(
        &server,
        &relay,
        "Yvette Roux",
        Some("05 65 34 12 34"),
        LIVERNON,
    )
    .await;
    let need = post_need(&server, &relay, &need_for(&yvette, &next_weekday(1, 2))).await;
    let booking = book_with_marie(&server, &relay, &need).await;
    let driver = server.sign_in("+33600000001").await;
    confirm(&server, &driver, &booking).await;
    // And Cajarc → Figeac found no driver: a corridor of unmet demand.
    let nobody = post_need(&server, &relay, &{
        let mut body = need_arriving(CAJARC, FIGEAC, &next_weekday(3, 2), "10:00");
        body["on_behalf_of"] = json!(yvette);
        body
    })
    .await;
    let outcome = server
        .put(
            &format!("/api/v1/requests/{}/outcome", id_of(&nobody)),
            Some(&relay),
            &json!({ "outcome": "no_driver", "reason": "personne à cette heure" }),
        )
        .await;
    assert_eq!(outcome.status, StatusCode::OK, "{}", outcome.body);
    let shots = workspace().join("target/e2e");
    let shots = shots.to_str().unwrap();
    node(
        "targets.mjs",
        &[&server.base, shots, RELAY, "relay", id_of(&need)],
        "targets ok",
    );
    node(
        "targets.mjs",
        &[
            &server.base,
            shots,
            "coordination@example.fr",
            "coordinator",
        ],
        "targets ok",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_connection_comes_back_on_the_same_screen_with_the_form_as_it_was() {
    use std::io::{BufRead, Write};
    if !browser_ready() {
        return;
    }
    // On a phone, then on a desktop screen.
    for width in ["360", "1280"] {
        let mut server = demo_server(Backend::Sqlite).await;
        let shots = workspace().join("target/e2e");
        let mut child = Command::new("node")
            .arg(workspace().join("e2e/reconnect.mjs"))
            .args([&server.base, shots.to_str().unwrap(), width])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("node runs");
        let mut answer = child.stdin.take().unwrap();
        let mut said = Vec::new();
        // The flow asks for the server to go away and come back (a restart on
        // the same address, as a deployed one), while its page stays open.
        for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            match line.as_str() {
                "stop-server" => {
                    server.stop();
                    writeln!(answer, "stopped").unwrap();
                }
                "start-server" => {
                    server.restart_in_place().await;
                    writeln!(answer, "started").unwrap();
                }
                _ => {}
            }
            said.push(line);
        }
        let status = child.wait().unwrap();
        let said = said.join("\n");
        assert!(
            status.success(),
            "browser flow reconnect.mjs failed:\n{said}"
        );
        assert!(said.contains("reconnect ok"), "{said}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn after_the_trip_each_side_gives_its_word_and_the_coordinator_sees_the_low_ones() {
    if !browser_ready() {
        return;
    }
    let mut server = demo_server(Backend::Sqlite).await;
    const DRIVER: &str = "+33611112223";
    const PASSENGER: &str = "+33622221000";
    const COORDINATOR: &str = "coordination.avis@example.fr";
    let ride = commuting_driver(&server, DRIVER, false).await;
    let tuesday = next_weekday(1, 2);
    let mut booked = Vec::new();
    for (i, contact) in [PASSENGER, "+33622221001", "+33622221002"]
        .iter()
        .enumerate()
    {
        let passenger = server
            .sign_in_as(contact, &format!("Passagère {}", i + 1))
            .await;
        let booking = post_need_and_book(&server, &passenger, &ride.offer_id, &tuesday).await;
        let id = id_of(&booking).to_string();
        confirm(&server, &ride.driver, &id).await;
        booked.push((passenger, id));
    }
    server.grant(COORDINATOR, "coordinator", "lot");
    // The day of the trip: it took place; two passengers already graded
    // Marie.
    server.options.env.push((
        "LOTOCAR_DEV_CLOCK_OFFSET_HOURS".into(),
        hours_until_noon(&tuesday).to_string(),
    ));
    server.restart().await;
    for (i, (passenger, id)) in booked.iter().enumerate() {
        set_status(&server, passenger, id, "COMPLETED_PENDING_VALIDATION").await;
        if i > 0 {
            let rated = server
                .put(
                    &format!("/api/v1/bookings/{id}/rating"),
                    Some(passenger),
                    &json!({ "grade": 6 - i as i64 }),
                )
                .await;
            assert_eq!(rated.status, StatusCode::CREATED, "{}", rated.body);
        }
    }
    let shots = workspace().join("target/e2e");
    node(
        "rating.mjs",
        &[
            &server.base,
            shots.to_str().unwrap(),
            &booked[0].1,
            PASSENGER,
            DRIVER,
            COORDINATOR,
        ],
        "rating ok",
    );
    // What the passenger chose last is what is kept.
    let kept = server
        .get(
            &format!("/api/v1/bookings/{}/rating", booked[0].1),
            Some(&booked[0].0),
        )
        .await;
    assert_eq!(kept.body["grade"], 1, "{}", kept.body);
}
