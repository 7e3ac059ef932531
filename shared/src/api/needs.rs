//! Needs (a passenger's request) and their matches.

use crate::need::{NeedStatus, Purpose};
use crate::offer::{DetourClass, Seats};
use crate::schedule::{NeedSchedule, NeedScheduleInput};
use crate::validation::Invalid;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::*;

pub(super) fn default_need_seats() -> i64 {
    1
}

pub(super) fn default_purpose() -> Purpose {
    Purpose::Other
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NeedInput {
    pub origin: PlaceInput,
    pub destination: PlaceInput,
    pub schedule: NeedScheduleInput,
    #[serde(default = "default_need_seats")]
    #[cfg_attr(feature = "openapi", schema(example = 1, minimum = 1, maximum = 8))]
    pub seats: i64,
    #[serde(default = "default_purpose")]
    pub purpose: Purpose,
    /// A beneficiary registered by a relay, when the relay posts for them.
    #[serde(default)]
    pub on_behalf_of: Option<String>,
}

/// A checked [`NeedInput`]; its places remain to be resolved.
#[derive(Debug, Clone)]
pub struct NeedDraft {
    pub origin: PlaceQuery,
    pub destination: PlaceQuery,
    pub schedule: NeedSchedule,
    pub seats: Seats,
    pub purpose: Purpose,
    pub on_behalf_of: Option<String>,
}

impl NeedInput {
    pub fn validate(&self) -> Result<NeedDraft, Invalid> {
        let mut invalid = Invalid::new();
        let origin = invalid.check("origin", self.origin.validate());
        let destination = invalid.check("destination", self.destination.validate());
        let schedule = invalid.check("schedule", self.schedule.clone().try_into());
        let seats = check_range(&mut invalid, "seats", Seats::new(self.seats));
        match (origin, destination, schedule, seats) {
            (Some(origin), Some(destination), Some(schedule), Some(seats))
                if invalid.is_empty() =>
            {
                Ok(NeedDraft {
                    origin,
                    destination,
                    schedule,
                    seats,
                    purpose: self.purpose,
                    on_behalf_of: self.on_behalf_of.clone(),
                })
            }
            _ => Err(invalid),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NeedPatch {
    /// New times: replaces the whole schedule.
    pub schedule: Option<NeedScheduleInput>,
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 8))]
    pub seats: Option<i64>,
    pub purpose: Option<Purpose>,
}

/// A checked [`NeedPatch`].
#[derive(Debug, Clone, Default)]
pub struct NeedChange {
    pub schedule: Option<NeedSchedule>,
    pub seats: Option<Seats>,
    pub purpose: Option<Purpose>,
}

impl NeedPatch {
    pub fn validate(&self) -> Result<NeedChange, Invalid> {
        let mut invalid = Invalid::new();
        let seats = self
            .seats
            .and_then(|n| check_range(&mut invalid, "seats", Seats::new(n)));
        let schedule = self
            .schedule
            .clone()
            .and_then(|s| invalid.check("schedule", s.try_into()));
        if self.schedule.is_none() && self.seats.is_none() && self.purpose.is_none() {
            invalid.push("", "Rien à modifier : indiquez schedule, seats ou purpose.");
        }
        invalid.finish(|| NeedChange {
            schedule,
            seats,
            purpose: self.purpose,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Need {
    pub id: String,
    pub origin: TripPlace,
    pub destination: TripPlace,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::schedule::NeedScheduleWire))]
    pub schedule: NeedSchedule,
    pub seats: i64,
    pub purpose: Purpose,
    pub status: NeedStatus,
    pub on_behalf_of: Option<String>,
    /// The beneficiary's name, for the relays and coordinators of their
    /// territory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beneficiary_name: Option<String>,
    /// What became of it, once recorded.
    #[serde(default)]
    pub outcome: Option<crate::relay::RecordedOutcome>,
    /// Where it stands, derived from its bookings ([`NeedProgress::derive`]).
    /// Absent from sync pages (a booking can change without its need):
    /// the app derives it from the bookings it holds, by the same rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<NeedProgress>,
    /// The need in one French sentence.
    pub summary: String,
    pub territory_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A place and the local time the passenger is there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MatchStop {
    pub place: TripPlace,
    /// Local clock time, "HH:MM".
    #[cfg_attr(feature = "openapi", schema(example = "07:42"))]
    pub time: String,
    /// The same instant, RFC 3339.
    pub at: DateTime<chrono::FixedOffset>,
}

impl MatchStop {
    /// "7 h 42".
    pub fn time_spoken(&self) -> String {
        self.time
            .parse::<crate::time::LocalTime>()
            .map(|t| t.spoken())
            .unwrap_or_else(|_| self.time.clone())
    }
}

/// The other party as shown before any booking: first name and initial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicPerson {
    #[cfg_attr(feature = "openapi", schema(example = "Marie D."))]
    pub display_name: String,
}

/// Which leg of the trip a match is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Leg {
    Outbound,
    Return,
}

impl Leg {
    pub fn code(self) -> &'static str {
        match self {
            Leg::Outbound => "outbound",
            Leg::Return => "return",
        }
    }

    pub fn from_code(code: &str) -> Option<Leg> {
        [Leg::Outbound, Leg::Return]
            .into_iter()
            .find(|l| l.code() == code)
    }
}

