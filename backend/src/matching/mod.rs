//! Matching both ways: a need gets the offers that can take it, and a new
//! or changed offer is matched against open needs (whose passengers
//! `news` tells, « un conducteur passe sur votre trajet »).
//!
//! The rule is in [`engine`] (no I/O); [`index`] keeps open offers and
//! needs in memory, in step with the database through the change
//! sequence; [`explain`] turns what was found into the API's matches.
//! Matching writes no table: it reads offers and needs through their
//! owners; `news` tells passengers of the drivers it finds.

pub mod engine;
pub mod explain;
pub mod index;

use std::sync::Arc;

use chrono::NaiveDate;
use lotocar_shared::GeoPoint;
use lotocar_shared::api::{Match, TripPlace};

use crate::auth::public_names;
use crate::db::Db;
use crate::error::Result;
use crate::needs::StoredNeed;
use crate::offers::StoredOffer;
use crate::places::Places;
use crate::places::gazetteer::Gazetteer;
use crate::routing::{CrowFly, Router};
use crate::territories::{Snapshot, Territories};
use engine::{Found, Need, NeedStops, Offer, Plan, Rules, Stop};
use index::{Change, Index, NeedEntry};

/// The index, the road router and the rules.
pub struct Matcher {
    pub index: Index,
    pub router: Arc<dyn Router>,
    /// One refresh of the index at a time.
    sync_lock: tokio::sync::Mutex<()>,
    /// What needs were found lately, while nothing changed.
    recent: std::sync::Mutex<Vec<Recent>>,
    /// Times the road router failed and crow-fly times were used: what
    /// was found meanwhile is not kept.
    fallbacks: std::sync::atomic::AtomicU64,
}

/// The offers found for a need (`found` indexes `offers`).
struct Matched {
    found: Vec<Found>,
    offers: Vec<Arc<Offer>>,
}

/// A need's matches, and what they were found from: the need as it was,
/// the index at a point of the change sequence (every trip, need and
/// booking written moves it), the meeting points held, and the minute
/// (matches depend on the time: trips leave).
struct Recent {
    need_id: String,
    need: u64,
    change: i64,
    minute: i64,
    points: Arc<crate::places::local::Local>,
    matched: Arc<Matched>,
}

/// Needs whose matches are kept at once.
const RECENT: usize = 256;

impl Matcher {
    pub fn new(rules: Rules, router: Arc<dyn Router>) -> Matcher {
        Matcher {
            index: Index::new(rules),
            router,
            sync_lock: tokio::sync::Mutex::new(()),
            recent: std::sync::Mutex::new(Vec::new()),
            fallbacks: std::sync::atomic::AtomicU64::new(0),
        }
    }

    pub fn rules(&self) -> &Rules {
        self.index.rules()
    }
}

/// Change sequence numbers read at once when the index catches up.
const SYNC_WINDOW: i64 = 10_000;

/// What matching works with.
#[derive(Clone)]
pub struct Matching {
    pub db: Db,
    pub places: Places,
    pub territories: Territories,
    pub matcher: Arc<Matcher>,
}

/// A match, with the seats its need asks for: the seats still free on the
/// offer that date are counted by `bookings`, which holds them.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub found: Match,
    pub seats_needed: i64,
    pub seats_offered: i64,
}

/// The local date in `tz`.
pub fn today_in(tz: chrono_tz::Tz) -> NaiveDate {
    crate::db::now().with_timezone(&tz).date_naive()
}

/// An offer as matching sees it, or `None` when it cannot take anyone now
/// (withdrawn, paused, over).
pub fn offer_view(offer: &StoredOffer, territories: &Snapshot) -> Option<Offer> {
    let tz = territories.tz_of(offer.territory_id.as_deref());
    offer.is_active(today_in(tz)).then(|| Offer {
        ends: engine::Ends::of(&offer.origin, &offer.destination),
        id: offer.id.clone(),
        driver_id: offer.owner_id.clone(),
        origin: offer.origin.clone(),
        destination: offer.destination.clone(),
        schedule: offer.schedule.clone(),
        seats: offer.seats as u8,
        max_detour_minutes: offer.max_detour_minutes as f64,
        tz,
    })
}

