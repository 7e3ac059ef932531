//! When trips and needs happen, and their expansion into concrete dates and
//! instants in the territory's time zone.
//!
//! A weekly commute is stored as local clock times ("07:30 from Monday to
//! Friday"), never as instants: 07:30 stays 07:30 on both sides of a
//! daylight-saving change. Instants are computed at expansion time.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Offset, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize};

use crate::time::{LocalTime, Weekdays};
use crate::validation::Invalid;

/// The instant at which a local clock shows `time` on `date` in `tz`.
///
/// When the clock is put back (last Sunday of October) and the time occurs
/// twice, the first occurrence is taken. When the clock jumps forward (last
/// Sunday of March) and the time does not exist, the time is read with the
/// offset in force before the jump (02:30 becomes 03:30 summer time), which
/// is what a person whose alarm rang at the usual time would experience.
pub fn local_instant(tz: Tz, date: NaiveDate, time: LocalTime) -> DateTime<Tz> {
    let naive = date.and_time(time.to_naive());
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(instant) => instant,
        chrono::LocalResult::Ambiguous(first, _) => first,
        chrono::LocalResult::None => {
            let offset_before = tz
                .offset_from_utc_datetime(&(naive - Duration::days(1)))
                .fix();
            tz.from_utc_datetime(
                &(naive - Duration::seconds(offset_before.local_minus_utc().into())),
            )
        }
    }
}

/// Inclusive range of dates, `from <= until`: a holiday pause, a validity
/// period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "DateRangeWire", into = "DateRangeWire")]
pub struct DateRange {
    from: NaiveDate,
    until: NaiveDate,
}

impl DateRange {
    pub fn new(from: NaiveDate, until: NaiveDate) -> Result<Self, Invalid> {
        if until < from {
            Err(Invalid::field(
                "until",
                "La date de fin doit être le même jour ou après la date de début.",
            ))
        } else {
            Ok(DateRange { from, until })
        }
    }

    pub fn from(self) -> NaiveDate {
        self.from
    }

    pub fn until(self) -> NaiveDate {
        self.until
    }

    pub fn contains(self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.until
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = DateRange))]
pub struct DateRangeWire {
    #[serde(deserialize_with = "de_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date, example = "2026-12-21"))]
    pub from: NaiveDate,
    #[serde(deserialize_with = "de_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date, example = "2027-01-03"))]
    pub until: NaiveDate,
}

impl TryFrom<DateRangeWire> for DateRange {
    type Error = Invalid;
    fn try_from(w: DateRangeWire) -> Result<Self, Invalid> {
        DateRange::new(w.from, w.until)
    }
}

impl From<DateRange> for DateRangeWire {
    fn from(r: DateRange) -> Self {
        DateRangeWire {
            from: r.from,
            until: r.until,
        }
    }
}

const DATE_HELP: &str =
    "Date invalide : écrivez-la sous la forme AAAA-MM-JJ, par exemple 2026-12-08.";
const DATETIME_HELP: &str =
    "Date et heure invalides : écrivez-les sous la forme 2026-12-03T07:30:00+01:00.";

pub fn de_date<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    let s = String::deserialize(d)?;
    NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(|_| serde::de::Error::custom(DATE_HELP))
}

pub fn de_opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| serde::de::Error::custom(DATE_HELP)),
    }
}

pub fn de_datetime<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<FixedOffset>, D::Error> {
    let s = String::deserialize(d)?;
    DateTime::parse_from_rfc3339(&s).map_err(|_| serde::de::Error::custom(DATETIME_HELP))
}

pub fn de_opt_datetime<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<FixedOffset>>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(&s)
            .map(Some)
            .map_err(|_| serde::de::Error::custom(DATETIME_HELP)),
    }
}

// ---------------------------------------------------------------------------
// A driver's trip
// ---------------------------------------------------------------------------

/// A regular trip: the same local times on some weekdays, over a period,
/// with pauses (holidays).
#[derive(Debug, Clone, PartialEq)]
pub struct WeeklyTrip {
    weekdays: Weekdays,
    departure_time: LocalTime,
    return_time: Option<LocalTime>,
    from: NaiveDate,
    until: Option<NaiveDate>,
    pauses: Vec<DateRange>,
}

/// A one-off trip at a given instant, with an optional return the same day
/// or later.
#[derive(Debug, Clone, PartialEq)]
pub struct OnceTrip {
    departure: DateTime<FixedOffset>,
    return_departure: Option<DateTime<FixedOffset>>,
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
                format!("le {} à {}", local.format("%d/%m/%Y"), time.spoken())
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
        #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::time::Weekday>))]
        weekdays: Weekdays,
        #[cfg_attr(feature = "openapi", schema(value_type = String, example = "07:30"))]
        departure_time: LocalTime,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "17:30"))]
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

