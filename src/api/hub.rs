//! The owner's event hub. Every pipeline event passes through it on its way to the owner's
//! front end (the console, or nothing under `serve`) and to attached clients
//! (`GET /api/v1/stream`). It mirrors what a newcomer needs to start from the same picture —
//! totals, engine status, alerts, actions, the audit tail, recent log lines — and that mirror
//! also feeds `/health` and `/metrics`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::broadcast;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::domain::{Action, Alert};
use crate::pipeline::{EngineStatus, PipelineEvent, StatusPart, StreamLine};
use crate::respond::audit::AuditRecord;

/// Events buffered per subscriber before it counts as lagging (and is resynchronised).
const SUBSCRIBER_BUFFER: usize = 1024;
/// Audit records and log lines a newcomer gets (the console keeps as many audit records).
const AUDIT_TAIL: usize = 500;
const LINES_TAIL: usize = 200;
/// Log lines forwarded per message to subscribers: an attached console over SSH needs the
/// newest few, not the owner's 5,000-line ring every 100 ms.
const LINES_PER_MESSAGE: usize = 200;

pub struct Hub {
    tx: broadcast::Sender<Arc<PipelineEvent>>,
    mirror: Mutex<Mirror>,
    /// Set when the owner stops: open streams end so the servers can finish.
    closed: tokio::sync::watch::Sender<bool>,
}

/// The picture so far. Alerts arrive without evidence refs, as the console receives them.
#[derive(Default)]
pub struct Mirror {
    pub status: EngineStatus,
    pub events: u64,
    pub rejected: u64,
    /// Highest stored event id seen.
    pub stored_through: u64,
    /// Highest event id detection has processed.
    pub detected_through: u64,
    pub last_stored: Option<Instant>,
    pub alerts: BTreeMap<u64, Alert>,
    pub actions: BTreeMap<u64, Action>,
    pub audit: VecDeque<AuditRecord>,
    pub lines: VecDeque<StreamLine>,
}

impl Mirror {
    /// Stored events not yet through detection; None when detection is turned off (nothing
    /// is behind it).
    pub fn lag(&self) -> Option<u64> {
        (!self.status.detection_off)
            .then(|| self.stored_through.saturating_sub(self.detected_through))
    }

    fn observe(&mut self, ev: &PipelineEvent) {
        match ev {
            PipelineEvent::Stored {
                stored,
                rejected,
                lines,
            } => {
                self.events += stored;
                self.rejected += rejected;
                if *stored > 0 {
                    self.last_stored = Some(Instant::now());
                    let newest = lines.iter().map(|l| l.id).max().unwrap_or(0);
                    self.stored_through = self.stored_through.max(newest);
                }
                for l in lines.iter().skip(lines.len().saturating_sub(LINES_TAIL)) {
                    if self.lines.len() == LINES_TAIL {
                        self.lines.pop_front();
                    }
                    self.lines.push_back(l.clone());
                }
            }
            PipelineEvent::Alert(a) => {
                self.alerts.insert(a.alert_id, (**a).clone());
            }
            PipelineEvent::Action(a) => {
                self.actions.insert(a.action_id, (**a).clone());
            }
            PipelineEvent::Audit(records) => {
                for r in records {
                    if self.audit.len() == AUDIT_TAIL {
                        self.audit.pop_front();
                    }
                    self.audit.push_back(r.clone());
                }
            }
            PipelineEvent::Detected { through } => self.detected_through = *through,
            PipelineEvent::Status(part) => match part {
                StatusPart::Embedding(t) => self.status.embedding = t.clone(),
                StatusPart::Llm(t) => self.status.llm = t.clone(),
                StatusPart::Detection(t) => self.status.detection = t.clone(),
            },
            PipelineEvent::Totals { events, rejected } => {
                self.events = *events;
                self.rejected = *rejected;
            }
            _ => {}
        }
    }

    /// The events that bring an empty console to this picture.
    fn replay(&self) -> Vec<PipelineEvent> {
        let mut out = vec![
            PipelineEvent::Totals {
                events: self.events,
                rejected: self.rejected,
            },
            PipelineEvent::Detected {
                through: self.detected_through,
            },
        ];
        out.extend(
            self.alerts
                .values()
                .map(|a| PipelineEvent::Alert(Box::new(a.clone()))),
        );
        out.extend(
            self.actions
                .values()
                .map(|a| PipelineEvent::Action(Box::new(a.clone()))),
        );
        if !self.audit.is_empty() {
            out.push(PipelineEvent::Audit(self.audit.iter().cloned().collect()));
        }
        if !self.lines.is_empty() {
            out.push(PipelineEvent::Stored {
                stored: 0,
                rejected: 0,
                lines: self.lines.iter().cloned().collect(),
            });
        }
        out
    }
}

/// What a new subscriber gets: the owner's status, the replay, then live events.
pub struct Subscription {
    pub status: EngineStatus,
    pub replay: Vec<PipelineEvent>,
    pub live: broadcast::Receiver<Arc<PipelineEvent>>,
}

impl Hub {
    pub fn new(status: EngineStatus) -> Hub {
        Hub {
            tx: broadcast::channel(SUBSCRIBER_BUFFER).0,
            mirror: Mutex::new(Mirror {
                status,
                ..Mirror::default()
            }),
            closed: tokio::sync::watch::channel(false).0,
        }
    }

