//! What was found, as the API shows it: the match with its stops, its
//! detour class and a French sentence that explains it.

use std::collections::HashMap;

use chrono_tz::Tz;
use lotocar_shared::api::{Leg, Match, MatchStop, PublicPerson, TripPlace};
use lotocar_shared::offer::DetourClass;
use lotocar_shared::schedule::clock_time;
use lotocar_shared::time::Weekdays;

use super::engine::{Found, Need, Offer, Stop};

/// The match of `offer` and `need` as the API shows it; `seats_left` is the
/// offer's seats until `bookings` counts those taken.
pub fn to_match(
    f: &Found,
    offer: &Offer,
    need: &Need,
    names: &HashMap<String, String>,
    for_driver: bool,
) -> Match {
    let name_of = |id: &str| PublicPerson {
        display_name: names.get(id).cloned().unwrap_or_else(|| "Membre".into()),
    };
    Match {
        offer_id: offer.id.clone(),
        request_id: need.id.clone(),
        date: f.date,
        leg: f.offer_leg,
        need_leg: f.need_leg,
        pickup: stop(&f.pickup.place, &f.pickup_at),
        dropoff: stop(&f.dropoff.place, &f.dropoff_at),
        detour_minutes: (f.detour_minutes * 10.0).round() / 10.0,
        detour_class: DetourClass::of(f.detour_minutes),
        walk_meters: f.walk_meters().round() as u32,
        driver: name_of(&offer.driver_id),
        passenger: for_driver.then(|| name_of(&need.passenger_id)),
        weekdays: f.weekdays.clone(),
        dates: f.dates.clone(),
        seats_left: i64::from(offer.seats),
        score: ((f.detour_minutes + f.deviation_minutes / 100.0 + f.walk_meters() / 100_000.0)
            * 1000.0)
            .round()
            / 1000.0,
        explanation: explain(f),
    }
}

/// "le mardi 8 décembre" or "du lundi au vendredi".
pub fn when(found: &Found) -> String {
    if let Some(days) = Weekdays::new(found.weekdays.iter().copied()) {
        return days.french();
    }
    format!("le {}", lotocar_shared::time::french_date(found.date))
}

/// "Figeac" out of "Figeac (46100)".
pub fn short(label: &str) -> &str {
    label.split(" (").next().unwrap_or(label)
}

fn explain(found: &Found) -> String {
    let detour = found.detour_minutes.ceil() as i64;
    let detour = if detour <= 0 {
        "sans détour pour le conducteur".to_string()
    } else {
        format!("+{detour} min de détour pour le conducteur")
    };
    let walk = |stop: &Stop, verb: &str| {
        if stop.walk_meters > 0.0 {
            format!(
                " ({} m à pied {verb})",
                (stop.walk_meters / 10.0).round() as i64 * 10
            )
        } else {
            String::new()
        }
    };
    let mut text = format!(
        "{} : {detour}, prise en charge à {} à {}{}, arrivée à {} à {}{}.",
        capitalize(&when(found)),
        clock_time(&found.pickup_at).spoken(),
        short(&found.pickup.place.label),
        walk(&found.pickup, "pour y aller"),
        clock_time(&found.dropoff_at).spoken(),
        short(&found.dropoff.place.label),
        walk(&found.dropoff, "ensuite"),
    );
    if found.need_leg == Leg::Return {
        text.insert_str(0, "Retour — ");
    }
    text
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A stop with its local time.
pub fn stop(place: &TripPlace, at: &chrono::DateTime<Tz>) -> MatchStop {
    MatchStop {
        place: place.clone(),
        time: clock_time(at).to_string(),
        at: at.fixed_offset(),
    }
}
