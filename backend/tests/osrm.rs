//! The OSRM client against a real `osrm-routed`, on a small road map the
//! test writes: a road Cahors – Livernon – Figeac and a branch to Cajarc.
//! The OSRM binaries come from the PyPI wheel `osrm-bindings` (see
//! `.ci/run`); the test runs when `LOTOCAR_OSRM_BIN` names their folder,
//! and fails without it when `LOTOCAR_REQUIRE_OSRM=1`.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use lotocar_backend::routing::Router;
use lotocar_backend::routing::osrm::Osrm;
use lotocar_shared::GeoPoint;
use reqwest::StatusCode;
use serde_json::json;

const CAHORS: (f64, f64) = (44.44683, 1.44062);
const LIVERNON: (f64, f64) = (44.64751, 1.84234);
const FIGEAC: (f64, f64) = (44.60980, 2.03460);
const CAJARC: (f64, f64) = (44.48475, 1.84315);

fn point((lat, lon): (f64, f64)) -> GeoPoint {
    GeoPoint::new(lat, lon).unwrap()
}

fn osrm_bin() -> Option<PathBuf> {
    match std::env::var("LOTOCAR_OSRM_BIN") {
        Ok(dir) => Some(PathBuf::from(dir)),
        Err(_) => {
            if std::env::var("LOTOCAR_REQUIRE_OSRM").as_deref() == Ok("1") {
                panic!("LOTOCAR_REQUIRE_OSRM=1 but LOTOCAR_OSRM_BIN is not set");
            }
            eprintln!(
                "note: OSRM test skipped (set LOTOCAR_OSRM_BIN to the osrm/bin folder of the osrm-bindings wheel)"
            );
            None
        }
    }
}

/// A map with a primary road through Cahors, Livernon and Figeac, with a
/// point every few hundred metres, and a secondary road Livernon – Cajarc.
fn write_map(path: &Path) {
    let mut nodes = String::new();
    let mut next = 1;
    let mut line = |from: (f64, f64), to: (f64, f64), nodes: &mut String| -> Vec<i64> {
        let steps = 60;
        (0..=steps)
            .map(|i| {
                let f = f64::from(i) / f64::from(steps);
                let id = next;
                next += 1;
                nodes.push_str(&format!(
                    "  <node id=\"{id}\" version=\"1\" lat=\"{:.7}\" lon=\"{:.7}\"/>\n",
                    from.0 + (to.0 - from.0) * f,
                    from.1 + (to.1 - from.1) * f
                ));
                id
            })
            .collect()
    };
    let west = line(CAHORS, LIVERNON, &mut nodes);
    let east = line(LIVERNON, FIGEAC, &mut nodes);
    let south = line(LIVERNON, CAJARC, &mut nodes);
    let way = |id: i64, refs: &[i64], highway: &str, join: Option<i64>| {
        let mut refs: Vec<i64> = refs.to_vec();
        if let Some(first) = join {
            refs[0] = first;
        }
        let nds: String = refs
            .iter()
            .map(|r| format!("    <nd ref=\"{r}\"/>\n"))
            .collect();
        format!(
            "  <way id=\"{id}\" version=\"1\">\n{nds}    <tag k=\"highway\" v=\"{highway}\"/>\n  </way>\n"
        )
    };
    // The three roads meet at Livernon: the first node of the east and south
    // roads is the last node of the west road.
    let livernon = *west.last().unwrap();
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<osm version=\"0.6\" generator=\"lotocar-test\">\n{nodes}{}{}{}</osm>\n",
        way(1, &west, "primary", None),
        way(2, &east, "primary", Some(livernon)),
        way(3, &south, "secondary", Some(livernon)),
    );
    std::fs::write(path, xml).unwrap();
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Routed(Child);

