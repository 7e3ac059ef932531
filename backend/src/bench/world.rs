//! Synthetic but realistic trips and needs over real communes: people live
//! where the population lives and travel toward the larger towns nearby,
//! as in rural France (a gravity model: a town draws in proportion to its
//! population, less with distance).

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;
use lotocar_shared::GeoPoint;
use lotocar_shared::api::{PlaceKind, TripPlace};
use lotocar_shared::schedule::{
    NeedOnce, NeedSchedule, NeedWeekly, OfferSchedule, OnceTrip, Timing, WeeklyTrip, local_instant,
};
use lotocar_shared::time::{LocalTime, Weekday, Weekdays};
use rand::Rng;
use rand::rngs::StdRng;

use crate::matching::engine::{Ends, Need, Offer};
use crate::places::gazetteer::{Commune, Gazetteer};

/// Communes to draw from, weighted by population, and the towns people
/// travel to.
pub struct World<'g> {
    communes: Vec<&'g Commune>,
    cumulative: Vec<f64>,
    towns: Vec<&'g Commune>,
    town_grid: HashMap<(i32, i32), Vec<usize>>,
    pub tz: Tz,
}

/// Town grid cells of half a degree.
const CELL: f64 = 0.5;

fn cell(p: GeoPoint) -> (i32, i32) {
    (
        (p.lat() / CELL).floor() as i32,
        (p.lon() / CELL).floor() as i32,
    )
}

impl<'g> World<'g> {
    /// Current communes selected by `keep`; towns are those of at least
    /// `town_population` inhabitants, or the `towns` named by INSEE code.
    pub fn new(
        gazetteer: &'g Gazetteer,
        keep: impl Fn(&Commune) -> bool,
        town_population: u32,
        towns: &[&str],
    ) -> World<'g> {
        let communes: Vec<&Commune> = gazetteer
            .communes()
            .iter()
            .filter(|c| c.kind == PlaceKind::Commune && c.population > 0 && keep(c))
            .collect();
        let mut total = 0.0;
        let cumulative = communes
            .iter()
            .map(|c| {
                total += f64::from(c.population);
                total
            })
            .collect();
        let towns: Vec<&Commune> = communes
            .iter()
            .copied()
            .filter(|c| {
                if towns.is_empty() {
                    c.population >= town_population
                } else {
                    towns.contains(&c.insee.as_str())
                }
            })
            .collect();
        let mut town_grid: HashMap<(i32, i32), Vec<usize>> = HashMap::new();
        for (i, town) in towns.iter().enumerate() {
            town_grid.entry(cell(town.point)).or_default().push(i);
        }
        World {
            communes,
            cumulative,
            towns,
            town_grid,
            tz: chrono_tz::Europe::Paris,
        }
    }

    /// A commune, drawn in proportion to its population.
    pub fn resident_commune(&self, rng: &mut StdRng) -> &'g Commune {
        let total = *self.cumulative.last().expect("communes");
        let x = rng.random_range(0.0..total);
        let i = self
            .cumulative
            .partition_point(|c| *c <= x)
            .min(self.communes.len() - 1);
        self.communes[i]
    }

    /// A town `from` travels to: nearby, large, not itself.
    pub fn destination_town(&self, rng: &mut StdRng, from: &Commune, max_km: f64) -> &'g Commune {
        let (cy, cx) = cell(from.point);
        let reach = (max_km / 55.0).ceil() as i32 + 1;
        let mut options: Vec<(&Commune, f64)> = Vec::new();
        for dy in -reach..=reach {
            for dx in -reach..=reach {
                for &i in self
                    .town_grid
                    .get(&(cy + dy, cx + dx))
                    .into_iter()
                    .flatten()
                {
                    let town = self.towns[i];
                    let km = town.point.distance_m(from.point) / 1000.0;
                    if town.insee != from.insee && (2.0..=max_km).contains(&km) {
                        options.push((town, f64::from(town.population) / (km + 5.0).powi(2)));
                    }
                }
            }
        }
        if options.is_empty() {
            // Far from any town: the nearest one.
            return self
                .towns
                .iter()
                .filter(|t| t.insee != from.insee)
                .min_by(|a, b| {
                    a.point
                        .distance_m(from.point)
                        .total_cmp(&b.point.distance_m(from.point))
                })
                .copied()
                .expect("towns");
        }
        let total: f64 = options.iter().map(|o| o.1).sum();
        let mut x = rng.random_range(0.0..total);
        for (town, weight) in &options {
            if x < *weight {
                return town;
            }
            x -= weight;
        }
        options[options.len() - 1].0
    }
}

