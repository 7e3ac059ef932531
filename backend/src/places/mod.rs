//! Places: the national gazetteer in memory, with each territory's local
//! names ("Villeneuve" → the right village) and meeting points (station,
//! hospital, square) on top. Search is accent- and case-insensitive, by
//! prefix, ranked by population within the territory first. The one writer
//! of `meeting_points` and `place_aliases` ([`local`]).

pub mod gazetteer;
pub mod import;
pub mod local;

use std::cmp::Reverse;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRef, State};
use lotocar_shared::GeoPoint;
use lotocar_shared::api::{Place, PlaceInput, PlaceKind, PlaceQuery, Problem, TripPlace};
use lotocar_shared::text::search_key;
use lotocar_shared::validation::Invalid;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::db::Db;
use crate::error::{ApiQuery, ApiResult, Error, Result};
use crate::territories::{Territories, Territory};
use gazetteer::Gazetteer;

/// The places service: the gazetteer and the territories' own places.
#[derive(Clone)]
pub struct Places {
    pub db: Db,
    pub gazetteer: Arc<Gazetteer>,
    pub territories: Territories,
    /// Territory whose places rank first when a search names none.
    pub default_territory: Option<String>,
    /// Meeting points and local names, held in memory.
    pub local: Arc<local::Held>,
}

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Places: FromRef<S>,
    Auth: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(search_places))
        .merge(local::router())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SearchParams {
    /// What the person typed: the start of a name ("fig", "st cere"), a
    /// postal code or an INSEE code; 100 characters at most.
    #[param(required = true, max_length = 100)]
    q: Option<String>,
    /// How many places to return, 1 to 50 (default 10).
    #[param(minimum = 1, maximum = 50)]
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
    State(places): State<Places>,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> ApiResult<Json<Vec<Place>>> {
    let q = params
        .q
        .ok_or_else(|| Error::field("q", "Tapez le début du nom d'une commune."))?;
    let limit = params.limit.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        return Err(Error::field("limit", "limit doit être compris entre 1 et 50.").into());
    }
    if q.chars().count() > 100 {
        return Err(Error::field("q", "Texte trop long : 100 caractères au plus.").into());
    }
    let found = places
        .search(&q, params.territory.as_deref(), limit as usize)
        .await?;
    Ok(Json(found))
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

impl Places {
    /// Searches communes, local names and meeting points; `territory`
    /// (else the server's, else the only one) ranks first.
    pub async fn search(
        &self,
        q: &str,
        territory: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Place>> {
        let snapshot = self.territories.snapshot().await?;
        let territory = match territory.or(self.default_territory.as_deref()) {
            Some(id) => Some(self.territories.get(id).await?.ok_or_else(|| {
                Error::field("territory", format!("Territoire inconnu : « {id} »."))
            })?),
            None => snapshot.single().cloned(),
        };
        let territory = territory.as_ref();
        let key = search_key(q);
        if key.is_empty() {
            return Ok(Vec::new());
        }
        let gazetteer = &self.gazetteer;
        // What is typed starts a name, or else is a typo or two away.
        let mut communes = gazetteer.prefix_matches(&key);
        if communes.is_empty() {
            communes = gazetteer.near_matches(&key);
        }
        let mut candidates = rank_communes(gazetteer, communes, &key, territory, limit);
        let held = self.local.get(&self.db).await?;
        for alias in held.aliases_with_prefix(&key) {
            let Some(mut place) = self.place_of(&held, &alias.place_id) else {
                continue;
            };
            place.label = format!("{} — {}", alias.alias, place.label);
            place.alias = Some(alias.alias.clone());
            candidates.push((
                Rank {
                    not_exact_alias: alias.search_key != key,
                    not_exact_name: alias.search_key != key,
                    outside_territory: territory.is_none_or(|t| t.id != alias.territory_id),
                    population: Reverse(place.population.unwrap_or(0)),
                    kind: kind_order(place.kind),
                    name: place.name.clone(),
                },
                place,
            ));
        }
        for point in held.points_with_prefix(&key) {
            let exact = point.search_key == key || point.search_key_full == key;
            let territory_id = point.territory_id.clone();
            let place = point.to_place(gazetteer);
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

    /// The place with this id: a gazetteer commune or a meeting point.
    pub async fn resolve_id(&self, id: &str) -> Result<Option<Place>, sqlx::Error> {
        if id.starts_with("mp:") {
            let held = self.local.get(&self.db).await?;
            return Ok(self.place_of(&held, id));
        }
        Ok(self.gazetteer.get(id).map(|c| self.gazetteer.to_place(c)))
    }

    fn place_of(&self, held: &local::Local, id: &str) -> Option<Place> {
        match id.strip_prefix("mp:") {
            Some(mp_id) => held.point(mp_id).map(|p| p.to_place(&self.gazetteer)),
            None => self.gazetteer.get(id).map(|c| self.gazetteer.to_place(c)),
        }
    }

    /// A point of a request body (a place given by its position, a
    /// meeting point) must lie in the area the gazetteer covers:
    /// metropolitan France and its overseas départements. Outside, both
    /// coordinates are reported under `field` (`origin.lat`, `origin.lon`).
    pub fn check_covered(&self, point: GeoPoint, field: &str) -> Result<()> {
        if self.gazetteer.covers(point) {
            return Ok(());
        }
        let at = |name: &str| {
            if field.is_empty() {
                name.to_string()
            } else {
                format!("{field}.{name}")
            }
        };
        let mut invalid = Invalid::new();
        for (name, what) in [("lat", "la latitude"), ("lon", "la longitude")] {
            invalid.push(
                at(name),
                format!(
                    "Ce point ({}, {}) est hors de la zone couverte (la France métropolitaine et les départements d'outre-mer) : vérifiez {what}.",
                    point.lat(),
                    point.lon()
                ),
            );
        }
        Err(invalid.into())
    }

    /// Turns a checked place of a request body into the place stored on an
    /// offer or need, and its département; an unknown id is a validation
    /// error on `field`.
    pub async fn resolve(
        &self,
        query: &PlaceQuery,
        field: &str,
    ) -> Result<(TripPlace, Option<String>)> {
        match query {
            PlaceQuery::Id(id) => {
                let place = self.resolve_id(id).await?.ok_or_else(|| {
                    Error::field(
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
                self.check_covered(*point, field)?;
                let commune = self.gazetteer.nearest_commune(*point);
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

// ---------------------------------------------------------------------------
// The two ends of an offer or a need
// ---------------------------------------------------------------------------

/// The two ends of an offer or need, resolved, and the territory they fall in.
pub struct Endpoints {
    pub origin: TripPlace,
    pub destination: TripPlace,
    pub territory: Option<Territory>,
}

/// Below this, origin and destination are the same place.
const MIN_DISTANCE_METERS: f64 = 500.0;

impl Endpoints {
    pub async fn resolve(
        places: &Places,
        origin: &PlaceQuery,
        destination: &PlaceQuery,
    ) -> Result<Endpoints> {
        let mut invalid = Invalid::new();
        let mut resolved = Vec::with_capacity(2);
        for (field, query) in [("origin", origin), ("destination", destination)] {
            match places.resolve(query, field).await {
                Ok(place) => resolved.push(Some(place)),
                Err(Error::Invalid(errors)) => {
                    invalid.absorb("", errors);
                    resolved.push(None);
                }
                Err(other) => return Err(other),
            }
        }
        let (Some((origin, origin_dep)), Some((destination, dest_dep))) =
            (resolved[0].take(), resolved[1].take())
        else {
            return Err(invalid.into());
        };
        if origin.point().distance_m(destination.point()) < MIN_DISTANCE_METERS {
            return Err(Error::field(
                "destination",
                "Le départ et l'arrivée sont au même endroit : choisissez une autre destination.",
            ));
        }
        let territory = places
            .territories
            .for_trip(origin_dep.as_deref(), dest_dep.as_deref())
            .await?;
        Ok(Endpoints {
            origin,
            destination,
            territory,
        })
    }

    /// Resolves the places of a request body, reporting the faults of both.
    pub async fn resolve_input(
        places: &Places,
        origin: &PlaceInput,
        destination: &PlaceInput,
    ) -> Result<Endpoints> {
        let (origin, destination) = match (origin.validate(), destination.validate()) {
            (Ok(origin), Ok(destination)) => (origin, destination),
            (origin, destination) => {
                let mut invalid = Invalid::new();
                invalid.check("origin", origin);
                invalid.check("destination", destination);
                return Err(invalid.into());
            }
        };
        Self::resolve(places, &origin, &destination).await
    }

    /// The id of the territory the ends fall in.
    pub fn territory_id(&self) -> Option<&str> {
        self.territory.as_ref().map(|t| t.id.as_str())
    }
}
