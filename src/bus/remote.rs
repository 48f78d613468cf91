//! The console over the fleet (`autosec console --nats URL`): every engine's alerts and
//! actions off the bus, merged into one queue, and the console's commands sent to the engine
//! that owns what they name. Ids are per engine, so the console sees its own ids (numbered as
//! things arrive) and this layer keeps the map both ways; descriptions start with the owning
//! engine (`[a] …`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use super::fleet;
use super::publish::ControlRequest;
use crate::config::bus::{Credentials, Urls};
use crate::domain::{Action, Alert};
use crate::pipeline::attached::Attached;
use crate::pipeline::{
    Commands, EngineCommand, EngineStatus, EntityTimeline, Level, PipelineEvent, Refusal, Reply,
};

/// What the console's ids stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Alert,
    Action,
    Event,
}

/// Console ids ↔ (engine, engine's id).
#[derive(Debug, Default)]
pub struct Ids {
    local: HashMap<(Kind, String, u64), u64>,
    remote: HashMap<(Kind, u64), (String, u64)>,
    next: HashMap<Kind, u64>,
}

impl Ids {
    fn local(&mut self, kind: Kind, engine: &str, id: u64) -> u64 {
        if let Some(l) = self.local.get(&(kind, engine.to_string(), id)) {
            return *l;
        }
        let next = self.next.entry(kind).or_insert(1);
        let l = *next;
        *next += 1;
        self.local.insert((kind, engine.to_string(), id), l);
        self.remote.insert((kind, l), (engine.to_string(), id));
        l
    }

    fn remote(&self, kind: Kind, local: u64) -> Option<(String, u64)> {
        self.remote.get(&(kind, local)).cloned()
    }

    /// An engine's alert as the console sees it.
    pub fn alert(&mut self, engine: &str, mut a: Alert) -> Alert {
        a.alert_id = self.local(Kind::Alert, engine, a.alert_id);
        a.description = format!("[{engine}] {}", a.description);
        a
    }

    /// An engine's action as the console sees it.
    pub fn action(&mut self, engine: &str, mut a: Action) -> Action {
        a.action_id = self.local(Kind::Action, engine, a.action_id);
        a.alert_id = self.local(Kind::Alert, engine, a.alert_id);
        a
    }
}

/// Attaches a console to every engine on a NATS bus.
pub struct FleetPipeline;

impl FleetPipeline {
    /// Subscribe to every engine's alerts and actions, take their current queues, and start
    /// forwarding commands (needs a runtime).
    pub async fn attach(url: &str, prefix: &str, wait: Duration) -> Result<Attached> {
        let client = super::connect(
            &Urls::One(url.to_string()),
            &Credentials::default(),
            "autosec console (fleet)",
        )
        .await?;
        // Live first, then the snapshots: nothing raised in between is missed (a repeat is
        // harmless, the console replaces an alert by id).
        let mut alerts = client.subscribe(format!("{prefix}.alerts.*")).await?;
        let mut actions = client.subscribe(format!("{prefix}.actions.*")).await?;
        let snapshots = fleet::discover(&client, prefix, wait).await?;
        let ids = Arc::new(Mutex::new(Ids::default()));
        let (tx, events) = unbounded_channel();
        let mut engines: Vec<String> = snapshots.iter().map(|s| s.engine.clone()).collect();
        engines.sort();
        {
            let mut map = ids.lock().unwrap_or_else(|p| p.into_inner());
            for s in snapshots {
                for a in s.alerts {
                    let _ = tx.send(PipelineEvent::Alert(Box::new(map.alert(&s.engine, a))));
                }
                for a in s.actions {
                    let _ = tx.send(PipelineEvent::Action(Box::new(map.action(&s.engine, a))));
                }
            }
        }
        let status = EngineStatus {
            sources: engines.clone(),
            detection: format!("fleet of {} engine(s) on {url}", engines.len()),
            embedding: "on each engine".into(),
            llm: "on each engine".into(),
            attached: Some(format!("NATS fleet: {}", engines.join(", "))),
            ..EngineStatus::default()
        };
        let reader = {
            let (tx, ids) = (tx.clone(), ids.clone());
            tokio::spawn(async move {
                loop {
                    let ev = tokio::select! {
                        Some(m) = alerts.next() => engine_of(&m.subject).and_then(|e| {
                            let a: Alert = serde_json::from_slice(&m.payload).ok()?;
                            Some(PipelineEvent::Alert(Box::new(lock(&ids).alert(&e, a))))
                        }),
                        Some(m) = actions.next() => engine_of(&m.subject).and_then(|e| {
                            let a: Action = serde_json::from_slice(&m.payload).ok()?;
                            Some(PipelineEvent::Action(Box::new(lock(&ids).action(&e, a))))
                        }),
                        else => break,
                    };
                    if let Some(ev) = ev
                        && tx.send(ev).is_err()
                    {
                        return;
                    }
                }
            })
        };
        let runtime = tokio::runtime::Handle::current();
        let (notifier, prefix) = (tx.clone(), prefix.to_string());
        let (commands, forwarder) = Commands::forwarding(move |cmd| {
            runtime.block_on(forward(&client, &prefix, &ids, cmd, &tx))
        });
        Ok(Attached::new(
            events,
            status,
            notifier,
            (commands, forwarder),
            reader,
        ))
    }
}

fn lock(ids: &Mutex<Ids>) -> std::sync::MutexGuard<'_, Ids> {
    ids.lock().unwrap_or_else(|p| p.into_inner())
}

