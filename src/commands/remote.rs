//! CLI commands when another process owns the data dir (DESIGN.md, "Process model"): the
//! same commands, answered by the owner over its control socket. Output matches the direct
//! path, since both print with the same functions.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::{actions, alerts};
use crate::api::client::Control;
use crate::cli::{ActionsArgs, ActionsCommand, AlertsArgs, AlertsCommand, AuditCommand};
use crate::domain::{Action, Alert};
use crate::explain::Explanation;
use crate::pipeline::PipelineEvent;
use crate::sanitize::visible;

/// The owner's socket when one answers. A socket file nobody listens on (its owner was
/// killed) does not count: the store is then free to open directly.
pub fn owner(data_dir: &std::path::Path) -> Option<Control> {
    let control = Control::of(data_dir)?;
    std::os::unix::net::UnixStream::connect(control.path())
        .is_ok()
        .then_some(control)
}

/// Run one async exchange with the owner on a small runtime of its own.
fn block_on<T>(f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(f)
}

fn note_owner(control: &Control) {
    eprintln!(
        "autosec: the data dir is owned by a running process; asking it through {}",
        control.path().display()
    );
}

pub fn alerts(control: &Control, args: &AlertsArgs) -> Result<u8> {
    note_owner(control);
    block_on(async {
        match &args.command {
            None => {
                #[derive(serde::Deserialize)]
                struct Page {
                    alerts: Vec<Alert>,
                    next_offset: Option<u64>,
                }
                // The table shows counts only; JSON lines carry every evidence ref, as direct.
                let evidence = if args.json { 100_000 } else { 0 };
                let mut listed: Vec<Alert> = Vec::new();
                let mut offset = 0;
                loop {
                    let mut uri =
                        format!("/api/v1/threats?limit=1000&offset={offset}&evidence={evidence}");
                    if let Some(st) = args.status {
                        uri.push_str(&format!("&status={}", st.as_str()));
                    }
                    if let Some(sev) = args.min_severity {
                        uri.push_str(&format!("&severity={}", sev.as_str()));
                    }
                    let page: Page = control.get_as(&uri).await?;
                    listed.extend(page.alerts);
                    match page.next_offset {
                        Some(next) => offset = next,
                        None => break,
                    }
                }
                listed.sort_by_key(|a| a.alert_id);
                alerts::print(&listed, args.json)
            }
            Some(AlertsCommand::Ack { id }) => {
                triage(control, *id, "ack", json!({})).await?;
                Ok(0)
            }
            Some(AlertsCommand::Close { id, reason }) => {
                triage(control, *id, "close", json!({ "reason": reason })).await?;
                Ok(0)
            }
        }
    })
}

async fn triage(control: &Control, id: u64, op: &str, body: Value) -> Result<()> {
    let alert: Alert = serde_json::from_value(
        control
            .post(&format!("/api/v1/threats/{id}/{op}"), &body)
            .await?,
    )?;
    println!("alert {id}: {}", alerts::status_word(alert.status));
    Ok(())
}

pub fn actions(control: &Control, live: bool, args: &ActionsArgs) -> Result<u8> {
    note_owner(control);
    block_on(async {
        let health = control.get("/health").await?;
        let mode = health["respond"]["mode"].as_str().unwrap_or("sandbox");
        if live && mode != "live" {
            eprintln!(
                "autosec: --live has no effect through the control socket: the owner runs in {} mode",
                mode.to_uppercase()
            );
        }
        let decide = |id: u64, decision: &'static str, body: Value| async move {
            let uri = format!("/api/v1/actions/{id}/{decision}");
            let action: Action = serde_json::from_value(control.post(&uri, &body).await?)?;
            actions::show(&action, args.json)?;
            Ok::<u8, anyhow::Error>(0)
        };
        match &args.command {
            None => {
                let mut uri = "/api/v1/actions".to_string();
                if let Some(state) = args.state {
                    uri.push_str(&format!("?state={}", state.as_str()));
                }
                let list: Vec<Action> =
                    serde_json::from_value(control.get(&uri).await?["actions"].clone())?;
                actions::print_list(mode, &list, args.json)?;
                Ok(0)
            }
            Some(ActionsCommand::Show { id }) => {
                let a: Action =
                    serde_json::from_value(control.get(&format!("/api/v1/actions/{id}")).await?)?;
                actions::show(&a, args.json)?;
                Ok(0)
            }
            Some(ActionsCommand::Approve {
                id,
                reason,
                confirm_closed,
                by,
            }) => {
                let body = json!({ "reason": reason, "confirm_closed": confirm_closed, "by": actions::whoami(by) });
                decide(*id, "approve", body).await
            }
            Some(ActionsCommand::Reject { id, reason, by }) => {
                let body = json!({ "reason": reason, "by": actions::whoami(by) });
                decide(*id, "reject", body).await
            }
            Some(ActionsCommand::Rollback { id, by }) => {
                decide(*id, "rollback", json!({ "by": actions::whoami(by) })).await
            }
        }
    })
}

