//! `autosec alerts`: list, acknowledge and close alerts.

use std::path::Path;

use std::io::Write;

use anyhow::{Result, bail};

use crate::cli::{AlertsArgs, AlertsCommand};
use crate::config::Config;
use crate::domain::{Alert, AlertStatus, Severity};
use crate::sanitize::visible;
use crate::store::Store;
use crate::store::stored_alerts;

pub fn alerts(config: &Config, data_dir: &Path, args: &AlertsArgs) -> Result<u8> {
    let store = Store::open(data_dir, config.storage.cache_mb)?;
    match &args.command {
        None => list(&store, args),
        Some(AlertsCommand::Ack { id }) => set_status(&store, *id, AlertStatus::Acknowledged, None),
        Some(AlertsCommand::Close { id, reason }) => {
            set_status(&store, *id, AlertStatus::Closed, Some(*reason))
        }
    }
}

fn list(store: &Store, args: &AlertsArgs) -> Result<u8> {
    let mut alerts = stored_alerts(store)?;
    if let Some(status) = args.status {
        alerts.retain(|a| a.status == status);
    }
    if let Some(min) = args.min_severity {
        alerts.retain(|a| a.severity >= min);
    }
    print(&alerts, args.json)
}

/// The alert table (or JSON lines), for the store's alerts or the owner's.
pub(super) fn print(alerts: &[Alert], json: bool) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    if json {
        for a in alerts {
            writeln!(out, "{}", serde_json::to_string(a)?)?;
        }
        return Ok(0);
    }
    writeln!(
        out,
        "{:>5}  {:<8}  {:>4}  {:<20}  {:<24}  {:>6}  {:<20}  STATUS",
        "ID", "SEVERITY", "CONF", "THREAT", "ENTITY", "EVENTS", "LAST SEEN"
    )?;
    for a in alerts {
        writeln!(
            out,
            "{:>5}  {:<8}  {:>4.2}  {:<20}  {:<24}  {:>6}  {:<20}  {}",
            a.alert_id,
            a.severity.as_str(),
            a.confidence,
            a.threat_type.as_str(),
            visible(&truncate(&a.entity, 24)),
            a.event_count,
            a.last_seen.format("%Y-%m-%d %H:%M:%S"),
            match a.status {
                AlertStatus::Open => "open",
                AlertStatus::Acknowledged => "ack",
                AlertStatus::Closed => "closed",
            }
        )?;
        writeln!(
            out,
            "       {} [{}]",
            visible(&a.description),
            a.matched_techniques.join(", ")
        )?;
        for r in &a.rules {
            writeln!(
                out,
                "       rule: {} ({}, {})",
                visible(&r.title),
                r.level,
                visible(&r.id)
            )?;
        }
    }
    let by = |s: Severity| alerts.iter().filter(|a| a.severity == s).count();
    writeln!(
        out,
        "{} alert(s): {} critical, {} high, {} medium, {} low",
        alerts.len(),
        by(Severity::Critical),
        by(Severity::High),
        by(Severity::Medium),
        by(Severity::Low)
    )?;
    Ok(0)
}

fn set_status(
    store: &Store,
    id: u64,
    status: AlertStatus,
    reason: Option<crate::domain::CloseReason>,
) -> Result<u8> {
    let changed = crate::store::update_alert(store, id, |a| {
        a.status = status;
        a.close_reason = reason;
    })?;
    if changed.is_none() {
        bail!("no alert with id {id} (see `autosec alerts`)");
    }
    store.flush()?;
    println!("alert {id}: {}", status_word(status));
    Ok(0)
}

pub(super) fn status_word(status: AlertStatus) -> &'static str {
    match status {
        AlertStatus::Closed => "closed",
        AlertStatus::Acknowledged => "acknowledged",
        AlertStatus::Open => "open",
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let head: String = s.chars().take(max - 1).collect();
    format!("{head}…")
}
