//! The one place that opens the database.
//!
//! SQLite is the embedded default (a file in the data directory, WAL mode);
//! PostgreSQL is used when `DATABASE_URL` says so. Both are reached through
//! sqlx's `Any` driver with `$1` placeholders, so every query has one SQL
//! text. The dialect switches that remain live here:
//! - write transactions on SQLite start with `BEGIN IMMEDIATE`, so that two
//!   writers queue on the lock instead of failing on upgrade;
//! - each dialect has its own migrations folder (column types differ);
//! - on SQLite, writers wait for the one writer connection in lanes
//!   ([`Lane`]): a sign-in does not queue behind trips being posted, nor
//!   these behind the background work.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Executor, Transaction};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    /// For reads (and, on PostgreSQL, everything).
    pub pool: AnyPool,
    /// For writes and write transactions: a pool of its own, so that a
    /// transaction that reads on `pool` meanwhile never waits for a
    /// connection held by another transaction waiting for its locks. On
    /// SQLite, one connection: writers queue for it rather than spin on the
    /// file lock (reads go on in WAL mode).
    pub writer: AnyPool,
    pub dialect: Dialect,
    /// On SQLite, the order in which writers get the writer connection.
    lanes: Option<Arc<Lanes>>,
}

pub type Tx = Transaction<'static, Any>;

/// Which writers go first for SQLite's one writer connection (on
/// PostgreSQL, writers do not queue for one connection and lanes do
/// nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// A person waits on a few rows that share nothing with bulk work:
    /// signing in. Goes before everything else.
    Small,
    /// A person's request: a trip, a need, a booking…
    Normal,
    /// Work in the background: the fan-out of news, the dispatcher, the
    /// scheduled jobs. Goes after the requests waiting when it asks.
    Bulk,
}

/// The lanes: whoever holds `turn` is the one writer waiting for the
/// connection; normal writers take `normal` before `turn`, bulk ones `bulk`
/// before both. Tokio's mutexes are fair, so `turn`'s queue holds the small
/// writers and at most one other, and `normal`'s the normal ones and at
/// most one bulk: a small write waits for at most the transaction running
/// and one more; none waits forever. Each guard is let go once the
/// transaction has begun.
#[derive(Default)]
struct Lanes {
    turn: tokio::sync::Mutex<()>,
    normal: tokio::sync::Mutex<()>,
    bulk: tokio::sync::Mutex<()>,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// The SQLite database's file name in the data directory.
pub const SQLITE_FILE: &str = "lotocar.db";

/// The SQLite file the server works on (`lotocar.db` in the data directory,
/// or the path of a `sqlite:` URL); `None` on PostgreSQL.
pub fn sqlite_file(database_url: Option<&str>, data_dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    match database_url {
        None => Ok(Some(data_dir.join(SQLITE_FILE))),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => Ok(None),
        Some(url) if url.starts_with("sqlite:") => {
            let path = url
                .trim_start_matches("sqlite:")
                .trim_start_matches("//")
                .split('?')
                .next()
                .unwrap_or_default();
            if path.is_empty() || path == ":memory:" {
                anyhow::bail!("DATABASE_URL names no SQLite file");
            }
            Ok(Some(PathBuf::from(path)))
        }
        Some(other) => anyhow::bail!(
            "DATABASE_URL must start with postgres:// or sqlite: (got {})",
            other.split(':').next().unwrap_or_default()
        ),
    }
}

/// The newest SQLite migration this build knows (a backup made by a newer
/// version is not restored by an older one).
pub fn newest_sqlite_migration() -> i64 {
    SQLITE_MIGRATIONS
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

/// Held by every server working on a SQLite file (shared: several
/// instances may), and taken alone by a restoration, which so never
/// replaces a file under a running server, nor lets one start meanwhile.
pub struct FileLock {
    _file: std::fs::File,
}

impl FileLock {
    fn open(db_file: &Path) -> anyhow::Result<std::fs::File> {
        let mut name = db_file.as_os_str().to_owned();
        name.push(".lock");
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&name)
            .with_context(|| format!("cannot open {}", PathBuf::from(name).display()))
    }

    /// For a server: shared with the other servers on the file.
    pub fn serving(db_file: &Path) -> anyhow::Result<FileLock> {
        let file = Self::open(db_file)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(FileLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
                "{} is being restored (lotocar admin restore): start the server once it is done",
                db_file.display()
            ),
            Err(std::fs::TryLockError::Error(err)) => Err(err.into()),
        }
    }

