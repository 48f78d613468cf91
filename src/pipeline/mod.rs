//! The live pipeline behind the console: ingest (following sources), detection, retrieval,
//! response and explanations run as background tokio tasks over one sled store. Typed events
//! flow to the front end and typed commands come back; the front end never touches sled,
//! a model or the network itself, so it never blocks on them.

pub mod attached;
pub mod demo;
mod engine;
mod explainer;
pub mod open;
mod rag;

mod stream;

pub use engine::timeline_of;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use tokio_util::sync::CancellationToken;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

use crate::config::Config;
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
pub struct Commands(crossbeam_channel::Sender<Request>);

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
    /// Set in a console attached to another process's pipeline: who owns it.
    #[serde(default)]
    pub attached: Option<String>,
}

/// How to run the pipeline.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    pub data_dir: PathBuf,
    pub paths: Vec<String>,
    pub format: Option<Format>,
    pub privacy: bool,
    pub live: bool,
    /// Demo replay: responses treat the replayed scenario as fresh (still sandboxed).
    pub demo: bool,
    /// Lines the front end keeps (the stream forwards at most this many per message).
    pub stream_lines: usize,
    /// A file to seed the intel index from and save it to (the demo's throwaway store).
    pub intel_cache: Option<PathBuf>,
    /// Accept bodies from the HTTP API (`Pipeline::ingest`).
    pub http_ingest: bool,
}

/// Stores bodies posted to the API through the pipeline's one writer.
#[derive(Clone)]
pub struct IngestHandle {
    writer: crossbeam_channel::Sender<crate::ingest::external::ExternalBatch>,
    redactor: Option<crate::privacy::Redactor>,
    config: Arc<Config>,
}

impl IngestHandle {
    /// Parse, redact and store one body; returns once it is durable. Blocking: call it on
    /// the blocking pool.
    pub fn ingest(
        &self,
        source: &str,
        body: &[u8],
        format: Option<Format>,
    ) -> Result<crate::ingest::external::Stored, String> {
        use crate::ingest::external;
        let decoded = external::decode_body(body)?;
        let batches = external::parse_body(
            source,
            decoded,
            format,
            &self.config,
            self.redactor.as_ref(),
        )?;
        external::store(&self.writer, batches)
    }

    /// Parse and redact messages from a bus (in stream order). Blocking; parts of one pull
    /// may be parsed on several threads and stored in order with [`Self::store_runs`].
    pub fn parse_messages(
        &self,
        stream: &str,
        messages: &[crate::ingest::messages::Message],
        format: Option<Format>,
    ) -> Result<Vec<crate::ingest::messages::ParsedRun>, String> {
        crate::ingest::messages::parse_messages(
            stream,
            messages,
            format,
            &self.config,
            self.redactor.as_ref(),
        )
        .map_err(|e| format!("{e:#}"))
    }

    /// Store parsed runs in order, each with the stream position it reaches under
    /// `checkpoint_key` (same transaction), so a message redelivered after a crash is
    /// recognised. Returns once durable. Blocking.
    pub fn store_runs(
        &self,
        checkpoint_key: &[u8],
        runs: Vec<crate::ingest::messages::ParsedRun>,
    ) -> Result<crate::ingest::external::Stored, String> {
        let batches = runs
            .into_iter()
            .map(|r| {
                let at = crate::store::Checkpoint {
                    records: r.last_seq,
                    ..Default::default()
                };
                (r.batch, Some((checkpoint_key.to_vec(), at)))
            })
            .collect();
        crate::ingest::external::store_checkpointed(&self.writer, batches)
    }
}

/// The running pipeline: the front end's ends of the channels, and the tasks to wait for.
pub struct Pipeline {
    pub events: UnboundedReceiver<PipelineEvent>,
    /// Present with `http_ingest`.
    pub ingest: Option<IngestHandle>,
    /// The writer's intake for bus consumers (always present).
    handle: IngestHandle,
    pub store: Arc<crate::store::Store>,
    sender: UnboundedSender<PipelineEvent>,
    commands: Commands,
    cancel: CancellationToken,
    /// Ingest, stream and engine: awaited at shutdown (what was read gets stored).
    tasks: Vec<JoinHandle<()>>,
    /// Retrieval and explanations: model work in flight is abandoned at shutdown, not awaited
    /// (an embedding batch or an LLM paragraph can take seconds; what they stored is kept).
    background: Vec<JoinHandle<()>>,
    pub status: EngineStatus,
}

