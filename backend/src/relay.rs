//! Relays (France Services agents, association volunteers) act for people
//! who have no account or no smartphone: they register them with their
//! consent, post needs on their behalf, book, and record what happened. A
//! relay sees only its territory's people; a coordinator sees the whole
//! territory and the audit log of what relays did.
//!
//! The HTTP side of `beneficiaries` (its owner), of a territory's needs,
//! and of outcomes (closing a need through `trips`).

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use lotocar_shared::api::{Need, Problem};
use lotocar_shared::need::NeedStatus;
use lotocar_shared::relay::{
    Beneficiary, BeneficiaryInput, BeneficiaryPatch, Outcome, OutcomeInput,
};
use lotocar_shared::reporting::AuditEntry;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audit::{self, Action, Line, Subject};
use crate::auth::{Auth, AuthUser};
use crate::beneficiaries;
use crate::db::{Tx, from_ms};
use crate::error::{ApiJson, ApiPath, ApiQuery, ApiResult, Error, Result};
use crate::needs::{self, Closing, Filter, Whose};
use crate::trips::{Trips, close_need, close_needs_of};

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Trips: FromRef<S>,
    Auth: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(create_beneficiary, list_beneficiaries))
        .routes(routes!(
            get_beneficiary,
            patch_beneficiary,
            erase_beneficiary
        ))
        .routes(routes!(territory_requests))
        .routes(routes!(record_outcome))
        .routes(routes!(audit_log))
}

// ---------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------

/// Removes a registered person's personal data, cancels her live bookings
/// (the drivers told) and closes her open needs (kept, anonymous, for the
/// figures); texts to her phone go, and the free text written about her.
pub async fn erase_person(trips: &Trips, tx: &mut Tx, id: &str, by: &str) -> Result<()> {
    close_needs_of(&trips.bookings, tx, Whose::Beneficiary(id), by).await?;
    crate::news::forget_closed(tx).await?;
    crate::notify::erase_person(tx, id).await?;
    crate::ratings::erase_person(tx, id).await?;
    needs::scrub_reasons_for(tx, id).await?;
    let mut subjects = needs::ids_for(tx, id).await?;
    subjects.push(id.to_string());
    audit::scrub(tx, &subjects).await?;
    beneficiaries::erase(tx, id).await?;
    Ok(())
}

/// Records what became of a need: done, no driver, cancelled (by whom), no
/// show, with a reason. Its owner, a relay of the person it is for, or a
/// coordinator of its territory may; anyone else gets 404.
pub async fn record(
    trips: &Trips,
    user: &AuthUser,
    id: &str,
    input: &OutcomeInput,
) -> Result<Need> {
    let reason = input.validate()?;
    let mut tx = trips.db.begin_write().await?;
    let need = needs::get(&mut *tx, id).await?.ok_or_else(need_not_found)?;
    let person_territory = match need.on_behalf_of.as_deref() {
        Some(b) => beneficiaries::territory_of(&mut *tx, b).await?,
        None => None,
    };
    let allowed = need.owner_id == user.id
        || person_territory
            .as_deref()
            .is_some_and(|t| user.is_staff(t))
        || need
            .territory_id
            .as_deref()
            .is_some_and(|t| user.is_coordinator(t));
    if !allowed {
        return Err(need_not_found());
    }
    // A trip that took place cannot become unserved; "done" needs a driver
    // who said yes, and its day.
    if need.status == NeedStatus::Done && input.outcome != Outcome::Done {
        return Err(Error::conflict(
            "trip_done",
            "Ce trajet a eu lieu : sa suite ne peut plus changer.",
        ));
    }
    if input.outcome == Outcome::Done {
        if !trips.bookings.had_a_driver(&mut tx, id).await? {
            return Err(Error::conflict(
                "no_booking",
                "Aucun conducteur n'a confirmé ce trajet : réservez d'abord une place, ou indiquez une autre suite.",
            ));
        }
        let today = trips
            .territories
            .today_in(need.territory_id.as_deref())
            .await?;
        if need.first_date > today {
            return Err(Error::conflict(
                "trip_not_started",
                "Le trajet n'a pas encore eu lieu : vous pourrez l'indiquer après.",
            ));
        }
    }
    close_need(
        &trips.bookings,
        &mut tx,
        id,
        &user.id,
        reason.as_deref().unwrap_or_default(),
        Closing {
            outcome: input.outcome,
            reason: reason.as_deref(),
            by: Some(&user.id),
            keep_earlier: false,
        },
    )
    .await?;
    if let Some(person) = need.on_behalf_of.as_deref() {
        beneficiaries::touch(&mut tx, person).await?;
    }
    audit::record(
        &mut tx,
        Line {
            territory_id: person_territory.as_deref().or(need.territory_id.as_deref()),
            actor: &user.id,
            action: Action::OutcomeRecorded,
            subject: Subject::Need(id),
            detail: &format!(
                "{}{}",
                input.outcome.label(),
                reason.map(|r| format!(" : {r}")).unwrap_or_default()
            ),
        },
    )
    .await?;
    let need = needs::get(&mut *tx, id).await?.ok_or_else(need_not_found)?;
    tx.commit().await?;
    trips.bookings.need_staff_view(&need).await
}

