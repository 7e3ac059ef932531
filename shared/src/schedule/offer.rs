//! A driver's trip: weekly (local clock times on weekdays, a period,
//! pauses) or once, and its departures in a time zone.

use super::*;

// ---------------------------------------------------------------------------
// A driver's trip
// ---------------------------------------------------------------------------

/// A regular trip: the same local times on some weekdays, over a period,
/// with pauses (holidays).
#[derive(Debug, Clone, PartialEq)]
pub struct WeeklyTrip {
    pub(super) weekdays: Weekdays,
    pub(super) departure_time: LocalTime,
    pub(super) return_time: Option<LocalTime>,
    pub(super) from: NaiveDate,
    pub(super) until: Option<NaiveDate>,
    pub(super) pauses: Vec<DateRange>,
}

/// A one-off trip at a given instant, with an optional return the same day
/// or later.
#[derive(Debug, Clone, PartialEq)]
pub struct OnceTrip {
    pub(super) departure: DateTime<FixedOffset>,
    pub(super) return_departure: Option<DateTime<FixedOffset>>,
}

/// When a driver travels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "OfferScheduleWire", into = "OfferScheduleWire")]
pub enum OfferSchedule {
    Weekly(WeeklyTrip),
    Once(OnceTrip),
}

/// One concrete occurrence of a trip.
#[derive(Debug, Clone, PartialEq)]
pub struct Departure {
    /// The local date of the outbound departure.
    pub date: NaiveDate,
    pub outbound: DateTime<Tz>,
    pub inbound: Option<DateTime<Tz>>,
}

impl WeeklyTrip {
    pub fn new(
        weekdays: Weekdays,
        departure_time: LocalTime,
        return_time: Option<LocalTime>,
        from: NaiveDate,
        until: Option<NaiveDate>,
        pauses: Vec<DateRange>,
    ) -> Result<Self, Invalid> {
        let mut invalid = Invalid::new();
        if let Some(ret) = return_time
            && ret <= departure_time
        {
            invalid.push(
                "return_time",
                "L'heure du retour doit être après l'heure de départ.",
            );
        }
        if let Some(until) = until
            && until < from
        {
            invalid.push(
                "until",
                "La date de fin doit être le même jour ou après la date de début.",
            );
        }
        if pauses.len() > 50 {
            invalid.push("pauses", "Indiquez au plus 50 périodes de pause.");
        }
        invalid.finish(|| WeeklyTrip {
            weekdays,
            departure_time,
            return_time,
            from,
            until,
            pauses,
        })
    }

    pub fn weekdays(&self) -> Weekdays {
        self.weekdays
    }
    pub fn departure_time(&self) -> LocalTime {
        self.departure_time
    }
    pub fn return_time(&self) -> Option<LocalTime> {
        self.return_time
    }
    pub fn from(&self) -> NaiveDate {
        self.from
    }
    pub fn until(&self) -> Option<NaiveDate> {
        self.until
    }
    pub fn pauses(&self) -> &[DateRange] {
        &self.pauses
    }

    /// Whether the trip runs on `date` (right weekday, in the period, not
    /// paused).
    pub fn runs_on(&self, date: NaiveDate) -> bool {
        self.weekdays.contains_date(date)
            && date >= self.from
            && self.until.is_none_or(|until| date <= until)
            && !self.pauses.iter().any(|p| p.contains(date))
    }
}

impl OnceTrip {
    pub fn new(
        departure: DateTime<FixedOffset>,
        return_departure: Option<DateTime<FixedOffset>>,
    ) -> Result<Self, Invalid> {
        if let Some(ret) = return_departure
            && ret <= departure
        {
            return Err(Invalid::field(
                "return_departure",
                "Le retour doit partir après l'aller.",
            ));
        }
        Ok(OnceTrip {
            departure,
            return_departure,
        })
    }

    pub fn departure(&self) -> DateTime<FixedOffset> {
        self.departure
    }
    pub fn return_departure(&self) -> Option<DateTime<FixedOffset>> {
        self.return_departure
    }
}

impl OfferSchedule {
    /// Every occurrence whose local departure date is in `[first, last]`.
    pub fn departures(&self, tz: Tz, first: NaiveDate, last: NaiveDate) -> Vec<Departure> {
        match self {
            OfferSchedule::Weekly(w) => first
                .iter_days()
                .take_while(|d| *d <= last)
                .filter(|d| w.runs_on(*d))
                .map(|date| Departure {
                    date,
                    outbound: local_instant(tz, date, w.departure_time),
                    inbound: w.return_time.map(|t| local_instant(tz, date, t)),
                })
                .collect(),
            OfferSchedule::Once(o) => {
                let outbound = o.departure.with_timezone(&tz);
                let date = outbound.date_naive();
                if date < first || date > last {
                    return Vec::new();
                }
                vec![Departure {
                    date,
                    outbound,
                    inbound: o.return_departure.map(|r| r.with_timezone(&tz)),
                }]
            }
        }
    }

