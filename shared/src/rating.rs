//! Feedback after a trip: a grade from 1 to 5 and a short comment, from
//! each side of a booking whose trip took place.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::validation::Invalid;

/// The longest comment, in characters.
pub const COMMENT_MAX: usize = 300;
/// Days during which a rating may still be changed.
pub const EDITABLE_DAYS: i64 = 7;
/// Ratings a person needs before their average is shown.
pub const SHOWN_FROM: u64 = 3;

/// `PUT /api/v1/bookings/{id}/rating`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RatingInput {
    /// 1 (bad) to 5 (very good).
    pub grade: i64,
    /// « Ponctuel, très aimable » (300 characters at most).
    #[serde(default)]
    pub comment: String,
}

impl RatingInput {
    /// The grade and the comment, trimmed; French messages at their field.
    pub fn validate(&self) -> Result<(i64, String), Invalid> {
        let mut errors = Invalid::new();
        if !(1..=5).contains(&self.grade) {
            errors.push("grade", "Choisissez une note de 1 à 5.");
        }
        let comment: String = self
            .comment
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .trim()
            .to_string();
        if comment.chars().count() > COMMENT_MAX {
            errors.push(
                "comment",
                format!(
                    "Votre commentaire est trop long : {COMMENT_MAX} caractères au plus (il en a {}).",
                    comment.chars().count()
                ),
            );
        }
        if errors.errors.is_empty() {
            Ok((self.grade, comment))
        } else {
            Err(errors)
        }
    }
}

/// A rating, as its author sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rating {
    pub id: String,
    pub booking_id: String,
    /// `driver` or `passenger`: the side that wrote it.
    pub side: String,
    pub grade: i64,
    pub comment: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Until when it may be changed.
    pub editable_until: DateTime<Utc>,
}

/// A person's average, shown once they have [`SHOWN_FROM`] ratings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RatingSummary {
    /// One decimal.
    pub average: f64,
    pub count: u64,
}

/// A rating on the coordinator's list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StaffRating {
    pub id: String,
    pub booking_id: String,
    pub side: String,
    /// The author's public name (« Marie D. »); a relay's feedback names
    /// the person she helps.
    pub from_name: String,
    /// The public name of the person graded.
    pub about_name: String,
    pub grade: i64,
    pub comment: String,
    /// 1 or 2: to look at.
    pub low: bool,
    pub created_at: DateTime<Utc>,
    pub hidden: bool,
    pub hidden_reason: Option<String>,
}

/// `POST /api/v1/territories/{id}/ratings/{rating}/hide`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HideRating {
    /// Why it is hidden (kept in the audit log).
    pub reason: String,
}
