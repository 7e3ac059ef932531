//! Privacy by design: a person can download everything we hold about them
//! and erase their account at once; accounts and registered people
//! inactive for the retention period are erased by a scheduled job. What
//! is held, why and for how long: docs/privacy.md.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use lotocar_shared::api::Problem;
use serde_json::{Value, json};
use sqlx::Row;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AuthUser;
use crate::bookings;
use crate::db::{Tx, from_ms, next_change, now_ms};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::territories;
use crate::trips::{need_from_row, offer_from_row};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_me))
        .routes(routes!(erase_me))
}

/// Every row `sql` (with `$1` = the person's id) returns, as JSON.
async fn rows_of(
    db: &sqlx::AnyPool,
    sql: &str,
    user_id: &str,
    to_json: impl Fn(&sqlx::any::AnyRow) -> Result<Value, sqlx::Error>,
) -> Result<Vec<Value>, sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .bind(user_id)
        .fetch_all(db)
        .await?
        .iter()
        .map(to_json)
        .collect()
}

fn ms(row: &sqlx::any::AnyRow, column: &str) -> Result<Value, sqlx::Error> {
    Ok(match row.try_get::<Option<i64>, _>(column)? {
        Some(v) => json!(from_ms(v)),
        None => Value::Null,
    })
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
async fn export_me(State(state): State<AppState>, user: AuthUser) -> ApiResult<Response> {
    let db = &state.db.pool;
    let profile = crate::auth::load_me(&state.db, &user.id).await?;
    let seen = sqlx::query("SELECT last_seen_at, updated_at FROM users WHERE id = $1")
        .bind(&user.id)
        .fetch_one(db)
        .await?;
    let sessions = rows_of(
        db,
        "SELECT created_at, last_used_at, expires_at FROM sessions
         WHERE user_id = $1 ORDER BY created_at",
        &user.id,
        |r| {
            Ok(json!({
                "created_at": ms(r, "created_at")?,
                "last_used_at": ms(r, "last_used_at")?,
                "expires_at": ms(r, "expires_at")?,
            }))
        },
    )
    .await?;
    let territories = territories::list(&state.db).await?;
    let offers = sqlx::query("SELECT * FROM offers WHERE owner_id = $1 ORDER BY created_at")
        .bind(&user.id)
        .fetch_all(db)
        .await?
        .iter()
        .map(|r| {
            let offer = offer_from_row(r, &territories, &state)?;
            let mut value = json!(offer);
            value["deleted_at"] = ms(r, "deleted_at")?;
            Ok(value)
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let needs = sqlx::query("SELECT * FROM needs WHERE owner_id = $1 ORDER BY created_at")
        .bind(&user.id)
        .fetch_all(db)
        .await?
        .iter()
        .map(need_from_row)
        .collect::<ApiResult<Vec<_>>>()?;
    let bookings = rows_of(
        db,
        "SELECT id, offer_id, need_id, driver_id, passenger_id, recurring, first_date, seats,
                status, pickup, dropoff, detour_minutes, reason, completed_at,
                created_at, updated_at
         FROM bookings WHERE driver_id = $1 OR passenger_id = $1 ORDER BY created_at",
        &user.id,
        |r| {
            let driver: String = r.try_get("driver_id")?;
            let pickup: String = r.try_get("pickup")?;
            let dropoff: String = r.try_get("dropoff")?;
            Ok(json!({
                "id": r.try_get::<String, _>("id")?,
                "my_role": if driver == user.id { "driver" } else { "passenger" },
                "offer_id": r.try_get::<String, _>("offer_id")?,
                "request_id": r.try_get::<String, _>("need_id")?,
                "regular": r.try_get::<i64, _>("recurring")? != 0,
                "first_date": r.try_get::<String, _>("first_date")?,
                "seats": r.try_get::<i64, _>("seats")?,
                "status": r.try_get::<String, _>("status")?,
                "pickup": serde_json::from_str::<Value>(&pickup).unwrap_or(Value::Null),
                "dropoff": serde_json::from_str::<Value>(&dropoff).unwrap_or(Value::Null),
                "detour_minutes": r.try_get::<f64, _>("detour_minutes")?,
                "reason": r.try_get::<Option<String>, _>("reason")?,
                "completed_at": ms(r, "completed_at")?,
                "created_at": ms(r, "created_at")?,
                "updated_at": ms(r, "updated_at")?,
            }))
        },
    )
    .await?;
    let notifications = rows_of(
        db,
        "SELECT n.id, n.kind, n.title, n.body, n.created_at, n.read_at,
                (SELECT COUNT(*) FROM deliveries d WHERE d.notification_id = n.id) AS deliveries
         FROM notifications n WHERE n.user_id = $1 ORDER BY n.created_at",
        &user.id,
        |r| {
            Ok(json!({
                "id": r.try_get::<String, _>("id")?,
                "kind": r.try_get::<String, _>("kind")?,
                "title": r.try_get::<String, _>("title")?,
                "body": r.try_get::<String, _>("body")?,
                "created_at": ms(r, "created_at")?,
                "read_at": ms(r, "read_at")?,
                "deliveries": r.try_get::<i64, _>("deliveries")?,
            }))
        },
    )
    .await?;
    let subscriptions = rows_of(
        db,
        "SELECT endpoint, created_at FROM push_subscriptions
         WHERE user_id = $1 ORDER BY created_at",
        &user.id,
        |r| {
            Ok(json!({
                "endpoint": r.try_get::<String, _>("endpoint")?,
                "created_at": ms(r, "created_at")?,
            }))
        },
    )
    .await?;
    let reveal = |r: &sqlx::any::AnyRow| {
        Ok(json!({
            "booking_id": r.try_get::<String, _>("booking_id")?,
            "viewer_id": r.try_get::<String, _>("viewer_id")?,
            "subject_id": r.try_get::<String, _>("subject_id")?,
            "fields": r.try_get::<String, _>("fields")?,
            "at": ms(r, "at")?,
        }))
    };
    let reveals = |column: &'static str| {
        let sql = format!(
            "SELECT booking_id, viewer_id, subject_id, fields, at FROM contact_reveals
             WHERE {column} = $1 ORDER BY at"
        );
        let user_id = user.id.clone();
        async move { rows_of(db, &sql, &user_id, reveal).await }
    };
    let seen_by_others = reveals("subject_id").await?;
    let seen_by_me = reveals("viewer_id").await?;
    let actions = rows_of(
        db,
        "SELECT territory_id, action, subject_kind, subject_id, detail, at FROM audit_log
         WHERE actor_id = $1 ORDER BY at",
        &user.id,
        |r| {
            Ok(json!({
                "territory_id": r.try_get::<Option<String>, _>("territory_id")?,
                "action": r.try_get::<String, _>("action")?,
                "subject_kind": r.try_get::<String, _>("subject_kind")?,
                "subject_id": r.try_get::<String, _>("subject_id")?,
                "detail": r.try_get::<String, _>("detail")?,
                "at": ms(r, "at")?,
            }))
        },
    )
    .await?;
    let checkins = rows_of(
        db,
        "SELECT booking_id, side, lat, lon, at FROM booking_checkins
         WHERE user_id = $1 ORDER BY at",
        &user.id,
        |r| {
            Ok(json!({
                "booking_id": r.try_get::<String, _>("booking_id")?,
                "side": r.try_get::<String, _>("side")?,
                "lat": r.try_get::<f64, _>("lat")?,
                "lon": r.try_get::<f64, _>("lon")?,
                "at": ms(r, "at")?,
            }))
        },
    )
    .await?;
    let document = json!({
        "exported_at": crate::db::now(),
        "about": "Toutes les données que Lotocar conserve sur vous. Voir docs/privacy.md pour leur usage et leur durée de conservation.",
        "profile": profile,
        "last_seen_at": ms(&seen, "last_seen_at")?,
        "updated_at": ms(&seen, "updated_at")?,
        "sessions": sessions,
        "offers": offers,
        "requests": needs,
        "bookings": bookings,
        "checkins": checkins,
        "notifications": notifications,
        "push_subscriptions": subscriptions,
        "contact_reveals": { "my_details_shown_to": seen_by_others, "details_i_saw": seen_by_me },
        "relay_actions": actions,
    });
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"lotocar-mes-donnees.json\"",
        )],
        Json(document),
    )
        .into_response())
}

