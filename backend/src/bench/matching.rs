//! `lotocar bench matching`: every need matched through the index, and a
//! sample of them by an exhaustive scan of all trips; both must agree.

use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::json;

use super::world::{self, World};
use super::{percentile_us, round1, rss_mb};
use crate::matching::engine::{self, Found, Need, NeedStops, Offer, Plan, Rules};
use crate::matching::index::{Index, NeedEntry};
use crate::matching::stops_around;
use crate::places::gazetteer::Gazetteer;
use crate::routing::CrowFly;

/// The first Monday of the benchmark's calendar, and "now" at its start.
pub fn reference_day() -> (NaiveDate, chrono::DateTime<Utc>) {
    let day = NaiveDate::from_ymd_opt(2027, 3, 1).expect("a date");
    let now = chrono_tz::Europe::Paris
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight"))
        .single()
        .expect("unambiguous")
        .with_timezone(&Utc);
    (day, now)
}

/// What a match is, for comparing two ways of finding them.
fn signature(
    found: &[Found],
    trips: &[&Offer],
) -> Vec<(String, String, String, NaiveDate, String, i64)> {
    let mut sig: Vec<_> = found
        .iter()
        .map(|f| {
            (
                trips[f.offer].id.clone(),
                format!("{:?}", f.offer_leg),
                format!("{:?}", f.need_leg),
                f.date,
                f.pickup.place.label.clone(),
                (f.detour_minutes * 100.0).round() as i64,
            )
        })
        .collect();
    sig.sort();
    sig
}

/// Matches one need against `trips` with crow-fly road times, keeping the
/// best `max_matches`; `exhaustive` evaluates every candidate instead of
/// stopping when no other can make the list.
#[allow(clippy::too_many_arguments)]
pub fn match_need(
    trips: &[&Offer],
    need: &Need,
    stops: &NeedStops,
    now: chrono::DateTime<Utc>,
    rules: &Rules,
    router: &CrowFly,
    exhaustive: bool,
) -> Vec<Found> {
    let needs = [need];
    let stops = std::slice::from_ref(stops);
    let mut plan = Plan::keeping(Some(rules.max_matches), !exhaustive);
    for t in 0..trips.len() {
        engine::plan(&mut plan, trips, t, &needs, 0, stops, rules);
    }
    engine::run(plan, trips, &needs, stops, now, rules, &mut |pairs| {
        pairs.iter().map(|(a, b)| router.seconds(*a, *b)).collect()
    })
}

/// Matches one trip against `needs`: every need it can serve.
fn match_offer(
    trip: &Offer,
    needs: &[&Need],
    stops: &[NeedStops],
    now: chrono::DateTime<Utc>,
    rules: &Rules,
    router: &CrowFly,
) -> Vec<Found> {
    let trips = [trip];
    let mut plan = Plan::all();
    for n in 0..needs.len() {
        engine::plan(&mut plan, &trips, 0, needs, n, stops, rules);
    }
    engine::run(plan, &trips, needs, stops, now, rules, &mut |pairs| {
        pairs.iter().map(|(a, b)| router.seconds(*a, *b)).collect()
    })
}

fn ms(sorted: &[Duration], p: f64) -> f64 {
    (percentile_us(sorted, p) / 100.0).round() / 10.0
}

pub fn matching(
    trip_count: usize,
    need_count: usize,
    scan_needs: Option<usize>,
    open_needs: usize,
    probe_trips: usize,
    seed: u64,
) -> anyhow::Result<()> {
    let gazetteer = Gazetteer::load_embedded()?;
    let world = World::new(&gazetteer, |_| true, 10_000, &[]);
    let (start, now) = reference_day();
    let router = CrowFly::default();
    let rules = Rules::default();
    let mut rng = StdRng::seed_from_u64(seed);

    let trips: Vec<Offer> = (0..trip_count)
        .map(|i| world::trip(&mut rng, &world, i, start))
        .collect();
    let needs: Vec<Need> = (0..need_count)
        .map(|i| world::need(&mut rng, &world, i, start))
        .collect();

    let started = Instant::now();
    let index = Index::build(
        rules,
        trips.into_iter().map(|t| (t.id.clone(), t)).collect(),
        Vec::new(),
    );
    let index_build_s = started.elapsed().as_secs_f64();
    let rss = rss_mb();
    let all = index.all_offers();
    let all: Vec<&Offer> = all.iter().map(|t| t.as_ref()).collect();
    let no_meeting_points = Vec::new();

    let scan_count = scan_needs
        .unwrap_or_else(|| (20_000_000 / trip_count.max(1)).max(20))
        .min(need_count);
    let mut indexed = Vec::with_capacity(need_count);
    let mut scanned = Vec::with_capacity(scan_count);
    let mut matched_needs = 0usize;
    let mut total_matches = 0usize;
    for (i, need) in needs.iter().enumerate() {
        let started = Instant::now();
        let stops = NeedStops {
            origin: stops_around(&need.origin, &no_meeting_points, &gazetteer, &rules),
            destination: stops_around(&need.destination, &no_meeting_points, &gazetteer, &rules),
        };
        let (found, matched) = index.match_need(need, &stops, now, &mut |pairs| {
            pairs.iter().map(|(a, b)| router.seconds(*a, *b)).collect()
        });
        indexed.push(started.elapsed());
        let matched: Vec<&Offer> = matched.iter().map(|t| t.as_ref()).collect();
        matched_needs += usize::from(!found.is_empty());
        total_matches += found.len();

        if i < scan_count {
            let started = Instant::now();
            let stops = NeedStops {
                origin: stops_around(&need.origin, &no_meeting_points, &gazetteer, &rules),
                destination: stops_around(
                    &need.destination,
                    &no_meeting_points,
                    &gazetteer,
                    &rules,
                ),
            };
            let exhaustive = match_need(&all, need, &stops, now, &rules, &router, true);
            scanned.push(started.elapsed());
            anyhow::ensure!(
                signature(&found, &matched) == signature(&exhaustive, &all),
                "index and scan disagree for {}",
                need.id
            );
        }
    }
    indexed.sort();
    scanned.sort();
    let p50 = ms(&indexed, 0.5);
    let scan_p50 = ms(&scanned, 0.5);
    println!(
        "{}",
        json!({
            "trips": trip_count,
            "needs": need_count,
            "p50_ms": p50,
            "p99_ms": ms(&indexed, 0.99),
            "scan_p50_ms": scan_p50,
            "scan_p99_ms": ms(&scanned, 0.99),
            "speedup_p50": round1(percentile_us(&scanned, 0.5) / percentile_us(&indexed, 0.5).max(1e-3)),
            "index_build_s": (index_build_s * 100.0).round() / 100.0,
            "rss_mb": rss.round(),
            "scanned_needs": scan_count,
            "needs_matched": matched_needs,
            "matches": total_matches,
        })
    );

    if open_needs > 0 {
        reverse(
            &gazetteer,
            &world,
            open_needs,
            probe_trips,
            seed,
            &rules,
            &router,
        )?;
    }
    Ok(())
}

