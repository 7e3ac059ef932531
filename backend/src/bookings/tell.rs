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
use crate::auth::public_names;
use crate::db::{Db, Tx, now_ms};
use crate::error::Result;
use crate::matching::explain::short;
use crate::notify::{self, ForPerson, Kind, Notice, Subject};

/// The public names of a booking's two people, and the person a relay
/// acts for.
pub(super) struct People {
    driver: Option<String>,
    passenger: Option<String>,
    /// For notices to the passenger (a relay), the person she acts for.
    pub for_person: Option<ForPerson>,
}

impl People {
    pub async fn of(db: &Db, tx: &mut Tx, booking: &StoredBooking) -> Result<People> {
        let mut names = public_names(
            db,
            &[booking.driver_id.clone(), booking.passenger_id.clone()],
        )
        .await?;
        let for_person =
            match crate::needs::get(&mut **tx, &booking.need_id)
                .await?
                .and_then(|n| n.on_behalf_of)
            {
                Some(beneficiary_id) => crate::beneficiaries::reach(tx, &beneficiary_id)
                    .await?
                    .map(|reach| ForPerson {
                        beneficiary_id,
                        reach,
                    }),
                None => None,
            };
        Ok(People {
            driver: names.remove(&booking.driver_id),
            passenger: names.remove(&booking.passenger_id),
            for_person,
        })
    }

    fn driver(&self) -> &str {
        self.driver.as_deref().unwrap_or("Le conducteur")
    }

    fn passenger(&self) -> &str {
        self.passenger.as_deref().unwrap_or("Le passager")
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
        }
    }

    /// The driver is asked for a seat.
    pub async fn requested(&self, tx: &mut Tx) -> Result<()> {
        let b = self.booking;
        let notice = self.notice(
            &b.driver_id,
            Kind::BookingRequested,
            "Nouvelle demande de place",
            format!(
                "{} demande une place {} : prise en charge à {} à {}. Répondez dans l'application.",
                self.people.passenger.as_deref().unwrap_or("Un passager"),
                b.when(),
                b.pickup.time_spoken(),
                short(&b.pickup.place.label)
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
        let tell = |to: &str, kind: Kind, title: &str, body: String| {
            self.notice(
                to,
                kind,
                title,
                body,
                Some(format!("{}:{}:{to}", kind.code(), b.id)),
            )
        };
        let notice = match next {
            BookingStatus::Confirmed => tell(
                &b.passenger_id,
                Kind::BookingConfirmed,
                "Réservation confirmée",
                format!(
                    "{driver} vous prendra {} à {} à {}.",
                    b.when(),
                    b.pickup.time_spoken(),
                    short(&b.pickup.place.label)
                ),
            ),
            BookingStatus::Cancelled
                if by_driver && before == BookingStatus::WaitingDriverConfirmation =>
            {
                tell(
                    &b.passenger_id,
                    Kind::BookingDeclined,
                    "Demande refusée",
                    format!(
                        "{driver} ne peut pas vous prendre {}.{because} D'autres conducteurs peuvent passer : vous serez prévenu.",
                        b.when()
                    ),
                )
            }
            BookingStatus::Cancelled if by_driver => tell(
                &b.passenger_id,
                Kind::BookingCancelled,
                "Trajet annulé",
                format!(
                    "{driver} a annulé le trajet {}.{because} Vous serez prévenu si un autre conducteur passe.",
                    b.when()
                ),
            ),
            BookingStatus::Cancelled => tell(
                &b.driver_id,
                Kind::BookingCancelled,
                "Réservation annulée",
                format!("{passenger} a annulé sa réservation {}.{because}", b.when()),
            ),
            BookingStatus::CompletedPendingValidation => {
                let (to, who) = if by_driver {
                    (&b.passenger_id, driver)
                } else {
                    (&b.driver_id, passenger)
                };
                tell(
                    to,
                    Kind::CompletionCheck,
                    "Le trajet a-t-il eu lieu ?",
                    format!(
                        "{who} indique que le trajet {} a eu lieu. Confirmez-le dans l'application.",
                        b.when()
                    ),
                )
            }
            BookingStatus::Validated => {
                let completer = b
                    .completed_by
                    .clone()
                    .unwrap_or_else(|| b.other(by).to_string());
                tell(
                    &completer,
                    Kind::BookingValidated,
                    "Trajet validé",
                    format!("Le trajet {} est validé. Merci !", b.when()),
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
        let mut planned = Vec::new();
        if evening > now {
            planned.push((
                &b.passenger_id,
                Kind::Reminder,
                "Rappel : trajet demain",
                format!("Demain à {time}, {driver} vous prend à {place}."),
                evening,
            ));
            planned.push((
                &b.driver_id,
                Kind::Reminder,
                "Rappel : trajet demain",
                format!("Demain à {time}, vous prenez {passenger} à {place}."),
                evening,
            ));
        }
        for user in [&b.passenger_id, &b.driver_id] {
            planned.push((
                user,
                Kind::CompletionCheck,
                "Le trajet a-t-il eu lieu ?",
                "Dites-nous si le trajet a bien eu lieu : un geste dans l'application suffit."
                    .to_string(),
                after,
            ));
        }
        for (to, kind, title, body, at) in planned {
            let mut notice = self.notice(
                to,
                kind,
                title,
                body,
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
        let who = if by == b.driver_id {
            &self.people.driver
        } else {
            &self.people.passenger
        };
        let who = who.as_deref().unwrap_or("L'autre personne");
        let mut notice = self.notice(
            b.other(by),
            Kind::BookingCancelled,
            "Un jour annulé",
            format!(
                "{who} ne fera pas le trajet le {}{}. Les autres jours ne changent pas.",
                lotocar_shared::time::french_date(date),
                reason.map(|r| format!(" ({r})")).unwrap_or_default()
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
        let notice = self.notice(
            &b.passenger_id,
            Kind::OfferChanged,
            "Trajet modifié",
            format!("Le conducteur a modifié son trajet : {summary}. Vérifiez votre réservation."),
            Some(format!("trip_changed:{}:{}", b.id, now_ms())),
        );
        notify::post(tx, notice).await?;
        Ok(())
    }
}