/// Erases my account at once: my name, phone, e-mail, sessions,
/// notifications and push subscriptions go; my live bookings are cancelled
/// and the other people told; my trips are deleted and my open needs
/// closed. Past trips remain only as anonymous figures.
#[utoipa::path(delete, path = "/api/v1/me", tag = "auth",
    security(("bearer" = [])),
    responses((status = 204, description = "Erased"), (status = 401, body = Problem)))]
async fn erase_me(State(state): State<AppState>, user: AuthUser) -> ApiResult<StatusCode> {
    let mut tx = state.db.begin_write().await?;
    erase_user_in(&state, &mut tx, &user.id).await?;
    tx.commit().await?;
    tracing::info!(user = %user.id, "account erased at the user's request");
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a person's personal data in `tx` (see [`erase_me`]).
pub async fn erase_user_in(state: &AppState, tx: &mut Tx, user_id: &str) -> ApiResult<()> {
    let reason = "cette personne a quitté le service";
    // Trips: deleted, their bookings cancelled (passengers told).
    let offers = sqlx::query("SELECT id FROM offers WHERE owner_id = $1 AND deleted_at IS NULL")
        .bind(user_id)
        .fetch_all(&mut **tx)
        .await?;
    for offer in &offers {
        let id: String = offer.try_get("id")?;
        let change_seq = next_change(tx).await?;
        sqlx::query(
            "UPDATE offers SET deleted_at = $2, updated_at = $2, change_seq = $3 WHERE id = $1",
        )
        .bind(&id)
        .bind(now_ms())
        .bind(change_seq)
        .execute(&mut **tx)
        .await?;
        bookings::cancel_all(state, tx, "offer_id", &id, user_id, reason).await?;
    }
    // Needs: closed and kept, anonymous, for the figures; drivers told.
    crate::relay::close_open_needs(state, tx, "owner_id", user_id, user_id).await?;
    for table in [
        "sessions",
        "push_subscriptions",
        "notifications",
        "deliveries",
        "idempotency_keys",
        "user_roles",
        "booking_checkins",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE user_id = $1"
        )))
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    }
    let contacts = sqlx::query("SELECT phone, email FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(row) = contacts {
        for contact in [
            row.try_get::<Option<String>, _>("phone")?,
            row.try_get::<Option<String>, _>("email")?,
        ]
        .into_iter()
        .flatten()
        {
            sqlx::query("DELETE FROM sign_in_codes WHERE contact = $1")
                .bind(&contact)
                .execute(&mut **tx)
                .await?;
            sqlx::query("DELETE FROM rate_limit_hits WHERE bucket = $1")
                .bind(format!("contact:{contact}"))
                .execute(&mut **tx)
                .await?;
        }
    }
    // Free text they wrote: booking reasons, outcome reasons.
    sqlx::query("UPDATE bookings SET reason = NULL WHERE status_by = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE needs SET outcome_reason = 'compte supprimé'
         WHERE outcome_by = $1 AND outcome_reason IS NOT NULL AND on_behalf_of IS NULL",
    )
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE users SET display_name = '', phone = NULL, email = NULL, share_phone = 0, share_email = 0,
            preferred_channel = 'push', erased_at = $2, updated_at = $2 WHERE id = $1",
    )
    .bind(user_id)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The retention job: erases accounts not seen, and people registered by
