//! A console attached to another process's pipeline through its control socket: the same
//! events (off `GET /api/v1/stream`) and the same commands (mapped to the API's endpoints),
//! so the console's driver cannot tell the difference. Decisions run in the owner, which
//! audits them under the name this console sends.

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use super::client::{Control, Refused, SseReader};
use crate::pipeline::attached::Attached;
use crate::pipeline::{
    Commands, EngineCommand, EngineStatus, EntityTimeline, Level, PipelineEvent, Reply,
};

/// The stream's first message.
#[derive(Deserialize)]
struct Hello {
    status: EngineStatus,
    owner: String,
}

/// Attaches a console to another process's pipeline.
pub struct RemotePipeline;

impl RemotePipeline {
    /// Subscribe to the owner's events and start forwarding commands (needs a runtime).
    pub async fn attach(control: Control) -> Result<Attached> {
        let mut stream = control.stream("/api/v1/stream").await?;
        let (name, data) = stream
            .next()
            .await?
            .ok_or_else(|| anyhow!("the owner closed the event stream at once"))?;
        if name != crate::api::stream::HELLO {
            bail!("the owner's event stream did not start with hello (got {name:?})");
        }
        let hello: Hello = serde_json::from_str(&data).context("the owner's hello")?;
        let mut status = hello.status;
        status.attached = Some(hello.owner);
        let (tx, events) = unbounded_channel();
        let reader = tokio::spawn(read_events(stream, tx.clone()));
        let runtime = tokio::runtime::Handle::current();
        let notifier = tx.clone();
        let (commands, forwarder) =
            Commands::forwarding(move |cmd| runtime.block_on(forward(&control, cmd, &tx)));
        Ok(Attached::new(
            events,
            status,
            notifier,
            (commands, forwarder),
            reader,
        ))
    }
}

/// Owner events into the console's channel. Audit records the console already has (a
/// resync replays the tail) are dropped, so the audit view never shows one twice.
async fn read_events(mut stream: SseReader, tx: UnboundedSender<PipelineEvent>) {
    let mut audit_seq = 0u64;
    let ended = loop {
        match stream.next().await {
            Ok(Some((name, data))) if name == crate::api::stream::EVENT => {
                let ev = match serde_json::from_str::<PipelineEvent>(&data) {
                    Ok(PipelineEvent::Audit(records)) => {
                        let fresh: Vec<_> =
                            records.into_iter().filter(|r| r.seq > audit_seq).collect();
                        audit_seq = fresh.last().map_or(audit_seq, |r| r.seq);
                        if fresh.is_empty() {
                            continue;
                        }
                        PipelineEvent::Audit(fresh)
                    }
                    Ok(ev) => ev,
                    Err(e) => PipelineEvent::Notice {
                        level: Level::Warn,
                        text: format!("an event from the owner could not be read: {e}"),
                    },
                };
                if tx.send(ev).is_err() {
                    return;
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break "the owner stopped".to_string(),
            Err(e) => break format!("the owner's event stream failed: {e:#}"),
        }
    };
    let _ = tx.send(PipelineEvent::Notice {
        level: Level::Error,
        text: format!(
            "{ended}: this console is detached and its decisions go nowhere; quit with q"
        ),
    });
}

/// One console command as an API call. Timelines and event JSON come back in the answer;
/// everything else reaches every console through the owner's event stream.
async fn forward(
    control: &Control,
    cmd: EngineCommand,
    tx: &UnboundedSender<PipelineEvent>,
) -> Reply {
    let decision = |id: u64, what: &str| format!("/api/v1/actions/{id}/{what}");
    let (through_engine, result) = match cmd {
        EngineCommand::Approve {
            action_id,
            by,
            reason,
            confirm_closed,
        } => {
            let body = json!({ "by": by, "reason": reason, "confirm_closed": confirm_closed });
            (
                true,
                control.post(&decision(action_id, "approve"), &body).await,
            )
        }
        EngineCommand::Reject {
            action_id,
            by,
            reason,
        } => {
            let body = json!({ "by": by, "reason": reason });
            (
                true,
                control.post(&decision(action_id, "reject"), &body).await,
            )
        }
        EngineCommand::Rollback { action_id, by } => {
            let body = json!({ "by": by });
            (
                true,
                control.post(&decision(action_id, "rollback"), &body).await,
            )
        }
        EngineCommand::Acknowledge { alert_id } => {
            let uri = format!("/api/v1/threats/{alert_id}/ack");
            (true, control.post(&uri, &json!({})).await)
        }
        EngineCommand::Close { alert_id, reason } => {
            let uri = format!("/api/v1/threats/{alert_id}/close");
            (true, control.post(&uri, &json!({ "reason": reason })).await)
        }
        EngineCommand::Explain {
            alert_id,
            regenerate,
        } => {
            let body = json!({ "alert_id": alert_id, "regenerate": regenerate });
            (true, control.post("/api/v1/analyze", &body).await)
        }
        EngineCommand::Timeline { alert_id } => {
            let got = control
                .get(&format!("/api/v1/threats/{alert_id}/timeline"))
                .await
                .and_then(|v| Ok(serde_json::from_value::<EntityTimeline>(v)?));
            match got {
                Ok(t) => {
                    let _ = tx.send(PipelineEvent::Timeline(Box::new(t)));
                    (false, Ok(Value::Null))
                }
                Err(e) => (false, Err(e)),
            }
        }
        EngineCommand::Event { event_id } => {
            let json = match control.get(&format!("/api/v1/events/{event_id}")).await {
                Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
                Err(e) if refused_with(&e, 404) => crate::pipeline::missing_event_json(event_id),
                Err(e) => return report(tx, false, e),
            };
            let _ = tx.send(PipelineEvent::EventJson { event_id, json });
            (false, Ok(Value::Null))
        }
    };
    match result {
        Ok(v) => Ok(v),
        Err(e) => report(tx, through_engine, e),
    }
}

/// Tell the person about a failed call, unless the owner's engine refused it: that refusal
/// already reached every console as a notice.
fn report(tx: &UnboundedSender<PipelineEvent>, through_engine: bool, e: anyhow::Error) -> Reply {
    let engine_refused = [404, 409, 422].iter().any(|&c| refused_with(&e, c));
    if !(through_engine && engine_refused) {
        let _ = tx.send(PipelineEvent::Notice {
            level: Level::Error,
            text: format!("the owner: {e:#}"),
        });
    }
    // The owner's status code keeps the kind for what callers match on.
    let text = format!("{e:#}");
    Err(if refused_with(&e, 409) {
        crate::pipeline::Refusal::NotNow(text)
    } else {
        crate::pipeline::Refusal::Failed(text)
    })
}

fn refused_with(e: &anyhow::Error, code: u16) -> bool {
    e.downcast_ref::<Refused>()
        .is_some_and(|r| r.status.as_u16() == code)
}
