//! The national gazetteer: every French commune (current, déléguée,
//! associée) with a point, loaded from `assets/communes-france.csv.gz`
//! (embedded in the binary) and searched in memory.

use std::collections::HashMap;
use std::io::Read;

use anyhow::Context;
use lotocar_shared::GeoPoint;
use lotocar_shared::api::{Place, PlaceKind};
use lotocar_shared::text::{search_key, without_article};

/// The gazetteer file, embedded so that the binary runs from anywhere.
pub const COMMUNES_CSV_GZ: &[u8] = include_bytes!("../../../assets/communes-france.csv.gz");

#[derive(Debug, Clone)]
pub struct Commune {
    pub id: String,
    /// Search key of the name (see `text::search_key`).
    pub key: String,
    pub insee: String,
    pub name: String,
    pub kind: PlaceKind,
    pub departement: String,
    pub postal_code: Option<String>,
    pub population: u32,
    pub parent_insee: Option<String>,
    pub point: GeoPoint,
}

impl Commune {
    /// "Figeac (46100)"; a commune déléguée also names its commune.
    pub fn label(&self, parent_name: Option<&str>) -> String {
        let code = self.postal_code.as_deref().unwrap_or(&self.departement);
        match parent_name {
            Some(parent) if parent != self.name => format!("{} ({code}, {parent})", self.name),
            _ => format!("{} ({code})", self.name),
        }
    }
}

/// All communes, with a sorted key index for prefix search.
pub struct Gazetteer {
    communes: Vec<Commune>,
    /// (search key, commune index), sorted by key. A name with an article
    /// has a second key without it.
    keys: Vec<(String, u32)>,
    by_id: HashMap<String, u32>,
    /// Current communes by INSEE code, to name the parent of a déléguée.
    current_by_insee: HashMap<String, u32>,
    /// Current communes on a coarse lat/lon grid, for nearest look-ups.
    grid: HashMap<(i32, i32), Vec<u32>>,
    /// The points that make the area covered (every commune's but the
    /// misplaced ones), on the same grid.
    cover: HashMap<(i32, i32), Vec<u32>>,
}

/// A point is in the area covered when a commune's point (a town hall)
/// lies within this distance: metropolitan France and Corsica with their
/// shores and border towns, the overseas départements of the file; not
/// the open sea, not abroad beyond the border towns. (About the spacing
/// of communes where they are sparsest in metropolitan France; in the
/// forest of Guyane, far from any town, a point is not covered.)
pub const COVER_RADIUS_M: f64 = 20_000.0;

/// A point further than this from the median of its département's points
/// (in latitude or longitude) is an error of the source, not a place of
/// the département: the largest département, Guyane, spans less than
/// 2° either way from its median.
const MISPLACED_DEGREES: f64 = 3.0;

/// Checks every commune's point against its département (the median of
/// its points) and tells which are misplaced. A point whose longitude has
/// the wrong sign and lands far away (three communes of Guadeloupe in the
/// source: Anse-Bertrand, Sainte-Anne, Sainte-Rose) is put right; any
/// other point far from its département (seven communes whose longitude
/// repeats their latitude) is misplaced, and left out of the area
/// covered, so that no error of the source widens it.
fn place_departements(communes: &mut [Commune]) -> Vec<bool> {
    fn median(mut values: Vec<f64>) -> f64 {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    }
    let mut by_departement: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, commune) in communes.iter().enumerate() {
        by_departement
            .entry(commune.departement.clone())
            .or_default()
            .push(i);
    }
    let mut misplaced = vec![false; communes.len()];
    for (departement, members) in by_departement {
        let lat = median(members.iter().map(|&i| communes[i].point.lat()).collect());
        let lon = median(members.iter().map(|&i| communes[i].point.lon()).collect());
        let near = |p: GeoPoint| {
            (p.lat() - lat).abs() <= MISPLACED_DEGREES && (p.lon() - lon).abs() <= MISPLACED_DEGREES
        };
        let mut count = 0usize;
        for &i in &members {
            let commune = &mut communes[i];
            if near(commune.point) {
                continue;
            }
            match GeoPoint::new(commune.point.lat(), -commune.point.lon()) {
                Ok(flipped) if near(flipped) => commune.point = flipped,
                _ => {
                    misplaced[i] = true;
                    count += 1;
                }
            }
        }
        if count > 0 {
            tracing::debug!(%departement, count, "gazetteer points far from their département");
        }
    }
    misplaced
}

