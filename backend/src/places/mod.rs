//! Places: the national gazetteer in memory, with each territory's aliases
//! ("Villeneuve" → the right village) and meeting points (station,
//! hospital, square) from the database on top. Search is accent- and
//! case-insensitive, by prefix, ranked by population within the territory
//! first.

pub mod gazetteer;

use std::cmp::Reverse;

use axum::Json;
use axum::extract::State;
use lotocar_shared::GeoPoint;
use lotocar_shared::api::{Place, PlaceKind, PlaceQuery, Problem, TripPlace};
use lotocar_shared::text::search_key;
use serde::Deserialize;
use sqlx::Row;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::db::{Db, new_id, now_ms};
use crate::error::{ApiError, ApiQuery, ApiResult};
use crate::state::AppState;
use crate::territories::{self, Territory};
use gazetteer::Gazetteer;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search_places))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SearchParams {
    /// What the person typed: the start of a name ("fig", "st cere"), a
    /// postal code or an INSEE code.
    q: Option<String>,
    /// How many places to return, 1 to 50 (default 10).
    limit: Option<i64>,
    /// Territory whose places rank first (default: the server's).
    territory: Option<String>,
}

/// Places whose name starts with `q`, best first.
#[utoipa::path(get, path = "/api/v1/places", tag = "places",
    params(SearchParams),
    responses(
        (status = 200, body = Vec<Place>),
        (status = 422, description = "Missing or invalid parameter", body = Problem),
    ))]
async fn search_places(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> ApiResult<Json<Vec<Place>>> {
    let Some(q) = params.q else {
        return Err(ApiError::field("q", "Tapez le début du nom d'une commune."));
    };
    let limit = params.limit.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        return Err(ApiError::field(
            "limit",
            "limit doit être compris entre 1 et 50.",
        ));
    }
    if q.chars().count() > 100 {
        return Err(ApiError::field(
            "q",
            "Texte trop long : 100 caractères au plus.",
        ));
    }
    let territory = match params
        .territory
        .as_deref()
        .or(state.config.territory.as_deref())
    {
        Some(id) => Some(territories::get(&state.db, id).await?.ok_or_else(|| {
            ApiError::field("territory", format!("Territoire inconnu : « {id} »."))
        })?),
        None => single_territory(&state.db).await?,
    };
    let places = search(
        &state.db,
        &state.places,
        &q,
        territory.as_ref(),
        limit as usize,
    )
    .await?;
    Ok(Json(places))
}

/// The only territory, when the server has exactly one.
async fn single_territory(db: &Db) -> Result<Option<Territory>, sqlx::Error> {
    let mut all = territories::list(db).await?;
    Ok(if all.len() == 1 { all.pop() } else { None })
}

/// How a candidate ranks; lower is better.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rank {
    not_exact_alias: bool,
    not_exact_name: bool,
    outside_territory: bool,
    population: Reverse<u32>,
    kind: u8,
    name: String,
}

fn kind_order(kind: PlaceKind) -> u8 {
    match kind {
        PlaceKind::Commune => 0,
        PlaceKind::MeetingPoint => 1,
        PlaceKind::Deleguee => 2,
        PlaceKind::Associee => 3,
    }
}

