//! Reading rule files: the embedded pack and rule folders, per-file and per-rule failures
//! with the reason named, logsource routing checked before a rule is compiled.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use include_dir::{Dir, include_dir};
use rsigma_parser::{SigmaCollection, SigmaRule, parse_sigma_yaml};
use serde::Serialize;

use super::index::RouteEngines;
use super::{RuleInfo, RuleSet, techniques_of, threat_of};
use crate::config::DetectConfig;

/// Our own rule pack, written for AutoSec in Sigma format (never SigmaHQ's text): the rule
/// folders only (the coverage table beside them stays out of the binary).
static PACK: [Dir<'_>; 2] = [
    include_dir!("$CARGO_MANIFEST_DIR/datasets/rules/cloudtrail"),
    include_dir!("$CARGO_MANIFEST_DIR/datasets/rules/linux"),
];

/// Files larger than this are refused (a rule is a few KiB).
const MAX_RULE_FILE: u64 = 1024 * 1024;

/// Where rules come from.
#[derive(Debug, Clone)]
pub enum RuleSource {
    /// The embedded pack.
    Builtin,
    /// A folder read recursively (`*.yml`, `*.yaml`), or one file.
    Path(PathBuf),
}

impl RuleSource {
    pub fn for_config(cfg: &DetectConfig) -> Vec<RuleSource> {
        let mut out = Vec::new();
        if cfg.rules {
            out.push(RuleSource::Builtin);
        }
        out.extend(
            cfg.rule_dirs
                .iter()
                .map(|d| RuleSource::Path(PathBuf::from(d))),
        );
        out
    }
}

/// A file or rule that did not load, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuleFailure {
    pub file: String,
    pub reason: String,
}

/// One rule file's text, or why it could not be read.
struct RuleFile {
    name: String,
    text: Result<String, String>,
}