fn need_not_found() -> Error {
    Error::NotFound("Cette demande n'existe pas, ou elle n'est pas à vous.".into())
}

// ---------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------

/// Registers a person who has no account or no smartphone, with their
/// consent (who recorded it, when, how).
#[utoipa::path(post, path = "/api/v1/territories/{id}/beneficiaries", tag = "relays",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory")),
    request_body = BeneficiaryInput,
    responses(
        (status = 201, body = Beneficiary),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 422, description = "Invalid fields, all listed in `errors`", body = Problem),
    ))]
async fn create_beneficiary(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(territory_id): ApiPath<String>,
    ApiJson(input): ApiJson<BeneficiaryInput>,
) -> ApiResult<(StatusCode, Json<Beneficiary>)> {
    user.require_staff(&trips.territories, &territory_id)
        .await?;
    let draft = input.validate()?;
    let created = beneficiaries::register(
        &trips.db,
        &trips.places.gazetteer,
        &user,
        &territory_id,
        &draft,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The territory's beneficiaries, by name.
#[utoipa::path(get, path = "/api/v1/territories/{id}/beneficiaries", tag = "relays",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory")),
    responses(
        (status = 200, body = Vec<Beneficiary>),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
    ))]
async fn list_beneficiaries(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(territory_id): ApiPath<String>,
) -> ApiResult<Json<Vec<Beneficiary>>> {
    user.require_staff(&trips.territories, &territory_id)
        .await?;
    Ok(Json(
        beneficiaries::of_territory(&trips.db, &territory_id).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/beneficiaries/{id}", tag = "relays",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Beneficiary), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get_beneficiary(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Beneficiary>> {
    Ok(Json(
        beneficiaries::load_for(&trips.db.pool, &user, &id).await?,
    ))
}

/// Corrects a beneficiary's name, phone or how they are reached.
#[utoipa::path(patch, path = "/api/v1/beneficiaries/{id}", tag = "relays",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = BeneficiaryPatch,
    responses(
        (status = 200, body = Beneficiary),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ))]
async fn patch_beneficiary(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(patch): ApiJson<BeneficiaryPatch>,
) -> ApiResult<Json<Beneficiary>> {
    Ok(Json(
        beneficiaries::change(&trips.db, &user, &id, &patch).await?,
    ))
}

/// Erases a beneficiary's personal data at their request (the relay acts
/// for people without an account): name, phone and consent details go;
/// their needs stay as anonymous figures; live bookings are cancelled and
/// the drivers told.
#[utoipa::path(delete, path = "/api/v1/beneficiaries/{id}", tag = "relays",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204, description = "Erased"), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn erase_beneficiary(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let mut tx = trips.db.begin_write().await?;
    let current = beneficiaries::load_for(&mut *tx, &user, &id).await?;
    erase_person(&trips, &mut tx, &id, &user.id).await?;
    audit::record(
        &mut tx,
        Line {
            territory_id: Some(&current.territory_id),
            actor: &user.id,
            action: Action::BeneficiaryErased,
            subject: Subject::Beneficiary(&id),
            detail: "",
        },
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NeedFilter {
    /// Only the needs with this status; an unknown one is refused (422).
    #[param(inline)]
    pub status: Option<NeedStatus>,
    /// First day (YYYY-MM-DD) of the needs' dates.
    #[serde(default, deserialize_with = "lotocar_shared::schedule::de_opt_date")]
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<chrono::NaiveDate>,
    /// Last day (YYYY-MM-DD).
    #[serde(default, deserialize_with = "lotocar_shared::schedule::de_opt_date")]
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<chrono::NaiveDate>,
}

impl NeedFilter {
    /// A relay sees the needs of the people registered on the territory, a
    /// coordinator every need.
    pub fn for_user(&self, user: &AuthUser, territory_id: &str) -> Filter {
        Filter {
            status: self.status.map(|s| s.code().to_string()),
            from: self.from,
            to: self.to,
            only_for_people: !user.is_coordinator(territory_id),
        }
    }
}

/// The territory's needs: a relay sees those of the people registered on
/// the territory, a coordinator every need. Cancelled and unserved needs
/// stay listed with their outcome.
#[utoipa::path(get, path = "/api/v1/territories/{id}/requests", tag = "relays",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory"), NeedFilter),
    responses(
        (status = 200, body = Vec<Need>),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
    ))]
