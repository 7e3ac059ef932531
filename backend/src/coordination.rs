//! A territory's coordinator: its relays, meeting points and local place
//! names; the matching board (every open need with its best candidates,
//! and one action to propose a match to a driver); a map drawn from the
//! gazetteer (SVG, no tile server); and unmet demand, corridor by corridor.

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use lotocar_shared::api::{Match, Problem};
use lotocar_shared::contact::Contact;
use lotocar_shared::coordination::{
    Alias, AliasInput, BoardEntry, CommuneRef, MeetingPoint, MeetingPointInput, NearTrip,
    ProposalInput, StaffInput, StaffMember, UnmetCorridor,
};
use lotocar_shared::people::Role;
use lotocar_shared::text::search_key;
use lotocar_shared::{GeoPoint, Invalid};
use serde::Deserialize;
use sqlx::Row;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use crate::matching;
use crate::notify::{self, Notice};
use crate::relay::{NeedFilter, audit, require_coordinator, territory_needs};
use crate::state::AppState;
use crate::territories;
use crate::trips::offer_from_row;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_staff, add_staff))
        .routes(routes!(remove_staff))
        .routes(routes!(list_meeting_points, add_meeting_point))
        .routes(routes!(remove_meeting_point))
        .routes(routes!(list_aliases, add_alias))
        .routes(routes!(remove_alias))
        .routes(routes!(board))
        .routes(routes!(propose))
        .routes(routes!(map))
        .routes(routes!(unmet))
}

// ---------------------------------------------------------------------------
// Relays
// ---------------------------------------------------------------------------

