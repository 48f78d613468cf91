//! What an ingest run did: the figures printed at the end (text or one JSON object).

use std::collections::BTreeMap;

use serde::Serialize;

use super::source::FileError;

/// The result of `autosec ingest`. `events` counts events newly stored by this run, so a
/// re-run over the same files reports 0.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestSummary {
    /// Sources read (including ones found already up to date).
    pub files: u64,
    /// Sources skipped because an earlier run stored all of them.
    pub files_up_to_date: u64,
    /// Sources resumed from an earlier run's checkpoint.
    pub files_resumed: u64,
    /// Files whose last line has no newline yet: held back (not stored, not checkpointed
    /// past) until it ends, as `--follow` does.
    #[serde(default)]
    pub unfinished_last_lines: u64,
    pub events: u64,
    /// New events per format.
    pub formats: BTreeMap<String, u64>,
    pub rejected: u64,
    /// Rejected records per reason (`malformed_json`, `line_too_long` …).
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Blank lines skipped (counted, not stored).
    #[serde(default)]
    pub blank_lines: u64,
    /// Rejected records counted but not stored in the quarantine: past the cap of 10,000
    /// entries per source and run.
    #[serde(default)]
    pub quarantine_not_kept: u64,
    /// Files that could not be read at all.
    pub file_errors: Vec<FileError>,
    /// Bytes read from the inputs (compressed size for .gz).
    pub bytes: u64,
    pub seconds: f64,
    pub events_per_sec: f64,
    pub privacy: bool,
    /// Total events in the store after the run.
    pub stored_events: u64,
    /// Alerts raised or updated by detection over this run's events.
    pub alerts: usize,
    /// Seconds spent in detection (included in `seconds`).
    pub detect_seconds: f64,
    /// Alerts given (or refreshed with) threat-intel matches after detection.
    #[serde(default)]
    pub intel_alerts: usize,
    /// `hybrid`, `vector` or `lexical` (no embedding model); empty when none ran.
    #[serde(default)]
    pub intel_ranking: String,
    #[serde(default)]
    pub intel_seconds: f64,
    /// Whether retrieval read the embedding model's weights (false when every passage and
    /// query vector came from the store or the user's cache).
    #[serde(default)]
    pub intel_model_loaded: bool,
    /// Response actions recorded by this run, by state (proposed, pending_approval, sandboxed …).
    #[serde(default)]
    pub actions: BTreeMap<String, u64>,
    /// GREEN/YELLOW state-changing actions that ran by themselves (sandboxed or live).
    #[serde(default)]
    pub auto_actions: usize,
    /// `sandbox` or `live`; empty when the responder did not run.
    #[serde(default)]
    pub respond_mode: String,
    pub data_dir: String,
}

impl IngestSummary {
    /// Human-readable summary (all log-derived text passes the sanitiser).
    pub fn render_text(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "ingested {} new events from {} file(s) in {:.2}s ({:.0} events/s){}",
            self.events,
            self.files,
            self.seconds,
            self.events_per_sec,
            if self.privacy {
                ""
            } else {
                "  [PRIVACY OFF: raw values stored]"
            }
        );
        if !self.formats.is_empty() {
            let parts: Vec<String> = self
                .formats
                .iter()
                .map(|(f, n)| format!("{f} {n}"))
                .collect();
            let _ = writeln!(out, "  by format: {}", parts.join(", "));
        }
        if self.files_up_to_date > 0 || self.files_resumed > 0 {
            let _ = writeln!(
                out,
                "  {} file(s) already ingested, {} resumed from a checkpoint",
                self.files_up_to_date, self.files_resumed
            );
        }
        if self.blank_lines > 0 {
            let _ = writeln!(out, "  {} blank line(s) skipped", self.blank_lines);
        }
        if self.quarantine_not_kept > 0 {
            let _ = writeln!(
                out,
                "  {} rejected record(s) counted but not kept: over 10,000 for one source",
                self.quarantine_not_kept
            );
        }
        if self.unfinished_last_lines > 0 {
            let _ = writeln!(
                out,
                "  {} file(s) end in a line with no newline yet: held back until it ends",
                self.unfinished_last_lines
            );
        }
        if self.rejected > 0 {
            let parts: Vec<String> = self
                .rejected_by_reason
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            let _ = writeln!(
                out,
                "  rejected {} record(s), quarantined: {}",
                self.rejected,
                parts.join(", ")
            );
        }
        for e in &self.file_errors {
            let _ = writeln!(
                out,
                "  error: {}: {}",
                crate::sanitize::visible(&e.path),
                crate::sanitize::visible(&e.error)
            );
        }
        if self.alerts > 0 || self.detect_seconds > 0.0 {
            let _ = writeln!(
                out,
                "  detection: {} alert(s) raised or updated in {:.2}s (see: autosec alerts)",
                self.alerts, self.detect_seconds
            );
        }
        if self.intel_alerts > 0 {
            let _ = writeln!(
                out,
                "  intel: {} alert(s) matched to techniques, incidents and CVEs ({}) in {:.2}s",
                self.intel_alerts, self.intel_ranking, self.intel_seconds
            );
        }
        if !self.actions.is_empty() {
            let parts: Vec<String> = self
                .actions
                .iter()
                .map(|(state, n)| format!("{n} {state}"))
                .collect();
            let _ = writeln!(
                out,
                "  response ({}): {} (see: autosec actions)",
                self.respond_mode.to_uppercase(),
                parts.join(", ")
            );
        }
        let _ = writeln!(
            out,
            "  store: {} events in {}",
            self.stored_events,
            crate::sanitize::visible(&self.data_dir)
        );
        out
    }
}
