//! A territory's own places: meeting points (station, hospital, square)
//! and local names people use. Its coordinator manages them; each change
//! writes a line in the audit log, in the same transaction. The one writer
//! of `meeting_points` and `place_aliases`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use lotocar_shared::GeoPoint;
use lotocar_shared::api::{Place, PlaceKind, Problem, TripPlace};
use lotocar_shared::coordination::{Alias, AliasInput, MeetingPoint, MeetingPointInput};
use lotocar_shared::text::search_key;
use lotocar_shared::validation::Invalid;
use sqlx::FromRow;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Places;
use super::gazetteer::Gazetteer;
use crate::audit::{self, Action, Line, Subject};
use crate::auth::{Auth, AuthUser};
use crate::db::{Db, Tx, new_id, now_ms};
use crate::error::{ApiJson, ApiPath, ApiResult, Error, Result};

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Places: FromRef<S>,
    Auth: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(list_meeting_points, add_meeting_point))
        .routes(routes!(remove_meeting_point))
        .routes(routes!(list_aliases, add_alias))
        .routes(routes!(remove_alias))
}

// ---------------------------------------------------------------------------
// Held in memory
// ---------------------------------------------------------------------------

/// How long what is held may be served before it is read again: a change
/// made through another instance (or `lotocar admin`) shows within it; one
/// made through this instance shows at once.
const FRESH_FOR: Duration = Duration::from_secs(5);

/// Every meeting point and local name, as searches and matching read them.
pub struct Local {
    /// By `search_key_full`.
    pub points: Vec<PointRecord>,
    /// By `search_key`.
    pub aliases: Vec<AliasRecord>,
}

impl Local {
    /// Meeting points whose name, or any word of it, starts with `key`
    /// ("gare" finds "Cahors, gare SNCF"); 50 at most.
    pub fn points_with_prefix(&self, key: &str) -> Vec<&PointRecord> {
        let word = format!(" {key}");
        self.points
            .iter()
            .filter(|p| {
                p.search_key.starts_with(key)
                    || p.search_key.contains(&word)
                    || p.search_key_full.starts_with(key)
            })
            .take(50)
            .collect()
    }

    /// Local names that start with `key`; 50 at most.
    pub fn aliases_with_prefix(&self, key: &str) -> Vec<&AliasRecord> {
        self.aliases
            .iter()
            .filter(|a| a.search_key.starts_with(key))
            .take(50)
            .collect()
    }

    pub fn point(&self, id: &str) -> Option<&PointRecord> {
        self.points.iter().find(|p| p.id == id)
    }
}

/// What is held, and when it was read.
#[derive(Default)]
pub struct Held {
    /// Bumped by every change through this instance.
    generation: AtomicU64,
    state: std::sync::RwLock<Option<(u64, Instant, Arc<Local>)>>,
    /// One reading at a time.
    reading: tokio::sync::Mutex<()>,
}

impl Held {
    fn fresh(&self) -> Option<Arc<Local>> {
        let state = self.state.read().expect("places lock");
        let (generation, at, local) = state.as_ref()?;
        (*generation == self.generation.load(Ordering::Acquire) && at.elapsed() < FRESH_FOR)
            .then(|| local.clone())
    }

    /// What is held, read again if it is stale.
    pub async fn get(&self, db: &Db) -> Result<Arc<Local>, sqlx::Error> {
        if let Some(local) = self.fresh() {
            return Ok(local);
        }
        let _one = self.reading.lock().await;
        if let Some(local) = self.fresh() {
            return Ok(local);
        }
        // A change committed while reading bumps the generation: what is
        // read now is not kept past the next call.
        let generation = self.generation.load(Ordering::Acquire);
        let at = Instant::now();
        let local = Arc::new(Local {
            points: sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {POINT_COLUMNS} FROM meeting_points ORDER BY search_key_full"
            )))
            .fetch_all(&db.pool)
            .await?,
            aliases: sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {ALIAS_COLUMNS} FROM place_aliases ORDER BY search_key"
            )))
            .fetch_all(&db.pool)
            .await?,
        });
        *self.state.write().expect("places lock") = Some((generation, at, local.clone()));
        Ok(local)
    }

    /// After a change through this instance has been committed.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

// ---------------------------------------------------------------------------
// Storage
// ---------------------------------------------------------------------------

/// A `meeting_points` row.
#[derive(Debug, Clone, FromRow)]
pub struct PointRecord {
    pub id: String,
    pub territory_id: String,
    pub name: String,
    pub insee: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub search_key: String,
    pub search_key_full: String,
}

const POINT_COLUMNS: &str = "id, territory_id, name, insee, lat, lon, search_key, search_key_full";

