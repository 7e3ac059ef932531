//! The desktop app: `cargo run -p lotocar-mobile` opens a window on the
//! backend at `LOTOCAR_API_URL` (default http://127.0.0.1:8080).

use std::path::PathBuf;

use dioxus::desktop::{Config, LogicalSize, WindowBuilder};
use lotocar_mobile::{App, AppConfig};

fn data_dir() -> PathBuf {
    std::env::var_os("LOTOCAR_APP_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_DATA_HOME").map(|d| PathBuf::from(d).join("lotocar")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/lotocar")))
        .unwrap_or_else(|| PathBuf::from(".lotocar"))
}

fn main() {
    let config = AppConfig {
        api_base: std::env::var("LOTOCAR_API_URL")
            .unwrap_or_else(|_| "http://127.0.0.1:8080".into()),
        store_path: Some(data_dir().join("store.json")),
        web: false,
    };
    dioxus::LaunchBuilder::desktop()
        .with_cfg(
            Config::new().with_window(
                WindowBuilder::new()
                    .with_title("Lot'ô car")
                    .with_inner_size(LogicalSize::new(480.0, 820.0)),
            ),
        )
        .with_context(config)
        .launch(App);
}
