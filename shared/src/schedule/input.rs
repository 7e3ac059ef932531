//! Schedules as request bodies read them: flat objects with a `kind`,
//! checked field by field.

use super::need::*;
use super::offer::*;
use super::*;

// ---------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------

/// Which kind of schedule a request body describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ScheduleKind {
    Weekly,
    Once,
}

/// A schedule as sent in a request body: one flat object whose `kind`
/// says which fields apply, so that every fault is reported at its own
/// field ("schedule.departure_time") and all of them at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfferScheduleInput {
    pub kind: ScheduleKind,
    /// weekly: the days of the trip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::time::optional_weekdays_schema))]
    pub weekdays: Option<Weekdays>,
    /// weekly: local departure time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "07:30", pattern = "^\\s*([01]?[0-9]|2[0-3])[:hH]([0-5][0-9])?\\s*$"))]
    pub departure_time: Option<LocalTime>,
    /// weekly: local time of the way back, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "17:30", pattern = "^\\s*([01]?[0-9]|2[0-3])[:hH]([0-5][0-9])?\\s*$"))]
    pub return_time: Option<LocalTime>,
    /// weekly: first date.
    #[serde(
        default,
        deserialize_with = "de_opt_date",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date, example = "2026-12-01"))]
    pub from: Option<NaiveDate>,
    /// weekly: last date (none: no end).
    #[serde(
        default,
        deserialize_with = "de_opt_date",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub until: Option<NaiveDate>,
    /// weekly: holidays and other breaks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pauses: Vec<DateRangeWire>,
    /// once: departure, RFC 3339 with offset.
    #[serde(
        default,
        deserialize_with = "de_opt_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime, example = "2026-12-03T07:30:00+01:00"))]
    pub departure: Option<DateTime<FixedOffset>>,
    /// once: departure of the way back, if any.
    #[serde(
        default,
        deserialize_with = "de_opt_datetime",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub return_departure: Option<DateTime<FixedOffset>>,
}

pub(super) const REQUIRED: &str = "Ce champ est obligatoire.";
pub(super) const NOT_FOR_WEEKLY: &str =
    "Ce champ ne s'applique pas à un horaire régulier (kind = weekly).";
pub(super) const NOT_FOR_ONCE: &str =
    "Ce champ ne s'applique pas à un trajet ponctuel (kind = once).";

/// Records a missing required field.
pub(super) fn required<T: Copy>(invalid: &mut Invalid, field: &str, value: Option<T>) -> Option<T> {
    if value.is_none() {
        invalid.push(field, REQUIRED);
    }
    value
}

/// Records a field given for the other kind of schedule.
pub(super) fn absent(invalid: &mut Invalid, field: &str, present: bool, message: &str) {
    if present {
        invalid.push(field, message);
    }
}

impl TryFrom<OfferScheduleInput> for OfferSchedule {
    type Error = Invalid;

    fn try_from(input: OfferScheduleInput) -> Result<Self, Invalid> {
        let mut invalid = Invalid::new();
        let wire = match input.kind {
            ScheduleKind::Weekly => {
                absent(
                    &mut invalid,
                    "departure",
                    input.departure.is_some(),
                    NOT_FOR_WEEKLY,
                );
                absent(
                    &mut invalid,
                    "return_departure",
                    input.return_departure.is_some(),
                    NOT_FOR_WEEKLY,
                );
                let weekdays = required(&mut invalid, "weekdays", input.weekdays);
                let departure_time = required(&mut invalid, "departure_time", input.departure_time);
                let from = required(&mut invalid, "from", input.from);
                match (weekdays, departure_time, from) {
                    (Some(weekdays), Some(departure_time), Some(from)) => {
                        Some(OfferScheduleWire::Weekly {
                            weekdays,
                            departure_time,
                            return_time: input.return_time,
                            from,
                            until: input.until,
                            pauses: input.pauses,
                        })
                    }
                    _ => None,
                }
            }
            ScheduleKind::Once => {
                for (field, present) in [
                    ("weekdays", input.weekdays.is_some()),
                    ("departure_time", input.departure_time.is_some()),
                    ("return_time", input.return_time.is_some()),
                    ("from", input.from.is_some()),
                    ("until", input.until.is_some()),
                    ("pauses", !input.pauses.is_empty()),
                ] {
                    absent(&mut invalid, field, present, NOT_FOR_ONCE);
                }
                required(&mut invalid, "departure", input.departure).map(|departure| {
                    OfferScheduleWire::Once {
                        departure,
                        return_departure: input.return_departure,
                    }
                })
            }
        };
        let schedule = wire.and_then(|wire| invalid.check("", OfferSchedule::try_from(wire)));
        match schedule {
            Some(schedule) if invalid.is_empty() => Ok(schedule),
            _ => Err(invalid),
        }
    }
}

