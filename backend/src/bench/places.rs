//! `lotocar bench places`: place search over the whole gazetteer.

use std::time::Instant;

use lotocar_shared::text::{search_key, without_article};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use super::percentile_us;
use crate::demo;
use crate::places::gazetteer::Gazetteer;
use crate::places::{best, rank_communes};

pub fn places(queries: usize, seed: u64) -> anyhow::Result<()> {
    let mut loads = Vec::new();
    let mut gazetteer = None;
    for _ in 0..5 {
        let started = Instant::now();
        gazetteer = Some(Gazetteer::load_embedded()?);
        loads.push(started.elapsed());
    }
    loads.sort();
    let gazetteer = gazetteer.expect("loaded");
    let territory = demo::lot();

    // What people type: the first 2 to 10 letters of a commune's name, as
    // they come (accents, capitals, abbreviations).
    let mut rng = StdRng::seed_from_u64(seed);
    let typed: Vec<String> = (0..queries)
        .map(|_| {
            let commune = &gazetteer.communes()[rng.random_range(0..gazetteer.len())];
            let take = rng.random_range(2..=10usize);
            commune.name.chars().take(take).collect()
        })
        .collect();

    let mut indexed = Vec::with_capacity(queries);
    let mut scanned = Vec::with_capacity(queries);
    for q in &typed {
        let started = Instant::now();
        let key = search_key(q);
        let found = best(
            rank_communes(
                &gazetteer,
                gazetteer.prefix_matches(&key),
                &key,
                Some(&territory),
                10,
            ),
            10,
        );
        indexed.push(started.elapsed());

        // Baseline: normalise and compare every name, as a plain scan would.
        let started = Instant::now();
        let key = search_key(q);
        let matching = gazetteer
            .communes()
            .iter()
            .filter(|c| {
                let name = search_key(&c.name);
                name.starts_with(&key)
                    || without_article(&name).is_some_and(|n| n.starts_with(&key))
            })
            .collect();
        let expected = best(
            rank_communes(&gazetteer, matching, &key, Some(&territory), 10),
            10,
        );
        scanned.push(started.elapsed());
        anyhow::ensure!(found == expected, "index and scan disagree for {q:?}");
    }
    indexed.sort();
    scanned.sort();
    let p50 = percentile_us(&indexed, 0.5);
    let scan_p50 = percentile_us(&scanned, 0.5);
    println!(
        "{}",
        json!({
            "bench": "places",
            "places": gazetteer.len(),
            "queries": queries,
            "load_ms": (loads[loads.len() / 2].as_secs_f64() * 1e3 * 10.0).round() / 10.0,
            "p50_us": p50.round(),
            "p99_us": percentile_us(&indexed, 0.99).round(),
            "scan_p50_us": scan_p50.round(),
            "scan_p99_us": percentile_us(&scanned, 0.99).round(),
            "speedup_p50": (scan_p50 / p50 * 10.0).round() / 10.0,
        })
    );
    Ok(())
}
