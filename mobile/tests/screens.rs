//! Each screen renders its key elements, in French, from what the app
//! keeps; forms show the French validation messages.

use chrono::{NaiveDate, TimeZone, Utc};
use dioxus::prelude::*;
use lotocar_mobile::store::Store;
use lotocar_mobile::ui::forms::{NeedForm, OfferForm};
use lotocar_mobile::ui::{FieldMessage, Preview, Route};
use lotocar_shared::BookingStatus;
use lotocar_shared::api::{
    Booking, BookingDate, ContactDetails, Leg, MatchStop, Me, Need, Notification, Offer,
    PublicPerson, TripPlace,
};
use lotocar_shared::need::{NeedStatus, Purpose};
use lotocar_shared::people::Channel;

fn place(label: &str) -> TripPlace {
    TripPlace {
        place_id: Some("commune:46102".into()),
        label: label.into(),
        insee: Some("46102".into()),
        lat: 44.6,
        lon: 2.03,
    }
}

fn store() -> Store {
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
    let offer: Offer = serde_json::from_value(serde_json::json!({
        "id": "o1", "origin": place("Cahors (46000)"), "destination": place("Figeac (46100)"),
        "schedule": { "kind": "weekly", "weekdays": ["mon","tue","wed","thu","fri"], "departure_time": "07:30",
                      "return_time": null, "from": "2026-12-01", "until": null, "pauses": [] },
        "seats": 3, "max_detour_minutes": 15, "paused": false,
        "summary": "Cahors → Figeac, du lundi au vendredi à 7 h 30 · 3 places",
        "territory_id": "lot", "created_at": Utc::now(), "updated_at": Utc::now()
    }))
    .unwrap();
    store.offers.insert("o1".into(), offer);
    let need: Need = serde_json::from_value(serde_json::json!({
        "id": "n1", "origin": place("Livernon (46320)"), "destination": place("Figeac (46100)"),
        "schedule": { "kind": "once", "date": "2026-12-08", "arrive_by": "09:30", "depart_after": null,
                      "flexibility_minutes": 15, "return_after": null },
        "seats": 1, "purpose": Purpose::Medical, "status": NeedStatus::Open, "on_behalf_of": null,
        "summary": "Livernon → Figeac, le 08/12/2026, arrivée avant 9 h 30",
        "territory_id": "lot", "created_at": Utc::now(), "updated_at": Utc::now()
    }))
    .unwrap();
    store.requests.insert("n1".into(), need);
    let at = chrono_tz::Europe::Paris
        .with_ymd_and_hms(2026, 12, 8, 8, 24, 0)
        .unwrap()
        .fixed_offset();
    store.bookings.insert(
        "b1".into(),
        Booking {
            id: "b1".into(),
            offer_id: "o1".into(),
            request_id: "n1".into(),
            status: BookingStatus::Confirmed,
            status_label: "confirmé".into(),
            role: "passenger".into(),
            recurring: false,
            date: NaiveDate::from_ymd_opt(2026, 12, 8).unwrap(),
            dates: vec![BookingDate {
                date: NaiveDate::from_ymd_opt(2026, 12, 8).unwrap(),
                status: "active".into(),
            }],
            leg: Leg::Outbound,
            need_leg: Leg::Outbound,
            seats: 1,
            pickup: MatchStop {
                place: place("Livernon (46320)"),
                time: "08:24".into(),
                at,
            },
            dropoff: MatchStop {
                place: place("Figeac (46100)"),
                time: "08:46".into(),
                at,
            },
            detour_minutes: 5.2,
            driver: PublicPerson {
                display_name: "Jean M.".into(),
            },
            passenger: PublicPerson {
                display_name: "Marie D.".into(),
            },
            booked_by: None,
            on_behalf_of: None,
            can_say_done: true,
            contact: Some(ContactDetails {
                phone: Some("+33622222222".into()),
                email: None,
                through: None,
            }),
            reason: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        },
    );
    store.notifications.insert(
        "x".into(),
        Notification {
            id: "x".into(),
            kind: "booking_confirmed".into(),
            title: "Réservation confirmée".into(),
            body: "Jean M. vous prendra le mardi 8 décembre à 8 h 24 à Livernon.".into(),
            url: "/bookings/b1".into(),
            created_at: Utc::now(),
            read: false,
        },
    );
    store
}