/// An open need as matching sees it, or `None` when it is closed or over.
pub fn need_view(need: &StoredNeed, territories: &Snapshot) -> Option<Need> {
    let tz = territories.tz_of(need.territory_id.as_deref());
    need.is_open(today_in(tz)).then(|| Need {
        ends: engine::Ends::of(&need.origin, &need.destination),
        id: need.id.clone(),
        passenger_id: need.owner_id.clone(),
        origin: need.origin.clone(),
        destination: need.destination.clone(),
        schedule: need.schedule.clone(),
        seats: need.seats as u8,
        tz,
    })
}

impl Matching {
    fn rules(&self) -> Rules {
        *self.matcher.rules()
    }

    /// Brings the index up to date with every committed change, a window
    /// of the change sequence at a time (at start, the whole database: a
    /// window's rows are let go before the next is read, so the memory
    /// left is the index's, as when it was built up by posting).
    pub async fn sync(&self) -> Result<()> {
        let matcher = &self.matcher;
        // The bound is read before queueing for the lock: on PostgreSQL it
        // waits for the writes in flight, and requests wait for them side
        // by side rather than one after another behind the lock.
        let upto = crate::db::last_change(&self.db).await?;
        if upto <= matcher.index.last_change() {
            return Ok(());
        }
        let _one_at_a_time = matcher.sync_lock.lock().await;
        let mut since = matcher.index.last_change();
        if upto <= since {
            return Ok(());
        }
        let mps = self.meeting_points().await?;
        while since < upto {
            let to = upto.min(since.max(0) + SYNC_WINDOW);
            self.apply_window(since, to, &mps).await?;
            since = to;
        }
        Ok(())
    }

    async fn apply_window(&self, since: i64, upto: i64, mps: &[TripPlace]) -> Result<()> {
        let offers = crate::offers::changed(&self.db, since, upto).await?;
        let needs = crate::needs::changed(&self.db, since, upto).await?;
        let territories = self
            .territories
            .covering(
                offers
                    .iter()
                    .map(|o| o.territory_id.as_deref())
                    .chain(needs.iter().map(|n| n.territory_id.as_deref())),
            )
            .await?;
        let mut changes = Vec::with_capacity(offers.len() + needs.len());
        for offer in offers {
            changes.push(Change::Offer {
                offer: offer_view(&offer, &territories),
                id: offer.id,
            });
        }
        let rules = self.rules();
        for need in needs {
            let entry = need_view(&need, &territories).map(|view| NeedEntry {
                stops: need_stops(&view, mps, &self.places.gazetteer, &rules),
                need: view,
            });
            changes.push(Change::Need {
                id: need.id,
                need: entry,
            });
        }
        self.matcher.index.apply(changes, upto);
        Ok(())
    }

    /// Whether the index has been loaded from the database once (the
    /// service is ready only then).
    pub fn is_loaded(&self) -> bool {
        self.matcher.index.last_change() >= 0
    }

    /// Meeting points of every territory, as places.
    async fn meeting_points(&self) -> Result<Vec<TripPlace>> {
        Ok(self
            .places
            .local
            .get(&self.db)
            .await?
            .points
            .iter()
            .map(|p| p.to_trip_place())
            .collect())
    }

    async fn stops_of(&self, need: &Need) -> Result<NeedStops> {
        Ok(need_stops(
            need,
            &self.meeting_points().await?,
            &self.places.gazetteer,
            &self.rules(),
        ))
    }

