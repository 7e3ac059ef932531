//! Form states of the screens, and how they become API bodies. The checks
//! are the shared ones, so the app shows the server's French messages
//! before anything is sent.

use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;
use lotocar_shared::api::{NeedInput, OfferInput, Place, PlaceInput};
use lotocar_shared::need::Purpose;
use lotocar_shared::schedule::{
    NeedScheduleInput, OfferScheduleInput, ScheduleKind, local_instant,
};
use lotocar_shared::text::search_key;
use lotocar_shared::time::{LocalTime, Weekday, Weekdays};
use lotocar_shared::validation::{FieldError, Invalid};

/// The territory's time zone (the app's, for now: Europe/Paris).
pub const TZ: Tz = chrono_tz::Europe::Paris;

pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&TZ).date_naive()
}

/// The message for `field`, if any.
pub fn error_for<'a>(errors: &'a [FieldError], field: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|e| e.field == field || e.field.starts_with(&format!("{field}.")))
        .map(|e| e.message.as_str())
}

/// What to search for a place typed as the app shows it: "Figeac (46100)"
/// is Figeac, "Le Foirail — Figeac (46100)" the local name Le Foirail.
pub fn place_query(typed: &str) -> &str {
    let typed = typed.split(" — ").next().unwrap_or(typed).trim();
    match typed.rfind(" (") {
        Some(at) if typed.ends_with(')') => typed[..at].trim(),
        _ => typed,
    }
}

/// The place among `found` that `typed` names in full: its label, or its
/// name or local name when no other place found has it.
pub fn named_exactly(typed: &str, found: &[Place]) -> Option<Place> {
    let key = search_key(typed);
    if key.is_empty() {
        return None;
    }
    if let Some(place) = found.iter().find(|p| search_key(&p.label) == key) {
        return Some(place.clone());
    }
    let named: Vec<&Place> = found
        .iter()
        .filter(|p| {
            search_key(&p.name) == key || p.alias.as_deref().is_some_and(|a| search_key(a) == key)
        })
        .collect();
    match named.first() {
        Some(first) if named.iter().all(|p| p.id == first.id) => Some((*first).clone()),
        _ => None,
    }
}

/// Settles a place typed in full but not chosen yet (the suggestions had
/// not come back when the form was sent): the place it names, if any.
pub async fn settle_place(api: &crate::api::Api, selected: &mut Option<Place>, typed: &str) {
    if selected.is_some() || search_key(place_query(typed)).is_empty() {
        return;
    }
    if let Ok(found) = api.places(place_query(typed)).await {
        *selected = named_exactly(typed, &found);
    }
}

fn place(selected: &Option<Place>, typed: &str, field: &str, invalid: &mut Invalid) -> PlaceInput {
    match selected {
        Some(p) => PlaceInput::id(p.id.clone()),
        None => {
            let typed = typed.trim();
            if typed.is_empty() {
                invalid.push(field, "Tapez le nom de la commune.");
            } else {
                invalid.push(
                    field,
                    format!(
                        "Aucune commune trouvée pour « {typed} » : vérifiez l'orthographe, ou choisissez dans la liste proposée."
                    ),
                );
            }
            PlaceInput::default()
        }
    }
}

fn date(text: &str, field: &str, invalid: &mut Invalid) -> Option<NaiveDate> {
    match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        Ok(date) => Some(date),
        Err(_) => {
            invalid.push(field, "Choisissez une date.");
            None
        }
    }
}

fn time(text: &str, field: &str, invalid: &mut Invalid) -> Option<LocalTime> {
    match text.trim().parse::<LocalTime>() {
        Ok(time) => Some(time),
        Err(message) => {
            invalid.push(field, message);
            None
        }
    }
}

fn optional_time(text: &str, field: &str, invalid: &mut Invalid) -> Option<LocalTime> {
    if text.trim().is_empty() {
        None
    } else {
        time(text, field, invalid)
    }
}

fn number(text: &str, field: &str, invalid: &mut Invalid) -> i64 {
    text.trim().parse().unwrap_or_else(|_| {
        invalid.push(field, "Indiquez un nombre.");
        0
    })
}

fn weekdays(days: &[bool; 7], invalid: &mut Invalid) -> Option<Weekdays> {
    let set = Weekdays::new(
        Weekday::ALL
            .into_iter()
            .zip(days)
            .filter(|(_, on)| **on)
            .map(|(d, _)| d),
    );
    if set.is_none() {
        invalid.push(
            "schedule.weekdays",
            "Choisissez au moins un jour de la semaine.",
        );
    }
    set
}

/// A change to [`Ends`]: a place chosen (or none), or text typed.
#[derive(Debug, Clone, PartialEq)]
pub enum EndsEdit {
    Origin(Option<Place>),
    OriginText(String),
    Destination(Option<Place>),
    DestinationText(String),
}

/// The two places of a trip or a need: chosen from the suggestions, or
/// only typed so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ends {
    pub origin: Option<Place>,
    pub destination: Option<Place>,
    /// What is typed in the place fields (see [`settle_place`]).
    pub origin_text: String,
    pub destination_text: String,
}

