//! The booking lifecycle: the statuses of the Standard Covoiturage spec plus
//! the common extensions, moving forward only.

use serde::{Deserialize, Serialize};

/// Where a booking stands. Statuses only move forward; `CANCELLED` and
/// `VALIDATED` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum BookingStatus {
    /// Created by a partner platform, not yet submitted to either party.
    Initiated,
    /// Standard Covoiturage's generic waiting state.
    WaitingConfirmation,
    /// The passenger asked; the driver has to answer.
    WaitingDriverConfirmation,
    /// The driver proposed; the passenger has to answer.
    WaitingPassengerConfirmation,
    Confirmed,
    /// One side said the trip happened; the other has to validate.
    CompletedPendingValidation,
    Validated,
    Cancelled,
}

/// Why a status change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("La réservation est déjà dans cet état.")]
    AlreadySet,
    #[error("Une réservation ne peut pas revenir en arrière.")]
    Backward,
    #[error("Cette réservation est close : elle ne peut plus changer.")]
    Final,
}

impl BookingStatus {
    pub const ALL: [BookingStatus; 8] = [
        BookingStatus::Initiated,
        BookingStatus::WaitingConfirmation,
        BookingStatus::WaitingDriverConfirmation,
        BookingStatus::WaitingPassengerConfirmation,
        BookingStatus::Confirmed,
        BookingStatus::CompletedPendingValidation,
        BookingStatus::Validated,
        BookingStatus::Cancelled,
    ];

    /// Position along the lifecycle; `None` for `CANCELLED`, which leaves it.
    fn stage(self) -> Option<u8> {
        match self {
            BookingStatus::Initiated => Some(0),
            BookingStatus::WaitingConfirmation
            | BookingStatus::WaitingDriverConfirmation
            | BookingStatus::WaitingPassengerConfirmation => Some(1),
            BookingStatus::Confirmed => Some(2),
            BookingStatus::CompletedPendingValidation => Some(3),
            BookingStatus::Validated => Some(4),
            BookingStatus::Cancelled => None,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, BookingStatus::Validated | BookingStatus::Cancelled)
    }

    /// Whether the booking holds a seat on the trip.
    pub fn holds_seat(self) -> bool {
        matches!(
            self,
            BookingStatus::Confirmed
                | BookingStatus::CompletedPendingValidation
                | BookingStatus::Validated
        )
    }

    /// The status after moving to `next`, if that is a forward move.
    /// Confirmation comes before completion, completion before validation;
    /// cancellation is possible from every non-final status.
    pub fn transition(self, next: BookingStatus) -> Result<BookingStatus, TransitionError> {
        if self == next {
            return Err(TransitionError::AlreadySet);
        }
        if self.is_final() {
            return Err(TransitionError::Final);
        }
        match (self.stage(), next.stage()) {
            (_, None) => Ok(next),
            (Some(from), Some(to)) if to == from + 1 => Ok(next),
            // A partner may submit an initiated booking straight as confirmed.
            (Some(0), Some(2)) => Ok(next),
            _ => Err(TransitionError::Backward),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            BookingStatus::Initiated => "INITIATED",
            BookingStatus::WaitingConfirmation => "WAITING_CONFIRMATION",
            BookingStatus::WaitingDriverConfirmation => "WAITING_DRIVER_CONFIRMATION",
            BookingStatus::WaitingPassengerConfirmation => "WAITING_PASSENGER_CONFIRMATION",
            BookingStatus::Confirmed => "CONFIRMED",
            BookingStatus::CompletedPendingValidation => "COMPLETED_PENDING_VALIDATION",
            BookingStatus::Validated => "VALIDATED",
            BookingStatus::Cancelled => "CANCELLED",
        }
    }

    pub fn from_code(code: &str) -> Option<BookingStatus> {
        BookingStatus::ALL.into_iter().find(|s| s.code() == code)
    }

