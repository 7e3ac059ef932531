//! The matching rule, with no I/O: can this trip take this passenger, and
//! at what cost to the driver?
//!
//! For a passenger going P → Q and a driver going A → B (either leg of
//! either: a driver's way back can take a passenger's way out):
//! detour = t(A→P) + t(P→Q) + t(Q→B) − t(A→B). Feasible when the detour is
//! within the driver's tolerance, the passenger is picked up or arrives in
//! their window, and a seat is free that date. A meeting point or a commune
//! centre within walking distance may stand in for P or Q when that cuts the
//! detour. Matches rank by detour, then time deviation, then walk.
//!
//! Evaluation is in two steps so that road times come in one batch (one
//! OSRM `/table` call): [`plan`] lists the drives it needs, [`finish`]
//! judges with their durations.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use lotocar_shared::GeoPoint;
use lotocar_shared::api::{Leg, TripPlace};
use lotocar_shared::schedule::{NeedSchedule, OfferSchedule, local_instant};
use lotocar_shared::time::{LocalTime, Weekday, Weekdays};

/// Tunable rules of matching.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// How far a passenger may walk to a meeting point, in metres.
    pub walk_meters: f64,
    /// Walking speed, metres per second (4 km/h: rural paths, older legs).
    pub walk_speed: f64,
    /// Minutes a passenger accepts to arrive early or be picked up late,
    /// beyond their declared flexibility.
    pub max_wait_minutes: f64,
    /// Days ahead that count for regular trips and needs.
    pub horizon_days: i64,
    /// Crow-fly metres a minute of detour can reach: bounds the corridor in
    /// which candidates are looked for. With the crow-fly router it is
    /// exact (speed / circuity); with road times it is a generous bound.
    pub reach_per_minute: f64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            walk_meters: 1000.0,
            walk_speed: 4.0 / 3.6,
            max_wait_minutes: 60.0,
            horizon_days: 56,
            reach_per_minute: 60_000.0 / 60.0 / 1.4,
        }
    }
}

/// A driver's trip as matching sees it.
#[derive(Debug, Clone)]
pub struct Trip {
    pub id: String,
    pub driver_id: String,
    pub origin: TripPlace,
    pub destination: TripPlace,
    pub schedule: OfferSchedule,
    pub seats: u8,
    pub max_detour_minutes: f64,
    pub tz: Tz,
}

/// A passenger's open need as matching sees it.
#[derive(Debug, Clone)]
pub struct Need {
    pub id: String,
    pub passenger_id: String,
    pub origin: TripPlace,
    pub destination: TripPlace,
    pub schedule: NeedSchedule,
    pub seats: u8,
    pub tz: Tz,
}

/// Where a passenger can board or leave: their own place, or a meeting
/// point within walking distance.
#[derive(Debug, Clone, PartialEq)]
pub struct Stop {
    pub place: TripPlace,
    pub point: GeoPoint,
    pub walk_meters: f64,
}

impl Stop {
    pub fn at(place: &TripPlace) -> Stop {
        Stop {
            place: place.clone(),
            point: place.point(),
            walk_meters: 0.0,
        }
    }
}

/// The boarding and alighting options of one need: index 0 is the
/// passenger's own place.
#[derive(Debug, Clone)]
pub struct NeedStops {
    pub origin: Vec<Stop>,
    pub destination: Vec<Stop>,
}

/// A feasible match, explained.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub trip: usize,
    pub need: usize,
    pub trip_leg: Leg,
    pub need_leg: Leg,
    pub date: NaiveDate,
    /// Upcoming dates both travel (at most 10).
    pub dates: Vec<NaiveDate>,
    /// For a regular need on a regular trip: the weekdays both share.
    pub weekdays: Vec<Weekday>,
    pub pickup: Stop,
    pub pickup_at: DateTime<Tz>,
    pub dropoff: Stop,
    pub dropoff_at: DateTime<Tz>,
    pub detour_minutes: f64,
    /// Minutes between what the passenger asked and what they get.
    pub deviation_minutes: f64,
}

