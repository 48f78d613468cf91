//! `eval detect`: ingest labelled logs into a temporary store, run detection three ways
//! (detectors alone, forest alone, fused) and score each against the labels.
//!
//! Labels: JSON lines `{"source", "line" | "record_id", "scenario", "entity"}`; `source`
//! matches an event whose path ends with it; an incident is (scenario, entity). An incident is
//! found when an alert of the scenario's threat family cites one of its events (for the forest
//! alone, whose alerts carry no family, any alert citing one counts).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use tokio_util::sync::CancellationToken;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::detect::engine::flow_row_features;
use crate::detect::iforest::{ForestParams, IsolationForest};
use crate::detect::{Detection, Mode, replay::replay};
use crate::domain::EventRef;
use crate::domain::{Alert, Severity, ThreatType};
use crate::ingest::{self, IngestOptions};
use crate::privacy::{Redactor, VaultKeys};
use crate::store::Store;

#[derive(Debug, Clone, Deserialize)]
pub struct Label {
    pub source: String,
    #[serde(default)]
    pub line: Option<u64>,
    #[serde(default)]
    pub record_id: Option<String>,
    pub scenario: String,
    #[serde(default)]
    pub entity: String,
}

/// Scores of one detection mode.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ModeReport {
    pub mode: String,
    pub incidents: usize,
    pub incidents_found: usize,
    pub incident_recall: f64,
    pub alerts: usize,
    pub alerts_citing_attacks: usize,
    pub alert_precision: f64,
    pub event_precision: f64,
    pub event_recall: f64,
    pub event_f1: f64,
    /// Seconds from an incident's first event to the alert that found it.
    pub detect_delay_median_s: f64,
    pub detect_delay_max_s: f64,
    /// Alerts above low severity that cite no attack event.
    pub false_alerts_above_low: usize,
    pub per_scenario: BTreeMap<String, ScenarioReport>,
    pub alerts_by_threat: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ScenarioReport {
    pub incidents: usize,
    pub found: usize,
    pub recall: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub events: u64,
    pub labelled_events: usize,
    pub labels_unmatched: usize,
    pub ingest_seconds: f64,
    /// ROC-AUC of the forest's per-event scores against the labels (smartcore).
    pub forest_event_auc: Option<f64>,
    /// Flow records, and the mean ROC-AUC (five seeds) of forests trained on their row
    /// features alone (every flow, the configured trees and sample size): the figure to
    /// compare with scikit-learn's `IsolationForest` on the same rows (`--flow-features-out`).
    pub flows: usize,
    pub flow_forest_auc: Option<f64>,
    pub modes: Vec<ModeReport>,
}

/// Threat families: an alert of the right family finds an incident. A scenario may name a
/// case after its family (`network_anomaly:DDoS`): each case is reported on its own.
pub fn family(threat: &str) -> &str {
    let threat = threat.split_once(':').map_or(threat, |(f, _)| f);
    match threat {
        "brute_force" | "password_spraying" | "credential_stuffing" => "credential_access",
        "privilege_escalation" | "persistence" => "privilege",
        other => other,
    }
}

