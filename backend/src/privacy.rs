//! Privacy by design: a person can download everything we hold about them
//! and erase their account at once; accounts and people registered by
//! relays inactive for the retention period are erased by a scheduled job
//! (`jobs`). What is held, why and for how long: docs/privacy.md.
//!
//! Export and erasure go through each table's owner. [`TABLES`] says, for
//! every table of the schema, how it is treated; a test reads the schema
//! and fails on a table it does not list, so a new table cannot escape
//! export and erasure.

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use lotocar_shared::api::Problem;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Auth, AuthUser, accounts, sign_in};
use crate::db::{Tx, from_ms, now_ms};
use crate::error::{ApiResult, Result};
use crate::needs::Whose;
use crate::trips::{Trips, close_needs_of};

/// How a table is treated when a person asks for their data or leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Treatment {
    /// Holds personal data: in the export, and erased (or anonymised).
    ExportedAndErased,
    /// Holds personal data that is erased but not exported (secrets of the
    /// sign-in, counters that only name a contact).
    Erased,
    /// Holds no personal data.
    NotPersonal,
}

/// Every table, its treatment, and where that happens. The test
/// `every_table_is_classified` reads the schema against this list.
pub const TABLES: &[(&str, Treatment, &str)] = &[
    (
        "users",
        Treatment::ExportedAndErased,
        "auth::accounts::erase blanks the row",
    ),
    (
        "user_roles",
        Treatment::ExportedAndErased,
        "auth::accounts::erase; exported in the profile",
    ),
    (
        "sessions",
        Treatment::ExportedAndErased,
        "auth::sign_in::erase",
    ),
    (
        "sign_in_codes",
        Treatment::Erased,
        "auth::sign_in::erase (a hashed code, ten minutes)",
    ),
    (
        "rate_limit_hits",
        Treatment::Erased,
        "auth::sign_in::erase (buckets that name a contact)",
    ),
    (
        "rate_limit_buckets",
        Treatment::Erased,
        "auth::sign_in::erase (buckets that name a contact)",
    ),
    (
        "offers",
        Treatment::ExportedAndErased,
        "trips::withdraw_offers_of (kept as anonymous figures)",
    ),
    (
        "needs",
        Treatment::ExportedAndErased,
        "trips::close_needs_of, needs::scrub_reasons_*",
    ),
    (
        "bookings",
        Treatment::ExportedAndErased,
        "bookings::store::erase_user (reasons), cancelled with their offer or need; booked_by and beneficiary_id are ids, names read from their owners",
    ),
    (
        "ratings",
        Treatment::ExportedAndErased,
        "ratings::export_of, ratings::erase_user, ratings::erase_person",
    ),
    (
        "booking_dates",
        Treatment::NotPersonal,
        "dates of a booking",
    ),
    (
        "seat_ledger",
        Treatment::NotPersonal,
        "seats taken per offer and date",
    ),
    (
        "booking_checkins",
        Treatment::ExportedAndErased,
        "bookings::store::erase_user",
    ),
    (
        "contact_reveals",
        Treatment::ExportedAndErased,
        "exported; names are read from users (erased there)",
    ),
    (
        "notifications",
        Treatment::ExportedAndErased,
        "notify::erase_user; a relay's notices about a person: exported without their text, blanked by notify::erase_person",
    ),
    (
        "deliveries",
        Treatment::ExportedAndErased,
        "notify::erase_user, notify::erase_person (her phone and her texts)",
    ),
    (
        "offer_events",
        Treatment::NotPersonal,
        "a trip to match, deleted once matched",
    ),
    (
        "driver_news",
        Treatment::Erased,
        "news::forget_closed, once the needs are closed (told in notifications, which are exported)",
    ),
    (
        "need_digests",
        Treatment::NotPersonal,
        "when a need's next digest is due",
    ),
    (
        "push_subscriptions",
        Treatment::ExportedAndErased,
        "notify::erase_user",
    ),
    (
        "idempotency_keys",
        Treatment::Erased,
        "idempotency::erase_user (answers kept 24 hours)",
    ),
    (
        "beneficiaries",
        Treatment::ExportedAndErased,
        "beneficiaries::erase (through relay::erase_person)",
    ),
    (
        "audit_log",
        Treatment::ExportedAndErased,
        "exported as relay actions; audit::scrub",
    ),
    (
        "territories",
        Treatment::NotPersonal,
        "a territory's settings",
    ),
    (
        "meeting_points",
        Treatment::NotPersonal,
        "a territory's places",
    ),
    (
        "place_aliases",
        Treatment::NotPersonal,
        "a territory's local names",
    ),
    (
        "server_secrets",
        Treatment::NotPersonal,
        "keys of the service",
    ),
    (
        "change_counter",
        Treatment::NotPersonal,
        "the change sequence",
    ),
    (
        "_sqlx_migrations",
        Treatment::NotPersonal,
        "applied migrations",
    ),
];

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Trips: FromRef<S>,
    Auth: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(export_me))
        .routes(routes!(erase_me))
}

