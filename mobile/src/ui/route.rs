//! Where the app is: every screen has an address, in French, so that a
//! link (in an SMS, an e-mail, a Web Push notification, the inbox) opens
//! its screen, and the browser's back button works in the web shell.

use std::cell::RefCell;
use std::rc::Rc;

use dioxus::prelude::*;
use dioxus::router::root_router;

use super::*;

/// The screens and their addresses.
///
/// The backend's notifications point at `/bookings/{id}`, `/requests/{id}`
/// and `/offers/{id}` (also in SMS, e-mail and Web Push links): these
/// redirect to the screen they mean.
#[derive(Routable, Clone, Debug, PartialEq)]
#[rustfmt::skip]
pub enum Route {
    #[redirect("/bookings/:id", |id: String| Route::Booking { id })]
    #[redirect("/requests/:id", |id: String| Route::RequestMatches { id })]
    #[redirect("/offers/:id", |id: String| Route::OfferMatches { id })]
    #[layout(Frame)]
        #[route("/")]
        Home {},
        #[route("/connexion")]
        SignIn {},

        // Driving
        #[route("/conduire")]
        Drive {},
        #[route("/conduire/nouveau")]
        NewOffer {},
        /// The passengers on the way of one of my trips.
        #[route("/trajets/:id")]
        OfferMatches { id: String },

        // Riding
        #[route("/besoins")]
        Ride {},
        #[route("/besoins/nouveau")]
        NewRequest {},
        /// The drivers who could take a need.
        #[route("/besoins/:id")]
        RequestMatches { id: String },

        // Bookings
        #[route("/reservations")]
        Bookings {},
        #[route("/reservations/:id", BookingScreen)]
        Booking { id: String },

        // Account
        #[route("/notifications")]
        Inbox {},
        #[route("/profil")]
        Profile {},
        #[route("/reglages")]
        Settings {},

        // Relays
        #[route("/relais")]
        RelayHome {},
        #[route("/relais/personnes/nouvelle")]
        NewBeneficiary {},
        #[route("/relais/personnes/:id", BeneficiaryScreen)]
        Beneficiary { id: String },
        /// A need posted by a relay for the person with this id.
        #[route("/relais/personnes/:id/besoin")]
        NewRequestFor { id: String },
        /// What became of the need with this id.
        #[route("/relais/besoins/:id/suite")]
        RecordOutcome { id: String },

        // Coordinators
        #[route("/coordination")]
        Coordination {},
        #[route("/coordination/tableau")]
        Board {},
        #[route("/coordination/impact", ImpactScreen)]
        Impact {},
        #[route("/coordination/utilisation", UsageScreen)]
        Usage {},
        #[route("/coordination/avis", RatingsScreen)]
        Ratings {},
        #[route("/coordination/carte")]
        MapView {},
        #[route("/coordination/registre")]
        Registry {},
        #[route("/coordination/equipe")]
        Team {},
        #[route("/coordination/journal")]
        Audit {},
}

/// Every screen's frame: what waits for the network, the last message,
/// what changed on the server, then the screen. Signed out, every address
/// shows the sign-in screen, and the asked screen once signed in.
#[component]
fn Frame() -> Element {
    let app = use_context::<AppHandle>();
    let route = use_route::<Route>();
    let store = app.store.read();
    let flash = app.flash.read().clone();
    let signed_in = store.token.is_some();
    let on_sign_in = route == Route::SignIn {};
    // Signed in without a name yet: asked first, then the asked screen.
    let needs_name = signed_in
        && store
            .me
            .as_ref()
            .is_some_and(|me| me.display_name.trim().is_empty());

    // Moving by the browser (back, forward) dismisses what was shown, as
    // moving in the app does; the first screen keeps what was kept.
    let shown = use_hook(|| Rc::new(RefCell::new(None::<Route>)));
    use_effect(use_reactive!(|route| {
        let previous = shown.borrow_mut().replace(route.clone());
        if previous.is_some_and(|p| p != route) {
            let mut arrival = app.arrival;
            if arrival.peek().as_ref() != Some(&route) {
                arrival.set(None);
                app.dismiss();
            }
        }
    }));
    // Signed in, the sign-in screen (the back button after signing in)
    // gives way to the home screen.
    use_effect(use_reactive!(|signed_in, on_sign_in| {
        if signed_in && on_sign_in {
            app.go_instead(Route::Home {});
        }
    }));
    let asked = use_hook(|| Rc::new(RefCell::new(None::<String>)));
    use_effect(move || tidy_address(&asked));

    rsx! {
        main {
            if !store.outbox.is_empty() {
                p { class: "offline", role: "status",
                    "Hors ligne — sera envoyé dès le retour du réseau ({store.outbox.len()} en attente)."
                }
            }
            if let Some(flash) = flash {
                if flash.alert {
                    p { class: "flash alert", role: "alert", "{flash.message}" }
                } else {
                    p { class: "flash", role: "status", "{flash.message}" }
                }
            }
            for note in store.notes.iter().rev().take(3) {
                p { class: "flash", "{note}" }
            }
            if !signed_in && !on_sign_in {
                SignIn {}
            } else if needs_name {
                AskName {}
            } else {
                Outlet::<Route> {}
            }
        }
    }
}

/// Shows the screen's own address: `/bookings/b1` (an old link) becomes
/// `/reservations/b1`, and the web shell's `/reservations/b1?#` (how the
/// LiveView history reads the browser's address) `/reservations/b1`.
fn tidy_address(asked: &RefCell<Option<String>>) {
    let Some(router) = root_router() else {
        return;
    };
    // Subscribes: runs again whenever the address changes.
    let shown = router.full_route_string();
    let Ok(route) = shown.parse::<Route>() else {
        return;
    };
    let tidy = route.to_string();
    let mut asked = asked.borrow_mut();
    if tidy == shown {
        *asked = None;
    } else if asked.as_deref() != Some(tidy.as_str()) {
        // Asked once: the web shell's history changes on its next turn.
        *asked = Some(tidy);
        drop(asked);
        router.replace(route);
    }
}
