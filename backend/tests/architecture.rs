//! The shape of the backend, checked on its sources (docs/architecture.md
//! draws it): capabilities import only downward (no cycle among them, no
//! import of the assembly), the foundation imports no capability, and
//! every table has exactly one module that writes it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Storage, errors, retries, road times, transports: used by everyone,
/// importing no capability.
const FOUNDATION: &[&str] = &[
    "backup",
    "db",
    "error",
    "idempotency",
    "routing",
    "transports",
];

/// Configuration, state, router, web shell, demo and benchmarks: may
/// import everything; nothing imports them.
const ASSEMBLY: &[&str] = &[
    "lib", "main", "config", "state", "http", "web", "demo", "bench", "check", "requests",
];

/// The capabilities, from the bottom up (the order docs/architecture.md
/// gives; the test checks there is no cycle, whatever the order).
const CAPABILITIES: &[&str] = &[
    "territories",
    "auth",
    "audit",
    "places",
    "notify",
    "beneficiaries",
    "offers",
    "needs",
    "matching",
    "news",
    "bookings",
    "trips",
    "ratings",
    "relay",
    "coordination",
    "impact",
    "usage",
    "registry",
    "sync",
    "privacy",
    "jobs",
];

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a source file belongs to (`bookings` for
/// `src/bookings/store.rs`, `lib` for `src/lib.rs`).
fn module_of(path: &Path) -> String {
    let relative = path.strip_prefix(src()).expect("under src");
    let first = relative
        .components()
        .next()
        .expect("a component")
        .as_os_str()
        .to_string_lossy()
        .to_string();
    first.trim_end_matches(".rs").to_string()
}

/// Every file with its module and its text, comments left out.
fn sources() -> Vec<(String, PathBuf, String)> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable source");
            let code: String = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            (module_of(&path), path, code)
        })
        .collect()
}