/// A trip that can take the passenger, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Match {
    pub offer_id: String,
    pub request_id: String,
    /// The first date it works; for weekly needs see `weekdays` and `dates`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: NaiveDate,
    /// The driver's leg: the outbound trip or its return.
    pub leg: Leg,
    /// The passenger's leg: the outbound need or its return.
    pub need_leg: Leg,
    pub pickup: MatchStop,
    pub dropoff: MatchStop,
    /// Minutes the driver adds to their trip.
    pub detour_minutes: f64,
    pub detour_class: DetourClass,
    /// Metres the passenger walks to and from meeting points.
    pub walk_meters: u32,
    pub driver: PublicPerson,
    /// The passenger, when the driver looks at who needs a seat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passenger: Option<PublicPerson>,
    /// For a weekly need against a weekly trip: the weekdays both share.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weekdays: Vec<crate::time::Weekday>,
    /// Upcoming dates it works on (at most a few weeks ahead).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub dates: Vec<NaiveDate>,
    /// Seats still free on `date`.
    pub seats_left: i64,
    /// Lower is better: detour first, then time deviation.
    pub score: f64,
    /// The match in one French sentence.
    pub explanation: String,
}

/// A need as created: the request and its matches, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NeedCreated {
    #[serde(flatten)]
    pub request: Need,
    pub matches: Vec<Match>,
}

/// Where a need stands for the person who travels and whoever acts for
/// her, derived from its status and its bookings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum NeedState {
    /// No driver asked yet, or every one said no.
    Waiting,
    /// A driver was asked and has not answered yet.
    Asked,
    /// A driver said yes: the place is held.
    Confirmed,
    /// The trip took place.
    Done,
    /// Nobody could take the passenger.
    Unserved,
    Cancelled,
}

impl NeedState {
    /// Whether drivers may still be looked for or proposed: not once a
    /// place is confirmed, nor for a closed need.
    pub fn seeks_driver(self) -> bool {
        matches!(self, NeedState::Waiting | NeedState::Asked)
    }
}

/// A need's state and what to say about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NeedProgress {
    pub state: NeedState,
    /// In plain French: « Demande envoyée à Marie D. », « Place confirmée
    /// avec Marie D., mardi 8 décembre à 8 h 24 ».
    pub label: String,
    /// The booking it speaks of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking_id: Option<String>,
    /// Its driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<PublicPerson>,
}

/// One of a need's bookings, as [`NeedProgress::derive`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct BookingGlance<'a> {
    pub id: &'a str,
    pub status: crate::booking::BookingStatus,
    /// The driver's public name.
    pub driver: &'a str,
    /// The (first) date.
    pub date: NaiveDate,
    /// The local clock time of the pick-up, "HH:MM".
    pub time: &'a str,
    pub recurring: bool,
}

impl<'a> From<&'a Booking> for BookingGlance<'a> {
    fn from(b: &'a Booking) -> BookingGlance<'a> {
        BookingGlance {
            id: &b.id,
            status: b.status,
            driver: &b.driver.display_name,
            date: b.date,
            time: &b.pickup.time,
            recurring: b.recurring,
        }
    }
}

impl BookingGlance<'_> {
    /// "mardi 8 décembre à 8 h 24", or for a regular trip "chaque semaine
    /// à partir du mardi 8 décembre, à 8 h 24".
    fn when(&self) -> String {
        let time = self
            .time
            .parse::<crate::time::LocalTime>()
            .map(|t| t.spoken())
            .unwrap_or_else(|_| self.time.to_string());
        let day = crate::time::french_date(self.date);
        if self.recurring {
            format!("chaque semaine à partir du {day}, à {time}")
        } else {
            format!("{day} à {time}")
        }
    }
}

