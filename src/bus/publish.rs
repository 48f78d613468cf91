//! `[output.nats]`: every new or changed alert and action is published (the API's JSON,
//! pseudonymised like everything the engine shows) on `<prefix>.alerts.<engine>` and
//! `<prefix>.actions.<engine>`; decisions and lookups are answered on
//! `<prefix>.control.<engine>` (request/reply) with the API's rules and audit; and
//! `<prefix>.discover` gets every engine's id and queues (scatter-gather, for a fleet view).
//!
//! Who decided: with `require_attested`, the account and user the server writes into
//! `Nats-Request-Info` when a request crosses an account boundary through a service import
//! with `share: true` (the server overwrites a header a client forged; within one account it
//! does not, so without an import nothing is trusted and decisions are refused). Otherwise the
//! request's `by`, recorded as `nats:<by>`, and who may decide is set by the server's
//! permissions on `<prefix>.control.>` (README, "Scaling out over NATS").

use std::sync::Arc;

use anyhow::{Context, Result};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::config::bus::NatsOutput;
use crate::domain::{Action, Alert};
use crate::pipeline::{Commands, EngineCommand, PipelineEvent};
use crate::store::Store;

/// An engine's queues, as the fleet view merges them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Snapshot {
    pub engine: String,
    pub alerts: Vec<Alert>,
    pub actions: Vec<Action>,
}

/// A request on `<prefix>.control.<engine>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ControlRequest {
    Approve {
        action_id: u64,
        by: String,
        #[serde(default)]
        reason: Option<String>,
        #[serde(default)]
        confirm_closed: bool,
    },
    Reject {
        action_id: u64,
        by: String,
        #[serde(default)]
        reason: Option<String>,
    },
    Rollback {
        action_id: u64,
        by: String,
    },
    Acknowledge {
        alert_id: u64,
    },
    Close {
        alert_id: u64,
        reason: crate::domain::CloseReason,
    },
    Snapshot,
    Event {
        event_id: u64,
    },
    Explain {
        alert_id: u64,
    },
    Timeline {
        alert_id: u64,
    },
}

/// The answer: `{"ok": …}` or `{"error": "…"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlReply {
    Ok(serde_json::Value),
    Error(String),
}

/// The subjects of one engine.
#[derive(Debug, Clone)]
pub struct Subjects {
    pub alerts: String,
    pub actions: String,
    pub control: String,
    pub discover: String,
}

impl Subjects {
    pub fn new(prefix: &str, engine: &str) -> Subjects {
        Subjects {
            alerts: format!("{prefix}.alerts.{engine}"),
            actions: format!("{prefix}.actions.{engine}"),
            control: format!("{prefix}.control.{engine}"),
            discover: format!("{prefix}.discover"),
        }
    }
}

/// Who a decision is recorded as: the requester's name, marked as coming over NATS.
fn actor(by: &str) -> String {
    let clean: String = crate::sanitize::visible(by).chars().take(64).collect();
    format!("nats:{clean}")
}

/// What the engine is asked for a control request (None: answered here, from the snapshot
/// or the store).
pub fn command_for(req: &ControlRequest) -> Option<EngineCommand> {
    Some(match req.clone() {
        ControlRequest::Approve {
            action_id,
            by,
            reason,
            confirm_closed,
        } => EngineCommand::Approve {
            action_id,
            by: actor(&by),
            reason,
            confirm_closed,
        },
        ControlRequest::Reject {
            action_id,
            by,
            reason,
        } => EngineCommand::Reject {
            action_id,
            by: actor(&by),
            reason,
        },
        ControlRequest::Rollback { action_id, by } => EngineCommand::Rollback {
            action_id,
            by: actor(&by),
        },
        ControlRequest::Acknowledge { alert_id } => EngineCommand::Acknowledge { alert_id },
        ControlRequest::Close { alert_id, reason } => EngineCommand::Close { alert_id, reason },
        ControlRequest::Explain { alert_id } => EngineCommand::Explain {
            alert_id,
            regenerate: false,
        },
        ControlRequest::Snapshot
        | ControlRequest::Event { .. }
        | ControlRequest::Timeline { .. } => return None,
    })
}

