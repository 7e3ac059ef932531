//! The app's screens, one component tree for every platform: the desktop
//! window, phones, and the web shell that the backend serves (LiveView).

mod account;
mod bookings;
mod coordination;
mod driving;
pub mod forms;
mod pieces;
mod relay;
mod reporting;
mod riding;
mod route;

use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use dioxus::core::spawn_forever;
use dioxus::history::{History, MemoryHistory};
use dioxus::prelude::*;
use dioxus::router::root_router;
use futures_util::StreamExt;

use crate::api::Api;
use crate::store::{Action, Store};
use crate::sync::{Engine, Outcome};
pub use account::*;
pub use bookings::*;
pub use coordination::*;
pub use driving::*;
pub use pieces::*;
pub use relay::*;
pub use reporting::*;
pub use riding::*;
pub use route::Route;

/// Where the app finds its backend and keeps its data.
#[derive(Clone, Debug, PartialEq)]
pub struct AppConfig {
    /// The backend's address, "http://127.0.0.1:8080".
    pub api_base: String,
    /// Where to keep the store (none: in memory).
    pub store_path: Option<PathBuf>,
    /// The web shell: register a service worker and Web Push, and keep
    /// the sign-in in the browser's session cookie.
    pub web: bool,
    /// The web shell: the token of the browser's session cookie, still
    /// valid; the app opens signed in.
    pub session: Option<String>,
    /// The web shell: the browser served, for the server's limits.
    pub on_behalf: Option<crate::api::OnBehalf>,
}

/// The message shown on top of the screen: good news (`say`) or a
/// problem to act on (`warn`), which looks and is announced as one.
#[derive(Clone, Debug, PartialEq)]
pub struct Flash {
    pub message: String,
    pub alert: bool,
}

/// What every screen shares: the engine (API, store, outbox), a snapshot
/// of the store to render, and a message to show. Where we are is the
/// router's [`Route`].
#[derive(Clone, Copy)]
pub struct AppHandle {
    engine: Signal<Arc<tokio::sync::Mutex<Engine>>>,
    pub store: Signal<Store>,
    pub flash: Signal<Option<Flash>>,
    /// The screen the app itself last moved to (see [`AppHandle::go`]);
    /// any other move was the browser's (back, forward).
    arrival: Signal<Option<Route>>,
    pub web: bool,
}

impl AppHandle {
    /// Moves to `route` (the previous screen stays in the history, for the
    /// back button). Moving on dismisses the last message and what changed
    /// on the server.
    pub fn go(self, route: Route) {
        self.move_to(route, false);
    }

    /// Like [`AppHandle::go`], but the message just shown stays (what was
    /// done, said on the screen it leads to).
    pub fn go_telling(mut self, route: Route) {
        let said = self.flash.peek().clone();
        self.move_to(route, false);
        self.flash.set(said);
    }

    /// Like [`AppHandle::go`], but `route` takes the current screen's place
    /// in the history (the sign-in screen, once signed in).
    pub fn go_instead(self, route: Route) {
        self.move_to(route, true);
    }

    fn move_to(mut self, route: Route, replace: bool) {
        self.dismiss();
        self.arrival.set(Some(route.clone()));
        if let Some(router) = root_router() {
            if replace {
                router.replace(route);
            } else {
                router.push(route);
            }
        }
    }

    /// Clears the last message and what changed on the server.
    pub(crate) fn dismiss(mut self) {
        self.flash.set(None);
        if !self.store.peek().notes.is_empty() {
            // Not tied to the screen being left: it goes away with the move.
            spawn_forever(async move {
                self.with_engine(async |e| {
                    e.store.notes.clear();
                    e.save();
                })
                .await;
            });
        }
    }

    /// Shows good news (it went through).
    pub fn say(mut self, message: impl Into<String>) {
        self.flash.set(Some(Flash {
            message: message.into(),
            alert: false,
        }));
    }

    /// Shows a problem: refused, to correct, not possible now.
    pub fn warn(mut self, message: impl Into<String>) {
        self.flash.set(Some(Flash {
            message: message.into(),
            alert: true,
        }));
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
            Outcome::Refused(err) => self.warn(err.message()),
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
        let api = Api::new(&config.api_base).on_behalf_of(config.on_behalf.clone());
        let mut engine = Engine::new(api, store, config.store_path.clone());
        if let Some(token) = &config.session
            && engine.store.token.as_ref() != Some(token)
        {
            engine.signed_in(token.clone());
        }
        let snapshot = engine.store.clone();
        (Arc::new(tokio::sync::Mutex::new(engine)), snapshot)
    });
    // Owned by the root scope, not this one: the tasks that outlive a
    // screen (`spawn_forever`: the push subscription, the browser session)
    // run there and use them.
    let engine = use_hook(|| Signal::new_in_scope(initial.0.clone(), ScopeId::ROOT));
    let store = use_hook(|| Signal::new_in_scope(initial.1.clone(), ScopeId::ROOT));
    let flash = use_hook(|| Signal::new_in_scope(None, ScopeId::ROOT));
    let arrival = use_hook(|| Signal::new_in_scope(None, ScopeId::ROOT));
    let app = use_context_provider(|| AppHandle {
        engine,
        store,
        flash,
        arrival,
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

    // The screen comes from the address: the browser's in the web shell,
    // an in-memory history in the desktop window and on phones.
    rsx! {
        style { {CSS} }
        Router::<Route> {}
    }
}

/// The app on one screen with a given store, without network or background
/// work: for component tests and previews.
#[component]
pub fn Preview(store: Store, screen: Route) -> Element {
    let initial = use_hook(|| {
        Arc::new(tokio::sync::Mutex::new(Engine::new(
            Api::new("http://127.0.0.1:9"),
            store.clone(),
            None,
        )))
    });
    let engine = use_signal(|| initial.clone());
    let store = use_signal(|| store.clone());
    let flash = use_signal(|| None);
    let arrival = use_signal(|| None);
    use_context_provider(|| AppHandle {
        engine,
        store,
        flash,
        arrival,
        web: false,
    });
    // Opened at `screen`, as if its address had been typed.
    use_hook(|| {
        let history: Rc<dyn History> = Rc::new(MemoryHistory::with_initial_path(&screen));
        provide_context(history)
    });
    rsx! { Router::<Route> {} }
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
