//! Territories: a département or a group of them, served under a local
//! brand, in a time zone. A new territory is a row, not code (`lotocar
//! admin territory`). The one writer of `territories`.
//!
//! Every local time the service uses (today's date, a reminder the evening
//! before, quiet hours) is in the time zone of the territory concerned,
//! read through [`Territories::tz_of`] and nowhere else: a territory in
//! Guadeloupe or Réunion gets its reminders at its own evening hour. The
//! list is cached for a few seconds; a territory created by another process
//! (the admin command) is read on the first miss.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono_tz::Tz;

use crate::db::{Db, now_ms};

#[derive(Debug, Clone, PartialEq)]
pub struct Territory {
    pub id: String,
    pub name: String,
    pub brand: String,
    pub departements: Vec<String>,
    pub timezone: Tz,
}

impl Territory {
    pub fn covers_departement(&self, departement: &str) -> bool {
        self.departements.iter().any(|d| d == departement)
    }
}

/// How long the cached list is used before it is read again.
const FRESH_FOR: Duration = Duration::from_secs(30);

/// The territories, cached, and the server's time zone for what lies
/// outside every territory.
#[derive(Clone)]
pub struct Territories {
    db: Db,
    default_tz: Tz,
    cache: Arc<RwLock<Option<(Instant, Snapshot)>>>,
}

/// The territories as read at one moment.
#[derive(Clone, Debug)]
pub struct Snapshot {
    list: Arc<Vec<Territory>>,
    default_tz: Tz,
}

impl Snapshot {
    pub fn list(&self) -> &[Territory] {
        &self.list
    }

    pub fn get(&self, id: &str) -> Option<&Territory> {
        self.list.iter().find(|t| t.id == id)
    }

    /// The time zone of a territory, or the server's for none (or an
    /// unknown one).
    pub fn tz_of(&self, territory_id: Option<&str>) -> Tz {
        territory_id
            .and_then(|id| self.get(id))
            .map(|t| t.timezone)
            .unwrap_or(self.default_tz)
    }

    /// The territory a trip between two départements belongs to: the one
    /// that covers the origin, else the destination.
    pub fn for_trip(
        &self,
        origin_departement: Option<&str>,
        destination_departement: Option<&str>,
    ) -> Option<&Territory> {
        [origin_departement, destination_departement]
            .into_iter()
            .flatten()
            .find_map(|dep| self.list.iter().find(|t| t.covers_departement(dep)))
    }

    /// The only territory, when there is exactly one.
    pub fn single(&self) -> Option<&Territory> {
        match self.list.as_slice() {
            [only] => Some(only),
            _ => None,
        }
    }
}

impl Territories {
    pub fn new(db: Db, default_tz: Tz) -> Territories {
        Territories {
            db,
            default_tz,
            cache: Arc::default(),
        }
    }

    pub fn default_tz(&self) -> Tz {
        self.default_tz
    }

    /// Today's date in the server's time zone.
    pub fn default_today(&self) -> chrono::NaiveDate {
        crate::db::now()
            .with_timezone(&self.default_tz)
            .date_naive()
    }

