//! The evaluations to make, in order of their detour bound, batched for
//! the road router, and the best matches kept.

use super::shape::*;
use super::time::*;
use super::*;

/// One (offer leg, need leg) worth evaluating, before dates are looked at.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub(super) offer: usize,
    pub(super) need: usize,
    pub(super) offer_leg: Leg,
    pub(super) need_leg: Leg,
    pub(super) window: Window,
    /// No detour can be smaller, in minutes (from crow-fly distances).
    pub(super) bound: f64,
}

/// A pending evaluation on its first common date.
#[derive(Debug, Clone)]
pub(super) struct Dated {
    pub(super) bounds: Bounds,
    /// Epoch milliseconds.
    pub(super) departure: i64,
    pub(super) dates: Vec<NaiveDate>,
    pub(super) weekdays: Vec<Weekday>,
}

/// The evaluations to make, in order of their detour bound, and the best
/// matches found so far.
pub struct Plan {
    pub(super) pending: Vec<Pending>,
    pub(super) clock: Clock,
    /// `pending[cursor..ordered]` is sorted by bound, and holds the
    /// smallest bounds not yet taken.
    pub(super) ordered: usize,
    pub(super) cursor: usize,
    pub(super) found: Vec<Found>,
    /// Keep this many matches (the best); `None`: all.
    pub(super) limit: Option<usize>,
    /// Skip evaluations whose bound cannot beat the matches kept.
    pub(super) prune: bool,
}

/// The best stops found so far for one evaluation.
#[derive(Clone, Copy)]
pub(super) struct Best {
    pub(super) key: (i64, i64, i64),
    pub(super) board: usize,
    pub(super) alight: usize,
    pub(super) detour: f64,
    pub(super) deviation: f64,
}

/// A slice of the plan sent to the router at once.
pub struct Batch {
    pub(super) pairs: Vec<(GeoPoint, GeoPoint)>,
    pub(super) items: Vec<BatchItem>,
}

pub(super) struct BatchItem {
    pub(super) pending: usize,
    pub(super) dated: Dated,
    /// Pair indices: the driver's leg, to each boarding stop, from each
    /// alighting stop, and every boarding → alighting stop.
    pub(super) base: usize,
    pub(super) to_board: usize,
    pub(super) from_alight: usize,
    pub(super) riding: usize,
}

impl Batch {
    /// The drives whose durations [`Plan::judge`] needs, in order.
    pub fn pairs(&self) -> &[(GeoPoint, GeoPoint)] {
        &self.pairs
    }

    pub(super) fn pair(&mut self, a: GeoPoint, b: GeoPoint) -> usize {
        self.pairs.push((a, b));
        self.pairs.len() - 1
    }
}

impl Plan {
    /// Every match, best first.
    pub fn all() -> Plan {
        Plan::keeping(None, false)
    }

    /// The `limit` best matches; with `prune`, evaluations that cannot
    /// make it are skipped (without, every one is evaluated: the
    /// exhaustive baseline).
    pub fn keeping(limit: Option<usize>, prune: bool) -> Plan {
        Plan {
            pending: Vec::new(),
            clock: Clock::default(),
            ordered: 0,
            cursor: 0,
            found: Vec::new(),
            limit,
            prune,
        }
    }

    /// The detour key a new match must beat, once `limit` are kept.
    pub(super) fn threshold(&self) -> Option<i64> {
        let limit = self.limit?;
        (self.found.len() >= limit).then(|| self.found[limit - 1].rank_key().0)
    }

