//! `lotocar bench lot-scenario`: the 2019 experiment replayed on the Lot's
//! real communes (331 drivers, 227 needs), to show what each lever of
//! matching is worth to a coordinator: the spreadsheet rule, detour
//! matching, meeting points, flexibility.

use chrono::Duration;
use lotocar_shared::GeoPoint;
use lotocar_shared::api::TripPlace;
use lotocar_shared::schedule::{
    NeedOnce, NeedSchedule, NeedWeekly, OfferSchedule, OnceTrip, Timing, WeeklyTrip, local_instant,
};
use lotocar_shared::time::{Weekday, Weekdays};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use super::matching::{match_need, reference_day};
use super::world::{World, around, centre, time, time_between};
use crate::demo;
use crate::matching::engine::{Ends, Need, NeedStops, Offer, Rules, Stop};
use crate::matching::stops_around;
use crate::places::gazetteer::Gazetteer;
use crate::routing::CrowFly;

const DRIVERS: usize = 331;
const NEEDS: usize = 227;
/// Where the Lot's drivers commute to.
const HUBS: &[&str] = &["46042", "46102", "46127", "46309", "46128", "46251"];
const CAHORS: &str = "46042";
const FIGEAC: &str = "46102";

pub fn scenario(seed: u64) -> anyhow::Result<()> {
    let gazetteer = Gazetteer::load_embedded()?;
    let world = World::new(&gazetteer, |c| c.departement == "46", 0, HUBS);
    let (monday, now) = reference_day();
    let mut rng = StdRng::seed_from_u64(seed);
    let hub = |insee: &str| gazetteer.current(insee).expect("Lot hub");

    let trips: Vec<Offer> = (0..DRIVERS)
        .map(|i| {
            let home = world.resident_commune(&mut rng);
            let work = world.destination_town(&mut rng, home, 70.0);
            let schedule = if rng.random_bool(0.8) {
                OfferSchedule::Weekly(
                    WeeklyTrip::new(
                        Weekdays::WORKDAYS,
                        time_between(&mut rng, 6 * 60 + 45, 8 * 60 + 30),
                        Some(time_between(&mut rng, 16 * 60 + 45, 18 * 60 + 30)),
                        monday,
                        None,
                        Vec::new(),
                    )
                    .expect("valid"),
                )
            } else {
                // An occasional driver with one trip that week.
                let date = monday + Duration::days(rng.random_range(0..6));
                let at = local_instant(world.tz, date, time_between(&mut rng, 8 * 60, 17 * 60));
                let back = at + Duration::minutes(rng.random_range(90..300));
                OfferSchedule::Once(
                    OnceTrip::new(at.fixed_offset(), Some(back.fixed_offset())).expect("valid"),
                )
            };
            let (origin, destination) = (around(&mut rng, home, 1500.0), centre(work));
            Offer {
                ends: Ends::of(&origin, &destination),
                id: format!("driver{i}"),
                driver_id: format!("driver{i}"),
                origin,
                destination,
                schedule,
                seats: 3,
                max_detour_minutes: [5.0, 10.0, 15.0, 15.0, 20.0][rng.random_range(0..5)],
                tz: world.tz,
            }
        })
        .collect();

    let needs: Vec<Need> = (0..NEEDS)
        .map(|i| {
            let home = world.resident_commune(&mut rng);
            let purpose = rng.random_range(0..100);
            let weekday = monday + Duration::days(rng.random_range(0..5));
            let (destination, schedule) = if purpose < 45 {
                // Medical: the hospitals of Cahors and Figeac, or a nearer town.
                let to = match rng.random_range(0..100) {
                    0..45 => hub(CAHORS),
                    45..80 => hub(FIGEAC),
                    _ => world.destination_town(&mut rng, home, 70.0),
                };
                let arrive = time_between(&mut rng, 8 * 60 + 30, 15 * 60);
                (
                    to,
                    once(
                        weekday,
                        Some(arrive),
                        None,
                        Some(time(arrive.minutes() + 120)),
                    ),
                )
            } else if purpose < 65 {
                // Administration: préfecture, employment office.
                let to = if rng.random_bool(0.6) {
                    hub(CAHORS)
                } else {
                    world.destination_town(&mut rng, home, 70.0)
                };
                let arrive = time_between(&mut rng, 9 * 60, 11 * 60 + 30);
                (
                    to,
                    once(
                        weekday,
                        Some(arrive),
                        None,
                        Some(time(arrive.minutes() + 90)),
                    ),
                )
            } else if purpose < 85 {
                // Work or training, every weekday.
                let to = world.destination_town(&mut rng, home, 70.0);
                let schedule = NeedSchedule::Weekly(NeedWeekly {
                    weekdays: Weekdays::WORKDAYS,
                    timing: Timing::new(Some(time_between(&mut rng, 8 * 60, 9 * 60)), None)
                        .expect("valid"),
                    flexibility_minutes: 0,
                    return_after: Some(time_between(&mut rng, 17 * 60, 18 * 60)),
                    from: Some(monday),
                    until: None,
                });
                (to, schedule)
            } else {
                // Weekly shopping in the nearest town, in the morning.
                let to = world.destination_town(&mut rng, home, 40.0);
                let day = if rng.random_bool(0.3) {
                    monday + Duration::days(5)
                } else {
                    weekday
                };
                let leave = time_between(&mut rng, 8 * 60 + 30, 10 * 60);
                (
                    to,
                    once(day, None, Some(leave), Some(time(leave.minutes() + 150))),
                )
            };
            let (origin, destination) = (around(&mut rng, home, 1500.0), centre(destination));
            Need {
                ends: Ends::of(&origin, &destination),
                id: format!("need{i}"),
                passenger_id: format!("passenger{i}"),
                origin,
                destination,
                schedule,
                seats: 1,
                tz: world.tz,
            }
        })
        .collect();

    let router = CrowFly::default();
    let rules = Rules::default();
    let meeting_points: Vec<TripPlace> = demo::MEETING_POINTS
        .iter()
        .map(|(name, lat, lon)| {
            let point = GeoPoint::new(*lat, *lon).expect("demo points are valid");
            TripPlace {
                place_id: None,
                label: (*name).to_string(),
                insee: gazetteer.nearest_commune(point).map(|c| c.insee.clone()),
                lat: *lat,
                lon: *lon,
            }
        })
        .collect();
    let trip_refs: Vec<&Offer> = trips.iter().collect();
    let commune = |place: &TripPlace| place.insee.clone();

    let served = |flexibility: Option<u16>, walking: bool, same_communes: bool| -> usize {
        needs
            .iter()
            .filter(|need| {
                let need = with_flexibility(need, flexibility.unwrap_or(0));
                let stops = if walking {
                    NeedStops {
                        origin: stops_around(&need.origin, &meeting_points, &gazetteer, &rules),
                        destination: stops_around(
                            &need.destination,
                            &meeting_points,
                            &gazetteer,
                            &rules,
                        ),
                    }
                } else {
                    NeedStops {
                        origin: vec![Stop::at(&need.origin)],
                        destination: vec![Stop::at(&need.destination)],
                    }
                };
                let candidates: Vec<&Offer> = trip_refs
                    .iter()
                    .copied()
                    .filter(|t| {
                        !same_communes
                            || (commune(&t.origin) == commune(&need.origin)
                                && commune(&t.destination) == commune(&need.destination))
                    })
                    .collect();
                !match_need(&candidates, &need, &stops, now, &rules, &router, false).is_empty()
            })
            .count()
    };

    let variants = [
        (
            "spreadsheet: same origin and destination commune",
            served(None, false, true),
        ),
        ("detour matching", served(None, false, false)),
        (
            "detour matching + meeting points",
            served(None, true, false),
        ),
        (
            "detour matching + meeting points + 15 min flexibility",
            served(Some(15), true, false),
        ),
        (
            "detour matching + meeting points + 30 min flexibility",
            served(Some(30), true, false),
        ),
    ];
    for (variant, count) in variants {
        println!(
            "{}",
            json!({
                "variant": variant,
                "drivers": DRIVERS,
                "needs": NEEDS,
                "served": count,
                "share": (count as f64 / NEEDS as f64 * 1000.0).round() / 1000.0,
                "seed": seed,
            })
        );
    }
    Ok(())
}

fn once(
    date: chrono::NaiveDate,
    arrive_by: Option<lotocar_shared::time::LocalTime>,
    depart_after: Option<lotocar_shared::time::LocalTime>,
    back: Option<lotocar_shared::time::LocalTime>,
) -> NeedSchedule {
    let date = if Weekday::of(date) == Weekday::Sun {
        date + Duration::days(1)
    } else {
        date
    };
    NeedSchedule::Once(NeedOnce {
        date,
        timing: Timing::new(arrive_by, depart_after).expect("valid"),
        flexibility_minutes: 0,
        return_after: back,
    })
}

/// The need with the passenger accepting `minutes` either way.
fn with_flexibility(need: &Need, minutes: u16) -> Need {
    let mut need = need.clone();
    match &mut need.schedule {
        NeedSchedule::Once(n) => n.flexibility_minutes = minutes,
        NeedSchedule::Weekly(n) => n.flexibility_minutes = minutes,
    }
    need
}
