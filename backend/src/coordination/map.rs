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

/// The (at most) three running offers that pass closest to the corridor
/// `a`–`b`, with how far off they pass (km, one decimal: the mean of the
/// two ends' distances).
fn nearest(running: &[Running], a: GeoPoint, b: GeoPoint) -> Vec<(&Running, f64)> {
    let mut near: Vec<(&Running, f64)> = running
        .iter()
        .map(|r| {
            let gap = ((to_segment(a, r.a, r.b) + to_segment(b, r.a, r.b)) / 100.0).round() / 10.0;
            (r, gap)
        })
        .collect();
    near.sort_by(|x, y| x.1.total_cmp(&y.1));
    near.truncate(3);
    near
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
            let near: Vec<NearTrip> = nearest(&running, a, b)
                .into_iter()
                .map(|(r, gap_km)| NearTrip {
                    offer_id: r.id.clone(),
                    summary: r.summary.clone(),
                    driver: r.driver.clone(),
                    gap_km,
                })
                .collect();
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

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct Corridor {
    /// A corridor of the unmet demand to show (with `to_commune`): its
    /// needs and the offers that pass closest, drawn over the rest
    /// (`commune:46176`).
    #[param(pattern = "^commune:[0-9AB]{5}$")]
    from_commune: Option<String>,
    /// The other end of the corridor (`commune:46102`).
    #[param(pattern = "^commune:[0-9AB]{5}$")]
    to_commune: Option<String>,
}

/// The territory drawn from the gazetteer (no tile server): its outline,
/// communes and main towns by name, trips' corridors, open and unserved
/// needs, a legend; with `from_commune` and `to_commune`, one corridor of
/// the unmet demand over the rest. `image/svg+xml`.
#[utoipa::path(get, path = "/api/v1/territories/{id}/map", tag = "impact",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory"), Period, Corridor),
    responses((status = 200, description = "SVG", content_type = "image/svg+xml"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn map(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(territory_id): ApiPath<String>,
    ApiQuery(period): ApiQuery<Period>,
    ApiQuery(params): ApiQuery<Corridor>,
) -> ApiResult<Response> {
    let territory = user
        .require_coordinator(&trips.territories, &territory_id)
        .await?;
    let communes: Vec<Town> = trips
        .places
        .gazetteer
        .communes()
        .iter()
        .filter(|c| {
            territory.covers_departement(&c.departement)
                && c.kind == lotocar_shared::api::PlaceKind::Commune
        })
        .map(|c| Town {
            name: &c.name,
            point: c.point,
            population: c.population,
        })
        .collect();
    let corridor = match (&params.from_commune, &params.to_commune) {
        (None, None) => None,
        (Some(from), Some(to)) => {
            let insee = |id: &str, field: &str| {
                id.strip_prefix("commune:")
                    .filter(|insee| trips.places.gazetteer.current(insee).is_some())
                    .map(str::to_string)
                    .ok_or_else(|| {
                        crate::error::Error::field(
                            field,
                            format!("Commune inconnue : « {id} » (attendu : commune:46102)."),
                        )
                    })
            };
            Some((insee(from, "from_commune")?, insee(to, "to_commune")?))
        }
        (None, Some(_)) => {
            return Err(crate::error::Error::field(
                "from_commune",
                "Indiquez aussi la commune de départ du couloir.",
            )
            .into());
        }
        (Some(_), None) => {
            return Err(crate::error::Error::field(
                "to_commune",
                "Indiquez aussi la commune d'arrivée du couloir.",
            )
            .into());
        }
    };
    let demands = demands(&trips, &territory_id, &period).await?;
    let running = running_offers(&trips, &territory_id).await?;
    let corridor = corridor.as_ref().map(|(a, b)| (a.as_str(), b.as_str()));
    let svg = draw(&territory.name, &communes, &running, &demands, corridor);
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

/// A commune as the map draws it.
struct Town<'a> {
    name: &'a str,
    point: GeoPoint,
    population: u32,
}

/// The convex hull of `points`, counter-clockwise (Andrew's monotone
/// chain): the territory's outline, drawn from its communes.
fn hull(mut points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    points.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    points.dedup();
    if points.len() < 3 {
        return points;
    }
    let cross = |o: (f64, f64), a: (f64, f64), b: (f64, f64)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut lower: Vec<(f64, f64)> = Vec::new();
    for &p in &points {
        while lower.len() >= 2 && cross(lower[lower.len() - 2], lower[lower.len() - 1], p) <= 0.0 {
            lower.pop();
        }
        lower.push(p);
    }
    let mut upper: Vec<(f64, f64)> = Vec::new();
    for &p in points.iter().rev() {
        while upper.len() >= 2 && cross(upper[upper.len() - 2], upper[upper.len() - 1], p) <= 0.0 {
            upper.pop();
        }
        upper.push(p);
    }
    lower.pop();
    upper.pop();
    lower.extend(upper);
    lower
}

/// Words on the map: 36 units, so that on a phone (the map 800 units wide
/// on about 330 px) they are 14 px or more.
const WORDS: f64 = 36.0;
/// Main towns named on the map, at most.
const NAMED_TOWNS: usize = 7;

/// Equirectangular projection of the territory's box into 800 units: its
/// outline, communes, main towns named, trips and needs, `corridor` (INSEE
/// codes of its ends) drawn over the rest, and a legend below.
fn draw(
    name: &str,
    communes: &[Town],
    running: &[Running],
    demands: &[Demand],
    corridor: Option<(&str, &str)>,
) -> String {
    let (mut min_lat, mut max_lat, mut min_lon, mut max_lon) = (90f64, -90f64, 180f64, -180f64);
    for p in communes.iter().map(|c| c.point) {
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
    let margin = 24.0;
    let span_x = ((max_lon - min_lon) * k).max(1e-6);
    let span_y = (max_lat - min_lat).max(1e-6);
    let scale = (width - 2.0 * margin) / span_x;
    let map_height = span_y * scale + 2.0 * margin;
    let legend_rows = 3.0;
    let height = map_height + legend_rows * (WORDS + 16.0) + 24.0;
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
    // The outline, from the communes' points.
    let outline = hull(communes.iter().map(|c| xy(c.point)).collect());
    if outline.len() >= 3 {
        svg.push_str(r##"<path class="outline" fill="#ebe6d8" stroke="#7a7264" stroke-width="3" stroke-linejoin="round" d=""##);
        for (i, (x, y)) in outline.iter().enumerate() {
            let _ = write!(svg, "{}{x:.1} {y:.1} ", if i == 0 { "M" } else { "L" });
        }
        svg.push_str(r#"Z"/>"#);
    }
    svg.push_str(r##"<g class="communes" fill="#a9a396">"##);
    for c in communes {
        let (x, y) = xy(c.point);
        let _ = write!(
            svg,
            r#"<circle class="commune" cx="{x:.1}" cy="{y:.1}" r="1.8"><title>{}</title></circle>"#,
            escape(c.name)
        );
    }
    svg.push_str("</g>");
    // With a corridor shown, the rest fades.
    let faded = if corridor.is_some() { "0.25" } else { "0.8" };
    let _ = write!(
        svg,
        r##"<g class="trips" stroke="#12506a" stroke-width="3" stroke-linecap="round" opacity="{faded}">"##
    );
    for r in running {
        let ((x1, y1), (x2, y2)) = (xy(r.a), xy(r.b));
        let _ = write!(
            svg,
            r#"<line class="trip" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}"><title>{} ({})</title></line>"#,
            escape(&r.summary),
            escape(&r.driver)
        );
    }
    let faded = if corridor.is_some() { "0.3" } else { "1" };
    let _ = write!(svg, r#"</g><g class="needs" opacity="{faded}">"#);
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
    // The corridor asked: its needs, and the trips that pass closest.
    if let Some((from, to)) = corridor {
        let mine: Vec<&Demand> = demands
            .iter()
            .filter(|d| (d.unserved || d.waiting) && d.origin.0 == from && d.destination.0 == to)
            .collect();
        svg.push_str(r#"<g class="corridor">"#);
        if let Some(first) = mine.first() {
            for (r, gap) in nearest(running, first.origin.1, first.destination.1) {
                let ((x1, y1), (x2, y2)) = (xy(r.a), xy(r.b));
                let _ = write!(
                    svg,
                    r##"<line class="corridor-trip" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="#12506a" stroke-width="9" stroke-linecap="round"><title>{} ({}), à {} km</title></line>"##,
                    escape(&r.summary),
                    escape(&r.driver),
                    lotocar_shared::text::french_number(gap, 1)
                );
            }
        }
        for d in &mine {
            let ((x1, y1), (x2, y2)) = (xy(d.origin.1), xy(d.destination.1));
            let color = if d.unserved { "#c0392b" } else { "#e67e22" };
            let _ = write!(
                svg,
                r##"<line class="corridor-need" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{color}" stroke-width="6" stroke-dasharray="14 8" stroke-linecap="round"/><circle cx="{x1:.1}" cy="{y1:.1}" r="11" fill="{color}" stroke="#fff" stroke-width="3"/><circle cx="{x2:.1}" cy="{y2:.1}" r="8" fill="#fff" stroke="{color}" stroke-width="5"/>"##
            );
        }
        svg.push_str("</g>");
    }
    // The main towns, by name: the most populous first, none too close to
    // one already named.
    let mut towns: Vec<&Town> = communes.iter().collect();
    towns.sort_by(|a, b| b.population.cmp(&a.population).then(a.name.cmp(b.name)));
    // The boxes of the names drawn (left, top, right, bottom).
    let mut named: Vec<(f64, f64, f64, f64)> = Vec::new();
    let _ = write!(
        svg,
        r##"<g class="towns" font-family="sans-serif" font-size="{WORDS:.0}" font-weight="bold" fill="#222" stroke="#f7f5ef" stroke-width="7" paint-order="stroke" stroke-linejoin="round">"##
    );
    for town in towns {
        if named.len() == NAMED_TOWNS {
            break;
        }
        let (x, y) = xy(town.point);
        let (anchor, dx) = if x > width * 0.62 {
            ("end", -12.0)
        } else {
            ("start", 12.0)
        };
        // About 0.62 of the font size per letter, in bold sans-serif.
        let wide = WORDS * 0.62 * town.name.chars().count() as f64 + 12.0;
        let (left, right) = if anchor == "end" {
            (x - wide, x + 8.0)
        } else {
            (x - 8.0, x + wide)
        };
        let (top, bottom) = (y - WORDS * 0.8, y + WORDS * 0.6);
        if named
            .iter()
            .any(|&(l, t, r, b)| left < r && l < right && top < b && t < bottom)
        {
            continue;
        }
        named.push((left, top, right, bottom));
        let _ = write!(
            svg,
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="6" fill="#222" stroke="none"/><text class="town" x="{:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"##,
            x + dx,
            y + WORDS * 0.35,
            escape(town.name)
        );
    }
    svg.push_str("</g>");
    // The legend, one line each, below the map.
    let row = |i: f64| map_height + 12.0 + (i + 0.5) * (WORDS + 16.0);
    let (y0, y1, y2) = (row(0.0), row(1.0), row(2.0));
    let _ = write!(
        svg,
        r##"<g class="legend" font-family="sans-serif" font-size="{WORDS:.0}" fill="#222"><line x1="24" y1="{y0:.0}" x2="84" y2="{y0:.0}" stroke="#12506a" stroke-width="6"/><text x="100" y="{:.0}">Trajets de conducteurs</text><circle cx="54" cy="{y1:.0}" r="11" fill="#e67e22"/><text x="100" y="{:.0}">Demandes en attente</text><circle cx="54" cy="{y2:.0}" r="11" fill="#c0392b"/><text x="100" y="{:.0}">Demandes non servies</text></g></svg>"##,
        y0 + WORDS * 0.35,
        y1 + WORDS * 0.35,
        y2 + WORDS * 0.35
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outline_goes_round_the_outermost_points() {
        let square = vec![
            (0.0, 0.0),
            (10.0, 0.0),
            (10.0, 10.0),
            (0.0, 10.0),
            (5.0, 5.0),
            (2.0, 8.0),
            (10.0, 5.0),
        ];
        let outline = hull(square);
        assert_eq!(outline.len(), 4, "{outline:?}");
        for corner in [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)] {
            assert!(outline.contains(&corner), "{outline:?}");
        }
        assert!(hull(vec![(1.0, 1.0)]).len() == 1);
    }
}
