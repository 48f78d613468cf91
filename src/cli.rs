//! The command line (DESIGN.md, "Command line"): clap derive types only, no behaviour.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Ranking;
use crate::domain::{AlertStatus, CloseReason, Format, Severity};

#[derive(Debug, Parser)]
#[command(
    name = "autosec",
    version,
    about = "An autonomous security analyst in a terminal",
    after_help = "With no command: the console on the configured sources ([[ingest.sources]]), or the bundled demo when none are configured."
)]
pub struct Cli {
    /// Data directory (sled store); default: the platform data dir, or $AUTOSEC_DATA_DIR.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Config file (partial TOML over the embedded defaults); default: config.toml in the config dir.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Store raw IPs, emails and usernames (privacy mode is on by default). Recorded in the store.
    #[arg(long, global = true)]
    pub no_privacy: bool,
    /// Arm live response execution (also needs `[respond] mode = "live"`); sandbox otherwise.
    #[arg(long, global = true)]
    pub live: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The console, following these files, directories or globs (plus configured sources).
    Console(ConsoleArgs),
    /// The console replaying the bundled demo scenario (temporary data dir, always sandbox).
    Demo(DemoArgs),
    /// The engine headless with the HTTP API (ingest, threats, analyze, actions, metrics).
    Serve {
        /// Address to listen on (default `[api] listen`, loopback).
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<String>,
    },
    /// Measurement: load the ingest endpoint of a running `autosec serve`.
    #[command(hide = true)]
    ApiBench(ApiBenchArgs),
    /// Measurement: publish a log file's lines to JetStream (at a rate, or as fast as acks
    /// come) while sampling the engines' /health: end-to-end events/s and consumer lag.
    #[command(hide = true)]
    BusBench(BusBenchArgs),
    /// Measurement: input-to-screen latency of the console (headless, 200x60) while the
    /// pipeline ingests a generated dataset at a fixed rate.
    #[command(hide = true)]
    ConsoleBench(ConsoleBenchArgs),
    /// Ingest log files, directories (recursive) or `-` (stdin) into the store.
    Ingest(IngestArgs),
    /// List alerts, acknowledge or close them.
    Alerts(AlertsArgs),
    /// Explain an alert: summary, why, techniques, related intel, actions, evidence.
    Explain {
        alert_id: u64,
        #[arg(long)]
        json: bool,
        /// Build it again instead of showing the stored one.
        #[arg(long)]
        regenerate: bool,
    },
    /// Measurement: explain up to N stored alerts with the configured backend and report
    /// template latency, generation speed and how much verification removed.
    #[command(hide = true)]
    ExplainBench {
        #[arg(long, default_value_t = 30)]
        limit: usize,
        /// Write each alert's checked text and what was removed (JSON lines), for reading.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Response actions: list, approve, reject, roll back.
    Actions(ActionsArgs),
    /// Every engine on a NATS bus: the merged alert and action queues; a decision goes to
    /// the engine that owns the action.
    Fleet(FleetArgs),
    /// The audit chain: verify it, export it.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Write an incident / compliance report: Markdown and a self-contained HTML page.
    Report(ReportArgs),
    /// Threat intel: import feeds, search, index status.
    #[command(subcommand)]
    Intel(IntelCommand),
    /// Evaluate detection or retrieval against labels.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Show records rejected by ingest (redacted), newest last.
    Quarantine(QuarantineArgs),
    /// Generate labelled datasets.
    #[command(subcommand)]
    Datasets(DatasetsCommand),
    /// Configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Sigma rules: list the loaded ones, check a folder, try a rule on a log file.
    #[command(subcommand)]
    Rules(RulesCommand),
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// The rules `[detect]` loads (embedded pack + rule_dirs), with level and techniques.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Load every rule under DIR (or one file) and report what failed and why.
    Check {
        path: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Which records of LOGFILE match RULE (parsed as ingest parses them, rule evaluated
    /// before redaction; shown redacted unless --no-privacy).
    Test {
        rule: PathBuf,
        #[arg(value_name = "LOGFILE")]
        log: String,
        /// Log format; `auto` detects it.
        #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
        format: FormatArg,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files, directories or `-` for stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// Log format; `auto` detects it per file.
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,
    /// Keep tailing files (rotation-safe) until Ctrl-C.
    #[arg(long)]
    pub follow: bool,
    /// Read timestamps written without a zone in this one (`UTC` or an offset such as
    /// `-03:00`); default: `ingest.timezone` (UTC).
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Measurement: respond as if this were fresh live input (counts automatic actions on a
    /// replayed week; still sandboxed unless --live).
    #[arg(long, hide = true)]
    pub respond_as_live: bool,
    /// Fault injection for resume tests: abort (like kill -9) after N events are handed to the store.
    #[arg(long, hide = true, value_name = "N")]
    pub abort_after_events: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    /// Files, directories (new files are picked up) or globs to follow.
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,
    /// Log format of every source; `auto` detects it per file.
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    pub format: FormatArg,
    /// The fleet instead: every engine's alerts and actions on this NATS bus, decisions sent
    /// to the engine that owns the action.
    #[arg(long, value_name = "URL", conflicts_with = "paths")]
    pub nats: Option<String>,
    /// The engines' `[output.nats] subject_prefix`.
    #[arg(long, default_value = "autosec", value_name = "PREFIX")]
    pub nats_prefix: String,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Replay speed: 1 = `[ui] demo_events_per_sec` (250 events/s); 10 is ten times faster.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
}

#[derive(Debug, Args)]
pub struct ApiBenchArgs {
    /// Base URL of the server, e.g. http://127.0.0.1:8080.
    pub url: String,
    /// Bearer token (default: $AUTOSEC_API_TOKEN).
    #[arg(long)]
    pub token: Option<String>,
    /// Events per request.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    #[arg(long, default_value_t = 15)]
    pub seconds: u64,
}

#[derive(Debug, Args)]
pub struct ConsoleBenchArgs {
    /// A generated dataset's logs directory (`autosec datasets generate`).
    pub logs: PathBuf,
    /// Replay rate.
    #[arg(long, default_value_t = 50_000)]
    pub events_per_sec: u64,
    /// How long to measure.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
}

#[derive(Debug, Args)]
pub struct QuarantineArgs {
    /// Print JSON lines instead of text.
    #[arg(long)]
    pub json: bool,
    /// Show at most N records (the newest).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Auto,
    Cloudtrail,
    Syslog,
    Jsonl,
    Csv,
}

impl FormatArg {
    pub fn forced(self) -> Option<Format> {
        match self {
            FormatArg::Auto => None,
            FormatArg::Cloudtrail => Some(Format::Cloudtrail),
            FormatArg::Syslog => Some(Format::Syslog),
            FormatArg::Jsonl => Some(Format::Jsonl),
            FormatArg::Csv => Some(Format::Csv),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum DatasetsCommand {
    /// Write realistic labelled logs (CloudTrail, auth.log, JSON lines, CSV flows) and labels.jsonl.
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[arg(long, default_value_t = 100_000)]
    pub events: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Length of the simulated period in days.
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Instances of each attack scenario.
    #[arg(long, default_value_t = 4)]
    pub attacks: u32,
    /// A quiet benign period: no attacks, empty labels.
    #[arg(long)]
    pub benign: bool,
    /// Habits of the benign background: `office`, `pipelines`, `releases`, `research`,
    /// `rotation` and `snapshots` (detection was developed on them) or `posture` (held out: a
    /// vendor's nightly posture scan).
    #[arg(long, default_value = "office", value_parser = ["office", "pipelines", "releases", "research", "rotation", "snapshots", "posture", "helpdesk"])]
    pub profile: String,
    /// Start of the simulated period (RFC 3339).
    #[arg(long, default_value = "2024-05-06T00:00:00Z")]
    pub start: String,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration (defaults + user file).
    Show,
}

#[derive(Debug, Args)]
pub struct AlertsArgs {
    #[command(subcommand)]
    pub command: Option<AlertsCommand>,
    /// Print JSON lines (every Alert field, evidence refs included).
    #[arg(long, global = true)]
    pub json: bool,
    /// Only alerts with this status.
    #[arg(long, value_parser = by_name::<AlertStatus>(&["open", "acknowledged", "closed"]))]
    pub status: Option<AlertStatus>,
    /// Only alerts at or above this severity.
    #[arg(long, value_parser = by_name::<Severity>(&["low", "medium", "high", "critical"]))]
    pub min_severity: Option<Severity>,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Acknowledge an alert (someone is on it).
    Ack { id: u64 },
    /// Close an alert with a reason.
    Close {
        id: u64,
        #[arg(long, value_parser = by_name::<CloseReason>(
            &["true-positive", "false-positive", "benign", "duplicate"]
        ))]
        reason: CloseReason,
    },
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Ingest PATHs into a temporary store and score detection against LABELS (JSON lines).
    Detect(EvalDetectArgs),
    /// Score technique retrieval (hit@1, hit@3, MRR) on a queries file.
    Rag(EvalRagArgs),
}

#[derive(Debug, Args)]
pub struct BusBenchArgs {
    /// The log file whose lines are published (one message each).
    pub file: std::path::PathBuf,
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub nats: String,
    /// Subject of a line: `logs.<host>.auth`, the host being syslog's fourth field.
    #[arg(long, default_value = "logs")]
    pub prefix: String,
    /// Lines per second offered (0: as fast as the server acknowledges).
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// The engines' /health URLs, comma-separated (their stored counts are summed).
    #[arg(long, value_delimiter = ',')]
    pub health: Vec<String>,
    /// Stored events to wait for beyond what the engines held at the start.
    #[arg(long)]
    pub expect: Option<u64>,
}

#[derive(Debug, Args)]
pub struct FleetArgs {
    #[command(subcommand)]
    pub command: Option<FleetCommand>,
    /// The bus (one URL or a comma-separated cluster list).
    #[arg(
        long,
        value_name = "URL",
        global = true,
        default_value = "nats://127.0.0.1:4222"
    )]
    pub nats: String,
    /// The engines' `[output.nats] subject_prefix`.
    #[arg(long, global = true, default_value = "autosec")]
    pub prefix: String,
    /// How long to wait for engines to answer.
    #[arg(long, global = true, default_value_t = 1000, value_name = "MS")]
    pub wait_ms: u64,
    /// Print JSON (one object: engines, alerts, actions, each with its engine).
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Approve an action on the engine that owns it.
    Approve {
        id: u64,
        /// The owning engine (needed only when several engines have this action id).
        #[arg(long)]
        engine: Option<String>,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        confirm_closed: bool,
        /// Who approves (default: $USER); recorded as `nats:NAME`.
        #[arg(long = "as", value_name = "NAME")]
        by: Option<String>,
    },
    /// Reject an action on the engine that owns it.
    Reject {
        id: u64,
        #[arg(long)]
        engine: Option<String>,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long = "as", value_name = "NAME")]
        by: Option<String>,
    },
    /// Roll an action back on the engine that owns it.
    Rollback {
        id: u64,
        #[arg(long)]
        engine: Option<String>,
        #[arg(long = "as", value_name = "NAME")]
        by: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct ActionsArgs {
    #[command(subcommand)]
    pub command: Option<ActionsCommand>,
    /// Print JSON lines (every Action field).
    #[arg(long, global = true)]
    pub json: bool,
    /// Only actions in this state.
    #[arg(long, value_parser = by_name::<crate::domain::ActionState>(&[
        "proposed", "pending-approval", "sandboxed", "running", "executed", "failed", "rejected",
        "expired", "elapsed", "rolled-back", "suppressed",
    ]))]
    pub state: Option<crate::domain::ActionState>,
}