impl Found {
    pub fn walk_meters(&self) -> f64 {
        self.pickup.walk_meters + self.dropoff.walk_meters
    }

    /// Lower is better: detour first, then time deviation, then walk.
    pub fn rank_key(&self) -> (i64, i64, i64) {
        (
            (self.detour_minutes * 10.0).round() as i64,
            self.deviation_minutes.round() as i64,
            self.walk_meters().round() as i64,
        )
    }
}

// ---------------------------------------------------------------------------
// Geometry: the corridor in which a trip can pick someone up
// ---------------------------------------------------------------------------

/// Crow-fly metres a trip's corridor extends beyond its straight line: the
/// detour tolerance at the reach speed, plus what walking to meeting points
/// can gain at each of four distances.
pub fn corridor_slack(trip: &Trip, rules: &Rules) -> f64 {
    trip.max_detour_minutes * rules.reach_per_minute + 4.0 * rules.walk_meters + 1.0
}

/// Whether the passenger's leg (p → q) can fit the driver's leg (a → b) at
/// all: a necessary condition of feasibility, by the triangle inequality.
pub fn within_corridor(a: GeoPoint, b: GeoPoint, p: GeoPoint, q: GeoPoint, slack: f64) -> bool {
    a.distance_m(p) + p.distance_m(q) + q.distance_m(b) - a.distance_m(b) <= slack
}

/// A lat/lon box that contains every point X with
/// d(A, X) + d(X, B) ≤ d(A, B) + slack (an ellipse with foci A and B).
pub fn corridor_box(a: GeoPoint, b: GeoPoint, slack: f64) -> ([f64; 2], [f64; 2]) {
    let focal = a.distance_m(b);
    let semi_major = (focal + slack) / 2.0;
    let semi_minor = (semi_major.powi(2) - (focal / 2.0).powi(2)).max(0.0).sqrt();
    let mid_lat = (a.lat() + b.lat()) / 2.0;
    let mid_lon = (a.lon() + b.lon()) / 2.0;
    let m_per_deg_lat = 111_132.0;
    let m_per_deg_lon = (111_320.0 * mid_lat.to_radians().cos()).max(1.0);
    // Axis angle in a local metric frame.
    let dx = (b.lon() - a.lon()) * m_per_deg_lon;
    let dy = (b.lat() - a.lat()) * m_per_deg_lat;
    let theta = dy.atan2(dx);
    let half_w = (semi_major.powi(2) * theta.cos().powi(2)
        + semi_minor.powi(2) * theta.sin().powi(2))
    .sqrt();
    let half_h = (semi_major.powi(2) * theta.sin().powi(2)
        + semi_minor.powi(2) * theta.cos().powi(2))
    .sqrt();
    // Generous padding for the flat-earth frame.
    let pad = 1.02;
    let half_lon = half_w * pad / m_per_deg_lon + 0.001;
    let half_lat = half_h * pad / m_per_deg_lat + 0.001;
    (
        [mid_lon - half_lon, mid_lat - half_lat],
        [mid_lon + half_lon, mid_lat + half_lat],
    )
}

// ---------------------------------------------------------------------------
// Time: when each leg happens
// ---------------------------------------------------------------------------

/// What the passenger asks of one leg.
#[derive(Debug, Clone, Copy)]
struct Window {
    arrive_by: Option<LocalTime>,
    depart_after: Option<LocalTime>,
    flexibility: f64,
}

fn need_legs(need: &Need) -> Vec<(Leg, Window)> {
    let timing = need.schedule.timing();
    let flexibility = f64::from(need.schedule.flexibility_minutes());
    let mut legs = vec![(
        Leg::Outbound,
        Window {
            arrive_by: timing.arrive_by(),
            depart_after: timing.depart_after(),
            flexibility,
        },
    )];
    if let Some(back) = need.schedule.return_after() {
        legs.push((
            Leg::Return,
            Window {
                arrive_by: None,
                depart_after: Some(back),
                flexibility,
            },
        ));
    }
    legs
}

