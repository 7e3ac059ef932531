//! The candidate index: which offers pass near a need, which needs lie in a
//! offer's corridor, without scanning them all. Trips are listed in the grid
//! cells their corridor touches (a need is looked up in the cells of its
//! two ends); needs are R-tree points (their origin), looked up in the box
//! of an offer's corridor.
//!
//! Each instance keeps its own index in memory and brings it up to date
//! before every query by reading the offers and needs whose change sequence
//! is above the last one it applied (see `db::next_change`), so an offer
//! written through another instance is seen by the next query here.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use lotocar_shared::GeoPoint;
use rstar::RTree;
use rstar::primitives::GeomWithData;

use super::engine::{
    self, Durations, Found, Need, NeedShape, NeedStops, Offer, OfferShape, Plan, Rules,
    corridor_box, corridor_slack,
};

type Slot = u32;

/// Items of one kind with their geometry in an R-tree.
struct Table<T, G: rstar::RTreeObject + PartialEq + Clone> {
    items: Vec<Option<(Arc<T>, G)>>,
    by_id: HashMap<String, Slot>,
    free: Vec<Slot>,
    tree: RTree<GeomWithData<G, Slot>>,
}

impl<T, G> Table<T, G>
where
    G: rstar::RTreeObject + PartialEq + Clone,
{
    fn new() -> Self {
        Table {
            items: Vec::new(),
            by_id: HashMap::new(),
            free: Vec::new(),
            tree: RTree::new(),
        }
    }

    /// Builds at once (much faster than one insert at a time).
    fn bulk(entries: Vec<(String, T, G)>) -> Self {
        let mut table = Table::new();
        let mut objects = Vec::with_capacity(entries.len());
        for (slot, (id, item, geom)) in entries.into_iter().enumerate() {
            let slot = slot as Slot;
            objects.push(GeomWithData::new(geom.clone(), slot));
            table.items.push(Some((Arc::new(item), geom)));
            table.by_id.insert(id, slot);
        }
        table.tree = RTree::bulk_load(objects);
        table
    }

    fn remove(&mut self, id: &str) {
        if let Some(slot) = self.by_id.remove(id)
            && let Some((_, geom)) = self.items[slot as usize].take()
        {
            self.tree.remove(&GeomWithData::new(geom, slot));
            self.free.push(slot);
        }
    }

    fn upsert(&mut self, id: String, item: T, geom: G) {
        self.remove(&id);
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.items.push(None);
                (self.items.len() - 1) as Slot
            }
        };
        self.tree.insert(GeomWithData::new(geom.clone(), slot));
        self.items[slot as usize] = Some((Arc::new(item), geom));
        self.by_id.insert(id, slot);
    }

    fn get(&self, slot: Slot) -> &Arc<T> {
        &self.items[slot as usize]
            .as_ref()
            .expect("indexed slots are filled")
            .0
    }

    fn len(&self) -> usize {
        self.by_id.len()
    }

    fn all(&self) -> impl Iterator<Item = &Arc<T>> {
        self.items.iter().flatten().map(|(item, _)| item)
    }
}

/// Corridor grid cells: 0.05° of latitude by 0.05° of longitude (about
/// 5.5 km by 4 km in France).
const CELL_DEG: f64 = 0.05;

type Cell = (i32, i32);

fn cell_of(lat: f64, lon: f64) -> Cell {
    (
        (lat / CELL_DEG).floor() as i32,
        (lon / CELL_DEG).floor() as i32,
    )
}

/// The cells an offer's corridor touches: a cell is kept when its centre is
/// close enough to the corridor that some point of the cell may be in it
/// (moving a point by r changes d(A,X) + d(X,B) by at most 2r).
fn corridor_cells(offer: &Offer, rules: &Rules) -> Vec<Cell> {
    let (a, b) = (offer.origin.point(), offer.destination.point());
    let slack = corridor_slack(offer, rules);
    let (min, max) = corridor_box(a, b, slack);
    let (lo, hi) = (cell_of(min[1], min[0]), cell_of(max[1], max[0]));
    let reach = a.distance_m(b) + slack;
    let mut cells = Vec::new();
    for y in lo.0..=hi.0 {
        let lat = (f64::from(y) + 0.5) * CELL_DEG;
        let half_h = CELL_DEG / 2.0 * 111_132.0;
        let half_w = CELL_DEG / 2.0 * 111_320.0 * (lat.abs() - CELL_DEG / 2.0).to_radians().cos();
        let half_diagonal = (half_h * half_h + half_w * half_w).sqrt();
        for x in lo.1..=hi.1 {
            let lon = (f64::from(x) + 0.5) * CELL_DEG;
            let Ok(centre) = GeoPoint::new(lat.clamp(-90.0, 90.0), lon.clamp(-180.0, 180.0)) else {
                continue;
            };
            if a.distance_m(centre) + centre.distance_m(b) <= reach + 2.0 * half_diagonal + 1.0 {
                cells.push((y, x));
            }
        }
    }
    cells
}

