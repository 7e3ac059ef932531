//! The territory drawn from the gazetteer (SVG, no tile server): communes,
//! the corridors of running offers, waiting and unserved needs; and unmet
//! demand, corridor by corridor, with the offers that come closest: where
//! to recruit drivers, which virtual line to open. Read-only.

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use lotocar_shared::GeoPoint;
use lotocar_shared::api::Problem;
use lotocar_shared::coordination::{CommuneRef, NearTrip, UnmetCorridor};
use lotocar_shared::need::NeedStatus;
use lotocar_shared::relay::Outcome;
use serde::Deserialize;

use crate::auth::{AuthUser, public_names};
use crate::error::{ApiPath, ApiQuery, ApiResult, Result};
use crate::trips::Trips;
use crate::{needs, offers};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct Period {
    /// First day (YYYY-MM-DD).
    #[serde(default, deserialize_with = "lotocar_shared::schedule::de_opt_date")]
    #[param(value_type = Option<String>, format = Date)]
    from: Option<NaiveDate>,
    /// Last day (YYYY-MM-DD).
    #[serde(default, deserialize_with = "lotocar_shared::schedule::de_opt_date")]
    #[param(value_type = Option<String>, format = Date)]
    to: Option<NaiveDate>,
}

/// A need, as the map and the unmet-demand list use it.
struct Demand {
    origin: (String, GeoPoint),
    destination: (String, GeoPoint),
    unserved: bool,
    waiting: bool,
}

async fn demands(trips: &Trips, territory_id: &str, period: &Period) -> Result<Vec<Demand>> {
    let today = trips.territories.today_in(Some(territory_id)).await?;
    let places = &trips.places.gazetteer;
    let mut out = Vec::new();
    for need in needs::dated_in(&trips.db, territory_id, period.from, period.to).await? {
        let past = need.last_date.unwrap_or(need.first_date) < today;
        // Unserved: nobody took it (recorded), or its day passed while it
        // was still open.
        let unserved = need.status == NeedStatus::Unserved
            || need
                .outcome
                .as_ref()
                .is_some_and(|o| o.outcome == Outcome::NoDriver)
            || (need.status == NeedStatus::Open && past);
        let waiting = need.status == NeedStatus::Open && !past;
        let (Ok(a), Ok(b)) = (
            GeoPoint::new(need.origin.lat, need.origin.lon),
            GeoPoint::new(need.destination.lat, need.destination.lon),
        ) else {
            continue;
        };
        // Clustered by commune: the commune of each end.
        let commune_of = |insee: &Option<String>, p: GeoPoint| {
            insee
                .as_deref()
                .and_then(|i| places.current(i).map(|c| (c.insee.clone(), c.point)))
                .or_else(|| {
                    places
                        .nearest_commune(p)
                        .map(|c| (c.insee.clone(), c.point))
                })
                .unwrap_or_else(|| (String::new(), p))
        };
        out.push(Demand {
            origin: commune_of(&need.origin.insee, a),
            destination: commune_of(&need.destination.insee, b),
            unserved,
            waiting,
        });
    }
    Ok(out)
}

/// An offer of the territory that runs: its id, summary, driver and ends.
struct Running {
    id: String,
    summary: String,
    driver: String,
    a: GeoPoint,
    b: GeoPoint,
}

async fn running_offers(trips: &Trips, territory_id: &str) -> Result<Vec<Running>> {
    let offers = offers::running_in(&trips.db, territory_id).await?;
    let territories = trips.territories.covering([Some(territory_id)]).await?;
    let owners: Vec<String> = offers.iter().map(|o| o.owner_id.clone()).collect();
    let names = public_names(&trips.db, &owners).await?;
    let mut running = Vec::new();
    for offer in &offers {
        let tz = territories.tz_of(offer.territory_id.as_deref());
        if !offer.is_active(crate::db::now().with_timezone(&tz).date_naive()) {
            continue;
        }
        let (Ok(a), Ok(b)) = (
            GeoPoint::new(offer.origin.lat, offer.origin.lon),
            GeoPoint::new(offer.destination.lat, offer.destination.lon),
        ) else {
            continue;
        };
        running.push(Running {
            id: offer.id.clone(),
            summary: offer.to_api(tz).summary,
            driver: names.get(&offer.owner_id).cloned().unwrap_or_default(),
            a,
            b,
        });
    }
    Ok(running)
}

