//! `lotocar`: the server and its administration commands.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use lotocar_backend::config::Config;
use lotocar_backend::db::Db;
use lotocar_backend::places::gazetteer::Gazetteer;
use lotocar_backend::places::import;
use lotocar_backend::territories::{self, Territory};
use lotocar_shared::contact::Contact;
use lotocar_shared::people::Role;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "lotocar",
    version,
    about = "Covoiturage solidaire pour les territoires ruraux"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve(Box<Config>),
    /// Administration: roles and territories.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Benchmarks (print one JSON line each).
    Bench {
        #[command(subcommand)]
        command: lotocar_backend::bench::BenchCommand,
    },
}

/// Which database an administration command works on.
#[derive(Args)]
struct DbArgs {
    #[arg(long, env = "LOTOCAR_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Grant a role (relay, coordinator, admin) in a territory to whoever
    /// signs in with a phone number or e-mail address.
    Grant {
        #[arg(long)]
        contact: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[arg(long)]
        territory: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Create or update a territory, and import its meeting points and
    /// local names from spreadsheets (CSV).
    Territory {
        /// Short id, used in URLs ("lot").
        #[arg(long)]
        id: String,
        /// Its name (needed to create it).
        #[arg(long)]
        name: Option<String>,
        /// Name shown to users ("Lot'ô car"; needed to create it).
        #[arg(long)]
        brand: Option<String>,
        /// Département codes, comma-separated ("46" or "12,46,82"; needed to
        /// create it).
        #[arg(long, value_delimiter = ',')]
        departements: Vec<String>,
        /// Its time zone (Europe/Paris when created without one).
        #[arg(long)]
        timezone: Option<chrono_tz::Tz>,
        /// Meeting points: a CSV file with the columns nom;latitude;longitude.
        #[arg(long, value_name = "FILE.csv")]
        import_meeting_points: Option<PathBuf>,
        /// Local names: a CSV file with the columns nom local;lieu (a commune
        /// of the territory or one of its meeting points).
        #[arg(long, value_name = "FILE.csv")]
        import_aliases: Option<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Check a deployment: reads the configuration (the flags and
    /// environment of `serve`) and the database, prints in French what is
    /// missing or risky, fails on errors.
    Check(Box<Config>),
    /// Back up the SQLite database to a file, while the server runs.
    Backup {
        /// The backup file to write.
        #[arg(long)]
        to: PathBuf,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Restore the SQLite database from a backup (the server stopped).
    Restore {
        /// The backup file to restore.
        #[arg(long)]
        from: PathBuf,
        /// Replace a database that holds data (it is kept beside).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        db: DbArgs,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::from_code(s).ok_or_else(|| "expected relay, coordinator or admin".to_string())
}

fn init_logs(json: bool, count_statements: bool) {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into());
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = if json {
        fmt.json().with_filter(filter).boxed()
    } else {
        fmt.with_filter(filter).boxed()
    };
    let counter = count_statements.then(lotocar_backend::db::StatementCounter::layer);
    tracing_subscriber::registry()
        .with(fmt)
        .with(counter)
        .init();
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(config) => {
            init_logs(
                config.log_format == "json",
                config.dev && config.dev_count_statements,
            );
            lotocar_backend::serve(*config).await
        }
        Command::Admin { command } => {
            init_logs(false, false);
            // Read by a territory's operator: the message and its causes on
            // one line, without a stack.
            if let Err(err) = admin(command).await {
                eprintln!("Erreur : {err:#}");
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Bench { command } => lotocar_backend::bench::run(command).await,
    }
}

async fn admin(command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::Grant {
            contact,
            role,
            territory,
            db,
        } => {
            let contact: Contact = contact.parse().map_err(anyhow::Error::msg)?;
            let db = Db::open(db.database_url.as_deref(), &db.data_dir).await?;
            let user_id =
                lotocar_backend::auth::accounts::grant_role(&db, &contact, role, &territory)
                    .await?;
            println!(
                "{} is now {} in {territory} (user {user_id})",
                contact,
                role.code()
            );
            Ok(())
        }
        AdminCommand::Territory {
            id,
            name,
            brand,
            departements,
            timezone,
            import_meeting_points,
            import_aliases,
            db,
        } => {
            // The files are read before anything is written.
            let read = |file: &Option<PathBuf>| {
                file.as_ref()
                    .map(|path| {
                        std::fs::read(path)
                            .map(|bytes| (path.display().to_string(), bytes))
                            .with_context(|| format!("impossible de lire {}", path.display()))
                    })
                    .transpose()
            };
            let points_file = read(&import_meeting_points)?;
            let aliases_file = read(&import_aliases)?;
            let db = Db::open(db.database_url.as_deref(), &db.data_dir).await?;
            let known = territories::Territories::new(db.clone(), chrono_tz::Europe::Paris)
                .get(&id)
                .await?;
            let departements: Vec<String> =
                departements.iter().map(|d| d.trim().to_string()).collect();
            let changed =
                name.is_some() || brand.is_some() || !departements.is_empty() || timezone.is_some();
            let territory = match (known, name, brand) {
                (Some(known), name, brand) => Territory {
                    name: name.unwrap_or(known.name),
                    brand: brand.unwrap_or(known.brand),
                    departements: if departements.is_empty() {
                        known.departements
                    } else {
                        departements
                    },
                    timezone: timezone.unwrap_or(known.timezone),
                    id: known.id,
                },
                (None, Some(name), Some(brand)) if !departements.is_empty() => Territory {
                    id: id.clone(),
                    name,
                    brand,
                    departements,
                    timezone: timezone.unwrap_or(chrono_tz::Europe::Paris),
                },
                (None, ..) => anyhow::bail!(
                    "le territoire « {id} » n'existe pas : donnez --name, --brand et --departements pour le créer"
                ),
            };
            if changed || (points_file.is_none() && aliases_file.is_none()) {
                territories::upsert(&db, &territory).await?;
                println!("territory {id} saved");
            }
            if points_file.is_some() || aliases_file.is_some() {
                let gazetteer = Gazetteer::load_embedded()?;
                let imported = import::import(
                    &db,
                    &gazetteer,
                    &territory,
                    points_file
                        .as_ref()
                        .map(|(n, b)| (n.as_str(), b.as_slice())),
                    aliases_file
                        .as_ref()
                        .map(|(n, b)| (n.as_str(), b.as_slice())),
                )
                .await?;
                println!(
                    "Importé dans {} : {} points de rendez-vous, {} noms locaux (un serveur en marche les voit en quelques secondes).",
                    territory.name, imported.points, imported.aliases
                );
            }
            Ok(())
        }
        AdminCommand::Check(config) => {
            let report = lotocar_backend::check::run(&config).await;
            print!("{}", report.text());
            if report.errors() > 0 {
                std::process::exit(1);
            }
            Ok(())
        }
        AdminCommand::Backup { to, force, db } => {
            let contents = lotocar_backend::backup::backup(
                db.database_url.as_deref(),
                &db.data_dir,
                &to,
                force,
            )
            .await?;
            println!("Sauvegarde écrite : {} ({contents})", to.display());
            Ok(())
        }
        AdminCommand::Restore { from, force, db } => {
            let restored = lotocar_backend::backup::restore(
                db.database_url.as_deref(),
                &db.data_dir,
                &from,
                force,
            )
            .await?;
            if let Some(kept) = &restored.kept {
                println!("La base remplacée est gardée : {}", kept.display());
            }
            println!(
                "Base restaurée : {} ({})",
                restored.into.display(),
                restored.contents
            );
            Ok(())
        }
    }
}
