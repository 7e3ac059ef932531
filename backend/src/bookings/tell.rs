//! What bookings tell people: the other party of every change, the
//! reminder the evening before and the question after the trip. Written in
//! the transaction of the change (the outbox), in the time zone of the
//! booking's territory.

use chrono::Duration;
use chrono_tz::Tz;
use lotocar_shared::BookingStatus;
use lotocar_shared::schedule::local_instant;
use lotocar_shared::time::LocalTime;

use super::store::StoredBooking;
use crate::auth::{accounts, public_names};
use crate::db::{Db, Tx, now_ms};
use crate::error::Result;
use crate::matching::explain::short;
use crate::notify::{self, ForPerson, Kind, Notice, Subject};

/// The public names of a booking's people: its driver, who travels (the
/// passenger, or the person a relay booked for), the relay who booked for
/// her, and how that person is reached.
pub(super) struct People {
    driver: Option<String>,
    passenger: Option<String>,
    /// The relay office that booked for a registered person (its name).
    relay: Option<String>,
    /// For notices to the passenger's side (a relay), the person she acts for.
    pub for_person: Option<ForPerson>,
}

impl People {
    pub async fn of(db: &Db, tx: &mut Tx, booking: &StoredBooking) -> Result<People> {
        let mut names = public_names(
            db,
            &[booking.driver_id.clone(), booking.passenger_id.clone()],
        )
        .await?;
        let (passenger, relay, for_person) = match booking.beneficiary_id.as_deref() {
            Some(person) => {
                let name = crate::beneficiaries::public_name(&mut **tx, person).await?;
                let relay = accounts::display_name(db, &booking.booked_by).await?;
                let reach = crate::beneficiaries::reach(tx, person).await?;
                (
                    name,
                    Some(relay).filter(|r| !r.is_empty()),
                    reach.map(|reach| ForPerson {
                        beneficiary_id: person.to_string(),
                        reach,
                    }),
                )
            }
            None => (names.remove(&booking.passenger_id), None, None),
        };
        Ok(People {
            driver: names.remove(&booking.driver_id),
            passenger,
            relay,
            for_person,
        })
    }

    fn driver(&self) -> &str {
        self.driver.as_deref().unwrap_or("Le conducteur")
    }

    fn passenger(&self) -> &str {
        self.passenger.as_deref().unwrap_or("Le passager")
    }

    /// " Demande faite par le relais France Services Gramat." for a
    /// booking a relay made.
    fn by_relay(&self, what: &str) -> String {
        self.relay
            .as_deref()
            .map(|r| format!(" {what} par le relais {r}."))
            .unwrap_or_default()
    }
}

/// A notice about `booking` to one of its two people.
pub(super) struct About<'a> {
    pub booking: &'a StoredBooking,
    pub people: &'a People,
    pub tz: Tz,
    pub today: chrono::NaiveDate,
}

