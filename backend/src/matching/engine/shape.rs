//! Quick checks before an offer is looked at: compact shapes of offers and
//! needs, the leg combinations a corridor admits, and their dates.

use super::plan::*;
use super::time::*;
use super::*;

#[derive(Debug, Clone, Copy)]
pub struct OfferShape {
    pub(super) ends: Ends,
    pub(super) slack: f64,
    pub(super) seats: u8,
    /// Local clock minutes of the outbound and return departures, for a
    /// regular offer.
    pub(super) departs: [Option<f64>; 2],
    pub(super) has_return: bool,
    /// Tells quickly that an offer is not the passenger's own.
    pub driver_hash: u64,
}

/// A quick fingerprint of a person's id.
pub fn person_hash(id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    id.hash(&mut hasher);
    hasher.finish()
}

impl OfferShape {
    pub fn of(offer: &Offer, rules: &Rules) -> OfferShape {
        OfferShape {
            ends: offer.ends,
            slack: corridor_slack(offer, rules),
            seats: offer.seats,
            departs: [
                weekly_departure(offer, Leg::Outbound),
                weekly_departure(offer, Leg::Return),
            ],
            has_return: has_return(offer),
            driver_hash: person_hash(&offer.driver_id),
        }
    }
}

/// The same for a need, with how far walking to a stop can move its ends.
#[derive(Debug, Clone, Copy)]
pub struct NeedShape {
    pub(super) ends: Ends,
    pub(super) seats: u8,
    pub(super) legs: [Option<(Leg, Window)>; 2],
    pub(super) walk_origin: f64,
    pub(super) walk_destination: f64,
    pub passenger_hash: u64,
}

impl NeedShape {
    pub fn of(need: &Need, stops: &NeedStops) -> NeedShape {
        let farthest = |stops: &[Stop]| stops.iter().map(|s| s.walk_meters).fold(0.0, f64::max);
        NeedShape {
            ends: need.ends,
            seats: need.seats,
            legs: need_legs(need),
            walk_origin: farthest(&stops.origin),
            walk_destination: farthest(&stops.destination),
            passenger_hash: person_hash(&need.passenger_id),
        }
    }
}

/// Every (offer leg, need leg) combination that the corridor admits and
/// whose timing is not ruled out, with its passenger window and detour
/// bound (minutes).
pub fn combinations(
    offer: &OfferShape,
    need: &NeedShape,
    rules: &Rules,
    mut each: impl FnMut(Leg, Leg, Window, f64),
) {
    if need.seats > offer.seats {
        return;
    }
    let (a, b, p, q) = (offer.ends.from, offer.ends.to, need.ends.from, need.ends.to);
    // The six distances every combination is made of (chords fall short of
    // arcs by under a metre at this scale: 5 m spare below).
    let (ab, pq) = (chord(a, b), chord(p, q));
    let (ap, aq, pb, qb) = (chord(a, p), chord(a, q), chord(p, b), chord(q, b));
    for (offer_leg, departs) in [
        (Leg::Outbound, offer.departs[0]),
        (Leg::Return, offer.departs[1]),
    ] {
        if offer_leg == Leg::Return && !offer.has_return {
            continue;
        }
        for (need_leg, window) in need.legs.into_iter().flatten() {
            // (driver start → boarding, alighting → driver end)
            let (to_board, from_alight) = match (offer_leg, need_leg) {
                (Leg::Outbound, Leg::Outbound) => (ap, qb),
                (Leg::Outbound, Leg::Return) => (aq, pb),
                (Leg::Return, Leg::Outbound) => (pb, aq),
                (Leg::Return, Leg::Return) => (qb, ap),
            };
            let (walk_board, walk_alight) = match need_leg {
                Leg::Outbound => (need.walk_origin, need.walk_destination),
                Leg::Return => (need.walk_destination, need.walk_origin),
            };
            let excess = to_board + pq + from_alight - ab - 5.0;
            if excess > offer.slack {
                continue;
            }
            if let Some(t0) = departs
                && !could_be_on_time(
                    t0,
                    &window,
                    [to_board, pq],
                    [walk_board, walk_alight],
                    rules,
                )
            {
                continue;
            }
            let bound =
                ((excess - 2.0 * (walk_board + walk_alight)) / rules.reach_per_minute).max(0.0);
            each(offer_leg, need_leg, window, bound);
        }
    }
}

/// Adds to `plan` every leg combination of `offers[offer]` and
/// `needs[need]` that the corridor admits and whose departure is not ruled
/// out for the passenger. Cheap: dates come later, for the combinations
/// actually evaluated.
#[allow(clippy::too_many_arguments)]
pub fn plan(
    plan: &mut Plan,
    offers: &[&Offer],
    offer: usize,
    needs: &[&Need],
    need: usize,
    stops: &[NeedStops],
    rules: &Rules,
) {
    plan_shapes(
        plan,
        &OfferShape::of(offers[offer], rules),
        offer,
        &NeedShape::of(needs[need], &stops[need]),
        need,
        rules,
    );
}

