//! The candidate index: which trips pass near a point, which needs lie in a
//! trip's corridor, without scanning them all. Trips are R-tree rectangles
//! (the box of their corridor), needs are R-tree points (their origin).
//!
//! Each instance keeps its own index in memory and brings it up to date
//! before every query by reading the trips and needs whose change sequence
//! is above the last one it applied (see `db::next_change`), so a trip
//! written through another instance is seen by the next query here.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rstar::RTree;
use rstar::primitives::{GeomWithData, Rectangle};

use super::engine::{Need, Rules, Trip, corridor_box, corridor_slack};

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

/// Open trips and needs, searchable by place.
pub struct Index {
    rules: Rules,
    state: RwLock<State>,
}

struct State {
    /// The last change sequence applied; -1 before the first load.
    last_change: i64,
    trips: Table<Trip, Rectangle<[f64; 2]>>,
    needs: Table<Need, [f64; 2]>,
}

fn trip_box(trip: &Trip, rules: &Rules) -> Rectangle<[f64; 2]> {
    let (min, max) = corridor_box(
        trip.origin.point(),
        trip.destination.point(),
        corridor_slack(trip, rules),
    );
    Rectangle::from_corners(min, max)
}

fn need_point(need: &Need) -> [f64; 2] {
    [need.origin.lon, need.origin.lat]
}

/// A change read from the database.
pub enum Change {
    Trip { id: String, trip: Option<Trip> },
    Need { id: String, need: Option<Need> },
}

impl Index {
    pub fn new(rules: Rules) -> Index {
        Index {
            rules,
            state: RwLock::new(State {
                last_change: -1,
                trips: Table::new(),
                needs: Table::new(),
            }),
        }
    }

    /// An index of these trips and needs at once (benchmarks).
    pub fn build(rules: Rules, trips: Vec<(String, Trip)>, needs: Vec<(String, Need)>) -> Index {
        let trips = trips
            .into_iter()
            .map(|(id, trip)| {
                let geom = trip_box(&trip, &rules);
                (id, trip, geom)
            })
            .collect();
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
                trips: Table::bulk(trips),
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
                Change::Trip {
                    id,
                    trip: Some(trip),
                } => {
                    let geom = trip_box(&trip, &self.rules);
                    state.trips.upsert(id, trip, geom);
                }
                Change::Trip { id, trip: None } => state.trips.remove(&id),
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

    /// Trips whose corridor box holds the need's origin: every trip that
    /// could take this passenger, and a few more.
    pub fn trips_near(&self, need: &Need) -> Vec<Arc<Trip>> {
        let state = self.state.read().expect("index lock");
        state
            .trips
            .tree
            .locate_all_at_point([need.origin.lon, need.origin.lat])
            .map(|entry| state.trips.get(entry.data).clone())
            .collect()
    }

    /// Open needs whose origin lies in the trip's corridor box.
    pub fn needs_near(&self, trip: &Trip) -> Vec<Arc<Need>> {
        let state = self.state.read().expect("index lock");
        let corridor = trip_box(trip, &self.rules);
        state
            .needs
            .tree
            .locate_in_envelope(rstar::AABB::from_corners(
                corridor.lower(),
                corridor.upper(),
            ))
            .map(|entry| state.needs.get(entry.data).clone())
            .collect()
    }

    /// Every indexed trip (the exhaustive baseline of the benchmark).
    pub fn all_trips(&self) -> Vec<Arc<Trip>> {
        self.state
            .read()
            .expect("index lock")
            .trips
            .all()
            .cloned()
            .collect()
    }

    /// Every indexed need.
    pub fn all_needs(&self) -> Vec<Arc<Need>> {
        self.state
            .read()
            .expect("index lock")
            .needs
            .all()
            .cloned()
            .collect()
    }

    pub fn sizes(&self) -> (usize, usize) {
        let state = self.state.read().expect("index lock");
        (state.trips.len(), state.needs.len())
    }
}
