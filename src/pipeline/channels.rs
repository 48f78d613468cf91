//! The channels between the live pipeline and its front ends, one enum per direction:
//! `PipelineEvent` out (events stored, alerts, actions, notices, status) and `EngineCommand` in
//! (decisions, triage, detail requests), with the engine's typed `Refusal`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::domain::{Action, Alert, CloseReason, Format, SecurityEvent, Status};
use crate::explain::{Explanation, Generated};
use crate::respond::audit::AuditRecord;

/// What the pipeline tells the front end. Serialisable: attached consoles receive these over
/// the control socket's event stream (`GET /api/v1/stream`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum PipelineEvent {
    /// Events stored since the last message; `lines` are the newest of them.
    Stored {
        stored: u64,
        rejected: u64,
        lines: Vec<StreamLine>,
    },
    /// An alert was raised, grew, changed status or got its intel (evidence refs left out).
    Alert(Box<Alert>),
    /// A response action was proposed or changed state.
    Action(Box<Action>),
    /// Audit records appended, oldest first.
    Audit(Vec<AuditRecord>),
    /// The grounded (template) explanation of an alert, or the stored full one.
    Explanation(Box<Explanation>),
    /// Model-written text as it streams (an unverified draft until `Generated`).
    Draft { alert_id: u64, text: String },
    /// The model finished; its text passed verification (or was rejected, labelled).
    Generated {
        alert_id: u64,
        generated: Box<Generated>,
    },
    /// Explanation by the model is not available for this alert (the reason).
    ModelUnavailable { alert_id: u64, reason: String },
    /// An alert's evidence over time.
    Timeline(Box<EntityTimeline>),
    /// One stored event as pretty JSON (log content: the front end escapes it).
    EventJson { event_id: u64, json: String },
    /// One part of the engine's status changed.
    Status(StatusPart),
    /// Something to tell the person (a decision failed, the demo ended …).
    Notice { level: Level, text: String },
    /// Demo replay progress.
    DemoProgress { sent: u64, total: u64 },
    /// Detection has processed every stored event up to this id (lag = stored − this).
    Detected { through: u64 },
    /// The owner's running totals (sent to a console that attaches; replaces its counts).
    Totals { events: u64, rejected: u64 },
}

/// What the front end asks of the pipeline. Decisions arrive here only after the console's
/// confirmation step; the response engine audits and performs them.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineCommand {
    /// Approve a RED action (confirmed by the person).
    Approve {
        action_id: u64,
        by: String,
        reason: Option<String>,
        confirm_closed: bool,
    },
    /// Reject an action waiting for approval.
    Reject {
        action_id: u64,
        by: String,
        reason: Option<String>,
    },
    /// Roll an action back (confirmed by the person).
    Rollback { action_id: u64, by: String },
    /// Acknowledge an alert.
    Acknowledge { alert_id: u64 },
    /// Close an alert with a reason.
    Close { alert_id: u64, reason: CloseReason },
    /// Send the alert's explanation (the stored one, or build it); `regenerate` asks the
    /// model again.
    Explain { alert_id: u64, regenerate: bool },
    /// Send the alert's evidence timeline.
    Timeline { alert_id: u64 },
    /// Send one stored event as JSON.
    Event { event_id: u64 },
}

/// The engine's answer to a command: the changed object as JSON, or why it refused.
pub type Reply = Result<serde_json::Value, Refusal>;

/// Why the engine refused a command. Callers match on the kind (the API maps it to a status
/// code), never on the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no alert {0}")]
    NoAlert(u64),
    #[error("no action {0}")]
    NoAction(u64),
    /// The object exists but is not in a state for this (decided already, alert closed …).
    #[error("{0}")]
    NotNow(String),
    /// Anything else (storage, a model, the owner unreachable).
    #[error("{0}")]
    Failed(String),
}

impl Refusal {
    /// Classify an engine error: typed refusals and the responder's decision errors keep
    /// their kind; the rest is `Failed`.
    pub fn of(e: &anyhow::Error) -> Refusal {
        use crate::respond::DecisionError;
        if let Some(r) = e.downcast_ref::<Refusal>() {
            return r.clone();
        }
        if let Some(crate::explain::NoSuchAlert(id)) = e.downcast_ref() {
            return Refusal::NoAlert(*id);
        }
        match e.downcast_ref::<DecisionError>() {
            Some(DecisionError::NotFound(id)) => Refusal::NoAction(*id),
            Some(failed @ DecisionError::RollbackFailed(_)) => Refusal::Failed(failed.to_string()),
            Some(other) => Refusal::NotNow(other.to_string()),
            None => Refusal::Failed(format!("{e:#}")),
        }
    }
}

/// A command and, for callers that wait for the outcome, where to send it.
pub struct Request {
    pub cmd: EngineCommand,
    pub reply: Option<tokio::sync::oneshot::Sender<Reply>>,
}

/// The sending end of the engine's command queue (cheap to clone).
#[derive(Clone)]
pub struct Commands(pub(super) crossbeam_channel::Sender<Request>);

