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
    pub(super) from: NaiveDate,
    pub(super) until: NaiveDate,
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

pub(super) const DATE_HELP: &str =
    "Date invalide : écrivez-la sous la forme AAAA-MM-JJ, par exemple 2026-12-08.";
pub(super) const DATETIME_HELP: &str =
    "Date et heure invalides : écrivez-les sous la forme 2026-12-03T07:30:00+01:00.";

/// Message shown for a well-written date that does not exist.
pub const DATE_IMPOSSIBLE: &str =
    "Date impossible : ce jour n'existe pas dans le calendrier. Vérifiez le jour et le mois.";

/// Reads a `YYYY-MM-DD` date, with a French message: one for a date
/// written another way, one for a day that does not exist (2026-02-30).
pub fn parse_date(text: &str) -> Result<NaiveDate, &'static str> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|err| {
        let well_written = {
            let b = text.as_bytes();
            b.len() == 10
                && b[4] == b'-'
                && b[7] == b'-'
                && b.iter()
                    .enumerate()
                    .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        };
        if well_written && err.kind() == chrono::format::ParseErrorKind::OutOfRange {
            DATE_IMPOSSIBLE
        } else {
            DATE_HELP
        }
    })
}

pub fn de_date<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    let s = String::deserialize(d)?;
    parse_date(&s).map_err(serde::de::Error::custom)
}

pub fn de_opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) => parse_date(&s).map(Some).map_err(serde::de::Error::custom),
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

/// Reads a local wall-clock time of an instant.
pub fn clock_time<T: TimeZone>(instant: &DateTime<T>) -> LocalTime {
    use chrono::Timelike;
    LocalTime::new(instant.hour(), instant.minute()).expect("a real clock time")
}

mod bounds;
mod input;
mod need;
mod offer;
#[cfg(test)]
mod tests;

pub use bounds::*;
pub use input::*;
pub use need::*;
pub use offer::*;
