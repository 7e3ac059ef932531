//! Accounts and roles: the one writer of `users` and `user_roles`.

use std::collections::HashMap;

use lotocar_shared::api::{ContactDetails, Me, ProfileChange, RoleGrant};
use lotocar_shared::contact::Contact;
use lotocar_shared::coordination::StaffMember;
use lotocar_shared::people::{Channel, Role};
use lotocar_shared::text::public_name;
use sqlx::FromRow;

use crate::db::{Db, Tx, from_ms, new_id, now_ms, placeholders};
use crate::error::{Error, Result};

/// A `users` row as stored.
#[derive(FromRow)]
struct UserRecord {
    id: String,
    display_name: String,
    phone: Option<String>,
    email: Option<String>,
    preferred_channel: String,
    share_phone: i64,
    share_email: i64,
    created_at: i64,
}

const USER_COLUMNS: &str =
    "id, display_name, phone, email, preferred_channel, share_phone, share_email, created_at";

fn user_by_contact(contact: &Contact) -> (&'static str, &'static str) {
    match contact {
        Contact::Phone(_) => (
            "SELECT id FROM users WHERE phone = $1",
            "INSERT INTO users (id, display_name, phone, email, preferred_channel, created_at, updated_at, last_seen_at, joined_via)
             VALUES ($2, '', $1, NULL, 'sms', $3, $3, $3, $4) ON CONFLICT DO NOTHING",
        ),
        Contact::Email(_) => (
            "SELECT id FROM users WHERE email = $1",
            "INSERT INTO users (id, display_name, phone, email, preferred_channel, created_at, updated_at, last_seen_at, joined_via)
             VALUES ($2, '', NULL, $1, 'email', $3, $3, $3, $4) ON CONFLICT DO NOTHING",
        ),
    }
}

/// How a person first came: with the app (phone or desktop) or in a
/// browser (the web shell). People a relay registers are beneficiaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    App,
    Web,
}

impl Joined {
    pub fn code(self) -> &'static str {
        match self {
            Joined::App => "app",
            Joined::Web => "web",
        }
    }
}

/// The id of the user who signs in with `contact`, created if new.
pub async fn find_or_create(db: &Db, contact: &Contact) -> Result<String, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let id = find_or_create_in(db, &mut tx, contact, Joined::App).await?;
    tx.commit().await?;
    Ok(id)
}

/// The same in `tx`: read first without the writer, created in `tx` only
/// if new.
pub async fn find_or_create_in(
    db: &Db,
    tx: &mut Tx,
    contact: &Contact,
    via: Joined,
) -> Result<String, sqlx::Error> {
    let (lookup, insert) = user_by_contact(contact);
    if let Some((id,)) = sqlx::query_as::<_, (String,)>(lookup)
        .bind(contact.as_str())
        .fetch_optional(&db.pool)
        .await?
    {
        return Ok(id);
    }
    sqlx::query(insert)
        .bind(contact.as_str())
        .bind(new_id())
        .bind(now_ms())
        .bind(via.code())
        .execute(&mut **tx)
        .await?;
    // Whoever won a concurrent first sign-in, this reads their row.
    let (id,): (String,) = sqlx::query_as(lookup)
        .bind(contact.as_str())
        .fetch_one(&mut **tx)
        .await?;
    Ok(id)
}

/// A person's profile with their roles.
pub async fn me(db: &Db, user_id: &str) -> Result<Me> {
    me_with(db, user_id, None).await
}

/// A person's profile; `roles`: their roles when already read (with the
/// session), else read here.
pub async fn me_with(db: &Db, user_id: &str, roles: Option<Vec<RoleGrant>>) -> Result<Me> {
    let record: UserRecord = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
    )))
    .bind(user_id)
    .fetch_optional(&db.pool)
    .await?
    .ok_or_else(|| Error::not_found("Ce compte n'existe plus."))?;
    Ok(Me {
        preferred_channel: Channel::from_code(&record.preferred_channel).unwrap_or(Channel::Push),
        share_phone: record.share_phone != 0,
        share_email: record.share_email != 0,
        created_at: from_ms(record.created_at),
        roles: match roles {
            Some(roles) => roles,
            None => self::roles(db, user_id).await?,
        },
        id: record.id,
        display_name: record.display_name,
        phone: record.phone,
        email: record.email,
    })
}