impl PointRecord {
    /// As a search result.
    pub fn to_place(&self, gazetteer: &Gazetteer) -> Place {
        let commune = self.insee.as_deref().and_then(|i| gazetteer.current(i));
        let label = match commune {
            Some(c) if !search_key(&self.name).contains(&search_key(&c.name)) => {
                format!("{}, {}", self.name, c.name)
            }
            _ => self.name.clone(),
        };
        Place {
            id: format!("mp:{}", self.id),
            name: self.name.clone(),
            insee: self.insee.clone(),
            kind: PlaceKind::MeetingPoint,
            lat: self.lat,
            lon: self.lon,
            label,
            departement: commune.map(|c| c.departement.clone()),
            population: commune.map(|c| c.population),
            alias: None,
        }
    }

    /// As the place of an offer or a need (matching walks to it).
    pub fn to_trip_place(&self) -> TripPlace {
        TripPlace {
            place_id: Some(format!("mp:{}", self.id)),
            label: self.name.clone(),
            insee: self.insee.clone(),
            lat: self.lat,
            lon: self.lon,
        }
    }

    fn to_api(&self, gazetteer: &Gazetteer) -> MeetingPoint {
        MeetingPoint {
            id: format!("mp:{}", self.id),
            name: self.name.clone(),
            commune: self
                .insee
                .as_deref()
                .and_then(|i| gazetteer.current(i))
                .map(|c| c.name.clone()),
            lat: self.lat,
            lon: self.lon,
        }
    }
}

/// A `place_aliases` row.
#[derive(Debug, Clone, FromRow)]
pub struct AliasRecord {
    pub id: String,
    pub territory_id: String,
    pub alias: String,
    pub search_key: String,
    pub place_id: String,
}

const ALIAS_COLUMNS: &str = "id, territory_id, alias, search_key, place_id";

pub async fn meeting_point(db: &Db, id: &str) -> Result<Option<PointRecord>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {POINT_COLUMNS} FROM meeting_points WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&db.pool)
    .await
}

pub(super) async fn meeting_points_of(
    db: &Db,
    territory_id: &str,
) -> Result<Vec<PointRecord>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {POINT_COLUMNS} FROM meeting_points WHERE territory_id = $1 ORDER BY name"
    )))
    .bind(territory_id)
    .fetch_all(&db.pool)
    .await
}

/// What makes a meeting point one of its territory: its name with its
/// commune's («  Gramat église »), so that two villages may each have their
/// « Église ».
pub fn full_key(gazetteer: &Gazetteer, name: &str, point: GeoPoint) -> String {
    let key = search_key(name);
    match gazetteer.nearest_commune(point) {
        Some(c) if !key.contains(&search_key(&c.name)) => search_key(&format!("{} {name}", c.name)),
        _ => key,
    }
}

/// Adds (or moves the one of the same name) a meeting point; its id.
pub async fn save_meeting_point<'e, E>(
    executor: E,
    gazetteer: &Gazetteer,
    territory_id: &str,
    name: &str,
    point: GeoPoint,
) -> Result<String, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let commune = gazetteer.nearest_commune(point);
    let key = search_key(name);
    let key_full = full_key(gazetteer, name, point);
    let now = now_ms();
    let (id,): (String,) = sqlx::query_as(
        "INSERT INTO meeting_points (id, territory_id, name, insee, lat, lon, search_key, search_key_full, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
         ON CONFLICT (territory_id, search_key_full) DO UPDATE SET name = $3, insee = $4, lat = $5, lon = $6, search_key = $7, updated_at = $9
         RETURNING id",
    )
    .bind(new_id())
    .bind(territory_id)
    .bind(name)
    .bind(commune.map(|c| c.insee.clone()))
    .bind(point.lat())
    .bind(point.lon())
    .bind(&key)
    .bind(&key_full)
    .bind(now)
    .fetch_one(executor)
    .await?;
    Ok(id)
}

/// Makes `alias` (a local name) point to `place_id` in a territory; its id.
pub async fn save_alias<'e, E>(
    executor: E,
    territory_id: &str,
    alias: &str,
    place_id: &str,
) -> Result<String, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let (id,): (String,) = sqlx::query_as(
        "INSERT INTO place_aliases (id, territory_id, alias, search_key, place_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (territory_id, search_key) DO UPDATE SET alias = $3, place_id = $5
         RETURNING id",
    )
    .bind(new_id())
    .bind(territory_id)
    .bind(alias)
    .bind(search_key(alias))
    .bind(place_id)
    .bind(now_ms())
    .fetch_one(executor)
    .await?;
    Ok(id)
}

