//! Places: search results and the places of offers and needs.

use crate::geo::GeoPoint;
use crate::validation::Invalid;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PlaceKind {
    /// A current commune.
    Commune,
    /// A former commune merged into a "commune nouvelle", still a name people use.
    Deleguee,
    /// A former commune associated with another.
    Associee,
    /// A meeting point chosen by the territory (station, hospital, square).
    MeetingPoint,
}

/// A place found by search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Place {
    #[cfg_attr(feature = "openapi", schema(example = "commune:46102"))]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(example = "Figeac"))]
    pub name: String,
    /// INSEE code of the commune the place is in.
    pub insee: Option<String>,
    pub kind: PlaceKind,
    pub lat: f64,
    pub lon: f64,
    /// How to show it in a list: "Figeac (46100)".
    pub label: String,
    pub departement: Option<String>,
    pub population: Option<u32>,
    /// The local name that matched, when the place was found by an alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

/// A place in a request body: `{"place_id": …}` or `{"lat", "lon", "label"}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PlaceInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = -90, maximum = 90))]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = -180, maximum = 180))]
    pub lon: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// A checked [`PlaceInput`], to resolve against the places the server knows.
#[derive(Debug, Clone, PartialEq)]
pub enum PlaceQuery {
    Id(String),
    Point { point: GeoPoint, label: String },
}

impl PlaceInput {
    pub fn id(id: impl Into<String>) -> Self {
        PlaceInput {
            place_id: Some(id.into()),
            ..Default::default()
        }
    }

    pub fn validate(&self) -> Result<PlaceQuery, Invalid> {
        match (&self.place_id, self.lat, self.lon) {
            (Some(id), None, None) => {
                let id = id.trim();
                if id.is_empty() || id.len() > 100 {
                    Err(Invalid::field(
                        "place_id",
                        "Choisissez un lieu dans la liste.",
                    ))
                } else {
                    Ok(PlaceQuery::Id(id.to_string()))
                }
            }
            (None, Some(lat), Some(lon)) => {
                let mut invalid = Invalid::new();
                let point = invalid.check("", GeoPoint::new(lat, lon));
                let label = self.label.as_deref().unwrap_or("").trim().to_string();
                if label.is_empty() {
                    invalid.push(
                        "label",
                        "Donnez un nom à ce lieu, par exemple « devant la mairie ».",
                    );
                } else if label.chars().count() > 120 {
                    invalid.push(
                        "label",
                        "Le nom du lieu est trop long : 120 caractères au plus.",
                    );
                }
                match point {
                    Some(point) if invalid.is_empty() => Ok(PlaceQuery::Point { point, label }),
                    _ => Err(invalid),
                }
            }
            _ => Err(Invalid::field(
                "",
                "Lieu manquant ou incomplet : choisissez un lieu dans la liste.",
            )),
        }
    }
}

/// A place as stored on a trip or a need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TripPlace {
    /// The known place it was chosen from, if any.
    pub place_id: Option<String>,
    pub label: String,
    pub insee: Option<String>,
    pub lat: f64,
    pub lon: f64,
}

impl TripPlace {
    pub fn point(&self) -> GeoPoint {
        GeoPoint::new(self.lat, self.lon).expect("stored places are valid points")
    }
}