/// [`plan`] with the shapes already at hand.
pub fn plan_shapes(
    plan: &mut Plan,
    offer_shape: &OfferShape,
    offer: usize,
    need_shape: &NeedShape,
    need: usize,
    rules: &Rules,
) {
    combinations(
        offer_shape,
        need_shape,
        rules,
        |offer_leg, need_leg, window, bound| {
            plan.ordered = plan.cursor;
            plan.pending.push(Pending {
                offer,
                need,
                offer_leg,
                need_leg,
                window,
                bound,
            });
        },
    );
}

/// Whether a regular offer's leg leaving at `t0` (local clock minutes) can
/// meet the passenger's window at all, given the crow-fly distances from
/// its start to the boarding place and on to the alighting place. Travel
/// times are bounded by the fastest and slowest crow-fly speeds of the
/// rules; walking to stops can shift each distance by the walking limit.
/// Only used between 04:00 and 23:00, where no daylight-saving change can
/// fall between two clock times of the same day (changes are at night in
/// the territories served); otherwise the exact check decides.
pub(super) fn could_be_on_time(
    t0: f64,
    window: &Window,
    [to_board, riding]: [f64; 2],
    [walk_board, walk_alight]: [f64; 2],
    rules: &Rules,
) -> bool {
    let day = 4.0 * 60.0..=23.0 * 60.0;
    let times = [window.arrive_by, window.depart_after];
    if !day.contains(&t0)
        || times
            .iter()
            .flatten()
            .any(|t| !day.contains(&f64::from(t.minutes())))
    {
        return true;
    }
    let walking = |m: f64| m / rules.walk_speed / 60.0;
    let both = walk_board + walk_alight;
    // One minute spare for rounding.
    let pickup_lb = t0 + (to_board - walk_board).max(0.0) / rules.reach_per_minute - 1.0;
    let pickup_ub = t0 + (to_board + walk_board) / rules.crawl_per_minute + 1.0;
    let arrival_lb = pickup_lb + (riding - both).max(0.0) / rules.reach_per_minute;
    let arrival_ub = pickup_ub + (riding + both) / rules.crawl_per_minute + walking(walk_alight);
    let (leave_lb, leave_ub) = (pickup_lb - walking(walk_board), pickup_ub);
    let (flex, wait) = (window.flexibility, rules.max_wait_minutes);
    let minutes = |t: LocalTime| f64::from(t.minutes());
    match (window.arrive_by, window.depart_after) {
        (Some(by), Some(after)) => {
            arrival_lb <= minutes(by) + flex && leave_ub >= minutes(after) - flex
        }
        (Some(by), None) => {
            arrival_lb <= minutes(by) + flex && arrival_ub >= minutes(by) - wait - flex
        }
        (None, Some(after)) => {
            leave_lb <= minutes(after) + wait + flex && leave_ub >= minutes(after) - flex
        }
        (None, None) => false,
    }
}

/// The local clock minutes a regular offer's leg leaves at.
pub(super) fn weekly_departure(offer: &Offer, leg: Leg) -> Option<f64> {
    match (&offer.schedule, leg) {
        (OfferSchedule::Weekly(w), Leg::Outbound) => Some(f64::from(w.departure_time().minutes())),
        (OfferSchedule::Weekly(w), Leg::Return) => w.return_time().map(|t| f64::from(t.minutes())),
        (OfferSchedule::Once(_), _) => None,
    }
}

pub(super) fn has_return(offer: &Offer) -> bool {
    match &offer.schedule {
        OfferSchedule::Weekly(w) => w.return_time().is_some(),
        OfferSchedule::Once(o) => o.return_departure().is_some(),
    }
}

/// The first common date of an offer leg and a need, with its departure and
/// the passenger's window, if there is one after `now`.
pub(super) fn dated(
    t: &Offer,
    n: &Need,
    offer_leg: Leg,
    window: &Window,
    now: DateTime<Utc>,
    rules: &Rules,
    clock: &mut Clock,
) -> Option<Dated> {
    let today = now.with_timezone(&t.tz).date_naive();
    let mut dates = common_dates(t, n, offer_leg, today, rules);
    // A departure already gone does not count (only today's can be).
    let now = now.timestamp_millis();
    while let Some(first) = dates.first() {
        match clock.departure(t, offer_leg, *first) {
            Some(departure) if departure >= now => break,
            _ => {
                dates.remove(0);
            }
        }
    }
    let first = *dates.first()?;
    let departure = clock.departure(t, offer_leg, first)?;
    let weekdays = shared_weekdays(t, n, &dates);
    dates.truncate(10);
    Some(Dated {
        bounds: Bounds::new(window, first, n.tz, rules, clock),
        departure,
        dates,
        weekdays,
    })
}

/// For a regular need on a regular offer, the weekdays both travel on
/// within the horizon (pauses and periods taken into account).
pub(super) fn shared_weekdays(offer: &Offer, need: &Need, dates: &[NaiveDate]) -> Vec<Weekday> {
    match (&offer.schedule, &need.schedule) {
        (OfferSchedule::Weekly(w), NeedSchedule::Weekly(n)) => w
            .weekdays()
            .intersection(n.weekdays)
            .map(Weekdays::iter)
            .into_iter()
            .flatten()
            .filter(|d| dates.iter().any(|date| Weekday::of(*date) == *d))
            .collect(),
        _ => Vec::new(),
    }
}
