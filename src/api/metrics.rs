//! Counters for `/metrics` (Prometheus text format) and `/health`, fed by the pipeline's
//! events (the API has no screen to draw them on).

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::mpsc::UnboundedReceiver;

use crate::pipeline::{PipelineEvent, StatusPart};

#[derive(Default)]
pub struct Metrics {
    pub events: AtomicU64,
    pub rejected: AtomicU64,
    pub http_events: AtomicU64,
    pub http_rejected: AtomicU64,
    pub http_requests_limited: AtomicU64,
    /// Highest event id detection has processed.
    pub detected_through: AtomicU64,
    state: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    alerts: HashMap<u64, (String, String)>,
    actions: HashMap<u64, String>,
    last_stored: Option<Instant>,
    /// Highest stored event id seen.
    stored_through: u64,
    embedding: String,
    llm: String,
    detection: String,
}

impl Metrics {
    /// Stored events not yet through detection (for /health).
    pub fn lag(&self) -> u64 {
        let stored = self.with(|i| i.stored_through);
        stored.saturating_sub(self.detected_through.load(Ordering::Relaxed))
    }

    pub fn count_limited(&self) {
        self.http_requests_limited.fetch_add(1, Ordering::Relaxed);
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Seconds since the pipeline last stored something (None before the first batch).
    pub fn idle_seconds(&self) -> Option<f64> {
        self.with(|i| i.last_stored.map(|t| t.elapsed().as_secs_f64()))
    }

    /// Model and detection status, as the status bar would show them.
    pub fn engine(&self) -> (String, String, String) {
        self.with(|i| (i.embedding.clone(), i.llm.clone(), i.detection.clone()))
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        counter(
            &mut out,
            "autosec_events_ingested_total",
            "Events stored (files and HTTP).",
            self.events.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "autosec_events_rejected_total",
            "Records quarantined.",
            self.rejected.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "autosec_http_events_ingested_total",
            "Events stored from HTTP bodies.",
            self.http_events.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "autosec_http_events_rejected_total",
            "Records rejected from HTTP bodies.",
            self.http_rejected.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "autosec_http_requests_limited_total",
            "Requests refused by the rate limit.",
            self.http_requests_limited.load(Ordering::Relaxed),
        );
        self.with(|i| {
            let _ = writeln!(out, "# HELP autosec_alerts Alerts by severity and status.\n# TYPE autosec_alerts gauge");
            let mut by: HashMap<(&str, &str), u64> = HashMap::new();
            for (sev, status) in i.alerts.values() {
                *by.entry((sev, status)).or_default() += 1;
            }
            let mut keys: Vec<_> = by.into_iter().collect();
            keys.sort();
            for ((sev, status), n) in keys {
                let _ = writeln!(out, "autosec_alerts{{severity=\"{sev}\",status=\"{status}\"}} {n}");
            }
            let _ = writeln!(out, "# HELP autosec_actions Response actions by state.\n# TYPE autosec_actions gauge");
            let mut states: HashMap<&str, u64> = HashMap::new();
            for s in i.actions.values() {
                *states.entry(s).or_default() += 1;
            }
            let mut states: Vec<_> = states.into_iter().collect();
            states.sort();
            for (s, n) in states {
                let _ = writeln!(out, "autosec_actions{{state=\"{s}\"}} {n}");
            }
            let _ = writeln!(
                out,
                "# HELP autosec_detection_lag_events Stored events detection has not processed yet.\n# TYPE autosec_detection_lag_events gauge\nautosec_detection_lag_events {}",
                i.stored_through.saturating_sub(self.detected_through.load(Ordering::Relaxed))
            );
            let idle = i.last_stored.map_or(-1.0, |t| t.elapsed().as_secs_f64());
            let _ = writeln!(out, "# HELP autosec_pipeline_idle_seconds Seconds since the pipeline last stored events (-1: never).\n# TYPE autosec_pipeline_idle_seconds gauge\nautosec_pipeline_idle_seconds {idle:.3}");
        });
        out
    }
}

/// Fold pipeline events into the counters until the pipeline stops.
pub async fn consume(mut events: UnboundedReceiver<PipelineEvent>, m: std::sync::Arc<Metrics>) {
    while let Some(ev) = events.recv().await {
        match ev {
            PipelineEvent::Stored {
                stored,
                rejected,
                lines,
            } => {
                m.events.fetch_add(stored, Ordering::Relaxed);
                m.rejected.fetch_add(rejected, Ordering::Relaxed);
                if stored > 0 {
                    let newest = lines.iter().map(|l| l.id).max().unwrap_or(0);
                    m.with(|i| {
                        i.last_stored = Some(Instant::now());
                        i.stored_through = i.stored_through.max(newest);
                    });
                }
            }
            PipelineEvent::Alert(a) => m.with(|i| {
                let status = serde_json::to_value(a.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                i.alerts
                    .insert(a.alert_id, (a.severity.as_str().to_string(), status));
            }),
            PipelineEvent::Action(a) => m.with(|i| {
                i.actions.insert(a.action_id, a.state.as_str().to_string());
            }),
            PipelineEvent::Detected { through } => {
                m.detected_through.store(through, Ordering::Relaxed);
            }
            PipelineEvent::Status(part) => m.with(|i| match part {
                StatusPart::Embedding(t) => i.embedding = t,
                StatusPart::Llm(t) => i.llm = t,
                StatusPart::Detection(t) => i.detection = t,
            }),
            _ => {}
        }
    }
}
