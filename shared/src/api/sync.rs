//! Catching up after being offline.

use serde::{Deserialize, Serialize};

use super::*;

/// What changed for me since a cursor: every entity I can see, in the
/// order the changes were made; deletions included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncPage {
    /// Give it back as `since` next time.
    pub cursor: String,
    pub changes: Vec<SyncChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entity", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SyncChange {
    /// One of my trips; `offer` is absent when it was deleted.
    Offer {
        id: String,
        deleted: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offer: Option<Box<Offer>>,
    },
    Request {
        id: String,
        request: Box<Need>,
    },
    Booking {
        id: String,
        booking: Box<Booking>,
    },
    Notification {
        id: String,
        notification: Notification,
    },
}