/// The top-level modules a text names as `crate::<module>`, also inside
/// `use crate::{a, b::c}` groups.
fn crate_references(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while let Some(at) = code[i..].find("crate::") {
        let start = i + at + "crate::".len();
        // Not part of another path (`lotocar_crate::`).
        let before = (i + at).checked_sub(1).map(|b| bytes[b] as char);
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            i = start;
            continue;
        }
        if code[start..].starts_with('{') {
            // A group: every name at the group's first level.
            let mut depth = 0;
            let mut name = String::new();
            let mut at_item_start = true;
            for c in code[start..].chars() {
                match c {
                    '{' => {
                        depth += 1;
                        at_item_start = true;
                        name.clear();
                    }
                    '}' => {
                        if depth == 1 && !name.is_empty() && at_item_start {
                            found.insert(name.clone());
                        }
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => {
                        if !name.is_empty() && at_item_start {
                            found.insert(name.clone());
                        }
                        name.clear();
                        at_item_start = true;
                    }
                    ':' if depth == 1 => {
                        if !name.is_empty() && at_item_start {
                            found.insert(name.clone());
                        }
                        at_item_start = false;
                        name.clear();
                    }
                    c if depth == 1 && at_item_start && (c.is_alphanumeric() || c == '_') => {
                        name.push(c)
                    }
                    c if depth == 1 && c.is_whitespace() => {}
                    _ if depth == 1 => {
                        at_item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = code[start..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
        i = start;
    }
    found
}

/// Module → the other top-level modules it imports.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, _, code) in sources() {
        let refs = crate_references(&code);
        let entry = graph.entry(module.clone()).or_default();
        for r in refs {
            if r != module {
                entry.insert(r);
            }
        }
    }
    graph
}

/// A cycle among `nodes`, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>, nodes: &[&str]) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        nodes: &[&str],
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(node) {
            Some(2) => return None,
            Some(1) => {
                let from = path.iter().position(|n| n == node).unwrap_or(0);
                let mut cycle = path[from..].to_vec();
                cycle.push(node.to_string());
                return Some(cycle);
            }
            _ => {}
        }
        state.insert(node.to_string(), 1);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if nodes.contains(&next.as_str())
                && let Some(found) = visit(next, graph, nodes, state, path)
            {
                return Some(found);
            }
        }
        path.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in nodes {
        if let Some(found) = visit(node, graph, nodes, &mut state, &mut Vec::new()) {
            return Some(found);
        }
    }
    None
}

#[test]
fn every_module_has_its_place_in_the_layers() {
    let known: BTreeSet<&str> = FOUNDATION
        .iter()
        .chain(ASSEMBLY)
        .chain(CAPABILITIES)
        .copied()
        .collect();
    let unknown: Vec<String> = graph()
        .keys()
        .filter(|m| !known.contains(m.as_str()))
        .cloned()
        .collect();
    assert!(
        unknown.is_empty(),
        "modules with no layer: {unknown:?}; add them to FOUNDATION, CAPABILITIES or ASSEMBLY in tests/architecture.rs and to docs/architecture.md"
    );
}

#[test]
fn capabilities_import_only_downward() {
    let graph = graph();
    if let Some(cycle) = cycle(&graph, CAPABILITIES) {
        panic!(
            "capabilities import one another in a loop: {}",
            cycle.join(" → ")
        );
    }
    let mut upward = Vec::new();
    for (module, imports) in &graph {
        let is_foundation = FOUNDATION.contains(&module.as_str());
        let is_capability = CAPABILITIES.contains(&module.as_str());
        for import in imports {
            let to_assembly = ASSEMBLY.contains(&import.as_str());
            let to_capability = CAPABILITIES.contains(&import.as_str());
            if (is_capability && to_assembly) || (is_foundation && (to_assembly || to_capability)) {
                upward.push(format!("{module} → {import}"));
            }
        }
    }
    assert!(upward.is_empty(), "imports going up: {upward:?}");
    // The order documented is one the graph allows: each capability imports
    // only those listed before it.
    let mut against_order = Vec::new();
    for (rank, module) in CAPABILITIES.iter().enumerate() {
        for import in graph.get(*module).into_iter().flatten() {
            if let Some(other) = CAPABILITIES.iter().position(|c| c == import)
                && other > rank
            {
                against_order.push(format!("{module} → {import}"));
            }
        }
    }
    assert!(
        against_order.is_empty(),
        "imports against the documented order (fix the import, or the order here and in docs/architecture.md): {against_order:?}"
    );
}

#[test]
fn the_reference_reader_sees_groups_and_paths() {
    let refs = crate_references(
        "use crate::{auth::{Auth, AuthUser}, db::Tx};\nlet x = crate::notify::post(tx);\nuse crate::error::Result;",
    );
    assert_eq!(
        refs,
        ["auth", "db", "error", "notify"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
}

/// The tables each module writes (INSERT, UPDATE, DELETE).
fn writers() -> BTreeMap<String, BTreeSet<String>> {
    let mut writers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, _, code) in sources() {
        let words: Vec<&str> = code
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty())
            .collect();
        for pair in words.windows(3) {
            let table = match pair {
                ["INSERT", "INTO", table] => table,
                ["DELETE", "FROM", table] => table,
                _ => continue,
            };
            writers
                .entry(table.to_string())
                .or_default()
                .insert(module.clone());
        }
        for pair in words.windows(3) {
            if let ["UPDATE", table, "SET"] = pair {
                writers
                    .entry(table.to_string())
                    .or_default()
                    .insert(module.clone());
            }
        }
    }
    writers
}

/// The tables of the schema, from the SQLite migrations.
fn tables() -> BTreeSet<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../migrations/sqlite");
    let mut tables = BTreeSet::new();
    for entry in std::fs::read_dir(dir).expect("migrations") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("readable");
        for line in text.lines() {
            if let Some(rest) = line.trim().strip_prefix("CREATE TABLE ") {
                tables.insert(
                    rest.split(|c: char| c.is_whitespace() || c == '(')
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
        }
    }
    tables
}

#[test]
fn every_table_has_exactly_one_writer() {
    let writers = writers();
    let many: Vec<String> = writers
        .iter()
        .filter(|(_, modules)| modules.len() > 1)
        .map(|(table, modules)| format!("{table}: {modules:?}"))
        .collect();
    assert!(
        many.is_empty(),
        "tables written from several modules: {many:?}"
    );
    let tables = tables();
    assert!(
        tables.len() >= 20,
        "the migrations were not read: {tables:?}"
    );
    let unknown: Vec<&String> = writers.keys().filter(|t| !tables.contains(*t)).collect();
    assert!(
        unknown.is_empty(),
        "writes to tables the schema lacks: {unknown:?}"
    );
    let unwritten: Vec<&String> = tables
        .iter()
        .filter(|t| !writers.contains_key(*t))
        .collect();
    assert!(unwritten.is_empty(), "tables nobody writes: {unwritten:?}");
    // Only capabilities and the foundation own tables: the assembly
    // (demo, benchmarks) goes through their functions.
    let by_assembly: Vec<String> = writers
        .iter()
        .filter(|(_, modules)| modules.iter().any(|m| ASSEMBLY.contains(&m.as_str())))
        .map(|(table, modules)| format!("{table}: {modules:?}"))
        .collect();
    assert!(
        by_assembly.is_empty(),
        "tables written by the assembly: {by_assembly:?}"
    );
}

/// The tables of a live database, migrated as the server does it.
async fn live_tables() -> BTreeSet<String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = lotocar_backend::db::Db::open(None, dir.path())
        .await
        .expect("open and migrate SQLite");
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&db.pool)
    .await
    .expect("list tables");
    rows.into_iter().map(|(name,)| name).collect()
}

