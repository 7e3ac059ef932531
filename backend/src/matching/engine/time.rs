//! When each leg happens: windows, local clock times, bounds on lateness.

use super::*;

// ---------------------------------------------------------------------------
// Time: when each leg happens
// ---------------------------------------------------------------------------

/// What the passenger asks of one leg.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub(super) arrive_by: Option<LocalTime>,
    pub(super) depart_after: Option<LocalTime>,
    pub(super) flexibility: f64,
}

pub(super) fn need_legs(need: &Need) -> [Option<(Leg, Window)>; 2] {
    let timing = need.schedule.timing();
    let flexibility = f64::from(need.schedule.flexibility_minutes());
    let outbound = Window {
        arrive_by: timing.arrive_by(),
        depart_after: timing.depart_after(),
        flexibility,
    };
    let back = need.schedule.return_after().map(|back| Window {
        arrive_by: None,
        depart_after: Some(back),
        flexibility,
    });
    [
        Some((Leg::Outbound, outbound)),
        back.map(|w| (Leg::Return, w)),
    ]
}

/// Local clock times to instants, fast: most days have one UTC offset all
/// day, remembered per (zone, date); days with a daylight-saving change
/// take the full path.
#[derive(Default)]
pub(super) struct Clock {
    pub(super) offsets: HashMap<(Tz, NaiveDate), Option<i64>>,
}

impl Clock {
    /// Epoch milliseconds of `time` on `date` in `tz` (as `local_instant`).
    pub(super) fn at(&mut self, tz: Tz, date: NaiveDate, time: LocalTime) -> i64 {
        let offset = *self.offsets.entry((tz, date)).or_insert_with(|| {
            let noon = |d: NaiveDate| d.and_hms_opt(12, 0, 0).expect("noon").and_utc().naive_utc();
            let before = tz
                .offset_from_utc_datetime(&noon(date - Duration::days(1)))
                .fix();
            let after = tz
                .offset_from_utc_datetime(&noon(date + Duration::days(1)))
                .fix();
            (before == after).then(|| i64::from(before.local_minus_utc()) * 1000)
        });
        match offset {
            Some(offset) => {
                let naive = date.and_time(time.to_naive()).and_utc().timestamp_millis();
                naive - offset
            }
            None => ms(&local_instant(tz, date, time)),
        }
    }

    /// When an offer's leg leaves on a date, in epoch milliseconds.
    pub(super) fn departure(&mut self, offer: &Offer, leg: Leg, date: NaiveDate) -> Option<i64> {
        match (&offer.schedule, leg) {
            (OfferSchedule::Weekly(w), Leg::Outbound) => {
                Some(self.at(offer.tz, date, w.departure_time()))
            }
            (OfferSchedule::Weekly(w), Leg::Return) => {
                w.return_time().map(|t| self.at(offer.tz, date, t))
            }
            (OfferSchedule::Once(o), Leg::Outbound) => Some(o.departure().timestamp_millis()),
            (OfferSchedule::Once(o), Leg::Return) => {
                o.return_departure().map(|r| r.timestamp_millis())
            }
        }
    }
}

/// An offer's leg on a date: when it leaves.
pub(super) fn offer_leg_departure(
    offer: &Offer,
    leg: Leg,
    date: NaiveDate,
) -> Option<DateTime<Tz>> {
    match (&offer.schedule, leg) {
        (OfferSchedule::Weekly(w), Leg::Outbound) => {
            Some(local_instant(offer.tz, date, w.departure_time()))
        }
        (OfferSchedule::Weekly(w), Leg::Return) => {
            w.return_time().map(|t| local_instant(offer.tz, date, t))
        }
        (OfferSchedule::Once(o), Leg::Outbound) => Some(o.departure().with_timezone(&offer.tz)),
        (OfferSchedule::Once(o), Leg::Return) => {
            o.return_departure().map(|r| r.with_timezone(&offer.tz))
        }
    }
}

/// Dates from `today` within the horizon on which both travel, in order.
pub(super) fn common_dates(
    offer: &Offer,
    need: &Need,
    leg: Leg,
    today: NaiveDate,
    rules: &Rules,
) -> Vec<NaiveDate> {
    match (&offer.schedule, &need.schedule) {
        (OfferSchedule::Once(_), _) => {
            let Some(departure) = offer_leg_departure(offer, leg, today) else {
                return Vec::new();
            };
            let date = departure.date_naive();
            if date >= today
                && date <= today + Duration::days(rules.horizon_days)
                && need.schedule.applies_on(date)
            {
                vec![date]
            } else {
                Vec::new()
            }
        }
        (OfferSchedule::Weekly(w), NeedSchedule::Once(n)) => {
            if n.date >= today && w.runs_on(n.date) {
                vec![n.date]
            } else {
                Vec::new()
            }
        }
        (OfferSchedule::Weekly(w), NeedSchedule::Weekly(n)) => {
            if w.weekdays().intersection(n.weekdays).is_none() {
                return Vec::new();
            }
            today
                .iter_days()
                .take(rules.horizon_days as usize + 1)
                .filter(|d| w.runs_on(*d) && need.schedule.applies_on(*d))
                .collect()
        }
    }
}

/// Milliseconds since the epoch.
pub(super) fn ms<T: chrono::TimeZone>(instant: &DateTime<T>) -> i64 {
    instant.timestamp_millis()
}

pub(super) const MINUTE_MS: f64 = 60_000.0;

/// The passenger's window of one leg on one date, in epoch milliseconds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bounds {
    pub(super) arrive_by: Option<i64>,
    pub(super) depart_after: Option<i64>,
    pub(super) flexibility: f64,
    pub(super) wait: f64,
}

impl Bounds {
    pub(super) fn new(
        window: &Window,
        date: NaiveDate,
        tz: Tz,
        rules: &Rules,
        clock: &mut Clock,
    ) -> Bounds {
        Bounds {
            arrive_by: window.arrive_by.map(|t| clock.at(tz, date, t)),
            depart_after: window.depart_after.map(|t| clock.at(tz, date, t)),
            flexibility: window.flexibility * MINUTE_MS,
            wait: rules.max_wait_minutes * MINUTE_MS,
        }
    }

    /// The passenger's deviation in minutes if leaving home at `leave_home`
    /// and arriving at `arrival` (both epoch ms, walks included) fits the
    /// window, `None` if not.
    pub(super) fn deviation(&self, leave_home: f64, arrival: f64) -> Option<f64> {
        let flex = self.flexibility;
        match (self.arrive_by, self.depart_after) {
            (Some(by), Some(after)) => {
                let late = arrival - by as f64;
                let early_start = after as f64 - leave_home;
                (late <= flex && early_start <= flex)
                    .then(|| (late.max(0.0) + early_start.max(0.0)) / MINUTE_MS)
            }
            (Some(by), None) => {
                let early = by as f64 - arrival;
                (early >= -flex && early <= self.wait + flex).then(|| early.abs() / MINUTE_MS)
            }
            (None, Some(after)) => {
                let late = leave_home - after as f64;
                (late >= -flex && late <= self.wait + flex).then(|| late.abs() / MINUTE_MS)
            }
            (None, None) => None,
        }
    }
}