impl Commands {
    /// A command queue and its receiving end (an attached console forwards what arrives).
    pub fn channel() -> (Commands, crossbeam_channel::Receiver<Request>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        (Commands(tx), rx)
    }

    /// A command queue whose commands `answer` carries out elsewhere, one at a time in
    /// order, on a blocking thread (a console attached to an engine in another process).
    pub fn forwarding(
        mut answer: impl FnMut(EngineCommand) -> Reply + Send + 'static,
    ) -> (Commands, JoinHandle<()>) {
        let (commands, requests) = Commands::channel();
        let task = tokio::task::spawn_blocking(move || {
            while let Ok(req) = requests.recv() {
                let reply = answer(req.cmd);
                if let Some(r) = req.reply {
                    let _ = r.send(reply);
                }
            }
        });
        (commands, task)
    }

    /// Send without waiting (the console learns the outcome from events).
    pub fn send(&self, cmd: EngineCommand) -> Result<(), EngineStopped> {
        self.0
            .send(Request { cmd, reply: None })
            .map_err(|_| EngineStopped)
    }

    /// Send and wait for the engine's answer.
    pub async fn ask(&self, cmd: EngineCommand) -> Result<Reply, EngineStopped> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.0
            .send(Request {
                cmd,
                reply: Some(tx),
            })
            .map_err(|_| EngineStopped)?;
        rx.await.map_err(|_| EngineStopped)
    }
}

/// The engine task is gone (it stopped on an error, or the pipeline shut down).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the engine has stopped")]
pub struct EngineStopped;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// One log line as the stream pane shows it (pseudonymised already when privacy is on).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamLine {
    pub id: u64,
    pub timestamp: DateTime<Utc>,
    pub format: Format,
    pub status: Status,
    pub source_ip: String,
    pub user: String,
    pub action: String,
    pub resource: String,
    /// The source file's name (not its path).
    pub source: String,
}

/// Longest field kept for a stream line: a hostile 1 MB field must not cost every frame.
const FIELD_MAX: usize = 200;

impl StreamLine {
    pub fn from_event(e: &SecurityEvent) -> StreamLine {
        let cut = |s: &str| -> String {
            if s.len() <= FIELD_MAX {
                return s.to_string();
            }
            let mut end = FIELD_MAX;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}…", &s[..end])
        };
        let source = e
            .origin
            .source
            .rsplit('/')
            .next()
            .unwrap_or(&e.origin.source);
        StreamLine {
            id: e.id,
            timestamp: e.timestamp,
            format: e.format,
            status: e.status,
            source_ip: cut(e.source_ip.as_deref().unwrap_or("")),
            user: cut(e.user_id.as_deref().unwrap_or("")),
            action: cut(&e.action),
            resource: cut(&e.resource),
            source: cut(source),
        }
    }
}

/// An alert's evidence over time: counts per bucket and the first events in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityTimeline {
    pub alert_id: u64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub buckets: Vec<u64>,
    /// Up to `TIMELINE_EVENTS` evidence events, oldest first.
    pub events: Vec<StreamLine>,
    /// Evidence refs not resolved (dropped beyond the cap, or no longer stored).
    pub unresolved: u64,
}

/// A change to one field of [`EngineStatus`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StatusPart {
    Embedding(String),
    Llm(String),
    Detection(String),
}

/// What the status bar shows about the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct EngineStatus {
    pub privacy: bool,
    /// Real commands run (LIVE); otherwise the sandbox records what would run.
    pub live: bool,
    pub demo: bool,
    /// `all-MiniLM-L6-v2`, `embedding corpus 120/389`, or `lexical (reason)`.
    pub embedding: String,
    /// The explanation model, or `template only (reason)`.
    pub llm: String,
    /// What is being followed (file names).
    pub sources: Vec<String>,
    pub detection: String,
    /// Detection is turned off in the config (`[detect] enabled = false`): nothing is
    /// behind it, so no detection lag is reported.
    #[serde(default)]
    pub detection_off: bool,
    /// Set in a console attached to another process's pipeline: who owns it.
    #[serde(default)]
    pub attached: Option<String>,
}

#[cfg(test)]
mod refusal_tests {
    use super::Refusal;
    use crate::respond::DecisionError;

    #[test]
    fn refusals_keep_their_kind_through_anyhow() {
        let of = |e: anyhow::Error| Refusal::of(&e);
        assert_eq!(of(Refusal::NoAlert(4).into()), Refusal::NoAlert(4));
        assert_eq!(
            of(crate::explain::NoSuchAlert(5).into()),
            Refusal::NoAlert(5)
        );
        assert_eq!(of(DecisionError::NotFound(6).into()), Refusal::NoAction(6));
        let closed = DecisionError::AlertClosed {
            alert: 1,
            why: "benign".into(),
        };
        assert!(matches!(of(closed.into()), Refusal::NotNow(_)));
        assert!(matches!(
            of(anyhow::anyhow!("disk full")),
            Refusal::Failed(t) if t == "disk full"
        ));
    }
}
