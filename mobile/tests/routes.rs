//! Every screen has a French address that prints and parses back to the
//! same screen; the links the backend puts in notifications (SMS, e-mail,
//! Web Push, the inbox) open their screen; signed out, any address shows
//! the sign-in screen first.

use chrono::Utc;
use dioxus::prelude::*;
use dioxus::router::{Routable, SegmentType};
use lotocar_mobile::store::Store;
use lotocar_mobile::ui::{Preview, PreviewProps, Route};
use lotocar_shared::api::{Me, Notification};
use lotocar_shared::people::Channel;

/// The address of every screen.
fn table() -> Vec<(&'static str, Route)> {
    let id = || "0193a8c4-7d2e-7f00-8000-00000000000a".to_string();
    vec![
        ("/", Route::Home {}),
        ("/connexion", Route::SignIn {}),
        ("/conduire", Route::Drive {}),
        ("/conduire/nouveau", Route::NewOffer {}),
        ("/trajets/:id", Route::OfferMatches { id: id() }),
        ("/besoins", Route::Ride {}),
        ("/besoins/nouveau", Route::NewRequest {}),
        ("/besoins/:id", Route::RequestMatches { id: id() }),
        ("/reservations", Route::Bookings {}),
        ("/reservations/:id", Route::Booking { id: id() }),
        ("/notifications", Route::Inbox {}),
        ("/profil", Route::Profile {}),
        ("/reglages", Route::Settings {}),
        ("/relais", Route::RelayHome {}),
        ("/relais/personnes/nouvelle", Route::NewBeneficiary {}),
        ("/relais/personnes/:id", Route::Beneficiary { id: id() }),
        (
            "/relais/personnes/:id/besoin",
            Route::NewRequestFor { id: id() },
        ),
        (
            "/relais/besoins/:id/suite",
            Route::RecordOutcome { id: id() },
        ),
        ("/coordination", Route::Coordination {}),
        ("/coordination/tableau", Route::Board {}),
        ("/coordination/impact", Route::Impact {}),
        ("/coordination/utilisation", Route::Usage {}),
        ("/coordination/avis", Route::Ratings {}),
        ("/coordination/carte", Route::MapView {}),
        ("/coordination/registre", Route::Registry {}),
        ("/coordination/equipe", Route::Team {}),
        ("/coordination/journal", Route::Audit {}),
    ]
}

/// The router's own list of addresses, as "/trajets/:id".
fn site_map() -> Vec<String> {
    Route::flatten_site_map()
        .map(|segments| {
            let path: String = segments
                .iter()
                .map(|s| match s {
                    SegmentType::Static(s) => format!("/{s}"),
                    SegmentType::Dynamic(s) => format!("/:{s}"),
                    other => panic!("unexpected segment {other:?}"),
                })
                .collect();
            if path.is_empty() { "/".into() } else { path }
        })
        .collect()
}

#[test]
fn every_route_prints_to_a_path_that_parses_back_to_itself() {
    let table = table();
    // The table is the router's whole site map, nothing more, nothing less.
    let mut patterns: Vec<String> = table.iter().map(|(p, _)| p.to_string()).collect();
    let mut known = site_map();
    patterns.sort();
    known.sort();
    assert_eq!(patterns, known);
    assert_eq!(known.len(), 27);

    for (pattern, route) in table {
        let path = route.to_string();
        assert_eq!(
            path,
            pattern.replace(":id", "0193a8c4-7d2e-7f00-8000-00000000000a"),
            "{route:?}"
        );
        assert_eq!(path.parse::<Route>().ok(), Some(route.clone()), "{path}");
        // As the web shell's history reads the browser's address, and with
        // a trailing slash.
        assert_eq!(
            format!("{path}?#").parse::<Route>().ok(),
            Some(route.clone())
        );
        if path != "/" {
            assert_eq!(format!("{path}/").parse::<Route>().ok(), Some(route));
        }
    }
    // An id with characters that need escaping comes back as it was (the
    // router escapes neither "/" nor "%": ids are the server's UUIDs).
    let odd = Route::Booking {
        id: "a b é?#".into(),
    };
    assert_eq!(odd.to_string().parse::<Route>().ok(), Some(odd));
}

#[test]
fn the_links_in_notifications_open_their_screen() {
    let parsed = |path: &str| path.parse::<Route>().ok();
    assert_eq!(
        parsed("/bookings/b1"),
        Some(Route::Booking { id: "b1".into() })
    );
    assert_eq!(
        parsed("/requests/n1"),
        Some(Route::RequestMatches { id: "n1".into() })
    );
    assert_eq!(
        parsed("/offers/o1"),
        Some(Route::OfferMatches { id: "o1".into() })
    );
    // Once open, the screen shows its own address.
    assert_eq!(
        parsed("/bookings/b1").unwrap().to_string(),
        "/reservations/b1"
    );
    // Other addresses are no screen (the web shell answers them 404).
    for path in [
        "/nope",
        "/bookings",
        "/bookings/b1/more",
        "/api/v1/bookings/b1",
        "/reservations/b1/suite",
        "/ws",
        "/sw.js",
        "healthz",
    ] {
        assert_eq!(parsed(path), None, "{path}");
    }
}

fn signed_in() -> Store {
    let mut store = Store::new();
    store.token = Some("t".into());
    store.me = Some(Me {
        id: "me".into(),
        display_name: "Marie Dupont".into(),
        phone: Some("+33611111111".into()),
        email: None,
        roles: vec![],
        preferred_channel: Channel::Sms,
        share_phone: false,
        share_email: false,
        created_at: Utc::now(),
    });
    store
}

fn render(screen: Route, store: Store) -> String {
    let mut dom = VirtualDom::new_with_props(Preview, PreviewProps { store, screen });
    dom.rebuild_in_place();
    dioxus_ssr::render(&dom).replace("&#39;", "'")
}

#[tokio::test]
async fn signed_out_a_deep_link_shows_the_sign_in_screen() {
    let booking = Route::Booking { id: "b1".into() };
    let html = render(booking.clone(), Store::new());
    assert!(html.contains("Recevoir un code"), "{html}");
    assert!(!html.contains("← Retour"), "{html}");
    // Signed in, the same address shows its screen.
    let html = render(booking, signed_in());
    assert!(!html.contains("Recevoir un code"), "{html}");
    assert!(html.contains("← Retour"), "{html}");
    // The old link too.
    let html = render("/bookings/b1".parse().unwrap(), signed_in());
    assert!(html.contains("← Retour"), "{html}");
    assert!(!html.contains("Recevoir un code"), "{html}");
}

#[tokio::test]
async fn a_notification_in_the_inbox_offers_to_open_its_screen() {
    let mut store = signed_in();
    for (id, url) in [("with-link", "/bookings/b1"), ("without", "/nowhere")] {
        store.notifications.insert(
            id.into(),
            Notification {
                id: id.into(),
                kind: "booking_confirmed".into(),
                title: format!("Titre {id}"),
                body: "…".into(),
                url: url.into(),
                created_at: Utc::now(),
                read: false,
            },
        );
    }
    let html = render(Route::Inbox {}, store);
    assert!(html.contains("Titre with-link"), "{html}");
    assert!(html.contains("Titre without"), "{html}");
    // One button: the link that is a screen.
    assert_eq!(html.matches(">Ouvrir</button>").count(), 1, "{html}");
}
