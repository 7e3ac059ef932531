//! Request and response bodies of the public HTTP API (`/api/v1`), as in
//! the API contract. Inputs are read leniently and then validated into
//! domain values with every faulty field reported at once.

mod account;
mod bookings;
mod needs;
mod notifications;
mod offers;
mod places;
mod problem;
mod sync;
#[cfg(test)]
mod tests;

pub use account::*;
pub use bookings::*;
pub use needs::*;
pub use notifications::*;
pub use offers::*;
pub use places::*;
pub use problem::*;
pub use sync::*;
