//! `autosec eval detect` and `autosec eval rag`.

use anyhow::Result;

use std::path::Path;

use crate::cli::{EvalDetectArgs, EvalRagArgs};
use crate::config::Config;
use crate::config::Ranking;
use crate::eval::{detect, rag};
use crate::sanitize::visible;
use crate::store::Store;

pub fn detect(config: &Config, args: &EvalDetectArgs) -> Result<u8> {
    let report = detect::run(
        config,
        &args.labels,
        &args.paths,
        args.flow_features_out.as_deref(),
    )?;
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
    if let Some(auc) = report.flow_forest_auc {
        println!(
            "Isolation Forest on flow rows alone ({} flows): ROC-AUC {auc:.3}",
            report.flows
        );
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

pub fn rag(config: &Config, data_dir: &Path, args: &EvalRagArgs) -> Result<u8> {
    let queries = if args.sigma {
        let (queries, skipped) = rag::sigma_queries(&args.queries)?;
        if skipped > 0 {
            eprintln!("{skipped} files are not Sigma rules with a technique tag (left out)");
        }
        queries
    } else {
        rag::load_queries(&args.queries)?
    };
    let store = Store::open(data_dir, config.storage.cache_mb)?;
    let intel = super::intel::open_ready(config, data_dir, &store)?;
    let rankings = match args.ranking {
        Some(r) => vec![r],
        None => vec![Ranking::Hybrid, Ranking::Vector, Ranking::Lexical],
    };
    let report = rag::run(&intel, &queries, &rankings)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(0);
    }
    if let Some(m) = report.modes.first()
        && m.unanswerable > 0
    {
        println!(
            "{} queries expect techniques the corpus does not hold (left out)",
            m.unanswerable
        );
    }
    println!(
        "{} queries over {} documents ({} techniques); embedding model: {}",
        report.modes.first().map_or(queries.len(), |m| m.queries),
        report.documents,
        report.techniques,
        report.model
    );
    println!(
        "{:<8} {:>7} {:>7} {:>10} {:>7}",
        "ranking", "hit@1", "hit@3", "family@3", "MRR"
    );
    for m in &report.modes {
        println!(
            "{:<8} {:>7.3} {:>7.3} {:>10.3} {:>7.3}",
            m.ranking.as_str(),
            m.hit_at_1,
            m.hit_at_3,
            m.family_hit_at_3,
            m.mrr
        );
    }
    if let Some(first) = report.modes.first() {
        println!("{} misses (not in the top 3):", first.ranking.as_str());
        for m in &first.misses {
            println!(
                "  expected {} got {} (rank {}): {}",
                m.expected.join("/"),
                m.got.join(", "),
                m.rank.map_or("-".to_string(), |r| r.to_string()),
                visible(&m.query)
            );
        }
    }
    Ok(0)
}
