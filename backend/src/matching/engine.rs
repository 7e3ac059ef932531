//! The matching rule, with no I/O: can this offer take this passenger, and
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

use chrono::{DateTime, Duration, NaiveDate, Offset, TimeZone, Utc};
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
    /// Days ahead that count for regular offers and needs.
    pub horizon_days: i64,
    /// Matches shown for one need (the best ones).
    pub max_matches: usize,
    /// Crow-fly metres a minute of driving can cover at most: bounds the
    /// corridor in which candidates are looked for, and how soon a driver
    /// can be somewhere. With the crow-fly router it is exact (speed /
    /// circuity); with road times it is a generous bound.
    pub reach_per_minute: f64,
    /// Crow-fly metres a minute of driving covers at least: bounds how late
    /// a driver can be somewhere. Exact with the crow-fly router; a very
    /// slow bound with road times.
    pub crawl_per_minute: f64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            walk_meters: 1000.0,
            walk_speed: 4.0 / 3.6,
            max_wait_minutes: 60.0,
            horizon_days: 56,
            max_matches: 50,
            reach_per_minute: 60_000.0 / 60.0 / 1.4,
            crawl_per_minute: 60_000.0 / 60.0 / 1.4,
        }
    }
}

/// A driver's offer as matching sees it.
#[derive(Debug, Clone)]
pub struct Offer {
    /// Cached from `origin` and `destination` (`Ends::of`).
    pub ends: Ends,
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
    /// Cached from `origin` and `destination` (`Ends::of`).
    pub ends: Ends,
    pub id: String,
    pub passenger_id: String,
    pub origin: TripPlace,
    pub destination: TripPlace,
    pub schedule: NeedSchedule,
    pub seats: u8,
    pub tz: Tz,
}

/// The two ends of an offer or need as points in space (metres from the
/// Earth's centre), for fast distances: the chord between two points is
/// their great-circle distance to within a metre at the scale of an offer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ends {
    from: [f64; 3],
    to: [f64; 3],
}

fn space(p: &TripPlace) -> [f64; 3] {
    let (lat, lon) = (p.lat.to_radians(), p.lon.to_radians());
    let r = lotocar_shared::geo::EARTH_RADIUS_M;
    [
        r * lat.cos() * lon.cos(),
        r * lat.cos() * lon.sin(),
        r * lat.sin(),
    ]
}

