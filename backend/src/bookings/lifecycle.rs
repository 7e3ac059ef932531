//! The operations on bookings, whoever asks (the app, a relay, a partner
//! platform): ask for a seat, move a status forward, cancel one date,
//! settle the bookings of an offer or a need that goes away, check in at
//! the meeting point, and the housekeeping that validates and extends.

use chrono::{Duration, NaiveDate};
use lotocar_shared::BookingStatus;
use lotocar_shared::api::{Booking, BookingInput, BookingPatch};
use lotocar_shared::booking::{TransitionError, trip_day_reached};
use lotocar_shared::schedule::OfferSchedule;
use lotocar_shared::time::{Weekdays, french_date};

use super::store::{self, NewBooking, Of, StoredBooking};
use super::tell::{About, People};
use super::{Bookings, CheckIn, CheckInInput, seats};
use crate::auth::AuthUser;
use crate::db::{Tx, now_ms};
use crate::error::{Error, Result};
use crate::idempotency::{Answer, Attempt, Creation};
use crate::matching::explain::stop;
use crate::matching::{need_view, offer_view};
use crate::needs::{self, BookingEvent};

fn not_found() -> Error {
    Error::not_found("Cette réservation n'existe pas.")
}

impl Bookings {
    /// What to say about `booking`, in its territory's time zone.
    async fn about<'a>(&self, booking: &'a StoredBooking, people: &'a People) -> Result<About<'a>> {
        let tz = self
            .territories
            .tz_of(booking.territory_id.as_deref())
            .await?;
        Ok(About {
            booking,
            people,
            tz,
            today: crate::db::now().with_timezone(&tz).date_naive(),
        })
    }

    /// Asks for a seat on an offer that can take the passenger (one of
    /// the need's matches); the driver is told at once. A relay books for
    /// a person she registered (the need posted for her): the person is the
    /// passenger, the relay made the booking, and only while she is staff
    /// of the person's territory. Retried with the same `creation` key,
    /// answers what it answered the first time.
    pub async fn book(
        &self,
        user: &AuthUser,
        input: &BookingInput,
        creation: &Creation,
    ) -> Result<Answer> {
        let passenger_id = user.id.as_str();
        let stored_need = needs::get_owned(&self.db.pool, &input.request_id, passenger_id)
            .await?
            .ok_or_else(|| {
                Error::field(
                    "request_id",
                    "Demande inconnue : choisissez une de vos demandes.",
                )
            })?;
        if let Some(person) = stored_need.on_behalf_of.as_deref() {
            let Some(beneficiary) = crate::beneficiaries::load(&self.db.pool, person).await? else {
                return Err(Error::conflict(
                    "person_erased",
                    "Cette personne n'est plus inscrite : elle ne peut plus réserver de place.",
                ));
            };
            if !user.is_staff(&beneficiary.territory_id) {
                return Err(Error::Forbidden(
                    "Vous n'êtes plus relais sur le territoire de cette personne : demandez à la coordination de vous y remettre.".into(),
                ));
            }
        }
        let stored_offer = crate::offers::get(&self.db.pool, &input.offer_id)
            .await?
            .ok_or_else(|| Error::not_found("Ce trajet n'existe plus."))?;
        let territories = self
            .territories
            .covering([
                stored_need.territory_id.as_deref(),
                stored_offer.territory_id.as_deref(),
            ])
            .await?;
        let need = need_view(&stored_need, &territories).ok_or_else(|| {
            Error::conflict(
                "request_closed",
                "Cette demande est close ou passée : publiez une nouvelle demande.",
            )
        })?;
        let offer = offer_view(&stored_offer, &territories).ok_or_else(|| {
            Error::conflict(
                "offer_closed",
                "Ce trajet est en pause ou terminé : choisissez-en un autre.",
            )
        })?;
        if offer.driver_id == passenger_id {
            return Err(Error::field(
                "offer_id",
                "Vous ne pouvez pas réserver une place sur votre propre trajet.",
            ));
        }
        let found = self.matching.between(&offer, &need).await?;
        let Some(m) = found.iter().find(|f| {
            f.need_leg == input.need_leg && (f.date == input.date || f.dates.contains(&input.date))
        }) else {
            return Err(Error::field(
                "date",
                "Ce trajet ne peut pas vous prendre ce jour-là (horaires ou détour incompatibles) : choisissez un trajet proposé.",
            ));
        };
        let weekdays = Weekdays::new(m.weekdays.iter().copied());
        let dates: Vec<NaiveDate> = if weekdays.is_some() {
            m.dates
                .iter()
                .copied()
                .filter(|d| *d >= input.date)
                .collect()
        } else {
            vec![input.date]
        };
        let taken = seats::taken(&self.db, &offer.id, m.offer_leg, &dates).await?;
        for date in &dates {
            let left = i64::from(offer.seats) - taken.get(date).copied().unwrap_or(0);
            if left < i64::from(need.seats) {
                return Err(Error::conflict(
                    "no_seat",
                    format!(
                        "Ce trajet est complet le {} : choisissez-en un autre.",
                        french_date(*date)
                    ),
                ));
            }
        }
        let pickup = stop(&m.pickup.place, &m.pickup_at);
        let dropoff = stop(&m.dropoff.place, &m.dropoff_at);

        let mut tx = match creation.begin(&self.db).await? {
            Attempt::Replay(answer) => return Ok(answer),
            Attempt::Fresh(tx) => tx,
        };
        if store::already_asked(&mut tx, &need.id, &offer.id, input.need_leg).await? {
            return Err(Error::conflict(
                "already_booked",
                "Vous avez déjà demandé une place sur ce trajet : voyez vos réservations.",
            ));
        }
        let booking = store::insert(
            &mut tx,
            NewBooking {
                offer_id: &offer.id,
                need_id: &need.id,
                driver_id: &offer.driver_id,
                passenger_id,
                booked_by: passenger_id,
                beneficiary_id: stored_need.on_behalf_of.as_deref(),
                territory_id: stored_need
                    .territory_id
                    .as_deref()
                    .or(stored_offer.territory_id.as_deref()),
                weekdays,
                dates: &dates,
                leg: m.offer_leg,
                need_leg: m.need_leg,
                seats: i64::from(need.seats),
                pickup: &pickup,
                dropoff: &dropoff,
                detour_minutes: m.detour_minutes,
            },
        )
        .await?;
        let people = People::of(&self.db, &mut tx, &booking).await?;
        self.about(&booking, &people)
            .await?
            .requested(&mut tx)
            .await?;
        let view = self.view(&mut tx, &booking, passenger_id, false).await?;
        creation.commit(&self.db, tx, &view).await
    }