    /// The territories (cached), read again when one of `ids` is not in
    /// the cache (a territory created a moment ago by the admin command).
    pub async fn covering<'a>(
        &self,
        ids: impl IntoIterator<Item = Option<&'a str>>,
    ) -> Result<Snapshot, sqlx::Error> {
        let snapshot = self.snapshot().await?;
        if ids
            .into_iter()
            .flatten()
            .all(|id| snapshot.get(id).is_some())
        {
            return Ok(snapshot);
        }
        self.reload().await
    }

    /// The territory a trip between two départements belongs to (see
    /// [`Snapshot::for_trip`]); when none covers them, the list is read
    /// again, in case a territory was just created.
    pub async fn for_trip(
        &self,
        origin_departement: Option<&str>,
        destination_departement: Option<&str>,
    ) -> Result<Option<Territory>, sqlx::Error> {
        if let Some(t) = self
            .snapshot()
            .await?
            .for_trip(origin_departement, destination_departement)
        {
            return Ok(Some(t.clone()));
        }
        Ok(self
            .reload()
            .await?
            .for_trip(origin_departement, destination_departement)
            .cloned())
    }

    /// The territories (cached).
    pub async fn snapshot(&self) -> Result<Snapshot, sqlx::Error> {
        if let Some((at, snapshot)) = self.cache.read().expect("unpoisoned").as_ref()
            && at.elapsed() < FRESH_FOR
        {
            return Ok(snapshot.clone());
        }
        self.reload().await
    }

    async fn reload(&self) -> Result<Snapshot, sqlx::Error> {
        let snapshot = Snapshot {
            list: Arc::new(list(&self.db).await?),
            default_tz: self.default_tz,
        };
        *self.cache.write().expect("unpoisoned") = Some((Instant::now(), snapshot.clone()));
        Ok(snapshot)
    }

    /// One territory; one that is not cached yet (just created) is read.
    pub async fn get(&self, id: &str) -> Result<Option<Territory>, sqlx::Error> {
        if let Some(t) = self.snapshot().await?.get(id) {
            return Ok(Some(t.clone()));
        }
        Ok(self.reload().await?.get(id).cloned())
    }

    /// The time zone of a territory, or the server's (the one place that
    /// says which time zone applies).
    pub async fn tz_of(&self, territory_id: Option<&str>) -> Result<Tz, sqlx::Error> {
        Ok(match territory_id {
            None => self.default_tz,
            Some(id) => self
                .get(id)
                .await?
                .map(|t| t.timezone)
                .unwrap_or(self.default_tz),
        })
    }

    /// Today's date in a territory.
    pub async fn today_in(
        &self,
        territory_id: Option<&str>,
    ) -> Result<chrono::NaiveDate, sqlx::Error> {
        let tz = self.tz_of(territory_id).await?;
        Ok(crate::db::now().with_timezone(&tz).date_naive())
    }

    /// Creates the territory, or updates it when it exists (idempotent).
    pub async fn save(&self, territory: &Territory) -> Result<(), sqlx::Error> {
        upsert(&self.db, territory).await?;
        *self.cache.write().expect("unpoisoned") = None;
        Ok(())
    }
}

/// A `territories` row.
#[derive(sqlx::FromRow)]
struct Record {
    id: String,
    name: String,
    brand: String,
    /// Space-separated département codes.
    departements: String,
    timezone: String,
}

impl From<Record> for Territory {
    fn from(r: Record) -> Territory {
        Territory {
            departements: r
                .departements
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            // Written from a checked `Tz` by `upsert`.
            timezone: r.timezone.parse().unwrap_or(chrono_tz::Europe::Paris),
            id: r.id,
            name: r.name,
            brand: r.brand,
        }
    }
}

async fn list(db: &Db) -> Result<Vec<Territory>, sqlx::Error> {
    let records: Vec<Record> = sqlx::query_as(
        "SELECT id, name, brand, departements, timezone FROM territories ORDER BY id",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(records.into_iter().map(Territory::from).collect())
}

/// Creates the territory, or updates it when it exists (idempotent); for
/// the administration command, which has no running service.
pub async fn upsert(db: &Db, territory: &Territory) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO territories (id, name, brand, departements, timezone, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET name = $2, brand = $3, departements = $4, timezone = $5",
    )
    .bind(&territory.id)
    .bind(&territory.name)
    .bind(&territory.brand)
    .bind(territory.departements.join(" "))
    .bind(territory.timezone.name())
    .bind(now_ms())
    .execute(&db.writer)
    .await?;
    Ok(())
}

/// Whether a territory exists (for the administration commands).
pub async fn exists(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("SELECT 1 AS one FROM territories WHERE id = $1")
            .bind(id)
            .fetch_optional(&db.pool)
            .await?
            .is_some(),
    )
}