/// Changes a profile: name, channel (one the person can be reached on),
/// consent to show their phone or e-mail.
pub async fn change_profile(db: &Db, user_id: &str, change: ProfileChange) -> Result<Me> {
    let current = me(db, user_id).await?;
    let channel = change
        .preferred_channel
        .unwrap_or(current.preferred_channel);
    let reachable = match channel {
        Channel::Sms => current.phone.is_some(),
        Channel::Email => current.email.is_some(),
        Channel::Push | Channel::Relay => true,
    };
    if !reachable {
        return Err(Error::field(
            "preferred_channel",
            match channel {
                Channel::Sms => {
                    "Pour être prévenu par SMS, connectez-vous avec votre numéro de portable."
                }
                _ => "Pour être prévenu par e-mail, connectez-vous avec votre adresse e-mail.",
            },
        ));
    }
    sqlx::query(
        "UPDATE users SET display_name = $2, preferred_channel = $3, share_phone = $4,
                share_email = $5, updated_at = $6
         WHERE id = $1",
    )
    .bind(user_id)
    .bind(
        change
            .display_name
            .as_ref()
            .map(|n| n.as_str().to_string())
            .unwrap_or(current.display_name),
    )
    .bind(channel.code())
    .bind(i64::from(change.share_phone.unwrap_or(current.share_phone)))
    .bind(i64::from(change.share_email.unwrap_or(current.share_email)))
    .bind(now_ms())
    .execute(&db.writer)
    .await?;
    me(db, user_id).await
}

/// Records that the person used the service (for the retention period).
pub(super) async fn seen(db: &Db, user_id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET last_seen_at = $2 WHERE id = $1")
        .bind(user_id)
        .bind(now)
        .execute(&db.writer)
        .await?;
    Ok(())
}

/// Sets a name and the consent to show the phone (the demo's accounts).
pub async fn set_name_and_sharing(
    db: &Db,
    user_id: &str,
    name: &str,
    share_phone: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET display_name = $2, share_phone = $3, updated_at = $4 WHERE id = $1",
    )
    .bind(user_id)
    .bind(name)
    .bind(i64::from(share_phone))
    .bind(now_ms())
    .execute(&db.writer)
    .await?;
    Ok(())
}

pub async fn roles(db: &Db, user_id: &str) -> Result<Vec<RoleGrant>, sqlx::Error> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT role, territory_id FROM user_roles WHERE user_id = $1 ORDER BY territory_id, role",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?;
    // A role this version does not know is not granted.
    Ok(rows
        .into_iter()
        .filter_map(|(role, territory_id)| {
            Some(RoleGrant {
                role: Role::from_code(&role)?,
                territory_id,
            })
        })
        .collect())
}

/// Grants `role` in `territory_id` to whoever signs in with `contact`
/// (the account is created if it does not exist yet).
pub async fn grant_role(
    db: &Db,
    contact: &Contact,
    role: Role,
    territory_id: &str,
) -> anyhow::Result<String> {
    if !crate::territories::exists(db, territory_id).await? {
        anyhow::bail!(
            "unknown territory {territory_id}: create it first (lotocar admin territory)"
        );
    }
    let user_id = find_or_create(db, contact).await?;
    sqlx::query(
        "INSERT INTO user_roles (user_id, role, territory_id, granted_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, role, territory_id) DO NOTHING",
    )
    .bind(&user_id)
    .bind(role.code())
    .bind(territory_id)
    .bind(now_ms())
    .execute(&db.writer)
    .await?;
    Ok(user_id)
}

/// Takes a role away; false when the person did not have it.
pub async fn revoke_role(
    tx: &mut Tx,
    user_id: &str,
    role: Role,
    territory_id: &str,
) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query(
            "DELETE FROM user_roles WHERE user_id = $1 AND territory_id = $2 AND role = $3",
        )
        .bind(user_id)
        .bind(territory_id)
        .bind(role.code())
        .execute(&mut **tx)
        .await?
        .rows_affected()
            > 0,
    )
}