/// Publish and answer until cancelled. `snapshot` reads the engine's current queues.
pub async fn run(
    out: NatsOutput,
    engine: String,
    mut live: broadcast::Receiver<Arc<PipelineEvent>>,
    commands: Commands,
    store: Arc<Store>,
    snapshot: Arc<dyn Fn() -> Snapshot + Send + Sync>,
    cancel: CancellationToken,
) -> Result<()> {
    let client = super::connect(&out.url, &out.credentials, &format!("autosec {engine}")).await?;
    let subjects = Subjects::new(&out.subject_prefix, &engine);
    let mut control = client
        .subscribe(subjects.control.clone())
        .await
        .context("subscribing to the control subject")?;
    let mut discover = client
        .subscribe(subjects.discover.clone())
        .await
        .context("subscribing to the discovery subject")?;
    // What was raised before this task started.
    let first = snapshot();
    for alert in &first.alerts {
        publish(&client, &subjects.alerts, alert).await;
    }
    for action in &first.actions {
        publish(&client, &subjects.actions, action).await;
    }
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            ev = live.recv() => match ev {
                Ok(ev) => match ev.as_ref() {
                    PipelineEvent::Alert(a) => publish(&client, &subjects.alerts, a.as_ref()).await,
                    PipelineEvent::Action(a) => publish(&client, &subjects.actions, a.as_ref()).await,
                    _ => {}
                },
                // Missed some under load: the next snapshot request has them all.
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            },
            Some(msg) = control.next() => {
                let who = Requester::of(&msg, out.require_attested);
                let answer = answer(&msg.payload, who, &commands, &store, snapshot.as_ref()).await;
                reply(&client, msg.reply, &answer).await;
            },
            Some(msg) = discover.next() => {
                let answer = ControlReply::Ok(serde_json::to_value(snapshot()).unwrap_or_default());
                reply(&client, msg.reply, &answer).await;
            },
        }
    }
    let _ = client.flush().await;
    Ok(())
}

/// Who a control request comes from, as far as this engine trusts it.
#[derive(Debug, Clone, PartialEq)]
pub enum Requester {
    /// Attestation not required: the request's own `by` is taken.
    Unverified,
    /// The server vouched: `ACCOUNT/USER`.
    Attested(String),
    /// Attestation required and missing.
    Unattested,
}

impl Requester {
    fn of(msg: &async_nats::Message, required: bool) -> Requester {
        if !required {
            return Requester::Unverified;
        }
        let info = msg
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Request-Info"))
            .map(|v| v.as_str().to_string());
        Requester::from_header(info.as_deref())
    }

    /// From a `Nats-Request-Info` header (attestation required).
    pub fn from_header(info: Option<&str>) -> Requester {
        let parsed = info.and_then(|i| serde_json::from_str::<serde_json::Value>(i).ok());
        let field = |v: &serde_json::Value, k: &str| {
            v[k].as_str().filter(|s| !s.is_empty()).map(str::to_string)
        };
        match parsed
            .as_ref()
            .and_then(|v| Some((field(v, "acc")?, field(v, "user")?)))
        {
            Some((acc, user)) => Requester::Attested(format!("{acc}/{user}")),
            None => Requester::Unattested,
        }
    }

    /// The request with its decider set by what the server said, or why it is refused.
    pub fn vouch(&self, req: ControlRequest) -> Result<ControlRequest, String> {
        let decides = matches!(
            req,
            ControlRequest::Approve { .. }
                | ControlRequest::Reject { .. }
                | ControlRequest::Rollback { .. }
        );
        let name = match self {
            Requester::Unverified => return Ok(req),
            Requester::Attested(name) => name.clone(),
            Requester::Unattested if decides => {
                return Err("this engine decides only on requests the server attests (require_attested): import autosec.control.* from another account with share: true".into());
            }
            Requester::Unattested => return Ok(req),
        };
        Ok(match req {
            ControlRequest::Approve {
                action_id,
                reason,
                confirm_closed,
                ..
            } => ControlRequest::Approve {
                action_id,
                by: name,
                reason,
                confirm_closed,
            },
            ControlRequest::Reject {
                action_id, reason, ..
            } => ControlRequest::Reject {
                action_id,
                by: name,
                reason,
            },
            ControlRequest::Rollback { action_id, .. } => ControlRequest::Rollback {
                action_id,
                by: name,
            },
            other => other,
        })
    }
}

