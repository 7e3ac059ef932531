//! `lotocar admin check`: reads the configuration (the flags and
//! environment of `lotocar serve`) and the database, and says in French
//! what is missing or risky before a territory opens its service. Errors
//! make the command fail; points of attention do not. It contacts nothing
//! outside (no SMS is sent, no mail server is asked).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::config::Config;
use crate::db::{self, Db};
use crate::places::gazetteer::Gazetteer;
use crate::territories::Territories;

/// What the check found, in the order found.
#[derive(Debug, Default)]
pub struct Report {
    lines: Vec<(Level, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Attention,
    Error,
}

impl Report {
    fn ok(&mut self, text: impl Into<String>) {
        self.lines.push((Level::Ok, text.into()));
    }
    fn attention(&mut self, text: impl Into<String>) {
        self.lines.push((Level::Attention, text.into()));
    }
    fn error(&mut self, text: impl Into<String>) {
        self.lines.push((Level::Error, text.into()));
    }

    pub fn errors(&self) -> usize {
        self.count(Level::Error)
    }

    fn count(&self, level: Level) -> usize {
        self.lines.iter().filter(|(l, _)| *l == level).count()
    }

    /// The report as printed: one line per finding, then the verdict.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (level, text) in &self.lines {
            let mark = match level {
                Level::Ok => "OK       ",
                Level::Attention => "ATTENTION",
                Level::Error => "ERREUR   ",
            };
            let _ = writeln!(out, "{mark} {text}");
        }
        let (errors, attention) = (self.errors(), self.count(Level::Attention));
        let plural = |n: usize, one: &str, many: &str| {
            if n == 1 {
                format!("1 {one}")
            } else {
                format!("{n} {many}")
            }
        };
        let _ = if errors > 0 {
            writeln!(
                out,
                "{} et {} : à corriger avant d'ouvrir le service.",
                plural(errors, "erreur", "erreurs"),
                plural(attention, "point d'attention", "points d'attention")
            )
        } else {
            writeln!(
                out,
                "Aucune erreur ({}) : le service peut ouvrir.",
                plural(attention, "point d'attention", "points d'attention")
            )
        };
        out
    }
}

/// Checks the configuration, then the database.
pub async fn run(config: &Config) -> Report {
    let mut report = Report::default();
    settings(config, &mut report);
    database(config, &mut report).await;
    report
}

fn is_local_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ip.is_unspecified(),
        None => true,
    }
}