/// A need's schedule as sent in a request body (see [`OfferScheduleInput`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NeedScheduleInput {
    pub kind: ScheduleKind,
    /// once: the date of the trip.
    #[serde(
        default,
        deserialize_with = "de_opt_date",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date, example = "2026-12-08"))]
    pub date: Option<NaiveDate>,
    /// weekly: the days of the trip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::time::optional_weekdays_schema))]
    pub weekdays: Option<Weekdays>,
    /// Latest arrival, local time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "10:00", pattern = "^\\s*([01]?[0-9]|2[0-3])[:hH]([0-5][0-9])?\\s*$"))]
    pub arrive_by: Option<LocalTime>,
    /// Earliest departure, local time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "08:00", pattern = "^\\s*([01]?[0-9]|2[0-3])[:hH]([0-5][0-9])?\\s*$"))]
    pub depart_after: Option<LocalTime>,
    /// Minutes earlier or later that would still do.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 240))]
    pub flexibility_minutes: i64,
    /// Earliest time for the way back, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "14:00", pattern = "^\\s*([01]?[0-9]|2[0-3])[:hH]([0-5][0-9])?\\s*$"))]
    pub return_after: Option<LocalTime>,
    /// weekly: first date (default: now).
    #[serde(
        default,
        deserialize_with = "de_opt_date",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub from: Option<NaiveDate>,
    /// weekly: last date (none: no end).
    #[serde(
        default,
        deserialize_with = "de_opt_date",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub until: Option<NaiveDate>,
}

impl TryFrom<NeedScheduleInput> for NeedSchedule {
    type Error = Invalid;

    fn try_from(input: NeedScheduleInput) -> Result<Self, Invalid> {
        let mut invalid = Invalid::new();
        let wire = match input.kind {
            ScheduleKind::Once => {
                absent(
                    &mut invalid,
                    "weekdays",
                    input.weekdays.is_some(),
                    NOT_FOR_ONCE,
                );
                absent(&mut invalid, "from", input.from.is_some(), NOT_FOR_ONCE);
                absent(&mut invalid, "until", input.until.is_some(), NOT_FOR_ONCE);
                required(&mut invalid, "date", input.date).map(|date| NeedScheduleWire::Once {
                    date,
                    arrive_by: input.arrive_by,
                    depart_after: input.depart_after,
                    flexibility_minutes: input.flexibility_minutes,
                    return_after: input.return_after,
                })
            }
            ScheduleKind::Weekly => {
                absent(&mut invalid, "date", input.date.is_some(), NOT_FOR_WEEKLY);
                required(&mut invalid, "weekdays", input.weekdays).map(|weekdays| {
                    NeedScheduleWire::Weekly {
                        weekdays,
                        arrive_by: input.arrive_by,
                        depart_after: input.depart_after,
                        flexibility_minutes: input.flexibility_minutes,
                        return_after: input.return_after,
                        from: input.from,
                        until: input.until,
                    }
                })
            }
        };
        let schedule = wire.and_then(|wire| invalid.check("", NeedSchedule::try_from(wire)));
        match schedule {
            Some(schedule) if invalid.is_empty() => Ok(schedule),
            _ => Err(invalid),
        }
    }
}
