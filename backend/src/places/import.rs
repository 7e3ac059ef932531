//! A territory's local knowledge from a spreadsheet: meeting points and
//! local names, imported by `lotocar admin territory --import-meeting-points
//! FILE.csv --import-aliases FILE.csv`, as a team kept them.
//!
//! The files are CSV with a header line, separated by `;` (a French
//! spreadsheet's export) or `,`, in UTF-8 or Windows-1252:
//! - meeting points: `nom;latitude;longitude` (decimal point or comma);
//! - local names: `nom local;lieu`, the place being a commune of the
//!   territory (by its name, « Saint-Céré (46400) », or its INSEE code) or a
//!   meeting point of the territory (one already there, or one of the file
//!   imported with it).
//!
//! Every line is checked first, with the rules of the coordinator's screen;
//! one wrong line and nothing is written, each wrong line told in French
//! with its number. Otherwise everything is written in one transaction
//! (a name already there is updated), each change in the audit log.

use std::collections::HashMap;

use anyhow::bail;
use lotocar_shared::GeoPoint;
use lotocar_shared::text::search_key;

use super::gazetteer::{Commune, Gazetteer};
use super::local::{self, PointRecord};
use crate::audit::{self, Action, Line, Subject};
use crate::db::Db;
use crate::territories::Territory;

/// Who the audit log names for an import from the command line.
pub const ADMIN_ACTOR: &str = "lotocar-admin";

/// What an import wrote.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Imported {
    pub points: usize,
    pub aliases: usize,
}