/// Everything we hold about me, as one JSON document: profile and roles,
/// sessions, trips, needs, bookings, notifications and their deliveries,
/// push subscriptions, who saw my contact details and whose I saw, and
/// what I did as a relay.
#[utoipa::path(get, path = "/api/v1/me/export", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A JSON document of everything held about the caller", content_type = "application/json"),
        (status = 401, body = Problem),
    ))]
async fn export_me(State(trips): State<Trips>, user: AuthUser) -> ApiResult<Response> {
    let document = export(&trips, &user.id).await?;
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"lotocar-mes-donnees.json\"",
        )],
        Json(document),
    )
        .into_response())
}

/// The export document, read from each owner.
pub async fn export(trips: &Trips, user_id: &str) -> Result<Value> {
    let db = &trips.db;
    let profile = accounts::me(db, user_id).await?;
    let (last_seen, updated) = accounts::activity(db, user_id).await?;
    let sessions: Vec<Value> = sign_in::sessions_of(db, user_id)
        .await?
        .into_iter()
        .map(|(created, used, expires)| {
            json!({
                "created_at": from_ms(created),
                "last_used_at": from_ms(used),
                "expires_at": from_ms(expires),
            })
        })
        .collect();
    let stored = crate::offers::all_of_owner(db, user_id).await?;
    let territories = trips
        .territories
        .covering(stored.iter().map(|o| o.territory_id.as_deref()))
        .await?;
    let offers: Vec<Value> = stored
        .iter()
        .map(|o| {
            let mut value = json!(o.to_api(territories.tz_of(o.territory_id.as_deref())));
            value["deleted_at"] = json!(o.deleted_at.map(from_ms));
            value
        })
        .collect();
    // Their needs, without the names of people a relay helped (their
    // data, not the relay's).
    let needs: Vec<Value> = crate::needs::all_of_owner(db, user_id)
        .await?
        .iter()
        .map(|n| json!(n.to_api()))
        .collect();
    let bookings: Vec<Value> = crate::bookings::store::all_of_user(db, user_id)
        .await?
        .iter()
        .map(|b| {
            json!({
                "id": b.id,
                "my_role": if b.driver_id == user_id { "driver" } else { "passenger" },
                // A relay's booking for a person she helps: that person is
                // not named here (her data, not the relay's).
                "for_a_person_i_help": b.beneficiary_id.is_some() && b.driver_id != user_id,
                "offer_id": b.offer_id,
                "request_id": b.need_id,
                "regular": b.recurring,
                "first_date": b.date.to_string(),
                "seats": b.seats,
                "status": b.status.code(),
                "pickup": b.pickup,
                "dropoff": b.dropoff,
                "detour_minutes": b.detour_minutes,
                "reason": b.reason,
                "completed_at": b.completed_at.map(from_ms),
                "created_at": from_ms(b.created_at),
                "updated_at": from_ms(b.updated_at),
            })
        })
        .collect();
    let (notifications, subscriptions) = crate::notify::outbox::export_of(db, user_id).await?;
    let reveals = |as_viewer: bool| async move {
        let mut rows = crate::bookings::store::reveals(db, user_id, as_viewer, i64::MAX).await?;
        rows.reverse();
        Ok::<Vec<Value>, sqlx::Error>(
            rows.into_iter()
                .map(|r| {
                    json!({
                        "booking_id": r.booking_id, "viewer_id": r.viewer_id,
                        "subject_id": r.subject_id, "fields": r.fields, "at": from_ms(r.at),
                    })
                })
                .collect(),
        )
    };
    let seen_by_others = reveals(false).await?;
    let seen_by_me = reveals(true).await?;
    let actions = crate::audit::actions_of(db, user_id).await?;
    let checkins = crate::bookings::store::checkins_of(db, user_id).await?;
    let ratings = crate::ratings::export_of(db, user_id).await?;
    Ok(json!({
        "exported_at": crate::db::now(),
        "about": "Toutes les données que Lotocar conserve sur vous. Voir docs/privacy.md pour leur usage et leur durée de conservation.",
        "profile": profile,
        "last_seen_at": from_ms(last_seen),
        "updated_at": from_ms(updated),
        "sessions": sessions,
        "offers": offers,
        "requests": needs,
        "bookings": bookings,
        "checkins": checkins,
        "ratings": ratings,
        "notifications": notifications,
        "push_subscriptions": subscriptions,
        "contact_reveals": { "my_details_shown_to": seen_by_others, "details_i_saw": seen_by_me },
        "relay_actions": actions,
    }))
}