pub fn run(
    config: &Config,
    labels_path: &Path,
    paths: &[String],
    flow_features_out: Option<&Path>,
) -> Result<EvalReport> {
    let labels = read_labels(labels_path)?;
    let tmp = tempfile::tempdir().context("temporary store")?;
    let store = Store::open(&tmp.path().join("data"), config.storage.cache_mb)?;
    let keys = VaultKeys::load_or_create(&tmp.path().join("vault.key"))?;
    let redactor = config.privacy.enabled.then(|| {
        Redactor::over_store(
            keys,
            &store,
            config.privacy.cache_entries,
            config.privacy.keep_accounts.clone(),
        )
    });
    let opts = IngestOptions {
        paths: paths.to_vec(),
        ..Default::default()
    };
    let summary = ingest::run(&store, redactor, config, &opts, CancellationToken::new())?;

    // Which stored events are labelled, and when each happened.
    let index = LabelIndex::new(&labels);
    let mut event_label: HashMap<EventKey, usize> = HashMap::new();
    let mut first_ts: HashMap<(String, String), i64> = HashMap::new();
    let mut flow_rows: Vec<(Vec<f32>, bool)> = Vec::new();
    replay(&store, 1, |source, v| {
        let r = crate::detect::alerts::event_ref(source, v);
        if v.kind == crate::domain::EventKind::Flow {
            flow_rows.push((flow_row_features(&v.flow), index.find(&r).is_some()));
        }
        if let Some(i) = index.find(&r) {
            event_label.insert(EventKey::of(&r), i);
            let l = &labels[i];
            let e = first_ts
                .entry((l.scenario.clone(), l.entity.clone()))
                .or_insert(v.ts);
            *e = (*e).min(v.ts);
        }
    })?;
    let mut modes = Vec::new();
    let mut forest_auc = None;
    for mode in [Mode::DetectorsOnly, Mode::ForestOnly, Mode::Fused] {
        let mut truth = Vec::new();
        let mut scores = Vec::new();
        let (detection, _) =
            Detection::start_scored(&store, &config.detect, 1, mode, |source, v, score| {
                if mode == Mode::ForestOnly {
                    let r = crate::detect::alerts::event_ref(source, v);
                    truth.push(if event_label.contains_key(&EventKey::of(&r)) {
                        1.0
                    } else {
                        0.0
                    });
                    scores.push(f64::from(score));
                }
            })?;
        if mode == Mode::ForestOnly && truth.iter().any(|t| *t > 0.0) && truth.contains(&0.0) {
            // smartcore's ROC-AUC: how well the forest ranks attack events above benign ones.
            forest_auc = Some(smartcore::metrics::roc_auc_score(&truth, &scores));
        }
        modes.push(score(
            mode,
            &detection.alerts(),
            &labels,
            &event_label,
            &first_ts,
        ));
    }
    let flow_forest_auc = flow_forest_auc(config, &flow_rows)?;
    if let Some(path) = flow_features_out {
        write_flow_features(path, &flow_rows)?;
    }
    let labelled_events = labels.len();
    Ok(EvalReport {
        flows: flow_rows.len(),
        flow_forest_auc,
        events: summary.events,
        labelled_events,
        labels_unmatched: labelled_events.saturating_sub(event_label.len()),
        ingest_seconds: summary.seconds,
        forest_event_auc: forest_auc,
        modes,
    })
}

/// Forests over every flow's row features, scored on the same rows (as scikit-learn's `fit`
/// then `score_samples` on one matrix), against the labels: the mean ROC-AUC of five seeds
/// (the configured one and the next four), since one seed's figure moves by ~0.01.
fn flow_forest_auc(config: &Config, rows: &[(Vec<f32>, bool)]) -> Result<Option<f64>> {
    let attacks = rows.iter().filter(|(_, a)| *a).count();
    if attacks == 0 || attacks == rows.len() {
        return Ok(None);
    }
    let x: Vec<Vec<f32>> = rows.iter().map(|(f, _)| f.clone()).collect();
    let truth: Vec<f64> = rows.iter().map(|(_, a)| f64::from(u8::from(*a))).collect();
    let f = &config.detect.forest;
    let mut sum = 0.0;
    const SEEDS: u64 = 5;
    for i in 0..SEEDS {
        let params = ForestParams {
            trees: f.trees,
            sample_size: f.sample_size,
            seed: f.seed.wrapping_add(i),
        };
        let forest = IsolationForest::train(&x, &params).context("flow forest")?;
        let scores: Vec<f64> = forest.score_many(&x).into_iter().map(f64::from).collect();
        sum += smartcore::metrics::roc_auc_score(&truth, &scores);
    }
    Ok(Some(sum / SEEDS as f64))
}

/// `label,f0,f1,…` per flow (names from `domain::flow::FEATURES`; NaN written as `nan`).
fn write_flow_features(path: &Path, rows: &[(Vec<f32>, bool)]) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
    );
    let names: Vec<&str> = crate::domain::flow::FEATURES
        .iter()
        .map(|(n, _)| *n)
        .collect();
    writeln!(out, "attack,{}", names.join(","))?;
    for (x, attack) in rows {
        let cells: Vec<String> = x.iter().map(|v| v.to_string()).collect();
        writeln!(out, "{},{}", u8::from(*attack), cells.join(","))?;
    }
    out.flush()?;
    Ok(())
}

fn read_labels(path: &Path) -> Result<Vec<Label>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read labels {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l)
                .with_context(|| format!("{}: line {}: not a label", path.display(), n + 1))
        })
        .collect()
}

/// An event's identity across labels and alerts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct EventKey(String, Option<u64>, Option<String>);

impl EventKey {
    fn of(r: &EventRef) -> Self {
        EventKey(r.source.to_string(), r.line, r.record_id.clone())
    }
}