    /// The last local date on which the trip runs, if it ever ends.
    pub fn last_date(&self, tz: Tz) -> Option<NaiveDate> {
        match self {
            OfferSchedule::Weekly(w) => w.until,
            OfferSchedule::Once(o) => Some(
                o.return_departure
                    .unwrap_or(o.departure)
                    .with_timezone(&tz)
                    .date_naive(),
            ),
        }
    }

    /// A short French description: "du lundi au vendredi à 7 h 30, retour à 17 h 30".
    pub fn describe(&self, tz: Tz) -> String {
        match self {
            OfferSchedule::Weekly(w) => {
                let mut text = format!("{} à {}", w.weekdays.french(), w.departure_time.spoken());
                if let Some(ret) = w.return_time {
                    text.push_str(&format!(", retour à {}", ret.spoken()));
                }
                text
            }
            OfferSchedule::Once(o) => {
                let local = o.departure.with_timezone(&tz);
                let time = LocalTime::new(
                    chrono::Timelike::hour(&local),
                    chrono::Timelike::minute(&local),
                )
                .expect("a real clock time");
                format!(
                    "le {} à {}",
                    crate::time::french_date(local.date_naive()),
                    time.spoken()
                )
            }
        }
    }
}

/// The wire form of [`OfferSchedule`], as in the API contract.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = OfferSchedule))]
pub enum OfferScheduleWire {
    Weekly {
        #[cfg_attr(feature = "openapi", schema(schema_with = crate::time::weekdays_schema))]
        weekdays: Weekdays,
        #[cfg_attr(feature = "openapi", schema(value_type = String, example = "07:30", pattern = "^\\s*([01]?[0-9]|2[0-3])[:hH]([0-5][0-9])?\\s*$"))]
        departure_time: LocalTime,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "17:30", pattern = "^\\s*([01]?[0-9]|2[0-3])[:hH]([0-5][0-9])?\\s*$"))]
        return_time: Option<LocalTime>,
        #[serde(deserialize_with = "de_date")]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date, example = "2026-12-01"))]
        from: NaiveDate,
        #[serde(default, deserialize_with = "de_opt_date")]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
        until: Option<NaiveDate>,
        #[serde(default)]
        pauses: Vec<DateRangeWire>,
    },
    Once {
        #[serde(deserialize_with = "de_datetime")]
        #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime, example = "2026-12-03T07:30:00+01:00"))]
        departure: DateTime<FixedOffset>,
        #[serde(default, deserialize_with = "de_opt_datetime")]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
        return_departure: Option<DateTime<FixedOffset>>,
    },
}

impl TryFrom<OfferScheduleWire> for OfferSchedule {
    type Error = Invalid;

    fn try_from(wire: OfferScheduleWire) -> Result<Self, Invalid> {
        match wire {
            OfferScheduleWire::Weekly {
                weekdays,
                departure_time,
                return_time,
                from,
                until,
                pauses,
            } => {
                let mut invalid = Invalid::new();
                let mut ranges = Vec::with_capacity(pauses.len());
                for (i, pause) in pauses.into_iter().enumerate() {
                    if let Some(range) = invalid.check(&format!("pauses.{i}"), pause.try_into()) {
                        ranges.push(range);
                    }
                }
                let trip = invalid.check(
                    "",
                    WeeklyTrip::new(weekdays, departure_time, return_time, from, until, ranges),
                );
                match trip {
                    Some(trip) if invalid.is_empty() => Ok(OfferSchedule::Weekly(trip)),
                    _ => Err(invalid),
                }
            }
            OfferScheduleWire::Once {
                departure,
                return_departure,
            } => OnceTrip::new(departure, return_departure).map(OfferSchedule::Once),
        }
    }
}

impl From<OfferSchedule> for OfferScheduleWire {
    fn from(s: OfferSchedule) -> Self {
        match s {
            OfferSchedule::Weekly(w) => OfferScheduleWire::Weekly {
                weekdays: w.weekdays,
                departure_time: w.departure_time,
                return_time: w.return_time,
                from: w.from,
                until: w.until,
                pauses: w.pauses.into_iter().map(Into::into).collect(),
            },
            OfferSchedule::Once(o) => OfferScheduleWire::Once {
                departure: o.departure,
                return_departure: o.return_departure,
            },
        }
    }
}
