//! `/metrics` in the Prometheus text format: the HTTP side's counters and the hub's mirror.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use super::hub::Hub;

/// Counters only the HTTP side knows; the rest comes from the hub's mirror.
#[derive(Default)]
pub struct Metrics {
    pub http_events: AtomicU64,
    pub http_rejected: AtomicU64,
    pub http_requests_limited: AtomicU64,
    /// The NATS consumers' figures (zero without `[[ingest.nats]]`).
    pub bus: std::sync::Arc<crate::bus::BusStats>,
}

impl Metrics {
    pub fn count_limited(&self) {
        self.http_requests_limited.fetch_add(1, Ordering::Relaxed);
    }

    pub fn render(&self, hub: &Hub) -> String {
        let mut out = String::new();
        let (events, rejected) = hub.with(|m| (m.events, m.rejected));
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        counter(
            &mut out,
            "autosec_events_ingested_total",
            "Events stored (files, HTTP and NATS).",
            events,
        );
        counter(
            &mut out,
            "autosec_events_rejected_total",
            "Records quarantined.",
            rejected,
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
        let bus = &self.bus;
        let _ = writeln!(
            out,
            "# HELP autosec_nats_pending_messages Messages JetStream holds for this engine's consumers, not yet delivered.\n# TYPE autosec_nats_pending_messages gauge\nautosec_nats_pending_messages {}",
            bus.pending.load(Ordering::Relaxed)
        );
        counter(
            &mut out,
            "autosec_nats_messages_total",
            "NATS messages stored or quarantined, then acknowledged.",
            bus.messages.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "autosec_nats_redelivered_total",
            "NATS deliveries of messages already stored (acknowledged, not stored again).",
            bus.redelivered.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "autosec_nats_consumer_restarts_total",
            "NATS consumer sessions started again after an error.",
            bus.restarts.load(Ordering::Relaxed),
        );
        hub.with(|i| {
            let _ = writeln!(out, "# HELP autosec_alerts Alerts by severity and status.\n# TYPE autosec_alerts gauge");
            let mut by: HashMap<(&str, &str), u64> = HashMap::new();
            for a in i.alerts.values() {
                *by.entry((a.severity.as_str(), a.status.as_str())).or_default() += 1;
            }
            let mut keys: Vec<_> = by.into_iter().collect();
            keys.sort();
            for ((sev, status), n) in keys {
                let _ = writeln!(out, "autosec_alerts{{severity=\"{sev}\",status=\"{status}\"}} {n}");
            }
            let _ = writeln!(out, "# HELP autosec_actions Response actions by state.\n# TYPE autosec_actions gauge");
            let mut states: HashMap<&str, u64> = HashMap::new();
            for a in i.actions.values() {
                *states.entry(a.state.as_str()).or_default() += 1;
            }
            let mut states: Vec<_> = states.into_iter().collect();
            states.sort();
            for (s, n) in states {
                let _ = writeln!(out, "autosec_actions{{state=\"{s}\"}} {n}");
            }
            // Absent when detection is turned off: no lag, and no zero that looks like one.
            if let Some(lag) = i.lag() {
                let _ = writeln!(
                    out,
                    "# HELP autosec_detection_lag_events Stored events detection has not processed yet.\n# TYPE autosec_detection_lag_events gauge\nautosec_detection_lag_events {lag}"
                );
            }
            let idle = i.last_stored.map_or(-1.0, |t| t.elapsed().as_secs_f64());
            let _ = writeln!(out, "# HELP autosec_pipeline_idle_seconds Seconds since the pipeline last stored events (-1: never).\n# TYPE autosec_pipeline_idle_seconds gauge\nautosec_pipeline_idle_seconds {idle:.3}");
        });
        out
    }
}