/// One new trip against many open needs.
fn reverse(
    gazetteer: &Gazetteer,
    world: &World,
    open_needs: usize,
    probe_trips: usize,
    seed: u64,
    rules: &Rules,
    router: &CrowFly,
) -> anyhow::Result<()> {
    let (start, now) = reference_day();
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(1));
    let no_meeting_points = Vec::new();
    let stops_of = |need: &Need| NeedStops {
        origin: stops_around(&need.origin, &no_meeting_points, gazetteer, rules),
        destination: stops_around(&need.destination, &no_meeting_points, gazetteer, rules),
    };
    // Stops are worked out when a need is indexed, in both cases.
    let needs: Vec<NeedEntry> = (0..open_needs)
        .map(|i| {
            let need = world::need(&mut rng, world, i, start);
            NeedEntry {
                stops: stops_of(&need),
                need,
            }
        })
        .collect();
    let probes: Vec<Offer> = (0..probe_trips)
        .map(|i| world::trip(&mut rng, world, i, start))
        .collect();
    let started = Instant::now();
    let index = Index::build(
        *rules,
        Vec::new(),
        needs.into_iter().map(|n| (n.need.id.clone(), n)).collect(),
    );
    let index_build_s = started.elapsed().as_secs_f64();
    let entries = index.all_needs();
    let all: Vec<&Need> = entries.iter().map(|n| &n.need).collect();
    let all_stops: Vec<NeedStops> = entries.iter().map(|n| n.stops.clone()).collect();
    let scan_count = (20_000_000 / open_needs.max(1)).max(20).min(probe_trips);
    let mut indexed = Vec::new();
    let mut scanned = Vec::new();
    for (i, trip) in probes.iter().enumerate() {
        let started = Instant::now();
        let (found, matched) = index.match_offer(trip, now, &mut |pairs| {
            pairs.iter().map(|(a, b)| router.seconds(*a, *b)).collect()
        });
        indexed.push(started.elapsed());
        let candidates: Vec<&Need> = matched.iter().map(|n| &n.need).collect();
        if i < scan_count {
            let started = Instant::now();
            let exhaustive = match_offer(trip, &all, &all_stops, now, rules, router);
            scanned.push(started.elapsed());
            let ids = |found: &[Found], needs: &[&Need]| {
                let mut ids: Vec<(String, i64)> = found
                    .iter()
                    .map(|f| {
                        (
                            needs[f.need].id.clone(),
                            (f.detour_minutes * 100.0).round() as i64,
                        )
                    })
                    .collect();
                ids.sort();
                ids
            };
            anyhow::ensure!(
                ids(&found, &candidates) == ids(&exhaustive, &all),
                "reverse: index and scan disagree for {}",
                trip.id
            );
        }
    }
    indexed.sort();
    scanned.sort();
    println!(
        "{}",
        json!({
            "direction": "reverse",
            "open_needs": open_needs,
            "trips": probe_trips,
            "p50_ms": ms(&indexed, 0.5),
            "p99_ms": ms(&indexed, 0.99),
            "scan_p50_ms": ms(&scanned, 0.5),
            "scan_p99_ms": ms(&scanned, 0.99),
            "speedup_p50": round1(percentile_us(&scanned, 0.5) / percentile_us(&indexed, 0.5).max(1e-3)),
            "index_build_s": (index_build_s * 100.0).round() / 100.0,
            "scanned_trips": scan_count,
        })
    );
    Ok(())
}
