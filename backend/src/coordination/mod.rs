//! A territory's coordinator: its team of relays, the matching board
//! (every open need with its best candidates, and one action to propose a
//! match to a driver), the map and unmet demand ([`map`]). The territory's
//! meeting points and local names are in `places`.

mod map;

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use lotocar_shared::api::{Match, Problem};
use lotocar_shared::contact::Contact;
use lotocar_shared::coordination::{BoardEntry, ProposalInput, StaffInput, StaffMember};
use lotocar_shared::people::Role;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::{self, Action, Line, Subject};
use crate::auth::{Auth, AuthUser, accounts};
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, Error, Result};
use crate::needs;
use crate::notify::{self, Kind, Notice};
use crate::relay::NeedFilter;
use crate::trips::Trips;

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Trips: FromRef<S>,
    Auth: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(list_staff, add_staff))
        .routes(routes!(remove_staff))
        .routes(routes!(board))
        .routes(routes!(propose))
        .routes(routes!(map::map))
        .routes(routes!(map::unmet))
}

// ---------------------------------------------------------------------------
// The team
// ---------------------------------------------------------------------------

/// A coordinator adds and removes relays; an admin also coordinators.
fn may_manage(user: &AuthUser, territory_id: &str, role: Role) -> Result<()> {
    let allowed = match role {
        Role::Relay => true,
        Role::Coordinator | Role::Admin => user.has_role(Role::Admin, territory_id),
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "Seul un administrateur du territoire peut nommer ou retirer un coordinateur.".into(),
        ))
    }
}