/// Grid cells of 0.1° (about 11 km by 8 km in France).
const GRID_STEP: f64 = 0.1;

fn cell_of(point: GeoPoint) -> (i32, i32) {
    (
        (point.lat() / GRID_STEP).floor() as i32,
        (point.lon() / GRID_STEP).floor() as i32,
    )
}

impl Gazetteer {
    /// Loads the embedded gazetteer.
    pub fn load_embedded() -> anyhow::Result<Gazetteer> {
        Self::from_gzip(COMMUNES_CSV_GZ)
    }

    pub fn from_gzip(bytes: &[u8]) -> anyhow::Result<Gazetteer> {
        let mut csv_text = String::with_capacity(bytes.len() * 4);
        flate2::read::GzDecoder::new(bytes)
            .read_to_string(&mut csv_text)
            .context("the gazetteer is not valid gzip/UTF-8")?;
        let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
        let mut communes = Vec::with_capacity(38_000);
        let mut skipped = 0usize;
        for (line, record) in reader.records().enumerate() {
            let record = record.with_context(|| format!("gazetteer line {}", line + 2))?;
            let field = |i: usize| record.get(i).unwrap_or_default();
            let kind = match field(2) {
                "commune" => PlaceKind::Commune,
                "deleguee" => PlaceKind::Deleguee,
                "associee" => PlaceKind::Associee,
                other => anyhow::bail!("gazetteer line {}: unknown kind {other}", line + 2),
            };
            let lat: f64 = field(7)
                .parse()
                .with_context(|| format!("line {}: lat", line + 2))?;
            let lon: f64 = field(8)
                .parse()
                .with_context(|| format!("line {}: lon", line + 2))?;
            // Two communes of the source have no point ("nan"): they cannot
            // be placed on a trip, so they are left out.
            let Ok(point) = GeoPoint::new(lat, lon) else {
                skipped += 1;
                continue;
            };
            let insee = field(0).to_string();
            let name = field(1).to_string();
            communes.push(Commune {
                id: place_id(kind, &insee),
                key: search_key(&name),
                insee,
                name,
                kind,
                departement: field(3).to_string(),
                postal_code: field(4).split_whitespace().next().map(str::to_string),
                population: field(5).parse().unwrap_or(0),
                parent_insee: Some(field(6)).filter(|s| !s.is_empty()).map(str::to_string),
                point,
            });
        }
        if skipped > 0 {
            tracing::debug!(skipped, "gazetteer rows without a point left out");
        }
        Ok(Self::index(communes))
    }

    fn index(mut communes: Vec<Commune>) -> Gazetteer {
        let misplaced = place_departements(&mut communes);
        let mut cover: HashMap<(i32, i32), Vec<u32>> = HashMap::new();
        for (i, commune) in communes.iter().enumerate() {
            if !misplaced[i] {
                cover
                    .entry(cell_of(commune.point))
                    .or_default()
                    .push(i as u32);
            }
        }
        let mut keys = Vec::with_capacity(communes.len() * 5 / 4);
        let mut by_id = HashMap::with_capacity(communes.len());
        let mut current_by_insee = HashMap::with_capacity(communes.len());
        let mut grid: HashMap<(i32, i32), Vec<u32>> = HashMap::new();
        for (i, commune) in communes.iter().enumerate() {
            let i = i as u32;
            if let Some(short) = without_article(&commune.key) {
                keys.push((short.to_string(), i));
            }
            keys.push((commune.key.clone(), i));
            by_id.insert(commune.id.clone(), i);
            if commune.kind == PlaceKind::Commune {
                current_by_insee.insert(commune.insee.clone(), i);
                grid.entry(cell_of(commune.point)).or_default().push(i);
            }
        }
        keys.sort_unstable();
        Gazetteer {
            communes,
            keys,
            by_id,
            current_by_insee,
            grid,
            cover,
        }
    }