// ---------------------------------------------------------------------------
// A passenger's need
// ---------------------------------------------------------------------------

/// What the passenger's time constraint is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Latest arrival at the destination.
    arrive_by: Option<LocalTime>,
    /// Earliest departure from the origin.
    depart_after: Option<LocalTime>,
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

    /// A short French description: "le 08/12/2026, arrivée avant 10 h, retour après 14 h".
    pub fn describe(&self) -> String {
        let (when, timing, flexibility, return_after) = match self {
            NeedSchedule::Once(n) => (
                format!("le {}", n.date.format("%d/%m/%Y")),
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
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "10:00"))]
        arrive_by: Option<LocalTime>,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "08:00"))]
        depart_after: Option<LocalTime>,
        #[serde(default)]
        flexibility_minutes: i64,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "14:00"))]
        return_after: Option<LocalTime>,
    },
    Weekly {
        #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::time::Weekday>))]
        weekdays: Weekdays,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "08:30"))]
        arrive_by: Option<LocalTime>,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
        depart_after: Option<LocalTime>,
        #[serde(default)]
        flexibility_minutes: i64,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "17:30"))]
        return_after: Option<LocalTime>,
        #[serde(default, deserialize_with = "de_opt_date")]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
        from: Option<NaiveDate>,
        #[serde(default, deserialize_with = "de_opt_date")]
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
        until: Option<NaiveDate>,
    },
}

fn check_flexibility(invalid: &mut Invalid, minutes: i64) -> u16 {
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

fn check_return(invalid: &mut Invalid, timing: Option<Timing>, return_after: Option<LocalTime>) {
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
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<crate::time::Weekday>>))]
    pub weekdays: Option<Weekdays>,
    /// weekly: local departure time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "07:30"))]
    pub departure_time: Option<LocalTime>,
    /// weekly: local time of the way back, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "17:30"))]
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

const REQUIRED: &str = "Ce champ est obligatoire.";
const NOT_FOR_WEEKLY: &str = "Ce champ ne s'applique pas à un horaire régulier (kind = weekly).";
const NOT_FOR_ONCE: &str = "Ce champ ne s'applique pas à un trajet ponctuel (kind = once).";

/// Records a missing required field.
fn required<T: Copy>(invalid: &mut Invalid, field: &str, value: Option<T>) -> Option<T> {
    if value.is_none() {
        invalid.push(field, REQUIRED);
    }
    value
}

/// Records a field given for the other kind of schedule.
fn absent(invalid: &mut Invalid, field: &str, present: bool, message: &str) {
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
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<crate::time::Weekday>>))]
    pub weekdays: Option<Weekdays>,
    /// Latest arrival, local time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "10:00"))]
    pub arrive_by: Option<LocalTime>,
    /// Earliest departure, local time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "08:00"))]
    pub depart_after: Option<LocalTime>,
    /// Minutes earlier or later that would still do.
    #[serde(default)]
    pub flexibility_minutes: i64,
    /// Earliest time for the way back, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "14:00"))]
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

