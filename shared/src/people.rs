//! People: the names they show and the roles they are granted.

use serde::{Deserialize, Serialize};

/// A granted role. Everyone can drive and ride; these come on top, scoped
/// to a territory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    /// France Services agent or association volunteer acting for people
    /// without a smartphone.
    Relay,
    /// Runs a territory: places, meeting points, relays, impact.
    Coordinator,
    /// Runs the service.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Relay, Role::Coordinator, Role::Admin];

    pub fn code(self) -> &'static str {
        match self {
            Role::Relay => "relay",
            Role::Coordinator => "coordinator",
            Role::Admin => "admin",
        }
    }

    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// How a person prefers to be told about their trips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Channel {
    /// Notification on the phone or in the browser.
    Push,
    Sms,
    Email,
    /// Through their relay (no phone, no internet).
    Relay,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::Push, Channel::Sms, Channel::Email, Channel::Relay];

    pub fn code(self) -> &'static str {
        match self {
            Channel::Push => "push",
            Channel::Sms => "sms",
            Channel::Email => "email",
            Channel::Relay => "relay",
        }
    }

    pub fn from_code(code: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// The name a person shows: 1 to 60 printable characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 60;

    pub fn new(input: &str) -> Result<Self, String> {
        let name = input.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            return Err(
                "Indiquez votre prénom (et l'initiale de votre nom si vous voulez).".into(),
            );
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(format!(
                "Le nom est trop long : {} caractères au plus.",
                Self::MAX_CHARS
            ));
        }
        if name.chars().any(|c| c.is_control() || "<>{}".contains(c)) {
            return Err("Le nom contient des caractères non autorisés.".into());
        }
        Ok(DisplayName(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_tidied_and_bounded() {
        assert_eq!(
            DisplayName::new("  Marie   Dupont ").unwrap().as_str(),
            "Marie Dupont"
        );
        assert!(DisplayName::new("   ").is_err());
        assert!(DisplayName::new(&"a".repeat(61)).is_err());
        assert!(DisplayName::new("<script>").is_err());
        assert_eq!(Role::from_code("relay"), Some(Role::Relay));
        assert_eq!(Channel::from_code("sms"), Some(Channel::Sms));
    }
}