/// The engine id at the end of `<prefix>.alerts.<id>`.
fn engine_of(subject: &str) -> Option<String> {
    subject.rsplit('.').next().map(str::to_string)
}

/// One console command, sent to the engine that owns what it names; answers come back as
/// the events the console would get from its own engine.
async fn forward(
    client: &async_nats::Client,
    prefix: &str,
    ids: &Mutex<Ids>,
    cmd: EngineCommand,
    tx: &UnboundedSender<PipelineEvent>,
) -> Reply {
    let remote = |kind, id| {
        lock(ids).remote(kind, id).ok_or(match kind {
            Kind::Alert => Refusal::NoAlert(id),
            Kind::Action => Refusal::NoAction(id),
            Kind::Event => Refusal::Failed(format!("no engine on the bus has event {id}")),
        })
    };
    let (engine, req) = match cmd {
        EngineCommand::Approve {
            action_id,
            by,
            reason,
            confirm_closed,
        } => {
            let (e, id) = remote(Kind::Action, action_id)?;
            (
                e,
                ControlRequest::Approve {
                    action_id: id,
                    by,
                    reason,
                    confirm_closed,
                },
            )
        }
        EngineCommand::Reject {
            action_id,
            by,
            reason,
        } => {
            let (e, id) = remote(Kind::Action, action_id)?;
            (
                e,
                ControlRequest::Reject {
                    action_id: id,
                    by,
                    reason,
                },
            )
        }
        EngineCommand::Rollback { action_id, by } => {
            let (e, id) = remote(Kind::Action, action_id)?;
            (e, ControlRequest::Rollback { action_id: id, by })
        }
        EngineCommand::Acknowledge { alert_id } => {
            let (e, id) = remote(Kind::Alert, alert_id)?;
            (e, ControlRequest::Acknowledge { alert_id: id })
        }
        EngineCommand::Close { alert_id, reason } => {
            let (e, id) = remote(Kind::Alert, alert_id)?;
            (
                e,
                ControlRequest::Close {
                    alert_id: id,
                    reason,
                },
            )
        }
        EngineCommand::Explain { alert_id, .. } => {
            let (e, id) = remote(Kind::Alert, alert_id)?;
            (e, ControlRequest::Explain { alert_id: id })
        }
        EngineCommand::Timeline { alert_id } => {
            let (e, id) = remote(Kind::Alert, alert_id)?;
            (e, ControlRequest::Timeline { alert_id: id })
        }
        EngineCommand::Event { event_id } => {
            let (e, id) = remote(Kind::Event, event_id)?;
            (e, ControlRequest::Event { event_id: id })
        }
    };
    let answer = match fleet::control(client, prefix, &engine, &req).await {
        Ok(v) => v,
        Err(e) => {
            let text = format!("{e:#}");
            let _ = tx.send(PipelineEvent::Notice {
                level: Level::Error,
                text: text.clone(),
            });
            return Err(Refusal::Failed(text));
        }
    };
    if let Some(ev) = answer_event(&engine, ids, &req, answer.clone()) {
        let _ = tx.send(ev);
    }
    Ok(answer)
}

/// The event an answer becomes in the console, ids mapped.
fn answer_event(
    engine: &str,
    ids: &Mutex<Ids>,
    req: &ControlRequest,
    answer: Value,
) -> Option<PipelineEvent> {
    let mut map = lock(ids);
    Some(match req {
        ControlRequest::Approve { .. }
        | ControlRequest::Reject { .. }
        | ControlRequest::Rollback { .. } => {
            let a: Action = serde_json::from_value(answer).ok()?;
            PipelineEvent::Action(Box::new(map.action(engine, a)))
        }
        ControlRequest::Acknowledge { .. } | ControlRequest::Close { .. } => {
            let a: Alert = serde_json::from_value(answer).ok()?;
            PipelineEvent::Alert(Box::new(map.alert(engine, a)))
        }
        ControlRequest::Explain { .. } => {
            let mut x: crate::explain::Explanation = serde_json::from_value(answer).ok()?;
            x.alert_id = map.local(Kind::Alert, engine, x.alert_id);
            PipelineEvent::Explanation(Box::new(x))
        }
        ControlRequest::Timeline { .. } => {
            let mut t: EntityTimeline = serde_json::from_value(answer).ok()?;
            t.alert_id = map.local(Kind::Alert, engine, t.alert_id);
            for line in &mut t.events {
                line.id = map.local(Kind::Event, engine, line.id);
            }
            PipelineEvent::Timeline(Box::new(t))
        }
        ControlRequest::Event { event_id } => {
            let local = map.local(Kind::Event, engine, *event_id);
            let json = serde_json::to_string_pretty(&answer).unwrap_or_default();
            PipelineEvent::EventJson {
                event_id: local,
                json,
            }
        }
        ControlRequest::Snapshot => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_ids_are_one_space_over_every_engine() {
        let mut ids = Ids::default();
        let a1 = ids.local(Kind::Alert, "a", 1);
        let b1 = ids.local(Kind::Alert, "b", 1);
        assert_ne!(a1, b1, "engine a's alert 1 and b's alert 1 are two alerts");
        assert_eq!(ids.local(Kind::Alert, "a", 1), a1, "stable");
        assert_eq!(ids.remote(Kind::Alert, b1), Some(("b".into(), 1)));
        assert_eq!(ids.remote(Kind::Action, b1), None, "kinds do not mix");
        assert_eq!(engine_of("autosec.alerts.eng-2").as_deref(), Some("eng-2"));
    }
}