impl Pipeline {
    /// Open the store and start the tasks (needs a tokio runtime).
    pub fn start(config: &Config, opts: PipelineOptions) -> Result<Pipeline> {
        let privacy = opts.privacy && config.privacy.enabled;
        let (store, redactor) = open::open_engine(config, &opts.data_dir, privacy)?;
        let store = Arc::new(store);
        let config = Arc::new(config.clone());
        let cancel = CancellationToken::new();
        let (tx, events) = unbounded_channel();
        let (cmd_tx, cmd_rx) = crossbeam_channel::unbounded();
        let (tap_tx, tap_rx) = crossbeam_channel::bounded(64);
        let (rag_tx, rag_rx) = crossbeam_channel::unbounded();
        let (explain_tx, explain_rx) = crossbeam_channel::unbounded();
        let ingest_idle = Arc::new(AtomicBool::new(false));
        let backlog = Arc::new(crate::ingest::Backlog::default());

        let status = EngineStatus {
            privacy,
            live: opts.live,
            demo: opts.demo,
            embedding: "loading…".into(),
            llm: "loading…".into(),
            sources: opts
                .paths
                .iter()
                .map(|p| {
                    p.rsplit('/')
                        .find(|s| !s.is_empty())
                        .unwrap_or(p)
                        .to_string()
                })
                .collect(),
            detection: "waiting for events".into(),
            attached: None,
        };
        let first_new = store.detect_from()?;
        let mut tasks = Vec::new();
        let mut background = Vec::new();

        let (ext_tx, ext_rx) = crossbeam_channel::bounded(64);
        let handle = IngestHandle {
            writer: ext_tx,
            redactor: redactor.clone(),
            config: config.clone(),
        };
        let ingest = opts.http_ingest.then(|| handle.clone());
        let ingest_opts = crate::ingest::IngestOptions {
            paths: opts.paths.clone(),
            format: opts.format,
            follow: true,
            progress: false,
            abort_after_events: None,
            tap: Some(tap_tx),
            backlog: Some(backlog.clone()),
            external: Some(ext_rx),
        };
        {
            let (store, config, cancel, tx) =
                (store.clone(), config.clone(), cancel.clone(), tx.clone());
            tasks.push(tokio::task::spawn_blocking(
                move || match crate::ingest::run(&store, redactor, &config, &ingest_opts, cancel) {
                    Ok(summary) => {
                        for e in &summary.file_errors {
                            send_notice(&tx, Level::Warn, format!("{}: {}", e.path, e.error));
                        }
                    }
                    Err(e) => send_notice(&tx, Level::Error, format!("ingest stopped: {e:#}")),
                },
            ));
        }
        {
            let (tx, idle) = (tx.clone(), ingest_idle.clone());
            let keep = opts.stream_lines.max(1);
            tasks.push(tokio::task::spawn_blocking(move || {
                stream::forward(tap_rx, &tx, keep, &idle)
            }));
        }
        {
            let ctx = engine::EngineCtx {
                store: store.clone(),
                config: config.clone(),
                data_dir: opts.data_dir.clone(),
                tx: tx.clone(),
                commands: cmd_rx,
                rag: rag_tx,
                explain: explain_tx.clone(),
                cancel: cancel.clone(),
                ingest_idle,
                backlog,
                first_new,
                live: opts.live,
                demo: opts.demo,
            };
            tasks.push(tokio::task::spawn_blocking(move || engine::run(ctx)));
        }
        {
            let (store, config, tx, cancel) =
                (store.clone(), config.clone(), tx.clone(), cancel.clone());
            let data_dir = opts.data_dir.clone();
            let cache = opts.intel_cache.clone();
            background.push(tokio::task::spawn_blocking(move || {
                rag::run(
                    &store,
                    &config,
                    &data_dir,
                    cache.as_deref(),
                    rag_rx,
                    &tx,
                    &cancel,
                )
            }));
        }
        {
            let (store, config, cancel, tx) =
                (store.clone(), config.clone(), cancel.clone(), tx.clone());
            let data_dir = opts.data_dir.clone();
            background.push(tokio::task::spawn_blocking(move || {
                explainer::run(&store, &config, &data_dir, explain_rx, &tx, &cancel)
            }));
        }
        drop(explain_tx);
        Ok(Pipeline {
            events,
            ingest,
            handle,
            store: store.clone(),
            sender: tx,
            commands: Commands(cmd_tx),
            cancel,
            tasks,
            background,
            status,
        })
    }

    /// A sender into the front end's event channel (the demo replay reports through it).
    pub fn notifier(&self) -> UnboundedSender<PipelineEvent> {
        self.sender.clone()
    }

    /// The cancellation token every task watches (cancelled by `shutdown`).
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// The writer's intake, for bus consumers.
    pub fn ingest_handle(&self) -> IngestHandle {
        self.handle.clone()
    }

    /// A handle to send commands with.
    pub fn commands(&self) -> Commands {
        self.commands.clone()
    }

    /// Stop every task: ingest stores what it read and the engine its alerts (awaited), the
    /// store is flushed, and model work in flight gets a moment to notice, then is left behind
    /// (the process exits under it; sled keeps whatever it had written).
    pub async fn shutdown(self) {
        self.cancel.cancel();
        drop(self.commands);
        let t0 = std::time::Instant::now();
        let trace = std::env::var_os("AUTOSEC_TRACE_QUIT").is_some();
        for (i, t) in self.tasks.into_iter().enumerate() {
            let _ = t.await;
            if trace {
                eprintln!(
                    "quit: task {i} (ingest, stream, engine) done at {:?}",
                    t0.elapsed()
                );
            }
        }
        let _ = self.store.flush();
        if trace {
            eprintln!("quit: store flushed at {:?}", t0.elapsed());
        }
        let grace = tokio::time::Instant::now() + std::time::Duration::from_millis(200);
        for t in self.background {
            let _ = tokio::time::timeout_at(grace, t).await;
        }
    }
}

/// What the event pane shows for an event id that is not stored.
pub fn missing_event_json(event_id: u64) -> String {
    format!("{{\n  \"missing\": \"event {event_id} is not stored\"\n}}")
}

/// An alert for the front end, without its evidence refs (up to `detect.max_evidence` per
/// alert: the queue needs the count, and the detail view asks for a timeline instead).
fn alert_event(mut alert: Alert) -> PipelineEvent {
    alert.evidence = Vec::new();
    PipelineEvent::Alert(Box::new(alert))
}

fn send_notice(tx: &UnboundedSender<PipelineEvent>, level: Level, text: String) {
    let _ = tx.send(PipelineEvent::Notice { level, text });
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
