//! Each request, observed: one log line (its id, method, route, status and
//! time; no address, query string, header or body, so no phone number,
//! e-mail, name or token), and Prometheus counts and latency histograms by
//! route and status. The route is the router's pattern
//! (`/api/v1/offers/{id}`), never the path itself: no id in the figures,
//! and no figure per path a scanner invents.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// Upper bounds of the latency histogram's buckets, seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
pub struct HttpMetrics {
    routes: Mutex<BTreeMap<(String, String), Route>>,
}

#[derive(Default)]
struct Route {
    by_status: BTreeMap<u16, u64>,
    /// Requests at or under each bound of `BUCKETS`.
    buckets: [u64; BUCKETS.len()],
    seconds: f64,
    count: u64,
}

impl HttpMetrics {
    fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock().expect("metrics lock");
        let stats = routes
            .entry((route.to_string(), method.to_string()))
            .or_default();
        *stats.by_status.entry(status).or_default() += 1;
        for (bound, n) in BUCKETS.iter().zip(stats.buckets.iter_mut()) {
            if seconds <= *bound {
                *n += 1;
            }
        }
        stats.seconds += seconds;
        stats.count += 1;
    }

    /// The figures in Prometheus text.
    pub fn text(&self) -> String {
        let routes = self.routes.lock().expect("metrics lock");
        let mut out = String::from(
            "# HELP lotocar_http_requests_total HTTP requests answered, by route, method and status.\n\
             # TYPE lotocar_http_requests_total counter\n",
        );
        for ((route, method), stats) in routes.iter() {
            for (status, n) in &stats.by_status {
                let _ = writeln!(
                    out,
                    "lotocar_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str(
            "# HELP lotocar_http_request_duration_seconds Time to answer (to the response's head), by route and method.\n\
             # TYPE lotocar_http_request_duration_seconds histogram\n",
        );
        for ((route, method), stats) in routes.iter() {
            let labels = format!("route=\"{route}\",method=\"{method}\"");
            for (bound, n) in BUCKETS.iter().zip(stats.buckets.iter()) {
                let _ = writeln!(
                    out,
                    "lotocar_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "lotocar_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n\
                 lotocar_http_request_duration_seconds_sum{{{labels}}} {:.6}\n\
                 lotocar_http_request_duration_seconds_count{{{labels}}} {}",
                stats.count, stats.seconds, stats.count
            );
        }
        out
    }
}

/// The middleware: times the request, counts it, logs its line.
pub async fn observe(
    State(metrics): State<Arc<HttpMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    // Routes the router does not know (web app screens, scanners' guesses)
    // share one name.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_string(), |p| p.as_str().to_string());
    let method = request.method().as_str().to_string();
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string();
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    metrics.observe(&method, &route, status, seconds);
    let ms = (seconds * 1000.0 * 10.0).round() / 10.0;
    // Health checks and scrapes come every few seconds: not in the log.
    if matches!(route.as_str(), "/healthz" | "/readyz" | "/metrics") {
        tracing::debug!(target: "lotocar::http", request_id = %id, %method, %route, status, ms, "request");
    } else {
        tracing::info!(target: "lotocar::http", request_id = %id, %method, %route, status, ms, "request");
    }
    response
}
