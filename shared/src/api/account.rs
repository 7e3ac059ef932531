//! Sign-in and the profile.

use crate::contact::Contact;
use crate::people::{Channel, DisplayName, Role};
use crate::validation::Invalid;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthStart {
    /// A mobile phone number or an e-mail address.
    #[cfg_attr(feature = "openapi", schema(example = "+33612345678", min_length = 1))]
    pub contact: String,
}

impl AuthStart {
    pub fn validate(&self) -> Result<Contact, Invalid> {
        self.contact
            .parse()
            .map_err(|message: String| Invalid::field("contact", message))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthStarted {
    /// What happens next, in French.
    pub message: String,
    pub expires_in_seconds: u32,
    /// The code itself, only when the server runs with `--dev`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev_code: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthVerify {
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub contact: String,
    #[cfg_attr(feature = "openapi", schema(example = "123456", min_length = 6))]
    pub code: String,
}

impl AuthVerify {
    pub fn validate(&self) -> Result<(Contact, String), Invalid> {
        let mut invalid = Invalid::new();
        let contact = invalid.check(
            "",
            self.contact
                .parse::<Contact>()
                .map_err(|m| Invalid::field("contact", m)),
        );
        let code: String = self.code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            invalid.push("code", "Le code doit comporter 6 chiffres.");
        }
        match contact {
            Some(contact) if invalid.is_empty() => Ok((contact, code)),
            _ => Err(invalid),
        }
    }
}

/// A role granted in a territory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleGrant {
    pub role: Role,
    pub territory_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserSummary {
    pub id: String,
    pub display_name: String,
    pub roles: Vec<RoleGrant>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthSession {
    /// Bearer token for `Authorization: Bearer …`.
    pub token: String,
    pub user: UserSummary,
}

/// One's own profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub id: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub roles: Vec<RoleGrant>,
    /// How to be told about trips.
    pub preferred_channel: Channel,
    /// Consent to show my phone to the other party of a confirmed booking.
    pub share_phone: bool,
    /// Consent to show my e-mail to the other party of a confirmed booking.
    pub share_email: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MePatch {
    pub display_name: Option<String>,
    pub preferred_channel: Option<Channel>,
    pub share_phone: Option<bool>,
    pub share_email: Option<bool>,
}

/// A checked [`MePatch`].
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    pub display_name: Option<DisplayName>,
    pub preferred_channel: Option<Channel>,
    pub share_phone: Option<bool>,
    pub share_email: Option<bool>,
}

impl MePatch {
    pub fn validate(&self) -> Result<ProfileChange, Invalid> {
        let mut invalid = Invalid::new();
        let display_name = match &self.display_name {
            Some(name) => match DisplayName::new(name) {
                Ok(name) => Some(name),
                Err(message) => {
                    invalid.push("display_name", message);
                    None
                }
            },
            None => None,
        };
        invalid.finish(|| ProfileChange {
            display_name,
            preferred_channel: self.preferred_channel,
            share_phone: self.share_phone,
            share_email: self.share_email,
        })
    }
}
