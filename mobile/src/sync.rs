//! Offline first: an action is sent at once when the network allows, else
//! queued with its Idempotency-Key and sent, in order, when the network
//! comes back; a resend of something the server already did changes
//! nothing. Then the app pulls what changed (`/api/v1/sync`), and the
//! server wins.

use std::path::PathBuf;

use chrono::Utc;

use crate::api::{Api, ApiError, ApiResult};
use crate::store::{Action, Pending, Store};

/// What became of an action.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The server did it.
    Done,
    /// No network: it will be sent when the network is back.
    Queued,
    /// The server refused it (its reason is in the error).
    Refused(ApiError),
}

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Replay {
    pub sent: usize,
    pub refused: Vec<String>,
    pub left: usize,
}

pub struct Engine {
    pub api: Api,
    pub store: Store,
    path: Option<PathBuf>,
}

impl Engine {
    /// An engine over `store`, saved to `path` after every change (none:
    /// in memory, as in the web shell, whose store lives on the server).
    pub fn new(api: Api, store: Store, path: Option<PathBuf>) -> Engine {
        let api = api.with_token(store.token.clone());
        Engine { api, store, path }
    }

    pub fn save(&self) {
        if let Some(path) = &self.path
            && let Err(err) = self.store.save(path)
        {
            eprintln!("cannot save the app's store: {err}");
        }
    }

    /// Signs in: keeps the token.
    pub fn signed_in(&mut self, token: String) {
        self.store.clear();
        self.store.token = Some(token.clone());
        self.api = self.api.with_token(Some(token));
        self.save();
    }

    pub fn signed_out(&mut self) {
        self.store.clear();
        self.api = self.api.with_token(None);
        self.save();
    }

    /// Does `action` now if possible, else queues it (behind what is
    /// already waiting, so that order is kept).
    pub async fn perform(&mut self, action: Action, label: &str) -> Outcome {
        let pending = Pending {
            key: uuid::Uuid::new_v4().to_string(),
            action,
            label: label.to_string(),
            queued_at: Utc::now(),
        };
        if !self.store.outbox.is_empty() {
            self.store.outbox.push(pending);
            self.save();
            self.replay().await;
            return if self.store.outbox.is_empty() {
                Outcome::Done
            } else {
                Outcome::Queued
            };
        }
        match self.send(&pending).await {
            Ok(()) => Outcome::Done,
            Err(ApiError::Offline) => {
                self.store.outbox.push(pending);
                self.save();
                Outcome::Queued
            }
            Err(refused) => Outcome::Refused(refused),
        }
    }

    /// Sends the waiting actions in order, until the network fails again.
    pub async fn replay(&mut self) -> Replay {
        let mut report = Replay::default();
        while let Some(pending) = self.store.outbox.first().cloned() {
            match self.send(&pending).await {
                Ok(()) => report.sent += 1,
                Err(ApiError::Offline) => break,
                Err(refused) => {
                    let note = format!("Non envoyé : {} — {}", pending.label, refused.message());
                    self.store.notes.push(note.clone());
                    report.refused.push(note);
                }
            }
            self.store.outbox.remove(0);
            self.save();
        }
        report.left = self.store.outbox.len();
        report
    }

    /// Brings the store up to date with the server.
    pub async fn pull(&mut self) -> ApiResult<Vec<String>> {
        let page = self.api.sync(&self.store.cursor).await?;
        let notes = self.store.apply(page);
        if self.store.me.is_none()
            && let Ok(me) = self.api.me().await
        {
            self.store.me = Some(me);
        }
        self.save();
        Ok(notes)
    }

    /// Sends one action and records its result locally. A resend the
    /// server already carried out counts as done.
    async fn send(&mut self, pending: &Pending) -> ApiResult<()> {
        let key = pending.key.as_str();
        let done_already = |err: &ApiError| {
            matches!(err.code(), Some("status_already_set")) || err.status() == Some(404)
        };
        match &pending.action {
            Action::CreateOffer { input } => {
                let offer = self.api.create_offer(input, key).await?;
                self.store.offers.insert(offer.id.clone(), offer);
            }
            Action::PatchOffer { id, patch } => {
                let offer = self.api.patch_offer(id, patch).await?;
                self.store.offers.insert(offer.id.clone(), offer);
            }
            Action::DeleteOffer { id } => {
                match self.api.delete_offer(id).await {
                    Ok(()) => {}
                    Err(err) if err.status() == Some(404) => {}
                    Err(err) => return Err(err),
                }
                self.store.offers.remove(id);
            }
            Action::CreateRequest { input } => {
                let created = self.api.create_request(input, key).await?;
                self.store
                    .matches
                    .insert(created.request.id.clone(), created.matches);
                self.store
                    .requests
                    .insert(created.request.id.clone(), created.request);
            }
            Action::CancelRequest { id } => {
                match self.api.cancel_request(id).await {
                    Ok(()) => {}
                    Err(err) if err.status() == Some(404) => {}
                    Err(err) => return Err(err),
                }
                if let Some(request) = self.store.requests.get_mut(id) {
                    request.status = lotocar_shared::need::NeedStatus::Cancelled;
                }
            }
            Action::CreateBooking { input } => {
                let booking = self.api.create_booking(input, key).await?;
                self.store.bookings.insert(booking.id.clone(), booking);
            }
            Action::PatchBooking { id, patch } => match self.api.patch_booking(id, patch).await {
                Ok(booking) => {
                    self.store.bookings.insert(booking.id.clone(), booking);
                }
                Err(err) if done_already(&err) => {}
                Err(err) => return Err(err),
            },
        }
        self.save();
        Ok(())
    }
}