impl NeedProgress {
    /// The one rule: a need's state from its status and its bookings. A
    /// place held wins over a request waiting for its driver; the earliest
    /// date is spoken of.
    pub fn derive<'a>(
        status: crate::need::NeedStatus,
        bookings: impl IntoIterator<Item = BookingGlance<'a>>,
    ) -> NeedProgress {
        use crate::booking::BookingStatus as B;
        use crate::need::NeedStatus as N;
        let mut bookings: Vec<BookingGlance<'a>> = bookings
            .into_iter()
            .filter(|b| b.status != B::Cancelled)
            .collect();
        bookings.sort_by(|a, b| (a.date, a.time).cmp(&(b.date, b.time)));
        let held = bookings.iter().find(|b| b.status.holds_seat());
        let asked: Vec<&BookingGlance> = bookings
            .iter()
            .filter(|b| !b.status.holds_seat() && !b.status.is_final())
            .collect();
        let (state, about) = match status {
            N::Done => (NeedState::Done, held),
            N::Unserved => (NeedState::Unserved, None),
            N::Cancelled => (NeedState::Cancelled, None),
            N::Open | N::Booked => match (held, asked.first()) {
                (Some(b), _) if b.status == B::Confirmed => (NeedState::Confirmed, Some(b)),
                (Some(b), _) => (NeedState::Done, Some(b)),
                (None, Some(b)) => (NeedState::Asked, Some(*b)),
                (None, None) => (NeedState::Waiting, None),
            },
        };
        let label = match (state, about) {
            (NeedState::Waiting, _) => "En attente d'un conducteur".to_string(),
            (NeedState::Asked, _) => {
                let mut drivers: Vec<&str> = Vec::new();
                for b in &asked {
                    if !drivers.contains(&b.driver) {
                        drivers.push(b.driver);
                    }
                }
                format!("Demande envoyée à {}", french_list(&drivers))
            }
            (NeedState::Confirmed, Some(b)) => {
                format!("Place confirmée avec {}, {}", b.driver, b.when())
            }
            (NeedState::Done, Some(b)) => format!("Trajet effectué avec {}", b.driver),
            (NeedState::Confirmed | NeedState::Done, None) => "Trajet effectué".to_string(),
            (NeedState::Unserved, _) => "Aucun conducteur trouvé".to_string(),
            (NeedState::Cancelled, _) => "Demande annulée".to_string(),
        };
        NeedProgress {
            state,
            label,
            booking_id: about.map(|b| b.id.to_string()),
            driver: about.map(|b| PublicPerson {
                display_name: b.driver.to_string(),
            }),
        }
    }
}

/// "Marie D.", "Marie D. et Jean M.", "Marie D., Jean M. et Paul R.".
fn french_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} et {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod progress_tests {
    use super::*;
    use crate::booking::BookingStatus as B;
    use crate::need::NeedStatus as N;

    fn glance(status: B, driver: &'static str, day: u32) -> BookingGlance<'static> {
        BookingGlance {
            id: "b",
            status,
            driver,
            date: NaiveDate::from_ymd_opt(2026, 12, day).unwrap(),
            time: "08:24",
            recurring: false,
        }
    }

    #[test]
    fn a_need_reads_its_bookings() {
        let waiting = NeedProgress::derive(N::Open, []);
        assert_eq!(waiting.state, NeedState::Waiting);
        assert_eq!(waiting.label, "En attente d'un conducteur");
        let asked = NeedProgress::derive(
            N::Open,
            [
                glance(B::WaitingDriverConfirmation, "Marie D.", 8),
                glance(B::Cancelled, "Paul R.", 8),
                glance(B::WaitingDriverConfirmation, "Jean M.", 9),
            ],
        );
        assert_eq!(asked.state, NeedState::Asked);
        assert_eq!(asked.label, "Demande envoyée à Marie D. et Jean M.");
        assert!(asked.state.seeks_driver());
        let confirmed = NeedProgress::derive(
            N::Booked,
            [
                glance(B::WaitingDriverConfirmation, "Jean M.", 8),
                glance(B::Confirmed, "Marie D.", 8),
            ],
        );
        assert_eq!(confirmed.state, NeedState::Confirmed);
        assert_eq!(
            confirmed.label,
            "Place confirmée avec Marie D., mardi 8 décembre à 8 h 24"
        );
        assert!(!confirmed.state.seeks_driver());
        let closed = NeedProgress::derive(N::Cancelled, [glance(B::Cancelled, "Marie D.", 8)]);
        assert_eq!(closed.state, NeedState::Cancelled);
        assert!(!closed.state.seeks_driver());
    }
}
