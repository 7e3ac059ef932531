//! The audit log: who did what for whom on a territory (relay actions,
//! team and place changes, erasures), for its coordinator. The one writer
//! of `audit_log`; lines are written in the transaction of what they tell.

use crate::db::{Db, Tx, from_ms, new_id, now_ms, placeholders};

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    BeneficiaryRegistered,
    BeneficiaryUpdated,
    BeneficiaryErased,
    NeedPostedFor,
    OutcomeRecorded,
    MatchProposed,
    RoleGranted,
    RoleRemoved,
    MeetingPointSaved,
    MeetingPointRemoved,
    AliasSaved,
    AliasRemoved,
    RatingHidden,
}

impl Action {
    /// The stored code (kept as first written: the log is never rewritten).
    pub fn code(self) -> &'static str {
        match self {
            Action::BeneficiaryRegistered => "beneficiary_registered",
            Action::BeneficiaryUpdated => "beneficiary_updated",
            Action::BeneficiaryErased => "beneficiary_erased",
            Action::NeedPostedFor => "request_posted_for",
            Action::OutcomeRecorded => "outcome_recorded",
            Action::MatchProposed => "match_proposed",
            Action::RoleGranted => "role_granted",
            Action::RoleRemoved => "role_removed",
            Action::MeetingPointSaved => "meeting_point_saved",
            Action::MeetingPointRemoved => "meeting_point_removed",
            Action::AliasSaved => "alias_saved",
            Action::AliasRemoved => "alias_removed",
            Action::RatingHidden => "rating_hidden",
        }
    }
}

/// What (or whom) it was done to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    Beneficiary(&'a str),
    Need(&'a str),
    User(&'a str),
    MeetingPoint(&'a str),
    Alias(&'a str),
    Rating(&'a str),
}

impl Subject<'_> {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            Subject::Beneficiary(id) => ("beneficiary", id),
            Subject::Need(id) => ("request", id),
            Subject::User(id) => ("user", id),
            Subject::MeetingPoint(id) => ("meeting_point", id),
            Subject::Alias(id) => ("alias", id),
            Subject::Rating(id) => ("rating", id),
        }
    }
}

/// One line to write.
pub struct Line<'a> {
    pub territory_id: Option<&'a str>,
    /// A person's id, or `retention` for the scheduled purge.
    pub actor: &'a str,
    pub action: Action,
    pub subject: Subject<'a>,
    /// Free text; a registered person's name is never written here (it is
    /// read when the log is shown, so that erasing them erases it here too).
    pub detail: &'a str,
}

/// Writes one line, in the caller's transaction.
pub async fn record(tx: &mut Tx, line: Line<'_>) -> Result<(), sqlx::Error> {
    let (kind, id) = line.subject.parts();
    sqlx::query(
        "INSERT INTO audit_log (id, territory_id, actor_id, action, subject_kind, subject_id, detail, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new_id())
    .bind(line.territory_id)
    .bind(line.actor)
    .bind(line.action.code())
    .bind(kind)
    .bind(id)
    .bind(line.detail)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Blanks the free text of every line about these subjects (a person
/// erased, and her needs).
pub async fn scrub(tx: &mut Tx, subject_ids: &[String]) -> Result<(), sqlx::Error> {
    for chunk in subject_ids.chunks(500) {
        let sql = format!(
            "UPDATE audit_log SET detail = '' WHERE subject_id IN ({})",
            placeholders(1, chunk.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(id);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// What a person did as a relay or coordinator, for the export of their data.
pub async fn actions_of(db: &Db, actor_id: &str) -> Result<Vec<serde_json::Value>, sqlx::Error> {
    type Row = (Option<String>, String, String, String, String, i64);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT territory_id, action, subject_kind, subject_id, detail, at FROM audit_log
         WHERE actor_id = $1 ORDER BY at",
    )
    .bind(actor_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(territory_id, action, subject_kind, subject_id, detail, at)| {
                serde_json::json!({
                    "territory_id": territory_id, "action": action, "subject_kind": subject_kind,
                    "subject_id": subject_id, "detail": detail, "at": from_ms(at),
                })
            },
        )
        .collect())
}
