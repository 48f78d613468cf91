//! The live pipeline behind the console: ingest (following sources), detection, retrieval,
//! response and explanations run as background tokio tasks over one sled store. Typed events
//! flow to the front end and typed commands come back; the front end never touches sled,
//! a model or the network itself, so it never blocks on them.

pub mod attached;
mod channels;
pub mod demo;
mod engine;
mod explainer;
pub mod open;
mod rag;

mod stream;

pub use channels::*;
pub use engine::timeline_of;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use tokio_util::sync::CancellationToken;

use anyhow::Result;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::domain::{Alert, Format};

/// The status bar's detection part when `[detect] enabled = false`.
const DETECTION_OFF: &str = "off ([detect] enabled = false)";

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
        // Detection turned off in the config: nothing to feed.
        let (feed_tx, feed) = if config.detect.enabled {
            let (tx, rx) = crate::detect::feed::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };

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
            detection: if config.detect.enabled {
                "waiting for events".into()
            } else {
                DETECTION_OFF.into()
            },
            detection_off: !config.detect.enabled,
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
            detect_feed: feed_tx,
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
                feed,
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
