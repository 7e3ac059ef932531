//! A driver's trip: how many seats, how far out of the way they will go.

use serde::{Deserialize, Serialize};

/// Seats offered on a trip or asked for by a passenger: 1 to 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Seats(u8);

impl Seats {
    pub const MAX: u8 = 8;

    pub fn new(n: i64) -> Result<Seats, String> {
        if (1..=i64::from(Self::MAX)).contains(&n) {
            Ok(Seats(n as u8))
        } else {
            Err(format!(
                "Le nombre de places doit être compris entre 1 et {}.",
                Self::MAX
            ))
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for Seats {
    type Error = String;
    fn try_from(n: i64) -> Result<Self, String> {
        Seats::new(n)
    }
}

impl From<Seats> for i64 {
    fn from(s: Seats) -> i64 {
        s.0.into()
    }
}

/// How many minutes a driver accepts to add to the trip to pick up and drop
/// off a passenger: 0 to 60.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct DetourTolerance(u16);

impl DetourTolerance {
    pub const MAX_MINUTES: u16 = 60;
    /// What a driver who says nothing accepts (Mobicoop's default margin).
    pub const DEFAULT: DetourTolerance = DetourTolerance(15);

    pub fn new(minutes: i64) -> Result<Self, String> {
        if (0..=i64::from(Self::MAX_MINUTES)).contains(&minutes) {
            Ok(DetourTolerance(minutes as u16))
        } else {
            Err(format!(
                "Le détour accepté doit être compris entre 0 et {} minutes.",
                Self::MAX_MINUTES
            ))
        }
    }

    pub fn minutes(self) -> u16 {
        self.0
    }
}

impl TryFrom<i64> for DetourTolerance {
    type Error = String;
    fn try_from(n: i64) -> Result<Self, String> {
        DetourTolerance::new(n)
    }
}

impl From<DetourTolerance> for i64 {
    fn from(d: DetourTolerance) -> i64 {
        d.0.into()
    }
}

/// The detour classes of the Lot'ô car operators: how big an ask it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DetourClass {
    /// 5 minutes or less.
    Mineur,
    /// 15 minutes or less.
    Moyen,
    /// More than 15 minutes.
    Important,
}

impl DetourClass {
    /// Lot'ô car's words: "mineur", "moyen", "important".
    pub fn label(self) -> &'static str {
        match self {
            DetourClass::Mineur => "mineur",
            DetourClass::Moyen => "moyen",
            DetourClass::Important => "important",
        }
    }

    pub fn of(minutes: f64) -> DetourClass {
        if minutes <= 5.0 {
            DetourClass::Mineur
        } else if minutes <= 15.0 {
            DetourClass::Moyen
        } else {
            DetourClass::Important
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seats_and_tolerance_have_bounds() {
        assert!(Seats::new(0).is_err());
        assert!(Seats::new(9).is_err());
        assert_eq!(Seats::new(3).unwrap().get(), 3);
        assert!(DetourTolerance::new(-1).is_err());
        assert!(DetourTolerance::new(61).is_err());
        assert_eq!(DetourClass::of(5.0), DetourClass::Mineur);
        assert_eq!(DetourClass::of(5.5), DetourClass::Moyen);
        assert_eq!(DetourClass::of(16.0), DetourClass::Important);
    }
}
