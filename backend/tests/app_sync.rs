//! The app's offline store and outbox (`lotocar_mobile::sync::Engine`)
//! against the real server: what a person does without network is sent
//! exactly once when the network is back, even when the server restarts
//! between two attempts; what was deleted on the server disappears from the
//! phone; when both changed, the server wins and the person is told.

mod common;

use common::*;
use lotocar_mobile::api::Api;
use lotocar_mobile::store::{Action, Store};
use lotocar_mobile::sync::{Engine, Outcome};
use lotocar_shared::api::{OfferInput, OfferPatch};
use serde_json::json;

on_both_databases!(
    offline_actions_reach_the_server_exactly_once,
    the_server_wins_and_the_person_is_told
);

/// An address where nothing listens: the phone has no network.
fn no_network() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn offer_input(from: &str, to: &str, departure: &str) -> OfferInput {
    serde_json::from_value(weekly_offer(from, to, departure, &date_in(1))).unwrap()
}

async fn server_offers(server: &Server, token: &str) -> Vec<serde_json::Value> {
    let list = server.get("/api/v1/offers", Some(token)).await;
    assert_eq!(list.status, 200);
    list.body.as_array().unwrap().clone()
}

async fn offline_actions_reach_the_server_exactly_once(backend: Backend) {
    let mut server = Server::start(backend).await;
    let token = server.sign_in_as("0611111111", "Marie Dupont").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.json");

    // Signed in, then the network goes: two trips are posted offline.
    let mut engine = Engine::new(Api::new(&no_network()), Store::new(), Some(path.clone()));
    engine.signed_in(token.clone());
    let morning = engine
        .perform(
            Action::CreateOffer {
                input: offer_input(CAHORS, FIGEAC, "07:30"),
            },
            "Trajet Cahors → Figeac",
        )
        .await;
    assert_eq!(morning, Outcome::Queued);
    let evening = engine
        .perform(
            Action::CreateOffer {
                input: offer_input(FIGEAC, CAJARC, "06:45"),
            },
            "Trajet Figeac → Cajarc",
        )
        .await;
    assert_eq!(evening, Outcome::Queued);
    assert!(server_offers(&server, &token).await.is_empty());

    // The phone is switched off and on: the outbox was on disk.
    drop(engine);
    let store = Store::load(&path);
    assert_eq!(store.outbox.len(), 2);
    let labels: Vec<&str> = store.outbox.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(labels, ["Trajet Cahors → Figeac", "Trajet Figeac → Cajarc"]);

    // The first one reached the server, but the answer was lost on the
    // way back (the phone still thinks it was not sent).
    let first = &store.outbox[0];
    let reached = server
        .http
        .post(server.url("/api/v1/offers"))
        .bearer_auth(&token)
        .header("idempotency-key", &first.key)
        .json(&weekly_offer(CAHORS, FIGEAC, "07:30", &date_in(1)))
        .send()
        .await
        .unwrap();
    assert_eq!(reached.status(), 201);
    assert_eq!(server_offers(&server, &token).await.len(), 1);

    // The server restarts; then the network comes back.
    server.restart().await;
    let mut engine = Engine::new(Api::new(&server.base), store, Some(path.clone()));
    let replay = engine.replay().await;
    assert_eq!(replay.sent, 2, "{replay:?}");
    assert!(replay.refused.is_empty(), "{replay:?}");
    assert_eq!(replay.left, 0);
    assert!(engine.store.outbox.is_empty());

    // Exactly one of each on the server, and the phone has both.
    let offers = server_offers(&server, &token).await;
    assert_eq!(offers.len(), 2, "{offers:?}");
    let mut summaries: Vec<&str> = offers
        .iter()
        .map(|o| o["summary"].as_str().unwrap())
        .collect();
    summaries.sort();
    assert!(summaries[0].contains("Cahors"), "{summaries:?}");
    assert!(summaries[1].contains("Figeac → Cajarc"), "{summaries:?}");
    assert_eq!(engine.store.offers.len(), 2);

    // Replaying again (a second wake-up, after another restart) sends
    // nothing: the outbox saved on disk is empty.
    server.restart().await;
    let mut engine = Engine::new(
        Api::new(&server.base),
        Store::load(&path),
        Some(path.clone()),
    );
    assert!(engine.store.outbox.is_empty());
    assert_eq!(engine.replay().await.sent, 0);
    assert_eq!(server_offers(&server, &token).await.len(), 2);

    // Online, an action goes at once.
    let done = engine
        .perform(
            Action::CreateOffer {
                input: offer_input(GOURDON, CAHORS, "08:00"),
            },
            "Trajet Gourdon → Cahors",
        )
        .await;
    assert_eq!(done, Outcome::Done);
    assert_eq!(server_offers(&server, &token).await.len(), 3);

    // A trip deleted elsewhere (on the web, by a relay) disappears from the
    // phone at the next sync, and the person is told.
    engine.pull().await.unwrap();
    let gone = engine
        .store
        .offers
        .values()
        .find(|o| o.summary.contains("Gourdon"))
        .unwrap()
        .id
        .clone();
    let deleted = server
        .delete(&format!("/api/v1/offers/{gone}"), Some(&token))
        .await;
    assert_eq!(deleted.status, 204);
    let notes = engine.pull().await.unwrap();
    assert!(!engine.store.offers.contains_key(&gone));
    assert_eq!(engine.store.offers.len(), 2);
    assert!(
        notes.iter().any(|n| n.starts_with("Trajet supprimé")),
        "{notes:?}"
    );
    // And that too survives a restart of the app.
    assert!(!Store::load(&path).offers.contains_key(&gone));
}