    /// Road times for a batch; if the road router fails, crow-fly times keep
    /// the service answering (and the failure is logged).
    async fn durations(&self, pairs: &[(GeoPoint, GeoPoint)]) -> Vec<f64> {
        let router = &self.matcher.router;
        match router.durations(pairs).await {
            Ok(durations) if durations.len() == pairs.len() => durations,
            outcome => {
                let error = outcome
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "wrong count".into());
                tracing::error!(%error, router = router.name(), "road times unavailable, using crow-fly");
                self.matcher
                    .fallbacks
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let fallback = CrowFly::default();
                pairs
                    .iter()
                    .map(|(a, b)| fallback.seconds(*a, *b))
                    .collect()
            }
        }
    }

    /// Runs a plan to the end, one router call per batch.
    async fn run(
        &self,
        mut plan: Plan,
        offers: &[&Offer],
        needs: &[&Need],
        stops: &[NeedStops],
    ) -> Vec<Found> {
        let rules = self.rules();
        let now = crate::db::now();
        while let Some(batch) = plan.next_batch(engine::BATCH, offers, needs, stops, now, &rules) {
            let durations = self.durations(batch.pairs()).await;
            plan.judge(&batch, &durations, offers, needs, stops, &rules);
        }
        plan.into_found()
    }

    /// The best offers that can take `need`, best first.
    ///
    /// A need asked again while nothing changed (the same need, no write
    /// since, the same meeting points, the same minute) is not matched
    /// again: a passenger who reopens the screen, an app that refreshes.
    /// Seats are counted afresh each time.
    pub async fn for_need(&self, need: &Need) -> Result<Vec<Candidate>> {
        self.sync().await?;
        let points = self.places.local.get(&self.db).await?;
        let fingerprint = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            format!("{need:?}").hash(&mut hasher);
            hasher.finish()
        };
        let change = self.matcher.index.last_change();
        let minute = crate::db::now().timestamp() / 60;
        let same = |r: &Recent| {
            r.need_id == need.id
                && r.need == fingerprint
                && r.change == change
                && r.minute == minute
                && Arc::ptr_eq(&r.points, &points)
        };
        let kept = {
            let recent = self.matcher.recent.lock().expect("recent lock");
            recent.iter().find(|r| same(r)).map(|r| r.matched.clone())
        };
        let matched = match kept {
            Some(matched) => matched,
            None => {
                let fallbacks = &self.matcher.fallbacks;
                let before = fallbacks.load(std::sync::atomic::Ordering::Relaxed);
                let matched = Arc::new(self.match_need(need, &points).await?);
                // Not kept when found with crow-fly times while the router
                // failed: asked again, the need is matched on the roads.
                if fallbacks.load(std::sync::atomic::Ordering::Relaxed) == before {
                    let mut recent = self.matcher.recent.lock().expect("recent lock");
                    // What was found from an older state is of no more use.
                    recent.retain(|r| r.change == change && r.minute == minute);
                    if recent.len() >= RECENT {
                        recent.remove(0);
                    }
                    recent.push(Recent {
                        need_id: need.id.clone(),
                        need: fingerprint,
                        change,
                        minute,
                        points: points.clone(),
                        matched: matched.clone(),
                    });
                }
                matched
            }
        };
        let offers: Vec<&Offer> = matched.offers.iter().map(|t| t.as_ref()).collect();
        self.candidates(&matched.found, &offers, &[need], false)
            .await
    }

    /// The matching itself, for [`Matching::for_need`] (and the benchmark,
    /// which times it without what is kept): how many offers were found.
    pub async fn match_afresh(&self, need: &Need) -> Result<usize> {
        let points = self.places.local.get(&self.db).await?;
        Ok(self.match_need(need, &points).await?.found.len())
    }

    async fn match_need(
        &self,
        need: &Need,
        points: &crate::places::local::Local,
    ) -> Result<Matched> {
        let rules = self.rules();
        let points: Vec<TripPlace> = points.points.iter().map(|p| p.to_trip_place()).collect();
        let stops = need_stops(need, &points, &self.places.gazetteer, &rules);
        if let Some(crow) = self.matcher.router.as_crow_fly() {
            // No I/O for road times: match in place, in the index.
            let (found, offers) =
                self.matcher
                    .index
                    .match_need(need, &stops, crate::db::now(), &mut |pairs| {
                        pairs.iter().map(|(a, b)| crow.seconds(*a, *b)).collect()
                    });
            return Ok(Matched { found, offers });
        }
        let nearby: Vec<Arc<Offer>> = self
            .matcher
            .index
            .offers_near(need)
            .into_iter()
            .filter(|t| t.driver_id != need.passenger_id)
            .collect();
        let offers: Vec<&Offer> = nearby.iter().map(|t| t.as_ref()).collect();
        let needs = [need];
        let stops = [stops];
        let mut plan = Plan::keeping(Some(rules.max_matches), true);
        for t in 0..offers.len() {
            engine::plan(&mut plan, &offers, t, &needs, 0, &stops, &rules);
        }
        let mut found = self.run(plan, &offers, &needs, &stops).await;
        let offers = index::offers_found(&mut found, |i| nearby[i].clone());
        Ok(Matched { found, offers })
    }

    /// Open needs that `offer` can serve, best first.
    pub async fn for_offer(&self, offer: &Offer) -> Result<Vec<Candidate>> {
        let (found, needs) = self.found_for_offer(offer).await?;
        let needs: Vec<&Need> = needs.iter().map(|n| &n.need).collect();
        self.candidates(&found, &[offer], &needs, true).await
    }

    /// What `offer` can do for the open needs near it, and those needs.
    pub async fn found_for_offer(
        &self,
        offer: &Offer,
    ) -> Result<(Vec<Found>, Vec<Arc<NeedEntry>>)> {
        self.sync().await?;
        let rules = self.rules();
        if let Some(crow) = self.matcher.router.as_crow_fly() {
            // No I/O for road times: match in place, in the index.
            return Ok(self
                .matcher
                .index
                .match_offer(offer, crate::db::now(), &mut |pairs| {
                    pairs.iter().map(|(a, b)| crow.seconds(*a, *b)).collect()
                }));
        }
        let nearby: Vec<Arc<NeedEntry>> = self
            .matcher
            .index
            .needs_near(offer)
            .into_iter()
            .filter(|n| n.need.passenger_id != offer.driver_id)
            .collect();
        let needs: Vec<&Need> = nearby.iter().map(|n| &n.need).collect();
        let stops: Vec<NeedStops> = nearby.iter().map(|n| n.stops.clone()).collect();
        let offers = [offer];
        let mut plan = Plan::all();
        for n in 0..needs.len() {
            engine::plan(&mut plan, &offers, 0, &needs, n, &stops, &rules);
        }
        let found = self.run(plan, &offers, &needs, &stops).await;
        Ok((found, nearby))
    }

    /// Every way `offer` can take `need` (each leg combination, best stops).
    pub async fn between(&self, offer: &Offer, need: &Need) -> Result<Vec<Found>> {
        let rules = self.rules();
        let stops = [self.stops_of(need).await?];
        let mut plan = Plan::all();
        engine::plan(&mut plan, &[offer], 0, &[need], 0, &stops, &rules);
        Ok(self.run(plan, &[offer], &[need], &stops).await)
    }

    /// The API form of what was found, with the seats each need asks for.
    /// `for_driver`: the driver looks at passengers, so the passenger's
    /// public name is given too.
    async fn candidates(
        &self,
        found: &[Found],
        offers: &[&Offer],
        needs: &[&Need],
        for_driver: bool,
    ) -> Result<Vec<Candidate>> {
        let mut people: Vec<String> = found
            .iter()
            .map(|f| offers[f.offer].driver_id.clone())
            .collect();
        if for_driver {
            people.extend(found.iter().map(|f| needs[f.need].passenger_id.clone()));
        }
        people.sort();
        people.dedup();
        let names = public_names(&self.db, &people).await?;
        Ok(found
            .iter()
            .map(|f| Candidate {
                found: explain::to_match(f, offers[f.offer], needs[f.need], &names, for_driver),
                seats_needed: i64::from(needs[f.need].seats),
                seats_offered: i64::from(offers[f.offer].seats),
            })
            .collect())
    }
}