    /// Whether `point` lies in the area the gazetteer covers: within
    /// [`COVER_RADIUS_M`] of a commune's point (misplaced points of the
    /// source left out).
    pub fn covers(&self, point: GeoPoint) -> bool {
        let (cy, cx) = cell_of(point);
        // 0.1° cells: 3 of them are at least 20 km north–south, and east–
        // west up to 51° of latitude (France's northernmost point).
        for dy in -3..=3 {
            for dx in -3..=3 {
                let Some(cell) = self.cover.get(&(cy + dy, cx + dx)) else {
                    continue;
                };
                if cell
                    .iter()
                    .any(|&i| self.communes[i as usize].point.distance_m(point) <= COVER_RADIUS_M)
                {
                    return true;
                }
            }
        }
        false
    }

    pub fn len(&self) -> usize {
        self.communes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.communes.is_empty()
    }

    pub fn communes(&self) -> &[Commune] {
        &self.communes
    }

    pub fn get(&self, id: &str) -> Option<&Commune> {
        self.by_id.get(id).map(|&i| &self.communes[i as usize])
    }

    /// The current commune with this INSEE code.
    pub fn current(&self, insee: &str) -> Option<&Commune> {
        self.current_by_insee
            .get(insee)
            .map(|&i| &self.communes[i as usize])
    }

    /// The place as the API shows it.
    pub fn to_place(&self, commune: &Commune) -> Place {
        let parent = commune
            .parent_insee
            .as_deref()
            .and_then(|insee| self.current(insee))
            .map(|p| p.name.as_str());
        Place {
            id: commune.id.clone(),
            name: commune.name.clone(),
            insee: Some(
                commune
                    .parent_insee
                    .clone()
                    .unwrap_or_else(|| commune.insee.clone()),
            ),
            kind: commune.kind,
            lat: commune.point.lat(),
            lon: commune.point.lon(),
            label: commune.label(parent),
            departement: Some(commune.departement.clone()),
            population: Some(commune.population),
            alias: None,
        }
    }

    /// Communes whose name (or name without its article) starts with the
    /// key `prefix`, or whose postal code or INSEE code starts with it when
    /// it is made of digits. Unordered, without duplicates.
    pub fn prefix_matches(&self, prefix: &str) -> Vec<&Commune> {
        if prefix.is_empty() {
            return Vec::new();
        }
        if prefix.bytes().all(|b| b.is_ascii_digit()) {
            return self
                .communes
                .iter()
                .filter(|c| {
                    c.insee.starts_with(prefix)
                        || c.postal_code
                            .as_deref()
                            .is_some_and(|p| p.starts_with(prefix))
                })
                .collect();
        }
        let start = self.keys.partition_point(|(k, _)| k.as_str() < prefix);
        let mut seen = Vec::new();
        for (key, i) in &self.keys[start..] {
            if !key.starts_with(prefix) {
                break;
            }
            seen.push(*i);
        }
        seen.sort_unstable();
        seen.dedup();
        seen.into_iter()
            .map(|i| &self.communes[i as usize])
            .collect()
    }

    /// Communes whose name (or its start) is within a typo or two of `key`
    /// (a letter wrong, missing, added, or two swapped: one from 4 letters,
    /// two from 8), the nearest spellings only: for when no name starts
    /// with what was typed ("figeak" finds Figeac). Unordered, without
    /// duplicates.
    pub fn near_matches(&self, key: &str) -> Vec<&Commune> {
        let typed = key.as_bytes();
        let allowed = match typed.len() {
            0..=3 => return Vec::new(),
            4..=7 => 1,
            _ => 2,
        };
        if typed.iter().all(|b| b.is_ascii_digit() || *b == b' ') {
            return Vec::new();
        }
        let mut nearest = allowed;
        let mut found: Vec<(usize, u32)> = Vec::new();
        for (name, i) in &self.keys {
            if let Some(distance) = prefix_distance(typed, name.as_bytes(), nearest) {
                if distance < nearest {
                    nearest = distance;
                    found.retain(|(d, _)| *d <= nearest);
                }
                found.push((distance, *i));
            }
        }
        let mut seen: Vec<u32> = found
            .into_iter()
            .filter(|(d, _)| *d == nearest)
            .map(|(_, i)| i)
            .collect();
        seen.sort_unstable();
        seen.dedup();
        seen.into_iter()
            .map(|i| &self.communes[i as usize])
            .collect()
    }