/// relays not helped, for `retention_months`. Runs with the housekeeping.
pub async fn purge_inactive(state: &AppState) -> ApiResult<usize> {
    let months = i64::from(state.config.retention_months.max(1));
    let cutoff = now_ms() - months * 30 * 24 * 3_600_000;
    let users = sqlx::query(
        "SELECT id FROM users WHERE erased_at IS NULL AND last_seen_at < $1
           AND NOT EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = users.id)
         LIMIT 100",
    )
    .bind(cutoff)
    .fetch_all(&state.db.pool)
    .await?;
    let mut purged = 0;
    for row in &users {
        let id: String = row.try_get("id")?;
        let mut tx = state.db.begin_write().await?;
        match erase_user_in(state, &mut tx, &id).await {
            Ok(()) => {
                tx.commit().await?;
                purged += 1;
            }
            Err(err) => tracing::warn!(user = %id, error = %err, "retention erasure failed"),
        }
    }
    let people = sqlx::query(
        "SELECT id, territory_id FROM beneficiaries WHERE erased_at IS NULL AND last_active_at < $1
           AND NOT EXISTS (SELECT 1 FROM needs n WHERE n.on_behalf_of = beneficiaries.id
                             AND n.status IN ('open', 'booked'))
         LIMIT 100",
    )
    .bind(cutoff)
    .fetch_all(&state.db.pool)
    .await?;
    for row in &people {
        let id: String = row.try_get("id")?;
        let territory: String = row.try_get("territory_id")?;
        let mut tx = state.db.begin_write().await?;
        if let Err(err) = crate::relay::erase_beneficiary_in(state, &mut tx, &id, "retention").await
        {
            tracing::warn!(beneficiary = %id, error = %err, "retention erasure failed");
            continue;
        }
        crate::relay::audit(
            &mut tx,
            Some(&territory),
            "retention",
            "beneficiary_erased",
            ("beneficiary", &id),
            &format!("inactif depuis {months} mois"),
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
