use super::*;
use crate::routing::CrowFly;
use chrono::TimeZone;
use chrono_tz::Europe::Paris;
use lotocar_shared::schedule::{NeedOnce, Timing, WeeklyTrip};

fn place(lat: f64, lon: f64, label: &str) -> TripPlace {
    TripPlace {
        place_id: None,
        label: label.into(),
        insee: None,
        lat,
        lon,
    }
}

fn cahors() -> TripPlace {
    place(44.44683, 1.44062, "Cahors")
}
fn figeac() -> TripPlace {
    place(44.60980, 2.03460, "Figeac")
}
fn livernon() -> TripPlace {
    place(44.64751, 1.84234, "Livernon")
}
fn gourdon() -> TripPlace {
    place(44.73690, 1.38197, "Gourdon")
}

fn commute(from: TripPlace, to: TripPlace) -> Offer {
    Offer {
        ends: Ends::of(&from, &to),
        id: "t".into(),
        driver_id: "d".into(),
        origin: from,
        destination: to,
        schedule: OfferSchedule::Weekly(
            WeeklyTrip::new(
                Weekdays::WORKDAYS,
                LocalTime::new(7, 30).unwrap(),
                Some(LocalTime::new(17, 30).unwrap()),
                NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
                None,
                vec![],
            )
            .unwrap(),
        ),
        seats: 3,
        max_detour_minutes: 15.0,
        tz: Paris,
    }
}

fn need(from: TripPlace, to: TripPlace, arrive_by: (u32, u32)) -> Need {
    Need {
        ends: Ends::of(&from, &to),
        id: "n".into(),
        passenger_id: "p".into(),
        origin: from,
        destination: to,
        schedule: NeedSchedule::Once(NeedOnce {
            date: NaiveDate::from_ymd_opt(2026, 12, 8).unwrap(),
            timing: Timing::new(LocalTime::new(arrive_by.0, arrive_by.1), None).unwrap(),
            flexibility_minutes: 0,
            return_after: None,
        }),
        seats: 1,
        tz: Paris,
    }
}

