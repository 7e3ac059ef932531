//! What the app keeps on the device: everything the person has seen, and
//! the actions taken offline, waiting to be sent. Saved after every change
//! (a crash or a dead battery loses nothing).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use lotocar_shared::api::{
    Booking, BookingInput, BookingPatch, Match, Me, Need, NeedInput, Notification, Offer,
    OfferInput, OfferPatch, SyncChange, SyncPage,
};
use serde::{Deserialize, Serialize};

/// Something the person did, to send to the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    CreateOffer { input: OfferInput },
    PatchOffer { id: String, patch: OfferPatch },
    DeleteOffer { id: String },
    CreateRequest { input: NeedInput },
    CancelRequest { id: String },
    CreateBooking { input: BookingInput },
    PatchBooking { id: String, patch: BookingPatch },
}

/// An action waiting for the network, with the key that makes sending it
/// twice harmless.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    pub key: String,
    pub action: Action,
    /// What it is, in French, for the person.
    pub label: String,
    pub queued_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Store {
    pub token: Option<String>,
    pub me: Option<Me>,
    /// Sync cursor ("0": nothing yet).
    pub cursor: String,
    pub offers: BTreeMap<String, Offer>,
    pub requests: BTreeMap<String, Need>,
    /// The matches last seen for each request.
    pub matches: BTreeMap<String, Vec<Match>>,
    pub bookings: BTreeMap<String, Booking>,
    pub notifications: BTreeMap<String, Notification>,
    pub outbox: Vec<Pending>,
    /// What changed on the server, or was refused there, to tell the person.
    pub notes: Vec<String>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            token: None,
            me: None,
            cursor: "0".into(),
            offers: BTreeMap::new(),
            requests: BTreeMap::new(),
            matches: BTreeMap::new(),
            bookings: BTreeMap::new(),
            notifications: BTreeMap::new(),
            outbox: Vec::new(),
            notes: Vec::new(),
        }
    }
}

impl Store {
    pub fn new() -> Store {
        Store::default()
    }

    /// The store saved at `path`, or a new one.
    pub fn load(path: &Path) -> Store {
        std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Writes the store atomically (a new file, then a rename).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(tmp, path)
    }

    /// Forgets everything of the person (sign-out).
    pub fn clear(&mut self) {
        *self = Store::new();
    }

    /// Applies a sync page: the server wins. Returns what the person should
    /// be told changed.
    pub fn apply(&mut self, page: SyncPage) -> Vec<String> {
        let mut notes = Vec::new();
        for change in page.changes {
            match change {
                SyncChange::Offer {
                    id, deleted: true, ..
                } => {
                    if let Some(gone) = self.offers.remove(&id) {
                        notes.push(format!("Trajet supprimé : {}", gone.summary));
                    }
                }
                SyncChange::Offer {
                    id,
                    offer: Some(offer),
                    ..
                } => {
                    self.offers.insert(id, *offer);
                }
                SyncChange::Offer { .. } => {}
                SyncChange::Request { id, request } => {
                    self.requests.insert(id, *request);
                }
                SyncChange::Booking { id, booking } => {
                    if let Some(before) = self.bookings.get(&id)
                        && before.status != booking.status
                    {
                        notes.push(format!(
                            "Réservation {} : {}",
                            booking.pickup.place.label, booking.status_label
                        ));
                    }
                    self.bookings.insert(id, *booking);
                }
                SyncChange::Notification { id, notification } => {
                    self.notifications.insert(id, notification);
                }
            }
        }
        self.cursor = page.cursor;
        self.notes.extend(notes.iter().cloned());
        notes
    }

    /// Notifications, newest first.
    pub fn inbox(&self) -> Vec<&Notification> {
        let mut all: Vec<&Notification> = self.notifications.values().collect();
        all.sort_by_key(|n| std::cmp::Reverse(n.created_at));
        all
    }
}