    /// The current commune whose point is nearest to `point`, within about
    /// 30 km (none at sea or abroad).
    pub fn nearest_commune(&self, point: GeoPoint) -> Option<&Commune> {
        let (cy, cx) = cell_of(point);
        let mut best: Option<(f64, u32)> = None;
        for dy in -3..=3 {
            for dx in -3..=3 {
                let Some(cell) = self.grid.get(&(cy + dy, cx + dx)) else {
                    continue;
                };
                for &i in cell {
                    let d = self.communes[i as usize].point.distance_m(point);
                    if best.is_none_or(|(bd, _)| d < bd) {
                        best = Some((d, i));
                    }
                }
            }
        }
        best.map(|(_, i)| &self.communes[i as usize])
    }

    /// Current communes within `radius_m` of `point`.
    pub fn communes_near(&self, point: GeoPoint, radius_m: f64) -> Vec<&Commune> {
        let (cy, cx) = cell_of(point);
        let reach = (radius_m / 8_000.0).ceil() as i32 + 1;
        let mut found = Vec::new();
        for dy in -reach..=reach {
            for dx in -reach..=reach {
                if let Some(cell) = self.grid.get(&(cy + dy, cx + dx)) {
                    found.extend(
                        cell.iter()
                            .map(|&i| &self.communes[i as usize])
                            .filter(|c| c.point.distance_m(point) <= radius_m),
                    );
                }
            }
        }
        found
    }
}