    /// The next evaluations (at most `size`) and the drives they need;
    /// `None` when nothing is left that could be kept.
    pub fn next_batch(
        &mut self,
        size: usize,
        offers: &[&Offer],
        needs: &[&Need],
        stops: &[NeedStops],
        now: DateTime<Utc>,
        rules: &Rules,
    ) -> Option<Batch> {
        let threshold = if self.prune { self.threshold() } else { None };
        let mut batch = Batch {
            pairs: Vec::new(),
            items: Vec::new(),
        };
        let mut riding_of: HashMap<(usize, Leg), usize> = HashMap::new();
        while self.cursor < self.pending.len() && batch.items.len() < size {
            self.order_next();
            let p = &self.pending[self.cursor];
            if threshold.is_some_and(|t| (p.bound * 10.0).round() as i64 > t) {
                // Sorted by bound: nothing after this can be kept either.
                self.cursor = self.pending.len();
                break;
            }
            let (t, n) = (offers[p.offer], needs[p.need]);
            self.cursor += 1;
            let Some(dated) = dated(t, n, p.offer_leg, &p.window, now, rules, &mut self.clock)
            else {
                continue;
            };
            let (from, to) = match p.offer_leg {
                Leg::Outbound => (t.origin.point(), t.destination.point()),
                Leg::Return => (t.destination.point(), t.origin.point()),
            };
            let (board, alight) = leg_ends(&stops[p.need], p.need_leg);
            let riding = *riding_of.entry((p.need, p.need_leg)).or_insert_with(|| {
                let start = batch.pairs.len();
                for b in board {
                    for a in alight {
                        batch.pairs.push((b.point, a.point));
                    }
                }
                start
            });
            let base = batch.pair(from, to);
            let to_board = batch.pairs.len();
            for stop in board {
                batch.pair(from, stop.point);
            }
            let from_alight = batch.pairs.len();
            for stop in alight {
                batch.pair(stop.point, to);
            }
            batch.items.push(BatchItem {
                pending: self.cursor - 1,
                dated,
                base,
                to_board,
                from_alight,
                riding,
            });
        }
        (!batch.items.is_empty()).then_some(batch)
    }

    /// Judges a batch with its road times (`durations[i]` seconds for
    /// `batch.pairs()[i]`), keeping for each (offer leg, need leg) the best
    /// feasible boarding and alighting stops.
    pub fn judge(
        &mut self,
        batch: &Batch,
        durations: &[f64],
        offers: &[&Offer],
        needs: &[&Need],
        stops: &[NeedStops],
        rules: &Rules,
    ) {
        // Once `limit` are kept, a match ranked after the last of them
        // cannot be kept: it is not made (nor its stops copied).
        let worst = self
            .limit
            .filter(|&limit| self.found.len() >= limit)
            .map(|limit| self.found[limit - 1].rank_key());
        for item in &batch.items {
            let pending = &self.pending[item.pending];
            let dated = &item.dated;
            let t = offers[pending.offer];
            let (board_stops, alight_stops) = leg_ends(&stops[pending.need], pending.need_leg);
            let base = durations[item.base];
            let departure = dated.departure as f64;
            let mut best: Option<Best> = None;
            for (i, board) in board_stops.iter().enumerate() {
                let t1 = durations[item.to_board + i];
                let walk_to = board.walk_meters / rules.walk_speed * 1000.0;
                for (j, alight) in alight_stops.iter().enumerate() {
                    let t2 = durations[item.riding + i * alight_stops.len() + j];
                    let t3 = durations[item.from_alight + j];
                    if !(t1 + t2 + t3).is_finite() || board.point.distance_m(alight.point) < 1.0 {
                        continue;
                    }
                    let detour = ((t1 + t2 + t3 - base) / 60.0).max(0.0);
                    if detour > t.max_detour_minutes + 1e-9 {
                        continue;
                    }
                    let walk_from = alight.walk_meters / rules.walk_speed * 1000.0;
                    let pickup = departure + t1 * 1000.0;
                    let arrival = pickup + t2 * 1000.0 + walk_from;
                    let Some(deviation) = dated.bounds.deviation(pickup - walk_to, arrival) else {
                        continue;
                    };
                    let walk = board.walk_meters + alight.walk_meters;
                    let key = (
                        (detour * 10.0).round() as i64,
                        deviation.round() as i64,
                        walk.round() as i64,
                    );
                    if best.is_none_or(|b| key < b.key) {
                        best = Some(Best {
                            key,
                            board: i,
                            alight: j,
                            detour,
                            deviation,
                        });
                    }
                }
            }
            if let Some(Best {
                board: i,
                alight: j,
                detour,
                deviation,
                key,
            }) = best
                && worst.is_none_or(|worst| key <= worst)
            {
                let pickup_at =
                    t.tz.timestamp_millis_opt(dated.departure)
                        .single()
                        .expect("an instant")
                        + minutes(durations[item.to_board + i]);
                let dropoff_at =
                    pickup_at + minutes(durations[item.riding + i * alight_stops.len() + j]);
                self.found.push(Found {
                    offer: pending.offer,
                    need: pending.need,
                    offer_leg: pending.offer_leg,
                    need_leg: pending.need_leg,
                    date: dated.dates[0],
                    dates: dated.dates.clone(),
                    weekdays: dated.weekdays.clone(),
                    pickup: board_stops[i].clone(),
                    pickup_at,
                    dropoff: alight_stops[j].clone(),
                    dropoff_at,
                    detour_minutes: detour,
                    deviation_minutes: deviation,
                });
            }
        }
        self.found.sort_by(|x, y| {
            x.rank_key()
                .cmp(&y.rank_key())
                .then_with(|| offers[x.offer].id.cmp(&offers[y.offer].id))
                .then_with(|| needs[x.need].id.cmp(&needs[y.need].id))
                .then_with(|| {
                    (x.offer_leg as u8, x.need_leg as u8)
                        .cmp(&(y.offer_leg as u8, y.need_leg as u8))
                })
        });
        if let Some(limit) = self.limit {
            self.found.truncate(limit);
        }
    }