impl Ends {
    /// Settles both places typed in full but not chosen yet; whether one
    /// was.
    pub async fn settle(&mut self, api: &crate::api::Api) -> bool {
        let before = (self.origin.clone(), self.destination.clone());
        settle_place(api, &mut self.origin, &self.origin_text).await;
        settle_place(api, &mut self.destination, &self.destination_text).await;
        before != (self.origin.clone(), self.destination.clone())
    }

    pub fn apply(&mut self, edit: EndsEdit) {
        match edit {
            EndsEdit::Origin(place) => self.origin = place,
            EndsEdit::OriginText(text) => self.origin_text = text,
            EndsEdit::Destination(place) => self.destination = place,
            EndsEdit::DestinationText(text) => self.destination_text = text,
        }
    }

    /// Both places for the API, with a message for each one missing.
    fn to_input(&self, invalid: &mut Invalid) -> (PlaceInput, PlaceInput) {
        (
            place(&self.origin, &self.origin_text, "origin", invalid),
            place(
                &self.destination,
                &self.destination_text,
                "destination",
                invalid,
            ),
        )
    }
}

/// "Je conduis": a trip.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferForm {
    pub ends: Ends,
    pub regular: bool,
    pub days: [bool; 7],
    pub departure: String,
    pub back: String,
    pub date: String,
    pub seats: String,
    pub detour: String,
}

impl Default for OfferForm {
    fn default() -> Self {
        OfferForm {
            ends: Ends::default(),
            regular: true,
            days: [true, true, true, true, true, false, false],
            departure: "07:30".into(),
            back: String::new(),
            date: today().to_string(),
            seats: "3".into(),
            detour: "15".into(),
        }
    }
}

impl OfferForm {
    pub fn to_input(&self) -> Result<OfferInput, Vec<FieldError>> {
        let mut invalid = Invalid::new();
        let (origin, destination) = self.ends.to_input(&mut invalid);
        let date = date(&self.date, "schedule.from", &mut invalid);
        let departure = time(&self.departure, "schedule.departure_time", &mut invalid);
        let back = optional_time(&self.back, "schedule.return_time", &mut invalid);
        let schedule = if self.regular {
            OfferScheduleInput {
                kind: ScheduleKind::Weekly,
                weekdays: weekdays(&self.days, &mut invalid),
                departure_time: departure,
                return_time: back,
                from: date,
                until: None,
                pauses: Vec::new(),
                departure: None,
                return_departure: None,
            }
        } else {
            let at = |t: Option<LocalTime>| {
                date.zip(t)
                    .map(|(d, t)| local_instant(TZ, d, t).fixed_offset())
            };
            OfferScheduleInput {
                kind: ScheduleKind::Once,
                weekdays: None,
                departure_time: None,
                return_time: None,
                from: None,
                until: None,
                pauses: Vec::new(),
                departure: at(departure),
                return_departure: at(back),
            }
        };
        let input = OfferInput {
            origin,
            destination,
            schedule,
            seats: number(&self.seats, "seats", &mut invalid),
            max_detour_minutes: number(&self.detour, "max_detour_minutes", &mut invalid),
        };
        if let Err(more) = input.validate() {
            for error in more.errors {
                if !invalid.errors.iter().any(|e| e.field == error.field) {
                    invalid.errors.push(error);
                }
            }
        }
        invalid.finish(|| input).map_err(|i| i.errors)
    }
}

/// "Je cherche un trajet": a need.
#[derive(Debug, Clone, PartialEq)]
pub struct NeedForm {
    pub ends: Ends,
    pub regular: bool,
    pub date: String,
    pub days: [bool; 7],
    /// Arrive by (true) or leave after (false).
    pub arrive: bool,
    pub time: String,
    pub flexibility: String,
    pub back: String,
    pub purpose: Purpose,
}

impl Default for NeedForm {
    fn default() -> Self {
        NeedForm {
            ends: Ends::default(),
            regular: false,
            date: (today() + chrono::Duration::days(1)).to_string(),
            days: [true, true, true, true, true, false, false],
            arrive: true,
            time: "09:00".into(),
            flexibility: "15".into(),
            back: String::new(),
            purpose: Purpose::Medical,
        }
    }
}