/// A point up to `max_m` metres from `commune`'s centre: a hamlet.
pub fn around(rng: &mut StdRng, commune: &Commune, max_m: f64) -> TripPlace {
    let r = max_m * rng.random_range(0.0f64..1.0).sqrt();
    let angle = rng.random_range(0.0..std::f64::consts::TAU);
    let lat = commune.point.lat() + r * angle.sin() / 111_132.0;
    let lon = commune.point.lon()
        + r * angle.cos() / (111_320.0 * commune.point.lat().to_radians().cos());
    TripPlace {
        place_id: None,
        label: format!("{} (hameau)", commune.name),
        insee: Some(commune.insee.clone()),
        lat,
        lon,
    }
}

/// The centre of a commune as a place.
pub fn centre(commune: &Commune) -> TripPlace {
    TripPlace {
        place_id: Some(commune.id.clone()),
        label: commune.label(None),
        insee: Some(commune.insee.clone()),
        lat: commune.point.lat(),
        lon: commune.point.lon(),
    }
}

pub fn time(minutes: u32) -> LocalTime {
    LocalTime::from_minutes(minutes).expect("a time of day")
}

/// A time between `from` and `to` (minutes of the day) on a 5-minute step.
pub fn time_between(rng: &mut StdRng, from: u32, to: u32) -> LocalTime {
    time(rng.random_range(from / 5..=to / 5) * 5)
}

fn pick<T: Copy>(rng: &mut StdRng, weighted: &[(T, u32)]) -> T {
    let total: u32 = weighted.iter().map(|w| w.1).sum();
    let mut x = rng.random_range(0..total);
    for (value, weight) in weighted {
        if x < *weight {
            return *value;
        }
        x -= weight;
    }
    weighted[weighted.len() - 1].0
}

/// A driver's trip: mostly a weekday commute toward a town, sometimes a
/// one-off trip in the next two weeks.
pub fn trip(rng: &mut StdRng, world: &World, id: usize, start: NaiveDate) -> Offer {
    let home = world.resident_commune(rng);
    let work = world.destination_town(rng, home, 60.0);
    let origin = around(rng, home, 1500.0);
    let destination = centre(work);
    let schedule = if rng.random_bool(0.85) {
        let weekdays = if rng.random_bool(0.8) {
            Weekdays::WORKDAYS
        } else {
            Weekdays::from_bits(rng.random_range(1u8..128)).expect("non-empty")
        };
        let departure = time_between(rng, 6 * 60 + 30, 8 * 60 + 45);
        let back = rng
            .random_bool(0.8)
            .then(|| time_between(rng, 16 * 60 + 30, 18 * 60 + 45));
        OfferSchedule::Weekly(
            WeeklyTrip::new(weekdays, departure, back, start, None, Vec::new()).expect("valid"),
        )
    } else {
        let date = start + Duration::days(rng.random_range(0..14));
        let at = local_instant(world.tz, date, time_between(rng, 7 * 60, 18 * 60)).fixed_offset();
        OfferSchedule::Once(OnceTrip::new(at, None).expect("valid"))
    };
    Offer {
        ends: Ends::of(&origin, &destination),
        id: format!("trip{id}"),
        driver_id: format!("driver{id}"),
        origin,
        destination,
        schedule,
        seats: rng.random_range(1..=4),
        max_detour_minutes: pick(rng, &[(5.0, 20), (10.0, 30), (15.0, 35), (20.0, 15)]),
        tz: world.tz,
    }
}

/// A passenger's need: a medical, administrative or shopping trip to a town
/// on a date, or a weekday commute.
pub fn need(rng: &mut StdRng, world: &World, id: usize, start: NaiveDate) -> Need {
    let home = world.resident_commune(rng);
    let town = world.destination_town(rng, home, 60.0);
    let origin = around(rng, home, 1500.0);
    let destination = centre(town);
    let flexibility = pick(rng, &[(0u16, 50), (15, 30), (30, 20)]);
    let schedule = if rng.random_bool(0.3) {
        let arrive = time_between(rng, 7 * 60 + 45, 9 * 60);
        NeedSchedule::Weekly(NeedWeekly {
            weekdays: Weekdays::WORKDAYS,
            timing: Timing::new(Some(arrive), None).expect("valid"),
            flexibility_minutes: flexibility,
            return_after: Some(time_between(rng, 16 * 60 + 30, 18 * 60 + 30)),
            from: None,
            until: None,
        })
    } else {
        let mut date = start + Duration::days(rng.random_range(0..14));
        if Weekday::of(date) == Weekday::Sun {
            date += Duration::days(1);
        }
        let arrive = time_between(rng, 8 * 60, 11 * 60 + 30);
        NeedSchedule::Once(NeedOnce {
            date,
            timing: Timing::new(Some(arrive), None).expect("valid"),
            flexibility_minutes: flexibility,
            return_after: rng
                .random_bool(0.5)
                .then(|| time(arrive.minutes() + rng.random_range(24..48) * 5)),
        })
    };
    Need {
        ends: Ends::of(&origin, &destination),
        id: format!("need{id}"),
        passenger_id: format!("passenger{id}"),
        origin,
        destination,
        schedule,
        seats: 1,
        tz: world.tz,
    }
}