fn render(screen: Route, store: Store) -> String {
    let mut dom =
        VirtualDom::new_with_props(Preview, lotocar_mobile::ui::PreviewProps { store, screen });
    dom.rebuild_in_place();
    dioxus_ssr::render(&dom)
}

fn has_all(html: &str, parts: &[&str]) {
    let html = html.replace("&#39;", "'").replace("&amp;", "&");
    for part in parts {
        assert!(html.contains(part), "missing « {part} » in\n{html}");
    }
}

#[tokio::test]
async fn every_screen_shows_its_key_elements() {
    let s = store();
    has_all(
        &render(Route::SignIn {}, Store::new()),
        &[
            "Se connecter",
            "Votre numéro de portable ou votre e-mail",
            "Recevoir un code",
        ],
    );
    has_all(
        &render(Route::Home {}, s.clone()),
        &[
            "Bonjour Marie Dupont",
            "Je conduis",
            "Je cherche un trajet",
            "Mes réservations",
            "Notifications (1)",
            "Mon profil",
            "Réglages",
        ],
    );
    has_all(
        &render(Route::Drive {}, s.clone()),
        &[
            "Proposer un trajet",
            "Cahors → Figeac, du lundi au vendredi à 7 h 30 · 3 places",
            "Passagers sur mon chemin",
            "Mettre en pause",
            "Supprimer",
        ],
    );
    has_all(
        &render(Route::NewOffer {}, s.clone()),
        &[
            "Je pars de",
            "Je vais à",
            "Trajet régulier",
            "lundi",
            "Heure de départ",
            "Places libres",
            "Détour accepté",
            "Publier le trajet",
        ],
    );
    // Its place is confirmed (booking b1): said with the driver, the day
    // and the time, and no more drivers to look at.
    let ride = render(Route::Ride {}, s.clone());
    has_all(
        &ride,
        &[
            "Demander un trajet",
            "Livernon → Figeac, le 08/12/2026",
            "Place confirmée avec Jean M., mardi 8 décembre à 8 h 24",
            "Annuler la demande",
        ],
    );
    assert!(!ride.contains("Voir les conducteurs"), "{ride}");
    has_all(
        &render(Route::NewRequest {}, s.clone()),
        &[
            "Je dois arriver avant",
            "Je peux partir à partir de",
            "Souplesse",
            "Heure du retour",
            "rendez-vous médical",
            "Chercher un conducteur",
        ],
    );
    has_all(
        &render(Route::Bookings {}, s.clone()),
        &[
            "Jean M. vous prend",
            "mardi 8 décembre à 8 h 24",
            "confirmé",
        ],
    );
    has_all(
        &render(Route::Booking { id: "b1".into() }, s.clone()),
        &[
            "Jean M. vous prend",
            "Pour joindre le conducteur",
            "06 22 22 22 22",
            "tel:+33622222222",
            "Je suis au rendez-vous",
            "Le trajet a eu lieu",
            "Annuler",
        ],
    );
    has_all(
        &render(Route::Inbox {}, s.clone()),
        &["Réservation confirmée", "Jean M. vous prendra"],
    );
    has_all(
        &render(Route::Profile {}, s.clone()),
        &[
            "Votre prénom",
            "SMS",
            "J'accepte que mon numéro de téléphone soit montré",
            "Sans votre accord, rien n'est montré",
        ],
    );
    has_all(
        &render(Route::Settings {}, s),
        &[
            "Exporter mes données",
            "Supprimer mon compte",
            "Se déconnecter",
        ],
    );
}

