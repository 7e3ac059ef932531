use super::*;

fn offer_json(extra: &str) -> String {
    format!(
        r#"{{"origin":{{"place_id":"commune:46042"}},"destination":{{"place_id":"commune:46102"}},
        "schedule":{{"kind":"weekly","weekdays":["mon"],"departure_time":"07:30","from":"2026-12-01"}}{extra}}}"#
    )
}

#[test]
fn an_offer_reports_every_faulty_field() {
    let input: OfferInput =
        serde_json::from_str(&offer_json(r#","seats":0,"max_detour_minutes":90"#)).unwrap();
    let invalid = input.validate().unwrap_err();
    let fields: Vec<&str> = invalid.errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["seats", "max_detour_minutes"]);
    assert!(invalid.errors.iter().all(|e| !e.message.is_empty()));
}

#[test]
fn an_offer_defaults_to_three_seats_and_fifteen_minutes() {
    let input: OfferInput = serde_json::from_str(&offer_json("")).unwrap();
    let draft = input.validate().unwrap();
    assert_eq!(draft.seats.get(), 3);
    assert_eq!(draft.max_detour.minutes(), 15);
}

#[test]
fn places_need_an_id_or_a_labelled_point() {
    assert!(PlaceInput::default().validate().is_err());
    let point = PlaceInput {
        lat: Some(44.6),
        lon: Some(2.03),
        ..Default::default()
    };
    assert_eq!(point.validate().unwrap_err().errors[0].field, "label");
    let both = PlaceInput {
        place_id: Some("commune:46102".into()),
        lat: Some(44.6),
        lon: Some(2.03),
        label: None,
    };
    assert!(both.validate().is_err());
}

#[test]
fn sign_in_codes_are_six_digits() {
    let ok = AuthVerify {
        contact: "06 12 34 56 78".into(),
        code: "123 456".into(),
    };
    assert_eq!(ok.validate().unwrap().1, "123456");
    let bad = AuthVerify {
        contact: "nope".into(),
        code: "12a".into(),
    };
    assert_eq!(bad.validate().unwrap_err().errors.len(), 2);
}
