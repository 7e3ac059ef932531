//! How to reach someone: a phone number or an e-mail address, valid once
//! constructed and kept in one canonical form so that "06 12 34 56 78" and
//! "+33612345678" are the same person.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A phone number in E.164 form ("+33612345678").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Reads a French national number ("06 12 34 56 78"), or an
    /// international one ("+33 6 12 34 56 78", "0033…", "+262…").
    pub fn parse(input: &str) -> Result<Self, String> {
        let trimmed = input.trim();
        let (international, rest) = if let Some(rest) = trimmed.strip_prefix('+') {
            (true, rest)
        } else if let Some(rest) = trimmed.strip_prefix("00") {
            (true, rest)
        } else {
            (false, trimmed)
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '.' | '-' | '(' | ')' | '\u{a0}' => {}
                _ => return Err(PHONE_HELP.to_string()),
            }
        }
        let e164 = if international {
            // "+33 (0)6 …" is common in signatures: drop the trunk zero.
            if let Some(national) = digits.strip_prefix("330") {
                format!("33{national}")
            } else {
                digits
            }
        } else {
            match digits.strip_prefix('0') {
                Some(national) if national.len() == 9 => format!("33{national}"),
                _ => return Err(PHONE_HELP.to_string()),
            }
        };
        let valid = if let Some(national) = e164.strip_prefix("33") {
            national.len() == 9 && !national.starts_with('0')
        } else {
            (8..=15).contains(&e164.len()) && !e164.starts_with('0')
        };
        if valid {
            Ok(PhoneNumber(format!("+{e164}")))
        } else {
            Err(PHONE_HELP.to_string())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it is a French mobile number (06, 07), which can receive SMS.
    pub fn is_mobile(&self) -> bool {
        self.0.starts_with("+336") || self.0.starts_with("+337")
    }

    /// "06 12 34 56 78" for French numbers, the E.164 form otherwise.
    pub fn national(&self) -> String {
        match self.0.strip_prefix("+33") {
            Some(national) => {
                let digits = format!("0{national}");
                digits
                    .as_bytes()
                    .chunks(2)
                    .map(|pair| std::str::from_utf8(pair).unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            None => self.0.clone(),
        }
    }
}

const PHONE_HELP: &str =
    "Numéro de téléphone invalide : écrivez 10 chiffres, par exemple 06 12 34 56 78.";

/// An e-mail address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

const EMAIL_HELP: &str = "Adresse e-mail invalide : elle doit ressembler à marie@exemple.fr.";

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, String> {
        let email = input.trim().to_lowercase();
        let Some((local, domain)) = email.rsplit_once('@') else {
            return Err(EMAIL_HELP.to_string());
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        let local_ok = !local.is_empty()
            && !local.contains('@')
            && !local.chars().any(|c| c.is_whitespace() || c.is_control());
        if domain_ok && local_ok && email.len() <= 254 {
            Ok(EmailAddress(email))
        } else {
            Err(EMAIL_HELP.to_string())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a person signs in with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Contact {
    Phone(PhoneNumber),
    Email(EmailAddress),
}

impl Contact {
    pub fn as_str(&self) -> &str {
        match self {
            Contact::Phone(p) => p.as_str(),
            Contact::Email(e) => e.as_str(),
        }
    }
}

impl FromStr for Contact {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty() {
            return Err(
                "Indiquez votre numéro de téléphone portable ou votre adresse e-mail.".into(),
            );
        }
        if s.contains('@') {
            EmailAddress::parse(s).map(Contact::Email)
        } else {
            PhoneNumber::parse(s).map(Contact::Phone)
        }
    }
}

impl fmt::Display for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        PhoneNumber::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        EmailAddress::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_numbers_in_every_usual_spelling_are_one_number() {
        for input in [
            "06 12 34 56 78",
            "0612345678",
            "06.12.34.56.78",
            "+33 6 12 34 56 78",
            "+33 (0)6 12 34 56 78",
            "0033612345678",
        ] {
            assert_eq!(
                PhoneNumber::parse(input).unwrap().as_str(),
                "+33612345678",
                "{input}"
            );
        }
        let phone = PhoneNumber::parse("0565341234").unwrap();
        assert!(!phone.is_mobile());
        assert_eq!(phone.national(), "05 65 34 12 34");
        assert_eq!(
            PhoneNumber::parse("+262 692 12 34 56").unwrap().as_str(),
            "+262692123456"
        );
    }

    #[test]
    fn rejects_what_is_not_a_phone_number() {
        for input in [
            "",
            "061234567",
            "06123456789",
            "12 34 56 78 90",
            "06-12-ab",
            "+33 0012345678",
        ] {
            assert!(PhoneNumber::parse(input).is_err(), "{input} accepted");
        }
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            EmailAddress::parse(" Marie@Exemple.FR ").unwrap().as_str(),
            "marie@exemple.fr"
        );
        for input in [
            "marie",
            "marie@",
            "@exemple.fr",
            "marie@exemple",
            "ma rie@exemple.fr",
            "a@b..fr",
        ] {
            assert!(EmailAddress::parse(input).is_err(), "{input} accepted");
        }
        assert!(matches!(
            "marie@exemple.fr".parse::<Contact>(),
            Ok(Contact::Email(_))
        ));
        assert!(matches!(
            "06 12 34 56 78".parse::<Contact>(),
            Ok(Contact::Phone(_))
        ));
        assert!("".parse::<Contact>().is_err());
    }
}
