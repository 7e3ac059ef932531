use super::need::*;
use super::offer::*;
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
        serde_json::from_str(r#"{"kind":"once","departure":"2026-12-03T07:30:00+01:00"}"#).unwrap();
    assert_eq!(once.describe(Paris), "le jeudi 3 décembre à 7 h 30");
    let need: NeedSchedule = serde_json::from_str(
        r#"{"kind":"once","date":"2026-12-08","arrive_by":"10:00","flexibility_minutes":30,"return_after":"14:00"}"#,
    )
    .unwrap();
    assert_eq!(
        need.describe(),
        "le mardi 8 décembre, arrivée avant 10 h (à 30 min près), retour après 14 h"
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
