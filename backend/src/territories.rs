//! Territories: a département or a group of them, served under a local
//! brand, in a time zone. A new territory is a row, not code.

use chrono_tz::Tz;
use sqlx::Row;

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

fn from_row(row: &sqlx::any::AnyRow) -> Result<Territory, sqlx::Error> {
    let tz: String = row.try_get("timezone")?;
    Ok(Territory {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        brand: row.try_get("brand")?,
        departements: row
            .try_get::<String, _>("departements")?
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        timezone: tz.parse().unwrap_or(chrono_tz::Europe::Paris),
    })
}

pub async fn list(db: &Db) -> Result<Vec<Territory>, sqlx::Error> {
    sqlx::query("SELECT id, name, brand, departements, timezone FROM territories ORDER BY id")
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(from_row)
        .collect()
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Territory>, sqlx::Error> {
    sqlx::query("SELECT id, name, brand, departements, timezone FROM territories WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Creates the territory, or updates it when it exists (idempotent).
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

/// The territory a trip between two départements belongs to: the one that
/// covers the origin, else the destination.
pub fn for_trip<'a>(
    territories: &'a [Territory],
    origin_departement: Option<&str>,
    destination_departement: Option<&str>,
) -> Option<&'a Territory> {
    [origin_departement, destination_departement]
        .into_iter()
        .flatten()
        .find_map(|dep| territories.iter().find(|t| t.covers_departement(dep)))
}