async fn answer(
    payload: &[u8],
    who: Requester,
    commands: &Commands,
    store: &Arc<Store>,
    snapshot: &(dyn Fn() -> Snapshot + Send + Sync),
) -> ControlReply {
    let req: ControlRequest = match serde_json::from_slice(payload) {
        Ok(r) => r,
        Err(e) => return ControlReply::Error(format!("bad control request: {e}")),
    };
    let req = match who.vouch(req) {
        Ok(r) => r,
        Err(e) => return ControlReply::Error(e),
    };
    // Lookups are read from the store (pseudonymised as stored), as the API reads them.
    let lookup = match req {
        ControlRequest::Snapshot => {
            return ControlReply::Ok(serde_json::to_value(snapshot()).unwrap_or_default());
        }
        ControlRequest::Event { event_id } => Some(Lookup::Event(event_id)),
        ControlRequest::Timeline { alert_id } => Some(Lookup::Timeline(alert_id)),
        _ => None,
    };
    if let Some(lookup) = lookup {
        let store = store.clone();
        return match tokio::task::spawn_blocking(move || lookup.read(&store)).await {
            Ok(Ok(v)) => ControlReply::Ok(v),
            Ok(Err(e)) => ControlReply::Error(format!("{e:#}")),
            Err(e) => ControlReply::Error(e.to_string()),
        };
    }
    let Some(cmd) = command_for(&req) else {
        return ControlReply::Error("nothing to do".into());
    };
    match commands.ask(cmd).await {
        Ok(Ok(v)) => ControlReply::Ok(v),
        Ok(Err(e)) => ControlReply::Error(e.to_string()),
        Err(e) => ControlReply::Error(e.to_string()),
    }
}

enum Lookup {
    Event(u64),
    Timeline(u64),
}

impl Lookup {
    fn read(self, store: &Store) -> Result<serde_json::Value> {
        Ok(match self {
            Lookup::Event(id) => match store.event_by_id(id)? {
                Some(e) => serde_json::to_value(e)?,
                None => anyhow::bail!("event {id} is not stored"),
            },
            Lookup::Timeline(id) => match crate::pipeline::timeline_of(store, id)? {
                Some(t) => serde_json::to_value(t)?,
                None => anyhow::bail!("no alert {id}"),
            },
        })
    }
}

async fn publish<T: Serialize>(client: &async_nats::Client, subject: &str, value: &T) {
    if let Ok(body) = serde_json::to_vec(value) {
        let _ = client.publish(subject.to_string(), body.into()).await;
    }
}

async fn reply(
    client: &async_nats::Client,
    to: Option<async_nats::Subject>,
    answer: &ControlReply,
) {
    if let (Some(to), Ok(body)) = (to, serde_json::to_vec(answer)) {
        let _ = client.publish(to, body.into()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_are_recorded_as_nats_users() {
        let req: ControlRequest = serde_json::from_str(
            r#"{"op":"approve","action_id":7,"by":"alice\u001b[31m","reason":"ok"}"#,
        )
        .expect("parse");
        match command_for(&req) {
            Some(EngineCommand::Approve { action_id, by, .. }) => {
                assert_eq!(action_id, 7);
                assert!(by.starts_with("nats:alice"), "{by}");
                assert!(!by.contains('\u{1b}'), "{by:?}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(command_for(&ControlRequest::Snapshot), None);
    }

    #[test]
    fn attested_requests_name_the_server_s_account_and_user() {
        let approve = ControlRequest::Approve {
            action_id: 3,
            by: "mallory".into(),
            reason: None,
            confirm_closed: false,
        };
        let who =
            Requester::from_header(Some(r#"{"acc":"ANALYSTS","user":"alice","kind":"Client"}"#));
        match who.vouch(approve.clone()) {
            Ok(ControlRequest::Approve { by, .. }) => assert_eq!(by, "ANALYSTS/alice"),
            other => panic!("{other:?}"),
        }
        let none = Requester::from_header(None);
        assert!(
            none.vouch(approve.clone()).is_err(),
            "no attestation, no decision"
        );
        assert!(
            Requester::from_header(Some("{\"user\":\"x\"}"))
                .vouch(approve.clone())
                .is_err()
        );
        assert_eq!(
            none.vouch(ControlRequest::Snapshot),
            Ok(ControlRequest::Snapshot)
        );
        assert_eq!(Requester::Unverified.vouch(approve.clone()), Ok(approve));
    }

    #[test]
    fn unknown_ops_and_fields_are_refused() {
        assert!(
            serde_json::from_str::<ControlRequest>(r#"{"op":"execute","action_id":1}"#).is_err()
        );
        assert!(
            serde_json::from_str::<ControlRequest>(
                r#"{"op":"rollback","action_id":1,"by":"a","x":1}"#
            )
            .is_err()
        );
    }

    #[test]
    fn subjects_name_the_engine() {
        let s = Subjects::new("autosec", "eng-1");
        assert_eq!(s.alerts, "autosec.alerts.eng-1");
        assert_eq!(s.actions, "autosec.actions.eng-1");
        assert_eq!(s.control, "autosec.control.eng-1");
    }
}