/// The territory's relays, coordinators and admins.
pub async fn staff_of(db: &Db, territory_id: &str) -> Result<Vec<StaffMember>> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT u.id, u.display_name, COALESCE(u.phone, u.email, '') AS contact, r.role
         FROM user_roles r JOIN users u ON u.id = r.user_id
         WHERE r.territory_id = $1 ORDER BY r.role, u.display_name",
    )
    .bind(territory_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(user_id, display_name, contact, role)| {
            Some(StaffMember {
                role: Role::from_code(&role)?,
                user_id,
                display_name,
                contact,
            })
        })
        .collect())
}

/// A person's display name ("" when erased or unknown).
pub async fn display_name(db: &Db, user_id: &str) -> Result<String, sqlx::Error> {
    Ok(
        sqlx::query_as::<_, (String,)>("SELECT display_name FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&db.pool)
            .await?
            .map(|(name,)| name)
            .unwrap_or_default(),
    )
}

/// Public names ("Marie D.") of people, by id.
pub async fn public_names(db: &Db, ids: &[String]) -> Result<HashMap<String, String>, sqlx::Error> {
    let mut names = HashMap::new();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT id, display_name FROM users WHERE id IN ({})",
            placeholders(1, chunk.len())
        );
        let mut query = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(id);
        }
        for (id, name) in query.fetch_all(&db.pool).await? {
            names.insert(id, public_name(&name));
        }
    }
    Ok(names)
}

/// How a person can be told: their phone, e-mail and preferred channel.
#[derive(Debug, Clone)]
pub struct Reach {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub preferred: Channel,
}

/// How to reach a person, read in `tx` (`None` for an erased account).
pub async fn reach<'e, E>(executor: E, user_id: &str) -> Result<Option<Reach>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row: Option<(Option<String>, Option<String>, String)> = sqlx::query_as(
        "SELECT phone, email, preferred_channel FROM users WHERE id = $1 AND erased_at IS NULL",
    )
    .bind(user_id)
    .fetch_optional(executor)
    .await?;
    Ok(row.map(|(phone, email, preferred)| Reach {
        phone,
        email,
        preferred: Channel::from_code(&preferred).unwrap_or(Channel::Push),
    }))
}

/// The phone and e-mail a person agreed to show to the other party of a
/// confirmed booking (no answer is no); `None` when they share nothing.
pub async fn shared_contact(
    tx: &mut Tx,
    user_id: &str,
) -> Result<Option<ContactDetails>, sqlx::Error> {
    let row: Option<(Option<String>, Option<String>, i64, i64)> =
        sqlx::query_as("SELECT phone, email, share_phone, share_email FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?;
    let Some((phone, email, share_phone, share_email)) = row else {
        return Ok(None);
    };
    let phone = phone.filter(|_| share_phone != 0);
    let email = email.filter(|_| share_email != 0);
    Ok(
        (phone.is_some() || email.is_some()).then_some(ContactDetails {
            phone,
            email,
            through: None,
        }),
    )
}

/// When the person was last seen and their profile last changed.
pub async fn activity(db: &Db, user_id: &str) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as("SELECT last_seen_at, updated_at FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&db.pool)
        .await
}

/// Accounts not seen since `cutoff` (epoch ms), with no role: the
/// retention purge erases them.
pub async fn inactive_since(db: &Db, cutoff: i64, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM users WHERE erased_at IS NULL AND last_seen_at < $1
           AND NOT EXISTS (SELECT 1 FROM user_roles r WHERE r.user_id = users.id)
         LIMIT $2",
    )
    .bind(cutoff)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Erases a person's account in `tx`: name, phone, e-mail and consents
/// go, so do their roles, sessions, pending code and the rate-limit
/// buckets that name their contact. The row stays (an id others' figures
/// point to), marked erased.
pub async fn erase(tx: &mut Tx, user_id: &str) -> Result<()> {
    let row: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT phone, email FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?;
    let contacts: Vec<String> = row
        .map(|(phone, email)| [phone, email].into_iter().flatten().collect())
        .unwrap_or_default();
    super::sign_in::erase(tx, user_id, &contacts).await?;
    sqlx::query("DELETE FROM user_roles WHERE user_id = $1")
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
