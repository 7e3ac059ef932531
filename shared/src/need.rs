//! A passenger's need: why they travel and where the request stands.

use serde::{Deserialize, Serialize};

/// Why the passenger travels; funders read the figures by purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Purpose {
    Medical,
    Work,
    Training,
    Shopping,
    Admin,
    Other,
}

impl Purpose {
    pub const ALL: [Purpose; 6] = [
        Purpose::Medical,
        Purpose::Work,
        Purpose::Training,
        Purpose::Shopping,
        Purpose::Admin,
        Purpose::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Purpose::Medical => "medical",
            Purpose::Work => "work",
            Purpose::Training => "training",
            Purpose::Shopping => "shopping",
            Purpose::Admin => "admin",
            Purpose::Other => "other",
        }
    }

    pub fn from_code(code: &str) -> Option<Purpose> {
        Purpose::ALL.into_iter().find(|p| p.code() == code)
    }

    pub fn french(self) -> &'static str {
        match self {
            Purpose::Medical => "rendez-vous médical",
            Purpose::Work => "travail",
            Purpose::Training => "formation",
            Purpose::Shopping => "courses",
            Purpose::Admin => "démarche administrative",
            Purpose::Other => "autre",
        }
    }
}

/// Where a need stands. A cancelled or unserved need is never erased: it
/// stays visible with its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum NeedStatus {
    /// Looking for a driver.
    Open,
    /// A seat is booked.
    Booked,
    /// The trip took place.
    Done,
    /// Nobody could take the passenger.
    Unserved,
    Cancelled,
}

impl NeedStatus {
    pub const ALL: [NeedStatus; 5] = [
        NeedStatus::Open,
        NeedStatus::Booked,
        NeedStatus::Done,
        NeedStatus::Unserved,
        NeedStatus::Cancelled,
    ];

    pub fn code(self) -> &'static str {
        match self {
            NeedStatus::Open => "open",
            NeedStatus::Booked => "booked",
            NeedStatus::Done => "done",
            NeedStatus::Unserved => "unserved",
            NeedStatus::Cancelled => "cancelled",
        }
    }

    pub fn from_code(code: &str) -> Option<NeedStatus> {
        NeedStatus::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Whether the need still waits for a driver or a trip.
    pub fn is_active(self) -> bool {
        matches!(self, NeedStatus::Open | NeedStatus::Booked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for p in Purpose::ALL {
            assert_eq!(Purpose::from_code(p.code()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), p.code());
        }
        for s in NeedStatus::ALL {
            assert_eq!(NeedStatus::from_code(s.code()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.code());
        }
    }
}
