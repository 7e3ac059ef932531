//! A passenger's need: once or weekly, arriving by or leaving after a
//! time, with some flexibility and a way back.

use super::*;

// ---------------------------------------------------------------------------
// A passenger's need
// ---------------------------------------------------------------------------

/// What the passenger's time constraint is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Latest arrival at the destination.
    pub(super) arrive_by: Option<LocalTime>,
    /// Earliest departure from the origin.
    pub(super) depart_after: Option<LocalTime>,
}

impl Timing {
    pub fn new(
        arrive_by: Option<LocalTime>,
        depart_after: Option<LocalTime>,
    ) -> Result<Self, Invalid> {
        match (arrive_by, depart_after) {
            (None, None) => Err(Invalid::field(
                "arrive_by",
                "Indiquez l'heure à laquelle vous devez arriver, ou l'heure à partir de laquelle vous pouvez partir.",
            )),
            (Some(arrive), Some(depart)) if arrive <= depart => Err(Invalid::field(
                "arrive_by",
                "L'heure d'arrivée doit être après l'heure de départ.",
            )),
            _ => Ok(Timing {
                arrive_by,
                depart_after,
            }),
        }
    }

    pub fn arrive_by(self) -> Option<LocalTime> {
        self.arrive_by
    }
    pub fn depart_after(self) -> Option<LocalTime> {
        self.depart_after
    }
}

/// The most flexibility a passenger can declare, in minutes.
pub const MAX_FLEXIBILITY_MINUTES: i64 = 240;

/// A one-off need on a date.
#[derive(Debug, Clone, PartialEq)]
pub struct NeedOnce {
    pub date: NaiveDate,
    pub timing: Timing,
    pub flexibility_minutes: u16,
    pub return_after: Option<LocalTime>,
}

/// A recurring need (home to work, weekly training).
#[derive(Debug, Clone, PartialEq)]
pub struct NeedWeekly {
    pub weekdays: Weekdays,
    pub timing: Timing,
    pub flexibility_minutes: u16,
    pub return_after: Option<LocalTime>,
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

/// When a passenger needs to travel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "NeedScheduleWire", into = "NeedScheduleWire")]
pub enum NeedSchedule {
    Once(NeedOnce),
    Weekly(NeedWeekly),
}

impl NeedSchedule {
    pub fn timing(&self) -> Timing {
        match self {
            NeedSchedule::Once(n) => n.timing,
            NeedSchedule::Weekly(n) => n.timing,
        }
    }

    pub fn flexibility_minutes(&self) -> u16 {
        match self {
            NeedSchedule::Once(n) => n.flexibility_minutes,
            NeedSchedule::Weekly(n) => n.flexibility_minutes,
        }
    }

    pub fn return_after(&self) -> Option<LocalTime> {
        match self {
            NeedSchedule::Once(n) => n.return_after,
            NeedSchedule::Weekly(n) => n.return_after,
        }
    }

    /// Whether the passenger travels on `date`.
    pub fn applies_on(&self, date: NaiveDate) -> bool {
        match self {
            NeedSchedule::Once(n) => n.date == date,
            NeedSchedule::Weekly(n) => {
                n.weekdays.contains_date(date)
                    && n.from.is_none_or(|from| date >= from)
                    && n.until.is_none_or(|until| date <= until)
            }
        }
    }

    /// The last date the need applies, if it ever ends.
    pub fn last_date(&self) -> Option<NaiveDate> {
        match self {
            NeedSchedule::Once(n) => Some(n.date),
            NeedSchedule::Weekly(n) => n.until,
        }
    }

    /// The first date the need may apply.
    pub fn first_date(&self, today: NaiveDate) -> NaiveDate {
        match self {
            NeedSchedule::Once(n) => n.date,
            NeedSchedule::Weekly(n) => n.from.unwrap_or(today),
        }
    }

