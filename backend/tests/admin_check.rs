//! `lotocar admin check` on a good and on a bad deployment: it names in
//! French what is missing or risky, and fails only on errors. On both
//! databases.

mod common;

use common::*;

on_both_databases!(
    a_ready_deployment_passes_with_its_points_of_attention,
    a_bad_deployment_fails_naming_each_error
);

const GOOD: &[&str] = &[
    "--public-url",
    "https://covoiturage.example.fr",
    "--trusted-proxies",
    "127.0.0.1",
    "--sms-url",
    "https://sms.example.fr/send",
    "--sms-authorization",
    "Bearer abc",
    "--vapid-subject",
    "mailto:equipe@covoiturage.example.fr",
    "--smtp-url",
    "smtp://lotocar:secret@mail.example.fr:587",
    "--mail-from",
    "Lot'ô car <ne-pas-repondre@covoiturage.example.fr>",
    "--osrm-url",
    "http://127.0.0.1:5000",
];

fn check(server: &Server, flags: &[&str]) -> (bool, String) {
    let mut args = vec!["check"];
    args.extend_from_slice(flags);
    let output = server.admin_output(&args);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

fn lines(report: &str, mark: &str) -> Vec<String> {
    report
        .lines()
        .filter(|l| l.starts_with(mark))
        .map(str::to_string)
        .collect()
}

async fn a_ready_deployment_passes_with_its_points_of_attention(backend: Backend) {
    let server = Server::start(backend).await;
    server.add_lot();
    server.grant("0655443322", "coordinator", "lot");
    // A coordinator, but no relay and no meeting point yet: points of
    // attention, not errors.
    let (passed, report) = check(&server, GOOD);
    assert!(passed, "{report}");
    assert!(lines(&report, "ERREUR").is_empty(), "{report}");
    let attention = lines(&report, "ATTENTION");
    assert_eq!(attention.len(), 2, "{report}");
    assert!(attention[0].contains("aucun relais"), "{report}");
    assert!(
        attention[1].contains("aucun point de rendez-vous"),
        "{report}"
    );
    assert!(report.contains("Lot (lot) : départements 46"), "{report}");

    server.grant("0655443311", "relay", "lot");
    let points = server.data_dir().join("points.csv");
    std::fs::write(
        &points,
        "nom;latitude;longitude\nGramat, place;44,7813;1,7256\n",
    )
    .unwrap();
    server.admin(&[
        "territory",
        "--id",
        "lot",
        "--import-meeting-points",
        points.to_str().unwrap(),
    ]);
    let (passed, report) = check(&server, GOOD);
    assert!(passed, "{report}");
    assert!(lines(&report, "ATTENTION").is_empty(), "{report}");
    assert!(
        report
            .trim_end()
            .ends_with("Aucune erreur (0 points d'attention) : le service peut ouvrir."),
        "{report}"
    );
}

async fn a_bad_deployment_fails_naming_each_error(backend: Backend) {
    let server = Server::start(backend).await;
    // Nothing set, no territory.
    let (passed, report) = check(&server, &[]);
    assert!(!passed, "{report}");
    for error in [
        "--public-url vaut http://127.0.0.1:8080",
        "Pas de passerelle SMS",
        "Aucun territoire",
    ] {
        assert!(
            lines(&report, "ERREUR").iter().any(|l| l.contains(error)),
            "no error « {error} » in:\n{report}"
        );
    }
    assert!(
        lines(&report, "ATTENTION")
            .iter()
            .any(|l| l.contains("sujet VAPID est celui par défaut")),
        "{report}"
    );
    assert!(report.contains("3 erreurs et"), "{report}");

    // A territory with a mistyped département and nobody to coordinate it,
    // a gateway over plain http, a development server.
    server.admin(&[
        "territory",
        "--id",
        "causses",
        "--name",
        "Causses",
        "--brand",
        "Causses covoit",
        "--departements",
        "46,467",
    ]);
    let mut flags: Vec<&str> = GOOD.to_vec();
    flags[5] = "http://sms.example.fr/send";
    flags.push("--dev");
    let (passed, report) = check(&server, &flags);
    assert!(!passed, "{report}");
    let errors = lines(&report, "ERREUR");
    for error in [
        "--dev est actif",
        "--sms-url n'est pas en https",
        "Causses (causses) : le département « 467 » n'a aucune commune",
        "Causses (causses) : personne pour coordonner",
    ] {
        assert!(
            errors.iter().any(|l| l.contains(error)),
            "no error « {error} » in:\n{report}"
        );
    }
    assert_eq!(errors.len(), 4, "{report}");
}