/// The public id of a gazetteer place: "commune:46102", "deleguee:46240".
/// The fewest edits (a byte replaced, added, removed, or two neighbours
/// swapped) that turn `typed` into the start of `name`, if at most `max`.
fn prefix_distance(typed: &[u8], name: &[u8], max: usize) -> Option<usize> {
    if name.len() + max < typed.len() {
        return None;
    }
    // Rows of the edit table: typed[..i] against name[..j], for every j.
    let width = name.len() + 1;
    let mut before: Vec<usize> = vec![usize::MAX / 2; width];
    let mut previous: Vec<usize> = (0..width).collect();
    let mut row: Vec<usize> = vec![0; width];
    for i in 1..=typed.len() {
        row[0] = i;
        let mut least = row[0];
        for j in 1..width {
            let cost = usize::from(typed[i - 1] != name[j - 1]);
            let mut best = (previous[j] + 1)
                .min(row[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && typed[i - 1] == name[j - 2] && typed[i - 2] == name[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            row[j] = best;
            least = least.min(best);
        }
        if least > max {
            return None;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut row);
    }
    // The start of the name: any length.
    previous.into_iter().min().filter(|d| *d <= max)
}

pub fn place_id(kind: PlaceKind, insee: &str) -> String {
    let prefix = match kind {
        PlaceKind::Commune => "commune",
        PlaceKind::Deleguee => "deleguee",
        PlaceKind::Associee => "associee",
        PlaceKind::MeetingPoint => "mp",
    };
    format!("{prefix}:{insee}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn gazetteer() -> &'static Gazetteer {
        static G: OnceLock<Gazetteer> = OnceLock::new();
        G.get_or_init(|| Gazetteer::load_embedded().unwrap())
    }

    #[test]
    fn holds_every_commune_of_france_and_the_lot() {
        let g = gazetteer();
        // 37,354 rows, of which two have no point (Solore-en-Forez, Lanester).
        assert_eq!(g.len(), 37_352);
        let lot_current = g
            .communes()
            .iter()
            .filter(|c| c.departement == "46" && c.kind == PlaceKind::Commune)
            .count();
        assert_eq!(lot_current, 312);
        let figeac = g.get("commune:46102").unwrap();
        assert_eq!(figeac.name, "Figeac");
        assert_eq!(g.to_place(figeac).label, "Figeac (46100)");
    }

    #[test]
    fn prefix_search_ignores_accents_and_articles() {
        let g = gazetteer();
        let names = |q: &str| -> Vec<String> {
            g.prefix_matches(&search_key(q))
                .iter()
                .map(|c| c.name.clone())
                .collect()
        };
        assert!(names("saint cere").contains(&"Saint-Céré".to_string()));
        assert!(names("ST-CÉRÉ").contains(&"Saint-Céré".to_string()));
        assert!(names("hospitalet").contains(&"L'Hospitalet".to_string()));
        assert!(names("46100").contains(&"Figeac".to_string()));
        assert!(names("").is_empty());
    }

    #[test]
    fn edits_count_against_the_start_of_a_name() {
        let d = |typed: &str, name: &str| prefix_distance(typed.as_bytes(), name.as_bytes(), 2);
        assert_eq!(d("figeac", "figeac"), Some(0));
        assert_eq!(d("figeak", "figeac"), Some(1));
        assert_eq!(d("fiegac", "figeac"), Some(1)); // two letters swapped
        assert_eq!(d("figac", "figeac"), Some(1)); // one missing
        assert_eq!(d("figeacc", "figeac"), Some(1)); // one too many
        assert_eq!(d("figea", "figeac"), Some(0)); // the start of it
        assert_eq!(d("cajarcq", "cajarc"), Some(1));
        assert_eq!(d("xyzxyz", "figeac"), None);
    }

    #[test]
    fn a_typo_finds_the_commune_when_nothing_starts_with_it() {
        let g = gazetteer();
        let names = |key: &str| {
            let mut found: Vec<String> = g
                .near_matches(key)
                .into_iter()
                .filter(|c| c.departement == "46")
                .map(|c| c.name.clone())
                .collect();
            found.sort();
            found
        };
        assert!(g.prefix_matches("figeak").is_empty());
        assert_eq!(names("figeak"), ["Figeac"]);
        assert_eq!(names("fiegac"), ["Figeac"]);
        assert_eq!(names("gramt"), ["Gramat"]);
        assert_eq!(names("souilac"), ["Souillac"]);
        // Too short to guess, or nothing near.
        assert!(g.near_matches("fig").is_empty());
        assert!(g.near_matches("qwxzqwxz").is_empty());
    }

    #[test]
    fn finds_the_nearest_commune() {
        let g = gazetteer();
        let figeac = g.get("commune:46102").unwrap();
        let near = GeoPoint::new(figeac.point.lat() + 0.001, figeac.point.lon()).unwrap();
        assert_eq!(g.nearest_commune(near).unwrap().insee, "46102");
        let atlantic = GeoPoint::new(46.0, -10.0).unwrap();
        assert!(g.nearest_commune(atlantic).is_none());
    }

    #[test]
    fn covers_france_and_its_overseas_departements_only() {
        let g = gazetteer();
        let at = |lat, lon| GeoPoint::new(lat, lon).unwrap();
        for (lat, lon) in [
            (44.6086, 2.0317),   // Figeac
            (48.4554, -5.0974),  // Ouessant
            (41.3870, 9.1584),   // Bonifacio
            (51.0712, 2.5254),   // Bray-Dunes
            (16.2411, -61.5331), // Pointe-à-Pitre
            (14.6161, -61.0588), // Fort-de-France
            (4.9372, -52.3260),  // Cayenne
            (-20.8823, 55.4504), // Saint-Denis de La Réunion
            (-12.7806, 45.2279), // Mamoudzou
        ] {
            assert!(g.covers(at(lat, lon)), "{lat}, {lon}");
        }
        for (lat, lon) in [
            (0.0, 0.0),     // Gulf of Guinea
            (46.0, -10.0),  // Atlantic
            (16.47, 61.51), // Anse-Bertrand with the source's sign error
            (49.2, 49.2),   // a longitude that repeats the latitude
            (49.47, 49.47),
            (40.4, -3.7), // Madrid
            (-90.0, 180.0),
        ] {
            assert!(!g.covers(at(lat, lon)), "{lat}, {lon}");
        }
        // The wrong sign of the source is put right; the points that
        // repeat their latitude cover nothing.
        let anse_bertrand = g.get("commune:97102").unwrap();
        assert!((anse_bertrand.point.lon() + 61.50881).abs() < 1e-9);
        let esnes = g.get("commune:55180").unwrap();
        assert!(!g.covers(esnes.point));
        // The shore and the border towns are covered, not the sea beyond
        // or the cities abroad.
        for (lat, lon) in [
            (46.15, -1.45),    // off La Rochelle, in the bay
            (46.2044, 6.1432), // Geneva, a border town
        ] {
            assert!(g.covers(at(lat, lon)), "{lat}, {lon}");
        }
        for (lat, lon) in [
            (51.5074, -0.1278), // London
            (45.0, -3.0),       // Bay of Biscay
            (43.7, 7.9),        // off Menton, beyond Italy's shore
            (50.8503, 4.3517),  // Brussels
        ] {
            assert!(!g.covers(at(lat, lon)), "{lat}, {lon}");
        }
    }
}