    /// A short French description: "le mardi 8 décembre, arrivée avant 10 h, retour après 14 h".
    pub fn describe(&self) -> String {
        let (when, timing, flexibility, return_after) = match self {
            NeedSchedule::Once(n) => (
                format!("le {}", crate::time::french_date(n.date)),
                n.timing,
                n.flexibility_minutes,
                n.return_after,
            ),
            NeedSchedule::Weekly(n) => (
                n.weekdays.french(),
                n.timing,
                n.flexibility_minutes,
                n.return_after,
            ),
        };
        let mut text = when;
        if let Some(t) = timing.depart_after {
            text.push_str(&format!(", départ après {}", t.spoken()));
        }
        if let Some(t) = timing.arrive_by {
            text.push_str(&format!(", arrivée avant {}", t.spoken()));
        }
        if flexibility > 0 {
            text.push_str(&format!(" (à {flexibility} min près)"));
        }
        if let Some(t) = return_after {
            text.push_str(&format!(", retour après {}", t.spoken()));
        }
        text
    }
}

/// The wire form of [`NeedSchedule`], as in the API contract.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = NeedSchedule))]
pub enum NeedScheduleWire {
    Once {
        #[serde(deserialize_with = "de_date")]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date, example = "2026-12-08"))]
        date: NaiveDate,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "10:00", pattern = "^\\s*([01]?[0-9]|2[0-3])[:hH]([0-5][0-9])?\\s*$"))]
        arrive_by: Option<LocalTime>,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "08:00", pattern = "^\\s*([01]?[0-9]|2[0-3])[:hH]([0-5][0-9])?\\s*$"))]
        depart_after: Option<LocalTime>,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 240))]
        flexibility_minutes: i64,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "14:00", pattern = "^\\s*([01]?[0-9]|2[0-3])[:hH]([0-5][0-9])?\\s*$"))]
        return_after: Option<LocalTime>,
    },
    Weekly {
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::time::weekdays_schema))]
        weekdays: Weekdays,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "08:30", pattern = "^\\s*([01]?[0-9]|2[0-3])[:hH]([0-5][0-9])?\\s*$"))]
        arrive_by: Option<LocalTime>,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = "^\\s*([01]?[0-9]|2[0-3])[:hH]([0-5][0-9])?\\s*$"))]
        depart_after: Option<LocalTime>,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 240))]
        flexibility_minutes: i64,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "17:30", pattern = "^\\s*([01]?[0-9]|2[0-3])[:hH]([0-5][0-9])?\\s*$"))]
        return_after: Option<LocalTime>,
        #[serde(default, deserialize_with = "de_opt_date")]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
        from: Option<NaiveDate>,
        #[serde(default, deserialize_with = "de_opt_date")]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
        until: Option<NaiveDate>,
    },
}

pub(super) fn check_flexibility(invalid: &mut Invalid, minutes: i64) -> u16 {
    if (0..=MAX_FLEXIBILITY_MINUTES).contains(&minutes) {
        minutes as u16
    } else {
        invalid.push(
            "flexibility_minutes",
            format!(
                "La souplesse doit être comprise entre 0 et {MAX_FLEXIBILITY_MINUTES} minutes."
            ),
        );
        0
    }
}

pub(super) fn check_return(
    invalid: &mut Invalid,
    timing: Option<Timing>,
    return_after: Option<LocalTime>,
) {
    let Some(ret) = return_after else { return };
    let Some(timing) = timing else { return };
    let outbound = timing.arrive_by.or(timing.depart_after);
    if outbound.is_some_and(|t| ret <= t) {
        invalid.push(
            "return_after",
            "L'heure du retour doit être après l'heure de l'aller.",
        );
    }
}

impl TryFrom<NeedScheduleWire> for NeedSchedule {
    type Error = Invalid;

    fn try_from(wire: NeedScheduleWire) -> Result<Self, Invalid> {
        let mut invalid = Invalid::new();
        match wire {
            NeedScheduleWire::Once {
                date,
                arrive_by,
                depart_after,
                flexibility_minutes,
                return_after,
            } => {
                let timing = invalid.check("", Timing::new(arrive_by, depart_after));
                let flexibility_minutes = check_flexibility(&mut invalid, flexibility_minutes);
                check_return(&mut invalid, timing, return_after);
                match timing {
                    Some(timing) if invalid.is_empty() => Ok(NeedSchedule::Once(NeedOnce {
                        date,
                        timing,
                        flexibility_minutes,
                        return_after,
                    })),
                    _ => Err(invalid),
                }
            }
            NeedScheduleWire::Weekly {
                weekdays,
                arrive_by,
                depart_after,
                flexibility_minutes,
                return_after,
                from,
                until,
            } => {
                let timing = invalid.check("", Timing::new(arrive_by, depart_after));
                let flexibility_minutes = check_flexibility(&mut invalid, flexibility_minutes);
                check_return(&mut invalid, timing, return_after);
                if let (Some(from), Some(until)) = (from, until)
                    && until < from
                {
                    invalid.push(
                        "until",
                        "La date de fin doit être le même jour ou après la date de début.",
                    );
                }
                match timing {
                    Some(timing) if invalid.is_empty() => Ok(NeedSchedule::Weekly(NeedWeekly {
                        weekdays,
                        timing,
                        flexibility_minutes,
                        return_after,
                        from,
                        until,
                    })),
                    _ => Err(invalid),
                }
            }
        }
    }
}

impl From<NeedSchedule> for NeedScheduleWire {
    fn from(s: NeedSchedule) -> Self {
        match s {
            NeedSchedule::Once(n) => NeedScheduleWire::Once {
                date: n.date,
                arrive_by: n.timing.arrive_by,
                depart_after: n.timing.depart_after,
                flexibility_minutes: n.flexibility_minutes.into(),
                return_after: n.return_after,
            },
            NeedSchedule::Weekly(n) => NeedScheduleWire::Weekly {
                weekdays: n.weekdays,
                arrive_by: n.timing.arrive_by,
                depart_after: n.timing.depart_after,
                flexibility_minutes: n.flexibility_minutes.into(),
                return_after: n.return_after,
                from: n.from,
                until: n.until,
            },
        }
    }
}