/// A Z-order key of a place (about 300 m resolution): nearby places get
/// nearby keys.
fn morton(place: &lotocar_shared::api::TripPlace) -> u64 {
    let scale = |v: f64, lo: f64, span: f64| {
        (((v - lo) / span).clamp(0.0, 1.0) * f64::from(u16::MAX)) as u32
    };
    let (y, x) = (
        scale(place.lat, -90.0, 180.0),
        scale(place.lon, -180.0, 360.0),
    );
    let spread = |mut v: u64| {
        v = (v | (v << 16)) & 0x0000_ffff_0000_ffff;
        v = (v | (v << 8)) & 0x00ff_00ff_00ff_00ff;
        v = (v | (v << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        (v | (v << 1)) & 0x5555_5555_5555_5555
    };
    spread(u64::from(y)) | (spread(u64::from(x)) << 1)
}

/// Trips by the grid cells their corridor touches.
struct OfferGrid {
    items: Vec<Option<(Arc<Offer>, Vec<Cell>)>>,
    /// What quick checks need of each offer, side by side (by slot).
    shapes: Vec<Option<OfferShape>>,
    by_id: HashMap<String, Slot>,
    free: Vec<Slot>,
    /// Slots in each cell, sorted.
    cells: HashMap<Cell, Vec<Slot>>,
}

impl OfferGrid {
    fn new() -> Self {
        OfferGrid {
            items: Vec::new(),
            shapes: Vec::new(),
            by_id: HashMap::new(),
            free: Vec::new(),
            cells: HashMap::new(),
        }
    }

    fn bulk(mut offers: Vec<(String, Offer)>, rules: &Rules) -> Self {
        // Trips toward the same place get neighbouring slots, so that a
        // query reads the shapes of its candidates nearly in sequence.
        offers.sort_by_cached_key(|(_, t)| (morton(&t.destination), morton(&t.origin)));
        let mut grid = OfferGrid::new();
        for (slot, (id, offer)) in offers.into_iter().enumerate() {
            let slot = slot as Slot;
            let cells = corridor_cells(&offer, rules);
            for cell in &cells {
                // Slots come in increasing order: lists stay sorted.
                grid.cells.entry(*cell).or_default().push(slot);
            }
            grid.shapes.push(Some(OfferShape::of(&offer, rules)));
            grid.items.push(Some((Arc::new(offer), cells)));
            grid.by_id.insert(id, slot);
        }
        grid
    }

    fn remove(&mut self, id: &str) {
        let Some(slot) = self.by_id.remove(id) else {
            return;
        };
        self.shapes[slot as usize] = None;
        if let Some((_, cells)) = self.items[slot as usize].take() {
            for cell in cells {
                if let Some(list) = self.cells.get_mut(&cell)
                    && let Ok(i) = list.binary_search(&slot)
                {
                    list.remove(i);
                }
            }
            self.free.push(slot);
        }
    }

    fn upsert(&mut self, id: String, offer: Offer, rules: &Rules) {
        self.remove(&id);
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.items.push(None);
                self.shapes.push(None);
                (self.items.len() - 1) as Slot
            }
        };
        self.shapes[slot as usize] = Some(OfferShape::of(&offer, rules));
        let cells = corridor_cells(&offer, rules);
        for cell in &cells {
            let list = self.cells.entry(*cell).or_default();
            let at = list.binary_search(&slot).unwrap_or_else(|i| i);
            list.insert(at, slot);
        }
        self.items[slot as usize] = Some((Arc::new(offer), cells));
        self.by_id.insert(id, slot);
    }

    /// Slots of the offers whose corridor touches both cells.
    fn through(&self, p: Cell, q: Cell) -> Vec<Slot> {
        let empty = Vec::new();
        let first = self.cells.get(&p).unwrap_or(&empty);
        let second = self.cells.get(&q).unwrap_or(&empty);
        let mut found = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < first.len() && j < second.len() {
            match first[i].cmp(&second[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    found.push(first[i]);
                    i += 1;
                    j += 1;
                }
            }
        }
        found
    }

    fn offer(&self, slot: Slot) -> &Arc<Offer> {
        &self.items[slot as usize]
            .as_ref()
            .expect("listed slots are filled")
            .0
    }

    fn all(&self) -> impl Iterator<Item = &Arc<Offer>> {
        self.items.iter().flatten().map(|(offer, _)| offer)
    }
}

