//! Relays (France Services agents, association volunteers) act for people
//! who have no account or no smartphone: they register them with their
//! consent, post needs on their behalf, book, and record what happened. A
//! relay sees only its territory's beneficiaries; a coordinator sees the
//! whole territory and the audit log of what relays did.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use lotocar_shared::api::{Need, Problem};
use lotocar_shared::people::Role;
use lotocar_shared::relay::{
    Beneficiary, BeneficiaryInput, BeneficiaryPatch, Consent, Outcome, OutcomeInput, ReachBy,
};
use lotocar_shared::reporting::AuditEntry;
use lotocar_shared::{Invalid, PhoneNumber};
use serde::Deserialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthUser;
use crate::bookings;
use crate::db::{Tx, from_ms, new_id, next_change, now_ms};
use crate::error::{ApiError, ApiJson, ApiQuery, ApiResult};
use crate::state::AppState;
use crate::territories;
use crate::trips::need_from_row;

pub fn router() -> OpenApiRouter<AppState> {
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

/// Relay, coordinator or admin of the territory.
pub fn is_staff(user: &AuthUser, territory_id: &str) -> bool {
    [Role::Relay, Role::Coordinator, Role::Admin]
        .into_iter()
        .any(|r| user.has_role(r, territory_id))
}

/// Coordinator or admin of the territory.
pub fn is_coordinator(user: &AuthUser, territory_id: &str) -> bool {
    user.has_role(Role::Coordinator, territory_id) || user.has_role(Role::Admin, territory_id)
}

/// The territory, for a relay, coordinator or admin of it: 404 for a
/// territory that does not exist, 403 for someone who has no role in it.
pub async fn require_staff(
    state: &AppState,
    user: &AuthUser,
    territory_id: &str,
) -> ApiResult<territories::Territory> {
    require(
        state,
        territory_id,
        is_staff(user, territory_id),
        "Réservé aux relais et aux coordinateurs de ce territoire.",
    )
    .await
}

/// The territory, for a coordinator or admin of it (as [`require_staff`]).
pub async fn require_coordinator(
    state: &AppState,
    user: &AuthUser,
    territory_id: &str,
) -> ApiResult<territories::Territory> {
    require(
        state,
        territory_id,
        is_coordinator(user, territory_id),
        "Réservé aux coordinateurs de ce territoire.",
    )
    .await
}

async fn require(
    state: &AppState,
    territory_id: &str,
    allowed: bool,
    refusal: &str,
) -> ApiResult<territories::Territory> {
    let territory = territories::get(&state.db, territory_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("Ce territoire n'existe pas.".into()))?;
    if !allowed {
        return Err(ApiError::Forbidden(refusal.into()));
    }
    Ok(territory)
}

/// Writes one line of the audit log, in the caller's transaction.
pub async fn audit(
    tx: &mut Tx,
    territory_id: Option<&str>,
    actor_id: &str,
    action: &str,
    subject: (&str, &str),
    detail: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (id, territory_id, actor_id, action, subject_kind, subject_id, detail, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new_id())
    .bind(territory_id)
    .bind(actor_id)
    .bind(action)
    .bind(subject.0)
    .bind(subject.1)
    .bind(detail)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Needs (`n`) with the registered person they are for, if any: their
/// name (`beneficiary_name`, read by `need_from_row`) and territory.
const NEEDS_WITH_PERSON: &str = "SELECT n.*, b.territory_id AS beneficiary_territory,
        b.display_name AS beneficiary_name
     FROM needs n LEFT JOIN beneficiaries b ON b.id = n.on_behalf_of";

fn beneficiary_not_found() -> ApiError {
    ApiError::NotFound("Cette personne n'est pas inscrite sur votre territoire.".into())
}

const BENEFICIARY_SELECT: &str = "SELECT b.*, u.display_name AS consent_by_name
     FROM beneficiaries b LEFT JOIN users u ON u.id = b.consent_by";

fn beneficiary_from_row(row: &AnyRow) -> ApiResult<Beneficiary> {
    let reach: String = row.try_get("reach_by")?;
    let insee: String = row.try_get("commune_insee")?;
    Ok(Beneficiary {
        id: row.try_get("id")?,
        territory_id: row.try_get("territory_id")?,
        display_name: row.try_get("display_name")?,
        phone: row.try_get("phone")?,
        commune_id: format!("commune:{insee}"),
        commune_label: row.try_get("commune_label")?,
        reach_by: ReachBy::from_code(&reach).unwrap_or(ReachBy::RelayCall),
        consent: Consent {
            recorded_by: row.try_get("consent_by")?,
            recorded_by_name: row
                .try_get::<Option<String>, _>("consent_by_name")?
                .unwrap_or_default(),
            at: from_ms(row.try_get("consent_at")?),
            method: row.try_get("consent_method")?,
        },
        created_at: from_ms(row.try_get("created_at")?),
        updated_at: from_ms(row.try_get("updated_at")?),
    })
}

/// A beneficiary the caller may act for (relay or coordinator of their
/// territory); anyone else gets 404.
pub async fn load_for<'e, E>(executor: E, user: &AuthUser, id: &str) -> ApiResult<Beneficiary>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{BENEFICIARY_SELECT} WHERE b.id = $1 AND b.erased_at IS NULL"
    )))
    .bind(id)
    .fetch_optional(executor)
    .await?
    .ok_or_else(beneficiary_not_found)?;
    let beneficiary = beneficiary_from_row(&row)?;
    if !is_staff(user, &beneficiary.territory_id) {
        return Err(beneficiary_not_found());
    }
    Ok(beneficiary)
}

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
    State(state): State<AppState>,
    user: AuthUser,
    Path(territory_id): Path<String>,
    ApiJson(input): ApiJson<BeneficiaryInput>,
) -> ApiResult<(StatusCode, Json<Beneficiary>)> {
    require_staff(&state, &user, &territory_id).await?;
    let draft = input.validate().map_err(ApiError::Validation)?;
    let commune = state.places.current(&draft.insee).ok_or_else(|| {
        ApiError::field(
            "commune_id",
            "Commune inconnue : choisissez-la dans la liste proposée.",
        )
    })?;
    let label = commune.name.clone();
    let id = new_id();
    let now = now_ms();
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "INSERT INTO beneficiaries (id, territory_id, display_name, phone, commune_insee, commune_label,
            reach_by, consent_by, consent_at, consent_method, created_at, updated_at, last_active_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, $9, $9)",
    )
    .bind(&id)
    .bind(&territory_id)
    .bind(draft.display_name.as_str())
    .bind(draft.phone.as_ref().map(|p| p.as_str().to_string()))
    .bind(&commune.insee)
    .bind(&label)
    .bind(draft.reach_by.code())
    .bind(&user.id)
    .bind(now)
    .bind(&draft.consent_method)
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        Some(&territory_id),
        &user.id,
        "beneficiary_registered",
        ("beneficiary", &id),
        &format!("consentement : {}", draft.consent_method),
    )
    .await?;
    let beneficiary = load_for(&mut *tx, &user, &id).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(beneficiary)))
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
    State(state): State<AppState>,
    user: AuthUser,
    Path(territory_id): Path<String>,
) -> ApiResult<Json<Vec<Beneficiary>>> {
    require_staff(&state, &user, &territory_id).await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{BENEFICIARY_SELECT} WHERE b.territory_id = $1 AND b.erased_at IS NULL
         ORDER BY b.display_name LIMIT 2000"
    )))
    .bind(&territory_id)
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(beneficiary_from_row)
        .collect::<ApiResult<Vec<_>>>()
        .map(Json)
}

