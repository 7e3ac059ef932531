//! Web Push subscriptions: a browser or phone registered by its person.
//! The one writer of `push_subscriptions`.

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use lotocar_shared::api::{Problem, PushKey, PushSubscription, PushSubscriptionInput};
use sqlx::{FromRow, Row};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Notify;
use super::push::Subscription;
use crate::auth::{Auth, AuthUser};
use crate::db::{Db, new_id, now_ms};
use crate::error::{ApiJson, ApiPath, ApiResult, Error};

pub fn router<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Notify: FromRef<S>,
    Auth: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(vapid_public_key))
        .routes(routes!(subscribe, subscriptions))
        .routes(routes!(unsubscribe))
}

#[derive(FromRow)]
struct SubscriptionRecord {
    id: String,
    endpoint: String,
    p256dh: String,
    auth: String,
}

/// The subscriptions of a person, to push to.
pub async fn of_user(db: &Db, user_id: &str) -> Result<Vec<Subscription>, sqlx::Error> {
    let records: Vec<SubscriptionRecord> = sqlx::query_as(
        "SELECT id, endpoint, p256dh, auth FROM push_subscriptions WHERE user_id = $1",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(records
        .into_iter()
        .map(|r| Subscription {
            id: r.id,
            endpoint: r.endpoint,
            p256dh: r.p256dh,
            auth: r.auth,
        })
        .collect())
}

/// A subscription the push service says is gone (404, 410).
pub async fn forget(db: &Db, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM push_subscriptions WHERE id = $1")
        .bind(id)
        .execute(&db.writer)
        .await?;
    Ok(())
}

/// The server's VAPID public key, for `pushManager.subscribe`.
#[utoipa::path(get, path = "/api/v1/push/vapid-public-key", tag = "notifications",
    responses((status = 200, body = PushKey)))]
async fn vapid_public_key(State(notify): State<Notify>) -> Json<PushKey> {
    Json(PushKey {
        key: notify.vapid.public_key().to_string(),
    })
}

/// Registers this browser or phone for Web Push (the JSON of the browser's
/// PushSubscription).
#[utoipa::path(post, path = "/api/v1/push/subscriptions", tag = "notifications",
    security(("bearer" = [])),
    request_body = PushSubscriptionInput,
    responses((status = 201, body = PushSubscription), (status = 401, body = Problem), (status = 422, body = Problem)))]
async fn subscribe(
    State(notify): State<Notify>,
    user: AuthUser,
    ApiJson(input): ApiJson<PushSubscriptionInput>,
) -> ApiResult<(StatusCode, Json<PushSubscription>)> {
    let checked = input.validate()?;
    if let Err(refused) = notify.endpoints.check(&checked.endpoint).await {
        return Err(Error::field("endpoint", refused.0).into());
    }
    // The same endpoint registered again by its person (new keys), or on a
    // shared browser by someone else who proves it is the same browser
    // (the same keys), now belongs to this person; anyone else is refused.
    let moved: Option<(String,)> = sqlx::query_as(
        "INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (endpoint) DO UPDATE SET user_id = $2, p256dh = $4, auth = $5
           WHERE push_subscriptions.user_id = $2
              OR (push_subscriptions.p256dh = $4 AND push_subscriptions.auth = $5)
         RETURNING id",
    )
    .bind(new_id())
    .bind(&user.id)
    .bind(&checked.endpoint)
    .bind(&checked.p256dh)
    .bind(&checked.auth)
    .bind(now_ms())
    .fetch_optional(&notify.db.writer)
    .await?;
    let Some((id,)) = moved else {
        return Err(Error::conflict(
            "endpoint_taken",
            "Cet appareil reçoit déjà les notifications d'une autre personne : elle doit d'abord se déconnecter de ce navigateur.",
        )
        .into());
    };
    Ok((
        StatusCode::CREATED,
        Json(PushSubscription {
            id,
            endpoint: checked.endpoint,
        }),
    ))
}

/// My devices registered for Web Push.
#[utoipa::path(get, path = "/api/v1/push/subscriptions", tag = "notifications",
    security(("bearer" = [])),
    responses((status = 200, body = Vec<PushSubscription>), (status = 401, body = Problem)))]
async fn subscriptions(
    State(notify): State<Notify>,
    user: AuthUser,
) -> ApiResult<Json<Vec<PushSubscription>>> {
    let rows = sqlx::query(
        "SELECT id, endpoint FROM push_subscriptions WHERE user_id = $1 ORDER BY created_at",
    )
    .bind(&user.id)
    .fetch_all(&notify.db.pool)
    .await?;
    let list = rows
        .iter()
        .map(|r| {
            Ok(PushSubscription {
                id: r.try_get("id")?,
                endpoint: r.try_get("endpoint")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Json(list))
}

/// Stops Web Push to a browser or phone.
#[utoipa::path(delete, path = "/api/v1/push/subscriptions/{id}", tag = "notifications",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn unsubscribe(
    State(notify): State<Notify>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let gone = sqlx::query("DELETE FROM push_subscriptions WHERE id = $1 AND user_id = $2")
        .bind(&id)
        .bind(&user.id)
        .execute(&notify.db.writer)
        .await?
        .rows_affected();
    if gone == 0 {
        return Err(Error::not_found("Cet appareil n'est pas abonné.").into());
    }
    Ok(StatusCode::NO_CONTENT)
}
