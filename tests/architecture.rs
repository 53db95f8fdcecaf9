//! The dependency rule of ARCHITECTURE.md, checked on the source: top-level modules form layers,
//! each importing only the layers below it, so there is no import circle between folders.
//!
//! It reads every `crate::<module>` path in `src/` (in `use` lines and in code), so the rule
//! lives in the repository and not only in a review.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may import any module of a lower layer (and itself).
const LAYERS: &[&[&str]] = &[
    &["model"],
    &["error"],
    &["i18n"],
    &["platform"],
    &["mail"],
    &["fapi", "smartemailing"],
    &["simulators"],
    &["accounts"],
    &["connections"],
    &["contacts"],
    &["sync"],
    &["reminders"],
    &["alerts"],
    &["overview"],
    &["worker"],
    &["api"],
    &["app"],
    &["web"],
];

/// Exported macros live at the crate root; they belong to the module that defines them.
const MACROS: &[(&str, &str)] = &[("t", "i18n")];

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The top-level module a file belongs to (`src/sync/ingest.rs` → `sync`); `None` for the
/// crate root and the binary.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    match first {
        "lib.rs" | "main.rs" => None,
        name => Some(name.trim_end_matches(".rs").to_string()),
    }
}

/// Every `crate::name` in the text, with its line number (comments included: a doc link to a
/// higher layer is a dependency of the reader's mind, too).
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().last();
            rest = &rest[at + "crate::".len()..];
            // `fapi_bridge::` in doc tests or `foo_crate::` are not this crate's paths.
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push((number + 1, name));
            }
        }
    }
    found
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

#[test]
fn every_import_points_to_a_lower_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();

    let mut unknown = BTreeSet::new();
    let mut upward = Vec::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(from) = module_of(&src, file) else {
            continue;
        };
        let Some(from_layer) = layer_of(&from) else {
            unknown.insert(from.clone());
            continue;
        };
        let text = std::fs::read_to_string(file).expect("source is readable");
        for (line, to) in crate_paths(&text) {
            let to = MACROS
                .iter()
                .find(|(name, _)| *name == to)
                .map_or(to.clone(), |(_, home)| home.to_string());
            if to == from {
                continue;
            }
            let Some(to_layer) = layer_of(&to) else {
                unknown.insert(to);
                continue;
            };
            edges.entry(from.clone()).or_default().insert(to.clone());
            if to_layer >= from_layer {
                upward.push(format!(
                    "{}:{line}: {from} imports {to}",
                    file.strip_prefix(&src).unwrap_or(file).display()
                ));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules missing from LAYERS (add them where they belong): {unknown:?}"
    );
    assert!(
        upward.is_empty(),
        "imports that point up or sideways (a circle, or one waiting to happen):\n{}",
        upward.join("\n")
    );
    // The rule is meant to bite: the real code does have edges across most layers.
    assert!(
        edges.values().map(BTreeSet::len).sum::<usize>() > 20,
        "the scan found almost no imports: {edges:?}"
    );
}

#[test]
fn the_scan_sees_paths_in_use_lines_and_in_code() {
    let text =
        "use crate::sync::store;\nlet x = crate::platform::time::now(); // fapi_bridge::web\n";
    assert_eq!(
        crate_paths(text),
        vec![(1, "sync".to_string()), (2, "platform".to_string())]
    );
}
