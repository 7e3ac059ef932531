//! What drivers and passengers do with their offers and needs: post one,
//! see who it matches, change it, withdraw it. These operations span
//! several owners: an offer posted is recorded to be announced to the
//! passengers it can take (`news`, after the commit); an offer withdrawn or a need closed settles its
//! bookings first (`bookings`), then the row (`offers`, `needs`). The
//! relays' and partners' APIs call the same operations.
//!
//! Only the owner sees their own offers and needs; anyone else gets 404,
//! as if they did not exist.

mod driver;
mod passenger;

use axum::extract::FromRef;
use lotocar_shared::validation::Invalid;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::bookings::Bookings;
use crate::db::Db;
use crate::error::{Error, Result};
use crate::matching::Matching;
use crate::places::Places;
use crate::territories::Territories;
pub use passenger::{close_need, close_needs_of};

/// What the operations on offers and needs work with.
#[derive(Clone)]
pub struct Trips {
    pub db: Db,
    pub places: Places,
    pub territories: Territories,
    pub matching: Matching,
    pub bookings: Bookings,
}

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Trips: FromRef<S>,
    Auth: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(driver::create_offer, driver::list_offers))
        .routes(routes!(
            driver::get_offer,
            driver::patch_offer,
            driver::delete_offer
        ))
        .routes(routes!(driver::offer_matches))
        .routes(routes!(passenger::create_request, passenger::list_requests))
        .routes(routes!(
            passenger::get_request,
            passenger::patch_request,
            passenger::delete_request
        ))
        .routes(routes!(passenger::request_matches))
}

/// Both values, or every validation fault of either (each once).
fn both<A, B>(a: std::result::Result<A, Invalid>, b: Result<B>) -> Result<(A, B)> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (Err(mut invalid), Err(Error::Invalid(more))) => {
            for error in more.errors {
                if !invalid.errors.contains(&error) {
                    invalid.errors.push(error);
                }
            }
            Err(invalid.into())
        }
        (Err(invalid), Ok(_)) => Err(invalid.into()),
        (_, Err(other)) => Err(other),
    }
}