    /// For a restoration: alone, or `None` while a server works on it.
    pub fn alone(db_file: &Path) -> anyhow::Result<Option<FileLock>> {
        let file = Self::open(db_file)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(FileLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(err)) => Err(err.into()),
        }
    }
}

impl Db {
    /// Opens (creating and migrating if needed) the database: PostgreSQL
    /// when `database_url` is set, else `lotocar.db` in `data_dir`.
    pub async fn open(database_url: Option<&str>, data_dir: &Path) -> anyhow::Result<Db> {
        install_default_drivers();
        let db = match database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let connect = async |size: u32| {
                    AnyPoolOptions::new()
                        .max_connections(size)
                        .acquire_timeout(Duration::from_secs(30))
                        .connect(url)
                        .await
                        .context("cannot connect to PostgreSQL (DATABASE_URL)")
                };
                Db {
                    pool: connect(16).await?,
                    writer: connect(16).await?,
                    dialect: Dialect::Postgres,
                    lanes: None,
                }
            }
            Some(url) if url.starts_with("sqlite:") => Self::open_sqlite(url).await?,
            Some(other) => anyhow::bail!(
                "DATABASE_URL must start with postgres:// or sqlite: (got {})",
                other.split(':').next().unwrap_or_default()
            ),
            None => {
                std::fs::create_dir_all(data_dir).with_context(|| {
                    format!("cannot create the data directory {}", data_dir.display())
                })?;
                let file = data_dir.join(SQLITE_FILE);
                Self::open_sqlite(&format!("sqlite://{}?mode=rwc", file.display())).await?
            }
        };
        db.migrate().await?;
        Ok(db)
    }

    async fn open_sqlite(url: &str) -> anyhow::Result<Db> {
        let pool = Self::sqlite_pool(url, 8).await?;
        // The journal mode is a property of the file: set once, kept.
        sqlx::query("PRAGMA journal_mode = WAL")
            .fetch_all(&pool)
            .await
            .context("cannot switch SQLite to WAL mode")?;
        Ok(Db {
            writer: Self::sqlite_pool(url, 1).await?,
            pool,
            dialect: Dialect::Sqlite,
            lanes: Some(Arc::default()),
        })
    }

    async fn sqlite_pool(url: &str, connections: u32) -> anyhow::Result<AnyPool> {
        AnyPoolOptions::new()
            .max_connections(connections)
            .acquire_timeout(Duration::from_secs(60))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    // Durable at commit in WAL mode with NORMAL: a crash of the
                    // process loses nothing; only a power cut may lose the
                    // last transactions (SQLite's documented trade-off).
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    Ok(())
                })
            })
            .connect(url)
            .await
            .with_context(|| format!("cannot open SQLite database {url}"))
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.dialect {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.writer)
            .await
            .context("database migration failed")?;
        Ok(())
    }

    /// A transaction that will write, for a person's request: it takes
    /// the write lock at once on SQLite.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        self.begin_write_in(Lane::Normal).await
    }

    /// The same, in `lane`.
    pub async fn begin_write_in(&self, lane: Lane) -> Result<Tx, sqlx::Error> {
        match self.dialect {
            Dialect::Sqlite => {
                let _turn = self.turn(lane).await;
                self.writer.begin_with("BEGIN IMMEDIATE").await
            }
            Dialect::Postgres => self.writer.begin().await,
        }
    }

    /// The writer connection, for statements outside a transaction, in
    /// `lane`.
    pub async fn write_conn(
        &self,
        lane: Lane,
    ) -> Result<sqlx::pool::PoolConnection<Any>, sqlx::Error> {
        let _turn = self.turn(lane).await;
        self.writer.acquire().await
    }

    /// Waits for `lane`'s turn to take the writer connection; the guards
    /// are to be dropped once it is taken.
    async fn turn(&self, lane: Lane) -> Option<[Option<tokio::sync::MutexGuard<'_, ()>>; 3]> {
        let lanes = self.lanes.as_deref()?;
        let bulk = match lane {
            Lane::Bulk => Some(lanes.bulk.lock().await),
            _ => None,
        };
        let normal = match lane {
            Lane::Small => None,
            _ => Some(lanes.normal.lock().await),
        };
        Some([bulk, normal, Some(lanes.turn.lock().await)])
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await.is_ok()
    }
}

