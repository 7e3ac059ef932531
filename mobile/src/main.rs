//! The app's entry point.
//!
//! - Desktop (default feature): `cargo run -p lotocar-mobile` opens a window
//!   on the backend at `LOTOCAR_API_URL` (default http://127.0.0.1:8080).
//! - Android / iOS (`--no-default-features --features mobile`, packaged with
//!   `dx bundle`, see the README): the backend URL is fixed at build time
//!   from `LOTOCAR_API_URL`.

use std::path::PathBuf;

#[cfg(any(feature = "desktop", feature = "mobile"))]
use lotocar_mobile::{App, AppConfig};

/// Bundle identifier of the phone apps (mobile/Dioxus.toml): Android keeps
/// an app's private files under /data/data/<identifier>/files.
#[cfg(all(feature = "mobile", target_os = "android"))]
const BUNDLE_ID: &str = "fr.lotocar.app";

/// Where the app keeps its store (what the person saw, and the actions not
/// sent yet).
#[allow(dead_code)]
fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LOTOCAR_APP_DIR") {
        return PathBuf::from(dir);
    }
    #[cfg(all(feature = "mobile", target_os = "android"))]
    {
        return PathBuf::from(format!("/data/data/{BUNDLE_ID}/files"));
    }
    #[allow(unreachable_code)]
    std::env::var_os("XDG_DATA_HOME")
        .map(|d| PathBuf::from(d).join("lotocar"))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/lotocar")))
        .unwrap_or_else(|| PathBuf::from(".lotocar"))
}

#[cfg(feature = "desktop")]
fn main() {
    use dioxus::desktop::{Config, LogicalSize, WindowBuilder};
    let config = AppConfig {
        api_base: std::env::var("LOTOCAR_API_URL")
            .unwrap_or_else(|_| "http://127.0.0.1:8080".into()),
        store_path: Some(data_dir().join("store.json")),
        web: false,
        session: None,
        on_behalf: None,
    };
    dioxus::LaunchBuilder::desktop()
        .with_cfg(
            Config::new()
                // No "Window / Edit / Help" menu bar: English words a
                // person does not need, above a French app.
                .with_menu(None)
                .with_window(
                    WindowBuilder::new()
                        .with_title("Lot'ô car")
                        .with_inner_size(LogicalSize::new(480.0, 820.0)),
                ),
        )
        .with_context(config)
        .launch(App);
}

#[cfg(all(feature = "mobile", not(feature = "desktop")))]
fn main() {
    let config = AppConfig {
        api_base: option_env!("LOTOCAR_API_URL")
            .unwrap_or("http://127.0.0.1:8080")
            .into(),
        store_path: Some(data_dir().join("store.json")),
        web: false,
        session: None,
        on_behalf: None,
    };
    dioxus::LaunchBuilder::mobile()
        .with_context(config)
        .launch(App);
}

#[cfg(not(any(feature = "desktop", feature = "mobile")))]
fn main() {
    eprintln!(
        "lotocar-mobile was built without a platform: build it with the \
         `desktop` feature (default) or `mobile`."
    );
    std::process::exit(2);
}
