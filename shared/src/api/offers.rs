//! Offers (a driver's trip): what is posted, changed and shown.

use crate::offer::{DetourTolerance, Seats};
use crate::schedule::{OfferSchedule, OfferScheduleInput};
use crate::validation::Invalid;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::*;

pub(super) fn default_offer_seats() -> i64 {
    3
}

pub(super) fn default_detour() -> i64 {
    DetourTolerance::DEFAULT.minutes().into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OfferInput {
    pub origin: PlaceInput,
    pub destination: PlaceInput,
    pub schedule: OfferScheduleInput,
    #[serde(default = "default_offer_seats")]
    #[cfg_attr(feature = "openapi", schema(example = 3, minimum = 1, maximum = 8))]
    pub seats: i64,
    #[serde(default = "default_detour")]
    #[cfg_attr(feature = "openapi", schema(example = 15, minimum = 0, maximum = 60))]
    pub max_detour_minutes: i64,
}

/// A checked [`OfferInput`]; its places remain to be resolved.
#[derive(Debug, Clone)]
pub struct OfferDraft {
    pub origin: PlaceQuery,
    pub destination: PlaceQuery,
    pub schedule: OfferSchedule,
    pub seats: Seats,
    pub max_detour: DetourTolerance,
}

pub(super) fn check_range<T>(
    invalid: &mut Invalid,
    field: &str,
    result: Result<T, String>,
) -> Option<T> {
    result.map_err(|m| invalid.push(field, m)).ok()
}

impl OfferInput {
    pub fn validate(&self) -> Result<OfferDraft, Invalid> {
        let mut invalid = Invalid::new();
        let origin = invalid.check("origin", self.origin.validate());
        let destination = invalid.check("destination", self.destination.validate());
        let schedule = invalid.check("schedule", self.schedule.clone().try_into());
        let seats = check_range(&mut invalid, "seats", Seats::new(self.seats));
        let max_detour = check_range(
            &mut invalid,
            "max_detour_minutes",
            DetourTolerance::new(self.max_detour_minutes),
        );
        match (origin, destination, schedule, seats, max_detour) {
            (Some(origin), Some(destination), Some(schedule), Some(seats), Some(max_detour))
                if invalid.is_empty() =>
            {
                Ok(OfferDraft {
                    origin,
                    destination,
                    schedule,
                    seats,
                    max_detour,
                })
            }
            _ => Err(invalid),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OfferPatch {
    /// Pause (true) or resume (false) the whole trip.
    pub paused: Option<bool>,
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 8))]
    pub seats: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 60))]
    pub max_detour_minutes: Option<i64>,
    /// New times: replaces the whole schedule.
    pub schedule: Option<OfferScheduleInput>,
}

/// A checked [`OfferPatch`].
#[derive(Debug, Clone, Default)]
pub struct OfferChange {
    pub paused: Option<bool>,
    pub seats: Option<Seats>,
    pub max_detour: Option<DetourTolerance>,
    pub schedule: Option<OfferSchedule>,
}

impl OfferPatch {
    pub fn validate(&self) -> Result<OfferChange, Invalid> {
        let mut invalid = Invalid::new();
        let seats = self
            .seats
            .and_then(|n| check_range(&mut invalid, "seats", Seats::new(n)));
        let max_detour = self
            .max_detour_minutes
            .and_then(|n| check_range(&mut invalid, "max_detour_minutes", DetourTolerance::new(n)));
        let schedule = self
            .schedule
            .clone()
            .and_then(|s| invalid.check("schedule", s.try_into()));
        if self.paused.is_none()
            && self.seats.is_none()
            && self.max_detour_minutes.is_none()
            && self.schedule.is_none()
        {
            invalid.push(
                "",
                "Rien à modifier : indiquez paused, seats, max_detour_minutes ou schedule.",
            );
        }
        invalid.finish(|| OfferChange {
            paused: self.paused,
            seats,
            max_detour,
            schedule,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Offer {
    pub id: String,
    pub origin: TripPlace,
    pub destination: TripPlace,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schedule::OfferScheduleWire))]
    pub schedule: OfferSchedule,
    pub seats: i64,
    pub max_detour_minutes: i64,
    pub paused: bool,
    /// The trip in one French sentence.
    pub summary: String,
    pub territory_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
