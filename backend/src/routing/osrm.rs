//! OSRM client: `/table` for batches of drives, `/route` for one.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, bail};
use lotocar_shared::GeoPoint;
use serde::Deserialize;

use super::{BoxFuture, Drive, Router};

pub struct Osrm {
    base: String,
    http: reqwest::Client,
    /// Most coordinates in one `/table` request (osrm-routed's
    /// `--max-table-size`, 100 by default).
    max_locations: usize,
}

impl Osrm {
    pub fn new(base_url: &str, max_locations: usize) -> anyhow::Result<Osrm> {
        Ok(Osrm {
            base: base_url.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            max_locations: max_locations.max(2),
        })
    }

    fn coordinates(points: &[GeoPoint]) -> String {
        points
            .iter()
            .map(|p| format!("{:.6},{:.6}", p.lon(), p.lat()))
            .collect::<Vec<_>>()
            .join(";")
    }

    /// One `/table` request for `pairs`, whose distinct points fit in it.
    async fn table(&self, pairs: &[(GeoPoint, GeoPoint)]) -> anyhow::Result<Vec<f64>> {
        let mut points: Vec<GeoPoint> = Vec::new();
        let mut index = HashMap::new();
        let mut slot = |p: GeoPoint, points: &mut Vec<GeoPoint>| -> usize {
            *index
                .entry((p.lat().to_bits(), p.lon().to_bits()))
                .or_insert_with(|| {
                    points.push(p);
                    points.len() - 1
                })
        };
        let ends: Vec<(usize, usize)> = pairs
            .iter()
            .map(|(a, b)| (slot(*a, &mut points), slot(*b, &mut points)))
            .collect();
        let mut sources: Vec<usize> = ends.iter().map(|e| e.0).collect();
        sources.sort_unstable();
        sources.dedup();
        let mut destinations: Vec<usize> = ends.iter().map(|e| e.1).collect();
        destinations.sort_unstable();
        destinations.dedup();
        let join = |ids: &[usize]| {
            ids.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(";")
        };
        let url = format!(
            "{}/table/v1/driving/{}?sources={}&destinations={}&annotations=duration",
            self.base,
            Self::coordinates(&points),
            join(&sources),
            join(&destinations)
        );
        #[derive(Deserialize)]
        struct Table {
            code: String,
            durations: Option<Vec<Vec<Option<f64>>>>,
            message: Option<String>,
        }
        let table: Table = self
            .http
            .get(&url)
            .send()
            .await
            .context("OSRM /table unreachable")?
            .json()
            .await
            .context("OSRM /table answer unreadable")?;
        if table.code != "Ok" {
            bail!(
                "OSRM /table: {} {}",
                table.code,
                table.message.unwrap_or_default()
            );
        }
        let durations = table.durations.context("OSRM /table without durations")?;
        let row = |s: usize| sources.binary_search(&s).expect("source listed");
        let col = |d: usize| destinations.binary_search(&d).expect("destination listed");
        Ok(ends
            .iter()
            .map(|(s, d)| durations[row(*s)][col(*d)].unwrap_or(f64::INFINITY))
            .collect())
    }
}

impl Router for Osrm {
    fn durations<'a>(
        &'a self,
        pairs: &'a [(GeoPoint, GeoPoint)],
    ) -> BoxFuture<'a, anyhow::Result<Vec<f64>>> {
        Box::pin(async move {
            // Split the batch so that each request names at most
            // `max_locations` distinct points.
            let mut out = Vec::with_capacity(pairs.len());
            let mut start = 0;
            while start < pairs.len() {
                let mut seen = std::collections::HashSet::new();
                let mut end = start;
                while end < pairs.len() {
                    let (a, b) = pairs[end];
                    let mut next = seen.clone();
                    next.insert((a.lat().to_bits(), a.lon().to_bits()));
                    next.insert((b.lat().to_bits(), b.lon().to_bits()));
                    if next.len() > self.max_locations && end > start {
                        break;
                    }
                    seen = next;
                    end += 1;
                }
                out.extend(self.table(&pairs[start..end]).await?);
                start = end;
            }
            Ok(out)
        })
    }

    fn route(&self, from: GeoPoint, to: GeoPoint) -> BoxFuture<'_, anyhow::Result<Drive>> {
        Box::pin(async move {
            let url = format!(
                "{}/route/v1/driving/{}?overview=false",
                self.base,
                Self::coordinates(&[from, to])
            );
            #[derive(Deserialize)]
            struct RouteAnswer {
                code: String,
                routes: Option<Vec<RouteSummary>>,
                message: Option<String>,
            }
            #[derive(Deserialize)]
            struct RouteSummary {
                duration: f64,
                distance: f64,
            }
            let answer: RouteAnswer = self
                .http
                .get(&url)
                .send()
                .await
                .context("OSRM /route unreachable")?
                .json()
                .await
                .context("OSRM /route answer unreadable")?;
            if answer.code != "Ok" {
                bail!(
                    "OSRM /route: {} {}",
                    answer.code,
                    answer.message.unwrap_or_default()
                );
            }
            let route = answer
                .routes
                .and_then(|r| r.into_iter().next())
                .context("OSRM /route without a route")?;
            Ok(Drive {
                seconds: route.duration,
                meters: route.distance,
            })
        })
    }

    fn name(&self) -> &'static str {
        "osrm"
    }
}
