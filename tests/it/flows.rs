//! Network flows end to end on public data we did not write: the CICIDS2017 sample in
//! `../shared/data/cicids` (Engelen, Rimmer, Joosen 2021; Sharafaldin et al. 2018). Only the
//! tuning half (rows with an even `id`) is tested; the odd half is measured in README and
//! never tested against. Skips with a message when the data is absent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::Env;

/// Attack classes whose traffic shape a flow record shows (README, "Network flows").
const VISIBLE: &[&str] = &[
    "Botnet",
    "DDoS",
    "DoS GoldenEye",
    "DoS Hulk",
    "DoS Slowhttptest",
    "DoS Slowloris",
    "FTP-Patator",
    "SSH-Patator",
    "Portscan",
    "Infiltration - Portscan",
];

fn cicids() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cicids");
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping: {} not present", p.display());
        None
    }
}

/// The tuning half of every file, sorted by time as an exporter writes it, and its labels in
/// the `eval detect` format (one incident per class). Returns (rows, logs dir, labels file).
fn tuning_half(src: &Path, env: &Env) -> (usize, PathBuf, PathBuf) {
    let logs = env.path("cicids");
    std::fs::create_dir_all(&logs).expect("dir");
    let mut labels = String::new();
    let mut total = 0;
    for entry in std::fs::read_dir(src).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "csv") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read csv");
        let mut lines = text.lines();
        let header = lines.next().expect("header");
        let col = |name: &str| {
            header
                .split(',')
                .position(|h| h.trim() == name)
                .expect("column")
        };
        let (id, ts, label) = (col("id"), col("Timestamp"), col("Label"));
        // The sample's rows carry no quoted commas: a plain split is exact here.
        let mut rows: Vec<Vec<&str>> = lines
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|r| r[id].parse::<u64>().is_ok_and(|i| i % 2 == 0))
            .collect();
        rows.sort_by(|a, b| a[ts].cmp(b[ts]));
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        let mut out = format!("{header}\n");
        for (i, r) in rows.iter().enumerate() {
            out.push_str(&r.join(","));
            out.push('\n');
            let class = r[label].trim();
            if class != "BENIGN" {
                let family = if class.ends_with("Patator") {
                    "brute_force"
                } else {
                    "network_anomaly"
                };
                labels.push_str(
                    &serde_json::json!({"source": name, "line": i + 2,
                        "scenario": format!("{family}:{class}"), "entity": ""})
                    .to_string(),
                );
                labels.push('\n');
            }
        }
        total += rows.len();
        std::fs::write(logs.join(&name), out).expect("write");
    }
    let labels_path = env.path("cicids.labels.jsonl");
    std::fs::write(&labels_path, labels).expect("labels");
    (total, logs, labels_path)
}

#[test]
fn cicids_every_row_is_stored_and_the_classes_flows_show_are_found() {
    let Some(src) = cicids() else { return };
    let env = Env::new();
    let (rows, logs, labels) = tuning_half(&src, &env);
    let config = autosec::config::Config::defaults().expect("defaults");
    let report = autosec::eval::detect::run(&config, &labels, &[logs.display().to_string()], None)
        .expect("eval");
    assert_eq!(report.events as usize, rows, "every row stored");
    assert_eq!(report.flows, rows, "every row is a flow");
    assert_eq!(report.labels_unmatched, 0);
    let fused = report
        .modes
        .iter()
        .find(|m| m.mode == "fused")
        .expect("fused");
    let per_class: BTreeMap<&str, bool> = fused
        .per_scenario
        .iter()
        .map(|(k, v)| {
            (
                k.split_once(':').map_or(k.as_str(), |(_, c)| c),
                v.found > 0,
            )
        })
        .collect();
    let found = VISIBLE
        .iter()
        .filter(|c| per_class.get(*c) == Some(&true))
        .count();
    assert!(
        found * 10 >= VISIBLE.len() * 8,
        "{found}/{} visible classes found: {per_class:?}",
        VISIBLE.len()
    );
    assert!(
        fused.alert_precision >= 0.9,
        "precision {} ({} of {} alerts cite attack flows)",
        fused.alert_precision,
        fused.alerts_citing_attacks,
        fused.alerts
    );
}
