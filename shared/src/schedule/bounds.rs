//! How far in time a schedule may reach: a one-off trip or need within a
//! year ahead; a regular trip's or need's period and pauses from a year
//! back to three years ahead. A date past these is a typing slip (9999
//! for 2025, 0000 for an empty field), never a plan: refusing it keeps the
//! matching, the reminders and the figures free of absurd dates.
//!
//! `today` is the local date of the territory concerned.

use chrono::{Months, NaiveDate};

use super::need::{NeedOnce, NeedWeekly};
use super::{DateRange, NeedSchedule, OfferSchedule};
use crate::validation::Invalid;

/// A one-off trip or need: at most this many months ahead.
pub const ONE_OFF_MONTHS_AHEAD: u32 = 12;
/// A period or a pause: from this many months back…
pub const PERIOD_MONTHS_BACK: u32 = 12;
/// …to this many months ahead.
pub const PERIOD_MONTHS_AHEAD: u32 = 36;

/// The dates a schedule may use, seen from `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateBounds {
    /// The last date of a one-off trip or need.
    pub latest_one_off: NaiveDate,
    /// The first date of a period or a pause.
    pub earliest_period: NaiveDate,
    /// The last date of a period or a pause.
    pub latest_period: NaiveDate,
}

impl DateBounds {
    pub fn from_today(today: NaiveDate) -> DateBounds {
        DateBounds {
            latest_one_off: today
                .checked_add_months(Months::new(ONE_OFF_MONTHS_AHEAD))
                .unwrap_or(NaiveDate::MAX),
            earliest_period: today
                .checked_sub_months(Months::new(PERIOD_MONTHS_BACK))
                .unwrap_or(NaiveDate::MIN),
            latest_period: today
                .checked_add_months(Months::new(PERIOD_MONTHS_AHEAD))
                .unwrap_or(NaiveDate::MAX),
        }
    }

    /// The same bounds, with `date` accepted as a first date too (a
    /// schedule changed without moving the start it already had).
    pub fn keeping(mut self, date: Option<NaiveDate>) -> DateBounds {
        if let Some(date) = date {
            self.earliest_period = self.earliest_period.min(date);
        }
        self
    }

    fn one_off(&self, invalid: &mut Invalid, field: &str, date: NaiveDate, what: &str) {
        if date > self.latest_one_off {
            invalid.push(
                field,
                format!(
                    "{what} est trop loin : choisissez une date d'ici un an au plus (le {} au plus tard).",
                    french(self.latest_one_off)
                ),
            );
        }
    }

    fn period(&self, invalid: &mut Invalid, field: &str, date: NaiveDate) {
        if date < self.earliest_period {
            invalid.push(
                field,
                format!(
                    "Date trop ancienne : choisissez une date à partir du {}.",
                    french(self.earliest_period)
                ),
            );
        } else if date > self.latest_period {
            invalid.push(
                field,
                format!(
                    "Date trop lointaine : choisissez une date d'ici trois ans au plus (le {} au plus tard).",
                    french(self.latest_period)
                ),
            );
        }
    }

    fn range(&self, invalid: &mut Invalid, field: &str, range: DateRange) {
        self.period(invalid, &format!("{field}.from"), range.from());
        self.period(invalid, &format!("{field}.until"), range.until());
    }

    /// Every date of an offer's schedule that is out of bounds, with its
    /// path inside the schedule (`departure`, `pauses.0.until`).
    pub fn check_offer(&self, schedule: &OfferSchedule) -> Result<(), Invalid> {
        let mut invalid = Invalid::new();
        match schedule {
            OfferSchedule::Once(once) => {
                self.one_off(
                    &mut invalid,
                    "departure",
                    once.departure().date_naive(),
                    "Ce départ",
                );
                if let Some(ret) = once.return_departure() {
                    self.one_off(
                        &mut invalid,
                        "return_departure",
                        ret.date_naive(),
                        "Ce retour",
                    );
                }
            }
            OfferSchedule::Weekly(weekly) => {
                self.period(&mut invalid, "from", weekly.from());
                if let Some(until) = weekly.until() {
                    self.period(&mut invalid, "until", until);
                }
                for (i, pause) in weekly.pauses().iter().enumerate() {
                    self.range(&mut invalid, &format!("pauses.{i}"), *pause);
                }
            }
        }
        invalid.finish(|| ())
    }