async fn remove(
    tx: &mut Tx,
    table: Table,
    id: &str,
    territory_id: &str,
) -> Result<bool, sqlx::Error> {
    let sql = match table {
        Table::MeetingPoints => "DELETE FROM meeting_points WHERE id = $1 AND territory_id = $2",
        Table::Aliases => "DELETE FROM place_aliases WHERE id = $1 AND territory_id = $2",
    };
    Ok(sqlx::query(sql)
        .bind(id)
        .bind(territory_id)
        .execute(&mut **tx)
        .await?
        .rows_affected()
        > 0)
}

#[derive(Clone, Copy)]
enum Table {
    MeetingPoints,
    Aliases,
}

// ---------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------

/// Adds a meeting point, which must lie in the territory.
pub async fn add_point(
    places: &Places,
    user: &AuthUser,
    territory_id: &str,
    input: &MeetingPointInput,
) -> Result<MeetingPoint> {
    let territory = user
        .require_coordinator(&places.territories, territory_id)
        .await?;
    let mut invalid = Invalid::new();
    let name = input.name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.chars().count() < 3 || name.chars().count() > 100 {
        invalid.push(
            "name",
            "Donnez un nom de 3 à 100 caractères, par exemple « Gramat, place de la République ».",
        );
    }
    let point = invalid.check("", GeoPoint::new(input.lat, input.lon));
    let point = point.filter(|p| match places.check_covered(*p, "") {
        Ok(()) => true,
        Err(Error::Invalid(outside)) => {
            invalid.absorb("", outside);
            false
        }
        Err(_) => false,
    });
    if let Some(p) = point {
        let inside = places
            .gazetteer
            .nearest_commune(p)
            .is_some_and(|c| territory.covers_departement(&c.departement));
        if !inside {
            invalid.push(
                "lat",
                "Ce point n'est pas dans le territoire : vérifiez la position.",
            );
        }
    }
    let Some(point) = point.filter(|_| invalid.is_empty()) else {
        return Err(invalid.into());
    };
    let mut tx = places.db.begin_write().await?;
    let id = save_meeting_point(&mut *tx, &places.gazetteer, territory_id, &name, point).await?;
    audit::record(
        &mut tx,
        Line {
            territory_id: Some(territory_id),
            actor: &user.id,
            action: Action::MeetingPointSaved,
            subject: Subject::MeetingPoint(&id),
            detail: &name,
        },
    )
    .await?;
    let saved: PointRecord = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {POINT_COLUMNS} FROM meeting_points WHERE id = $1"
    )))
    .bind(&id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    places.local.changed();
    Ok(saved.to_api(&places.gazetteer))
}

/// Makes a local name find a place of the territory (a commune, or one of
/// its own meeting points).
pub async fn add_alias_op(
    places: &Places,
    user: &AuthUser,
    territory_id: &str,
    input: &AliasInput,
) -> Result<Alias> {
    user.require_coordinator(&places.territories, territory_id)
        .await?;
    let mut invalid = Invalid::new();
    let alias = input.alias.split_whitespace().collect::<Vec<_>>().join(" ");
    if search_key(&alias).chars().count() < 2 || alias.chars().count() > 60 {
        invalid.push(
            "alias",
            "Donnez le nom tel que les gens le disent (2 à 60 caractères).",
        );
    }
    let mut place = places.resolve_id(&input.place_id).await?;
    // A meeting point of another territory is not one of ours.
    if let Some(mp) = input.place_id.strip_prefix("mp:") {
        let ours = meeting_point(&places.db, mp)
            .await?
            .is_some_and(|p| p.territory_id == territory_id);
        if !ours {
            place = None;
        }
    }
    if place.is_none() {
        invalid.push("place_id", "Choisissez le lieu dans la liste proposée.");
    }
    let (Some(place), true) = (place, invalid.is_empty()) else {
        return Err(invalid.into());
    };
    let mut tx = places.db.begin_write().await?;
    let id = save_alias(&mut *tx, territory_id, &alias, &place.id).await?;
    audit::record(
        &mut tx,
        Line {
            territory_id: Some(territory_id),
            actor: &user.id,
            action: Action::AliasSaved,
            subject: Subject::Alias(&id),
            detail: &format!("{alias} → {}", place.label),
        },
    )
    .await?;
    tx.commit().await?;
    places.local.changed();
    Ok(Alias {
        id,
        alias,
        place_id: place.id,
        place_label: place.label,
    })
}