#[utoipa::path(get, path = "/api/v1/beneficiaries/{id}", tag = "relays",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Beneficiary), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get_beneficiary(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Beneficiary>> {
    load_for(&state.db.pool, &user, &id).await.map(Json)
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
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<BeneficiaryPatch>,
) -> ApiResult<Json<Beneficiary>> {
    let mut tx = state.db.begin_write().await?;
    let current = load_for(&mut *tx, &user, &id).await?;
    let mut invalid = Invalid::new();
    let name = match patch.display_name.as_deref() {
        None => current.display_name.clone(),
        Some(raw) => match lotocar_shared::people::DisplayName::new(raw) {
            Ok(n) => n.as_str().to_string(),
            Err(message) => {
                invalid.push("display_name", message);
                String::new()
            }
        },
    };
    let phone = match patch.phone.as_deref().map(str::trim) {
        None => current.phone.clone(),
        Some("") => None,
        Some(raw) => match PhoneNumber::parse(raw) {
            Ok(p) => Some(p.as_str().to_string()),
            Err(message) => {
                invalid.push("phone", message);
                None
            }
        },
    };
    let reach_by = patch.reach_by.unwrap_or(current.reach_by);
    if reach_by == ReachBy::Sms && phone.is_none() && invalid.is_empty() {
        invalid.push(
            "reach_by",
            "Pour la prévenir par SMS, indiquez son numéro de portable ; sinon choisissez « appel du relais ».",
        );
    }
    if !invalid.is_empty() {
        return Err(ApiError::Validation(invalid));
    }
    if phone != current.phone || reach_by != current.reach_by {
        drop_pending_texts(&mut tx, &id).await?;
    }
    sqlx::query(
        "UPDATE beneficiaries SET display_name = $2, phone = $3, reach_by = $4, updated_at = $5 WHERE id = $1",
    )
    .bind(&id)
    .bind(&name)
    .bind(&phone)
    .bind(reach_by.code())
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        Some(&current.territory_id),
        &user.id,
        "beneficiary_updated",
        ("beneficiary", &id),
        "",
    )
    .await?;
    let beneficiary = load_for(&mut *tx, &user, &id).await?;
    tx.commit().await?;
    Ok(Json(beneficiary))
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
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin_write().await?;
    let current = load_for(&mut *tx, &user, &id).await?;
    erase_beneficiary_in(&state, &mut tx, &id, &user.id).await?;
    audit(
        &mut tx,
        Some(&current.territory_id),
        &user.id,
        "beneficiary_erased",
        ("beneficiary", &id),
        "",
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The text messages of a registered person's bookings.
const HER_TEXTS: &str = "SELECT d.id FROM deliveries d
     JOIN notifications nt ON nt.id = d.notification_id
     JOIN bookings bk ON nt.url = '/bookings/' || bk.id
     JOIN needs n ON n.id = bk.need_id
     WHERE n.on_behalf_of = $1 AND d.to_phone IS NOT NULL";

/// Texts not sent yet to a registered person (their number changed, or
/// they are erased) are dropped.
async fn drop_pending_texts(tx: &mut Tx, beneficiary_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM deliveries WHERE status = 'pending' AND id IN ({HER_TEXTS})"
    )))
    .bind(beneficiary_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Closes the open needs of a person who leaves (by `owner_id` or
/// `on_behalf_of`): their live bookings are cancelled and the drivers told;
/// the needs stay, cancelled, as anonymous figures.
pub async fn close_open_needs(
    state: &AppState,
    tx: &mut Tx,
    column: &str,
    id: &str,
    by: &str,
) -> ApiResult<()> {
    // A relay who leaves does not take the needs it posted for people with
    // it: those stay with the territory.
    let filter = if column == "owner_id" {
        "owner_id = $1 AND on_behalf_of IS NULL"
    } else {
        "on_behalf_of = $1"
    };
    let needs = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM needs WHERE {filter} AND status IN ('open', 'booked')"
    )))
    .bind(id)
    .fetch_all(&mut **tx)
    .await?;
    for need in &needs {
        let need_id: String = need.try_get("id")?;
        bookings::cancel_all(
            state,
            tx,
            "need_id",
            &need_id,
            by,
            "cette personne a quitté le service",
        )
        .await?;
        let change_seq = next_change(tx).await?;
        sqlx::query(
            "UPDATE needs SET status = 'cancelled', outcome = COALESCE(outcome, 'cancelled_by_passenger'),
                outcome_reason = COALESCE(outcome_reason, 'compte supprimé'), outcome_at = COALESCE(outcome_at, $2),
                updated_at = $2, change_seq = $3 WHERE id = $1",
        )
        .bind(&need_id)
        .bind(now_ms())
        .bind(change_seq)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Removes a beneficiary's personal data, cancels their live bookings and
/// closes their open needs (kept, anonymous, for the figures).
pub async fn erase_beneficiary_in(
    state: &AppState,
    tx: &mut Tx,
    id: &str,
    by: &str,
) -> ApiResult<()> {
    close_open_needs(state, tx, "on_behalf_of", id, by).await?;
    // Texts to their phone: the pending ones are dropped, the number is
    // removed from the others.
    drop_pending_texts(tx, id).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE deliveries SET to_phone = NULL WHERE id IN ({HER_TEXTS})"
    )))
    .bind(id)
    .execute(&mut **tx)
    .await?;
    // Free text about her: outcome reasons, audit details.
    sqlx::query("UPDATE needs SET outcome_reason = NULL WHERE on_behalf_of = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE audit_log SET detail = '' WHERE subject_id = $1
            OR subject_id IN (SELECT n.id FROM needs n WHERE n.on_behalf_of = $1)",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE beneficiaries SET display_name = '', phone = NULL, consent_method = '',
            erased_at = $2, updated_at = $2 WHERE id = $1",
    )
    .bind(id)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NeedFilter {
    /// `open`, `booked`, `done`, `unserved`, `cancelled`.
    pub status: Option<String>,
    /// First day (YYYY-MM-DD) of the needs' dates.
    pub from: Option<chrono::NaiveDate>,
    /// Last day (YYYY-MM-DD).
    pub to: Option<chrono::NaiveDate>,
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
    State(state): State<AppState>,
    user: AuthUser,
    Path(territory_id): Path<String>,
    ApiQuery(filter): ApiQuery<NeedFilter>,
) -> ApiResult<Json<Vec<Need>>> {
    require_staff(&state, &user, &territory_id).await?;
    territory_needs(&state, &user, &territory_id, &filter)
        .await
        .map(Json)
}