async fn territory_requests(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(territory_id): ApiPath<String>,
    ApiQuery(filter): ApiQuery<NeedFilter>,
) -> ApiResult<Json<Vec<Need>>> {
    user.require_staff(&trips.territories, &territory_id)
        .await?;
    let needs = needs::in_territory(
        &trips.db,
        &territory_id,
        &filter.for_user(&user, &territory_id),
    )
    .await?;
    let mut shown = Vec::with_capacity(needs.len());
    for need in &needs {
        shown.push(trips.bookings.need_staff_view(need).await?);
    }
    Ok(Json(shown))
}

/// Records what became of a need: done, no driver, cancelled (by whom), no
/// show, with a reason. The need stays, with its outcome. "Done" also
/// marks its confirmed trip as having taken place (the driver is asked to
/// confirm, as when the passenger says it in the app); a cancellation
/// cancels its live bookings and tells the driver.
#[utoipa::path(put, path = "/api/v1/requests/{id}/outcome", tag = "relays",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = OutcomeInput,
    responses(
        (status = 200, body = Need),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "The trip has not taken place yet", body = Problem),
        (status = 422, body = Problem),
    ))]
async fn record_outcome(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<OutcomeInput>,
) -> ApiResult<Json<Need>> {
    Ok(Json(record(&trips, &user, &id, &input).await?))
}

/// What relays did on the territory, and whose contact details were shown
/// to whom on its trips, newest first. For the territory's coordinator.
#[utoipa::path(get, path = "/api/v1/territories/{id}/audit", tag = "relays",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Territory")),
    responses(
        (status = 200, body = Vec<AuditEntry>),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
    ))]
async fn audit_log(
    State(trips): State<Trips>,
    user: AuthUser,
    ApiPath(territory_id): ApiPath<String>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    user.require_coordinator(&trips.territories, &territory_id)
        .await?;
    // A report across the log, the reveals, the people and their needs:
    // read-only, names read now (so that erasing a person erases them here).
    let rows: Vec<AuditRow> = sqlx::query_as(
        "SELECT a.at, a.actor_id, COALESCE(u.display_name, '') AS actor_name, a.action,
                a.subject_kind, a.subject_id, a.detail,
                COALESCE(
                    (SELECT b.display_name FROM beneficiaries b WHERE b.id = a.subject_id),
                    (SELECT b.display_name FROM needs n2 JOIN beneficiaries b ON b.id = n2.on_behalf_of
                      WHERE n2.id = a.subject_id),
                    '') AS subject_name
         FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
         WHERE a.territory_id = $1
         UNION ALL
         SELECT r.at, r.viewer_id AS actor_id, COALESCE(u.display_name, '') AS actor_name,
                'contact_revealed' AS action, 'booking' AS subject_kind, r.booking_id AS subject_id,
                r.fields AS detail, '' AS subject_name
         FROM contact_reveals r
         JOIN bookings bk ON bk.id = r.booking_id
         JOIN needs n ON n.id = bk.need_id
         LEFT JOIN users u ON u.id = r.viewer_id
         WHERE n.territory_id = $1
         ORDER BY at DESC LIMIT 1000",
    )
    .bind(&territory_id)
    .fetch_all(&trips.db.pool)
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| AuditEntry {
                at: from_ms(r.at),
                actor_id: r.actor_id,
                actor_name: r.actor_name,
                action: r.action,
                subject_kind: r.subject_kind,
                subject_id: r.subject_id,
                subject_name: r.subject_name,
                detail: r.detail,
            })
            .collect(),
    ))
}

/// A line of the coordinator's view of the audit log.
#[derive(sqlx::FromRow)]
struct AuditRow {
    at: i64,
    actor_id: String,
    actor_name: String,
    action: String,
    subject_kind: String,
    subject_id: String,
    detail: String,
    subject_name: String,
}