#[tokio::test]
async fn every_table_is_classified_for_export_and_erasure() {
    use lotocar_backend::privacy::{TABLES, Treatment};
    let live = live_tables().await;
    let classified: BTreeSet<String> = TABLES.iter().map(|(t, _, _)| t.to_string()).collect();
    let missing: Vec<&String> = live.difference(&classified).collect();
    assert!(
        missing.is_empty(),
        "tables not classified in privacy::TABLES (exported and erased, erased, or no personal data): {missing:?}"
    );
    let gone: Vec<&String> = classified.difference(&live).collect();
    assert!(
        gone.is_empty(),
        "privacy::TABLES lists tables the schema lacks: {gone:?}"
    );
    // Both dialects create the same tables.
    let postgres_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../migrations/postgres");
    let mut postgres = BTreeSet::new();
    for entry in std::fs::read_dir(postgres_dir).expect("migrations") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("readable");
        for line in text.lines() {
            if let Some(rest) = line.trim().strip_prefix("CREATE TABLE ") {
                postgres.insert(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
        }
    }
    assert_eq!(
        postgres,
        tables(),
        "SQLite and PostgreSQL migrations differ"
    );
    // Personal data says where it is handled.
    for (table, treatment, how) in TABLES {
        if *treatment != Treatment::NotPersonal {
            assert!(
                !how.is_empty(),
                "{table}: say where it is exported or erased"
            );
        }
    }
}

/// The web shell's scripts never wait on `dioxus.recv()`: LiveView's waits
/// 50 ms, then spins on the page's one thread until the message is there,
/// so a message a busy server sends later never arrives and the page
/// freezes (signing in did, one time in ten under load). Data goes into
/// the script itself.
#[test]
fn no_script_of_the_app_waits_on_dioxus_recv() {
    let mut files = Vec::new();
    rust_files(&src().join("../../mobile/src"), &mut files);
    assert!(!files.is_empty(), "the app's sources are read");
    let waiting: Vec<String> = files
        .iter()
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .any(|l| l.contains("dioxus.recv(") && !l.trim_start().starts_with("//"))
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        waiting.is_empty(),
        "scripts waiting on dioxus.recv(): {waiting:?}"
    );
}