/// Open offers and needs, searchable by place.
pub struct Index {
    rules: Rules,
    state: RwLock<State>,
}

struct State {
    /// The last change sequence applied; -1 before the first load.
    last_change: i64,
    offers: OfferGrid,
    needs: Table<NeedEntry, [f64; 2]>,
}

/// The grid cells of a need's two ends.
fn need_cells(need: &Need) -> (Cell, Cell) {
    (
        cell_of(need.origin.lat, need.origin.lon),
        cell_of(need.destination.lat, need.destination.lon),
    )
}

fn need_point(entry: &NeedEntry) -> [f64; 2] {
    [entry.need.origin.lon, entry.need.origin.lat]
}

/// An open need in the index, with its boarding and alighting stops
/// (worked out once, when it is indexed).
pub struct NeedEntry {
    pub need: Need,
    pub stops: NeedStops,
}

/// A change read from the database.
pub enum Change {
    Offer { id: String, offer: Option<Offer> },
    Need { id: String, need: Option<NeedEntry> },
}

/// Only the offers `found` names, as owned handles (`offer(i)` for its
/// `i`-th candidate), `found` renumbered to them.
pub fn offers_found(found: &mut [Found], offer: impl Fn(usize) -> Arc<Offer>) -> Vec<Arc<Offer>> {
    let mut kept: Vec<Arc<Offer>> = Vec::with_capacity(found.len());
    let mut position: HashMap<usize, usize> = HashMap::new();
    for f in found {
        f.offer = *position.entry(f.offer).or_insert_with(|| {
            kept.push(offer(f.offer));
            kept.len() - 1
        });
    }
    kept
}

impl Index {
    pub fn new(rules: Rules) -> Index {
        Index {
            rules,
            state: RwLock::new(State {
                last_change: -1,
                offers: OfferGrid::new(),
                needs: Table::new(),
            }),
        }
    }

