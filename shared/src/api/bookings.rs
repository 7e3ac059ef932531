//! Bookings, their dates and the contact details shown.

use crate::validation::Invalid;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::*;

/// A passenger asks for a seat on a trip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BookingInput {
    pub request_id: String,
    pub offer_id: String,
    /// The date of the trip (for a regular need on a regular trip: the
    /// first date; the booking covers every shared weekday).
    #[serde(deserialize_with = "crate::schedule::de_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: NaiveDate,
    /// Which leg of the need: the way out (default) or the way back.
    #[serde(default = "default_leg")]
    pub need_leg: Leg,
}

pub(super) fn default_leg() -> Leg {
    Leg::Outbound
}

/// A status change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BookingPatch {
    pub status: crate::booking::BookingStatus,
    /// Why (a refusal, a cancellation): shown to the other party.
    #[serde(default)]
    pub reason: Option<String>,
}

impl BookingPatch {
    /// The reason, tidied; at most 300 characters.
    pub fn reason(&self) -> Result<Option<String>, Invalid> {
        let Some(reason) = self
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
        else {
            return Ok(None);
        };
        if reason.chars().count() > 300 {
            return Err(Invalid::field(
                "reason",
                "La raison est trop longue : 300 caractères au plus.",
            ));
        }
        Ok(Some(reason.to_string()))
    }
}

/// One date of a booking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BookingDate {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: NaiveDate,
    /// `active` or `cancelled`.
    pub status: String,
}

/// The other party's contact details, when they may be shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactDetails {
    pub phone: Option<String>,
    pub email: Option<String>,
    /// When these are the details of the relay who acts for the passenger
    /// (she did not agree to show her own): the relay's name, to say
    /// « Joindre par le relais … ».
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub through: Option<String>,
}

/// One showing of my contact details to someone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactReveal {
    pub booking_id: String,
    pub viewer: PublicPerson,
    /// `phone`, `email`.
    pub fields: Vec<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Booking {
    pub id: String,
    pub offer_id: String,
    pub request_id: String,
    pub status: crate::booking::BookingStatus,
    /// The status in plain French.
    pub status_label: String,
    /// The caller's side: `driver` or `passenger`.
    pub role: String,
    /// Every shared weekday of a regular trip, or one date.
    pub recurring: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub date: NaiveDate,
    pub dates: Vec<BookingDate>,
    pub leg: Leg,
    pub need_leg: Leg,
    pub seats: i64,
    pub pickup: MatchStop,
    pub dropoff: MatchStop,
    pub detour_minutes: f64,
    pub driver: PublicPerson,
    /// Who travels: the passenger herself, or the person a relay
    /// registered and booked for (first name and initial).
    pub passenger: PublicPerson,
    /// Who made the booking when it is not the passenger herself: the
    /// relay who acts for her (the office's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booked_by: Option<PublicPerson>,
    /// The registered person it is for, for the relay's side only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
    /// Whether « Le trajet a eu lieu » may be said now: confirmed, and the
    /// day of the trip has come (in its territory).
    #[serde(default)]
    pub can_say_done: bool,
    /// The other party's phone or e-mail: only on a confirmed booking, and
    /// only what they agreed to share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<ContactDetails>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Booking {
    /// Whether the caller drives.
    pub fn is_driver(&self) -> bool {
        self.role == "driver"
    }

    /// Who the caller's card is about, in a sentence: « Vous prenez
    /// Yvette R. », « Marie D. prend Yvette R. » (a relay's booking for a
    /// person), « Marie D. vous prend ».
    pub fn headline(&self) -> String {
        if self.is_driver() {
            format!("Vous prenez {}", self.passenger.display_name)
        } else if self.booked_by.is_some() {
            format!(
                "{} prend {}",
                self.driver.display_name, self.passenger.display_name
            )
        } else {
            format!("{} vous prend", self.driver.display_name)
        }
    }
}
