//! The layering rule, enforced: a module imports only the layers below it (README,
//! "Architecture"). Reads every `crate::<module>` path in `src/` (tests excluded: a test may
//! build fixtures from a neighbour) and the terminal and CLI crates each layer may use.

use std::collections::BTreeMap;
use std::path::Path;

/// Each top-level module and the modules it may use.
const ALLOWED: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("sanitize", &[]),
    ("json_visit", &[]),
    ("config", &["domain"]),
    ("store", &["domain", "sanitize"]),
    ("privacy", &["domain", "store", "sanitize", "json_visit"]),
    // The engine. Ingest workers evaluate detection's Sigma rules on raw records (before
    // redaction): the one sideways edge.
    (
        "ingest",
        &[
            "domain",
            "sanitize",
            "json_visit",
            "config",
            "store",
            "privacy",
            "detect",
        ],
    ),
    ("detect", &["domain", "sanitize", "config", "store"]),
    ("intel", &["domain", "sanitize", "config", "store"]),
    (
        "respond",
        &["domain", "sanitize", "config", "store", "privacy"],
    ),
    (
        "explain",
        &["domain", "sanitize", "config", "store", "intel"],
    ),
    ("report", &["domain", "sanitize", "respond"]),
    ("datasets", &["domain", "sanitize"]),
    (
        "eval",
        &[
            "domain", "sanitize", "config", "store", "privacy", "ingest", "detect", "intel",
        ],
    ),
    // Opens and wires the engine.
    (
        "pipeline",
        &[
            "domain", "sanitize", "config", "store", "privacy", "ingest", "detect", "intel",
            "respond", "explain", "report",
        ],
    ),
    // The log bus: consumers feed the pipeline's writer; publishing answers through its
    // command queue.
    (
        "bus",
        &[
            "domain", "sanitize", "config", "store", "privacy", "ingest", "pipeline", "explain",
        ],
    ),
    // Front ends.
    (
        "api",
        &[
            "domain", "sanitize", "config", "store", "privacy", "detect", "intel", "respond",
            "explain", "report", "pipeline", "bus",
        ],
    ),
    (
        "app",
        &[
            "domain", "sanitize", "config", "store", "respond", "explain", "pipeline",
        ],
    ),
    (
        "ui",
        &[
            "domain", "sanitize", "config", "store", "respond", "explain", "pipeline", "app",
        ],
    ),
    ("cli", &["domain", "config"]),
];

/// Crates only the front ends may use.
const FRONT_END_CRATES: &[&str] = &["ratatui", "crossterm", "clap"];
const FRONT_ENDS: &[&str] = &["api", "app", "ui", "cli", "commands", "main", "lib"];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_layer_imports_one_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    for path in files {
        let rel = path.strip_prefix(&src).expect("under src");
        if rel.file_name().is_some_and(|n| n == "tests.rs") || rel.starts_with("detect/rules/tests")
        {
            continue;
        }
        let top = rel
            .iter()
            .next()
            .and_then(|c| c.to_str())
            .map(|c| c.trim_end_matches(".rs"))
            .expect("module");
        let text = std::fs::read_to_string(&path).expect("read");
        // A unit-test module at the end of a file is not the module's dependency.
        let code = text
            .split("#[cfg(test)]\nmod tests {")
            .next()
            .unwrap_or(&text);
        if let Some(ok) = allowed.get(top) {
            for (i, _) in code.match_indices("crate::") {
                let name: String = code[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !name.is_empty() && name != top && !ok.contains(&name.as_str()) {
                    violations.push(format!("{}: uses crate::{name}", rel.display()));
                }
            }
        }
        if !FRONT_ENDS.contains(&top) {
            for krate in FRONT_END_CRATES {
                if code.contains(&format!("{krate}::")) {
                    violations.push(format!("{}: uses the {krate} crate", rel.display()));
                }
            }
        }
    }
    violations.sort();
    violations.dedup();
    assert!(
        violations.is_empty(),
        "lower layers reach up:\n{}",
        violations.join("\n")
    );
}
