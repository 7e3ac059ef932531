//! Lotocar app shell: the Dioxus app for drivers and passengers. For now it
//! opens a window with the service's home screen; the screens come with the
//! app issue.

use dioxus::prelude::*;
use lotocar_shared::time::Weekdays;

fn main() {
    dioxus::launch(App);
}

#[component]
fn App() -> Element {
    rsx! {
        main {
            style: "font-family: sans-serif; font-size: 20px; max-width: 36rem; margin: 2rem auto; padding: 0 1rem;",
            h1 { "Lot'ô car" }
            p { "Covoiturage solidaire : des conducteurs qui font déjà le trajet, des passagers qui en ont besoin." }
            p { "Trajets réguliers possibles {Weekdays::WORKDAYS.french()}." }
        }
    }
}