/// The next number of the change sequence, taken inside the writing
/// transaction. On SQLite the counter row stays locked until commit (there
/// is one writer anyway), so numbers become visible in order; on
/// PostgreSQL a sequence gives them without blocking and readers bound
/// what they read by a visibility watermark (see `last_change` and
/// migrations/postgres/0011_change_sequence.sql).
pub async fn next_change(tx: &mut Tx) -> Result<i64, sqlx::Error> {
    use sqlx::Row;
    let sql = if tx.backend_name().eq_ignore_ascii_case("postgresql") {
        "SELECT lotocar_next_change() AS value"
    } else {
        "UPDATE change_counter SET value = value + 1 WHERE name = 'global' RETURNING value"
    };
    sqlx::query(sql)
        .fetch_one(&mut **tx)
        .await?
        .try_get("value")
}

/// Database statements run by this process, counted from sqlx's statement
/// log when the counter is installed (tests: `--dev-count-statements`).
static STATEMENTS: AtomicI64 = AtomicI64::new(-1);

/// Counts sqlx's statement events (target `sqlx::query`), whatever the
/// log filter prints.
pub struct StatementCounter;

impl StatementCounter {
    pub fn layer<S>() -> impl tracing_subscriber::Layer<S>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        use tracing_subscriber::Layer;
        STATEMENTS.store(0, Ordering::Relaxed);
        StatementCounter.with_filter(
            tracing_subscriber::filter::Targets::new()
                .with_target("sqlx::query", tracing::Level::TRACE),
        )
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for StatementCounter {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        // The connection settings a pool runs on each new connection
        // (PRAGMA on SQLite) come when the pool grows: not a request's.
        struct Summary(bool);
        impl tracing::field::Visit for Summary {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "summary" {
                    self.0 = format!("{value:?}")
                        .trim_matches('"')
                        .to_ascii_lowercase()
                        .starts_with("pragma");
                }
            }
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "summary" {
                    self.0 = value.to_ascii_lowercase().starts_with("pragma");
                }
            }
        }
        let mut setting = Summary(false);
        event.record(&mut setting);
        if !setting.0 {
            STATEMENTS.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The statements counted so far, if they are counted.
pub fn statements_run() -> Option<i64> {
    let n = STATEMENTS.load(Ordering::Relaxed);
    (n >= 0).then_some(n)
}

/// A shift of the server's clock, for demonstrations and tests of what
/// happens with time (reminders, validation after 48 h); set only in
/// development mode (`--dev-clock-offset-hours`).
static CLOCK_OFFSET_MS: AtomicI64 = AtomicI64::new(0);

pub fn set_clock_offset_hours(hours: i64) {
    CLOCK_OFFSET_MS.store(hours * 3_600_000, Ordering::Relaxed);
}

/// The current instant (the only clock of the server).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::milliseconds(CLOCK_OFFSET_MS.load(Ordering::Relaxed))
}

/// Milliseconds since the Unix epoch, the unit of every stored instant.
pub fn now_ms() -> i64 {
    now().timestamp_millis()
}