// ---------------------------------------------------------------------------
// Walking to meeting points
// ---------------------------------------------------------------------------

/// Where a passenger at `place` can board or leave: the place itself, then
/// the nearest meeting points and commune centres within walking distance.
pub fn stops_around(
    place: &TripPlace,
    meeting_points: &[TripPlace],
    gazetteer: &Gazetteer,
    rules: &Rules,
) -> Vec<Stop> {
    let here = place.point();
    let mut others: Vec<Stop> = meeting_points
        .iter()
        .map(|mp| (mp.clone(), mp.point()))
        .chain(
            gazetteer
                .communes_near(here, rules.walk_meters)
                .into_iter()
                .map(|c| {
                    (
                        TripPlace {
                            place_id: Some(c.id.clone()),
                            label: c.label(None),
                            insee: Some(c.insee.clone()),
                            lat: c.point.lat(),
                            lon: c.point.lon(),
                        },
                        c.point,
                    )
                }),
        )
        .filter_map(|(place, point)| {
            let walk = here.distance_m(point);
            (walk >= 50.0 && walk <= rules.walk_meters).then_some(Stop {
                place,
                point,
                walk_meters: walk,
            })
        })
        .collect();
    others.sort_by(|a, b| a.walk_meters.total_cmp(&b.walk_meters));
    others.truncate(3);
    let mut stops = vec![Stop::at(place)];
    stops.extend(others);
    stops
}

fn need_stops(
    need: &Need,
    meeting_points: &[TripPlace],
    gazetteer: &Gazetteer,
    rules: &Rules,
) -> NeedStops {
    NeedStops {
        origin: stops_around(&need.origin, meeting_points, gazetteer, rules),
        destination: stops_around(&need.destination, meeting_points, gazetteer, rules),
    }
}