/// The territory's relays, coordinators and admins.
#[utoipa::path(get, path = "/api/v1/territories/{id}/staff", tag = "relays",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory")),
    responses((status = 200, body = Vec<StaffMember>), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_staff(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(territory_id): ApiPath<String>,
) -> ApiResult<Json<Vec<StaffMember>>> {
    user.require_coordinator(&trips.territories, &territory_id)
        .await?;
    Ok(Json(accounts::staff_of(&trips.db, &territory_id).await?))
}

/// Gives a role on the territory to whoever signs in with this phone or
/// e-mail. A coordinator adds relays; an admin also coordinators.
#[utoipa::path(post, path = "/api/v1/territories/{id}/staff", tag = "relays",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory")),
    request_body = StaffInput,
    responses((status = 201, body = StaffMember), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_staff(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(territory_id): ApiPath<String>,
    ApiJson(input): ApiJson<StaffInput>,
) -> ApiResult<(StatusCode, Json<StaffMember>)> {
    user.require_coordinator(&trips.territories, &territory_id)
        .await?;
    may_manage(&user, &territory_id, input.role)?;
    let contact: Contact = input
        .contact
        .parse()
        .map_err(|message: String| Error::field("contact", message))?;
    let user_id = accounts::grant_role(&trips.db, &contact, input.role, &territory_id)
        .await
        .map_err(Error::Internal)?;
    let mut tx = trips.db.begin_write().await?;
    audit::record(
        &mut tx,
        Line {
            territory_id: Some(&territory_id),
            actor: &user.id,
            action: Action::RoleGranted,
            subject: Subject::User(&user_id),
            detail: input.role.code(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(StaffMember {
            display_name: accounts::display_name(&trips.db, &user_id).await?,
            user_id,
            contact: contact.as_str().to_string(),
            role: input.role,
        }),
    ))
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
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath((territory_id, user_id)): ApiPath<(String, String)>,
    ApiQuery(param): ApiQuery<RoleParam>,
) -> ApiResult<StatusCode> {
    user.require_coordinator(&trips.territories, &territory_id)
        .await?;
    let role = param.role.unwrap_or(Role::Relay);
    may_manage(&user, &territory_id, role)?;
    let mut tx = trips.db.begin_write().await?;
    if !accounts::revoke_role(&mut tx, &user_id, role, &territory_id).await? {
        return Err(
            Error::NotFound("Cette personne n'a pas ce rôle sur le territoire.".into()).into(),
        );
    }
    audit::record(
        &mut tx,
        Line {
            territory_id: Some(&territory_id),
            actor: &user.id,
            action: Action::RoleRemoved,
            subject: Subject::User(&user_id),
            detail: role.code(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------
// Matching board
// ---------------------------------------------------------------------------

/// The candidates of a stored need, best first.
async fn candidates(trips: &Trips, need_id: &str, limit: usize) -> Result<Vec<Match>> {
    let Some(need) = needs::get(&trips.db.pool, need_id).await? else {
        return Ok(Vec::new());
    };
    let mut found = trips.matches_of(&need).await?;
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
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(territory_id): ApiPath<String>,
    ApiQuery(mut filter): ApiQuery<NeedFilter>,
) -> ApiResult<Json<Vec<BoardEntry>>> {
    user.require_coordinator(&trips.territories, &territory_id)
        .await?;
    filter
        .status
        .get_or_insert(lotocar_shared::need::NeedStatus::Open);
    let listed = needs::in_territory(
        &trips.db,
        &territory_id,
        &filter.for_user(&user, &territory_id),
    )
    .await?;
    let mut entries = Vec::with_capacity(listed.len());
    for need in listed.into_iter().take(200) {
        let request = trips.bookings.need_staff_view(&need).await?;
        // A need whose place is confirmed (or closed) needs nobody else.
        let seeks = request
            .progress
            .as_ref()
            .is_some_and(|p| p.state.seeks_driver());
        let mut found = if seeks {
            trips.matches_of(&need).await?
        } else {
            Vec::new()
        };
        found.truncate(3);
        entries.push(BoardEntry {
            request,
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
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(territory_id): ApiPath<String>,
    ApiJson(input): ApiJson<ProposalInput>,
) -> ApiResult<StatusCode> {
    let territory = user
        .require_coordinator(&trips.territories, &territory_id)
        .await?;
    let need = needs::get(&trips.db.pool, &input.request_id).await?;
    let Some(need) = need.filter(|n| n.territory_id.as_deref() == Some(territory_id.as_str()))
    else {
        return Err(Error::field("request_id", "Demande inconnue sur ce territoire.").into());
    };
    if !trips
        .bookings
        .progress_of(&need)
        .await?
        .state
        .seeks_driver()
    {
        return Err(Error::conflict(
            "request_served",
            "Cette demande a déjà une place confirmée, ou elle est close : il n'y a plus de conducteur à lui proposer.",
        )
        .into());
    }
    let found = candidates(&trips, &input.request_id, 50).await?;
    let Some(m) = found.iter().find(|m| {
        m.offer_id == input.offer_id && (m.date == input.date || m.dates.contains(&input.date))
    }) else {
        return Err(Error::field(
            "offer_id",
            "Ce trajet ne peut pas prendre cette demande ce jour-là : choisissez un candidat du tableau.",
        )
        .into());
    };
    let offer = crate::offers::get_any(&trips.db, &input.offer_id)
        .await?
        .ok_or_else(|| Error::not_found("Ce trajet n'existe plus."))?;
    let mut tx = trips.db.begin_write().await?;
    notify::post(
        &mut tx,
        Notice {
            to: offer.owner_id.clone(),
            kind: Kind::MatchProposed,
            subject: notify::Subject::Offer(input.offer_id.clone()),
            title: "Un passager sur votre chemin".into(),
            body: format!(
                "La coordination vous propose un passager. {} Il ou elle (ou son relais) vous enverra une demande de réservation.",
                m.explanation
            ),
            urgent: false,
            deliver_after: 0,
            dedupe_key: Some(format!(
                "match_proposed:{}:{}:{}",
                input.request_id, input.offer_id, input.date
            )),
            tz: match offer.territory_id.as_deref() {
                Some(id) => trips.territories.tz_of(Some(id)).await?,
                None => territory.timezone,
            },
            for_person: None,
            person_text: None,
            sms_body: None,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        Line {
            territory_id: Some(&territory_id),
            actor: &user.id,
            action: Action::MatchProposed,
            subject: Subject::Need(&input.request_id),
            detail: &format!("pour le {}", lotocar_shared::time::french_date(input.date)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::ACCEPTED)
}