/// Checks both files, then writes them, or nothing.
pub async fn import(
    db: &Db,
    gazetteer: &Gazetteer,
    territory: &Territory,
    points_file: Option<(&str, &[u8])>,
    aliases_file: Option<(&str, &[u8])>,
) -> anyhow::Result<Imported> {
    let mut wrong = Vec::new();
    let existing = local::meeting_points_of(db, &territory.id).await?;
    let points = match points_file {
        Some((name, bytes)) => check_points(name, bytes, gazetteer, territory, &mut wrong),
        None => Vec::new(),
    };
    let aliases = match aliases_file {
        Some((name, bytes)) => check_aliases(
            name, bytes, gazetteer, territory, &existing, &points, &mut wrong,
        ),
        None => Vec::new(),
    };
    if !wrong.is_empty() {
        bail!(
            "rien n'a été importé : {} à corriger.\n{}",
            if wrong.len() == 1 {
                "1 ligne".to_string()
            } else {
                format!("{} lignes", wrong.len())
            },
            wrong.join("\n")
        );
    }
    let mut tx = db.begin_write().await?;
    let mut new_ids: HashMap<String, String> = HashMap::new();
    for point in &points {
        let id =
            local::save_meeting_point(&mut *tx, gazetteer, &territory.id, &point.name, point.at)
                .await?;
        audit::record(
            &mut tx,
            Line {
                territory_id: Some(&territory.id),
                actor: ADMIN_ACTOR,
                action: Action::MeetingPointSaved,
                subject: Subject::MeetingPoint(&id),
                detail: &format!("{} (import)", point.name),
            },
        )
        .await?;
        new_ids.insert(point.key_full.clone(), id);
    }
    for alias in &aliases {
        let place_id = match &alias.target {
            Target::Place(id) => id.clone(),
            Target::NewPoint(key) => format!("mp:{}", new_ids[key]),
        };
        let id = local::save_alias(&mut *tx, &territory.id, &alias.alias, &place_id).await?;
        audit::record(
            &mut tx,
            Line {
                territory_id: Some(&territory.id),
                actor: ADMIN_ACTOR,
                action: Action::AliasSaved,
                subject: Subject::Alias(&id),
                detail: &format!("{} → {} (import)", alias.alias, alias.label),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Imported {
        points: points.len(),
        aliases: aliases.len(),
    })
}

struct NewPoint {
    name: String,
    at: GeoPoint,
    /// Its name with its commune's (see `local::full_key`).
    key_full: String,
}

enum Target {
    /// A commune or a meeting point already there (its place id).
    Place(String),
    /// A meeting point of the same import (its full key).
    NewPoint(String),
}

struct NewAlias {
    alias: String,
    target: Target,
    label: String,
}

fn check_points(
    file: &str,
    bytes: &[u8],
    gazetteer: &Gazetteer,
    territory: &Territory,
    wrong: &mut Vec<String>,
) -> Vec<NewPoint> {
    let Some(rows) = read(
        file,
        bytes,
        &[
            ("nom", &["nom", "name", "nom du point"]),
            ("latitude", &["latitude", "lat"]),
            ("longitude", &["longitude", "lon", "lng", "long"]),
        ],
        wrong,
    ) else {
        return Vec::new();
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut points = Vec::new();
    for (line, cells) in rows {
        let mut say = |message: String| wrong.push(format!("{file}, ligne {line} : {message}"));
        let name = cells[0].split_whitespace().collect::<Vec<_>>().join(" ");
        if name.chars().count() < 3 || name.chars().count() > 100 {
            say(format!(
                "le nom « {name} » doit faire de 3 à 100 caractères (par exemple « Gramat, place de la République »)."
            ));
            continue;
        }
        let (Some(lat), Some(lon)) = (number(&cells[1]), number(&cells[2])) else {
            say(format!(
                "la latitude « {} » et la longitude « {} » doivent être des nombres (par exemple 44,6088 et 2,0317).",
                cells[1], cells[2]
            ));
            continue;
        };
        let at = match GeoPoint::new(lat, lon) {
            Ok(at) if gazetteer.covers(at) => at,
            _ => {
                say(format!(
                    "le point ({lat}, {lon}) n'est pas en France : la latitude et la longitude sont-elles inversées ?"
                ));
                continue;
            }
        };
        let inside = gazetteer
            .nearest_commune(at)
            .filter(|c| territory.covers_departement(&c.departement));
        if inside.is_none() {
            say(format!(
                "le point ({lat}, {lon}) n'est pas dans le territoire {} (départements {}).",
                territory.name,
                territory.departements.join(", ")
            ));
            continue;
        }
        // The same name in the same commune: the same point, twice.
        let key_full = local::full_key(gazetteer, &name, at);
        if let Some(first) = seen.insert(key_full.clone(), line) {
            say(format!(
                "« {name} » est déjà à la ligne {first}, dans la même commune."
            ));
            continue;
        }
        points.push(NewPoint { name, at, key_full });
    }
    points
}

fn check_aliases(
    file: &str,
    bytes: &[u8],
    gazetteer: &Gazetteer,
    territory: &Territory,
    existing: &[PointRecord],
    imported: &[NewPoint],
    wrong: &mut Vec<String>,
) -> Vec<NewAlias> {
    let Some(rows) = read(
        file,
        bytes,
        &[
            ("nom local", &["nom local", "alias", "nom_local", "nom"]),
            ("lieu", &["lieu", "place", "commune", "point"]),
        ],
        wrong,
    ) else {
        return Vec::new();
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut aliases = Vec::new();
    for (line, cells) in rows {
        let mut say = |message: String| wrong.push(format!("{file}, ligne {line} : {message}"));
        let alias = cells[0].split_whitespace().collect::<Vec<_>>().join(" ");
        if search_key(&alias).chars().count() < 2 || alias.chars().count() > 60 {
            say(format!(
                "le nom local « {alias} » doit faire de 2 à 60 caractères, tel que les gens le disent."
            ));
            continue;
        }
        if let Some(first) = seen.insert(search_key(&alias), line) {
            say(format!("« {alias} » est déjà à la ligne {first}."));
            continue;
        }
        match target(&cells[1], gazetteer, territory, existing, imported) {
            Ok((target, label)) => aliases.push(NewAlias {
                alias,
                target,
                label,
            }),
            Err(message) => say(message),
        }
    }
    aliases
}

/// The place a local name points to: a commune of the territory, or one of
/// its meeting points.
fn target(
    given: &str,
    gazetteer: &Gazetteer,
    territory: &Territory,
    existing: &[PointRecord],
    imported: &[NewPoint],
) -> Result<(Target, String), String> {
    let given = given.trim();
    if given.is_empty() {
        return Err("le lieu est vide : donnez une commune ou un point de rendez-vous.".into());
    }
    let ours = |c: &&Commune| territory.covers_departement(&c.departement);
    // An INSEE code.
    if given.len() == 5
        && given.chars().all(|c| c.is_ascii_alphanumeric())
        && let Some(commune) = gazetteer.current(given).filter(|c| ours(c))
    {
        return Ok((Target::Place(commune.id.clone()), commune.label(None)));
    }
    // « Saint-Céré (46400) »: a name and a postal code.
    let (name, postal) = match given.rsplit_once('(') {
        Some((name, rest)) if rest.ends_with(')') => {
            (name.trim(), Some(rest.trim_end_matches(')').trim()))
        }
        _ => (given, None),
    };
    let key = search_key(name);
    let communes: Vec<&Commune> = gazetteer
        .communes()
        .iter()
        .filter(|c| c.key == key)
        .filter(ours)
        .filter(|c| postal.is_none_or(|p| c.postal_code.as_deref() == Some(p) || c.insee == p))
        .collect();
    if let [commune] = communes.as_slice() {
        return Ok((Target::Place(commune.id.clone()), commune.label(None)));
    }
    if communes.len() > 1 {
        return Err(format!(
            "plusieurs communes du territoire s'appellent « {name} » : précisez le code postal, par exemple « {} ({}) ».",
            communes[0].name,
            communes[0]
                .postal_code
                .as_deref()
                .unwrap_or(&communes[0].insee)
        ));
    }
    // A meeting point, by its name, or by its name with its commune's when
    // two villages have one of that name. One of the file first: it may
    // update one already there.
    let ambiguous = || {
        format!(
            "plusieurs points de rendez-vous s'appellent « {given} » : précisez la commune, par exemple « Gramat, {given} »."
        )
    };
    let new: Vec<&NewPoint> = imported
        .iter()
        .filter(|p| search_key(&p.name) == key || p.key_full == key)
        .collect();
    match new.as_slice() {
        [point] => return Ok((Target::NewPoint(point.key_full.clone()), point.name.clone())),
        [_, _, ..] => return Err(ambiguous()),
        [] => {}
    }
    let there: Vec<&PointRecord> = existing
        .iter()
        .filter(|p| p.search_key == key || p.search_key_full == key)
        .collect();
    match there.as_slice() {
        [point] => {
            return Ok((
                Target::Place(format!("mp:{}", point.id)),
                point.name.clone(),
            ));
        }
        [_, _, ..] => return Err(ambiguous()),
        [] => {}
    }
    Err(format!(
        "« {given} » n'est ni une commune du territoire ni un de ses points de rendez-vous."
    ))
}

/// A number written with a decimal point or comma.
fn number(text: &str) -> Option<f64> {
    text.trim()
        .replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
}

/// The rows of a CSV file (line number, cells in the order of `columns`),
/// or `None` when the file itself is wrong (said in `wrong`).
fn read(
    file: &str,
    bytes: &[u8],
    columns: &[(&str, &[&str])],
    wrong: &mut Vec<String>,
) -> Option<Vec<(usize, Vec<String>)>> {
    let text = decode(bytes);
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.contains(';') { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let expected = columns
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(";");
    let headers = match reader.headers() {
        Ok(headers) => headers.iter().map(search_key).collect::<Vec<_>>(),
        Err(_) => {
            wrong.push(format!(
                "{file} : la première ligne doit nommer les colonnes : {expected}."
            ));
            return None;
        }
    };
    let mut at = Vec::new();
    for (name, accepted) in columns {
        match headers
            .iter()
            .position(|h| accepted.iter().any(|a| search_key(a) == *h))
        {
            Some(i) if !at.contains(&i) => at.push(i),
            _ => {
                wrong.push(format!(
                    "{file} : il manque la colonne « {name} » (la première ligne doit nommer les colonnes : {expected})."
                ));
                return None;
            }
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line() as usize);
                if record.iter().all(|cell| cell.is_empty()) {
                    continue;
                }
                let cells = at
                    .iter()
                    .map(|&i| record.get(i).unwrap_or_default().to_string())
                    .collect();
                rows.push((line, cells));
            }
            Err(err) => {
                let line = err.position().map_or(0, |p| p.line() as usize);
                wrong.push(format!("{file}, ligne {line} : illisible ({err})."));
            }
        }
    }
    if rows.is_empty() && wrong.is_empty() {
        wrong.push(format!("{file} : aucune ligne sous celle des colonnes."));
    }
    Some(rows)
}

/// UTF-8 (with or without its mark), else Windows-1252, as a French
/// spreadsheet saves CSV.
fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return text.to_string();
    }
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => HIGH[(b - 0x80) as usize],
            _ => b as char,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_take_a_decimal_comma_or_point() {
        assert_eq!(number("44,6088"), Some(44.6088));
        assert_eq!(number(" 2.0317 "), Some(2.0317));
        assert_eq!(number("N44"), None);
    }

    #[test]
    fn a_spreadsheet_saved_in_windows_1252_reads_as_written() {
        assert_eq!(decode(b"Saint-C\xe9r\xe9 \x80"), "Saint-Céré €");
        assert_eq!(decode("\u{feff}Gare".as_bytes()), "Gare");
    }
}