fn builtin_files() -> Vec<RuleFile> {
    let mut out = Vec::new();
    let mut stack: Vec<&Dir<'_>> = PACK.iter().collect();
    while let Some(dir) = stack.pop() {
        for file in dir.files() {
            if is_rule_file(file.path()) {
                out.push(RuleFile {
                    name: format!("builtin:{}", file.path().display()),
                    text: file
                        .contents_utf8()
                        .map(str::to_string)
                        .ok_or_else(|| "not UTF-8".to_string()),
                });
            }
        }
        stack.extend(dir.dirs());
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn is_rule_file(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml"))
}

/// The texts of the rule files under `path` (a file, or a folder walked in name order; hidden
/// entries skipped), each named by its path or with why it could not be read.
pub fn rule_texts(path: &Path) -> Vec<(String, Result<String, String>)> {
    let (mut files, mut failed) = (Vec::new(), Vec::new());
    path_files(path, &mut files, &mut failed);
    files
        .into_iter()
        .map(|f| (f.name, f.text))
        .chain(failed.into_iter().map(|f| (f.file, Err(f.reason))))
        .collect()
}

fn path_files(root: &Path, out: &mut Vec<RuleFile>, failed: &mut Vec<RuleFailure>) {
    let name = root.display().to_string();
    let meta = match std::fs::metadata(root) {
        Ok(m) => m,
        Err(e) => {
            failed.push(RuleFailure {
                file: name,
                reason: format!("cannot read: {e}"),
            });
            return;
        }
    };
    if meta.is_file() {
        let text = if meta.len() > MAX_RULE_FILE {
            Err(format!(
                "file of {} bytes is over the 1 MiB rule limit",
                meta.len()
            ))
        } else {
            std::fs::read_to_string(root).map_err(|e| format!("cannot read: {e}"))
        };
        out.push(RuleFile { name, text });
        return;
    }
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) => {
            failed.push(RuleFailure {
                file: name,
                reason: format!("cannot read folder: {e}"),
            });
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if p.is_dir() || is_rule_file(&p) {
            path_files(&p, out, failed);
        }
    }
}

/// Why a rule's logsource has no records in AutoSec, if it has none.
fn unroutable(rule: &SigmaRule) -> Option<String> {
    let ls = &rule.logsource;
    let product = ls.product.as_deref().map(str::to_ascii_lowercase);
    let describe = || {
        let parts: Vec<String> = [
            ("product", &ls.product),
            ("service", &ls.service),
            ("category", &ls.category),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
        .collect();
        parts.join(", ")
    };
    if ls.category.is_some() {
        return Some(format!(
            "unsupported logsource ({}): AutoSec reads CloudTrail and syslog/auth lines, not category-based telemetry",
            describe()
        ));
    }
    match product.as_deref() {
        Some("aws") => match ls
            .service
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("cloudtrail") => None,
            Some(_) => Some(format!(
                "unsupported logsource ({}): of AWS, only CloudTrail is read",
                describe()
            )),
        },
        Some("linux") => None,
        _ => Some(format!(
            "unsupported logsource ({}): AutoSec maps product aws (service cloudtrail) and product linux",
            describe()
        )),
    }
}

fn route_key(rule: &SigmaRule) -> (String, Option<String>) {
    let ls = &rule.logsource;
    (
        ls.product.as_deref().unwrap_or("").to_ascii_lowercase(),
        ls.service.as_deref().map(str::to_ascii_lowercase),
    )
}

fn info(rule: &SigmaRule, id: String, file: &str) -> RuleInfo {
    let techniques = techniques_of(&rule.tags);
    RuleInfo {
        id,
        title: rule.title.clone(),
        description: rule.description.clone().unwrap_or_default(),
        level: rule
            .level
            .as_ref()
            .map_or("medium", |l| l.as_str())
            .to_string(),
        threat: threat_of(&rule.tags, &techniques),
        techniques,
        tags: rule.tags.clone(),
        falsepositives: rule.falsepositives.clone(),
        references: rule.references.clone(),
        product: rule.logsource.product.clone().unwrap_or_default(),
        service: rule.logsource.service.clone(),
        file: file.to_string(),
    }
}

pub(super) fn load(sources: &[RuleSource]) -> RuleSet {
    let mut failed = Vec::new();
    let mut files = Vec::new();
    for source in sources {
        match source {
            RuleSource::Builtin => files.extend(builtin_files()),
            RuleSource::Path(p) => path_files(p, &mut files, &mut failed),
        }
    }
    let mut set = RuleSet::empty();
    let mut filters = Vec::new();
    for file in files {
        let text = match file.text {
            Ok(t) => t,
            Err(reason) => {
                failed.push(RuleFailure {
                    file: file.name,
                    reason,
                });
                continue;
            }
        };
        let collection: SigmaCollection = match parse_sigma_yaml(&text) {
            Ok(c) => c,
            Err(e) => {
                failed.push(RuleFailure {
                    file: file.name,
                    reason: format!("not a Sigma rule: {e}"),
                });
                continue;
            }
        };
        for e in &collection.errors {
            failed.push(RuleFailure {
                file: file.name.clone(),
                reason: e.clone(),
            });
        }
        for c in &collection.correlations {
            failed.push(RuleFailure {
                file: file.name.clone(),
                reason: format!(
                    "correlation rule \"{}\" is not run: correlations are not supported yet (AutoSec's own windows do thresholds)",
                    c.title
                ),
            });
        }
        filters.extend(collection.filters.iter().cloned());
        for mut rule in collection.rules {
            if let Some(reason) = unroutable(&rule) {
                failed.push(RuleFailure {
                    file: file.name.clone(),
                    reason,
                });
                continue;
            }
            // Results name rules by id: a rule without one gets its file and title.
            let id = rule
                .id
                .clone()
                .unwrap_or_else(|| format!("{}#{}", file.name, rule.title));
            if set.by_id.contains_key(&id) {
                failed.push(RuleFailure {
                    file: file.name.clone(),
                    reason: format!("duplicate rule id {id} (the first one loaded is kept)"),
                });
                continue;
            }
            rule.id = Some(id.clone());
            let route = set.engines.entry(route_key(&rule)).or_default();
            if let Err(e) = route.add(&rule) {
                failed.push(RuleFailure {
                    file: file.name.clone(),
                    reason: format!("rule \"{}\": {e}", rule.title),
                });
                continue;
            }
            let info = Arc::new(info(&rule, id.clone(), &file.name));
            set.by_id.insert(id, info.clone());
            set.rules.push(info);
        }
    }
    apply_filters(&mut set.engines, &filters, &mut failed);
    set.failed = failed;
    set
}

fn apply_filters(
    engines: &mut HashMap<(String, Option<String>), RouteEngines>,
    filters: &[rsigma_parser::FilterRule],
    failed: &mut Vec<RuleFailure>,
) {
    for filter in filters {
        for engine in engines.values_mut().flat_map(RouteEngines::all_mut) {
            if let Err(e) = engine.apply_filter(filter) {
                failed.push(RuleFailure {
                    file: filter.title.clone(),
                    reason: format!("filter: {e}"),
                });
                break;
            }
        }
    }
}
