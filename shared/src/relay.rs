//! People registered by a relay (no account, often no smartphone), and what
//! became of a need: the outcome a relay or a passenger records.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::contact::PhoneNumber;
use crate::people::DisplayName;
use crate::validation::Invalid;

/// How a beneficiary is told about their trips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReachBy {
    /// A text message to their phone (needs a phone number).
    Sms,
    /// The relay calls them.
    RelayCall,
}

impl ReachBy {
    pub fn code(self) -> &'static str {
        match self {
            ReachBy::Sms => "sms",
            ReachBy::RelayCall => "relay_call",
        }
    }

    pub fn from_code(code: &str) -> Option<ReachBy> {
        [ReachBy::Sms, ReachBy::RelayCall]
            .into_iter()
            .find(|r| r.code() == code)
    }

    /// In French, for screens.
    pub fn label(self) -> &'static str {
        match self {
            ReachBy::Sms => "par SMS",
            ReachBy::RelayCall => "appel du relais",
        }
    }
}

/// The consent a relay recorded for a beneficiary: who, when, how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Consent {
    /// The relay who recorded it.
    pub recorded_by: String,
    pub recorded_by_name: String,
    pub at: DateTime<Utc>,
    /// How it was given, in the relay's words ("oral, par téléphone").
    pub method: String,
}

/// A person registered by a relay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Beneficiary {
    pub id: String,
    pub territory_id: String,
    pub display_name: String,
    /// E.164, when they have a phone.
    pub phone: Option<String>,
    /// Their commune (`commune:<INSEE>`) and its name.
    pub commune_id: String,
    pub commune_label: String,
    pub reach_by: ReachBy,
    /// Whether she agrees that the driver of a confirmed trip sees her
    /// phone (no answer is no: the driver is given her relay's line).
    #[serde(default)]
    pub share_phone: bool,
    pub consent: Consent,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Registering a person: `POST /api/v1/territories/{id}/beneficiaries`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BeneficiaryInput {
    #[cfg_attr(feature = "openapi", schema(example = "Yvette R.", min_length = 1))]
    pub display_name: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = "06 12 34 56 78"))]
    pub phone: Option<String>,
    /// `commune:<INSEE>`, from `/api/v1/places`.
    #[cfg_attr(feature = "openapi", schema(example = "commune:46176"))]
    pub commune_id: String,
    pub reach_by: Option<ReachBy>,
    /// Whether she agrees that the driver of a confirmed trip sees her
    /// phone (default no).
    #[serde(default)]
    pub share_phone: bool,
    /// Whether the person agreed to be registered (required).
    #[serde(default)]
    pub consent_given: bool,
    /// How the consent was given.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(example = "oral, par téléphone", min_length = 1)
    )]
    pub consent_method: String,
}

/// A checked [`BeneficiaryInput`].
#[derive(Debug, Clone, PartialEq)]
pub struct BeneficiaryDraft {
    pub display_name: DisplayName,
    pub phone: Option<PhoneNumber>,
    pub insee: String,
    pub reach_by: ReachBy,
    pub share_phone: bool,
    pub consent_method: String,
}

impl BeneficiaryInput {
    pub fn validate(&self) -> Result<BeneficiaryDraft, Invalid> {
        let mut invalid = Invalid::new();
        let name = DisplayName::new(&self.display_name)
            .map_err(|_| {
                invalid.push(
                    "display_name",
                    "Indiquez le prénom de la personne (et l'initiale de son nom), 60 caractères au plus.",
                )
            })
            .ok();
        let phone = match self.phone.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => match PhoneNumber::parse(raw) {
                Ok(p) => Some(p),
                Err(message) => {
                    invalid.push("phone", message);
                    None
                }
            },
        };
        let phone_given = phone.is_some();
        let insee = self
            .commune_id
            .trim()
            .strip_prefix("commune:")
            .filter(|c| c.len() == 5 && c.chars().all(|ch| ch.is_ascii_alphanumeric()))
            .map(str::to_string);
        if insee.is_none() {
            invalid.push(
                "commune_id",
                "Choisissez la commune de la personne dans la liste proposée.",
            );
        }
        let reach_by = match (self.reach_by, &phone) {
            (Some(ReachBy::Sms), None) => {
                if !invalid.errors.iter().any(|e| e.field == "phone") {
                    invalid.push(
                        "reach_by",
                        "Pour la prévenir par SMS, indiquez son numéro de portable ; sinon choisissez « appel du relais ».",
                    );
                }
                ReachBy::RelayCall
            }
            (Some(r), _) => r,
            (None, Some(_)) => ReachBy::Sms,
            (None, None) => ReachBy::RelayCall,
        };
        if !self.consent_given {
            invalid.push(
                "consent_given",
                "La personne doit être d'accord pour être inscrite : demandez-lui, puis cochez la case.",
            );
        }
        let method = self
            .consent_method
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if method.is_empty() {
            invalid.push(
                "consent_method",
                "Indiquez comment elle a donné son accord (par exemple « oral, par téléphone »).",
            );
        } else if method.chars().count() > 200 {
            invalid.push("consent_method", "200 caractères au plus.");
        }
        match (name, insee) {
            (Some(display_name), Some(insee)) if invalid.is_empty() => Ok(BeneficiaryDraft {
                display_name,
                phone,
                insee,
                reach_by,
                share_phone: self.share_phone && phone_given,
                consent_method: method,
            }),
            _ => Err(invalid),
        }
    }
}

