//! The fleet's one queue: every engine on the bus answers `<prefix>.discover` with its
//! queues; decisions go to the engine that owns the action over `<prefix>.control.<id>`.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures::StreamExt;

use super::publish::{ControlReply, ControlRequest, Snapshot, Subjects};
use crate::domain::{Action, Alert};

/// An alert or action with the engine that owns it (ids are per engine).
#[derive(Debug, Clone)]
pub struct Owned<T> {
    pub engine: String,
    pub item: T,
}

/// Every engine's queues merged: alerts newest first, actions by id within each engine.
#[derive(Debug, Clone, Default)]
pub struct FleetView {
    pub engines: Vec<String>,
    pub alerts: Vec<Owned<Alert>>,
    pub actions: Vec<Owned<Action>>,
}

impl FleetView {
    pub fn merge(mut snapshots: Vec<Snapshot>) -> FleetView {
        snapshots.sort_by(|a, b| a.engine.cmp(&b.engine));
        let mut view = FleetView::default();
        for s in snapshots {
            view.engines.push(s.engine.clone());
            view.alerts.extend(s.alerts.into_iter().map(|item| Owned {
                engine: s.engine.clone(),
                item,
            }));
            view.actions.extend(s.actions.into_iter().map(|item| Owned {
                engine: s.engine.clone(),
                item,
            }));
        }
        view.alerts.sort_by(|a, b| {
            b.item
                .last_seen
                .cmp(&a.item.last_seen)
                .then_with(|| a.engine.cmp(&b.engine))
                .then_with(|| a.item.alert_id.cmp(&b.item.alert_id))
        });
        view
    }

    /// The engine that owns action `action_id`, when exactly one does.
    pub fn owner_of_action(&self, action_id: u64) -> Result<&str> {
        owner_among(
            self.actions
                .iter()
                .map(|a| (a.engine.as_str(), a.item.action_id)),
            action_id,
        )
    }
}

/// The one engine among `(engine, action id)` pairs that has `action_id`.
fn owner_among<'a>(pairs: impl Iterator<Item = (&'a str, u64)>, action_id: u64) -> Result<&'a str> {
    let owners: Vec<&str> = pairs
        .filter(|(_, id)| *id == action_id)
        .map(|(engine, _)| engine)
        .collect();
    match owners.as_slice() {
        [one] => Ok(one),
        [] => bail!("no engine on the bus has action {action_id}"),
        many => bail!(
            "action {action_id} exists on {} (name the engine with --engine)",
            many.join(", ")
        ),
    }
}

/// Ask every engine for its queues; answers that arrive within `wait` count.
pub async fn discover(
    client: &async_nats::Client,
    prefix: &str,
    wait: Duration,
) -> Result<Vec<Snapshot>> {
    let inbox = client.new_inbox();
    let mut answers = client.subscribe(inbox.clone()).await?;
    client
        .publish_with_reply(Subjects::new(prefix, "_").discover, inbox, "".into())
        .await?;
    client.flush().await?;
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, answers.next()).await {
        if let Ok(ControlReply::Ok(v)) = serde_json::from_slice(&msg.payload)
            && let Ok(s) = serde_json::from_value::<Snapshot>(v)
        {
            out.push(s);
        }
    }
    Ok(out)
}

/// Send one control request to `engine` and wait for its answer.
pub async fn control(
    client: &async_nats::Client,
    prefix: &str,
    engine: &str,
    req: &ControlRequest,
) -> Result<serde_json::Value> {
    let subject = Subjects::new(prefix, engine).control;
    let msg = client
        .request(subject.clone(), serde_json::to_vec(req)?.into())
        .await
        .with_context(|| format!("no answer on {subject} (is engine {engine} running?)"))?;
    match serde_json::from_slice(&msg.payload).context("bad answer")? {
        ControlReply::Ok(v) => Ok(v),
        ControlReply::Error(e) => bail!("{engine}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_belongs_to_the_engine_that_has_it() {
        let pairs = [("b", 1), ("b", 2), ("a", 2), ("a", 3)];
        let owner = |id| owner_among(pairs.iter().copied(), id);
        assert_eq!(owner(1).expect("owner"), "b");
        assert_eq!(owner(3).expect("owner"), "a");
        assert!(owner(2).is_err(), "ambiguous");
        assert!(owner(9).is_err(), "missing");
    }

    #[test]
    fn merged_engines_are_listed_in_order() {
        let snap = |e: &str| Snapshot {
            engine: e.into(),
            ..Snapshot::default()
        };
        let view = FleetView::merge(vec![snap("b"), snap("a")]);
        assert_eq!(view.engines, ["a", "b"]);
    }
}
