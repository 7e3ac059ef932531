//! What a territory's staff read about its activity: impact figures for
//! funders (aggregates only), the proof-registry export, and the audit log.

use serde::{Deserialize, Serialize};

/// The figures of one slice (the whole period, a month, a commune).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Figures {
    pub needs_posted: u64,
    /// Needs for which a seat was booked or the trip took place.
    pub needs_served: u64,
    /// `needs_served / needs_posted`, 0 when nothing was posted.
    pub served_share: f64,
    /// Needs whose trip took place.
    pub trips_done: u64,
    /// Distinct people (passengers or people registered by a relay) with a
    /// trip done.
    pub people_served: u64,
    /// Passenger-kilometres of the trips done.
    pub km_shared: f64,
    pub co2_avoided_kg: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MonthFigures {
    /// "2026-12".
    pub month: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommuneFigures {
    /// `commune:<INSEE>` of the needs' origin.
    pub commune_id: String,
    pub name: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reason {
    /// `no_driver`, `cancelled_by_passenger`, `cancelled_by_driver`,
    /// `no_show`, or `declined_by_driver` (a booking the driver refused or
    /// cancelled).
    pub code: String,
    pub label: String,
    pub count: u64,
}

/// `GET /api/v1/territories/{id}/impact`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Impact {
    pub territory_id: String,
    pub from: Option<String>,
    pub to: Option<String>,
    #[serde(flatten)]
    pub totals: Figures,
    /// Among people with a trip done, the share with at least two.
    pub return_rate: f64,
    pub reasons: Vec<Reason>,
    pub by_month: Vec<MonthFigures>,
    pub by_commune: Vec<CommuneFigures>,
    /// kg CO₂e per car-km used (see docs/impact.md for its source).
    pub co2_kg_per_km: f64,
}

/// One completed trip, ready for the registry's `POST /journeys` or flagged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistryJourney {
    pub booking_id: String,
    pub date: String,
    /// Whether to send it: no flag.
    pub send: bool,
    /// Why not: `distance_too_short`, `too_many_trips_by_day`,
    /// `too_close_trips`, `expired`, `driver_phone_missing`,
    /// `passenger_phone_missing`, `driver_last_name_missing`,
    /// `passenger_last_name_missing`.
    pub flags: Vec<String>,
    /// The `POST /journeys` body (registry API v3.3); null when the
    /// registry could not accept any (a person without a phone number).
    #[cfg_attr(feature = "openapi", schema(value_type = Object, nullable))]
    pub body: serde_json::Value,
}

/// `GET /api/v1/territories/{id}/registry/journeys`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistryExport {
    pub territory_id: String,
    pub api_version: String,
    pub journeys: Vec<RegistryJourney>,
}

/// One line of a territory's audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor_id: String,
    pub actor_name: String,
    /// `beneficiary_registered`, `request_posted_for`, `booking_requested_for`,
    /// `outcome_recorded`, `beneficiary_erased`, `contact_revealed`…
    pub action: String,
    pub subject_kind: String,
    pub subject_id: String,
    /// The registered person concerned, read now (empty once erased).
    pub subject_name: String,
    pub detail: String,
}
