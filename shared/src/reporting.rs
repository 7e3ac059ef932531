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

/// `GET /api/v1/territories/{id}/usage`: how the service is used, period by
/// period, for the team that runs it. Aggregates of our own tables only
/// (docs/usage.md gives each definition).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Usage {
    pub territory_id: String,
    /// First day (YYYY-MM-DD, in the territory's time zone).
    pub from: String,
    /// Last day.
    pub to: String,
    /// `week` (Monday to Sunday) or `month`.
    pub by: String,
    #[serde(flatten)]
    pub totals: UsageFigures,
    /// Every week or month of the period, the empty ones too, oldest first.
    pub periods: Vec<UsagePeriod>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsagePeriod {
    /// "2026-W48" (ISO week) or "2026-11".
    pub key: String,
    /// « semaine du 23 novembre 2026 », « novembre 2026 ».
    pub label: String,
    /// Its first day counted (the period's start at the earliest).
    pub start: String,
    #[serde(flatten)]
    pub figures: UsageFigures,
}

/// The figures of one period: people who came, then what became of the
/// needs posted in it (each need counts in the period it was posted).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageFigures {
    pub new_people: NewPeople,
    pub funnel: Funnel,
    pub conversion: Conversion,
    /// Median minutes from posting a need to its first driver found.
    pub median_minutes_to_first_candidate: Option<f64>,
    /// Median minutes from posting a need to its first confirmed seat.
    pub median_minutes_to_confirmation: Option<f64>,
    /// Every purpose, in a steady order.
    pub purposes: Vec<PurposeUse>,
    pub drop_outs: DropOuts,
}

/// People who joined, by how they came.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewPeople {
    /// Accounts opened with the app (phone or computer).
    pub app: u64,
    /// Accounts opened in a browser (the web version).
    pub web: u64,
    /// People registered by a relay (without an account).
    pub relay: u64,
    /// Accounts opened before the channel was recorded.
    pub unknown: u64,
    pub total: u64,
}

/// The needs posted in a period, step by step.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Funnel {
    pub needs_posted: u64,
    /// With at least one driver found who can take the passenger.
    pub needs_with_candidate: u64,
    /// With at least one seat asked (or proposed by a driver).
    pub needs_booked: u64,
    /// With at least one seat confirmed.
    pub needs_confirmed: u64,
    /// Whose trip took place.
    pub needs_done: u64,
}

/// The share going from each step of the funnel to the next; `None` when
/// the step before is empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversion {
    /// `needs_with_candidate / needs_posted`.
    pub posted_to_candidate: Option<f64>,
    /// `needs_booked / needs_with_candidate`.
    pub candidate_to_booked: Option<f64>,
    /// `needs_confirmed / needs_booked`.
    pub booked_to_confirmed: Option<f64>,
    /// `needs_done / needs_confirmed`.
    pub confirmed_to_done: Option<f64>,
}

/// Needs of one purpose and how many were served (a seat confirmed or the
/// trip done).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PurposeUse {
    /// `medical`, `work`, `training`, `shopping`, `admin`, `other`.
    pub purpose: String,
    pub label: String,
    pub needs_posted: u64,
    pub needs_served: u64,
    /// `needs_served / needs_posted`; `None` when none was posted.
    pub served_share: Option<f64>,
}

/// Where people drop out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DropOuts {
    /// Needs with a driver found but no seat ever asked.
    pub candidates_not_booked: u64,
    /// Seats asked (or proposed) for the period's needs.
    pub bookings_asked: u64,
    pub bookings_confirmed: u64,
    /// Refused by the person asked (or the trip withdrawn by its driver).
    pub bookings_declined: u64,
    /// Never answered: withdrawn by the asker, or still waiting on the day.
    pub bookings_unanswered: u64,
    /// Still waiting, the day not yet come.
    pub bookings_waiting: u64,
    /// Median minutes the person asked took to answer.
    pub median_minutes_to_answer: Option<f64>,
}