    /// Every date of a need's schedule that is out of bounds, with its
    /// path inside the schedule (`date`, `until`).
    pub fn check_need(&self, schedule: &NeedSchedule) -> Result<(), Invalid> {
        let mut invalid = Invalid::new();
        match schedule {
            NeedSchedule::Once(NeedOnce { date, .. }) => {
                self.one_off(&mut invalid, "date", *date, "Cette date");
            }
            NeedSchedule::Weekly(NeedWeekly { from, until, .. }) => {
                if let Some(from) = from {
                    self.period(&mut invalid, "from", *from);
                }
                if let Some(until) = until {
                    self.period(&mut invalid, "until", *until);
                }
            }
        }
        invalid.finish(|| ())
    }
}

/// "8 décembre 2026", "1er décembre 2027".
fn french(date: NaiveDate) -> String {
    use chrono::Datelike;
    format!(
        "{} {}",
        crate::time::french_day(date.day()),
        crate::time::french_month(date.year(), date.month())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::{NeedScheduleWire, OfferScheduleWire};

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn offer(json: &str) -> OfferSchedule {
        let wire: OfferScheduleWire = serde_json::from_str(json).unwrap();
        OfferSchedule::try_from(wire).unwrap()
    }

    fn fields(result: Result<(), Invalid>) -> Vec<String> {
        result
            .err()
            .map(|i| i.errors.into_iter().map(|e| e.field).collect())
            .unwrap_or_default()
    }

    #[test]
    fn one_off_dates_reach_a_year_ahead() {
        let bounds = DateBounds::from_today(day("2026-12-01"));
        assert_eq!(bounds.latest_one_off, day("2027-12-01"));
        let ok = offer(r#"{"kind":"once","departure":"2027-12-01T23:00:00+01:00"}"#);
        assert!(bounds.check_offer(&ok).is_ok());
        let far = offer(
            r#"{"kind":"once","departure":"9999-12-01T07:00:00+01:00","return_departure":"9999-12-01T18:00:00+01:00"}"#,
        );
        assert_eq!(
            fields(bounds.check_offer(&far)),
            vec!["departure", "return_departure"]
        );
        let need: NeedScheduleWire =
            serde_json::from_str(r#"{"kind":"once","date":"2027-12-02","arrive_by":"09:00"}"#)
                .unwrap();
        let need = NeedSchedule::try_from(need).unwrap();
        assert_eq!(fields(bounds.check_need(&need)), vec!["date"]);
    }

    #[test]
    fn periods_and_pauses_reach_a_year_back_and_three_ahead() {
        let bounds = DateBounds::from_today(day("2026-12-01"));
        assert_eq!(bounds.earliest_period, day("2025-12-01"));
        assert_eq!(bounds.latest_period, day("2029-12-01"));
        let ok = offer(
            r#"{"kind":"weekly","weekdays":["mon"],"departure_time":"07:30","from":"2025-12-01","until":"2029-12-01",
                "pauses":[{"from":"2025-12-01","until":"2029-12-01"}]}"#,
        );
        assert!(bounds.check_offer(&ok).is_ok());
        let absurd = offer(
            r#"{"kind":"weekly","weekdays":["mon"],"departure_time":"07:30","from":"0000-01-01","until":"+10000-01-01",
                "pauses":[{"from":"0000-01-01","until":"9999-12-31"}]}"#,
        );
        assert_eq!(
            fields(bounds.check_offer(&absurd)),
            vec!["from", "until", "pauses.0.from", "pauses.0.until"]
        );
        // A start kept as it was is accepted, however old.
        let old = offer(
            r#"{"kind":"weekly","weekdays":["mon"],"departure_time":"07:30","from":"2020-09-01"}"#,
        );
        assert!(bounds.check_offer(&old).is_err());
        assert!(
            bounds
                .keeping(Some(day("2020-09-01")))
                .check_offer(&old)
                .is_ok()
        );
    }

    #[test]
    fn messages_name_the_last_date_in_french() {
        assert_eq!(french(day("2027-12-01")), "1er décembre 2027");
        assert_eq!(french(day("2026-08-15")), "15 août 2026");
    }
}
