//! `autosec fleet`: the merged queues of every engine on a NATS bus, and decisions sent to
//! the engine that owns the action.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result};

use super::actions::whoami;
use crate::bus::fleet::{self, FleetView};
use crate::bus::publish::ControlRequest;
use crate::cli::{FleetArgs, FleetCommand};
use crate::config::bus::{Credentials, Urls};
use crate::sanitize::visible;

pub fn fleet(args: &FleetArgs) -> Result<u8> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: &FleetArgs) -> Result<u8> {
    let client = crate::bus::connect(
        &Urls::One(args.nats.clone()),
        &Credentials::default(),
        "autosec fleet",
    )
    .await?;
    let wait = Duration::from_millis(args.wait_ms);
    let view = FleetView::merge(fleet::discover(&client, &args.prefix, wait).await?);
    let Some(cmd) = &args.command else {
        print_view(&view, args.json)?;
        return Ok(0);
    };
    let (id, engine, req) = match cmd {
        FleetCommand::Approve {
            id,
            engine,
            reason,
            confirm_closed,
            by,
        } => (
            *id,
            engine,
            ControlRequest::Approve {
                action_id: *id,
                by: whoami(by),
                reason: reason.clone(),
                confirm_closed: *confirm_closed,
            },
        ),
        FleetCommand::Reject {
            id,
            engine,
            reason,
            by,
        } => (
            *id,
            engine,
            ControlRequest::Reject {
                action_id: *id,
                by: whoami(by),
                reason: reason.clone(),
            },
        ),
        FleetCommand::Rollback { id, engine, by } => (
            *id,
            engine,
            ControlRequest::Rollback {
                action_id: *id,
                by: whoami(by),
            },
        ),
    };
    let owner = match engine {
        Some(e) => e.clone(),
        None => view.owner_of_action(id)?.to_string(),
    };
    let answer = fleet::control(&client, &args.prefix, &owner, &req)
        .await
        .with_context(|| format!("action {id} on engine {owner}"))?;
    if args.json {
        println!("{answer}");
    } else {
        let state = answer["state"].as_str().unwrap_or("?");
        println!("{owner}: action {id} is {state}");
    }
    Ok(0)
}

fn print_view(view: &FleetView, json: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let body = serde_json::json!({
            "engines": view.engines,
            "alerts": view.alerts.iter().map(|a| serde_json::json!({"engine": a.engine, "alert": a.item})).collect::<Vec<_>>(),
            "actions": view.actions.iter().map(|a| serde_json::json!({"engine": a.engine, "action": a.item})).collect::<Vec<_>>(),
        });
        writeln!(out, "{body}")?;
        return Ok(());
    }
    writeln!(out, "engines: {}", view.engines.join(", "))?;
    writeln!(
        out,
        "{:<16} {:>6}  {:<9} {:<22} {:<24} EVENTS",
        "ENGINE", "ALERT", "SEVERITY", "THREAT", "ENTITY"
    )?;
    for a in &view.alerts {
        let al = &a.item;
        writeln!(
            out,
            "{:<16} {:>6}  {:<9} {:<22} {:<24} {}",
            visible(&a.engine),
            al.alert_id,
            al.severity.as_str(),
            al.threat_type.as_str(),
            visible(&al.entity),
            al.event_count
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<16} {:>6}  {:>6}  {:<6} {:<19} {:<16} TARGET",
        "ENGINE", "ACTION", "ALERT", "TIER", "KIND", "STATE"
    )?;
    for a in &view.actions {
        let ac = &a.item;
        writeln!(
            out,
            "{:<16} {:>6}  {:>6}  {:<6} {:<19} {:<16} {}",
            visible(&a.engine),
            ac.action_id,
            ac.alert_id,
            ac.tier.as_str(),
            ac.kind.as_str(),
            ac.state.as_str(),
            visible(&ac.target.value())
        )?;
    }
    Ok(())
}