    /// What the status means, in plain French.
    pub fn french(self) -> &'static str {
        match self {
            BookingStatus::Initiated => "en préparation",
            BookingStatus::WaitingConfirmation => "en attente de réponse",
            BookingStatus::WaitingDriverConfirmation => "en attente de la réponse du conducteur",
            BookingStatus::WaitingPassengerConfirmation => "en attente de la réponse du passager",
            BookingStatus::Confirmed => "confirmé",
            BookingStatus::CompletedPendingValidation => "trajet effectué, à valider",
            BookingStatus::Validated => "trajet effectué et validé",
            BookingStatus::Cancelled => "annulé",
        }
    }

    /// The status as one side of the booking reads it: the side whose
    /// answer is awaited reads « À vous de répondre », the other side who
    /// it waits for (`other`: the other party's public name).
    pub fn label_for(self, driver_side: bool, other: &str) -> String {
        match self {
            BookingStatus::WaitingDriverConfirmation | BookingStatus::WaitingConfirmation
                if driver_side =>
            {
                "À vous de répondre".into()
            }
            BookingStatus::WaitingPassengerConfirmation if !driver_side => {
                "À vous de répondre".into()
            }
            BookingStatus::WaitingDriverConfirmation
            | BookingStatus::WaitingPassengerConfirmation => {
                format!("en attente de la réponse de {other}")
            }
            _ => self.french().into(),
        }
    }
}

/// Whether a trip on `trip_date` can be said to have happened on `today`
/// (both local dates of the trip's territory): from its day on. The one
/// rule for « Le trajet a eu lieu », the app's button and the server's
/// refusal.
pub fn trip_day_reached(trip_date: chrono::NaiveDate, today: chrono::NaiveDate) -> bool {
    today >= trip_date
}

#[cfg(test)]
mod tests {
    use super::BookingStatus::*;
    use super::*;

    #[test]
    fn the_happy_path_moves_forward() {
        let s = WaitingDriverConfirmation;
        let s = s.transition(Confirmed).unwrap();
        let s = s.transition(CompletedPendingValidation).unwrap();
        let s = s.transition(Validated).unwrap();
        assert!(s.is_final());
    }

    #[test]
    fn no_status_ever_moves_backward() {
        for from in BookingStatus::ALL {
            for to in BookingStatus::ALL {
                let result = from.transition(to);
                if let Ok(next) = result {
                    assert_eq!(next, to);
                    assert!(!from.is_final());
                    match (from.stage(), to.stage()) {
                        (Some(a), Some(b)) => assert!(b > a, "{from:?} -> {to:?}"),
                        (_, None) => assert_eq!(to, Cancelled),
                        (None, _) => panic!("left a final status"),
                    }
                }
            }
        }
        assert_eq!(
            Confirmed.transition(WaitingDriverConfirmation),
            Err(TransitionError::Backward)
        );
        assert_eq!(
            Confirmed.transition(Confirmed),
            Err(TransitionError::AlreadySet)
        );
        assert_eq!(Cancelled.transition(Confirmed), Err(TransitionError::Final));
        assert_eq!(
            WaitingDriverConfirmation.transition(Validated),
            Err(TransitionError::Backward)
        );
        assert_eq!(Confirmed.transition(Cancelled), Ok(Cancelled));
    }

    #[test]
    fn each_side_reads_whose_turn_it_is() {
        assert_eq!(
            WaitingDriverConfirmation.label_for(true, "Lucie M."),
            "À vous de répondre"
        );
        assert_eq!(
            WaitingDriverConfirmation.label_for(false, "Marie D."),
            "en attente de la réponse de Marie D."
        );
        assert_eq!(Confirmed.label_for(true, "Lucie M."), "confirmé");
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 8).unwrap();
        assert!(!trip_day_reached(day, day.pred_opt().unwrap()));
        assert!(trip_day_reached(day, day));
    }

    #[test]
    fn codes_round_trip() {
        for s in BookingStatus::ALL {
            assert_eq!(BookingStatus::from_code(s.code()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.code())
            );
        }
    }
}
