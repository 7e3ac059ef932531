//! The app's screens, one component tree for every platform: the desktop
//! window, phones, and the web shell that the backend serves (LiveView).

pub mod forms;
mod screens;
mod staff;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dioxus::prelude::*;
use futures_util::StreamExt;

use crate::api::Api;
use crate::store::{Action, Store};
use crate::sync::{Engine, Outcome};
pub use screens::*;
pub use staff::*;

/// Where the app finds its backend and keeps its data.
#[derive(Clone, Debug, PartialEq)]
pub struct AppConfig {
    /// The backend's address, "http://127.0.0.1:8080".
    pub api_base: String,
    /// Where to keep the store (none: in memory).
    pub store_path: Option<PathBuf>,
    /// The web shell: register a service worker and Web Push.
    pub web: bool,
}

/// The screens, one task each.
#[derive(Clone, Debug, PartialEq)]
pub enum Screen {
    SignIn,
    Home,
    Drive,
    NewOffer,
    OfferMatches(String),
    Ride,
    NewRequest,
    RequestMatches(String),
    Bookings,
    Booking(String),
    Inbox,
    Profile,
    Settings,
    // Relays and coordinators.
    RelayHome,
    NewBeneficiary,
    Beneficiary(String),
    /// A need posted by a relay for the person with this id.
    NewRequestFor(String),
    RecordOutcome(String),
    Coordination,
    Board,
    Impact,
    MapView,
    Registry,
    Team,
    Audit,
}

/// What every screen shares: the engine (API, store, outbox), a snapshot
/// of the store to render, where we are, and a message to show.
#[derive(Clone, Copy)]
pub struct AppHandle {
    engine: Signal<Arc<tokio::sync::Mutex<Engine>>>,
    pub store: Signal<Store>,
    pub screen: Signal<Screen>,
    pub flash: Signal<Option<String>>,
    pub web: bool,
}

impl AppHandle {
    pub fn go(mut self, screen: Screen) {
        self.flash.set(None);
        self.screen.set(screen);
        // What changed on the server was shown: moving on dismisses it.
        if !self.store.peek().notes.is_empty() {
            spawn(async move {
                self.with_engine(async |e| {
                    e.store.notes.clear();
                    e.save();
                })
                .await;
            });
        }
    }

    pub fn say(mut self, message: impl Into<String>) {
        self.flash.set(Some(message.into()));
    }

    /// The API client, signed in or not.
    pub async fn api(&self) -> Api {
        self.engine.read().clone().lock().await.api.clone()
    }

    fn engine(&self) -> Arc<tokio::sync::Mutex<Engine>> {
        self.engine.read().clone()
    }

    /// Runs `f` on the engine, then shows the store as it is.
    pub async fn with_engine<R>(mut self, f: impl AsyncFnOnce(&mut Engine) -> R) -> R {
        let engine = self.engine();
        let mut guard = engine.lock().await;
        let result = f(&mut guard).await;
        let snapshot = guard.store.clone();
        drop(guard);
        self.store.set(snapshot);
        result
    }

    /// Does an action (now, or queued when offline) and says so.
    pub async fn perform(self, action: Action, label: &str, done: &str) -> Outcome {
        let outcome = self
            .with_engine(async |e| e.perform(action, label).await)
            .await;
        match &outcome {
            Outcome::Done => self.say(done),
            Outcome::Queued => self.say("Hors ligne — sera envoyé dès le retour du réseau."),
            Outcome::Refused(err) => self.say(err.message()),
        }
        outcome
    }

    /// Sends what waits, then pulls what changed.
    pub async fn sync(self) {
        self.with_engine(async |e| {
            if e.store.token.is_none() {
                return;
            }
            e.replay().await;
            let _ = e.pull().await;
        })
        .await;
    }
}

const CSS: &str = include_str!("../../../assets/app.css");