/// Changing a beneficiary: `PATCH /api/v1/beneficiaries/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BeneficiaryPatch {
    pub display_name: Option<String>,
    /// An empty string removes the phone.
    pub phone: Option<String>,
    pub reach_by: Option<ReachBy>,
    /// Whether her driver may see her phone.
    #[serde(default)]
    pub share_phone: Option<bool>,
}

/// What became of a need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Outcome {
    /// The trip took place.
    Done,
    /// No driver could take the person.
    NoDriver,
    CancelledByPassenger,
    CancelledByDriver,
    /// Someone did not come.
    NoShow,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Done,
        Outcome::NoDriver,
        Outcome::CancelledByPassenger,
        Outcome::CancelledByDriver,
        Outcome::NoShow,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::NoDriver => "no_driver",
            Outcome::CancelledByPassenger => "cancelled_by_passenger",
            Outcome::CancelledByDriver => "cancelled_by_driver",
            Outcome::NoShow => "no_show",
        }
    }

    pub fn from_code(code: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.code() == code)
    }

    /// In French, for screens and reports.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Done => "trajet effectué",
            Outcome::NoDriver => "aucun conducteur trouvé",
            Outcome::CancelledByPassenger => "annulé par le passager",
            Outcome::CancelledByDriver => "annulé par le conducteur",
            Outcome::NoShow => "absent au rendez-vous",
        }
    }
}

/// Recording an outcome: `PUT /api/v1/requests/{id}/outcome`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OutcomeInput {
    pub outcome: Outcome,
    /// Why (required unless the trip was done).
    #[serde(default)]
    pub reason: Option<String>,
}

impl OutcomeInput {
    /// The reason, trimmed; required unless the trip was done.
    pub fn validate(&self) -> Result<Option<String>, Invalid> {
        let reason = self
            .reason
            .as_deref()
            .map(|r| r.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|r| !r.is_empty());
        match &reason {
            None if self.outcome != Outcome::Done => Err(Invalid::field(
                "reason",
                "Indiquez la raison en quelques mots (elle aide à trouver des conducteurs).",
            )),
            Some(r) if r.chars().count() > 300 => {
                Err(Invalid::field("reason", "300 caractères au plus."))
            }
            _ => Ok(reason),
        }
    }
}

/// The recorded outcome of a need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordedOutcome {
    pub outcome: Outcome,
    pub label: String,
    pub reason: Option<String>,
    pub recorded_by: String,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> BeneficiaryInput {
        BeneficiaryInput {
            display_name: "Yvette R.".into(),
            phone: Some("06 12 34 56 78".into()),
            commune_id: "commune:46176".into(),
            reach_by: None,
            share_phone: false,
            consent_given: true,
            consent_method: "oral, par téléphone".into(),
        }
    }

    #[test]
    fn a_person_with_a_phone_is_told_by_sms() {
        let draft = input().validate().unwrap();
        assert_eq!(draft.reach_by, ReachBy::Sms);
        assert_eq!(draft.phone.unwrap().as_str(), "+33612345678");
        assert_eq!(draft.insee, "46176");
    }

    #[test]
    fn every_faulty_field_is_named_in_french() {
        let bad = BeneficiaryInput {
            display_name: " ".into(),
            phone: None,
            commune_id: "Livernon".into(),
            reach_by: Some(ReachBy::Sms),
            share_phone: false,
            consent_given: false,
            consent_method: "".into(),
        };
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "display_name",
                "commune_id",
                "reach_by",
                "consent_given",
                "consent_method"
            ]
        );
    }

    #[test]
    fn a_cancellation_needs_a_reason() {
        let cancelled = OutcomeInput {
            outcome: Outcome::CancelledByDriver,
            reason: Some("  ".into()),
        };
        assert_eq!(cancelled.validate().unwrap_err().errors[0].field, "reason");
        let done = OutcomeInput {
            outcome: Outcome::Done,
            reason: None,
        };
        assert_eq!(done.validate().unwrap(), None);
    }
}
