//! Lotocar's app for drivers and passengers: the screens (Dioxus), the
//! HTTP client, the offline store and its sync. One component tree for the
//! desktop window, phones, and the web shell served by the backend.

pub mod api;
pub mod store;
pub mod sync;
pub mod ui;

pub use ui::{App, AppConfig, Route};