pub async fn territory_needs(
    state: &AppState,
    user: &AuthUser,
    territory_id: &str,
    filter: &NeedFilter,
) -> ApiResult<Vec<Need>> {
    let only_beneficiaries = !is_coordinator(user, territory_id);
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{NEEDS_WITH_PERSON}
         WHERE n.territory_id = $1 {}
           AND ($2 = '' OR n.status = $2)
           AND ($3 = '' OR n.last_date IS NULL OR n.last_date >= $3)
           AND ($4 = '' OR n.first_date <= $4)
         ORDER BY n.first_date DESC, n.created_at DESC LIMIT 1000",
        if only_beneficiaries {
            "AND n.on_behalf_of IS NOT NULL"
        } else {
            ""
        }
    )))
    .bind(territory_id)
    .bind(filter.status.clone().unwrap_or_default())
    .bind(filter.from.map(|d| d.to_string()).unwrap_or_default())
    .bind(filter.to.map(|d| d.to_string()).unwrap_or_default())
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter().map(need_from_row).collect()
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
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<OutcomeInput>,
) -> ApiResult<Json<Need>> {
    let reason = input.validate().map_err(ApiError::Validation)?;
    let mut tx = state.db.begin_write().await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{NEEDS_WITH_PERSON} WHERE n.id = $1"
    )))
    .bind(&id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(need_not_found)?;
    let owner: String = row.try_get("owner_id")?;
    let territory: Option<String> = row.try_get("territory_id")?;
    let beneficiary_territory: Option<String> = row.try_get("beneficiary_territory")?;
    let allowed = owner == user.id
        || beneficiary_territory
            .as_deref()
            .is_some_and(|t| is_staff(&user, t))
        || territory
            .as_deref()
            .is_some_and(|t| is_coordinator(&user, t));
    if !allowed {
        return Err(need_not_found());
    }
    let need = need_from_row(&row)?;
    let tz = state.config.timezone;
    let today = crate::db::now().with_timezone(&tz).date_naive();
    let first: String = row.try_get("first_date")?;
    // A trip that took place cannot become unserved; "done" needs a driver
    // who said yes.
    if need.status == lotocar_shared::need::NeedStatus::Done && input.outcome != Outcome::Done {
        return Err(ApiError::Conflict {
            code: "trip_done",
            detail: "Ce trajet a eu lieu : sa suite ne peut plus changer.".into(),
        });
    }
    if input.outcome == Outcome::Done {
        let booked: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM bookings WHERE need_id = $1
               AND status IN ('CONFIRMED', 'COMPLETED_PENDING_VALIDATION', 'VALIDATED')",
        )
        .bind(&id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        if booked == 0 {
            return Err(ApiError::Conflict {
                code: "no_booking",
                detail: "Aucun conducteur n'a confirmé ce trajet : réservez d'abord une place, ou indiquez une autre suite.".into(),
            });
        }
    }
    if input.outcome == Outcome::Done && first.as_str() > today.to_string().as_str() {
        return Err(ApiError::Conflict {
            code: "trip_not_started",
            detail: "Le trajet n'a pas encore eu lieu : vous pourrez l'indiquer après.".into(),
        });
    }
    let reason_text = reason.clone().unwrap_or_default();
    match input.outcome {
        Outcome::Done => {
            bookings::complete_all_for_need(&state, &mut tx, &id, &user.id).await?;
        }
        _ => {
            bookings::cancel_all(&state, &mut tx, "need_id", &id, &user.id, &reason_text).await?;
        }
    }
    let status = match input.outcome {
        Outcome::Done => "done",
        Outcome::NoDriver => "unserved",
        _ => "cancelled",
    };
    let change_seq = next_change(&mut tx).await?;
    sqlx::query(
        "UPDATE needs SET status = $2, outcome = $3, outcome_reason = $4, outcome_by = $5, outcome_at = $6,
            updated_at = $6, change_seq = $7 WHERE id = $1",
    )
    .bind(&id)
    .bind(status)
    .bind(input.outcome.code())
    .bind(&reason)
    .bind(&user.id)
    .bind(now_ms())
    .bind(change_seq)
    .execute(&mut *tx)
    .await?;
    if let Some(beneficiary) = need.on_behalf_of.as_deref() {
        sqlx::query("UPDATE beneficiaries SET last_active_at = $2 WHERE id = $1")
            .bind(beneficiary)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
    }
    audit(
        &mut tx,
        beneficiary_territory.as_deref().or(territory.as_deref()),
        &user.id,
        "outcome_recorded",
        ("request", &id),
        &format!(
            "{}{}",
            input.outcome.label(),
            reason.map(|r| format!(" : {r}")).unwrap_or_default()
        ),
    )
    .await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{NEEDS_WITH_PERSON} WHERE n.id = $1"
    )))
    .bind(&id)
    .fetch_one(&mut *tx)
    .await?;
    let need = need_from_row(&row)?;
    tx.commit().await?;
    Ok(Json(need))
}

fn need_not_found() -> ApiError {
    ApiError::NotFound("Cette demande n'existe pas, ou elle n'est pas à vous.".into())
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
    State(state): State<AppState>,
    user: AuthUser,
    Path(territory_id): Path<String>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    require_coordinator(&state, &user, &territory_id).await?;
    let rows = sqlx::query(
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
    .fetch_all(&state.db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                at: from_ms(r.try_get("at")?),
                actor_id: r.try_get("actor_id")?,
                actor_name: r.try_get("actor_name")?,
                action: r.try_get("action")?,
                subject_kind: r.try_get("subject_kind")?,
                subject_id: r.try_get("subject_id")?,
                subject_name: r.try_get("subject_name")?,
                detail: r.try_get("detail")?,
            })
        })
        .collect::<ApiResult<Vec<_>>>()
        .map(Json)
}