fn settings(config: &Config, report: &mut Report) {
    if config.dev {
        report.error(
            "--dev est actif : les codes de connexion sont renvoyés à qui les demande. \
             Retirez-le sur le serveur du service.",
        );
    }
    match url::Url::parse(&config.public_url) {
        Ok(url) if url.scheme() == "https" && !is_local_host(&url) => report.ok(format!(
            "Adresse publique : {} (liens des SMS, des e-mails et des notifications).",
            config.public_url
        )),
        Ok(_) => report.error(format!(
            "--public-url vaut {} : donnez l'adresse publique du service en https \
             (par exemple https://covoiturage.example.fr) ; les liens des SMS et des e-mails \
             y mènent, et les navigateurs n'acceptent les notifications qu'en https.",
            config.public_url
        )),
        Err(_) => report.error(format!(
            "--public-url vaut « {} », qui n'est pas une adresse web.",
            config.public_url
        )),
    }
    if config.trusted_proxies.is_empty() {
        if config.bind.ip().is_loopback() {
            report.attention(
                "Aucun --trusted-proxies alors que le serveur n'écoute que sur la machine : \
                 derrière un proxy, tout le monde aurait l'adresse du proxy et partagerait les \
                 mêmes limites de connexion. Donnez l'adresse du proxy (--trusted-proxies 127.0.0.1).",
            );
        } else {
            report.attention(format!(
                "Le serveur écoute directement sur {} : placez-le derrière un proxy TLS \
                 (voir docs/deploy.md) et donnez son adresse dans --trusted-proxies.",
                config.bind
            ));
        }
    } else {
        report.ok("Proxy de confiance déclaré (--trusted-proxies).");
    }
    match config.sms_url.as_deref().map(url::Url::parse) {
        None => report.error(
            "Pas de passerelle SMS (--sms-url) : les codes de connexion et les messages par SMS \
             ne seraient qu'écrits dans le journal, et personne ne pourrait se connecter par SMS.",
        ),
        Some(Ok(url)) if url.scheme() == "https" || is_local_host(&url) => {
            report.ok(format!(
                "Passerelle SMS : {}.",
                url.host_str().unwrap_or_default()
            ));
            if config.sms_authorization.is_none() {
                report.attention(
                    "La passerelle SMS est appelée sans --sms-authorization : la plupart en \
                     demandent une.",
                );
            }
        }
        Some(Ok(_)) => report
            .error("--sms-url n'est pas en https : les codes de connexion passeraient en clair."),
        Some(Err(_)) => report.error("--sms-url n'est pas une adresse web."),
    }
    let subject = config.vapid_subject.as_str();
    if subject.ends_with(".invalid") || subject.contains("@lotocar.invalid") {
        report.attention(format!(
            "Le sujet VAPID est celui par défaut ({subject}) : les services de notification \
             des navigateurs ne peuvent pas joindre l'équipe. Donnez \
             --vapid-subject mailto:votre-adresse."
        ));
    } else if subject.starts_with("mailto:") || subject.starts_with("https://") {
        report.ok(format!("Sujet VAPID : {subject}."));
    } else {
        report.error(format!(
            "--vapid-subject vaut « {subject} » : il doit commencer par mailto: ou https://."
        ));
    }
    match config.smtp_url.as_deref() {
        None => report.attention(
            "Pas de serveur d'e-mail (--smtp-url) : les e-mails ne seraient qu'écrits dans le \
             journal ; les personnes qui choisissent l'e-mail ne recevraient rien.",
        ),
        Some(url) if url.starts_with("smtp://") || url.starts_with("smtps://") => {
            report.ok("Serveur d'e-mail configuré.");
            if config.mail_from.contains(".invalid") {
                report.attention(format!(
                    "L'expéditeur des e-mails est celui par défaut ({}) : donnez --mail-from.",
                    config.mail_from
                ));
            }
        }
        Some(_) => report.error("--smtp-url doit commencer par smtp:// ou smtps://."),
    }
    if config.osrm_url.is_none() {
        report.attention(
            "Pas de serveur OSRM (--osrm-url) : les temps de trajet sont estimés à vol \
             d'oiseau (correct en campagne, moins précis en montagne ou autour d'une rivière).",
        );
    }
    if !matches!(config.log_format.as_str(), "text" | "json") {
        report.error(format!(
            "--log-format vaut « {} » : text ou json.",
            config.log_format
        ));
    }
    if config.quiet_start_hour > 23 || config.quiet_end_hour > 23 {
        report.error("Les heures calmes (--quiet-start-hour, --quiet-end-hour) vont de 0 à 23.");
    }
}

async fn database(config: &Config, report: &mut Report) {
    let file = match db::sqlite_file(config.database_url.as_deref(), &config.data_dir) {
        Ok(file) => file,
        Err(err) => {
            report.error(format!("DATABASE_URL : {err}."));
            return;
        }
    };
    if let Some(file) = &file
        && !file.exists()
    {
        report.error(format!(
            "Aucune base à {} : vérifiez --data-dir, puis créez le territoire \
             (lotocar admin territory).",
            file.display()
        ));
        return;
    }
    let db = match Db::open(config.database_url.as_deref(), &config.data_dir).await {
        Ok(db) => db,
        Err(err) => {
            report.error(format!("La base ne s'ouvre pas : {err:#}."));
            return;
        }
    };
    match &file {
        Some(file) => report.ok(format!("Base SQLite : {}.", file.display())),
        None => report.ok("Base PostgreSQL joignable."),
    }
    if let Err(err) = territories(config, &db, report).await {
        report.error(format!("Lecture de la base impossible : {err}."));
    }
    db.pool.close().await;
    db.writer.close().await;
}

