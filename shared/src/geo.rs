//! Points on the ground and the distances between them.

use serde::{Deserialize, Serialize};

use crate::validation::Invalid;

/// Mean Earth radius used for great-circle distances, in metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A WGS84 point, valid by construction (finite, in range).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GeoPoint {
    lat: f64,
    lon: f64,
}

impl GeoPoint {
    pub fn new(lat: f64, lon: f64) -> Result<Self, Invalid> {
        let mut invalid = Invalid::new();
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            invalid.push(
                "lat",
                "Latitude invalide : elle doit être comprise entre -90 et 90.",
            );
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            invalid.push(
                "lon",
                "Longitude invalide : elle doit être comprise entre -180 et 180.",
            );
        }
        invalid.finish(|| GeoPoint { lat, lon })
    }

    pub fn lat(self) -> f64 {
        self.lat
    }

    pub fn lon(self) -> f64 {
        self.lon
    }

    /// Great-circle (crow-fly) distance in metres.
    pub fn distance_m(self, other: GeoPoint) -> f64 {
        let (lat1, lat2) = (self.lat.to_radians(), other.lat.to_radians());
        let dlat = lat2 - lat1;
        let dlon = (other.lon - self.lon).to_radians();
        let a = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
    }
}

impl<'de> Deserialize<'de> for GeoPoint {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            lat: f64,
            lon: f64,
        }
        let raw = Raw::deserialize(deserializer)?;
        GeoPoint::new(raw.lat, raw.lon).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cahors_to_figeac_is_about_fifty_km_crow_fly() {
        let cahors = GeoPoint::new(44.4475, 1.4419).unwrap();
        let figeac = GeoPoint::new(44.6086, 2.0317).unwrap();
        let d = cahors.distance_m(figeac);
        assert!((49_000.0..52_000.0).contains(&d), "{d}");
        assert_eq!(cahors.distance_m(cahors), 0.0);
    }

    #[test]
    fn rejects_points_off_the_globe() {
        assert!(GeoPoint::new(91.0, 0.0).is_err());
        assert!(GeoPoint::new(0.0, f64::NAN).is_err());
        let err = GeoPoint::new(100.0, 200.0).unwrap_err();
        assert_eq!(err.errors.len(), 2);
    }
}