/// The root component. Reads its [`AppConfig`] from the root context.
#[component]
pub fn App() -> Element {
    let config = use_context::<AppConfig>();
    let initial = use_hook(|| {
        let store = config
            .store_path
            .as_deref()
            .map(Store::load)
            .unwrap_or_default();
        let engine = Engine::new(Api::new(&config.api_base), store, config.store_path.clone());
        let snapshot = engine.store.clone();
        (Arc::new(tokio::sync::Mutex::new(engine)), snapshot)
    });
    let engine = use_signal(|| initial.0.clone());
    let store = use_signal(|| initial.1.clone());
    let signed_in = initial.1.token.is_some();
    let screen = use_signal(|| {
        if signed_in {
            Screen::Home
        } else {
            Screen::SignIn
        }
    });
    let flash = use_signal(|| None);
    let app = use_context_provider(|| AppHandle {
        engine,
        store,
        screen,
        flash,
        web: config.web,
    });

    // Keep in step: send what waits and pull changes every 20 s, and at
    // once when a notification arrives on the live stream.
    use_future(move || async move {
        loop {
            app.sync().await;
            tokio::time::sleep(Duration::from_secs(20)).await;
        }
    });
    use_future(move || async move {
        loop {
            let api = app.api().await;
            if api.token().is_some() {
                listen(&api, app).await;
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    });

    rsx! {
        style { {CSS} }
        Frame {}
    }
}

/// Every screen's frame: what waits for the network, the last message,
/// what changed on the server, then the screen.
#[component]
fn Frame() -> Element {
    let app = use_context::<AppHandle>();
    let store = app.store.read();
    let flash = app.flash.read().clone();
    rsx! {
        main {
            if !store.outbox.is_empty() {
                p { class: "offline", role: "status",
                    "Hors ligne — sera envoyé dès le retour du réseau ({store.outbox.len()} en attente)."
                }
            }
            if let Some(message) = flash {
                p { class: "flash", role: "status", "{message}" }
            }
            for note in store.notes.iter().rev().take(3) {
                p { class: "flash", "{note}" }
            }
            Current {}
        }
    }
}

/// The app on one screen with a given store, without network or background
/// work: for component tests and previews.
#[component]
pub fn Preview(store: Store, screen: Screen) -> Element {
    let initial = use_hook(|| {
        Arc::new(tokio::sync::Mutex::new(Engine::new(
            Api::new("http://127.0.0.1:9"),
            store.clone(),
            None,
        )))
    });
    let engine = use_signal(|| initial.clone());
    let store = use_signal(|| store.clone());
    let screen = use_signal(|| screen.clone());
    let flash = use_signal(|| None);
    use_context_provider(|| AppHandle {
        engine,
        store,
        screen,
        flash,
        web: false,
    });
    rsx! { Frame {} }
}

/// Follows the live stream until it ends; each notification triggers a
/// sync, so lists update in place.
async fn listen(api: &Api, app: AppHandle) {
    let Ok(response) = reqwest::Client::new()
        .get(format!("{}/api/v1/events", api.base()))
        .bearer_auth(api.token().unwrap_or_default())
        .send()
        .await
    else {
        return;
    };
    if !response.status().is_success() {
        return;
    }
    let mut stream = response.bytes_stream();
    // An event may arrive split across chunks: read whole lines.
    let mut pending = Vec::new();
    while let Some(Ok(chunk)) = stream.next().await {
        pending.extend_from_slice(&chunk);
        let mut notified = false;
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            notified |= line.starts_with(b"event: notification");
        }
        if notified {
            app.sync().await;
        }
    }
}

/// The screen we are on.
#[component]
fn Current() -> Element {
    let app = use_context::<AppHandle>();
    let screen = app.screen.read().clone();
    match screen {
        Screen::SignIn => rsx! { SignIn {} },
        Screen::Home => rsx! { Home {} },
        Screen::Drive => rsx! { Drive {} },
        Screen::NewOffer => rsx! { NewOffer {} },
        Screen::OfferMatches(id) => rsx! { OfferMatches { id } },
        Screen::Ride => rsx! { Ride {} },
        Screen::NewRequest => rsx! { NewRequest {} },
        Screen::NewRequestFor(person) => rsx! { NewRequest { on_behalf_of: person } },
        Screen::RelayHome => rsx! { RelayHome {} },
        Screen::NewBeneficiary => rsx! { NewBeneficiary {} },
        Screen::Beneficiary(id) => rsx! { BeneficiaryScreen { id } },
        Screen::RecordOutcome(id) => rsx! { RecordOutcome { id } },
        Screen::Coordination => rsx! { Coordination {} },
        Screen::Board => rsx! { Board {} },
        Screen::Impact => rsx! { Impact {} },
        Screen::MapView => rsx! { MapView {} },
        Screen::Registry => rsx! { Registry {} },
        Screen::Team => rsx! { Team {} },
        Screen::Audit => rsx! { Audit {} },
        Screen::RequestMatches(id) => rsx! { RequestMatches { id } },
        Screen::Bookings => rsx! { Bookings {} },
        Screen::Booking(id) => rsx! { BookingScreen { id } },
        Screen::Inbox => rsx! { Inbox {} },
        Screen::Profile => rsx! { Profile {} },
        Screen::Settings => rsx! { Settings {} },
    }
}
