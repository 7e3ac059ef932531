//! SMS and e-mail: sign-in codes and notifications reach an SMS gateway
//! (a fake at its HTTP boundary: it is a paid service) and an SMTP server
//! (a small real one, speaking the protocol), with the server not in
//! development mode: the codes are nowhere else.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::booking::*;
use common::sms::{Inbox, sms_gateway};
use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A minimal SMTP server that keeps every message it accepts.
async fn smtp_server() -> (String, Inbox) {
    let inbox: Inbox = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let kept = inbox.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let kept = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 test ESMTP\r\n").await.unwrap();
                while let Ok(Some(line)) = lines.next_line().await {
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250-test\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            write.write_all(b"354 go on\r\n").await.unwrap();
                            let mut message = String::new();
                            while let Ok(Some(line)) = lines.next_line().await {
                                if line == "." {
                                    break;
                                }
                                message.push_str(&line);
                                message.push('\n');
                            }
                            kept.lock().unwrap().push(message);
                            b"250 kept\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            break;
                        }
                        _ => b"250 OK\r\n",
                    };
                    write.write_all(answer).await.unwrap();
                }
            });
        }
    });
    (url, inbox)
}

/// The demo territory, its texts sent to a gateway (kept), no quiet hours.
async fn demo_with_sms() -> (Server, Inbox) {
    let (sms_url, texts) = sms_gateway().await;
    let server = Server::start_with(
        Backend::Sqlite,
        Options {
            demo: true,
            env: vec![
                ("LOTOCAR_SMS_URL".into(), sms_url),
                ("LOTOCAR_SMS_AUTHORIZATION".into(), "Bearer s3cret".into()),
                ("LOTOCAR_QUIET_START_HOUR".into(), "0".into()),
                ("LOTOCAR_QUIET_END_HOUR".into(), "0".into()),
            ],
            ..many_sign_ins()
        },
    )
    .await;
    (server, texts)
}

