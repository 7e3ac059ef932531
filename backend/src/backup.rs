//! Backups of the SQLite database and their restoration
//! (`lotocar admin backup --to FILE`, `lotocar admin restore --from FILE`).
//!
//! A backup is taken with SQLite's online backup API while the server runs:
//! one read transaction copies every page, so the copy is the database as
//! it was at one instant (every write acknowledged before it began is in
//! it), and writers go on meanwhile (WAL mode). It is written beside its
//! destination and renamed into place once checked, so an interrupted
//! backup never leaves a truncated file under the expected name.
//!
//! A restoration never replaces a database a server is working on (the
//! servers hold [`FileLock::serving`]), keeps the database it replaces
//! beside it, and refuses to replace one that holds data without `force`.
//!
//! PostgreSQL has its own tools (`pg_dump`, continuous archiving):
//! docs/deploy.md says how; these commands say so and change nothing.
//!
//! Messages are in French: they are read by a territory's operator.

use std::ffi::CStr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use libsqlite3_sys as ffi;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection};

use crate::db::{self, Db, FileLock};

/// What a database holds, as told after a backup or a restoration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contents {
    pub people: i64,
    pub trips: i64,
    pub needs: i64,
    pub bookings: i64,
}

impl Contents {
    fn is_empty(&self) -> bool {
        self.people == 0 && self.trips == 0 && self.needs == 0 && self.bookings == 0
    }
}

impl std::fmt::Display for Contents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} personnes, {} trajets, {} demandes, {} réservations",
            self.people, self.trips, self.needs, self.bookings
        )
    }
}

/// Where a command works: the SQLite file, or a refusal on PostgreSQL.
fn sqlite_target(
    database_url: Option<&str>,
    data_dir: &Path,
    what: &str,
) -> anyhow::Result<PathBuf> {
    match db::sqlite_file(database_url, data_dir)? {
        Some(file) => Ok(file),
        None => bail!(
            "La base est sur PostgreSQL (DATABASE_URL) : {what} avec les outils de PostgreSQL \
             (pg_dump et pg_restore, ou l'archivage continu), comme le décrit docs/deploy.md. \
             Rien n'a été fait."
        ),
    }
}

/// Writes a backup of the database to `to` (refused if `to` exists, unless
/// `force`). Returns what it holds.
pub async fn backup(
    database_url: Option<&str>,
    data_dir: &Path,
    to: &Path,
    force: bool,
) -> anyhow::Result<Contents> {
    let source = sqlite_target(database_url, data_dir, "sauvegardez-la")?;
    if !source.exists() {
        bail!(
            "Aucune base à sauvegarder : {} n'existe pas (vérifiez --data-dir).",
            source.display()
        );
    }
    if to.exists() && !force {
        bail!(
            "{} existe déjà : choisissez un autre nom, ou ajoutez --force pour le remplacer.",
            to.display()
        );
    }
    let partial = with_suffix(to, ".partiel");
    let _ = std::fs::remove_file(&partial);
    let written = async {
        let mut from = open(&source, false)
            .await
            .with_context(|| format!("Impossible d'ouvrir la base {}", source.display()))?;
        let mut into = open(&partial, true).await.with_context(|| {
            format!(
                "Impossible d'écrire {} (le dossier existe-t-il ?)",
                partial.display()
            )
        })?;
        copy(&mut from, &mut into).await?;
        from.close().await.ok();
        // A backup is one self-contained file.
        sqlx::query("PRAGMA journal_mode = DELETE")
            .execute(&mut into)
            .await?;
        check(&mut into).await?;
        let contents = contents(&mut into).await?;
        into.close().await?;
        anyhow::Ok(contents)
    }
    .await;
    let contents = match written {
        Ok(contents) => contents,
        Err(err) => {
            let _ = std::fs::remove_file(&partial);
            return Err(err.context("La sauvegarde n'a pas été écrite"));
        }
    };
    sync_file(&partial)?;
    std::fs::rename(&partial, to)
        .with_context(|| format!("Impossible de nommer la sauvegarde {}", to.display()))?;
    sync_dir(to)?;
    Ok(contents)
}