/// A trip's leg on a date: when it leaves.
fn trip_leg_departure(trip: &Trip, leg: Leg, date: NaiveDate) -> Option<DateTime<Tz>> {
    match (&trip.schedule, leg) {
        (OfferSchedule::Weekly(w), Leg::Outbound) => {
            Some(local_instant(trip.tz, date, w.departure_time()))
        }
        (OfferSchedule::Weekly(w), Leg::Return) => {
            w.return_time().map(|t| local_instant(trip.tz, date, t))
        }
        (OfferSchedule::Once(o), Leg::Outbound) => Some(o.departure().with_timezone(&trip.tz)),
        (OfferSchedule::Once(o), Leg::Return) => {
            o.return_departure().map(|r| r.with_timezone(&trip.tz))
        }
    }
}

/// Dates from `today` within the horizon on which both travel, in order.
fn common_dates(
    trip: &Trip,
    need: &Need,
    leg: Leg,
    today: NaiveDate,
    rules: &Rules,
) -> Vec<NaiveDate> {
    match (&trip.schedule, &need.schedule) {
        (OfferSchedule::Once(_), _) => {
            let Some(departure) = trip_leg_departure(trip, leg, today) else {
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

/// One (trip leg, need leg) on its first date, waiting for road times.
#[derive(Debug, Clone)]
struct Pending {
    trip: usize,
    need: usize,
    trip_leg: Leg,
    need_leg: Leg,
    window: Window,
    departure: DateTime<Tz>,
    dates: Vec<NaiveDate>,
    weekdays: Vec<Weekday>,
    /// Indices into the pair list: base drive, then per option.
    base: usize,
    options: Vec<PendingOption>,
}

#[derive(Debug, Clone, Copy)]
struct PendingOption {
    board: usize,
    alight: usize,
    to_board: usize,
    riding: usize,
    from_alight: usize,
}

/// The drives a batch of evaluations needs, and what to do with them.
pub struct Plan {
    pairs: Vec<(GeoPoint, GeoPoint)>,
    pair_index: HashMap<[u64; 4], usize>,
    pending: Vec<Pending>,
}

impl Plan {
    pub fn new() -> Plan {
        Plan {
            pairs: Vec::new(),
            pair_index: HashMap::new(),
            pending: Vec::new(),
        }
    }

    /// The drives whose durations [`finish`] needs, in order.
    pub fn pairs(&self) -> &[(GeoPoint, GeoPoint)] {
        &self.pairs
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    fn pair(&mut self, a: GeoPoint, b: GeoPoint) -> usize {
        let key = [
            a.lat().to_bits(),
            a.lon().to_bits(),
            b.lat().to_bits(),
            b.lon().to_bits(),
        ];
        let next = self.pairs.len();
        *self.pair_index.entry(key).or_insert_with(|| {
            self.pairs.push((a, b));
            next
        })
    }
}

impl Default for Plan {
    fn default() -> Self {
        Plan::new()
    }
}

/// Adds to `plan` every leg combination of `trips[trip]` and
/// `needs[need]` worth asking road times for: the corridor admits it and
/// both travel on a common date, after `now`.
#[allow(clippy::too_many_arguments)]
pub fn plan(
    plan: &mut Plan,
    trips: &[&Trip],
    trip: usize,
    needs: &[&Need],
    need: usize,
    stops: &[NeedStops],
    now: DateTime<Utc>,
    rules: &Rules,
) {
    let t = trips[trip];
    let n = needs[need];
    let stops = &stops[need];
    if n.seats > t.seats {
        return;
    }
    let (a, b) = (t.origin.point(), t.destination.point());
    let slack = corridor_slack(t, rules);
    let today = now.with_timezone(&t.tz).date_naive();
    for (trip_leg, (from, to)) in [(Leg::Outbound, (a, b)), (Leg::Return, (b, a))] {
        for (need_leg, window) in need_legs(n) {
            let (board_stops, alight_stops) = match need_leg {
                Leg::Outbound => (&stops.origin, &stops.destination),
                Leg::Return => (&stops.destination, &stops.origin),
            };
            let (board, alight) = (board_stops[0].point, alight_stops[0].point);
            if !within_corridor(from, to, board, alight, slack) {
                continue;
            }
            let mut dates = common_dates(t, n, trip_leg, today, rules);
            // A departure already gone does not count.
            dates.retain(|d| {
                trip_leg_departure(t, trip_leg, *d)
                    .is_some_and(|dep| dep.with_timezone(&Utc) >= now)
            });
            let Some(&first) = dates.first() else {
                continue;
            };
            let Some(departure) = trip_leg_departure(t, trip_leg, first) else {
                continue;
            };
            let base = plan.pair(from, to);
            let mut options = Vec::with_capacity(board_stops.len() * alight_stops.len());
            for (bi, bs) in board_stops.iter().enumerate() {
                for (ai, as_) in alight_stops.iter().enumerate() {
                    if bs.point.distance_m(as_.point) < 1.0 {
                        continue;
                    }
                    options.push(PendingOption {
                        board: bi,
                        alight: ai,
                        to_board: plan.pair(from, bs.point),
                        riding: plan.pair(bs.point, as_.point),
                        from_alight: plan.pair(as_.point, to),
                    });
                }
            }
            let weekdays = shared_weekdays(t, n, &dates);
            dates.truncate(10);
            plan.pending.push(Pending {
                trip,
                need,
                trip_leg,
                need_leg,
                window,
                departure,
                dates,
                weekdays,
                base,
                options,
            });
        }
    }
}

fn minutes(seconds: f64) -> Duration {
    Duration::milliseconds((seconds * 1000.0).round() as i64)
}

/// Judges every planned evaluation with the road times of `plan.pairs()`
/// (`durations[i]` seconds for pair i). Keeps, for each (trip leg, need
/// leg), the best feasible boarding and alighting stops.
pub fn finish(
    plan: &Plan,
    durations: &[f64],
    trips: &[&Trip],
    needs: &[&Need],
    stops: &[NeedStops],
    rules: &Rules,
) -> Vec<Found> {
    let mut found = Vec::new();
    for pending in &plan.pending {
        let t = trips[pending.trip];
        let n = needs[pending.need];
        let stops = &stops[pending.need];
        let (board_stops, alight_stops) = match pending.need_leg {
            Leg::Outbound => (&stops.origin, &stops.destination),
            Leg::Return => (&stops.destination, &stops.origin),
        };
        let base = durations[pending.base];
        let mut best: Option<Found> = None;
        for option in &pending.options {
            let (t1, t2, t3) = (
                durations[option.to_board],
                durations[option.riding],
                durations[option.from_alight],
            );
            if !(t1 + t2 + t3).is_finite() {
                continue;
            }
            let detour = ((t1 + t2 + t3 - base) / 60.0).max(0.0);
            if detour > t.max_detour_minutes + 1e-9 {
                continue;
            }
            let board = &board_stops[option.board];
            let alight = &alight_stops[option.alight];
            let pickup_at = pending.departure + minutes(t1);
            let dropoff_at = pickup_at + minutes(t2);
            let Some(deviation) = fits_window(
                &pending.window,
                pending.dates[0],
                n.tz,
                pickup_at,
                dropoff_at,
                board,
                alight,
                rules,
            ) else {
                continue;
            };
            let candidate = Found {
                trip: pending.trip,
                need: pending.need,
                trip_leg: pending.trip_leg,
                need_leg: pending.need_leg,
                date: pending.dates[0],
                dates: pending.dates.clone(),
                weekdays: pending.weekdays.clone(),
                pickup: board.clone(),
                pickup_at,
                dropoff: alight.clone(),
                dropoff_at,
                detour_minutes: detour,
                deviation_minutes: deviation,
            };
            if best
                .as_ref()
                .is_none_or(|b| candidate.rank_key() < b.rank_key())
            {
                best = Some(candidate);
            }
        }
        found.extend(best);
    }
    found.sort_by(|x, y| {
        x.rank_key()
            .cmp(&y.rank_key())
            .then_with(|| trips[x.trip].id.cmp(&trips[y.trip].id))
    });
    found
}

/// The passenger's deviation in minutes if the pick-up and drop-off fit
/// their window, `None` if not. Walking to and from stops counts.
#[allow(clippy::too_many_arguments)]
fn fits_window(
    window: &Window,
    date: NaiveDate,
    tz: Tz,
    pickup_at: DateTime<Tz>,
    dropoff_at: DateTime<Tz>,
    board: &Stop,
    alight: &Stop,
    rules: &Rules,
) -> Option<f64> {
    let flex = window.flexibility;
    let wait = rules.max_wait_minutes;
    let walk_to = board.walk_meters / rules.walk_speed / 60.0;
    let walk_from = alight.walk_meters / rules.walk_speed / 60.0;
    let at = |t: LocalTime| local_instant(tz, date, t).with_timezone(&Utc);
    let minutes_between =
        |a: DateTime<Utc>, b: DateTime<Utc>| (b - a).num_milliseconds() as f64 / 60_000.0;
    // Arrival at the real destination, and departure from the real origin.
    let arrival = dropoff_at.with_timezone(&Utc) + minutes(walk_from * 60.0);
    let leave_home = pickup_at.with_timezone(&Utc) - minutes(walk_to * 60.0);
    match (window.arrive_by, window.depart_after) {
        (Some(by), Some(after)) => {
            let late = minutes_between(at(by), arrival);
            let early_start = minutes_between(leave_home, at(after));
            (late <= flex && early_start <= flex).then_some(late.max(0.0) + early_start.max(0.0))
        }
        (Some(by), None) => {
            let early = minutes_between(arrival, at(by));
            (early >= -flex && early <= wait + flex).then_some(early.abs())
        }
        (None, Some(after)) => {
            let late = minutes_between(at(after), leave_home);
            (late >= -flex && late <= wait + flex).then_some(late.abs())
        }
        (None, None) => None,
    }
}

fn shared_weekdays(trip: &Trip, need: &Need, dates: &[NaiveDate]) -> Vec<Weekday> {
    match (&trip.schedule, &need.schedule) {
        (OfferSchedule::Weekly(w), NeedSchedule::Weekly(n)) => w
            .weekdays()
            .intersection(n.weekdays)
            .map(Weekdays::iter)
            .into_iter()
            .flatten()
            .filter(|d| dates.iter().any(|date| Weekday::of(*date) == *d))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::CrowFly;
    use chrono::TimeZone;
    use chrono_tz::Europe::Paris;
    use lotocar_shared::schedule::{NeedOnce, Timing, WeeklyTrip};

    fn place(lat: f64, lon: f64, label: &str) -> TripPlace {
        TripPlace {
            place_id: None,
            label: label.into(),
            insee: None,
            lat,
            lon,
        }
    }

    fn cahors() -> TripPlace {
        place(44.44683, 1.44062, "Cahors")
    }
    fn figeac() -> TripPlace {
        place(44.60980, 2.03460, "Figeac")
    }
    fn livernon() -> TripPlace {
        place(44.64751, 1.84234, "Livernon")
    }
    fn gourdon() -> TripPlace {
        place(44.73690, 1.38197, "Gourdon")
    }

    fn commute(from: TripPlace, to: TripPlace) -> Trip {
        Trip {
            id: "t".into(),
            driver_id: "d".into(),
            origin: from,
            destination: to,
            schedule: OfferSchedule::Weekly(
                WeeklyTrip::new(
                    Weekdays::WORKDAYS,
                    LocalTime::new(7, 30).unwrap(),
                    Some(LocalTime::new(17, 30).unwrap()),
                    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
                    None,
                    vec![],
                )
                .unwrap(),
            ),
            seats: 3,
            max_detour_minutes: 15.0,
            tz: Paris,
        }
    }

    fn need(from: TripPlace, to: TripPlace, arrive_by: (u32, u32)) -> Need {
        Need {
            id: "n".into(),
            passenger_id: "p".into(),
            origin: from,
            destination: to,
            schedule: NeedSchedule::Once(NeedOnce {
                date: NaiveDate::from_ymd_opt(2026, 12, 8).unwrap(),
                timing: Timing::new(LocalTime::new(arrive_by.0, arrive_by.1), None).unwrap(),
                flexibility_minutes: 0,
                return_after: None,
            }),
            seats: 1,
            tz: Paris,
        }
    }

    fn run(trip: Trip, need: Need) -> Vec<Found> {
        let rules = Rules::default();
        let stops = vec![NeedStops {
            origin: vec![Stop::at(&need.origin)],
            destination: vec![Stop::at(&need.destination)],
        }];
        let (trips, needs) = (vec![&trip], vec![&need]);
        let mut p = Plan::new();
        let now = Paris
            .with_ymd_and_hms(2026, 12, 1, 12, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        plan(&mut p, &trips, 0, &needs, 0, &stops, now, &rules);
        let router = CrowFly::default();
        let durations: Vec<f64> = p
            .pairs()
            .iter()
            .map(|(a, b)| router.seconds(*a, *b))
            .collect();
        finish(&p, &durations, &trips, &needs, &stops, &rules)
    }

    #[test]
    fn livernon_to_figeac_rides_the_cahors_commute() {
        let found = run(
            commute(cahors(), figeac()),
            need(livernon(), figeac(), (9, 30)),
        );
        assert_eq!(found.len(), 1);
        let m = &found[0];
        assert!(m.detour_minutes < 15.0, "{}", m.detour_minutes);
        assert_eq!(m.date, NaiveDate::from_ymd_opt(2026, 12, 8).unwrap());
        assert!(m.pickup_at.format("%H:%M").to_string().as_str() > "08:00");
        assert!(m.dropoff_at < Paris.with_ymd_and_hms(2026, 12, 8, 9, 30, 0).unwrap());
    }

    #[test]
    fn too_early_or_too_far_out_of_the_way_is_no_match() {
        assert!(
            run(
                commute(cahors(), figeac()),
                need(livernon(), figeac(), (7, 0))
            )
            .is_empty()
        );
        assert!(
            run(
                commute(cahors(), figeac()),
                need(gourdon(), figeac(), (9, 30))
            )
            .is_empty()
        );
    }

    #[test]
    fn the_corridor_box_holds_the_corridor() {
        let (a, b) = (cahors().point(), figeac().point());
        let slack = 12_000.0;
        let (min, max) = corridor_box(a, b, slack);
        // Points on the ellipse's edge in many directions lie in the box.
        let centre = GeoPoint::new((a.lat() + b.lat()) / 2.0, (a.lon() + b.lon()) / 2.0).unwrap();
        for step in 0..360 {
            let angle = (step as f64).to_radians();
            let mut r = 0.0;
            loop {
                let p = GeoPoint::new(
                    centre.lat() + r * angle.sin() / 111_132.0,
                    centre.lon() + r * angle.cos() / 80_000.0,
                )
                .unwrap();
                if a.distance_m(p) + p.distance_m(b) > a.distance_m(b) + slack {
                    break;
                }
                assert!(
                    p.lon() >= min[0]
                        && p.lon() <= max[0]
                        && p.lat() >= min[1]
                        && p.lat() <= max[1]
                );
                r += 200.0;
            }
        }
    }
}