#[tokio::test]
async fn a_driver_waiting_for_an_answer_sees_confirm_and_refuse() {
    let mut s = store();
    let booking = s.bookings.get_mut("b1").unwrap();
    booking.role = "driver".into();
    booking.status = BookingStatus::WaitingDriverConfirmation;
    booking.contact = None;
    let html = render(Route::Booking { id: "b1".into() }, s);
    has_all(&html, &["Vous prenez Marie D.", "Confirmer", "Refuser"]);
    assert!(!html.contains("Pour joindre"));
}

#[tokio::test]
async fn a_need_waiting_for_its_driver_says_who_was_asked() {
    let mut s = store();
    let booking = s.bookings.get_mut("b1").unwrap();
    booking.status = BookingStatus::WaitingDriverConfirmation;
    booking.can_say_done = false;
    let ride = render(Route::Ride {}, s.clone());
    has_all(
        &ride,
        &["Demande envoyée à Jean M.", "Voir les conducteurs"],
    );
    s.bookings.clear();
    has_all(
        &render(Route::Ride {}, s),
        &["En attente d'un conducteur", "Voir les conducteurs"],
    );
}

#[tokio::test]
async fn a_driver_reads_the_person_a_relay_booked_for_and_the_relay_line() {
    let mut s = store();
    let booking = s.bookings.get_mut("b1").unwrap();
    booking.role = "driver".into();
    booking.passenger.display_name = "Yvette R.".into();
    booking.booked_by = Some(PublicPerson {
        display_name: "France Services Figeac".into(),
    });
    booking.can_say_done = false;
    booking.contact = Some(ContactDetails {
        phone: Some("+33565340000".into()),
        email: None,
        through: Some("France Services Figeac".into()),
    });
    let html = render(Route::Booking { id: "b1".into() }, s.clone());
    has_all(
        &html,
        &[
            "Vous prenez Yvette R.",
            "Réservé par le relais France Services Figeac",
            "Joindre par le relais France Services Figeac : ",
            "05 65 34 00 00",
        ],
    );
    // Days before the trip, it cannot be said to have happened.
    assert!(!html.contains("Le trajet a eu lieu"), "{html}");
    has_all(
        &render(Route::Bookings {}, s.clone()),
        &[
            "Vous prenez Yvette R.",
            "Réservé par le relais France Services Figeac",
        ],
    );
    // The relay's side: the driver takes the person.
    let booking = s.bookings.get_mut("b1").unwrap();
    booking.role = "passenger".into();
    has_all(&render(Route::Bookings {}, s), &["Jean M. prend Yvette R."]);
}

#[tokio::test]
async fn an_offline_queue_is_announced() {
    let mut s = store();
    s.outbox.push(lotocar_mobile::store::Pending {
        key: "k".into(),
        action: lotocar_mobile::store::Action::DeleteOffer { id: "o1".into() },
        label: "Supprimer un trajet".into(),
        queued_at: Utc::now(),
    });
    let html = render(Route::Drive {}, s);
    has_all(
        &html,
        &[
            "Hors ligne — sera envoyé dès le retour du réseau (1 en attente).",
            "Cahors → Figeac",
        ],
    );
}

#[component]
fn Messages(field: String) -> Element {
    let errors = match field.as_str() {
        "trip" => OfferForm {
            days: [false; 7],
            seats: "12".into(),
            ..Default::default()
        }
        .to_input()
        .unwrap_err(),
        _ => NeedForm {
            time: "9h75".into(),
            ..Default::default()
        }
        .to_input()
        .unwrap_err(),
    };
    rsx! {
        FieldMessage { errors: errors.clone(), field: "origin" }
        FieldMessage { errors: errors.clone(), field: "schedule.weekdays" }
        FieldMessage { errors: errors.clone(), field: "seats" }
        FieldMessage { errors: errors.clone(), field: "schedule.arrive_by" }
    }
}