/// What a restoration did.
#[derive(Debug)]
pub struct Restored {
    pub contents: Contents,
    pub into: PathBuf,
    /// Where the database it replaced was kept.
    pub kept: Option<PathBuf>,
}

/// Restores the backup `from` as the database (refused while a server works
/// on it; refused if it holds data, unless `force`). The database replaced
/// is kept beside it; the restored one is brought to this version's schema.
pub async fn restore(
    database_url: Option<&str>,
    data_dir: &Path,
    from: &Path,
    force: bool,
) -> anyhow::Result<Restored> {
    let target = sqlite_target(database_url, data_dir, "restaurez-la")?;
    // The backup first: nothing is touched if it is not one.
    let mut backup = open_backup(from).await?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("Impossible de créer le dossier {}", dir.display()))?;
    }
    let Some(_alone) = FileLock::alone(&target)? else {
        bail!(
            "Un serveur Lotocar utilise la base {} : arrêtez-le d'abord \
             (systemctl stop lotocar), puis relancez la restauration. Rien n'a été fait.",
            target.display()
        );
    };
    if target.exists() {
        let mut current = open(&target, false).await.with_context(|| {
            format!("Impossible d'ouvrir la base actuelle {}", target.display())
        })?;
        let held = contents(&mut current).await?;
        current.close().await.ok();
        if !held.is_empty() && !force {
            bail!(
                "La base {} contient déjà des données ({held}). Pour la remplacer par la \
                 sauvegarde, relancez avec --force : elle sera gardée à côté. Rien n'a été fait.",
                target.display()
            );
        }
    }
    let restoring = with_suffix(&target, ".restauration");
    remove_database(&restoring);
    let copied = async {
        let mut into = open(&restoring, true).await?;
        copy(&mut backup, &mut into).await?;
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&mut into)
            .await?;
        into.close().await?;
        anyhow::Ok(())
    }
    .await;
    backup.close().await.ok();
    if let Err(err) = copied {
        remove_database(&restoring);
        return Err(err.context("La restauration n'a pas abouti ; la base actuelle est intacte"));
    }
    sync_file(&restoring)?;
    // The database replaced (with its write-ahead log) is kept.
    let kept = if target.exists() {
        let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
        let kept = with_suffix(&target, &format!(".avant-restauration-{stamp}"));
        std::fs::rename(&target, &kept)
            .with_context(|| format!("Impossible de mettre de côté {}", target.display()))?;
        let wal = with_suffix(&target, "-wal");
        if wal.exists() {
            std::fs::rename(&wal, with_suffix(&kept, "-wal"))?;
        }
        let _ = std::fs::remove_file(with_suffix(&target, "-shm"));
        Some(kept)
    } else {
        None
    };
    std::fs::rename(&restoring, &target)
        .with_context(|| format!("Impossible de mettre en place {}", target.display()))?;
    sync_dir(&target)?;
    // Brought to this version's schema (a backup of an older version).
    let url = format!("sqlite://{}", target.display());
    let db = Db::open(Some(&url), data_dir)
        .await
        .context("La base restaurée ne s'ouvre pas")?;
    db.pool.close().await;
    db.writer.close().await;
    let mut restored = open(&target, false).await?;
    let contents = contents(&mut restored).await?;
    restored.close().await.ok();
    Ok(Restored {
        contents,
        into: target,
        kept,
    })
}

const COUNTS: &str = "SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM offers),
        (SELECT COUNT(*) FROM needs), (SELECT COUNT(*) FROM bookings)";

async fn open(file: &Path, create: bool) -> Result<SqliteConnection, sqlx::Error> {
    SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(create)
        .busy_timeout(std::time::Duration::from_secs(10))
        .disable_statement_logging()
        .connect()
        .await
}

