//! Lotocar's shared domain: the types the backend and the app both speak.
//!
//! Constructors enforce the rules, so a value of these types is valid by
//! construction: a `Weekdays` set is never empty, a `LocalTime` is a real
//! clock time, a `BookingStatus` only moves forward. Nothing here does I/O.

pub mod api;
pub mod booking;
pub mod contact;
pub mod coordination;
pub mod geo;
pub mod need;
pub mod offer;
pub mod people;
pub mod rating;
pub mod relay;
pub mod reporting;
pub mod schedule;
pub mod text;
pub mod time;
pub mod validation;

pub use booking::BookingStatus;
pub use contact::{Contact, EmailAddress, PhoneNumber};
pub use geo::GeoPoint;
pub use schedule::{NeedSchedule, OfferSchedule};
pub use time::{LocalTime, Weekday, Weekdays};
pub use validation::{FieldError, Invalid};
