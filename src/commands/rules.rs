//! `autosec rules list | check | test`: what rule authors and operators ask of the rules.

use std::path::Path;
use tokio_util::sync::CancellationToken;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::cli::RulesCommand;
use crate::config::Config;
use crate::detect::rules::{RuleSet, RuleSource};
use crate::ingest::{self, IngestOptions};
use crate::privacy::{Redactor, VaultKeys};
use crate::sanitize::visible;
use crate::store::Store;

pub fn rules(config: &Config, privacy_flag: bool, cmd: &RulesCommand) -> Result<u8> {
    match cmd {
        RulesCommand::List { json } => list(config, *json),
        RulesCommand::Check { path, json } => check(path, *json),
        RulesCommand::Test {
            rule,
            log,
            format,
            json,
        } => test(
            config,
            privacy_flag && config.privacy.enabled,
            rule,
            log,
            format.forced(),
            *json,
        ),
    }
}

fn list(config: &Config, json: bool) -> Result<u8> {
    let set = RuleSet::shared(&config.detect);
    if json {
        println!("{}", serde_json::to_string_pretty(set.rules())?);
        return Ok(0);
    }
    println!(
        "{:<36}  {:<13}  {:<20}  {:<24}  TITLE",
        "ID", "LEVEL", "LOGSOURCE", "TECHNIQUES"
    );
    for r in set.rules() {
        let source = match &r.service {
            Some(s) => format!("{}/{s}", r.product),
            None => r.product.clone(),
        };
        println!(
            "{:<36}  {:<13}  {:<20}  {:<24}  {}",
            visible(&r.id),
            r.level,
            visible(&source),
            r.techniques.join(","),
            visible(&r.title)
        );
    }
    let report = set.report();
    eprintln!(
        "{} rules loaded, {} failed (autosec rules check DIR shows why)",
        report.loaded,
        report.failed.len()
    );
    Ok(0)
}

fn check(path: &Path, json: bool) -> Result<u8> {
    let set = RuleSet::load(&[RuleSource::Path(path.to_path_buf())]);
    let report = set.report();
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} rules loaded, {} failed",
            report.loaded,
            report.failed.len()
        );
        for f in &report.failed {
            println!("  {}: {}", visible(&f.file), visible(&f.reason));
        }
    }
    Ok(if report.loaded == 0 && !report.failed.is_empty() {
        1
    } else {
        0
    })
}

/// A record the rule matched.
#[derive(Debug, Serialize)]
struct TestMatch {
    source: String,
    line: Option<u64>,
    record_id: Option<String>,
    action: String,
    user: Option<String>,
    source_ip: Option<String>,
}

/// Ingest LOGFILE into a throwaway store with only RULE loaded (no pack, no detection) and
/// list the stored records that carry its match: the same parsers and the same evaluation
/// point as a real ingest.
fn test(
    config: &Config,
    privacy: bool,
    rule: &Path,
    log: &str,
    format: Option<crate::domain::Format>,
    json: bool,
) -> Result<u8> {
    let set = RuleSet::load(&[RuleSource::Path(rule.to_path_buf())]);
    let report = set.report();
    for f in &report.failed {
        eprintln!("{}: {}", visible(&f.file), visible(&f.reason));
    }
    if set.is_empty() {
        anyhow::bail!(
            "no rule loaded from {}",
            visible(&rule.display().to_string())
        );
    }
    let mut config = config.clone();
    config.detect.rules = false;
    config.detect.rule_dirs = vec![rule.display().to_string()];
    let tmp = tempfile::tempdir().context("temporary store")?;
    let store = Store::open(&tmp.path().join("data"), config.storage.cache_mb)?;
    let redactor = if privacy {
        Some(Redactor::over_store(
            VaultKeys::load_or_create(&tmp.path().join("vault.key"))?,
            &store,
            config.privacy.cache_entries,
            config.privacy.keep_accounts.clone(),
        ))
    } else {
        None
    };
    let opts = IngestOptions {
        paths: vec![log.to_string()],
        format,
        ..Default::default()
    };
    let summary = ingest::run(&store, redactor, &config, &opts, CancellationToken::new())?;
    let mut matches = Vec::new();
    for ev in store.iter_events() {
        let ev = ev?;
        if ev.rules.is_empty() {
            continue;
        }
        matches.push(TestMatch {
            source: ev.origin.source,
            line: ev.origin.line,
            record_id: ev.origin.record_id,
            action: ev.action,
            user: ev.user_id,
            source_ip: ev.source_ip,
        });
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "rules": set.rules(),
                "records": summary.events,
                "rejected": summary.rejected,
                "matches": matches,
            }))?
        );
    } else {
        for m in &matches {
            let place = match (m.line, &m.record_id) {
                (_, Some(id)) => format!("{}#{id}", m.source),
                (Some(l), None) => format!("{}:{l}", m.source),
                (None, None) => m.source.clone(),
            };
            println!(
                "{}  {}  user={} ip={}",
                visible(&place),
                visible(&m.action),
                visible(m.user.as_deref().unwrap_or("-")),
                visible(m.source_ip.as_deref().unwrap_or("-"))
            );
        }
        println!(
            "{} of {} records match ({} rejected)",
            matches.len(),
            summary.events,
            summary.rejected
        );
    }
    Ok(if matches.is_empty() { 1 } else { 0 })
}
