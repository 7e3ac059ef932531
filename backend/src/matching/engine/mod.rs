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

mod plan;
mod shape;
#[cfg(test)]
mod tests;
mod time;

pub use plan::{BATCH, Batch, Durations, Plan, run};
pub use shape::{NeedShape, OfferShape, combinations, person_hash, plan, plan_shapes};
pub use time::Window;