async fn wait_for(inbox: &Inbox, what: impl Fn(&str) -> bool) -> String {
    for _ in 0..200 {
        if let Some(found) = inbox.lock().unwrap().iter().find(|m| what(m)) {
            return found.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not received: {:?}", inbox.lock().unwrap());
}

/// The six digits after "code de connexion est ".
fn code_in(text: &str) -> String {
    let at = text.find("code de connexion est ").expect("a sign-in code")
        + "code de connexion est ".len();
    text[at..at + 6].to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn codes_and_notifications_go_by_sms_and_e_mail() {
    let (sms_url, texts) = sms_gateway().await;
    let (smtp_url, mails) = smtp_server().await;
    let server = Server::start_with(
        Backend::Sqlite,
        Options {
            dev: false,
            env: vec![
                ("LOTOCAR_SMS_URL".into(), sms_url),
                ("LOTOCAR_SMS_AUTHORIZATION".into(), "Bearer s3cret".into()),
                ("LOTOCAR_SMTP_URL".into(), smtp_url),
                (
                    "LOTOCAR_MAIL_FROM".into(),
                    "Lot'ô car <ne-pas-repondre@lotocar.test>".into(),
                ),
                ("LOTOCAR_BRAND".into(), "Lot'ô car".into()),
                ("LOTOCAR_PUBLIC_URL".into(), "https://lotocar.test".into()),
                ("LOTOCAR_QUIET_START_HOUR".into(), "0".into()),
                ("LOTOCAR_QUIET_END_HOUR".into(), "0".into()),
            ],
            ..Default::default()
        },
    )
    .await;

    // A passenger signs in by SMS: the code comes through the gateway.
    let started = server
        .post(
            "/api/v1/auth/start",
            None,
            &json!({ "contact": "06 12 34 56 78" }),
        )
        .await;
    assert_eq!(started.status, StatusCode::ACCEPTED);
    assert!(started.body.get("dev_code").is_none());
    let sms = wait_for(&texts, |t| t.contains("+33612345678")).await;
    let sms: Value = serde_json::from_str(&sms).unwrap();
    assert_eq!(sms["to"], "+33612345678");
    assert!(
        sms["text"]
            .as_str()
            .unwrap()
            .starts_with("Lot'ô car : votre code de connexion est ")
    );
    let code = code_in(sms["text"].as_str().unwrap());
    let passenger = server
        .post(
            "/api/v1/auth/verify",
            None,
            &json!({ "contact": "0612345678", "code": code }),
        )
        .await;
    assert_eq!(passenger.status, StatusCode::OK, "{}", passenger.body);
    let passenger = passenger.body["token"].as_str().unwrap().to_string();

    // A driver signs in by e-mail: the code comes by SMTP.
    server
        .post(
            "/api/v1/auth/start",
            None,
            &json!({ "contact": "marie@exemple.fr" }),
        )
        .await;
    let mail = wait_for(&mails, |m| m.contains("marie@exemple.fr")).await;
    assert!(mail.contains("Subject: Votre code de connexion"), "{mail}");
    let driver = server
        .post(
            "/api/v1/auth/verify",
            None,
            &json!({ "contact": "marie@exemple.fr", "code": code_in(&mail) }),
        )
        .await;
    assert_eq!(driver.status, StatusCode::OK, "{}", driver.body);
    let driver = driver.body["token"].as_str().unwrap().to_string();
    server
        .patch(
            "/api/v1/me",
            Some(&driver),
            &json!({ "display_name": "Marie Dupont" }),
        )
        .await;

    // The passenger waits; the driver's trip is announced to them by SMS
    // (no push subscription), with a link.
    let tuesday = next_weekday(1, 2);
    let need = post_need(&server, &passenger, &livernon_to_figeac(&tuesday)).await;
    let offer_id = post_commute(&server, &driver).await;
    let announced = wait_for(&texts, |t| t.contains("peut vous prendre")).await;
    let announced: Value = serde_json::from_str(&announced).unwrap();
    let text = announced["text"].as_str().unwrap();
    assert!(
        text.starts_with("Lot'ô car : Marie D. peut vous prendre"),
        "{text}"
    );
    assert!(text.contains("https://lotocar.test/requests/"), "{text}");

    // The passenger books: the driver, who signed in by e-mail, is told by e-mail.
    book(&server, &passenger, id_of(&need), &offer_id, &tuesday).await;
    let request = wait_for(&mails, |m| m.contains("Nouvelle demande de place")).await;
    assert!(request.contains("demande une place"), "{request}");
    assert!(
        request.contains("https://lotocar.test/bookings/"),
        "{request}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_registered_by_a_relay_gets_the_text_message_of_her_booking() {
    let (server, texts) = demo_with_sms().await;
    let relay = server.sign_in("relais.gramat@example.fr").await;
    let mut people = Vec::new();
    for (name, phone, reach) in [
        ("Yvette Roux", "06 33 33 33 33", "sms"),
        ("Jeanne Martin", "06 44 44 44 44", "relay_call"),
    ] {
        let person = server
            .post(
                "/api/v1/territories/lot/beneficiaries",
                Some(&relay),
                &json!({ "display_name": name, "phone": phone, "commune_id": LIVERNON,
                         "reach_by": reach, "consent_given": true, "consent_method": "oral" }),
            )
            .await;
        assert_eq!(person.status, StatusCode::CREATED, "{}", person.body);
        people.push(person.body["id"].as_str().unwrap().to_string());
    }
    let marie = server.sign_in("+33600000001").await;
    for (person, weekday) in people.iter().zip([1, 3]) {
        let date = next_weekday(weekday, 2);
        let need = post_need(&server, &relay, &need_for(person, &date)).await;
        booked_and_confirmed(
            &server,
            &relay,
            id_of(&need),
            first_match(&need),
            &date,
            &marie,
        )
        .await;
    }
    // Yvette (told by SMS) gets the confirmation on her phone; the relay
    // keeps it in its inbox.
    // Her text says who picks her up, when and where, and carries no link
    // (it would open the relay's account).
    let text = wait_for(&texts, |m| m.contains("+33633333333")).await;
    let text: Value = serde_json::from_str(&text).unwrap();
    let text = text["text"].as_str().unwrap();
    let tuesday = chrono::NaiveDate::parse_from_str(&next_weekday(1, 2), "%Y-%m-%d").unwrap();
    let expected = format!(
        "Lotocar : Marie D. vous prendra le {} à ",
        lotocar_shared::time::french_date(tuesday)
    );
    assert!(text.starts_with(&expected), "{text}");
    assert!(text.contains(" à Livernon"), "{text}");
    assert!(!text.contains("http"), "{text}");
    // The relay's inbox names the person each notice is about.
    let names: Vec<String> = server
        .get("/api/v1/notifications", Some(&relay))
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "booking_confirmed")
        .map(|n| n["body"].as_str().unwrap().to_string())
        .collect();
    assert!(
        names.iter().any(|b| b.contains("prendra Yvette R.")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|b| b.contains("prendra Jeanne M.")),
        "{names:?}"
    );
    let inbox = server.get("/api/v1/notifications", Some(&relay)).await;
    assert_eq!(
        inbox
            .body
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "booking_confirmed")
            .count(),
        2
    );
    // Jeanne (the relay calls her) gets no text.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !texts
            .lock()
            .unwrap()
            .iter()
            .any(|m| m.contains("+33644444444")),
        "{:?}",
        texts.lock().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn text_messages_end_their_sentences() {
    let (server, texts) = demo_with_sms().await;
    // Yvette is told by SMS; her driver confirms, then deletes the trip.
    let relay = server.sign_in("relais.gramat@example.fr").await;
    let person = server
        .post(
            "/api/v1/territories/lot/beneficiaries",
            Some(&relay),
            &json!({ "display_name": "Yvette Roux", "phone": "06 33 33 33 33", "commune_id": LIVERNON,
                     "reach_by": "sms", "consent_given": true, "consent_method": "oral" }),
        )
        .await;
    assert_eq!(person.status, StatusCode::CREATED, "{}", person.body);
    let ride = commuting_driver(&server, "+33611223344", false).await;
    let date = next_weekday(1, 2);
    let need = post_need(&server, &relay, &need_for(id_of(&person.body), &date)).await;
    booked_and_confirmed(
        &server,
        &relay,
        id_of(&need),
        &ride.offer_id,
        &date,
        &ride.driver,
    )
    .await;
    wait_for(&texts, |m| m.contains("+33633333333")).await;
    let deleted = server
        .delete(
            &format!("/api/v1/offers/{}", ride.offer_id),
            Some(&ride.driver),
        )
        .await;
    assert!(deleted.status.is_success(), "{}", deleted.body);
    let cancelled = wait_for(&texts, |m| {
        m.contains("+33633333333") && m.contains("supprimé ce trajet")
    })
    .await;
    let cancelled: Value = serde_json::from_str(&cancelled).unwrap();
    let text = cancelled["text"].as_str().unwrap();
    assert!(
        text.contains("supprimé ce trajet. Vous serez prévenu"),
        "a sentence runs into the next: {text}"
    );
    // Every text she got: sentences that end, before the link.
    for sms in texts.lock().unwrap().iter() {
        let sms: Value = serde_json::from_str(sms).unwrap();
        if sms["to"] != "+33633333333" {
            continue;
        }
        let text = sms["text"].as_str().unwrap();
        let words = text.split(" http").next().unwrap().trim_end();
        assert!(
            words.ends_with(['.', '!', '?', '»', ')']),
            "a text without its last full stop: {text}"
        );
    }
}