/// Removes a meeting point or a local name of the territory.
async fn remove_op(
    places: &Places,
    user: &AuthUser,
    territory_id: &str,
    table: Table,
    id: &str,
) -> Result<()> {
    user.require_coordinator(&places.territories, territory_id)
        .await?;
    let mut tx = places.db.begin_write().await?;
    if !remove(&mut tx, table, id, territory_id).await? {
        return Err(Error::NotFound(
            match table {
                Table::MeetingPoints => "Ce point de rendez-vous n'existe pas.",
                Table::Aliases => "Ce nom local n'existe pas.",
            }
            .into(),
        ));
    }
    let (action, subject) = match table {
        Table::MeetingPoints => (Action::MeetingPointRemoved, Subject::MeetingPoint(id)),
        Table::Aliases => (Action::AliasRemoved, Subject::Alias(id)),
    };
    audit::record(
        &mut tx,
        Line {
            territory_id: Some(territory_id),
            actor: &user.id,
            action,
            subject,
            detail: "",
        },
    )
    .await?;
    tx.commit().await?;
    places.local.changed();
    Ok(())
}

/// The territory's local names, with the place each one means.
async fn aliases_of(places: &Places, territory_id: &str) -> Result<Vec<Alias>> {
    let records: Vec<AliasRecord> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ALIAS_COLUMNS} FROM place_aliases WHERE territory_id = $1 ORDER BY search_key"
    )))
    .bind(territory_id)
    .fetch_all(&places.db.pool)
    .await?;
    let mut aliases = Vec::with_capacity(records.len());
    for r in records {
        let label = places
            .resolve_id(&r.place_id)
            .await?
            .map(|p| p.label)
            .unwrap_or_else(|| r.place_id.clone());
        aliases.push(Alias {
            id: r.id,
            alias: r.alias,
            place_id: r.place_id,
            place_label: label,
        });
    }
    Ok(aliases)
}

// ---------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/territories/{id}/meeting-points", tag = "places",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory")),
    responses((status = 200, body = Vec<MeetingPoint>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_meeting_points(
    State(places): State<Places>,
    user: AuthUser,
    ApiPath(territory_id): ApiPath<String>,
) -> ApiResult<Json<Vec<MeetingPoint>>> {
    user.require_coordinator(&places.territories, &territory_id)
        .await?;
    let points = meeting_points_of(&places.db, &territory_id).await?;
    Ok(Json(
        points.iter().map(|p| p.to_api(&places.gazetteer)).collect(),
    ))
}

/// Adds a meeting point (or moves the one of the same name).
#[utoipa::path(post, path = "/api/v1/territories/{id}/meeting-points", tag = "places",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory")),
    request_body = MeetingPointInput,
    responses((status = 201, body = MeetingPoint), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_meeting_point(
    State(places): State<Places>,
    user: AuthUser,
    ApiPath(territory_id): ApiPath<String>,
    ApiJson(input): ApiJson<MeetingPointInput>,
) -> ApiResult<(StatusCode, Json<MeetingPoint>)> {
    let saved = add_point(&places, &user, &territory_id, &input).await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

#[utoipa::path(delete, path = "/api/v1/territories/{id}/meeting-points/{point_id}", tag = "places",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory"), ("point_id" = String, Path, description = "mp:<id>")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn remove_meeting_point(
    State(places): State<Places>,
    user: AuthUser,
    ApiPath((territory_id, point_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    let id = point_id.strip_prefix("mp:").unwrap_or(&point_id);
    remove_op(&places, &user, &territory_id, Table::MeetingPoints, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/territories/{id}/aliases", tag = "places",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory")),
    responses((status = 200, body = Vec<Alias>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_aliases(
    State(places): State<Places>,
    user: AuthUser,
    ApiPath(territory_id): ApiPath<String>,
) -> ApiResult<Json<Vec<Alias>>> {
    user.require_coordinator(&places.territories, &territory_id)
        .await?;
    Ok(Json(aliases_of(&places, &territory_id).await?))
}

/// Makes a local name find the right place ("Villeneuve" → the village
/// people around here mean).
#[utoipa::path(post, path = "/api/v1/territories/{id}/aliases", tag = "places",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory")),
    request_body = AliasInput,
    responses((status = 201, body = Alias), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_alias(
    State(places): State<Places>,
    user: AuthUser,
    ApiPath(territory_id): ApiPath<String>,
    ApiJson(input): ApiJson<AliasInput>,
) -> ApiResult<(StatusCode, Json<Alias>)> {
    let saved = add_alias_op(&places, &user, &territory_id, &input).await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

#[utoipa::path(delete, path = "/api/v1/territories/{id}/aliases/{alias_id}", tag = "places",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory"), ("alias_id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn remove_alias(
    State(places): State<Places>,
    user: AuthUser,
    ApiPath((territory_id, alias_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    remove_op(&places, &user, &territory_id, Table::Aliases, &alias_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
