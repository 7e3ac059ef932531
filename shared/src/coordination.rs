//! What a territory's coordinator works with: its relays, meeting points
//! and local place names, the matching board, and where demand is unmet.

use serde::{Deserialize, Serialize};

use crate::api::{Match, Need};
use crate::people::Role;

/// Someone with a role on the territory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StaffMember {
    pub user_id: String,
    pub display_name: String,
    /// The phone or e-mail they sign in with.
    pub contact: String,
    pub role: Role,
}

/// Giving someone a role: `POST /api/v1/territories/{id}/staff`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StaffInput {
    /// Phone number or e-mail address they will sign in with.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub contact: String,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeetingPoint {
    /// `mp:<id>` in place ids.
    pub id: String,
    pub name: String,
    pub commune: Option<String>,
    pub lat: f64,
    pub lon: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MeetingPointInput {
    #[cfg_attr(
        feature = "openapi",
        schema(example = "Gramat, place de la République")
    )]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(minimum = -90, maximum = 90))]
    pub lat: f64,
    #[cfg_attr(feature = "openapi", schema(minimum = -180, maximum = 180))]
    pub lon: f64,
}

/// A local name and the place it means ("Villeneuve" → Villeneuve, 12).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alias {
    pub id: String,
    pub alias: String,
    pub place_id: String,
    pub place_label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AliasInput {
    #[cfg_attr(feature = "openapi", schema(example = "Villeneuve"))]
    pub alias: String,
    #[cfg_attr(feature = "openapi", schema(example = "commune:12301"))]
    pub place_id: String,
}

/// An open need and the trips that could take it, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BoardEntry {
    pub request: Need,
    pub candidates: Vec<Match>,
}

/// The coordinator proposes a match to a driver:
/// `POST /api/v1/territories/{id}/proposals`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProposalInput {
    pub request_id: String,
    pub offer_id: String,
    pub date: chrono::NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommuneRef {
    pub id: String,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
}

/// A trip that passes near an unmet corridor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NearTrip {
    pub offer_id: String,
    pub summary: String,
    /// Driver's first name and initial.
    pub driver: String,
    /// How far the corridor's two ends are from the trip's way (km, both
    /// added; as the crow flies).
    pub gap_km: f64,
}

/// Commune-to-commune demand nobody served: where to recruit drivers, or
/// which line to open.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnmetCorridor {
    pub from: CommuneRef,
    pub to: CommuneRef,
    /// Needs with no driver (recorded, or past and never booked).
    pub unserved: u64,
    /// Needs still waiting, in the period.
    pub waiting: u64,
    pub closest_trips: Vec<NearTrip>,
}