impl Drop for Routed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Prepares the map and starts osrm-routed; returns its URL.
async fn start_osrm(bin: &Path, dir: &Path) -> (String, Routed) {
    let map = dir.join("map.osm");
    write_map(&map);
    let profile = bin.join("../share/profiles/car.lua");
    let run = |tool: &str, args: &[&std::ffi::OsStr]| {
        let out = Command::new(bin.join(tool))
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{tool}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(
        "osrm-extract",
        &["-p".as_ref(), profile.as_os_str(), map.as_os_str()],
    );
    let osrm = dir.join("map.osrm");
    run("osrm-partition", &[osrm.as_os_str()]);
    run("osrm-customize", &[osrm.as_os_str()]);
    let port = free_port();
    let child = Command::new(bin.join("osrm-routed"))
        .args([
            "--algorithm",
            "mld",
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "--max-table-size",
            "1000",
        ])
        .arg(&osrm)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let routed = Routed(child);
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client
            .get(format!("{url}/nearest/v1/driving/1.44062,44.44683"))
            .send()
            .await
            .is_ok()
        {
            return (url, routed);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("osrm-routed did not start");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_osrm_client_reads_real_road_times() {
    let Some(bin) = osrm_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (url, _routed) = start_osrm(&bin, dir.path()).await;

    let osrm = Osrm::new(&url, 100).unwrap();
    // Distances along the road are the lengths of its straight segments.
    let west = osrm.route(point(CAHORS), point(LIVERNON)).await.unwrap();
    let east = osrm.route(point(LIVERNON), point(FIGEAC)).await.unwrap();
    let through = osrm.route(point(CAHORS), point(FIGEAC)).await.unwrap();
    let crow_west = point(CAHORS).distance_m(point(LIVERNON));
    let crow_east = point(LIVERNON).distance_m(point(FIGEAC));
    assert!(
        (west.meters - crow_west).abs() / crow_west < 0.01,
        "{} vs {crow_west}",
        west.meters
    );
    assert!(
        (east.meters - crow_east).abs() / crow_east < 0.01,
        "{} vs {crow_east}",
        east.meters
    );
    // Cahors to Figeac goes through Livernon: the sum of both, longer than
    // the straight line.
    assert!((through.meters - (west.meters + east.meters)).abs() < 50.0);
    assert!(through.meters > point(CAHORS).distance_m(point(FIGEAC)) * 1.05);
    // A primary road: between 40 and 110 km/h on average.
    let kmh = through.meters / through.seconds * 3.6;
    assert!((40.0..110.0).contains(&kmh), "{kmh} km/h");

    // One /table call for a batch; the same answers when the batch is cut
    // into requests of at most three coordinates.
    let pairs = vec![
        (point(CAHORS), point(LIVERNON)),
        (point(LIVERNON), point(FIGEAC)),
        (point(CAHORS), point(FIGEAC)),
        (point(CAJARC), point(FIGEAC)),
        (point(FIGEAC), point(CAHORS)),
    ];
    let table = osrm.durations(&pairs).await.unwrap();
    assert_eq!(table.len(), pairs.len());
    assert!((table[0] + table[1] - table[2]).abs() < 2.0, "{table:?}");
    assert!((table[2] - through.seconds).abs() < 2.0);
    assert!(
        table[3] > table[1],
        "Cajarc is further from Figeac than Livernon"
    );
    let small = Osrm::new(&url, 3).unwrap();
    let chunked = small.durations(&pairs).await.unwrap();
    for (a, b) in table.iter().zip(&chunked) {
        assert!((a - b).abs() < 0.5, "{table:?} vs {chunked:?}");
    }

    // An unreachable server is an error, not a made-up time.
    let nowhere = Osrm::new(&format!("http://127.0.0.1:{}", free_port()), 100).unwrap();
    assert!(nowhere.durations(&pairs).await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn matching_runs_on_osrm_road_times() {
    let Some(bin) = osrm_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (url, _routed) = start_osrm(&bin, dir.path()).await;
    let server = Server::start_with(
        Backend::Sqlite,
        Options {
            env: vec![("OSRM_URL".into(), url)],
            ..Default::default()
        },
    )
    .await;
    let driver = server.sign_in_as("0611111111", "Marie Dupont").await;
    let offer = server
        .post(
            "/api/v1/offers",
            Some(&driver),
            &weekly_offer(common::CAHORS, common::FIGEAC, "07:30", &date_in(1)),
        )
        .await;
    assert_eq!(offer.status, StatusCode::CREATED, "{}", offer.body);
    let passenger = server.sign_in("0622222222").await;
    let tuesday = next_weekday(1, 2);
    let need = server
        .post(
            "/api/v1/requests",
            Some(&passenger),
            &need_arriving(common::LIVERNON, common::FIGEAC, &tuesday, "09:00"),
        )
        .await;
    let m = &need.body["matches"][0];
    assert_eq!(m["offer_id"], offer.body["id"], "{}", need.body);
    // Livernon is on the road: no detour, on OSRM's times.
    assert!(m["detour_minutes"].as_f64().unwrap() < 1.0, "{m}");
    let pickup = m["pickup"]["time"].as_str().unwrap();
    assert!(("07:45".."08:30").contains(&pickup), "{pickup}");
    // Cajarc is off the road (a branch from Livernon): too long a detour.
    let off = server
        .post("/api/v1/requests", Some(&passenger), &json!({
            "origin": { "place_id": common::CAJARC }, "destination": { "place_id": common::FIGEAC },
            "schedule": { "kind": "once", "date": tuesday, "arrive_by": "09:00" }
        }))
        .await;
    assert_eq!(off.body["matches"], json!([]), "{}", off.body);
}
