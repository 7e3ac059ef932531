//! People registered by relays (France Services agents, association
//! volunteers) because they have no account or no smartphone: who they
//! are, how they are reached, the consent the relay recorded. A relay or
//! coordinator sees only their territory's people; anyone else gets 404.
//! The one writer of `beneficiaries` (the HTTP routes are in `relay`).

use lotocar_shared::people::DisplayName;
use lotocar_shared::relay::{Beneficiary, BeneficiaryDraft, BeneficiaryPatch, Consent, ReachBy};
use lotocar_shared::{Invalid, PhoneNumber};
use sqlx::FromRow;

use crate::audit::{self, Action, Line, Subject};
use crate::auth::AuthUser;
use crate::db::{Db, Tx, from_ms, new_id, now_ms};
use crate::error::{Error, Result};
use crate::notify::{self, PersonReach};
use crate::places::gazetteer::Gazetteer;

/// A `beneficiaries` row, with the name of the relay who recorded the
/// consent.
#[derive(FromRow)]
struct Record {
    id: String,
    territory_id: String,
    display_name: String,
    phone: Option<String>,
    commune_insee: String,
    commune_label: String,
    reach_by: String,
    share_phone: i64,
    consent_by: String,
    consent_at: i64,
    consent_method: String,
    created_at: i64,
    updated_at: i64,
    consent_by_name: Option<String>,
}

const SELECT: &str = "SELECT b.id, b.territory_id, b.display_name, b.phone, b.commune_insee,
        b.commune_label, b.reach_by, b.share_phone, b.consent_by, b.consent_at, b.consent_method,
        b.created_at, b.updated_at, u.display_name AS consent_by_name
     FROM beneficiaries b LEFT JOIN users u ON u.id = b.consent_by";

impl Record {
    fn into_api(self) -> Beneficiary {
        Beneficiary {
            commune_id: format!("commune:{}", self.commune_insee),
            reach_by: ReachBy::from_code(&self.reach_by).unwrap_or(ReachBy::RelayCall),
            share_phone: self.share_phone != 0,
            consent: Consent {
                recorded_by: self.consent_by,
                recorded_by_name: self.consent_by_name.unwrap_or_default(),
                at: from_ms(self.consent_at),
                method: self.consent_method,
            },
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
            id: self.id,
            territory_id: self.territory_id,
            display_name: self.display_name,
            phone: self.phone,
            commune_label: self.commune_label,
        }
    }
}

fn not_found() -> Error {
    Error::NotFound("Cette personne n'est pas inscrite sur votre territoire.".into())
}

/// A registered person (not erased), whoever asks.
pub async fn load<'e, E>(executor: E, id: &str) -> Result<Option<Beneficiary>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let record: Option<Record> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE b.id = $1 AND b.erased_at IS NULL"
    )))
    .bind(id)
    .fetch_optional(executor)
    .await?;
    Ok(record.map(Record::into_api))
}

/// A registered person the caller may act for (relay or coordinator of
/// her territory); anyone else gets 404.
pub async fn load_for<'e, E>(executor: E, user: &AuthUser, id: &str) -> Result<Beneficiary>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let beneficiary = load(executor, id).await?.ok_or_else(not_found)?;
    if !user.is_staff(&beneficiary.territory_id) {
        return Err(not_found());
    }
    Ok(beneficiary)
}

/// The territory a registered person belongs to, even once erased.
pub async fn territory_of<'e, E>(executor: E, id: &str) -> Result<Option<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    Ok(
        sqlx::query_as::<_, (String,)>("SELECT territory_id FROM beneficiaries WHERE id = $1")
            .bind(id)
            .fetch_optional(executor)
            .await?
            .map(|(t,)| t),
    )
}

/// The territory's registered people, by name.
pub async fn of_territory(db: &Db, territory_id: &str) -> Result<Vec<Beneficiary>> {
    let records: Vec<Record> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT} WHERE b.territory_id = $1 AND b.erased_at IS NULL
         ORDER BY b.display_name LIMIT 2000"
    )))
    .bind(territory_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(records.into_iter().map(Record::into_api).collect())
}

/// Registers a person, with her consent (who recorded it, when, how), and
/// writes it in the audit log.
pub async fn register(
    db: &Db,
    gazetteer: &Gazetteer,
    user: &AuthUser,
    territory_id: &str,
    draft: &BeneficiaryDraft,
) -> Result<Beneficiary> {
    let commune = gazetteer.current(&draft.insee).ok_or_else(|| {
        Error::field(
            "commune_id",
            "Commune inconnue : choisissez-la dans la liste proposée.",
        )
    })?;
    let id = new_id();
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO beneficiaries (id, territory_id, display_name, phone, commune_insee, commune_label,
            reach_by, consent_by, consent_at, consent_method, created_at, updated_at, last_active_at,
            share_phone)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, $9, $9, $11)",
    )
    .bind(&id)
    .bind(territory_id)
    .bind(draft.display_name.as_str())
    .bind(draft.phone.as_ref().map(|p| p.as_str().to_string()))
    .bind(&commune.insee)
    .bind(&commune.name)
    .bind(draft.reach_by.code())
    .bind(&user.id)
    .bind(now_ms())
    .bind(&draft.consent_method)
    .bind(i64::from(draft.share_phone))
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Line {
            territory_id: Some(territory_id),
            actor: &user.id,
            action: Action::BeneficiaryRegistered,
            subject: Subject::Beneficiary(&id),
            detail: &format!("consentement : {}", draft.consent_method),
        },
    )
    .await?;
    let beneficiary = load_for(&mut *tx, user, &id).await?;
    tx.commit().await?;
    Ok(beneficiary)
}

