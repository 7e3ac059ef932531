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

    fn index(communes: Vec<Commune>) -> Gazetteer {
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
        }
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
    fn finds_the_nearest_commune() {
        let g = gazetteer();
        let figeac = g.get("commune:46102").unwrap();
        let near = GeoPoint::new(figeac.point.lat() + 0.001, figeac.point.lon()).unwrap();
        assert_eq!(g.nearest_commune(near).unwrap().insee, "46102");
        let atlantic = GeoPoint::new(46.0, -10.0).unwrap();
        assert!(g.nearest_commune(atlantic).is_none());
    }
}