#[derive(Debug, Subcommand)]
pub enum ActionsCommand {
    /// Approve an action (RED or proposed): it runs (sandboxed unless live).
    Approve {
        id: u64,
        #[arg(long)]
        reason: Option<String>,
        /// Approve even though the action's alert was closed.
        #[arg(long)]
        confirm_closed: bool,
        /// Who approves (default: $USER).
        #[arg(long = "as", value_name = "NAME")]
        by: Option<String>,
    },
    /// Reject an action.
    Reject {
        id: u64,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long = "as", value_name = "NAME")]
        by: Option<String>,
    },
    /// Undo an action that is in effect.
    Rollback {
        id: u64,
        #[arg(long = "as", value_name = "NAME")]
        by: Option<String>,
    },
    /// Show one action with its preview and rollback preview.
    Show { id: u64 },
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Only alerts last seen at or after this time (RFC 3339).
    #[arg(long)]
    pub since: Option<String>,
    /// Only this alert.
    #[arg(long)]
    pub alert: Option<u64>,
    /// Output path; `X.md` and `X.html` are written next to each other.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the chain; exit 1 and name the first bad record if it was tampered with.
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// Write the chain as JSON lines (stdout, or --out FILE).
    Export {
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct EvalRagArgs {
    /// JSON lines: {"query": "...", "expected": ["T1110.001", ...]}; with --sigma, a folder of
    /// Sigma rules.
    pub queries: PathBuf,
    /// Build the queries from Sigma rules: title and description, expecting the rule's
    /// attack.tNNNN tags.
    #[arg(long)]
    pub sigma: bool,
    /// Only this ranking (default: every ranking the installed model allows).
    #[arg(long, value_parser = by_name::<Ranking>(RANKINGS))]
    pub ranking: Option<Ranking>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum IntelCommand {
    /// Import a feed (format detected): ATT&CK STIX 2.1, CISA KEV, NVD CVE 2.0, incidents JSONL.
    Import {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Search techniques, incidents and CVEs.
    Search {
        #[arg(required = true, value_name = "TEXT")]
        text: Vec<String>,
        /// Results to show.
        #[arg(short, default_value_t = 5)]
        k: usize,
        /// Ranking (default: `intel.ranking`; lexical without a model).
        #[arg(long, value_parser = by_name::<Ranking>(RANKINGS))]
        ranking: Option<Ranking>,
        /// Only this kind of document.
        #[arg(long, value_enum)]
        kind: Option<DocKindArg>,
        #[arg(long)]
        json: bool,
    },
    /// Model, documents per source, embedded passages and index state.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Measure embedding throughput, search latency and HNSW recall on this store's corpus.
    Bench {
        /// Queries (JSON lines as for `eval rag`) used for latency and recall.
        #[arg(long, default_value = "datasets/intel/queries.jsonl")]
        queries: PathBuf,
        /// Passages embedded for the throughput figure.
        #[arg(long, default_value_t = 256)]
        sentences: usize,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DocKindArg {
    Technique,
    Incident,
    Cve,
}

#[derive(Debug, Args)]
pub struct EvalDetectArgs {
    pub labels: PathBuf,
    #[arg(required = true)]
    pub paths: Vec<String>,
    #[arg(long)]
    pub json: bool,
    /// Write every flow's forest features and label (CSV) for an outside comparison
    /// (`benches/flows_sklearn.py`).
    #[arg(long, value_name = "FILE")]
    pub flow_features_out: Option<PathBuf>,
}

const RANKINGS: &[&str] = &["hybrid", "vector", "lexical"];

/// Engine enums are parsed by their serde names (written with dashes on the command line, as
/// clap writes its own): the engine layers do not depend on clap.
fn by_name<T>(names: &'static [&'static str]) -> impl clap::builder::TypedValueParser<Value = T>
where
    T: serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
{
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(names).try_map(|name: String| {
        serde_json::from_value::<T>(serde_json::Value::String(name.replace('-', "_")))
            .map_err(|e| e.to_string())
    })
}