impl NeedForm {
    pub fn to_input(&self) -> Result<NeedInput, Vec<FieldError>> {
        let mut invalid = Invalid::new();
        let (origin, destination) = self.ends.to_input(&mut invalid);
        let field = if self.arrive {
            "schedule.arrive_by"
        } else {
            "schedule.depart_after"
        };
        let when = time(&self.time, field, &mut invalid);
        let back = optional_time(&self.back, "schedule.return_after", &mut invalid);
        let (arrive_by, depart_after) = if self.arrive {
            (when, None)
        } else {
            (None, when)
        };
        let schedule = NeedScheduleInput {
            kind: if self.regular {
                ScheduleKind::Weekly
            } else {
                ScheduleKind::Once
            },
            date: if self.regular {
                None
            } else {
                date(&self.date, "schedule.date", &mut invalid)
            },
            weekdays: if self.regular {
                weekdays(&self.days, &mut invalid)
            } else {
                None
            },
            arrive_by,
            depart_after,
            flexibility_minutes: number(
                &self.flexibility,
                "schedule.flexibility_minutes",
                &mut invalid,
            ),
            return_after: back,
            from: None,
            until: None,
        };
        let input = NeedInput {
            origin,
            destination,
            schedule,
            seats: 1,
            purpose: self.purpose,
            on_behalf_of: None,
        };
        if let Err(more) = input.validate() {
            for error in more.errors {
                if !invalid.errors.iter().any(|e| e.field == error.field) {
                    invalid.errors.push(error);
                }
            }
        }
        invalid.finish(|| input).map_err(|i| i.errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lotocar_shared::api::PlaceKind;

    fn figeac() -> Place {
        Place {
            id: "commune:46102".into(),
            name: "Figeac".into(),
            insee: Some("46102".into()),
            kind: PlaceKind::Commune,
            lat: 44.6098,
            lon: 2.0346,
            label: "Figeac (46100)".into(),
            departement: Some("46".into()),
            population: Some(9793),
            alias: None,
        }
    }

    #[test]
    fn an_empty_trip_form_says_what_is_missing_in_french() {
        let form = OfferForm {
            days: [false; 7],
            seats: "0".into(),
            departure: "25:00".into(),
            ..Default::default()
        };
        let errors = form.to_input().unwrap_err();
        assert_eq!(
            error_for(&errors, "origin"),
            Some("Tapez le nom de la commune.")
        );
        assert_eq!(
            error_for(&errors, "schedule.weekdays"),
            Some("Choisissez au moins un jour de la semaine.")
        );
        assert!(
            error_for(&errors, "schedule.departure_time")
                .unwrap()
                .starts_with("Heure impossible")
        );
        assert!(
            error_for(&errors, "seats")
                .unwrap()
                .contains("entre 1 et 8")
        );
    }

    #[test]
    fn a_complete_need_form_makes_the_api_body() {
        let form = NeedForm {
            ends: Ends {
                origin: Some(Place {
                    id: "commune:46176".into(),
                    ..figeac()
                }),
                destination: Some(figeac()),
                ..Ends::default()
            },
            date: "2030-12-08".into(),
            time: "9h30".into(),
            back: "14:00".into(),
            ..Default::default()
        };
        let input = form.to_input().unwrap();
        assert_eq!(input.origin.place_id.as_deref(), Some("commune:46176"));
        let json = serde_json::to_value(&input.schedule).unwrap();
        assert_eq!(json["kind"], "once");
        assert_eq!(json["arrive_by"], "09:30");
        assert_eq!(json["return_after"], "14:00");
        assert_eq!(json["date"], "2030-12-08");
    }

    #[test]
    fn a_place_typed_in_full_is_the_place_it_names() {
        let saint_cere = Place {
            id: "commune:46251".into(),
            name: "Saint-Céré".into(),
            label: "Saint-Céré (46400)".into(),
            ..figeac()
        };
        let local = Place {
            id: "mp:foirail".into(),
            name: "Figeac".into(),
            label: "Le Foirail — Figeac (46100)".into(),
            alias: Some("Le Foirail".into()),
            ..figeac()
        };
        let found = [figeac(), saint_cere.clone(), local.clone()];
        let named = |typed: &str| named_exactly(typed, &found).map(|p| p.id);
        assert_eq!(named("Figeac (46100)").as_deref(), Some("commune:46102"));
        assert_eq!(named("st cere").as_deref(), Some("commune:46251"));
        assert_eq!(named("SAINT-CÉRÉ").as_deref(), Some("commune:46251"));
        assert_eq!(named("le foirail").as_deref(), Some("mp:foirail"));
        // Two places are called Figeac here: the person chooses.
        assert_eq!(named("figeac"), None);
        assert_eq!(named("Fig"), None);
        assert_eq!(named(""), None);
        assert_eq!(place_query("Figeac (46100)"), "Figeac");
        assert_eq!(place_query("Le Foirail — Figeac (46100)"), "Le Foirail");
        assert_eq!(place_query(" St Cere "), "St Cere");
    }

    #[test]
    fn a_one_off_trip_is_sent_as_an_instant_with_its_offset() {
        let form = OfferForm {
            ends: Ends {
                origin: Some(figeac()),
                destination: Some(Place {
                    id: "commune:46042".into(),
                    lat: 44.44,
                    lon: 1.44,
                    ..figeac()
                }),
                ..Ends::default()
            },
            regular: false,
            date: "2030-07-01".into(),
            departure: "08:15".into(),
            ..Default::default()
        };
        let input = form.to_input().unwrap();
        let json = serde_json::to_value(&input.schedule).unwrap();
        assert_eq!(json["departure"], "2030-07-01T08:15:00+02:00");
    }
}