async fn the_server_wins_and_the_person_is_told(backend: Backend) {
    let server = Server::start(backend).await;
    let token = server.sign_in_as("0611111111", "Marie Dupont").await;
    let mut engine = Engine::new(Api::new(&server.base), Store::new(), None);
    engine.signed_in(token.clone());
    let outcome = engine
        .perform(
            Action::CreateOffer {
                input: offer_input(CAHORS, FIGEAC, "07:30"),
            },
            "Trajet Cahors → Figeac",
        )
        .await;
    assert_eq!(outcome, Outcome::Done);
    engine.pull().await.unwrap();
    let id = engine.store.offers.keys().next().unwrap().clone();

    // Offline, the driver lowers the seats to 2 and pauses the trip...
    let online = engine.api.clone();
    engine.api = Api::new(&no_network()).with_token(Some(token.clone()));
    let seats = engine
        .perform(
            Action::PatchOffer {
                id: id.clone(),
                patch: OfferPatch {
                    seats: Some(2),
                    ..Default::default()
                },
            },
            "Places du trajet Cahors → Figeac",
        )
        .await;
    assert_eq!(seats, Outcome::Queued);
    // ...while, on the web, the same person deletes it.
    let deleted = server
        .delete(&format!("/api/v1/offers/{id}"), Some(&token))
        .await;
    assert_eq!(deleted.status, 204);

    // Back online: the change cannot apply; it is dropped with a note the
    // person can read, and the phone forgets the trip.
    engine.api = online;
    let replay = engine.replay().await;
    assert_eq!(replay.sent, 0);
    assert_eq!(replay.left, 0);
    assert_eq!(replay.refused.len(), 1, "{replay:?}");
    assert!(
        replay.refused[0].starts_with("Non envoyé : Places du trajet Cahors → Figeac"),
        "{replay:?}"
    );
    engine.pull().await.unwrap();
    assert!(engine.store.offers.is_empty());
    assert!(
        engine
            .store
            .notes
            .iter()
            .any(|n| n.starts_with("Non envoyé"))
    );

    // A second trip, changed on the server (seats) while the phone held an
    // older copy: the server's copy replaces the phone's.
    engine
        .perform(
            Action::CreateOffer {
                input: offer_input(FIGEAC, CAJARC, "06:45"),
            },
            "Trajet Figeac → Cajarc",
        )
        .await;
    engine.pull().await.unwrap();
    let (id, local) = engine.store.offers.iter().next().unwrap();
    assert_eq!(local.seats, 3);
    let id = id.clone();
    let changed = server
        .patch(
            &format!("/api/v1/offers/{id}"),
            Some(&token),
            &json!({ "seats": 1 }),
        )
        .await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    engine.pull().await.unwrap();
    assert_eq!(engine.store.offers[&id].seats, 1);
}
