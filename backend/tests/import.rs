//! A team brings its local knowledge from a spreadsheet:
//! `lotocar admin territory --import-meeting-points FILE.csv
//! --import-aliases FILE.csv`. A file with mistakes is refused line by
//! line, in French, and nothing is written; a right one makes the places
//! findable by the names people use. On both databases.

mod common;

use common::*;
use reqwest::StatusCode;

on_both_databases!(
    a_file_with_mistakes_writes_nothing_and_says_each_line,
    the_imported_places_are_found_by_their_local_names
);

/// Writes `text` in Windows-1252 (as a French spreadsheet saves CSV).
fn windows_1252(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '€' => 0x80,
            '’' => 0x92,
            c if (c as u32) < 256 => c as u8,
            other => panic!("{other} is not in Windows-1252"),
        })
        .collect()
}

async fn lot(backend: Backend) -> (Server, String, tempfile::TempDir) {
    let server = Server::start_with(backend, many_sign_ins()).await;
    server.add_lot();
    let coordinator = server
        .sign_in_with_role("0655443322", "Claire Coordinatrice", "coordinator", "lot")
        .await;
    (server, coordinator, tempfile::tempdir().unwrap())
}

fn import(server: &Server, files: &[(&str, &std::path::Path)]) -> std::process::Output {
    let mut args = vec!["territory".to_string(), "--id".into(), "lot".into()];
    for (flag, path) in files {
        args.push(flag.to_string());
        args.push(path.to_str().unwrap().to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    server.admin_output(&args)
}

async fn meeting_points(server: &Server, coordinator: &str) -> Vec<String> {
    let listed = server
        .get("/api/v1/territories/lot/meeting-points", Some(coordinator))
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

async fn a_file_with_mistakes_writes_nothing_and_says_each_line(backend: Backend) {
    let (server, coordinator, dir) = lot(backend).await;
    let points = dir.path().join("points.csv");
    std::fs::write(
        &points,
        windows_1252(
            "nom;latitude;longitude\n\
             Gramat, place de la République;44,7813;1,7256\n\
             Figeac, gare;2,0317;44,6086\n\
             Ga;44,7;1,7\n\
             Toulouse, Capitole;43,6045;1,4442\n\
             Cahors, Valentré;quarante-quatre;1,43\n\
             Gramat, place de la république;44,78;1,72\n\
             Église;44,7808;1,7262\n\
             Église;44,6078;2,0319\n",
        ),
    )
    .unwrap();
    let aliases = dir.path().join("noms.csv");
    std::fs::write(
        &aliases,
        "nom local;lieu\nLa Répu;Gramat, place de la République\nChez Paulette;Nullepart\nLe Pont;Rodez\nLe clocher;Église\n",
    )
    .unwrap();
    let refused = import(
        &server,
        &[
            ("--import-meeting-points", &points),
            ("--import-aliases", &aliases),
        ],
    );
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("rien n'a été importé : 8 lignes à corriger"),
        "{said}"
    );
    for wrong in [
        "points.csv, ligne 3 : le point (2.0317, 44.6086) n'est pas en France",
        "points.csv, ligne 4 : le nom « Ga » doit faire de 3 à 100 caractères",
        "points.csv, ligne 5 : le point (43.6045, 1.4442) n'est pas dans le territoire Lot",
        "points.csv, ligne 6 : la latitude « quarante-quatre »",
        "points.csv, ligne 7 : « Gramat, place de la république » est déjà à la ligne 2",
        "noms.csv, ligne 3 : « Nullepart » n'est ni une commune du territoire",
        // Rodez is a commune, but not of the Lot.
        "noms.csv, ligne 4 : « Rodez » n'est ni une commune du territoire",
        // Two villages have an « Église »: which one?
        "noms.csv, ligne 5 : plusieurs points de rendez-vous s'appellent « Église »",
    ] {
        assert!(said.contains(wrong), "« {wrong} » not in: {said}");
    }
    // A local name pointing to a point of the same import is right.
    assert!(!said.contains("ligne 2 :"), "{said}");
    assert!(meeting_points(&server, &coordinator).await.is_empty());

    // A file without the columns asked for.
    let headless = dir.path().join("sans-entete.csv");
    std::fs::write(&headless, "Gramat;44,7813;1,7256\n").unwrap();
    let refused = import(&server, &[("--import-meeting-points", &headless)]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("il manque la colonne « nom »"), "{said}");
    let missing = import(
        &server,
        &[("--import-meeting-points", &dir.path().join("absent.csv"))],
    );
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("impossible de lire"));
    assert!(meeting_points(&server, &coordinator).await.is_empty());
    let aliases = server
        .get("/api/v1/territories/lot/aliases", Some(&coordinator))
        .await;
    assert_eq!(aliases.body, serde_json::json!([]));
}

async fn the_imported_places_are_found_by_their_local_names(backend: Backend) {
    let (server, coordinator, dir) = lot(backend).await;
    let points = dir.path().join("points.csv");
    std::fs::write(
        &points,
        windows_1252(
            "Nom;Latitude;Longitude\n\
             Gramat, place de la République;44,7813;1,7256\n\
             \n\
             \"Figeac, gare SNCF\";44,6086;2,0317\n\
             Église;44,7808;1,7262\n\
             Église;44,6078;2,0319\n",
        ),
    )
    .unwrap();
    let aliases = dir.path().join("noms.csv");
    std::fs::write(
        &aliases,
        "\u{feff}alias,lieu\n\
         La gare de Figeac,\"Figeac, gare SNCF\"\n\
         Sainte-Spé,Saint-Céré (46400)\n\
         Le chef-lieu,46042\n\
         Le clocher de Gramat,Gramat Église\n",
    )
    .unwrap();
    let files = [
        ("--import-meeting-points", points.as_path()),
        ("--import-aliases", aliases.as_path()),
    ];
    let done = import(&server, &files);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(
        String::from_utf8_lossy(&done.stdout).contains("4 points de rendez-vous, 4 noms locaux"),
        "{}",
        String::from_utf8_lossy(&done.stdout)
    );
    // Imported twice: updated, not doubled.
    assert!(import(&server, &files).status.success());
    let mut names = meeting_points(&server, &coordinator).await;
    names.sort();
    // Two villages each have their « Église ».
    assert_eq!(
        names,
        [
            "Figeac, gare SNCF",
            "Gramat, place de la République",
            "Église",
            "Église"
        ]
    );
    // A person finds them by the names people use (the running server sees
    // them within seconds).
    for (typed, found) in [
        ("La gare de Fig", "Figeac, gare SNCF"),
        ("Sainte-Sp", "Saint-Céré"),
        ("Le chef-lieu", "Cahors"),
        ("Gramat, place", "Gramat, place de la République"),
        ("Le clocher de", "Église"),
    ] {
        let mut first = String::new();
        for _ in 0..100 {
            let search = server
                .get(
                    &format!("/api/v1/places?q={}&territory=lot", urlencode(typed)),
                    None,
                )
                .await;
            first = search.body[0]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if first == found {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(first, found, "typing « {typed} »");
    }
    // The import is in the audit log, as a coordinator's change would be.
    let audit = server
        .get("/api/v1/territories/lot/audit", Some(&coordinator))
        .await;
    assert!(audit.text.contains("(import)"), "{}", audit.text);
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