    /// An index of these offers and needs at once (benchmarks).
    pub fn build(
        rules: Rules,
        offers: Vec<(String, Offer)>,
        needs: Vec<(String, NeedEntry)>,
    ) -> Index {
        let offers = OfferGrid::bulk(offers, &rules);
        let needs = needs
            .into_iter()
            .map(|(id, need)| {
                let geom = need_point(&need);
                (id, need, geom)
            })
            .collect();
        Index {
            rules,
            state: RwLock::new(State {
                last_change: -1,
                offers,
                needs: Table::bulk(needs),
            }),
        }
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    pub fn last_change(&self) -> i64 {
        self.state.read().expect("index lock").last_change
    }

    /// Applies changes read from the database, up to sequence `upto`.
    pub fn apply(&self, changes: Vec<Change>, upto: i64) {
        let mut state = self.state.write().expect("index lock");
        for change in changes {
            match change {
                Change::Offer {
                    id,
                    offer: Some(offer),
                } => state.offers.upsert(id, offer, &self.rules),
                Change::Offer { id, offer: None } => state.offers.remove(&id),
                Change::Need {
                    id,
                    need: Some(need),
                } => {
                    let geom = need_point(&need);
                    state.needs.upsert(id, need, geom);
                }
                Change::Need { id, need: None } => state.needs.remove(&id),
            }
        }
        state.last_change = state.last_change.max(upto);
    }

    /// Trips whose corridor reaches the cells of both ends of the need:
    /// every offer that could take this passenger, and a few more.
    pub fn offers_near(&self, need: &Need) -> Vec<Arc<Offer>> {
        let state = self.state.read().expect("index lock");
        let (p, q) = need_cells(need);
        state
            .offers
            .through(p, q)
            .into_iter()
            .map(|slot| state.offers.offer(slot).clone())
            .collect()
    }

    /// Matches a need in place, under the index's read lock, with road
    /// times from a synchronous router; returns the matches and the offers
    /// they refer to (`Found::offer` indexes that list).
    pub fn match_need(
        &self,
        need: &Need,
        stops: &NeedStops,
        now: chrono::DateTime<chrono::Utc>,
        durations: &mut Durations,
    ) -> (Vec<Found>, Vec<Arc<Offer>>) {
        let state = self.state.read().expect("index lock");
        let (p, q) = need_cells(need);
        let need_shape = NeedShape::of(need, stops);
        let mut plan = Plan::keeping(Some(self.rules.max_matches), true);
        // Quick checks on the shapes side by side; the offers themselves are
        // only looked at for the few that pass.
        let mut candidates: Vec<&Arc<Offer>> = Vec::new();
        let slots = state.offers.through(p, q);
        plan.reserve(slots.len());
        for slot in slots {
            let Some(shape) = &state.offers.shapes[slot as usize] else {
                continue;
            };
            let before = plan.len();
            engine::plan_shapes(
                &mut plan,
                shape,
                candidates.len(),
                &need_shape,
                0,
                &self.rules,
            );
            if plan.len() > before {
                let offer = state.offers.offer(slot);
                if shape.driver_hash == need_shape.passenger_hash
                    && offer.driver_id == need.passenger_id
                {
                    plan.truncate(before);
                } else {
                    candidates.push(offer);
                }
            }
        }
        let offers: Vec<&Offer> = candidates.iter().map(|t| t.as_ref()).collect();
        let needs = [need];
        let stops = std::slice::from_ref(stops);
        let mut found = engine::run(plan, &offers, &needs, stops, now, &self.rules, durations);
        let kept = offers_found(&mut found, |i| candidates[i].clone());
        (found, kept)
    }

    /// Matches an offer against the open needs in place, under the index's
    /// read lock, with road times from a synchronous router. Returns every
    /// match and the needs they refer to (`Found::need` indexes that list).
    pub fn match_offer(
        &self,
        offer: &Offer,
        now: chrono::DateTime<chrono::Utc>,
        durations: &mut Durations,
    ) -> (Vec<Found>, Vec<Arc<NeedEntry>>) {
        let state = self.state.read().expect("index lock");
        let offer_shape = OfferShape::of(offer, &self.rules);
        let (min, max) = corridor_box(
            offer.origin.point(),
            offer.destination.point(),
            corridor_slack(offer, &self.rules),
        );
        let mut candidates: Vec<&Arc<NeedEntry>> = Vec::new();
        for entry in state
            .needs
            .tree
            .locate_in_envelope(rstar::AABB::from_corners(min, max))
        {
            let indexed = state.needs.get(entry.data);
            let mut admitted = false;
            engine::combinations(
                &offer_shape,
                &NeedShape::of(&indexed.need, &indexed.stops),
                &self.rules,
                |_, _, _, _| admitted = true,
            );
            if admitted && indexed.need.passenger_id != offer.driver_id {
                candidates.push(indexed);
            }
        }
        let needs: Vec<&Need> = candidates.iter().map(|n| &n.need).collect();
        let stops: Vec<NeedStops> = candidates.iter().map(|n| n.stops.clone()).collect();
        let offers = [offer];
        let mut plan = Plan::all();
        for n in 0..needs.len() {
            engine::plan(&mut plan, &offers, 0, &needs, n, &stops, &self.rules);
        }
        let mut found = engine::run(plan, &offers, &needs, &stops, now, &self.rules, durations);
        let mut kept: Vec<Arc<NeedEntry>> = Vec::with_capacity(found.len());
        let mut position: HashMap<usize, usize> = HashMap::new();
        for f in &mut found {
            f.need = *position.entry(f.need).or_insert_with(|| {
                kept.push(candidates[f.need].clone());
                kept.len() - 1
            });
        }
        (found, kept)
    }

    /// Open needs whose origin lies in the offer's corridor box.
    pub fn needs_near(&self, offer: &Offer) -> Vec<Arc<NeedEntry>> {
        let state = self.state.read().expect("index lock");
        let (min, max) = corridor_box(
            offer.origin.point(),
            offer.destination.point(),
            corridor_slack(offer, &self.rules),
        );
        state
            .needs
            .tree
            .locate_in_envelope(rstar::AABB::from_corners(min, max))
            .map(|entry| state.needs.get(entry.data).clone())
            .collect()
    }

    /// Every indexed offer (the exhaustive baseline of the benchmark).
    pub fn all_offers(&self) -> Vec<Arc<Offer>> {
        self.state
            .read()
            .expect("index lock")
            .offers
            .all()
            .cloned()
            .collect()
    }

    /// Every indexed need.
    pub fn all_needs(&self) -> Vec<Arc<NeedEntry>> {
        self.state
            .read()
            .expect("index lock")
            .needs
            .all()
            .cloned()
            .collect()
    }

    /// The indexed offer `id`: active, able to take someone.
    pub fn offer(&self, id: &str) -> Option<Arc<Offer>> {
        let state = self.state.read().expect("index lock");
        let slot = *state.offers.by_id.get(id)?;
        Some(state.offers.offer(slot).clone())
    }

    /// The indexed need `id`: open.
    pub fn need(&self, id: &str) -> Option<Arc<NeedEntry>> {
        let state = self.state.read().expect("index lock");
        let slot = *state.needs.by_id.get(id)?;
        Some(state.needs.get(slot).clone())
    }

    pub fn sizes(&self) -> (usize, usize) {
        let state = self.state.read().expect("index lock");
        (state.offers.by_id.len(), state.needs.len())
    }
}