/// Reads a stored instant.
pub fn from_ms(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// A new identifier: a UUID v7, so that ids sort by creation time.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Whether an error is a uniqueness violation (the same on both databases).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

/// The cursor's upper bound: a number of the change sequence such that
/// every transaction holding a number up to it has ended, so that what a
/// later statement reads up to it is final (nothing committed at or below
/// it can appear afterwards). SQLite: the counter row (writers serialise
/// on it); PostgreSQL: the visibility watermark of
/// migrations/postgres/0011_change_sequence.sql, which waits for the
/// transactions in progress to end (a few milliseconds: writes are short).
pub async fn last_change(db: &Db) -> Result<i64, sqlx::Error> {
    use sqlx::Row;
    let sql = match db.dialect {
        Dialect::Sqlite => "SELECT value FROM change_counter WHERE name = 'global'",
        Dialect::Postgres => "SELECT lotocar_last_change() AS value",
    };
    sqlx::query(sql).fetch_one(&db.pool).await?.try_get("value")
}

// ---------------------------------------------------------------------------
// Server secrets (the one writer of `server_secrets`)
// ---------------------------------------------------------------------------

/// The secret `name`, made by `make` on first start and shared by every
/// instance: the first instance to write it wins, the others read it.
pub async fn secret(
    db: &Db,
    name: &str,
    make: impl FnOnce() -> String,
) -> Result<String, sqlx::Error> {
    use sqlx::Row;
    sqlx::query(
        "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(make())
    .bind(now_ms())
    .execute(&db.writer)
    .await?;
    sqlx::query("SELECT value FROM server_secrets WHERE name = $1")
        .bind(name)
        .fetch_one(&db.pool)
        .await?
        .try_get("value")
}

// ---------------------------------------------------------------------------
// Stored values: one way to write and read each kind of column
// ---------------------------------------------------------------------------

/// A value stored as JSON text (schedules, stops).
pub fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).expect("domain values serialize")
}

/// Reads a JSON text column; a row that does not read is a bug, not bad input.
pub fn from_json<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> anyhow::Result<T> {
    serde_json::from_str(text).map_err(|e| anyhow::anyhow!("stored {column} unreadable: {e}"))
}

/// Reads a local date column ("YYYY-MM-DD").
pub fn day(column: &str, text: &str) -> anyhow::Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|e| anyhow::anyhow!("stored {column} {text:?}: {e}"))
}

/// Reads a stored code (`from_code` of an enum).
pub fn code<T>(
    column: &str,
    text: &str,
    from_code: impl Fn(&str) -> Option<T>,
) -> anyhow::Result<T> {
    from_code(text).ok_or_else(|| anyhow::anyhow!("stored {column} {text:?} is not a known code"))
}

/// `$1, $2, …, $n` after `first - 1` placeholders already used.
pub fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// While a transaction holds SQLite's writer, a bulk writer, a normal
    /// one and a small one ask in that order: the small one goes second
    /// (after the bulk one already waiting for the connection), before the
    /// normal one that asked earlier.
    #[tokio::test(flavor = "multi_thread")]
    async fn small_writes_go_before_normal_ones_waiting_for_the_sqlite_writer() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(None, dir.path()).await.unwrap();
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let running = db.begin_write().await.unwrap();
        let mut waiting = Vec::new();
        for lane in [Lane::Bulk, Lane::Normal, Lane::Small] {
            let (db, order) = (db.clone(), order.clone());
            waiting.push(tokio::spawn(async move {
                let tx = db.begin_write_in(lane).await.unwrap();
                order.lock().unwrap().push(lane);
                tx.commit().await.unwrap();
            }));
            // Each is queued before the next asks.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(order.lock().unwrap().is_empty(), "the writer is taken");
        running.commit().await.unwrap();
        for w in waiting {
            w.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            [Lane::Bulk, Lane::Small, Lane::Normal]
        );
    }
}
