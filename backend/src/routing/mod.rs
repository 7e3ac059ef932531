//! Road times. A [`Router`] answers how long a drive takes between points:
//! by default crow-fly distance × circuity at a rural average speed (the
//! rule of the Lot'ô car operators: × 1.4 at 60 km/h); with `OSRM_URL`, an
//! OSRM server's road network.

pub mod osrm;

use std::future::Future;
use std::pin::Pin;

use lotocar_shared::GeoPoint;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A drive between two points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drive {
    pub seconds: f64,
    pub meters: f64,
}

pub trait Router: Send + Sync {
    /// Driving time in seconds for each (from, to) pair, in order. One call
    /// answers a whole batch (one OSRM `/table` request).
    fn durations<'a>(
        &'a self,
        pairs: &'a [(GeoPoint, GeoPoint)],
    ) -> BoxFuture<'a, anyhow::Result<Vec<f64>>>;

    /// The drive from one point to another (OSRM `/route`).
    fn route(&self, from: GeoPoint, to: GeoPoint) -> BoxFuture<'_, anyhow::Result<Drive>>;

    /// For logs and `/readyz`.
    fn name(&self) -> &'static str;

    /// The crow-fly model, when that is what this router is: its times
    /// need no I/O and can be computed in place.
    fn as_crow_fly(&self) -> Option<CrowFly> {
        None
    }
}

/// Crow-fly distance × circuity at an average speed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CrowFly {
    pub circuity: f64,
    pub speed_kmh: f64,
}

impl Default for CrowFly {
    fn default() -> Self {
        CrowFly {
            circuity: 1.4,
            speed_kmh: 60.0,
        }
    }
}

impl CrowFly {
    /// Road metres for a crow-fly distance.
    pub fn road_meters(&self, crow_meters: f64) -> f64 {
        crow_meters * self.circuity
    }

    /// Seconds for a crow-fly distance.
    pub fn seconds_for(&self, crow_meters: f64) -> f64 {
        self.road_meters(crow_meters) / (self.speed_kmh / 3.6)
    }

    pub fn seconds(&self, from: GeoPoint, to: GeoPoint) -> f64 {
        self.seconds_for(from.distance_m(to))
    }

    /// Crow-fly metres that take `minutes` of driving: how far off the
    /// straight line a detour of that length can reach.
    pub fn crow_meters_in(&self, minutes: f64) -> f64 {
        minutes * 60.0 * (self.speed_kmh / 3.6) / self.circuity
    }
}

impl Router for CrowFly {
    fn durations<'a>(
        &'a self,
        pairs: &'a [(GeoPoint, GeoPoint)],
    ) -> BoxFuture<'a, anyhow::Result<Vec<f64>>> {
        let seconds = pairs.iter().map(|(a, b)| self.seconds(*a, *b)).collect();
        Box::pin(async move { Ok(seconds) })
    }

    fn route(&self, from: GeoPoint, to: GeoPoint) -> BoxFuture<'_, anyhow::Result<Drive>> {
        let drive = Drive {
            seconds: self.seconds(from, to),
            meters: self.road_meters(from.distance_m(to)),
        };
        Box::pin(async move { Ok(drive) })
    }

    fn name(&self) -> &'static str {
        "crow-fly"
    }

    fn as_crow_fly(&self) -> Option<CrowFly> {
        Some(*self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forty_two_crow_fly_km_take_about_an_hour() {
        let router = CrowFly::default();
        // 42.86 km × 1.4 = 60 km at 60 km/h = 3600 s.
        assert!((router.seconds_for(42_857.0) - 3600.0).abs() < 1.0);
        assert!((router.crow_meters_in(15.0) - 10_714.0).abs() < 1.0);
    }
}