/// Corrects a person's name, phone or how she is reached; texts not sent
/// yet to a number she no longer uses are dropped.
pub async fn change(
    db: &Db,
    user: &AuthUser,
    id: &str,
    patch: &BeneficiaryPatch,
) -> Result<Beneficiary> {
    let mut tx = db.begin_write().await?;
    let current = load_for(&mut *tx, user, id).await?;
    let mut invalid = Invalid::new();
    let name = match patch.display_name.as_deref() {
        None => current.display_name.clone(),
        Some(raw) => match DisplayName::new(raw) {
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
        return Err(invalid.into());
    }
    // Without a phone there is nothing to share.
    let share_phone = phone.is_some() && patch.share_phone.unwrap_or(current.share_phone);
    if phone != current.phone || reach_by != current.reach_by {
        notify::drop_pending_texts_to(&mut tx, id).await?;
    }
    sqlx::query(
        "UPDATE beneficiaries SET display_name = $2, phone = $3, reach_by = $4, updated_at = $5,
            share_phone = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(&name)
    .bind(&phone)
    .bind(reach_by.code())
    .bind(now_ms())
    .bind(i64::from(share_phone))
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        Line {
            territory_id: Some(&current.territory_id),
            actor: &user.id,
            action: Action::BeneficiaryUpdated,
            subject: Subject::Beneficiary(id),
            detail: "",
        },
    )
    .await?;
    let beneficiary = load_for(&mut *tx, user, id).await?;
    tx.commit().await?;
    Ok(beneficiary)
}

/// A relay acted for her (a need posted, an outcome recorded): the
/// retention period starts again.
pub async fn touch(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE beneficiaries SET last_active_at = $2 WHERE id = $1")
        .bind(id)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Her public name ("Yvette R."), as her driver reads it; `None` once
/// erased.
pub async fn public_name<'e, E>(executor: E, id: &str) -> Result<Option<String>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT display_name FROM beneficiaries WHERE id = $1 AND erased_at IS NULL",
    )
    .bind(id)
    .fetch_optional(executor)
    .await?;
    Ok(row.map(|(name,)| lotocar_shared::text::public_name(&name)))
}

/// The public names of these people, by id (the erased left out), in one
/// read per 500.
pub async fn public_names(
    db: &Db,
    ids: &[String],
) -> Result<std::collections::HashMap<String, String>, sqlx::Error> {
    let mut names = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT id, display_name FROM beneficiaries WHERE erased_at IS NULL AND id IN ({})",
            crate::db::placeholders(1, chunk.len())
        );
        let mut query = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(id);
        }
        for (id, name) in query.fetch_all(&db.pool).await? {
            names.insert(id, lotocar_shared::text::public_name(&name));
        }
    }
    Ok(names)
}

/// The phone she agreed to show to the driver of a confirmed trip (no
/// answer is no); `None` otherwise.
pub async fn shared_phone(tx: &mut Tx, id: &str) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(Option<String>, i64)> = sqlx::query_as(
        "SELECT phone, share_phone FROM beneficiaries WHERE id = $1 AND erased_at IS NULL",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.and_then(|(phone, share)| phone.filter(|_| share != 0)))
}

/// How to tell her about her bookings (her relay is the recipient).
pub async fn reach(tx: &mut Tx, id: &str) -> Result<Option<PersonReach>, sqlx::Error> {
    let row: Option<(Option<String>, String)> = sqlx::query_as(
        "SELECT phone, reach_by FROM beneficiaries WHERE id = $1 AND erased_at IS NULL",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(
        |(phone, reach_by)| match (ReachBy::from_code(&reach_by), phone) {
            (Some(ReachBy::Sms), Some(phone)) => PersonReach::Sms(phone),
            _ => PersonReach::RelayCall,
        },
    ))
}

/// People not helped since `cutoff` (epoch ms) and with no need still
/// open: (id, territory).
pub async fn inactive_since(
    db: &Db,
    cutoff: i64,
    limit: i64,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, territory_id FROM beneficiaries WHERE erased_at IS NULL AND last_active_at < $1
           AND NOT EXISTS (SELECT 1 FROM needs n WHERE n.on_behalf_of = beneficiaries.id
                             AND n.status IN ('open', 'booked'))
         ORDER BY last_active_at LIMIT $2",
    )
    .bind(cutoff)
    .bind(limit)
    .fetch_all(&db.pool)
    .await
}

/// Blanks her name, phone and consent details; the row stays, marked
/// erased, for the figures.
pub async fn erase(tx: &mut Tx, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE beneficiaries SET display_name = '', phone = NULL, share_phone = 0, consent_method = '',
            erased_at = $2, updated_at = $2 WHERE id = $1",
    )
    .bind(id)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