#[tokio::test]
async fn forms_show_french_validation_messages() {
    let mut dom = VirtualDom::new_with_props(
        Messages,
        MessagesProps {
            field: "trip".into(),
        },
    );
    dom.rebuild_in_place();
    let html = dioxus_ssr::render(&dom);
    has_all(
        &html,
        &[
            "Tapez le nom de la commune.",
            "Choisissez au moins un jour de la semaine.",
            "Le nombre de places doit être compris entre 1 et 8.",
        ],
    );
    // Each message can be found from its field (aria-describedby).
    assert!(html.contains("id=\"error-origin\""), "{html}");
    assert!(html.contains("id=\"error-schedule-weekdays\""), "{html}");
    let mut dom = VirtualDom::new_with_props(
        Messages,
        MessagesProps {
            field: "need".into(),
        },
    );
    dom.rebuild_in_place();
    has_all(&dioxus_ssr::render(&dom), &["Heure impossible"]);
}

fn staff_store(role: &str) -> Store {
    let mut s = store();
    s.me.as_mut().unwrap().roles =
        serde_json::from_value(serde_json::json!([{ "role": role, "territory_id": "lot" }]))
            .unwrap();
    s
}

#[tokio::test]
async fn relay_and_coordinator_screens_show_their_key_elements() {
    // Without a role, no relay space.
    assert!(!render(Route::Home {}, store()).contains("Espace relais"));
    has_all(
        &render(Route::Home {}, staff_store("relay")),
        &["Espace relais"],
    );
    let relay_home = render(Route::RelayHome {}, staff_store("relay"));
    has_all(
        &relay_home,
        &[
            "Espace relais",
            "Inscrire une personne",
            "Personnes inscrites",
        ],
    );
    assert!(!relay_home.contains("Coordination du territoire"));
    has_all(
        &render(Route::RelayHome {}, staff_store("coordinator")),
        &["Coordination du territoire"],
    );
    has_all(
        &render(Route::NewBeneficiary {}, staff_store("relay")),
        &[
            "Inscrire une personne",
            "Prénom et nom",
            "Téléphone (si elle en a un)",
            "Sa commune",
            "Le relais l'appelle",
            "Par SMS",
            "La personne est d'accord pour être inscrite",
            "Comment a-t-elle donné son accord ?",
        ],
    );
    has_all(
        &render(
            Route::NewRequestFor { id: "p1".into() },
            staff_store("relay"),
        ),
        &[
            "Pour la personne que vous accompagnez.",
            "Chercher un conducteur",
        ],
    );
    has_all(
        &render(
            Route::RecordOutcome { id: "n1".into() },
            staff_store("relay"),
        ),
        &[
            "trajet effectué",
            "aucun conducteur trouvé",
            "annulé par le passager",
            "annulé par le conducteur",
            "absent au rendez-vous",
            "Pourquoi ?",
        ],
    );
    has_all(
        &render(Route::Coordination {}, staff_store("coordinator")),
        &[
            "Demandes et candidats",
            "Chiffres d'impact",
            "Carte et demande non satisfaite",
            "Registre de preuve",
            "Relais et lieux",
            "Journal des actions",
        ],
    );
    for screen in [
        Route::Board {},
        Route::Impact {},
        Route::MapView {},
        Route::Registry {},
        Route::Team {},
        Route::Audit {},
    ] {
        // Read from the server: "loading" until it answers.
        has_all(
            &render(screen, staff_store("coordinator")),
            &["Chargement…", "← Retour"],
        );
    }
    has_all(
        &render(Route::Team {}, staff_store("coordinator")),
        &[
            "Ajouter un relais",
            "Ajouter un point de rendez-vous",
            "Sa position (latitude, longitude)",
            "Ajouter un nom local",
            "Le lieu qu'ils veulent dire",
        ],
    );
}

#[test]
fn registering_a_person_explains_what_is_missing_in_french() {
    let input = lotocar_shared::relay::BeneficiaryInput {
        display_name: "".into(),
        phone: None,
        commune_id: "".into(),
        reach_by: Some(lotocar_shared::relay::ReachBy::Sms),
        share_phone: false,
        consent_given: false,
        consent_method: "oral".into(),
    };
    let messages: Vec<String> = input
        .validate()
        .unwrap_err()
        .errors
        .into_iter()
        .map(|e| e.message)
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("prénom de la personne")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("commune de la personne")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("numéro de portable")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("d'accord pour être inscrite")),
        "{messages:?}"
    );
}