fn run(offer: Offer, need: Need) -> Vec<Found> {
    let rules = Rules::default();
    let stops = vec![NeedStops {
        origin: vec![Stop::at(&need.origin)],
        destination: vec![Stop::at(&need.destination)],
    }];
    let (offers, needs) = (vec![&offer], vec![&need]);
    let mut p = Plan::all();
    let now = Paris
        .with_ymd_and_hms(2026, 12, 1, 12, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    plan(&mut p, &offers, 0, &needs, 0, &stops, &rules);
    let router = CrowFly::default();
    super::run(p, &offers, &needs, &stops, now, &rules, &mut |pairs| {
        pairs.iter().map(|(a, b)| router.seconds(*a, *b)).collect()
    })
}

#[test]
fn livernon_to_figeac_rides_the_cahors_commute() {
    let found = run(
        commute(cahors(), figeac()),
        need(livernon(), figeac(), (9, 30)),
    );
    assert_eq!(found.len(), 1);
    let m = &found[0];
    assert!(m.detour_minutes < 15.0, "{}", m.detour_minutes);
    assert_eq!(m.date, NaiveDate::from_ymd_opt(2026, 12, 8).unwrap());
    assert!(m.pickup_at.format("%H:%M").to_string().as_str() > "08:00");
    assert!(m.dropoff_at < Paris.with_ymd_and_hms(2026, 12, 8, 9, 30, 0).unwrap());
}

#[test]
fn too_early_or_too_far_out_of_the_way_is_no_match() {
    assert!(
        run(
            commute(cahors(), figeac()),
            need(livernon(), figeac(), (7, 0))
        )
        .is_empty()
    );
    assert!(
        run(
            commute(cahors(), figeac()),
            need(gourdon(), figeac(), (9, 30))
        )
        .is_empty()
    );
}

#[test]
fn the_corridor_box_holds_the_corridor() {
    let (a, b) = (cahors().point(), figeac().point());
    let slack = 12_000.0;
    let (min, max) = corridor_box(a, b, slack);
    // Points on the ellipse's edge in many directions lie in the box.
    let centre = GeoPoint::new((a.lat() + b.lat()) / 2.0, (a.lon() + b.lon()) / 2.0).unwrap();
    for step in 0..360 {
        let angle = (step as f64).to_radians();
        let mut r = 0.0;
        loop {
            let p = GeoPoint::new(
                centre.lat() + r * angle.sin() / 111_132.0,
                centre.lon() + r * angle.cos() / 80_000.0,
            )
            .unwrap();
            if a.distance_m(p) + p.distance_m(b) > a.distance_m(b) + slack {
                break;
            }
            assert!(
                p.lon() >= min[0] && p.lon() <= max[0] && p.lat() >= min[1] && p.lat() <= max[1]
            );
            r += 200.0;
        }
    }
}

/// Keeping the best few, with pruning or without, gives the first few of
/// all the matches, in the same order: a dense corridor of trips from
/// around Cahors and Gourdon to around Figeac, at many times, many with
/// the same detour.
#[test]
fn the_best_few_are_the_first_of_all_matches() {
    let rules = Rules::default();
    let mut trips = Vec::new();
    for i in 0..400u32 {
        let (start, lat, lon) = if i % 3 == 0 {
            (gourdon(), 0.002, 0.003)
        } else {
            (cahors(), -0.001, 0.002)
        };
        let jitter = f64::from(i % 7);
        let from = place(start.lat + lat * jitter, start.lon + lon * jitter, "Départ");
        let to = place(44.60980 + 0.001 * f64::from(i % 5), 2.03460, "Arrivée");
        let mut trip = commute(from, to);
        trip.id = format!("t{i:03}");
        trip.driver_id = format!("d{i}");
        if let OfferSchedule::Weekly(w) = &mut trip.schedule {
            *w = WeeklyTrip::new(
                Weekdays::WORKDAYS,
                LocalTime::new(6 + i % 3, (i * 7) % 60).unwrap(),
                None,
                NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
                None,
                vec![],
            )
            .unwrap();
        }
        trip.max_detour_minutes = f64::from(5 + i % 20);
        trips.push(trip);
    }
    // And as many the same, but for their ids, in no order: ties.
    for i in 0..300u32 {
        let mut trip = commute(cahors(), figeac());
        trip.id = format!("s{:03}", (i * 37) % 300);
        trip.driver_id = format!("e{i}");
        trips.push(trip);
    }
    let wanted = need(livernon(), figeac(), (9, 30));
    let stops = vec![NeedStops {
        origin: vec![Stop::at(&wanted.origin)],
        destination: vec![Stop::at(&wanted.destination)],
    }];
    let offers: Vec<&Offer> = trips.iter().collect();
    let needs = vec![&wanted];
    let now = Paris
        .with_ymd_and_hms(2026, 12, 1, 12, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    let router = CrowFly::default();
    let matched = |mut p: Plan| {
        for t in 0..offers.len() {
            plan(&mut p, &offers, t, &needs, 0, &stops, &rules);
        }
        super::run(p, &offers, &needs, &stops, now, &rules, &mut |pairs| {
            pairs.iter().map(|(a, b)| router.seconds(*a, *b)).collect()
        })
        .into_iter()
        .map(|f| (offers[f.offer].id.clone(), f.rank_key()))
        .collect::<Vec<_>>()
    };
    let all = matched(Plan::all());
    assert!(all.len() > 100, "a dense corridor: {}", all.len());
    for keep in [1, 5, 20, 50] {
        let first = all[..keep].to_vec();
        assert_eq!(
            matched(Plan::keeping(Some(keep), true)),
            first,
            "{keep}, pruned"
        );
        assert_eq!(matched(Plan::keeping(Some(keep), false)), first, "{keep}");
    }
}