fn chord(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

impl Ends {
    pub fn of(from: &TripPlace, to: &TripPlace) -> Ends {
        Ends {
            from: space(from),
            to: space(to),
        }
    }
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
    pub offer: usize,
    pub need: usize,
    pub offer_leg: Leg,
    pub need_leg: Leg,
    pub date: NaiveDate,
    /// Upcoming dates both travel (at most 10).
    pub dates: Vec<NaiveDate>,
    /// For a regular need on a regular offer: the weekdays both share.
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
// Geometry: the corridor in which an offer can pick someone up
// ---------------------------------------------------------------------------

/// Crow-fly metres an offer's corridor extends beyond its straight line: the
/// detour tolerance at the reach speed, plus what walking to meeting points
/// can gain at each of four distances.
pub fn corridor_slack(offer: &Offer, rules: &Rules) -> f64 {
    offer.max_detour_minutes * rules.reach_per_minute + 4.0 * rules.walk_meters + 1.0
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
pub struct Window {
    arrive_by: Option<LocalTime>,
    depart_after: Option<LocalTime>,
    flexibility: f64,
}

fn need_legs(need: &Need) -> [Option<(Leg, Window)>; 2] {
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
struct Clock {
    offsets: HashMap<(Tz, NaiveDate), Option<i64>>,
}

impl Clock {
    /// Epoch milliseconds of `time` on `date` in `tz` (as `local_instant`).
    fn at(&mut self, tz: Tz, date: NaiveDate, time: LocalTime) -> i64 {
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
    fn departure(&mut self, offer: &Offer, leg: Leg, date: NaiveDate) -> Option<i64> {
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
fn offer_leg_departure(offer: &Offer, leg: Leg, date: NaiveDate) -> Option<DateTime<Tz>> {
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
fn common_dates(
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
fn ms<T: chrono::TimeZone>(instant: &DateTime<T>) -> i64 {
    instant.timestamp_millis()
}

const MINUTE_MS: f64 = 60_000.0;

/// The passenger's window of one leg on one date, in epoch milliseconds.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    arrive_by: Option<i64>,
    depart_after: Option<i64>,
    flexibility: f64,
    wait: f64,
}

impl Bounds {
    fn new(window: &Window, date: NaiveDate, tz: Tz, rules: &Rules, clock: &mut Clock) -> Bounds {
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
    fn deviation(&self, leave_home: f64, arrival: f64) -> Option<f64> {
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

/// One (offer leg, need leg) worth evaluating, before dates are looked at.
#[derive(Debug, Clone)]
struct Pending {
    offer: usize,
    need: usize,
    offer_leg: Leg,
    need_leg: Leg,
    window: Window,
    /// No detour can be smaller, in minutes (from crow-fly distances).
    bound: f64,
}

/// A pending evaluation on its first common date.
#[derive(Debug, Clone)]
struct Dated {
    bounds: Bounds,
    /// Epoch milliseconds.
    departure: i64,
    dates: Vec<NaiveDate>,
    weekdays: Vec<Weekday>,
}

/// The evaluations to make, in order of their detour bound, and the best
/// matches found so far.
pub struct Plan {
    pending: Vec<Pending>,
    clock: Clock,
    /// `pending[cursor..ordered]` is sorted by bound, and holds the
    /// smallest bounds not yet taken.
    ordered: usize,
    cursor: usize,
    found: Vec<Found>,
    /// Keep this many matches (the best); `None`: all.
    limit: Option<usize>,
    /// Skip evaluations whose bound cannot beat the matches kept.
    prune: bool,
}

/// The best stops found so far for one evaluation.
#[derive(Clone, Copy)]
struct Best {
    key: (i64, i64, i64),
    board: usize,
    alight: usize,
    detour: f64,
    deviation: f64,
}

/// A slice of the plan sent to the router at once.
pub struct Batch {
    pairs: Vec<(GeoPoint, GeoPoint)>,
    items: Vec<BatchItem>,
}

struct BatchItem {
    pending: usize,
    dated: Dated,
    /// Pair indices: the driver's leg, to each boarding stop, from each
    /// alighting stop, and every boarding → alighting stop.
    base: usize,
    to_board: usize,
    from_alight: usize,
    riding: usize,
}

impl Batch {
    /// The drives whose durations [`Plan::judge`] needs, in order.
    pub fn pairs(&self) -> &[(GeoPoint, GeoPoint)] {
        &self.pairs
    }

    fn pair(&mut self, a: GeoPoint, b: GeoPoint) -> usize {
        self.pairs.push((a, b));
        self.pairs.len() - 1
    }
}

impl Plan {
    /// Every match, best first.
    pub fn all() -> Plan {
        Plan::keeping(None, false)
    }

    /// The `limit` best matches; with `prune`, evaluations that cannot
    /// make it are skipped (without, every one is evaluated: the
    /// exhaustive baseline).
    pub fn keeping(limit: Option<usize>, prune: bool) -> Plan {
        Plan {
            pending: Vec::new(),
            clock: Clock::default(),
            ordered: 0,
            cursor: 0,
            found: Vec::new(),
            limit,
            prune,
        }
    }

    /// The detour key a new match must beat, once `limit` are kept.
    fn threshold(&self) -> Option<i64> {
        let limit = self.limit?;
        (self.found.len() >= limit).then(|| self.found[limit - 1].rank_key().0)
    }

    /// The next evaluations (at most `size`) and the drives they need;
    /// `None` when nothing is left that could be kept.
    pub fn next_batch(
        &mut self,
        size: usize,
        offers: &[&Offer],
        needs: &[&Need],
        stops: &[NeedStops],
        now: DateTime<Utc>,
        rules: &Rules,
    ) -> Option<Batch> {
        let threshold = if self.prune { self.threshold() } else { None };
        let mut batch = Batch {
            pairs: Vec::new(),
            items: Vec::new(),
        };
        let mut riding_of: HashMap<(usize, Leg), usize> = HashMap::new();
        while self.cursor < self.pending.len() && batch.items.len() < size {
            self.order_next();
            let p = &self.pending[self.cursor];
            if threshold.is_some_and(|t| (p.bound * 10.0).round() as i64 > t) {
                // Sorted by bound: nothing after this can be kept either.
                self.cursor = self.pending.len();
                break;
            }
            let (t, n) = (offers[p.offer], needs[p.need]);
            self.cursor += 1;
            let Some(dated) = dated(t, n, p.offer_leg, &p.window, now, rules, &mut self.clock)
            else {
                continue;
            };
            let (from, to) = match p.offer_leg {
                Leg::Outbound => (t.origin.point(), t.destination.point()),
                Leg::Return => (t.destination.point(), t.origin.point()),
            };
            let (board, alight) = leg_ends(&stops[p.need], p.need_leg);
            let riding = *riding_of.entry((p.need, p.need_leg)).or_insert_with(|| {
                let start = batch.pairs.len();
                for b in board {
                    for a in alight {
                        batch.pairs.push((b.point, a.point));
                    }
                }
                start
            });
            let base = batch.pair(from, to);
            let to_board = batch.pairs.len();
            for stop in board {
                batch.pair(from, stop.point);
            }
            let from_alight = batch.pairs.len();
            for stop in alight {
                batch.pair(stop.point, to);
            }
            batch.items.push(BatchItem {
                pending: self.cursor - 1,
                dated,
                base,
                to_board,
                from_alight,
                riding,
            });
        }
        (!batch.items.is_empty()).then_some(batch)
    }

    /// Judges a batch with its road times (`durations[i]` seconds for
    /// `batch.pairs()[i]`), keeping for each (offer leg, need leg) the best
    /// feasible boarding and alighting stops.
    pub fn judge(
        &mut self,
        batch: &Batch,
        durations: &[f64],
        offers: &[&Offer],
        needs: &[&Need],
        stops: &[NeedStops],
        rules: &Rules,
    ) {
        for item in &batch.items {
            let pending = &self.pending[item.pending];
            let dated = &item.dated;
            let t = offers[pending.offer];
            let (board_stops, alight_stops) = leg_ends(&stops[pending.need], pending.need_leg);
            let base = durations[item.base];
            let departure = dated.departure as f64;
            let mut best: Option<Best> = None;
            for (i, board) in board_stops.iter().enumerate() {
                let t1 = durations[item.to_board + i];
                let walk_to = board.walk_meters / rules.walk_speed * 1000.0;
                for (j, alight) in alight_stops.iter().enumerate() {
                    let t2 = durations[item.riding + i * alight_stops.len() + j];
                    let t3 = durations[item.from_alight + j];
                    if !(t1 + t2 + t3).is_finite() || board.point.distance_m(alight.point) < 1.0 {
                        continue;
                    }
                    let detour = ((t1 + t2 + t3 - base) / 60.0).max(0.0);
                    if detour > t.max_detour_minutes + 1e-9 {
                        continue;
                    }
                    let walk_from = alight.walk_meters / rules.walk_speed * 1000.0;
                    let pickup = departure + t1 * 1000.0;
                    let arrival = pickup + t2 * 1000.0 + walk_from;
                    let Some(deviation) = dated.bounds.deviation(pickup - walk_to, arrival) else {
                        continue;
                    };
                    let walk = board.walk_meters + alight.walk_meters;
                    let key = (
                        (detour * 10.0).round() as i64,
                        deviation.round() as i64,
                        walk.round() as i64,
                    );
                    if best.is_none_or(|b| key < b.key) {
                        best = Some(Best {
                            key,
                            board: i,
                            alight: j,
                            detour,
                            deviation,
                        });
                    }
                }
            }
            if let Some(Best {
                board: i,
                alight: j,
                detour,
                deviation,
                ..
            }) = best
            {
                let pickup_at =
                    t.tz.timestamp_millis_opt(dated.departure)
                        .single()
                        .expect("an instant")
                        + minutes(durations[item.to_board + i]);
                let dropoff_at =
                    pickup_at + minutes(durations[item.riding + i * alight_stops.len() + j]);
                self.found.push(Found {
                    offer: pending.offer,
                    need: pending.need,
                    offer_leg: pending.offer_leg,
                    need_leg: pending.need_leg,
                    date: dated.dates[0],
                    dates: dated.dates.clone(),
                    weekdays: dated.weekdays.clone(),
                    pickup: board_stops[i].clone(),
                    pickup_at,
                    dropoff: alight_stops[j].clone(),
                    dropoff_at,
                    detour_minutes: detour,
                    deviation_minutes: deviation,
                });
            }
        }
        self.found.sort_by(|x, y| {
            x.rank_key()
                .cmp(&y.rank_key())
                .then_with(|| offers[x.offer].id.cmp(&offers[y.offer].id))
                .then_with(|| needs[x.need].id.cmp(&needs[y.need].id))
                .then_with(|| {
                    (x.offer_leg as u8, x.need_leg as u8)
                        .cmp(&(y.offer_leg as u8, y.need_leg as u8))
                })
        });
        if let Some(limit) = self.limit {
            self.found.truncate(limit);
        }
    }

    /// Makes `pending[cursor]` the smallest bound left: a few at a time
    /// (selection, then sorting a small chunk), since pruning usually stops
    /// long before the end.
    fn order_next(&mut self) {
        if self.cursor < self.ordered {
            return;
        }
        let by_bound = |a: &Pending, b: &Pending| a.bound.total_cmp(&b.bound);
        let rest = &mut self.pending[self.cursor..];
        let chunk = 256.min(rest.len());
        if rest.len() > chunk {
            rest.select_nth_unstable_by(chunk - 1, by_bound);
        }
        rest[..chunk].sort_by(by_bound);
        self.ordered = self.cursor + chunk;
    }

    /// How many evaluations are planned.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Forgets the evaluations planned after the first `len`.
    pub fn truncate(&mut self, len: usize) {
        self.pending.truncate(len);
    }

    /// The matches kept, best first.
    pub fn into_found(self) -> Vec<Found> {
        self.found
    }
}

fn leg_ends(stops: &NeedStops, leg: Leg) -> (&[Stop], &[Stop]) {
    match leg {
        Leg::Outbound => (&stops.origin, &stops.destination),
        Leg::Return => (&stops.destination, &stops.origin),
    }
}

/// What matching needs to know of an offer to rule it out quickly: a few
/// numbers, kept side by side in the index.
#[derive(Debug, Clone, Copy)]
pub struct OfferShape {
    ends: Ends,
    slack: f64,
    seats: u8,
    /// Local clock minutes of the outbound and return departures, for a
    /// regular offer.
    departs: [Option<f64>; 2],
    has_return: bool,
    /// Tells quickly that an offer is not the passenger's own.
    pub driver_hash: u64,
}

/// A quick fingerprint of a person's id.
pub fn person_hash(id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut hasher);
    hasher.finish()
}

impl OfferShape {
    pub fn of(offer: &Offer, rules: &Rules) -> OfferShape {
        OfferShape {
            ends: offer.ends,
            slack: corridor_slack(offer, rules),
            seats: offer.seats,
            departs: [
                weekly_departure(offer, Leg::Outbound),
                weekly_departure(offer, Leg::Return),
            ],
            has_return: has_return(offer),
            driver_hash: person_hash(&offer.driver_id),
        }
    }
}

/// The same for a need, with how far walking to a stop can move its ends.
#[derive(Debug, Clone, Copy)]
pub struct NeedShape {
    ends: Ends,
    seats: u8,
    legs: [Option<(Leg, Window)>; 2],
    walk_origin: f64,
    walk_destination: f64,
    pub passenger_hash: u64,
}

impl NeedShape {
    pub fn of(need: &Need, stops: &NeedStops) -> NeedShape {
        let farthest = |stops: &[Stop]| stops.iter().map(|s| s.walk_meters).fold(0.0, f64::max);
        NeedShape {
            ends: need.ends,
            seats: need.seats,
            legs: need_legs(need),
            walk_origin: farthest(&stops.origin),
            walk_destination: farthest(&stops.destination),
            passenger_hash: person_hash(&need.passenger_id),
        }
    }
}

/// Every (offer leg, need leg) combination that the corridor admits and
/// whose timing is not ruled out, with its passenger window and detour
/// bound (minutes).
pub fn combinations(
    offer: &OfferShape,
    need: &NeedShape,
    rules: &Rules,
    mut each: impl FnMut(Leg, Leg, Window, f64),
) {
    if need.seats > offer.seats {
        return;
    }
    let (a, b, p, q) = (offer.ends.from, offer.ends.to, need.ends.from, need.ends.to);
    // The six distances every combination is made of (chords fall short of
    // arcs by under a metre at this scale: 5 m spare below).
    let (ab, pq) = (chord(a, b), chord(p, q));
    let (ap, aq, pb, qb) = (chord(a, p), chord(a, q), chord(p, b), chord(q, b));
    for (offer_leg, departs) in [
        (Leg::Outbound, offer.departs[0]),
        (Leg::Return, offer.departs[1]),
    ] {
        if offer_leg == Leg::Return && !offer.has_return {
            continue;
        }
        for (need_leg, window) in need.legs.into_iter().flatten() {
            // (driver start → boarding, alighting → driver end)
            let (to_board, from_alight) = match (offer_leg, need_leg) {
                (Leg::Outbound, Leg::Outbound) => (ap, qb),
                (Leg::Outbound, Leg::Return) => (aq, pb),
                (Leg::Return, Leg::Outbound) => (pb, aq),
                (Leg::Return, Leg::Return) => (qb, ap),
            };
            let (walk_board, walk_alight) = match need_leg {
                Leg::Outbound => (need.walk_origin, need.walk_destination),
                Leg::Return => (need.walk_destination, need.walk_origin),
            };
            let excess = to_board + pq + from_alight - ab - 5.0;
            if excess > offer.slack {
                continue;
            }
            if let Some(t0) = departs
                && !could_be_on_time(
                    t0,
                    &window,
                    [to_board, pq],
                    [walk_board, walk_alight],
                    rules,
                )
            {
                continue;
            }
            let bound =
                ((excess - 2.0 * (walk_board + walk_alight)) / rules.reach_per_minute).max(0.0);
            each(offer_leg, need_leg, window, bound);
        }
    }
}

/// Adds to `plan` every leg combination of `offers[offer]` and
/// `needs[need]` that the corridor admits and whose departure is not ruled
/// out for the passenger. Cheap: dates come later, for the combinations
/// actually evaluated.
#[allow(clippy::too_many_arguments)]
pub fn plan(
    plan: &mut Plan,
    offers: &[&Offer],
    offer: usize,
    needs: &[&Need],
    need: usize,
    stops: &[NeedStops],
    rules: &Rules,
) {
    plan_shapes(
        plan,
        &OfferShape::of(offers[offer], rules),
        offer,
        &NeedShape::of(needs[need], &stops[need]),
        need,
        rules,
    );
}

/// [`plan`] with the shapes already at hand.
pub fn plan_shapes(
    plan: &mut Plan,
    offer_shape: &OfferShape,
    offer: usize,
    need_shape: &NeedShape,
    need: usize,
    rules: &Rules,
) {
    combinations(
        offer_shape,
        need_shape,
        rules,
        |offer_leg, need_leg, window, bound| {
            plan.ordered = plan.cursor;
            plan.pending.push(Pending {
                offer,
                need,
                offer_leg,
                need_leg,
                window,
                bound,
            });
        },
    );
}

/// Whether a regular offer's leg leaving at `t0` (local clock minutes) can
/// meet the passenger's window at all, given the crow-fly distances from
/// its start to the boarding place and on to the alighting place. Travel
/// times are bounded by the fastest and slowest crow-fly speeds of the
/// rules; walking to stops can shift each distance by the walking limit.
/// Only used between 04:00 and 23:00, where no daylight-saving change can
/// fall between two clock times of the same day (changes are at night in
/// the territories served); otherwise the exact check decides.
fn could_be_on_time(
    t0: f64,
    window: &Window,
    [to_board, riding]: [f64; 2],
    [walk_board, walk_alight]: [f64; 2],
    rules: &Rules,
) -> bool {
    let day = 4.0 * 60.0..=23.0 * 60.0;
    let times = [window.arrive_by, window.depart_after];
    if !day.contains(&t0)
        || times
            .iter()
            .flatten()
            .any(|t| !day.contains(&f64::from(t.minutes())))
    {
        return true;
    }
    let walking = |m: f64| m / rules.walk_speed / 60.0;
    let both = walk_board + walk_alight;
    // One minute spare for rounding.
    let pickup_lb = t0 + (to_board - walk_board).max(0.0) / rules.reach_per_minute - 1.0;
    let pickup_ub = t0 + (to_board + walk_board) / rules.crawl_per_minute + 1.0;
    let arrival_lb = pickup_lb + (riding - both).max(0.0) / rules.reach_per_minute;
    let arrival_ub = pickup_ub + (riding + both) / rules.crawl_per_minute + walking(walk_alight);
    let (leave_lb, leave_ub) = (pickup_lb - walking(walk_board), pickup_ub);
    let (flex, wait) = (window.flexibility, rules.max_wait_minutes);
    let minutes = |t: LocalTime| f64::from(t.minutes());
    match (window.arrive_by, window.depart_after) {
        (Some(by), Some(after)) => {
            arrival_lb <= minutes(by) + flex && leave_ub >= minutes(after) - flex
        }
        (Some(by), None) => {
            arrival_lb <= minutes(by) + flex && arrival_ub >= minutes(by) - wait - flex
        }
        (None, Some(after)) => {
            leave_lb <= minutes(after) + wait + flex && leave_ub >= minutes(after) - flex
        }
        (None, None) => false,
    }
}

/// The local clock minutes a regular offer's leg leaves at.
fn weekly_departure(offer: &Offer, leg: Leg) -> Option<f64> {
    match (&offer.schedule, leg) {
        (OfferSchedule::Weekly(w), Leg::Outbound) => Some(f64::from(w.departure_time().minutes())),
        (OfferSchedule::Weekly(w), Leg::Return) => w.return_time().map(|t| f64::from(t.minutes())),
        (OfferSchedule::Once(_), _) => None,
    }
}

fn has_return(offer: &Offer) -> bool {
    match &offer.schedule {
        OfferSchedule::Weekly(w) => w.return_time().is_some(),
        OfferSchedule::Once(o) => o.return_departure().is_some(),
    }
}

/// The first common date of an offer leg and a need, with its departure and
/// the passenger's window, if there is one after `now`.
fn dated(
    t: &Offer,
    n: &Need,
    offer_leg: Leg,
    window: &Window,
    now: DateTime<Utc>,
    rules: &Rules,
    clock: &mut Clock,
) -> Option<Dated> {
    let today = now.with_timezone(&t.tz).date_naive();
    let mut dates = common_dates(t, n, offer_leg, today, rules);
    // A departure already gone does not count (only today's can be).
    let now = now.timestamp_millis();
    while let Some(first) = dates.first() {
        match clock.departure(t, offer_leg, *first) {
            Some(departure) if departure >= now => break,
            _ => {
                dates.remove(0);
            }
        }
    }
    let first = *dates.first()?;
    let departure = clock.departure(t, offer_leg, first)?;
    let weekdays = shared_weekdays(t, n, &dates);
    dates.truncate(10);
    Some(Dated {
        bounds: Bounds::new(window, first, n.tz, rules, clock),
        departure,
        dates,
        weekdays,
    })
}

fn minutes(seconds: f64) -> Duration {
    Duration::milliseconds((seconds * 1000.0).round() as i64)
}

/// Runs a plan to the end with road times from `durations_of` (one call
/// per batch).
pub fn run(
    mut plan: Plan,
    offers: &[&Offer],
    needs: &[&Need],
    stops: &[NeedStops],
    now: DateTime<Utc>,
    rules: &Rules,
    durations_of: &mut Durations,
) -> Vec<Found> {
    while let Some(batch) = plan.next_batch(BATCH, offers, needs, stops, now, rules) {
        let durations = durations_of(batch.pairs());
        plan.judge(&batch, &durations, offers, needs, stops, rules);
    }
    plan.into_found()
}

/// Road times in seconds for a batch of (from, to) drives, in order.
pub type Durations<'a> = dyn FnMut(&[(GeoPoint, GeoPoint)]) -> Vec<f64> + 'a;

/// Evaluations sent to the router at once.
pub const BATCH: usize = 64;

/// For a regular need on a regular offer, the weekdays both travel on
/// within the horizon (pauses and periods taken into account).
fn shared_weekdays(offer: &Offer, need: &Need, dates: &[NaiveDate]) -> Vec<Weekday> {
    match (&offer.schedule, &need.schedule) {
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

    fn commute(from: TripPlace, to: TripPlace) -> Offer {
        Offer {
            ends: Ends::of(&from, &to),
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
            ends: Ends::of(&from, &to),
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

    fn run(offer: Offer, need: Need) -> Vec<Found> {
        let rules = Rules::default();
        let stops = vec![NeedStops {
            origin: vec![Stop::at(&need.origin)],
            destination: vec![Stop::at(&need.destination)],
        }];
        let (offers, needs) = (vec![&offer], vec![&need]);
        let mut p = Plan::all();
        let now = Paris
            .with_ymd_and_hms(2026, 12, 1, 12, 0, 0)
            .unwrap()
            .with_timezone(&Utc);
        plan(&mut p, &offers, 0, &needs, 0, &stops, &rules);
        let router = CrowFly::default();
        super::run(p, &offers, &needs, &stops, now, &rules, &mut |pairs| {
            pairs.iter().map(|(a, b)| router.seconds(*a, *b)).collect()
        })
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