/// Searches communes, aliases and meeting points.
pub async fn search(
    db: &Db,
    gazetteer: &Gazetteer,
    q: &str,
    territory: Option<&Territory>,
    limit: usize,
) -> Result<Vec<Place>, sqlx::Error> {
    let key = search_key(q);
    if key.is_empty() {
        return Ok(Vec::new());
    }
    let mut candidates = rank_communes(
        gazetteer,
        gazetteer.prefix_matches(&key),
        &key,
        territory,
        limit,
    );

    let pattern = format!("{key}%");
    let aliases = sqlx::query(
        "SELECT alias, search_key, place_id, territory_id FROM place_aliases
         WHERE search_key LIKE $1 ORDER BY search_key LIMIT 50",
    )
    .bind(&pattern)
    .fetch_all(&db.pool)
    .await?;
    for row in aliases {
        let place_id: String = row.try_get("place_id")?;
        let alias_key: String = row.try_get("search_key")?;
        let territory_id: String = row.try_get("territory_id")?;
        let Some(mut place) = resolve_id(db, gazetteer, &place_id).await? else {
            continue;
        };
        let alias: String = row.try_get("alias")?;
        place.label = format!("{alias} — {}", place.label);
        place.alias = Some(alias);
        candidates.push((
            Rank {
                not_exact_alias: alias_key != key,
                not_exact_name: alias_key != key,
                outside_territory: territory.is_none_or(|t| t.id != territory_id),
                population: Reverse(place.population.unwrap_or(0)),
                kind: kind_order(place.kind),
                name: place.name.clone(),
            },
            place,
        ));
    }

    let points = sqlx::query(
        "SELECT id, territory_id, name, insee, lat, lon, search_key, search_key_full FROM meeting_points
         WHERE search_key LIKE $1 OR search_key LIKE $2 OR search_key_full LIKE $1
         ORDER BY search_key_full LIMIT 50",
    )
    .bind(&pattern)
    // Any word of a meeting point's name: "gare" finds "Cahors, gare SNCF".
    .bind(format!("% {key}%"))
    .fetch_all(&db.pool)
    .await?;
    for row in &points {
        let place = meeting_point_place(gazetteer, row)?;
        let territory_id: String = row.try_get("territory_id")?;
        let exact = row.try_get::<String, _>("search_key")? == key
            || row.try_get::<String, _>("search_key_full")? == key;
        candidates.push((
            Rank {
                not_exact_alias: true,
                not_exact_name: !exact,
                outside_territory: territory.is_none_or(|t| t.id != territory_id),
                population: Reverse(place.population.unwrap_or(0)),
                kind: kind_order(PlaceKind::MeetingPoint),
                name: place.name.clone(),
            },
            place,
        ));
    }

    Ok(best(candidates, limit))
}

/// Ranks communes found for the search key `key`.
/// Only the `limit` best are made into places: a short prefix matches
/// thousands of communes.
pub fn rank_communes(
    gazetteer: &Gazetteer,
    communes: Vec<&gazetteer::Commune>,
    key: &str,
    territory: Option<&Territory>,
    limit: usize,
) -> Vec<(Rank, Place)> {
    let rank = |commune: &gazetteer::Commune| {
        (
            commune.key != key,
            !territory.is_some_and(|t| t.covers_departement(&commune.departement)),
            Reverse(commune.population),
            kind_order(commune.kind),
        )
    };
    let mut ranked: Vec<_> = communes.into_iter().map(|c| (rank(c), c)).collect();
    type Key = (bool, bool, Reverse<u32>, u8);
    let by_rank = |a: &(Key, &gazetteer::Commune), b: &(Key, &gazetteer::Commune)| {
        a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name))
    };
    if limit > 0 && ranked.len() > limit {
        ranked.select_nth_unstable_by(limit - 1, by_rank);
        ranked.truncate(limit);
    }
    ranked
        .into_iter()
        .map(
            |((not_exact_name, outside_territory, population, kind), commune)| {
                (
                    Rank {
                        not_exact_alias: true,
                        not_exact_name,
                        outside_territory,
                        population,
                        kind,
                        name: commune.name.clone(),
                    },
                    gazetteer.to_place(commune),
                )
            },
        )
        .collect()
}

/// The `limit` best candidates, each place once.
pub fn best(mut candidates: Vec<(Rank, Place)>, limit: usize) -> Vec<Place> {
    candidates.sort_by(|a, b| a.0.cmp(&b.0));
    let mut seen = std::collections::HashSet::new();
    candidates
        .into_iter()
        .filter(|(_, place)| seen.insert(place.id.clone()))
        .map(|(_, place)| place)
        .take(limit)
        .collect()
}

fn meeting_point_place(
    gazetteer: &Gazetteer,
    row: &sqlx::any::AnyRow,
) -> Result<Place, sqlx::Error> {
    let insee: Option<String> = row.try_get("insee")?;
    let name: String = row.try_get("name")?;
    let commune = insee.as_deref().and_then(|i| gazetteer.current(i));
    let label = match commune {
        Some(c) if !search_key(&name).contains(&search_key(&c.name)) => {
            format!("{name}, {}", c.name)
        }
        _ => name.clone(),
    };
    Ok(Place {
        id: format!("mp:{}", row.try_get::<String, _>("id")?),
        name,
        insee,
        kind: PlaceKind::MeetingPoint,
        lat: row.try_get("lat")?,
        lon: row.try_get("lon")?,
        label,
        departement: commune.map(|c| c.departement.clone()),
        population: commune.map(|c| c.population),
        alias: None,
    })
}