/// Metres from `p` to the segment `a`–`b` (local flat projection: fine at
/// the scale of a territory).
fn to_segment(p: GeoPoint, a: GeoPoint, b: GeoPoint) -> f64 {
    let k = p.lat().to_radians().cos();
    let m_per_deg = 111_195.0;
    let flat = |q: GeoPoint| {
        (
            (q.lon() - p.lon()) * k * m_per_deg,
            (q.lat() - p.lat()) * m_per_deg,
        )
    };
    let ((ax, ay), (bx, by)) = (flat(a), flat(b));
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
    };
    let (cx, cy) = (ax + t * dx, ay + t * dy);
    (cx * cx + cy * cy).sqrt()
}

fn commune_ref(trips: &Trips, insee: &str, point: GeoPoint) -> CommuneRef {
    let name = trips
        .places
        .gazetteer
        .current(insee)
        .map(|c| c.name.clone())
        .unwrap_or_else(|| "?".into());
    CommuneRef {
        id: format!("commune:{insee}"),
        name,
        lat: point.lat(),
        lon: point.lon(),
    }
}

/// The corridors (commune to commune) with the most unserved needs in the
/// period, and the trips that come closest: where to recruit drivers,
/// which virtual line to open.
#[utoipa::path(get, path = "/api/v1/territories/{id}/unmet", tag = "impact",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory"), Period),
    responses((status = 200, body = Vec<UnmetCorridor>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn unmet(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(territory_id): ApiPath<String>,
    ApiQuery(period): ApiQuery<Period>,
) -> ApiResult<Json<Vec<UnmetCorridor>>> {
    user.require_coordinator(&trips.territories, &territory_id)
        .await?;
    let demands = demands(&trips, &territory_id, &period).await?;
    let mut corridors: HashMap<(String, String), (GeoPoint, GeoPoint, u64, u64)> = HashMap::new();
    for d in &demands {
        if !d.unserved && !d.waiting {
            continue;
        }
        let entry = corridors
            .entry((d.origin.0.clone(), d.destination.0.clone()))
            .or_insert((d.origin.1, d.destination.1, 0, 0));
        if d.unserved {
            entry.2 += 1;
        } else {
            entry.3 += 1;
        }
    }
    let running = running_offers(&trips, &territory_id).await?;
    let mut out: Vec<UnmetCorridor> = corridors
        .into_iter()
        .filter(|(_, v)| v.2 > 0)
        .map(|((from, to), (a, b, unserved, waiting))| {
            let mut near: Vec<NearTrip> = running
                .iter()
                .map(|r| NearTrip {
                    offer_id: r.id.clone(),
                    summary: r.summary.clone(),
                    driver: r.driver.clone(),
                    gap_km: ((to_segment(a, r.a, r.b) + to_segment(b, r.a, r.b)) / 100.0).round()
                        / 10.0,
                })
                .collect();
            near.sort_by(|x, y| x.gap_km.total_cmp(&y.gap_km));
            near.truncate(3);
            UnmetCorridor {
                from: commune_ref(&trips, &from, a),
                to: commune_ref(&trips, &to, b),
                unserved,
                waiting,
                closest_trips: near,
            }
        })
        .collect();
    out.sort_by(|x, y| {
        y.unserved
            .cmp(&x.unserved)
            .then_with(|| x.from.name.cmp(&y.from.name))
            .then_with(|| x.to.name.cmp(&y.to.name))
    });
    out.truncate(50);
    Ok(Json(out))
}

/// The territory drawn from the gazetteer (no tile server): communes,
/// trips' corridors, open and unserved needs. `image/svg+xml`.
#[utoipa::path(get, path = "/api/v1/territories/{id}/map", tag = "impact",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory"), Period),
    responses((status = 200, description = "SVG", content_type = "image/svg+xml"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn map(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(territory_id): ApiPath<String>,
    ApiQuery(period): ApiQuery<Period>,
) -> ApiResult<Response> {
    let territory = user
        .require_coordinator(&trips.territories, &territory_id)
        .await?;
    let communes: Vec<(&str, GeoPoint)> = trips
        .places
        .gazetteer
        .communes()
        .iter()
        .filter(|c| {
            territory.covers_departement(&c.departement)
                && c.kind == lotocar_shared::api::PlaceKind::Commune
        })
        .map(|c| (c.name.as_str(), c.point))
        .collect();
    let demands = demands(&trips, &territory_id, &period).await?;
    let running = running_offers(&trips, &territory_id).await?;
    let svg = draw(&territory.name, &communes, &running, &demands);
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")],
        svg,
    )
        .into_response())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Equirectangular projection of the territory's box into 800 px.
fn draw(
    name: &str,
    communes: &[(&str, GeoPoint)],
    running: &[Running],
    demands: &[Demand],
) -> String {
    let points = communes.iter().map(|c| c.1);
    let (mut min_lat, mut max_lat, mut min_lon, mut max_lon) = (90f64, -90f64, 180f64, -180f64);
    for p in points {
        min_lat = min_lat.min(p.lat());
        max_lat = max_lat.max(p.lat());
        min_lon = min_lon.min(p.lon());
        max_lon = max_lon.max(p.lon());
    }
    if min_lat > max_lat {
        (min_lat, max_lat, min_lon, max_lon) = (44.0, 45.0, 1.0, 2.0);
    }
    let k = ((min_lat + max_lat) / 2.0).to_radians().cos();
    let width = 800.0;
    let margin = 20.0;
    let span_x = ((max_lon - min_lon) * k).max(1e-6);
    let span_y = (max_lat - min_lat).max(1e-6);
    let scale = (width - 2.0 * margin) / span_x;
    let height = span_y * scale + 2.0 * margin + 60.0;
    let xy = |p: GeoPoint| {
        (
            margin + (p.lon() - min_lon) * k * scale,
            margin + (max_lat - p.lat()) * scale,
        )
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0} {height:.0}" role="img" aria-label="Carte : {}"><title>{}</title><rect width="100%" height="100%" fill="#f7f5ef"/>"##,
        escape(name),
        escape(name)
    );
    svg.push_str(r##"<g class="communes" fill="#b9b4a7">"##);
    for (commune, p) in communes {
        let (x, y) = xy(*p);
        let _ = write!(
            svg,
            r#"<circle class="commune" cx="{x:.1}" cy="{y:.1}" r="1.6"><title>{}</title></circle>"#,
            escape(commune)
        );
    }
    svg.push_str("</g>");
    svg.push_str(r##"<g class="trips" stroke="#12506a" stroke-width="3" stroke-linecap="round" opacity="0.8">"##);
    for r in running {
        let ((x1, y1), (x2, y2)) = (xy(r.a), xy(r.b));
        let _ = write!(
            svg,
            r#"<line class="trip" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}"><title>{} ({})</title></line>"#,
            escape(&r.summary),
            escape(&r.driver)
        );
    }
    svg.push_str("</g><g class=\"needs\">");
    for d in demands {
        if !d.unserved && !d.waiting {
            continue;
        }
        let ((x1, y1), (x2, y2)) = (xy(d.origin.1), xy(d.destination.1));
        let (class, color) = if d.unserved {
            ("need-unserved", "#c0392b")
        } else {
            ("need-open", "#e67e22")
        };
        let _ = write!(
            svg,
            r#"<line class="{class}-way" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{color}" stroke-width="1.5" stroke-dasharray="6 4"/><circle class="{class}" cx="{x1:.1}" cy="{y1:.1}" r="6" fill="{color}"/>"#
        );
    }
    svg.push_str("</g>");
    let y = height - 30.0;
    let _ = write!(
        svg,
        r##"<g font-family="sans-serif" font-size="18" fill="#222"><line x1="20" y1="{y:.0}" x2="50" y2="{y:.0}" stroke="#12506a" stroke-width="3"/><text x="58" y="{:.0}">Trajets de conducteurs</text><circle cx="300" cy="{y:.0}" r="6" fill="#e67e22"/><text x="312" y="{:.0}">Demandes en attente</text><circle cx="530" cy="{y:.0}" r="6" fill="#c0392b"/><text x="542" y="{:.0}">Demandes non servies</text></g></svg>"##,
        y + 6.0,
        y + 6.0,
        y + 6.0
    );
    svg
}