    /// Read the mirror.
    pub fn with<T>(&self, f: impl FnOnce(&Mirror) -> T) -> T {
        f(&self.mirror.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Record one event and pass it to subscribers. The mirror's lock is held across the
    /// send, so a subscriber's replay and its live events neither overlap nor leave a gap.
    pub fn publish(&self, ev: &PipelineEvent) {
        let mut mirror = self.mirror.lock().unwrap_or_else(|p| p.into_inner());
        mirror.observe(ev);
        if self.tx.receiver_count() == 0 {
            return;
        }
        let shared = match ev {
            PipelineEvent::Stored {
                stored,
                rejected,
                lines,
            } if lines.len() > LINES_PER_MESSAGE => PipelineEvent::Stored {
                stored: *stored,
                rejected: *rejected,
                lines: lines[lines.len() - LINES_PER_MESSAGE..].to_vec(),
            },
            other => other.clone(),
        };
        let _ = self.tx.send(Arc::new(shared));
    }

    pub fn subscribe(&self) -> Subscription {
        let mirror = self.mirror.lock().unwrap_or_else(|p| p.into_inner());
        Subscription {
            live: self.tx.subscribe(),
            status: mirror.status.clone(),
            replay: mirror.replay(),
        }
    }

    /// The owner is stopping: end every open stream.
    pub fn close(&self) {
        let _ = self.closed.send(true);
    }

    /// Resolves once [`Hub::close`] was called.
    pub async fn closing(&self) {
        let mut rx = self.closed.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }
}

/// Put a hub between the pipeline and its front end: the pipeline's events go through the
/// hub, then to `local` (the owner's console) if there is one.
pub fn start(
    pipeline: &mut crate::pipeline::Pipeline,
    local: Option<UnboundedSender<PipelineEvent>>,
) -> (Arc<Hub>, tokio::task::JoinHandle<()>) {
    let hub = Arc::new(Hub::new(pipeline.status.clone()));
    let events = std::mem::replace(
        &mut pipeline.events,
        tokio::sync::mpsc::unbounded_channel().1,
    );
    let task = tokio::spawn(fan_out(hub.clone(), events, local));
    (hub, task)
}

/// Pass the pipeline's events through the hub, then on to the owner's front end if it has
/// one. Ends (and closes the hub) when the pipeline stops.
async fn fan_out(
    hub: Arc<Hub>,
    mut events: UnboundedReceiver<PipelineEvent>,
    local: Option<UnboundedSender<PipelineEvent>>,
) {
    while let Some(ev) = events.recv().await {
        hub.publish(&ev);
        if let Some(tx) = &local {
            let _ = tx.send(ev);
        }
    }
    hub.close();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(n: u64, first: u64) -> PipelineEvent {
        let lines = (first..first + n)
            .map(|id| StreamLine {
                id,
                timestamp: chrono::Utc::now(),
                format: crate::domain::Format::Jsonl,
                status: crate::domain::Status::Success,
                source_ip: String::new(),
                user: String::new(),
                action: "login".into(),
                resource: String::new(),
                source: "x".into(),
            })
            .collect();
        PipelineEvent::Stored {
            stored: n,
            rejected: 1,
            lines,
        }
    }

    #[test]
    fn a_subscriber_gets_the_totals_so_far_then_only_later_events_trimmed() {
        let hub = Hub::new(EngineStatus::default());
        hub.publish(&stored(1000, 1));
        hub.publish(&PipelineEvent::Detected { through: 900 });
        let mut sub = hub.subscribe();
        assert!(matches!(
            sub.replay[0],
            PipelineEvent::Totals {
                events: 1000,
                rejected: 1
            }
        ));
        let PipelineEvent::Stored { lines, .. } = sub.replay.last().expect("lines") else {
            panic!("the replay ends with recent lines");
        };
        assert_eq!(lines.len(), LINES_TAIL);
        assert_eq!(lines.last().map(|l| l.id), Some(1000));
        assert!(sub.live.try_recv().is_err(), "nothing live yet");
        hub.publish(&stored(1000, 1001));
        let ev = sub.live.try_recv().expect("a live event");
        let PipelineEvent::Stored { stored, lines, .. } = &*ev else {
            panic!("stored");
        };
        assert_eq!((*stored, lines.len()), (1000, LINES_PER_MESSAGE));
        assert_eq!(hub.with(|m| (m.events, m.lag())), (2000, Some(1100)));
        // Detection turned off: the same events leave no lag to report.
        let off = Hub::new(EngineStatus {
            detection_off: true,
            ..EngineStatus::default()
        });
        off.publish(&self::stored(1000, 1001));
        assert_eq!(off.with(|m| (m.events, m.lag())), (1000, None));
    }

    #[test]
    fn events_survive_the_wire_as_the_stream_sends_them() {
        let events = vec![
            stored(2, 7),
            PipelineEvent::Status(StatusPart::Embedding("lexical".into())),
            PipelineEvent::Notice {
                level: crate::pipeline::Level::Warn,
                text: "\u{1b}[2J hostile".into(),
            },
            PipelineEvent::Draft {
                alert_id: 3,
                text: "draft".into(),
            },
            PipelineEvent::Totals {
                events: 5,
                rejected: 1,
            },
            PipelineEvent::Audit(Vec::new()),
        ];
        for ev in events {
            let wire = serde_json::to_string(&ev).expect("encode");
            let back: PipelineEvent = serde_json::from_str(&wire).expect("decode");
            assert_eq!(serde_json::to_string(&back).expect("encode"), wire);
        }
    }

    #[test]
    fn status_parts_update_the_status_a_newcomer_sees() {
        let hub = Hub::new(EngineStatus {
            llm: "loading…".into(),
            ..EngineStatus::default()
        });
        hub.publish(&PipelineEvent::Status(StatusPart::Llm("local:x".into())));
        assert_eq!(hub.subscribe().status.llm, "local:x");
    }
}