/// Opens `from` and checks it is a whole Lotocar backup this version can
/// restore.
async fn open_backup(from: &Path) -> anyhow::Result<SqliteConnection> {
    if !from.is_file() {
        bail!(
            "Aucune sauvegarde à {} : le fichier n'existe pas.",
            from.display()
        );
    }
    let not_one = || {
        format!(
            "{} n'est pas une sauvegarde Lotocar lisible. Rien n'a été fait.",
            from.display()
        )
    };
    let mut conn = SqliteConnectOptions::new()
        .filename(from)
        .read_only(true)
        .disable_statement_logging()
        .connect()
        .await
        .with_context(not_one)?;
    check(&mut conn).await.with_context(not_one)?;
    let newest: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&mut conn)
            .await
            .with_context(not_one)?;
    let Some(newest) = newest else {
        bail!(not_one());
    };
    if newest > db::newest_sqlite_migration() {
        bail!(
            "{} vient d'une version plus récente de Lotocar (schéma {newest}, celle-ci connaît \
             le {}) : restaurez-la avec cette version-là. Rien n'a été fait.",
            from.display(),
            db::newest_sqlite_migration()
        );
    }
    contents(&mut conn).await.with_context(not_one)?;
    Ok(conn)
}

/// SQLite's own check of every page and index.
async fn check(conn: &mut SqliteConnection) -> anyhow::Result<()> {
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut *conn)
        .await?;
    if verdict != "ok" {
        bail!("la base est abîmée : {verdict}");
    }
    Ok(())
}

async fn contents(conn: &mut SqliteConnection) -> anyhow::Result<Contents> {
    let empty: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'users'",
    )
    .fetch_one(&mut *conn)
    .await?;
    if empty == 0 {
        // A database just created, before its first migration.
        return Ok(Contents::default());
    }
    let (people, trips, needs, bookings): (i64, i64, i64, i64) =
        sqlx::query_as(COUNTS).fetch_one(&mut *conn).await?;
    Ok(Contents {
        people,
        trips,
        needs,
        bookings,
    })
}

/// Copies every page of `from` into `into` with the online backup API, in
/// one step: one read transaction on `from`, so one consistent instant.
async fn copy(from: &mut SqliteConnection, into: &mut SqliteConnection) -> anyhow::Result<()> {
    let mut source = from.lock_handle().await?;
    let mut destination = into.lock_handle().await?;
    let source = source.as_raw_handle().as_ptr();
    let destination = destination.as_raw_handle().as_ptr();
    let main = c"main".as_ptr();
    // SAFETY: both handles are open connections, locked for this function
    // (their worker threads wait), and the backup object is finished before
    // the locks are let go.
    unsafe {
        let backup = ffi::sqlite3_backup_init(destination, main, source, main);
        if backup.is_null() {
            bail!("copie impossible : {}", message(destination));
        }
        let mut busy = 0;
        let outcome = loop {
            match ffi::sqlite3_backup_step(backup, -1) {
                ffi::SQLITE_DONE => break ffi::SQLITE_OK,
                ffi::SQLITE_OK => continue,
                ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED if busy < 200 => {
                    busy += 1;
                    ffi::sqlite3_sleep(50);
                }
                other => break other,
            }
        };
        let finished = ffi::sqlite3_backup_finish(backup);
        if outcome != ffi::SQLITE_OK || finished != ffi::SQLITE_OK {
            let code = if outcome != ffi::SQLITE_OK {
                outcome
            } else {
                finished
            };
            bail!(
                "copie interrompue : {}",
                CStr::from_ptr(ffi::sqlite3_errstr(code)).to_string_lossy()
            );
        }
    }
    Ok(())
}

/// The last error of a connection.
///
/// # Safety
/// `handle` is an open connection.
unsafe fn message(handle: *mut ffi::sqlite3) -> String {
    // SAFETY: per the function's contract; SQLite owns the returned text.
    unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(handle)) }
        .to_string_lossy()
        .into_owned()
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_database(file: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(with_suffix(file, suffix));
    }
}

fn sync_file(file: &Path) -> anyhow::Result<()> {
    std::fs::File::open(file)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("Impossible d'écrire {} sur le disque", file.display()))
}

/// Makes a rename in `file`'s directory durable.
fn sync_dir(file: &Path) -> anyhow::Result<()> {
    let dir = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("Impossible d'écrire le dossier {}", dir.display()))
}