impl About<'_> {
    /// The notice to `to`; `dedupe`: the same news is told once.
    pub fn notice(
        &self,
        to: &str,
        kind: Kind,
        title: &str,
        body: String,
        dedupe: Option<String>,
    ) -> Notice {
        Notice {
            to: to.to_string(),
            kind,
            subject: Subject::Booking(self.booking.id.clone()),
            title: title.to_string(),
            body,
            urgent: self.booking.date == self.today,
            deliver_after: 0,
            dedupe_key: dedupe,
            tz: self.tz,
            for_person: (to == self.booking.passenger_id)
                .then(|| self.people.for_person.clone())
                .flatten(),
            person_text: None,
            sms_body: None,
        }
    }

    /// The notice to `to`, saying `you` to whoever travels. To a relay who
    /// booked for a person, the notice names her (`about_her`, in the
    /// relay's inbox) and `you` is her own text (her SMS).
    pub fn said(
        &self,
        to: &str,
        kind: Kind,
        title: &str,
        you: String,
        about_her: impl FnOnce() -> String,
        dedupe: Option<String>,
    ) -> Notice {
        let for_her = to == self.booking.passenger_id && self.people.for_person.is_some();
        if for_her {
            let mut notice = self.notice(to, kind, title, about_her(), dedupe);
            notice.person_text = Some(you);
            notice
        } else {
            self.notice(to, kind, title, you, dedupe)
        }
    }

    /// Whether the passenger's side is a relay acting for a person.
    fn for_person(&self) -> bool {
        self.people.for_person.is_some()
    }

    /// The driver is asked for a seat.
    pub async fn requested(&self, tx: &mut Tx) -> Result<()> {
        let b = self.booking;
        let notice = self.notice(
            &b.driver_id,
            Kind::BookingRequested,
            "Nouvelle demande de place",
            format!(
                "{} demande une place {} : prise en charge à {} à {}.{} Répondez dans l'application.",
                self.people.passenger.as_deref().unwrap_or("Un passager"),
                b.when(),
                b.pickup.time_spoken(),
                short(&b.pickup.place.label),
                self.people.by_relay("Demande faite")
            ),
            None,
        );
        notify::post(tx, notice).await?;
        Ok(())
    }

    /// The other party of a status change is told; a confirmed one-off
    /// trip gets its reminders.
    pub async fn status_changed(
        &self,
        tx: &mut Tx,
        before: BookingStatus,
        next: BookingStatus,
        by: &str,
        reason: Option<&str>,
    ) -> Result<()> {
        let b = self.booking;
        let (driver, passenger) = (self.people.driver(), self.people.passenger());
        let by_driver = by == b.driver_id;
        let because = reason
            .map(|r| format!(" Raison : {}", lotocar_shared::text::sentence(r)))
            .unwrap_or_default();
        let dedupe = |kind: Kind, to: &str| Some(format!("{}:{}:{to}", kind.code(), b.id));
        let time = b.pickup.time_spoken();
        let place = short(&b.pickup.place.label);
        let when = b.when();
        let notice = match next {
            BookingStatus::Confirmed => self.said(
                &b.passenger_id,
                Kind::BookingConfirmed,
                "Réservation confirmée",
                format!("{driver} vous prendra {when} à {time} à {place}."),
                || format!("{driver} prendra {passenger} {when} à {time} à {place}."),
                dedupe(Kind::BookingConfirmed, &b.passenger_id),
            ),
            BookingStatus::Cancelled
                if by_driver && before == BookingStatus::WaitingDriverConfirmation =>
            {
                self.said(
                    &b.passenger_id,
                    Kind::BookingDeclined,
                    "Demande refusée",
                    format!(
                        "{driver} ne peut pas vous prendre {when}.{because} D'autres conducteurs peuvent passer : vous serez prévenu."
                    ),
                    || format!(
                        "{driver} ne peut pas prendre {passenger} {when}.{because} D'autres conducteurs peuvent passer : vous serez prévenu."
                    ),
                    dedupe(Kind::BookingDeclined, &b.passenger_id),
                )
            }
            BookingStatus::Cancelled if by_driver => self.said(
                &b.passenger_id,
                Kind::BookingCancelled,
                "Trajet annulé",
                format!(
                    "{driver} a annulé le trajet {when}.{because} Vous serez prévenu si un autre conducteur passe."
                ),
                || format!(
                    "{driver} a annulé le trajet de {passenger} {when}.{because} Vous serez prévenu si un autre conducteur passe."
                ),
                dedupe(Kind::BookingCancelled, &b.passenger_id),
            ),
            BookingStatus::Cancelled => self.notice(
                &b.driver_id,
                Kind::BookingCancelled,
                "Réservation annulée",
                format!(
                    "{passenger} a annulé sa réservation {when}.{because}{}",
                    self.people.by_relay("Annulation faite")
                ),
                dedupe(Kind::BookingCancelled, &b.driver_id),
            ),
            BookingStatus::CompletedPendingValidation if by_driver => self.said(
                &b.passenger_id,
                Kind::CompletionCheck,
                "Le trajet a-t-il eu lieu ?",
                if self.for_person() {
                    format!("{driver} indique que votre trajet {when} a eu lieu. Merci !")
                } else {
                    format!(
                        "{driver} indique que le trajet {when} a eu lieu. Confirmez-le dans l'application."
                    )
                },
                || format!(
                    "{driver} indique que le trajet de {passenger} {when} a eu lieu. Confirmez-le dans l'application."
                ),
                dedupe(Kind::CompletionCheck, &b.passenger_id),
            ),
            BookingStatus::CompletedPendingValidation => self.notice(
                &b.driver_id,
                Kind::CompletionCheck,
                "Le trajet a-t-il eu lieu ?",
                format!(
                    "{passenger} indique que le trajet {when} a eu lieu.{} Confirmez-le dans l'application.",
                    self.people.by_relay("Noté")
                ),
                dedupe(Kind::CompletionCheck, &b.driver_id),
            ),
            BookingStatus::Validated => {
                let completer = b
                    .completed_by
                    .clone()
                    .unwrap_or_else(|| b.other(by).to_string());
                self.said(
                    &completer,
                    Kind::BookingValidated,
                    "Trajet validé",
                    format!("Le trajet {when} est validé. Merci !"),
                    || format!("Le trajet de {passenger} {when} est validé. Merci !"),
                    dedupe(Kind::BookingValidated, &completer),
                )
            }
            _ => return Ok(()),
        };
        notify::post(tx, notice).await?;
        match next {
            BookingStatus::Confirmed => self.plan_reminders(tx).await?,
            BookingStatus::Cancelled => {
                notify::withdraw_planned(tx, &Subject::Booking(b.id.clone())).await?
            }
            _ => {}
        }
        Ok(())
    }

    /// For a one-off trip: a reminder to both the evening before (18:00,
    /// local time), and after the trip, a question to both: did it happen?
    async fn plan_reminders(&self, tx: &mut Tx) -> Result<()> {
        let b = self.booking;
        if b.recurring {
            return Ok(());
        }
        let now = now_ms();
        let evening = local_instant(
            self.tz,
            b.date - Duration::days(1),
            LocalTime::new(18, 0).expect("a time"),
        )
        .timestamp_millis();
        let after = b.dropoff.at.timestamp_millis() + 2 * 3_600_000;
        let place = short(&b.pickup.place.label).to_string();
        let time = b.pickup.time_spoken();
        let (driver, passenger) = (self.people.driver(), self.people.passenger());
        let for_person = self.for_person();
        let mut planned: Vec<(&String, Kind, &str, String, String, i64)> = Vec::new();
        if evening > now {
            planned.push((
                &b.passenger_id,
                Kind::Reminder,
                "Rappel : trajet demain",
                format!("Demain à {time}, {driver} vous prend à {place}."),
                format!("Demain à {time}, {driver} prend {passenger} à {place}."),
                evening,
            ));
            planned.push((
                &b.driver_id,
                Kind::Reminder,
                "Rappel : trajet demain",
                format!("Demain à {time}, vous prenez {passenger} à {place}."),
                String::new(),
                evening,
            ));
        }
        for user in [&b.passenger_id, &b.driver_id] {
            let you = if for_person && user == &b.passenger_id {
                "Votre trajet a-t-il bien eu lieu ? Dites-le à votre relais.".to_string()
            } else {
                "Dites-nous si le trajet a bien eu lieu : un geste dans l'application suffit."
                    .to_string()
            };
            planned.push((
                user,
                Kind::CompletionCheck,
                "Le trajet a-t-il eu lieu ?",
                you,
                format!(
                    "Le trajet de {passenger} a-t-il bien eu lieu ? Indiquez-le dans l'espace relais."
                ),
                after,
            ));
        }
        for (to, kind, title, you, about_her, at) in planned {
            let mut notice = self.said(
                to,
                kind,
                title,
                you,
                || about_her,
                Some(format!("scheduled:{}:{}:{to}", b.id, kind.code())),
            );
            notice.urgent = false;
            notice.deliver_after = at;
            notify::post(tx, notice).await?;
        }
        Ok(())
    }

    /// The other party: one date of a regular booking is off.
    pub async fn date_cancelled(
        &self,
        tx: &mut Tx,
        by: &str,
        date: chrono::NaiveDate,
        reason: Option<&str>,
    ) -> Result<()> {
        let b = self.booking;
        let by_driver = by == b.driver_id;
        let who = if by_driver {
            self.people.driver()
        } else {
            self.people.passenger()
        };
        let day = lotocar_shared::time::french_date(date);
        let because = reason.map(|r| format!(" ({r})")).unwrap_or_default();
        let passenger = self.people.passenger();
        let mut notice = self.said(
            b.other(by),
            Kind::BookingCancelled,
            "Un jour annulé",
            format!("{who} ne fera pas le trajet le {day}{because}. Les autres jours ne changent pas."),
            || format!(
                "{who} ne fera pas le trajet de {passenger} le {day}{because}. Les autres jours ne changent pas."
            ),
            Some(format!("date_cancelled:{}:{date}", b.id)),
        );
        notice.urgent = date == self.today;
        notify::post(tx, notice).await?;
        Ok(())
    }

    /// The passenger: the driver changed or paused the trip.
    pub async fn offer_changed(&self, tx: &mut Tx, summary: &str) -> Result<()> {
        let b = self.booking;
        let passenger = self.people.passenger();
        let notice = self.said(
            &b.passenger_id,
            Kind::OfferChanged,
            "Trajet modifié",
            if self.for_person() {
                format!("Votre conducteur a modifié son trajet : {summary}. Votre relais vous rappellera si besoin.")
            } else {
                format!("Le conducteur a modifié son trajet : {summary}. Vérifiez votre réservation.")
            },
            || format!(
                "Le conducteur de {passenger} a modifié son trajet : {summary}. Vérifiez la réservation."
            ),
            Some(format!("trip_changed:{}:{}", b.id, now_ms())),
        );
        notify::post(tx, notice).await?;
        Ok(())
    }
}