/// Erases my account at once: my name, phone, e-mail, sessions,
/// notifications and push subscriptions go; my live bookings are cancelled
/// and the other people told; my trips are deleted and my open needs
/// closed. Past trips remain only as anonymous figures.
#[utoipa::path(delete, path = "/api/v1/me", tag = "auth",
    security(("bearer" = [])),
    responses((status = 204, description = "Erased"), (status = 401, body = Problem)))]
async fn erase_me(State(trips): State<Trips>, user: AuthUser) -> ApiResult<StatusCode> {
    let mut tx = trips.db.begin_write().await?;
    erase_user(&trips, &mut tx, &user.id).await?;
    tx.commit().await?;
    tracing::info!(user = %user.id, "account erased at the user's request");
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a person's personal data in `tx` (see [`erase_me`]), through
/// each owner.
pub async fn erase_user(trips: &Trips, tx: &mut Tx, user_id: &str) -> Result<()> {
    // Offers withdrawn, their bookings cancelled (passengers told); needs
    // closed and kept, anonymous, for the figures (drivers told).
    trips.withdraw_offers_of(tx, user_id).await?;
    close_needs_of(&trips.bookings, tx, Whose::Owner(user_id), user_id).await?;
    crate::news::forget_closed(tx).await?;
    crate::notify::erase_user(tx, user_id).await?;
    crate::idempotency::erase_user(tx, user_id).await?;
    crate::bookings::store::erase_user(tx, user_id).await?;
    crate::ratings::erase_user(tx, user_id).await?;
    crate::needs::scrub_reasons_by(tx, user_id).await?;
    accounts::erase(tx, user_id).await?;
    Ok(())
}

/// The retention job: erases accounts not seen, and people registered by
/// relays not helped, for `months`.
pub async fn purge_inactive(trips: &Trips, months: u32) -> Result<usize> {
    let months = i64::from(months.max(1));
    let cutoff = now_ms() - months * 30 * 24 * 3_600_000;
    let mut purged = 0;
    for id in accounts::inactive_since(&trips.db, cutoff, 100).await? {
        let mut tx = trips.db.begin_write_in(crate::db::Lane::Bulk).await?;
        match erase_user(trips, &mut tx, &id).await {
            Ok(()) => {
                tx.commit().await?;
                purged += 1;
            }
            Err(err) => tracing::warn!(user = %id, error = %err, "retention erasure failed"),
        }
    }
    for (id, territory) in crate::beneficiaries::inactive_since(&trips.db, cutoff, 100).await? {
        let mut tx = trips.db.begin_write_in(crate::db::Lane::Bulk).await?;
        if let Err(err) = crate::relay::erase_person(trips, &mut tx, &id, "retention").await {
            tracing::warn!(beneficiary = %id, error = %err, "retention erasure failed");
            continue;
        }
        crate::audit::record(
            &mut tx,
            crate::audit::Line {
                territory_id: Some(&territory),
                actor: "retention",
                action: crate::audit::Action::BeneficiaryErased,
                subject: crate::audit::Subject::Beneficiary(&id),
                detail: &format!("inactif depuis {months} mois"),
            },
        )
        .await?;
        tx.commit().await?;
        purged += 1;
    }
    if purged > 0 {
        tracing::info!(purged, months, "personal data of inactive people erased");
    }
    Ok(purged)
}