    /// Moves a booking forward: the driver confirms (CONFIRMED) or declines
    /// (CANCELLED); either side cancels (CANCELLED, with a reason); after
    /// the trip, one side says it happened (COMPLETED_PENDING_VALIDATION)
    /// and the other validates (VALIDATED). A move backward is refused (409).
    pub async fn move_status(
        &self,
        user_id: &str,
        id: &str,
        input: &BookingPatch,
    ) -> Result<Booking> {
        let reason = input.reason()?;
        let mut tx = self.db.begin_write().await?;
        let booking = store::get_for(&mut *tx, id, user_id)
            .await?
            .ok_or_else(not_found)?;
        let next = input.status;
        booking.status.transition(next).map_err(|err| {
            Error::conflict(
                match err {
                    TransitionError::AlreadySet => "status_already_set",
                    TransitionError::Backward => "status_backward",
                    TransitionError::Final => "booking_closed",
                },
                err.to_string(),
            )
        })?;
        let tz = self
            .territories
            .tz_of(booking.territory_id.as_deref())
            .await?;
        match next {
            BookingStatus::Confirmed => {
                if booking.driver_id != user_id {
                    return Err(Error::Forbidden(
                        "Seul le conducteur peut confirmer une réservation.".into(),
                    ));
                }
            }
            BookingStatus::Cancelled => {}
            BookingStatus::CompletedPendingValidation => {
                let today = crate::db::now().with_timezone(&tz).date_naive();
                if !trip_day_reached(booking.date, today) {
                    return Err(Error::conflict(
                        "trip_not_started",
                        format!(
                            "Le trajet n'a pas encore eu lieu : vous pourrez l'indiquer à partir du jour du trajet, le {}.",
                            french_date(booking.date)
                        ),
                    ));
                }
            }
            BookingStatus::Validated => {
                if booking.completed_by.as_deref() == Some(user_id) {
                    return Err(Error::Forbidden(
                        "C'est à l'autre personne de confirmer que le trajet a eu lieu.".into(),
                    ));
                }
            }
            _ => {
                return Err(Error::field(
                    "status",
                    "Statut non accepté ici : CONFIRMED, CANCELLED, COMPLETED_PENDING_VALIDATION ou VALIDATED.",
                ));
            }
        }
        self.change(&mut tx, &booking, next, user_id, reason.as_deref())
            .await?;
        let booking = store::get(&mut *tx, id).await?.ok_or_else(not_found)?;
        let view = self.view(&mut tx, &booking, user_id, true).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// One status change with all it entails: seats held or given back,
    /// the need following, the other party told.
    async fn change(
        &self,
        tx: &mut Tx,
        booking: &StoredBooking,
        next: BookingStatus,
        by: &str,
        reason: Option<&str>,
    ) -> Result<()> {
        self.change_following(tx, booking, next, by, reason, true)
            .await
    }

    /// [`Bookings::change`]; with `follow_need` false, the need is left for
    /// the caller to follow once it has changed all the bookings it changes
    /// (see [`Bookings::cancel_all`]).
    async fn change_following(
        &self,
        tx: &mut Tx,
        booking: &StoredBooking,
        next: BookingStatus,
        by: &str,
        reason: Option<&str>,
        follow_need: bool,
    ) -> Result<()> {
        let today = self
            .territories
            .today_in(booking.territory_id.as_deref())
            .await?;
        match next {
            BookingStatus::Confirmed => seats::hold(tx, booking, today).await?,
            BookingStatus::Cancelled => seats::release(tx, booking, None).await?,
            _ => {}
        }
        store::set_status(tx, booking, next, by, reason).await?;
        let event = match next {
            _ if !follow_need => None,
            BookingStatus::Confirmed => Some(BookingEvent::Confirmed),
            BookingStatus::Cancelled => {
                self.release_need(tx, &booking.need_id).await?;
                None
            }
            BookingStatus::Validated => Some(BookingEvent::Validated {
                recurring: booking.recurring,
            }),
            _ => None,
        };
        if let Some(event) = event {
            needs::follow_booking(tx, &booking.need_id, event).await?;
        }
        let people = People::of(&self.db, tx, booking).await?;
        self.about(booking, &people)
            .await?
            .status_changed(tx, booking.status, next, by, reason)
            .await
    }

    /// Cancels one date of a regular booking (a day off, a holiday); the
    /// other dates stay.
    pub async fn cancel_date(
        &self,
        user_id: &str,
        id: &str,
        date: &str,
        input: &BookingPatch,
    ) -> Result<Booking> {
        let mut tx = self.db.begin_write().await?;
        // Someone else's booking is not found, whatever the body says.
        let booking = store::get_for(&mut *tx, id, user_id)
            .await?
            .ok_or_else(not_found)?;
        let reason = input.reason()?;
        if input.status != BookingStatus::Cancelled {
            return Err(Error::field(
                "status",
                "Pour une date, seule l'annulation (CANCELLED) est possible.",
            ));
        }
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map_err(|_| Error::not_found("Cette date ne fait pas partie de la réservation."))?;
        if booking.status.is_final() {
            return Err(Error::conflict(
                "booking_closed",
                "Cette réservation est close : elle ne peut plus changer.",
            ));
        }
        match store::date_status(&mut tx, id, date).await?.as_deref() {
            None => {
                return Err(Error::not_found(
                    "Cette date ne fait pas partie de la réservation.",
                ));
            }
            Some("cancelled") => {
                return Err(Error::conflict(
                    "status_already_set",
                    "Cette date est déjà annulée.",
                ));
            }
            Some(_) => {}
        }
        seats::release(&mut tx, &booking, Some(date)).await?;
        store::cancel_date_row(&mut tx, id, date).await?;
        store::touch(&mut tx, id).await?;
        let people = People::of(&self.db, &mut tx, &booking).await?;
        self.about(&booking, &people)
            .await?
            .date_cancelled(&mut tx, user_id, date, reason.as_deref())
            .await?;
        let booking = store::get(&mut *tx, id).await?.ok_or_else(not_found)?;
        let view = self.view(&mut tx, &booking, user_id, true).await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Cancels the live bookings of an offer that is withdrawn, or of a need
    /// that is closed, and tells the other side.
    pub async fn cancel_all(
        &self,
        tx: &mut Tx,
        of: Of<'_>,
        by: &str,
        reason: &str,
    ) -> Result<usize> {
        let live = store::live_of(tx, of).await?;
        for booking in &live {
            self.change_following(
                tx,
                booking,
                BookingStatus::Cancelled,
                by,
                Some(reason),
                false,
            )
            .await?;
        }
        // The needs once every booking is cancelled: the rows of all the
        // bookings first, then the needs (by id), as a single cancellation
        // takes its booking's row before its need's, so that the two wait
        // for each other instead of deadlocking (PostgreSQL).
        let mut needs: Vec<&str> = live.iter().map(|b| b.need_id.as_str()).collect();
        needs.sort_unstable();
        needs.dedup();
        for need_id in needs {
            self.release_need(tx, need_id).await?;
        }
        Ok(live.len())
    }

    /// After a cancellation: the need opens again when none of its
    /// bookings is left. Its row is held before they are counted, so that
    /// two cancellations of one need's bookings at once are counted one
    /// after the other and the last sees none left (PostgreSQL).
    async fn release_need(&self, tx: &mut Tx, need_id: &str) -> Result<()> {
        needs::hold(tx, need_id).await?;
        let others_live = store::any_live(tx, need_id).await?;
        needs::follow_booking(tx, need_id, BookingEvent::Released { others_live }).await?;
        Ok(())
    }

    /// A relay (or the passenger) says the trip of a need took place: its
    /// confirmed one-off bookings whose day has come move to
    /// "completed, waiting for the driver's validation", as when the
    /// passenger says it in the app.
    pub async fn complete_all_for_need(
        &self,
        tx: &mut Tx,
        need_id: &str,
        by: &str,
    ) -> Result<usize> {
        let confirmed = store::of_need_in(tx, need_id, BookingStatus::Confirmed).await?;
        let mut completed = 0;
        for booking in &confirmed {
            let tz = self
                .territories
                .tz_of(booking.territory_id.as_deref())
                .await?;
            let today = crate::db::now().with_timezone(&tz).date_naive();
            if booking.recurring || !trip_day_reached(booking.date, today) {
                continue;
            }
            self.change(
                tx,
                booking,
                BookingStatus::CompletedPendingValidation,
                by,
                None,
            )
            .await?;
            completed += 1;
        }
        Ok(completed)
    }

    /// Whether a driver said yes to one of the need's bookings.
    pub async fn had_a_driver(&self, tx: &mut Tx, need_id: &str) -> Result<bool> {
        Ok(store::count_holding(tx, need_id).await? > 0)
    }

    /// Tells the passengers of an offer's live bookings that it changed.
    pub async fn tell_offer_changed(
        &self,
        tx: &mut Tx,
        offer_id: &str,
        summary: &str,
    ) -> Result<()> {
        for booking in store::live_of(tx, Of::Offer(offer_id)).await? {
            let people = People::of(&self.db, tx, &booking).await?;
            self.about(&booking, &people)
                .await?
                .offer_changed(tx, summary)
                .await?;
        }
        Ok(())
    }

    /// The most seats held on any date of an offer from its territory's
    /// today on: the offer cannot shrink below it.
    pub async fn seats_held(
        &self,
        tx: &mut Tx,
        offer_id: &str,
        territory_id: Option<&str>,
    ) -> Result<i64> {
        let today = self.territories.today_in(territory_id).await?;
        Ok(seats::most_held(tx, offer_id, today).await?)
    }

    /// The driver or the passenger of a confirmed booking says they are at
    /// the meeting point, with the position and time of their device (from
    /// an hour before the pick-up to an hour after the drop-off, within
    /// 1 km of the pick-up). Both sides: a class C proof for the national
    /// registry; one side: class B.
    pub async fn check_in(&self, user_id: &str, id: &str, input: &CheckInInput) -> Result<CheckIn> {
        let mut tx = self.db.begin_write().await?;
        let booking = store::get_for(&mut *tx, id, user_id)
            .await?
            .ok_or_else(not_found)?;
        let point = lotocar_shared::GeoPoint::new(input.lat, input.lon)?;
        let under_way = matches!(
            booking.status,
            BookingStatus::Confirmed
                | BookingStatus::CompletedPendingValidation
                | BookingStatus::Validated
        );
        if !under_way || booking.recurring {
            return Err(Error::conflict(
                "not_confirmed",
                "Seul un trajet confirmé peut être pointé au rendez-vous.",
            ));
        }
        let now = now_ms();
        let start = booking.pickup.at.timestamp_millis();
        let end = booking.dropoff.at.timestamp_millis();
        if now < start - 3_600_000 || now > end + 3_600_000 {
            return Err(Error::conflict(
                "not_now",
                format!(
                    "Vous pourrez indiquer que vous êtes au rendez-vous le jour du trajet, vers {}.",
                    booking.pickup.time_spoken()
                ),
            ));
        }
        let pickup =
            lotocar_shared::GeoPoint::new(booking.pickup.place.lat, booking.pickup.place.lon)?;
        if point.distance_m(pickup) > 1_000.0 {
            return Err(Error::field(
                "lat",
                "Vous n'êtes pas au point de rendez-vous (à plus d'un kilomètre) : réessayez une fois sur place.",
            ));
        }
        let side = if booking.driver_id == user_id {
            "driver"
        } else {
            "passenger"
        };
        if !store::record_checkin(&mut tx, id, side, user_id, point.lat(), point.lon(), now).await?
        {
            return Err(Error::conflict(
                "already_checked_in",
                "C'est déjà noté : vous êtes au rendez-vous.",
            ));
        }
        tx.commit().await?;
        Ok(CheckIn {
            side: side.into(),
            at: crate::db::from_ms(now),
        })
    }

    // -----------------------------------------------------------------------
    // Housekeeping (run by every instance's scheduler; each step is safe to
    // run twice at once)
    // -----------------------------------------------------------------------

    /// Validates trips nobody contested within 48 hours, and extends
    /// regular bookings to the coming weeks.
    pub async fn housekeeping(&self) -> Result<()> {
        let deadline = now_ms() - 48 * 3_600_000;
        for booking in store::completed_before(&self.db, deadline, 200).await? {
            let mut tx = self.db.begin_write_in(crate::db::Lane::Bulk).await?;
            let by = booking
                .other(
                    booking
                        .completed_by
                        .as_deref()
                        .unwrap_or(&booking.driver_id),
                )
                .to_string();
            match self
                .change(
                    &mut tx,
                    &booking,
                    BookingStatus::Validated,
                    &by,
                    Some("validé automatiquement après 48 h"),
                )
                .await
            {
                Ok(()) => tx.commit().await?,
                Err(Error::Conflict { .. }) => tx.rollback().await?,
                Err(other) => return Err(other),
            }
        }
        self.extend_regular().await
    }

    /// Regular bookings cover the next four weeks; new dates hold a seat if
    /// the booking is confirmed and one is free.
    async fn extend_regular(&self) -> Result<()> {
        for (booking, last) in store::live_regular(&self.db).await? {
            let Some(last) = last else { continue };
            let tz = self
                .territories
                .tz_of(booking.territory_id.as_deref())
                .await?;
            let today = crate::db::now().with_timezone(&tz).date_naive();
            let horizon = today + Duration::days(28);
            if last >= horizon - Duration::days(7) {
                continue;
            }
            let Some(offer) = crate::offers::get_any(&self.db, &booking.offer_id).await? else {
                continue;
            };
            let Some(need) = needs::get(&self.db.pool, &booking.need_id).await? else {
                continue;
            };
            // A paused or withdrawn offer is not extended; the need is
            // booked (not open) once a driver confirmed.
            let territories = self
                .territories
                .covering([offer.territory_id.as_deref()])
                .await?;
            let Some(offer) = offer_view(&offer, &territories) else {
                continue;
            };
            let OfferSchedule::Weekly(weekly) = &offer.schedule else {
                continue;
            };
            let mut tx = self.db.begin_write_in(crate::db::Lane::Bulk).await?;
            let mut added = 0;
            for date in (last + Duration::days(1))
                .iter_days()
                .take_while(|d| *d <= horizon)
            {
                if weekly.runs_on(date)
                    && need.schedule.applies_on(date)
                    && booking.weekdays.is_none_or(|w| w.contains_date(date))
                {
                    store::add_date(&mut tx, &booking.id, date).await?;
                    added += 1;
                }
            }
            if added > 0 && booking.status == BookingStatus::Confirmed {
                // A full date stays on the booking without a seat: the
                // passenger sees it and the driver can free one.
                let _ = seats::hold(&mut tx, &booking, today).await;
            }
            tx.commit().await?;
        }
        Ok(())
    }
}