/// The place with this id: a gazetteer commune or a meeting point.
pub async fn resolve_id(
    db: &Db,
    gazetteer: &Gazetteer,
    id: &str,
) -> Result<Option<Place>, sqlx::Error> {
    if let Some(mp_id) = id.strip_prefix("mp:") {
        let row = sqlx::query(
            "SELECT id, territory_id, name, insee, lat, lon, search_key, search_key_full
             FROM meeting_points WHERE id = $1",
        )
        .bind(mp_id)
        .fetch_optional(&db.pool)
        .await?;
        return row
            .as_ref()
            .map(|r| meeting_point_place(gazetteer, r))
            .transpose();
    }
    Ok(gazetteer.get(id).map(|c| gazetteer.to_place(c)))
}

/// Turns a checked place of a request body into the place stored on a trip
/// or need; an unknown id is a validation error on `field`.
pub async fn resolve(
    db: &Db,
    gazetteer: &Gazetteer,
    query: &PlaceQuery,
    field: &str,
) -> ApiResult<(TripPlace, Option<String>)> {
    match query {
        PlaceQuery::Id(id) => {
            let place = resolve_id(db, gazetteer, id).await?.ok_or_else(|| {
                ApiError::field(
                    &format!("{field}.place_id"),
                    "Lieu inconnu : choisissez un lieu dans la liste proposée.",
                )
            })?;
            Ok((
                TripPlace {
                    place_id: Some(place.id.clone()),
                    label: place.label.clone(),
                    insee: place.insee.clone(),
                    lat: place.lat,
                    lon: place.lon,
                },
                place.departement,
            ))
        }
        PlaceQuery::Point { point, label } => {
            let commune = gazetteer.nearest_commune(*point);
            Ok((
                TripPlace {
                    place_id: None,
                    label: label.clone(),
                    insee: commune.map(|c| c.insee.clone()),
                    lat: point.lat(),
                    lon: point.lon(),
                },
                commune.map(|c| c.departement.clone()),
            ))
        }
    }
}

/// Adds (or renames in place) a meeting point of a territory.
pub async fn upsert_meeting_point(
    db: &Db,
    gazetteer: &Gazetteer,
    territory_id: &str,
    name: &str,
    point: GeoPoint,
) -> Result<String, sqlx::Error> {
    let commune = gazetteer.nearest_commune(point);
    let key = search_key(name);
    let key_full = match commune {
        Some(c) if !key.contains(&search_key(&c.name)) => search_key(&format!("{} {name}", c.name)),
        _ => key.clone(),
    };
    let now = now_ms();
    sqlx::query(
        "INSERT INTO meeting_points (id, territory_id, name, insee, lat, lon, search_key, search_key_full, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
         ON CONFLICT (territory_id, search_key_full) DO UPDATE SET name = $3, insee = $4, lat = $5, lon = $6, search_key = $7, updated_at = $9",
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
    .execute(&db.writer)
    .await?;
    sqlx::query("SELECT id FROM meeting_points WHERE territory_id = $1 AND search_key_full = $2")
        .bind(territory_id)
        .bind(&key_full)
        .fetch_one(&db.pool)
        .await?
        .try_get("id")
}

/// Makes `alias` (a local name) point to `place_id` in a territory.
pub async fn upsert_alias(
    db: &Db,
    territory_id: &str,
    alias: &str,
    place_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO place_aliases (id, territory_id, alias, search_key, place_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (territory_id, search_key) DO UPDATE SET alias = $3, place_id = $5",
    )
    .bind(new_id())
    .bind(territory_id)
    .bind(alias)
    .bind(search_key(alias))
    .bind(place_id)
    .bind(now_ms())
    .execute(&db.writer)
    .await?;
    Ok(())
}