pub fn audit(control: &Control, command: &AuditCommand) -> Result<u8> {
    note_owner(control);
    block_on(async {
        match command {
            AuditCommand::Verify { json } => {
                let got = control.get("/api/v1/audit?verify=true&limit=1").await?;
                let report = serde_json::from_value(got["verify"].clone())
                    .context("the owner sent no verification report")?;
                actions::print_verify(&report, *json)
            }
            AuditCommand::Export { out } => {
                let mut sink = actions::export_sink(out.as_deref())?;
                let mut after = 0;
                loop {
                    let page = control
                        .get(&format!("/api/v1/audit?after={after}&limit=10000"))
                        .await?;
                    for r in page["records"].as_array().into_iter().flatten() {
                        writeln!(sink, "{r}")?;
                    }
                    match page["next_after"].as_u64() {
                        Some(next) => after = next,
                        None => break,
                    }
                }
                sink.flush()?;
                Ok(0)
            }
        }
    })
}

/// `explain` through the owner: the grounded text at once, then the owner's model streaming
/// its draft (read off the event stream) and the verified text.
pub fn explain(
    control: &Control,
    alert_id: u64,
    json_out: bool,
    regenerate: bool,
    wait: Duration,
) -> Result<u8> {
    note_owner(control);
    block_on(async {
        let body = json!({ "alert_id": alert_id, "regenerate": regenerate });
        if json_out {
            let uri = format!("/api/v1/analyze?wait={}", wait.as_secs());
            let answer = control.post(&uri, &body).await?;
            println!("{}", serde_json::to_string_pretty(&answer["explanation"])?);
            return Ok(0);
        }
        // Subscribe before asking, so no draft token is missed.
        let mut events = control.stream("/api/v1/stream?replay=false").await?;
        let answer = control.post("/api/v1/analyze", &body).await?;
        let e: Explanation = serde_json::from_value(answer["explanation"].clone())?;
        print!("{}", crate::explain::render_text(&e));
        let backend = answer["model"]["backend"]
            .as_str()
            .unwrap_or("")
            .to_string();
        match answer["model"]["status"].as_str() {
            Some("done") => return Ok(0),
            Some("unavailable") => {
                println!("\n[{}]", visible(&backend));
                return Ok(0);
            }
            _ => println!(
                "\n{} is writing (unverified draft, streamed):",
                visible(&backend)
            ),
        }
        let started = Instant::now();
        let mut out = std::io::stdout();
        while started.elapsed() < wait {
            let next = tokio::time::timeout(wait - started.elapsed(), events.next()).await;
            let Ok(Some((_, data))) = next.map(|r| r.ok().flatten()) else {
                break;
            };
            match serde_json::from_str::<PipelineEvent>(&data) {
                Ok(PipelineEvent::Draft { alert_id: id, text }) if id == alert_id => {
                    let _ = write!(out, "{}", visible(&text));
                    let _ = out.flush();
                }
                Ok(PipelineEvent::Generated {
                    alert_id: id,
                    generated,
                }) if id == alert_id => {
                    actions::print_generated(&generated);
                    return Ok(0);
                }
                Ok(PipelineEvent::ModelUnavailable {
                    alert_id: id,
                    reason,
                }) if id == alert_id => {
                    println!("\n[template only: {}]", visible(&reason));
                    return Ok(0);
                }
                _ => {}
            }
        }
        bail!(
            "the owner's model did not finish within {} s; `autosec explain {alert_id}` shows it once stored",
            wait.as_secs()
        )
    })
}