    /// Makes `pending[cursor]` the smallest bound left: a few at a time
    /// (selection, then sorting a small chunk), since pruning usually stops
    /// long before the end.
    pub(super) fn order_next(&mut self) {
        if self.cursor < self.ordered {
            return;
        }
        let by_bound = |a: &Pending, b: &Pending| a.bound.total_cmp(&b.bound);
        let rest = &mut self.pending[self.cursor..];
        let chunk = 256.min(rest.len());
        if rest.len() > chunk {
            rest.select_nth_unstable_by(chunk - 1, by_bound);
        }
        rest[..chunk].sort_by(by_bound);
        self.ordered = self.cursor + chunk;
    }

    /// Room for `more` evaluations.
    pub fn reserve(&mut self, more: usize) {
        self.pending.reserve(more);
    }

    /// How many evaluations are planned.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Forgets the evaluations planned after the first `len`.
    pub fn truncate(&mut self, len: usize) {
        self.pending.truncate(len);
    }

    /// The matches kept, best first.
    pub fn into_found(self) -> Vec<Found> {
        self.found
    }
}

pub(super) fn leg_ends(stops: &NeedStops, leg: Leg) -> (&[Stop], &[Stop]) {
    match leg {
        Leg::Outbound => (&stops.origin, &stops.destination),
        Leg::Return => (&stops.destination, &stops.origin),
    }
}

/// What matching needs to know of an offer to rule it out quickly: a few
/// numbers, kept side by side in the index.
pub(super) fn minutes(seconds: f64) -> Duration {
    Duration::milliseconds((seconds * 1000.0).round() as i64)
}

/// Runs a plan to the end with road times from `durations_of` (one call
/// per batch).
pub fn run(
    mut plan: Plan,
    offers: &[&Offer],
    needs: &[&Need],
    stops: &[NeedStops],
    now: DateTime<Utc>,
    rules: &Rules,
    durations_of: &mut Durations,
) -> Vec<Found> {
    while let Some(batch) = plan.next_batch(BATCH, offers, needs, stops, now, rules) {
        let durations = durations_of(batch.pairs());
        plan.judge(&batch, &durations, offers, needs, stops, rules);
    }
    plan.into_found()
}

/// Road times in seconds for a batch of (from, to) drives, in order.
pub type Durations<'a> = dyn FnMut(&[(GeoPoint, GeoPoint)]) -> Vec<f64> + 'a;

/// Evaluations sent to the router at once.
pub const BATCH: usize = 64;
