//! `autosec eval detect`.

use anyhow::Result;

use crate::cli::EvalDetectArgs;
use crate::config::Config;
use crate::eval::detect;

pub fn detect(config: &Config, args: &EvalDetectArgs) -> Result<u8> {
    let report = detect::run(config, &args.labels, &args.paths)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(0);
    }
    println!(
        "{} events ingested in {:.1}s; {} labelled events ({} not found in the input)",
        report.events, report.ingest_seconds, report.labelled_events, report.labels_unmatched
    );
    if let Some(auc) = report.forest_event_auc {
        println!("Isolation Forest: per-event ROC-AUC against the labels {auc:.3}");
    }
    println!(
        "{:<10} {:>9} {:>9} {:>7} {:>9} {:>7} {:>7} {:>7} {:>9} {:>11}",
        "mode",
        "incidents",
        "recall",
        "alerts",
        "precision",
        "ev-P",
        "ev-R",
        "ev-F1",
        "delay-med",
        "false>low"
    );
    for m in &report.modes {
        println!(
            "{:<10} {:>4}/{:<4} {:>9.3} {:>7} {:>9.3} {:>7.3} {:>7.3} {:>7.3} {:>8.0}s {:>11}",
            m.mode,
            m.incidents_found,
            m.incidents,
            m.incident_recall,
            m.alerts,
            m.alert_precision,
            m.event_precision,
            m.event_recall,
            m.event_f1,
            m.detect_delay_median_s,
            m.false_alerts_above_low
        );
    }
    if let Some(fused) = report.modes.iter().find(|m| m.mode == "fused") {
        println!("fused, per scenario:");
        for (name, s) in &fused.per_scenario {
            println!("  {:<22} {}/{} found", name, s.found, s.incidents);
        }
        let by: Vec<String> = fused
            .alerts_by_threat
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        println!("  alerts by threat: {}", by.join(", "));
    }
    Ok(0)
}
