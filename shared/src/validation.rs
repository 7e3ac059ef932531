//! Validation errors: one entry per faulty field, with a French message a
//! person can act on. The backend turns them into RFC 9457 problem details.

use serde::{Deserialize, Serialize};

/// One faulty field of a request: `field` is a dotted path into the body
/// (`schedule.departure_time`), `message` is French and says what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The errors found while validating one request, all of them at once so
/// that a form can show every problem in one go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invalid {
    pub errors: Vec<FieldError>,
}

impl Invalid {
    pub fn new() -> Self {
        Self::default()
    }

    /// A single-field error.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut invalid = Self::new();
        invalid.push(field, message);
        invalid
    }

    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Records the error of `result` (under `prefix`) and returns its value.
    pub fn check<T>(&mut self, prefix: &str, result: Result<T, Invalid>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(invalid) => {
                self.absorb(prefix, invalid);
                None
            }
        }
    }

    /// Moves the errors of `other` under the field path `prefix`.
    pub fn absorb(&mut self, prefix: &str, other: Invalid) {
        for error in other.errors {
            let field = match (prefix.is_empty(), error.field.is_empty()) {
                (true, _) => error.field,
                (false, true) => prefix.to_string(),
                (false, false) => format!("{prefix}.{}", error.field),
            };
            self.errors.push(FieldError {
                field,
                message: error.message,
            });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(value)` when no error was recorded.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Invalid> {
        if self.errors.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .errors
            .iter()
            .map(|e| {
                if e.field.is_empty() {
                    e.message.clone()
                } else {
                    format!("{} : {}", e.field, e.message)
                }
            })
            .collect();
        f.write_str(&parts.join(" ; "))
    }
}

impl std::error::Error for Invalid {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absorb_prefixes_nested_fields() {
        let mut outer = Invalid::new();
        let mut inner = Invalid::field("departure_time", "Heure invalide.");
        inner.push("", "Horaire incomplet.");
        outer.absorb("schedule", inner);
        assert_eq!(outer.errors[0].field, "schedule.departure_time");
        assert_eq!(outer.errors[1].field, "schedule");
        assert!(outer.finish(|| ()).is_err());
    }
}