async fn territories(config: &Config, db: &Db, report: &mut Report) -> anyhow::Result<()> {
    let territories = Territories::new(db.clone(), config.timezone)
        .snapshot()
        .await?;
    let list = territories.list();
    if list.is_empty() {
        report.error(
            "Aucun territoire : créez-le avec lotocar admin territory --id … --name … \
             --brand … --departements ….",
        );
        return Ok(());
    }
    if let Some(default) = &config.territory
        && territories.get(default).is_none()
    {
        report.error(format!(
            "--territory vaut « {default} », qui n'est pas un territoire de la base."
        ));
    }
    let gazetteer = Gazetteer::load_embedded()?;
    let mut communes: BTreeMap<&str, usize> = BTreeMap::new();
    for commune in gazetteer.communes() {
        *communes.entry(commune.departement.as_str()).or_default() += 1;
    }
    let count_by_territory = async |sql: &str| -> Result<BTreeMap<String, i64>, sqlx::Error> {
        let rows: Vec<(String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_all(&db.pool)
            .await?;
        Ok(rows.into_iter().collect())
    };
    let coordinators = count_by_territory(
        "SELECT territory_id, COUNT(*) FROM user_roles WHERE role = 'coordinator' GROUP BY territory_id",
    )
    .await?;
    let relays = count_by_territory(
        "SELECT territory_id, COUNT(*) FROM user_roles WHERE role = 'relay' GROUP BY territory_id",
    )
    .await?;
    let points = count_by_territory(
        "SELECT territory_id, COUNT(*) FROM meeting_points GROUP BY territory_id",
    )
    .await?;
    let aliases = count_by_territory(
        "SELECT territory_id, COUNT(*) FROM place_aliases GROUP BY territory_id",
    )
    .await?;
    for territory in list {
        let name = format!("{} ({})", territory.name, territory.id);
        let mut well = true;
        for departement in &territory.departements {
            if communes.get(departement.as_str()).copied().unwrap_or(0) == 0 {
                well = false;
                report.error(format!(
                    "{name} : le département « {departement} » n'a aucune commune dans le \
                     répertoire (un code comme 46, 2A ou 971 ?). Corrigez avec lotocar admin \
                     territory --id {} --departements ….",
                    territory.id
                ));
            }
        }
        if well {
            let total: usize = territory
                .departements
                .iter()
                .map(|d| communes.get(d.as_str()).copied().unwrap_or(0))
                .sum();
            report.ok(format!(
                "{name} : départements {}, {total} communes.",
                territory.departements.join(", ")
            ));
        }
        let of = |counts: &BTreeMap<String, i64>| counts.get(&territory.id).copied().unwrap_or(0);
        if of(&coordinators) == 0 {
            report.error(format!(
                "{name} : personne pour coordonner. Donnez le rôle : lotocar admin grant \
                 --contact … --role coordinator --territory {}.",
                territory.id
            ));
        } else {
            report.ok(format!("{name} : {} coordinateur(s).", of(&coordinators)));
        }
        if of(&relays) == 0 {
            report.attention(format!(
                "{name} : aucun relais (France Services, association) pour les personnes sans \
                 smartphone : lotocar admin grant --contact … --role relay --territory {}.",
                territory.id
            ));
        } else {
            report.ok(format!("{name} : {} relais.", of(&relays)));
        }
        if of(&points) == 0 {
            report.attention(format!(
                "{name} : aucun point de rendez-vous (gare, place, hôpital) : importez-les \
                 avec lotocar admin territory --id {} --import-meeting-points points.csv.",
                territory.id
            ));
        } else {
            report.ok(format!(
                "{name} : {} points de rendez-vous, {} noms locaux.",
                of(&points),
                of(&aliases)
            ));
        }
    }
    Ok(())
}