/// Reads a local wall-clock time of an instant.
pub fn clock_time<T: TimeZone>(instant: &DateTime<T>) -> LocalTime {
    use chrono::Timelike;
    LocalTime::new(instant.hour(), instant.minute()).expect("a real clock time")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Weekday;
    use chrono::{Datelike, Timelike};
    use chrono_tz::Europe::Paris;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn t(h: u32, m: u32) -> LocalTime {
        LocalTime::new(h, m).unwrap()
    }

    fn commute(from: NaiveDate, until: Option<NaiveDate>) -> OfferSchedule {
        OfferSchedule::Weekly(
            WeeklyTrip::new(
                Weekdays::WORKDAYS,
                t(7, 30),
                Some(t(17, 30)),
                from,
                until,
                vec![],
            )
            .unwrap(),
        )
    }

    /// The last Sunday of a month.
    fn last_sunday(year: i32, month: u32) -> NaiveDate {
        let mut d = if month == 12 {
            date(year + 1, 1, 1)
        } else {
            date(year, month + 1, 1)
        }
        .pred_opt()
        .unwrap();
        while d.weekday() != chrono::Weekday::Sun {
            d = d.pred_opt().unwrap();
        }
        d
    }

    #[test]
    fn a_commute_is_at_0730_on_both_sides_of_the_march_change() {
        // 2027-03-28 is the last Sunday of March 2027.
        let schedule = OfferSchedule::Weekly(
            WeeklyTrip::new(
                Weekdays::new(Weekday::ALL).unwrap(),
                t(7, 30),
                None,
                date(2027, 3, 27),
                None,
                vec![],
            )
            .unwrap(),
        );
        let deps = schedule.departures(Paris, date(2027, 3, 27), date(2027, 3, 29));
        let offsets: Vec<i32> = deps
            .iter()
            .map(|d| d.outbound.offset().fix().local_minus_utc() / 3600)
            .collect();
        assert_eq!(offsets, vec![1, 2, 2]);
        assert!(
            deps.iter()
                .all(|d| d.outbound.hour() == 7 && d.outbound.minute() == 30)
        );
        assert_eq!(deps[0].outbound.to_rfc3339(), "2027-03-27T07:30:00+01:00");
        assert_eq!(deps[1].outbound.to_rfc3339(), "2027-03-28T07:30:00+02:00");
    }

    #[test]
    fn times_that_do_not_exist_or_happen_twice_are_resolved() {
        // 02:30 does not exist on 2027-03-28 in Paris: 03:30 summer time.
        let gap = local_instant(Paris, date(2027, 3, 28), t(2, 30));
        assert_eq!(gap.to_rfc3339(), "2027-03-28T03:30:00+02:00");
        // 02:30 happens twice on 2027-10-31: the first one (summer time).
        let fold = local_instant(Paris, date(2027, 10, 31), t(2, 30));
        assert_eq!(fold.to_rfc3339(), "2027-10-31T02:30:00+02:00");
    }

    #[test]
    fn pauses_until_and_weekdays_limit_the_departures() {
        let schedule = OfferSchedule::Weekly(
            WeeklyTrip::new(
                Weekdays::WORKDAYS,
                t(7, 30),
                None,
                date(2026, 12, 1),
                Some(date(2027, 1, 8)),
                vec![DateRange::new(date(2026, 12, 21), date(2027, 1, 3)).unwrap()],
            )
            .unwrap(),
        );
        let deps = schedule.departures(Paris, date(2026, 11, 1), date(2027, 2, 1));
        let dates: Vec<NaiveDate> = deps.iter().map(|d| d.date).collect();
        assert_eq!(dates.first(), Some(&date(2026, 12, 1)));
        assert_eq!(dates.last(), Some(&date(2027, 1, 8)));
        assert!(!dates.contains(&date(2026, 12, 25)));
        assert!(!dates.contains(&date(2027, 1, 2)));
        assert!(dates.contains(&date(2027, 1, 4)));
        // 1 Dec (a Tuesday) to 8 Jan: 29 workdays, minus 10 paused (21 Dec–3 Jan).
        assert_eq!(dates.len(), 29 - 10);
    }

    #[test]
    fn invalid_schedules_cannot_be_built() {
        assert!(
            WeeklyTrip::new(
                Weekdays::WORKDAYS,
                t(7, 30),
                Some(t(7, 0)),
                date(2026, 12, 1),
                None,
                vec![]
            )
            .is_err()
        );
        assert!(
            WeeklyTrip::new(
                Weekdays::WORKDAYS,
                t(7, 30),
                None,
                date(2026, 12, 1),
                Some(date(2026, 11, 1)),
                vec![]
            )
            .is_err()
        );
        let dep = DateTime::parse_from_rfc3339("2026-12-03T07:30:00+01:00").unwrap();
        assert!(OnceTrip::new(dep, Some(dep)).is_err());
        assert!(Timing::new(None, None).is_err());
        assert!(Timing::new(Some(t(8, 0)), Some(t(9, 0))).is_err());
        let wire: Result<NeedSchedule, _> = serde_json::from_str(
            r#"{"kind":"once","date":"2026-12-08","arrive_by":"10:00","flexibility_minutes":999,"return_after":"09:00"}"#,
        );
        let message = wire.unwrap_err().to_string();
        assert!(message.contains("souplesse"), "{message}");
        assert!(message.contains("retour"), "{message}");
    }

    #[test]
    fn wire_form_round_trips() {
        let json = r#"{"kind":"weekly","weekdays":["mon","tue","wed","thu","fri"],"departure_time":"07:30","return_time":"17:30","from":"2026-12-01","until":null,"pauses":[]}"#;
        let schedule: OfferSchedule = serde_json::from_str(json).unwrap();
        assert_eq!(schedule, commute(date(2026, 12, 1), None));
        assert_eq!(serde_json::to_string(&schedule).unwrap(), json);
        assert_eq!(
            schedule.describe(Paris),
            "du lundi au vendredi à 7 h 30, retour à 17 h 30"
        );
        let once: OfferSchedule =
            serde_json::from_str(r#"{"kind":"once","departure":"2026-12-03T07:30:00+01:00"}"#)
                .unwrap();
        assert_eq!(once.describe(Paris), "le 03/12/2026 à 7 h 30");
        let need: NeedSchedule = serde_json::from_str(
            r#"{"kind":"once","date":"2026-12-08","arrive_by":"10:00","flexibility_minutes":30,"return_after":"14:00"}"#,
        )
        .unwrap();
        assert_eq!(
            need.describe(),
            "le 08/12/2026, arrivée avant 10 h (à 30 min près), retour après 14 h"
        );
        assert_eq!(
            once.departures(Paris, date(2026, 12, 3), date(2026, 12, 3))
                .len(),
            1
        );
    }

    proptest! {
        /// Whatever the year, days and time, a weekly trip departs at its
        /// local clock time on every date it runs, with the offset of that
        /// date (UTC+1 in winter, UTC+2 in summer), across both changes.
        #[test]
        fn weekly_departures_keep_local_time_across_dst(
            year in 2025i32..2040,
            bits in 1u8..128,
            hour in 0u32..24,
            minute in 0u32..60,
            with_return in any::<bool>(),
        ) {
            let weekdays = Weekdays::from_bits(bits).unwrap();
            let departure_time = t(hour, minute);
            let return_time = (with_return && hour < 23).then(|| t(23, 30));
            let schedule = OfferSchedule::Weekly(WeeklyTrip::new(
                weekdays, departure_time, return_time, date(year, 1, 1), None, vec![],
            ).unwrap());
            for (month, summer_from, summer_until) in [(3u32, true, false), (10u32, false, true)] {
                let change = last_sunday(year, month);
                let first = change - Duration::days(7);
                let last = change + Duration::days(7);
                let deps = schedule.departures(Paris, first, last);
                let expected = first.iter_days().take_while(|d| *d <= last)
                    .filter(|d| weekdays.contains_date(*d)).count();
                prop_assert_eq!(deps.len(), expected);
                for dep in deps {
                    prop_assert!(weekdays.contains_date(dep.date));
                    prop_assert_eq!(dep.outbound.date_naive(), dep.date);
                    let offset_h = dep.outbound.offset().fix().local_minus_utc() / 3600;
                    let in_gap = dep.date == change && month == 3 && hour == 2;
                    if in_gap {
                        // Skipped hour: read with winter offset, one hour later on the clock.
                        prop_assert_eq!(dep.outbound.hour(), 3);
                        prop_assert_eq!(dep.outbound.minute(), minute);
                        continue;
                    }
                    prop_assert_eq!(dep.outbound.hour(), hour);
                    prop_assert_eq!(dep.outbound.minute(), minute);
                    // Before the change date (or early on it) one offset, after it the other.
                    let after_change = dep.date > change || (dep.date == change && hour >= 3);
                    let summer = if after_change { summer_from } else { summer_until };
                    prop_assert_eq!(offset_h, if summer { 2 } else { 1 });
                    if let Some(ret) = dep.inbound {
                        prop_assert_eq!(clock_time(&ret), t(23, 30));
                        prop_assert!(ret > dep.outbound);
                    }
                }
            }
        }

        /// A date is a departure date exactly when the trip runs on it.
        #[test]
        fn departures_are_exactly_the_running_dates(
            bits in 1u8..128,
            start_offset in 0i64..400,
            length in 0i64..120,
            pause_start in 0i64..120,
            pause_len in 0i64..30,
        ) {
            let from = date(2026, 1, 1) + Duration::days(start_offset);
            let until = from + Duration::days(length);
            let pause = DateRange::new(from + Duration::days(pause_start), from + Duration::days(pause_start + pause_len)).unwrap();
            let trip = WeeklyTrip::new(Weekdays::from_bits(bits).unwrap(), t(8, 0), None, from, Some(until), vec![pause]).unwrap();
            let schedule = OfferSchedule::Weekly(trip.clone());
            let window_first = from - Duration::days(10);
            let window_last = until + Duration::days(10);
            let dates: Vec<NaiveDate> = schedule.departures(Paris, window_first, window_last).into_iter().map(|d| d.date).collect();
            let expected: Vec<NaiveDate> = window_first.iter_days().take_while(|d| *d <= window_last).filter(|d| trip.runs_on(*d)).collect();
            prop_assert_eq!(&dates, &expected);
            for d in dates {
                prop_assert!(d >= from && d <= until && !pause.contains(d));
            }
        }
    }
}