/// Labels by record id and by (file name, line); sources match by suffix.
struct LabelIndex<'a> {
    labels: &'a [Label],
    by_record: HashMap<&'a str, Vec<usize>>,
    by_line: HashMap<(&'a str, u64), Vec<usize>>,
}

impl<'a> LabelIndex<'a> {
    fn new(labels: &'a [Label]) -> Self {
        let mut by_record: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_line: HashMap<(&str, u64), Vec<usize>> = HashMap::new();
        for (i, l) in labels.iter().enumerate() {
            if let Some(id) = &l.record_id {
                by_record.entry(id.as_str()).or_default().push(i);
            } else if let Some(line) = l.line {
                by_line
                    .entry((file_name(&l.source), line))
                    .or_default()
                    .push(i);
            }
        }
        LabelIndex {
            labels,
            by_record,
            by_line,
        }
    }

    fn find(&self, r: &EventRef) -> Option<usize> {
        let candidates = match (&r.record_id, r.line) {
            (Some(id), _) => self.by_record.get(id.as_str()),
            (None, Some(line)) => self.by_line.get(&(file_name(&r.source), line)),
            _ => None,
        }?;
        candidates
            .iter()
            .copied()
            .find(|&i| r.source.ends_with(self.labels[i].source.as_str()))
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn score(
    mode: Mode,
    alerts: &[Alert],
    labels: &[Label],
    event_label: &HashMap<EventKey, usize>,
    first_ts: &HashMap<(String, String), i64>,
) -> ModeReport {
    let mut report = ModeReport {
        mode: match mode {
            Mode::Fused => "fused",
            Mode::DetectorsOnly => "detectors",
            Mode::ForestOnly => "forest",
        }
        .to_string(),
        alerts: alerts.len(),
        ..Default::default()
    };
    let incidents: HashSet<(String, String)> = labels
        .iter()
        .map(|l| (l.scenario.clone(), l.entity.clone()))
        .collect();
    let labelled: HashSet<&EventKey> = event_label.keys().collect();
    let mut found: HashMap<(String, String), i64> = HashMap::new();
    let mut cited: HashSet<EventKey> = HashSet::new();
    for a in alerts {
        *report
            .alerts_by_threat
            .entry(a.threat_type.as_str().to_string())
            .or_default() += 1;
        let mut cites_attack = false;
        for r in &a.evidence {
            let k = EventKey::of(r);
            if let Some(&i) = event_label.get(&k) {
                cites_attack = true;
                let l = &labels[i];
                let right_family = matches!(
                    a.threat_type,
                    ThreatType::Anomaly | ThreatType::NetworkAnomaly
                ) && mode == Mode::ForestOnly
                    || family(a.threat_type.as_str()) == family(&l.scenario);
                if right_family {
                    let raised = a.timestamp.timestamp_millis();
                    let e = found
                        .entry((l.scenario.clone(), l.entity.clone()))
                        .or_insert(raised);
                    *e = (*e).min(raised);
                }
            }
            cited.insert(k);
        }
        if cites_attack {
            report.alerts_citing_attacks += 1;
        } else if a.severity > Severity::Low {
            report.false_alerts_above_low += 1;
        }
    }
    report.incidents = incidents.len();
    report.incidents_found = found.len();
    report.incident_recall = ratio(found.len(), incidents.len());
    report.alert_precision = ratio(report.alerts_citing_attacks, alerts.len());
    let tp = cited.iter().filter(|k| labelled.contains(k)).count();
    report.event_precision = ratio(tp, cited.len());
    report.event_recall = ratio(tp, labelled.len());
    let (p, r) = (report.event_precision, report.event_recall);
    report.event_f1 = if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    };
    let mut delays: Vec<f64> = found
        .iter()
        .filter_map(|(k, raised)| {
            first_ts
                .get(k)
                .map(|t0| ((raised - t0).max(0)) as f64 / 1000.0)
        })
        .collect();
    delays.sort_by(|a, b| a.total_cmp(b));
    report.detect_delay_median_s = delays.get(delays.len() / 2).copied().unwrap_or(0.0);
    report.detect_delay_max_s = delays.last().copied().unwrap_or(0.0);
    for (scenario, entity) in &incidents {
        let s = report.per_scenario.entry(scenario.clone()).or_default();
        s.incidents += 1;
        // Label entities are raw values: reported as counts, never printed.
        if found.contains_key(&(scenario.clone(), entity.clone())) {
            s.found += 1;
        }
    }
    for s in report.per_scenario.values_mut() {
        s.recall = ratio(s.found, s.incidents);
    }
    report
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}