/// The territory's relays, coordinators and admins.
#[utoipa::path(get, path = "/api/v1/territories/{id}/staff", tag = "relays",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory")),
    responses((status = 200, body = Vec<StaffMember>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_staff(
    State(state): State<AppState>,
    user: AuthUser,
    Path(territory_id): Path<String>,
) -> ApiResult<Json<Vec<StaffMember>>> {
    require_coordinator(&state, &user, &territory_id).await?;
    let rows = sqlx::query(
        "SELECT u.id, u.display_name, COALESCE(u.phone, u.email, '') AS contact, r.role
         FROM user_roles r JOIN users u ON u.id = r.user_id
         WHERE r.territory_id = $1 ORDER BY r.role, u.display_name",
    )
    .bind(&territory_id)
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .filter_map(|r| {
            let role: String = r.try_get("role").ok()?;
            Some((r, Role::from_code(&role)?))
        })
        .map(|(r, role)| {
            Ok(StaffMember {
                user_id: r.try_get("id")?,
                display_name: r.try_get("display_name")?,
                contact: r.try_get("contact")?,
                role,
            })
        })
        .collect::<ApiResult<Vec<_>>>()
        .map(Json)
}

/// Gives a role on the territory to whoever signs in with this phone or
/// e-mail. A coordinator adds relays; an admin also coordinators.
#[utoipa::path(post, path = "/api/v1/territories/{id}/staff", tag = "relays",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory")),
    request_body = StaffInput,
    responses((status = 201, body = StaffMember), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_staff(
    State(state): State<AppState>,
    user: AuthUser,
    Path(territory_id): Path<String>,
    ApiJson(input): ApiJson<StaffInput>,
) -> ApiResult<(StatusCode, Json<StaffMember>)> {
    require_coordinator(&state, &user, &territory_id).await?;
    may_manage(&user, &territory_id, input.role)?;
    let contact: Contact = input
        .contact
        .parse()
        .map_err(|message: String| ApiError::field("contact", message))?;
    let user_id = crate::auth::grant_role(&state.db, &contact, input.role, &territory_id)
        .await
        .map_err(ApiError::Internal)?;
    let mut tx = state.db.begin_write().await?;
    audit(
        &mut tx,
        Some(&territory_id),
        &user.id,
        "role_granted",
        ("user", &user_id),
        input.role.code(),
    )
    .await?;
    tx.commit().await?;
    let name: String = sqlx::query("SELECT display_name FROM users WHERE id = $1")
        .bind(&user_id)
        .fetch_one(&state.db.pool)
        .await?
        .try_get("display_name")?;
    Ok((
        StatusCode::CREATED,
        Json(StaffMember {
            user_id,
            display_name: name,
            contact: contact.as_str().to_string(),
            role: input.role,
        }),
    ))
}

fn may_manage(user: &AuthUser, territory_id: &str, role: Role) -> ApiResult<()> {
    let allowed = match role {
        Role::Relay => true,
        Role::Coordinator | Role::Admin => user.has_role(Role::Admin, territory_id),
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "Seul un administrateur du territoire peut nommer ou retirer un coordinateur.".into(),
        ))
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RoleParam {
    /// The role to take away (default: relay).
    role: Option<Role>,
}

/// Takes a role away.
#[utoipa::path(delete, path = "/api/v1/territories/{id}/staff/{user_id}", tag = "relays",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory"), ("user_id" = String, Path), RoleParam),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn remove_staff(
    State(state): State<AppState>,
    user: AuthUser,
    Path((territory_id, user_id)): Path<(String, String)>,
    ApiQuery(param): ApiQuery<RoleParam>,
) -> ApiResult<StatusCode> {
    require_coordinator(&state, &user, &territory_id).await?;
    let role = param.role.unwrap_or(Role::Relay);
    may_manage(&user, &territory_id, role)?;
    let mut tx = state.db.begin_write().await?;
    let removed = sqlx::query(
        "DELETE FROM user_roles WHERE user_id = $1 AND territory_id = $2 AND role = $3",
    )
    .bind(&user_id)
    .bind(&territory_id)
    .bind(role.code())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if removed == 0 {
        return Err(ApiError::NotFound(
            "Cette personne n'a pas ce rôle sur le territoire.".into(),
        ));
    }
    audit(
        &mut tx,
        Some(&territory_id),
        &user.id,
        "role_removed",
        ("user", &user_id),
        role.code(),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------
// Meeting points and local names
// ---------------------------------------------------------------------------

#[utoipa::path(get, path = "/api/v1/territories/{id}/meeting-points", tag = "places",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory")),
    responses((status = 200, body = Vec<MeetingPoint>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_meeting_points(
    State(state): State<AppState>,
    user: AuthUser,
    Path(territory_id): Path<String>,
) -> ApiResult<Json<Vec<MeetingPoint>>> {
    require_coordinator(&state, &user, &territory_id).await?;
    meeting_points_of(&state, &territory_id).await.map(Json)
}

async fn meeting_points_of(state: &AppState, territory_id: &str) -> ApiResult<Vec<MeetingPoint>> {
    let rows = sqlx::query(
        "SELECT id, name, insee, lat, lon FROM meeting_points WHERE territory_id = $1 ORDER BY name",
    )
    .bind(territory_id)
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let insee: Option<String> = r.try_get("insee")?;
            Ok(MeetingPoint {
                id: format!("mp:{}", r.try_get::<String, _>("id")?),
                name: r.try_get("name")?,
                commune: insee
                    .as_deref()
                    .and_then(|i| state.places.current(i))
                    .map(|c| c.name.clone()),
                lat: r.try_get("lat")?,
                lon: r.try_get("lon")?,
            })
        })
        .collect()
}

/// Adds a meeting point (or moves the one of the same name).
#[utoipa::path(post, path = "/api/v1/territories/{id}/meeting-points", tag = "places",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory")),
    request_body = MeetingPointInput,
    responses((status = 201, body = MeetingPoint), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_meeting_point(
    State(state): State<AppState>,
    user: AuthUser,
    Path(territory_id): Path<String>,
    ApiJson(input): ApiJson<MeetingPointInput>,
) -> ApiResult<(StatusCode, Json<MeetingPoint>)> {
    let territory = require_coordinator(&state, &user, &territory_id).await?;
    let mut invalid = Invalid::new();
    let name = input.name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.chars().count() < 3 || name.chars().count() > 100 {
        invalid.push(
            "name",
            "Donnez un nom de 3 à 100 caractères, par exemple « Gramat, place de la République ».",
        );
    }
    let point = invalid.check("", GeoPoint::new(input.lat, input.lon));
    if let Some(p) = point {
        let inside = state
            .places
            .nearest_commune(p)
            .is_some_and(|c| territory.covers_departement(&c.departement));
        if !inside {
            invalid.push(
                "lat",
                "Ce point n'est pas dans le territoire : vérifiez la position.",
            );
        }
    }
    let Some(point) = point.filter(|_| invalid.is_empty()) else {
        return Err(ApiError::Validation(invalid));
    };
    let id =
        crate::places::upsert_meeting_point(&state.db, &state.places, &territory_id, &name, point)
            .await?;
    let mut tx = state.db.begin_write().await?;
    audit(
        &mut tx,
        Some(&territory_id),
        &user.id,
        "meeting_point_saved",
        ("meeting_point", &id),
        &name,
    )
    .await?;
    tx.commit().await?;
    let saved = meeting_points_of(&state, &territory_id)
        .await?
        .into_iter()
        .find(|m| m.id == format!("mp:{id}"))
        .ok_or_else(|| anyhow::anyhow!("meeting point {id} not readable"))?;
    Ok((StatusCode::CREATED, Json(saved)))
}

#[utoipa::path(delete, path = "/api/v1/territories/{id}/meeting-points/{point_id}", tag = "places",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory"), ("point_id" = String, Path, description = "mp:<id>")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn remove_meeting_point(
    State(state): State<AppState>,
    user: AuthUser,
    Path((territory_id, point_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    require_coordinator(&state, &user, &territory_id).await?;
    let id = point_id
        .strip_prefix("mp:")
        .unwrap_or(&point_id)
        .to_string();
    let mut tx = state.db.begin_write().await?;
    let removed = sqlx::query("DELETE FROM meeting_points WHERE id = $1 AND territory_id = $2")
        .bind(&id)
        .bind(&territory_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if removed == 0 {
        return Err(ApiError::NotFound(
            "Ce point de rendez-vous n'existe pas.".into(),
        ));
    }
    audit(
        &mut tx,
        Some(&territory_id),
        &user.id,
        "meeting_point_removed",
        ("meeting_point", &id),
        "",
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/territories/{id}/aliases", tag = "places",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory")),
    responses((status = 200, body = Vec<Alias>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_aliases(
    State(state): State<AppState>,
    user: AuthUser,
    Path(territory_id): Path<String>,
) -> ApiResult<Json<Vec<Alias>>> {
    require_coordinator(&state, &user, &territory_id).await?;
    let rows = sqlx::query(
        "SELECT id, alias, place_id FROM place_aliases WHERE territory_id = $1 ORDER BY search_key",
    )
    .bind(&territory_id)
    .fetch_all(&state.db.pool)
    .await?;
    let mut aliases = Vec::new();
    for r in &rows {
        let place_id: String = r.try_get("place_id")?;
        let label = crate::places::resolve_id(&state.db, &state.places, &place_id)
            .await?
            .map(|p| p.label)
            .unwrap_or_else(|| place_id.clone());
        aliases.push(Alias {
            id: r.try_get("id")?,
            alias: r.try_get("alias")?,
            place_id,
            place_label: label,
        });
    }
    Ok(Json(aliases))
}

/// Makes a local name find the right place ("Villeneuve" → the village
/// people around here mean).
#[utoipa::path(post, path = "/api/v1/territories/{id}/aliases", tag = "places",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory")),
    request_body = AliasInput,
    responses((status = 201, body = Alias), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_alias(
    State(state): State<AppState>,
    user: AuthUser,
    Path(territory_id): Path<String>,
    ApiJson(input): ApiJson<AliasInput>,
) -> ApiResult<(StatusCode, Json<Alias>)> {
    require_coordinator(&state, &user, &territory_id).await?;
    let mut invalid = Invalid::new();
    let alias = input.alias.split_whitespace().collect::<Vec<_>>().join(" ");
    if search_key(&alias).chars().count() < 2 || alias.chars().count() > 60 {
        invalid.push(
            "alias",
            "Donnez le nom tel que les gens le disent (2 à 60 caractères).",
        );
    }
    let mut place = crate::places::resolve_id(&state.db, &state.places, &input.place_id).await?;
    // A meeting point of another territory is not one of ours.
    if let Some(mp) = input.place_id.strip_prefix("mp:") {
        let ours: Option<String> =
            sqlx::query("SELECT territory_id FROM meeting_points WHERE id = $1")
                .bind(mp)
                .fetch_optional(&state.db.pool)
                .await?
                .map(|r| r.try_get("territory_id"))
                .transpose()?;
        if ours.as_deref() != Some(territory_id.as_str()) {
            place = None;
        }
    }
    if place.is_none() {
        invalid.push("place_id", "Choisissez le lieu dans la liste proposée.");
    }
    let (Some(place), true) = (place, invalid.is_empty()) else {
        return Err(ApiError::Validation(invalid));
    };
    crate::places::upsert_alias(&state.db, &territory_id, &alias, &place.id).await?;
    let id: String =
        sqlx::query("SELECT id FROM place_aliases WHERE territory_id = $1 AND search_key = $2")
            .bind(&territory_id)
            .bind(search_key(&alias))
            .fetch_one(&state.db.pool)
            .await?
            .try_get("id")?;
    let mut tx = state.db.begin_write().await?;
    audit(
        &mut tx,
        Some(&territory_id),
        &user.id,
        "alias_saved",
        ("alias", &id),
        &format!("{alias} → {}", place.label),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(Alias {
            id,
            alias,
            place_id: place.id,
            place_label: place.label,
        }),
    ))
}

#[utoipa::path(delete, path = "/api/v1/territories/{id}/aliases/{alias_id}", tag = "places",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory"), ("alias_id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn remove_alias(
    State(state): State<AppState>,
    user: AuthUser,
    Path((territory_id, alias_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    require_coordinator(&state, &user, &territory_id).await?;
    let mut tx = state.db.begin_write().await?;
    let removed = sqlx::query("DELETE FROM place_aliases WHERE id = $1 AND territory_id = $2")
        .bind(&alias_id)
        .bind(&territory_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if removed == 0 {
        return Err(ApiError::NotFound("Ce nom local n'existe pas.".into()));
    }
    audit(
        &mut tx,
        Some(&territory_id),
        &user.id,
        "alias_removed",
        ("alias", &alias_id),
        "",
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------
// Matching board
// ---------------------------------------------------------------------------

/// The candidates of a stored need, best first.
async fn candidates(state: &AppState, need_id: &str, limit: usize) -> ApiResult<Vec<Match>> {
    let Some(row) = sqlx::query("SELECT * FROM needs WHERE id = $1")
        .bind(need_id)
        .fetch_optional(&state.db.pool)
        .await?
    else {
        return Ok(Vec::new());
    };
    let territories = territories::list(&state.db).await?;
    let (_, need) = matching::need_from_row(&row, &territories, state)?;
    let Some(need) = need else {
        return Ok(Vec::new());
    };
    let mut found = matching::for_need(state, &need).await?;
    found.truncate(limit);
    Ok(found)
}

/// Every need of the territory (open by default) with its three best
/// candidates, filterable by date and status.
#[utoipa::path(get, path = "/api/v1/territories/{id}/board", tag = "relays",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory"), NeedFilter),
    responses((status = 200, body = Vec<BoardEntry>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn board(
    State(state): State<AppState>,
    user: AuthUser,
    Path(territory_id): Path<String>,
    ApiQuery(mut filter): ApiQuery<NeedFilter>,
) -> ApiResult<Json<Vec<BoardEntry>>> {
    require_coordinator(&state, &user, &territory_id).await?;
    if filter.status.is_none() {
        filter.status = Some("open".into());
    }
    let needs = territory_needs(&state, &user, &territory_id, &filter).await?;
    let mut entries = Vec::with_capacity(needs.len());
    for need in needs.into_iter().take(200) {
        let found = candidates(&state, &need.id, 3).await?;
        entries.push(BoardEntry {
            request: need,
            candidates: found,
        });
    }
    Ok(Json(entries))
}

/// Proposes a match to the driver: they are told who needs a seat on their
/// way, when and where, and can answer from the app (the passenger or
/// their relay books).
#[utoipa::path(post, path = "/api/v1/territories/{id}/proposals", tag = "relays",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory")),
    request_body = ProposalInput,
    responses((status = 202, description = "The driver was told"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn propose(
    State(state): State<AppState>,
    user: AuthUser,
    Path(territory_id): Path<String>,
    ApiJson(input): ApiJson<ProposalInput>,
) -> ApiResult<StatusCode> {
    require_coordinator(&state, &user, &territory_id).await?;
    let need_territory: Option<Option<String>> =
        sqlx::query("SELECT territory_id FROM needs WHERE id = $1")
            .bind(&input.request_id)
            .fetch_optional(&state.db.pool)
            .await?
            .map(|r| r.try_get("territory_id"))
            .transpose()?;
    if need_territory.flatten().as_deref() != Some(territory_id.as_str()) {
        return Err(ApiError::field(
            "request_id",
            "Demande inconnue sur ce territoire.",
        ));
    }
    let found = candidates(&state, &input.request_id, 50).await?;
    let Some(m) = found.iter().find(|m| {
        m.offer_id == input.offer_id && (m.date == input.date || m.dates.contains(&input.date))
    }) else {
        return Err(ApiError::field(
            "offer_id",
            "Ce trajet ne peut pas prendre cette demande ce jour-là : choisissez un candidat du tableau.",
        ));
    };
    let driver_id: String = sqlx::query("SELECT owner_id FROM offers WHERE id = $1")
        .bind(&input.offer_id)
        .fetch_one(&state.db.pool)
        .await?
        .try_get("owner_id")?;
    let mut tx = state.db.begin_write().await?;
    notify::post(
        &mut tx,
        Notice {
            user_id: driver_id,
            kind: "match_proposed",
            title: "Un passager sur votre chemin".into(),
            body: format!(
                "La coordination vous propose un passager. {} Il ou elle (ou son relais) vous enverra une demande de réservation.",
                m.explanation
            ),
            url: format!("/offers/{}", input.offer_id),
            urgent: false,
            deliver_after: 0,
            dedupe_key: Some(format!(
                "match_proposed:{}:{}:{}",
                input.request_id, input.offer_id, input.date
            )),
        },
    )
    .await?;
    audit(
        &mut tx,
        Some(&territory_id),
        &user.id,
        "match_proposed",
        ("request", &input.request_id),
        &format!("trajet {} le {}", input.offer_id, input.date),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::ACCEPTED)
}

// ---------------------------------------------------------------------------
// Map and unmet demand
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct Period {
    /// First day (YYYY-MM-DD).
    from: Option<NaiveDate>,
    /// Last day (YYYY-MM-DD).
    to: Option<NaiveDate>,
}

/// A need, as the map and the unmet-demand list use it.
struct Demand {
    origin: (String, GeoPoint),
    destination: (String, GeoPoint),
    unserved: bool,
    waiting: bool,
}

async fn demands(state: &AppState, territory_id: &str, period: &Period) -> ApiResult<Vec<Demand>> {
    let today = crate::db::now()
        .with_timezone(&state.config.timezone)
        .date_naive()
        .to_string();
    let rows = sqlx::query(
        "SELECT origin_insee, origin_lat, origin_lon, dest_insee, dest_lat, dest_lon, status, outcome, first_date, last_date
         FROM needs WHERE territory_id = $1 AND ($2 = '' OR first_date >= $2) AND ($3 = '' OR first_date <= $3)",
    )
    .bind(territory_id)
    .bind(period.from.map(|d| d.to_string()).unwrap_or_default())
    .bind(period.to.map(|d| d.to_string()).unwrap_or_default())
    .fetch_all(&state.db.pool)
    .await?;
    let mut out = Vec::new();
    for r in &rows {
        let status: String = r.try_get("status")?;
        let outcome: Option<String> = r.try_get("outcome")?;
        let last: Option<String> = r.try_get("last_date")?;
        let first: String = r.try_get("first_date")?;
        let past = last.unwrap_or(first) < today;
        // Unserved: nobody took it (recorded), or its day passed while it
        // was still open.
        let unserved = status == "unserved"
            || outcome.as_deref() == Some("no_driver")
            || (status == "open" && past);
        let waiting = status == "open" && !past;
        let point = |lat: &str, lon: &str| -> Result<Option<GeoPoint>, sqlx::Error> {
            Ok(GeoPoint::new(r.try_get(lat)?, r.try_get(lon)?).ok())
        };
        let (Some(a), Some(b)) = (
            point("origin_lat", "origin_lon")?,
            point("dest_lat", "dest_lon")?,
        ) else {
            continue;
        };
        // Clustered by commune: the commune of each end.
        let commune_of = |insee: Option<String>, p: GeoPoint| {
            insee
                .and_then(|i| state.places.current(&i).map(|c| (c.insee.clone(), c.point)))
                .or_else(|| {
                    state
                        .places
                        .nearest_commune(p)
                        .map(|c| (c.insee.clone(), c.point))
                })
                .unwrap_or_else(|| (String::new(), p))
        };
        out.push(Demand {
            origin: commune_of(r.try_get("origin_insee")?, a),
            destination: commune_of(r.try_get("dest_insee")?, b),
            unserved,
            waiting,
        });
    }
    Ok(out)
}

/// Active trips of the territory: (offer id, summary, driver, ends).
async fn active_trips(
    state: &AppState,
    territory_id: &str,
) -> ApiResult<Vec<(String, String, String, GeoPoint, GeoPoint)>> {
    let territories = territories::list(&state.db).await?;
    let rows = sqlx::query(
        "SELECT * FROM offers WHERE territory_id = $1 AND deleted_at IS NULL AND paused = 0",
    )
    .bind(territory_id)
    .fetch_all(&state.db.pool)
    .await?;
    let owners: Vec<String> = rows
        .iter()
        .filter_map(|r| r.try_get::<String, _>("owner_id").ok())
        .collect();
    let names = matching::public_names(state, &owners).await?;
    let mut trips = Vec::new();
    for r in &rows {
        let (_, trip) = matching::trip_from_row(r, &territories, state)?;
        if trip.is_none() {
            continue;
        }
        let offer = offer_from_row(r, &territories, state)?;
        let owner: String = r.try_get("owner_id")?;
        let (Ok(a), Ok(b)) = (
            GeoPoint::new(offer.origin.lat, offer.origin.lon),
            GeoPoint::new(offer.destination.lat, offer.destination.lon),
        ) else {
            continue;
        };
        trips.push((
            offer.id.clone(),
            offer.summary.clone(),
            names.get(&owner).cloned().unwrap_or_default(),
            a,
            b,
        ));
    }
    Ok(trips)
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

fn commune_ref(state: &AppState, insee: &str, point: GeoPoint) -> CommuneRef {
    let name = state
        .places
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
async fn unmet(
    State(state): State<AppState>,
    user: AuthUser,
    Path(territory_id): Path<String>,
    ApiQuery(period): ApiQuery<Period>,
) -> ApiResult<Json<Vec<UnmetCorridor>>> {
    require_coordinator(&state, &user, &territory_id).await?;
    let demands = demands(&state, &territory_id, &period).await?;
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
    let trips = active_trips(&state, &territory_id).await?;
    let mut out: Vec<UnmetCorridor> = corridors
        .into_iter()
        .filter(|(_, v)| v.2 > 0)
        .map(|((from, to), (a, b, unserved, waiting))| {
            let mut near: Vec<NearTrip> = trips
                .iter()
                .map(|(id, summary, driver, ta, tb)| NearTrip {
                    offer_id: id.clone(),
                    summary: summary.clone(),
                    driver: driver.clone(),
                    gap_km: ((to_segment(a, *ta, *tb) + to_segment(b, *ta, *tb)) / 100.0).round()
                        / 10.0,
                })
                .collect();
            near.sort_by(|x, y| x.gap_km.total_cmp(&y.gap_km));
            near.truncate(3);
            UnmetCorridor {
                from: commune_ref(&state, &from, a),
                to: commune_ref(&state, &to, b),
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
async fn map(
    State(state): State<AppState>,
    user: AuthUser,
    Path(territory_id): Path<String>,
    ApiQuery(period): ApiQuery<Period>,
) -> ApiResult<Response> {
    let territory = require_coordinator(&state, &user, &territory_id).await?;
    let communes: Vec<(&str, GeoPoint)> = state
        .places
        .communes()
        .iter()
        .filter(|c| {
            territory.covers_departement(&c.departement)
                && c.kind == lotocar_shared::api::PlaceKind::Commune
        })
        .map(|c| (c.name.as_str(), c.point))
        .collect();
    let demands = demands(&state, &territory_id, &period).await?;
    let trips = active_trips(&state, &territory_id).await?;
    let svg = draw(&territory.name, &communes, &trips, &demands);
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
    trips: &[(String, String, String, GeoPoint, GeoPoint)],
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
    for (_, summary, driver, a, b) in trips {
        let ((x1, y1), (x2, y2)) = (xy(*a), xy(*b));
        let _ = write!(
            svg,
            r#"<line class="trip" x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}"><title>{} ({})</title></line>"#,
            escape(summary),
            escape(driver)
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
