//! The engine task: detection over what ingest stores, response to new and grown alerts, and
//! the front end's commands (decisions, alert status, explanation and evidence requests).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use anyhow::Result;
use chrono::Utc;
use crossbeam_channel::{Receiver, Sender};
use tokio::sync::mpsc::UnboundedSender;

use super::explainer::ExplainJob;
use super::{EngineCommand, EntityTimeline, Level, PipelineEvent, StatusPart, StreamLine};
use crate::config::Config;
use crate::detect::feed::Feed;
use crate::detect::{Detection, Mode};
use crate::domain::{Alert, AlertStatus};
use crate::respond::Responder;
use crate::store::Store;

pub(super) struct EngineCtx {
    pub store: Arc<Store>,
    pub config: Arc<Config>,
    pub data_dir: PathBuf,
    pub tx: UnboundedSender<PipelineEvent>,
    pub commands: Receiver<super::Request>,
    pub rag: Sender<u64>,
    pub explain: Sender<ExplainJob>,
    pub cancel: CancellationToken,
    pub ingest_idle: Arc<AtomicBool>,
    pub backlog: Arc<crate::ingest::Backlog>,
    pub first_new: u64,
    pub live: bool,
    pub demo: bool,
    /// Chunks the ingest writer stored, handed over with their views.
    pub feed: Option<Feed>,
}

/// Events stored before detection starts without waiting for the backlog (a source that
/// never pauses and had nothing at start).
/// Events detected per live step at most: a backlog is worked through in steps of about
/// half a second, with shutdown and commands checked between them.
const STEP_MAX: u64 = 32_768;
/// Events left to detect at shutdown that are still detected before stopping (about 0.3 s
/// at the engine's pace); more wait for the next start.
const FINAL_STEP_MAX: u64 = 20_000;
const START_BATCH: u64 = 100_000;
const STEP_EVERY: Duration = Duration::from_millis(500);
const TICK_EVERY: Duration = Duration::from_secs(5);
/// How long a stopping engine waits for live runs still out.
const LIVE_SETTLE_AT_STOP: Duration = Duration::from_millis(300);
/// Audit records sent at start (the view keeps the newest).
const AUDIT_BACKLOG: usize = 500;
/// Evidence events resolved for a timeline.
const TIMELINE_REFS: usize = 500;
const TIMELINE_EVENTS: usize = 200;
const TIMELINE_BUCKETS: usize = 40;

pub(super) fn run(mut ctx: EngineCtx) {
    let feed = ctx.feed.take();
    if let Err(e) = run_inner(&ctx, feed) {
        let _ = ctx.tx.send(PipelineEvent::Notice {
            level: Level::Error,
            text: format!("engine stopped: {e:#}"),
        });
    }
    let _ = ctx.store.flush();
}

struct Engine<'a> {
    ctx: &'a EngineCtx,
    responder: Responder<'a>,
    feed: Option<Feed>,
    /// The detection status line as set at start (the feed's share is added to it).
    detection_status: String,
}

fn run_inner(ctx: &EngineCtx, feed: Option<Feed>) -> Result<()> {
    let (responder, notice) =
        super::open::build_responder(&ctx.config, &ctx.data_dir, &ctx.store, ctx.live)?;
    if let Some(text) = notice {
        send(
            ctx,
            PipelineEvent::Notice {
                level: Level::Warn,
                text,
            },
        );
    }
    let mut engine = Engine {
        ctx,
        responder,
        feed,
        detection_status: String::new(),
    };
    engine.send_backlog()?;
    let mut detection: Option<Detection> = None;
    let mut last_step = Instant::now() - STEP_EVERY;
    let mut last_tick = Instant::now();
    // A bounded step left events behind: step again without waiting.
    let mut behind = false;
    loop {
        if ctx.cancel.is_cancelled() {
            break;
        }
        let wait = if behind {
            Duration::ZERO
        } else {
            Duration::from_millis(100)
        };
        // Live actions run on the responder's worker; their outcomes arrive here as messages.
        let never = crossbeam_channel::never();
        let finished = engine.responder.finished().unwrap_or(&never);
        crossbeam_channel::select! {
            recv(ctx.commands) -> req => match req {
                Ok(req) => {
                    let reply = engine.command(req.cmd)?;
                    if let Some(tx) = req.reply {
                        let _ = tx.send(reply);
                    }
                }
                Err(_) => break,
            },
            recv(finished) -> done => {
                if let Ok(done) = done {
                    engine.responder.apply(done)?;
                    engine.send_changes()?;
                }
            },
            default(wait) => {}
        }
        if behind || last_step.elapsed() >= STEP_EVERY {
            last_step = Instant::now();
            behind = engine.detect(&mut detection)?;
        }
        if last_tick.elapsed() >= TICK_EVERY {
            last_tick = Instant::now();
            if engine.responder.tick(Utc::now())? > 0 {
                engine.send_changes()?;
            }
            engine.send_feed_share();
        }
    }
    // What ingest stored before it stopped is still detected, so nothing read goes unseen:
    // now when it is little, else at the next start (the detection cursor says where to
    // resume), so stopping under load stays prompt.
    if let Some(d) = detection.as_mut() {
        let backlog = (ctx.store.event_count()? + 1).saturating_sub(d.next_id());
        if backlog <= FINAL_STEP_MAX {
            d.step_bounded(&ctx.store, u64::MAX, engine.feed.as_mut())?;
        } else {
            send(
                ctx,
                PipelineEvent::Notice {
                    level: Level::Info,
                    text: format!(
                        "{backlog} stored events are detected at the next start (stopping now)"
                    ),
                },
            );
        }
    }
    // Outcomes of live runs still out get a moment; the rest are marked interrupted at the next
    // start (their result is unknown then).
    if !engine
        .responder
        .settle_within(LIVE_SETTLE_AT_STOP)?
        .is_empty()
    {
        engine.send_changes()?;
    }
    engine.responder.audit().sync_head()?;
    Ok(())
}

fn send(ctx: &EngineCtx, event: PipelineEvent) {
    let _ = ctx.tx.send(event);
}

impl Engine<'_> {
    fn send_backlog(&mut self) -> Result<()> {
        for alert in crate::store::stored_alerts(&self.ctx.store)? {
            send(self.ctx, super::alert_event(alert));
        }
        // Everything stored so far once; from here on only what the responder changes.
        self.responder.take_changed()?;
        if !self.responder.audit().take_recent().is_empty() {
            // Opening the responder may have appended (runs left interrupted).
            self.responder.audit().sync_head()?;
        }
        for action in self.responder.actions()? {
            send(self.ctx, PipelineEvent::Action(Box::new(action)));
        }
        let records = self.responder.audit().newest(AUDIT_BACKLOG)?;
        if !records.is_empty() {
            send(self.ctx, PipelineEvent::Audit(records));
        }
        Ok(())
    }

    /// Detect over newly stored events; respond to alerts that are new or grew.
    /// One detection step; true when it stopped at its bound with stored events left.
    fn detect(&mut self, detection: &mut Option<Detection>) -> Result<bool> {
        // Turned off in the config: the pipeline's status says so from the start.
        if !self.ctx.config.detect.enabled {
            return Ok(false);
        }
        let store = &self.ctx.store;
        let changed = match detection {
            None => {
                // Detection starts from the store; what was fed before that is read there.
                if let Some(f) = self.feed.as_mut() {
                    f.discard();
                }
                let count = store.event_count()?;
                let new = (count + 1).saturating_sub(self.ctx.first_new);
                // The baseline is what the sources held at start (as batch ingest learns from
                // its whole batch); an idle source or a long stream starts it anyway.
                let ready = self.ctx.backlog.done()
                    || self.ctx.ingest_idle.load(Ordering::Relaxed)
                    || new >= START_BATCH;
                if new == 0 || !ready {
                    return Ok(false);
                }
                let (d, summary) = Detection::start(
                    store,
                    &self.ctx.config.detect,
                    self.ctx.first_new,
                    Mode::Fused,
                )?;
                let forest = if summary.forest_trained {
                    "forest trained"
                } else {
                    "forest waiting for a baseline"
                };
                self.detection_status =
                    format!("live ({forest}; {} events baseline)", summary.events);
                send(
                    self.ctx,
                    PipelineEvent::Status(StatusPart::Detection(self.detection_status.clone())),
                );
                send(
                    self.ctx,
                    PipelineEvent::Detected {
                        through: d.next_id().saturating_sub(1),
                    },
                );
                // The start's alerts as stored (the analyst may have triaged them before).
                let mut raised = Vec::new();
                for id in d.alert_ids() {
                    raised.extend(crate::store::stored_alert(store, id)?);
                }
                *detection = Some(d);
                raised
            }
            Some(d) => {
                let (events, changed) = d.step_bounded(store, STEP_MAX, self.feed.as_mut())?;
                let behind = events > 0 && d.next_id() <= store.event_count()?;
                if events > 0 {
                    send(
                        self.ctx,
                        PipelineEvent::Detected {
                            through: d.next_id().saturating_sub(1),
                        },
                    );
                }
                self.respond_to(changed)?;
                return Ok(behind);
            }
        };
        self.respond_to(changed)?;
        Ok(false)
    }

    /// Say how much of what detection saw since it started came from the writer's feed (the
    /// rest was read back from the store: the feed was full, or detection was behind).
    fn send_feed_share(&self) {
        let Some(f) = &self.feed else {
            return;
        };
        let total = f.fed_events + f.read_back_events;
        if total == 0 || self.detection_status.is_empty() {
            return;
        }
        let share = f.fed_events as f64 * 100.0 / total as f64;
        let text = format!("{}; {share:.0}% fed by the writer", self.detection_status);
        send(self.ctx, PipelineEvent::Status(StatusPart::Detection(text)));
    }

    /// Respond to alerts detection raised or grew (as stored, with the analyst's status), and
    /// send them to the front end and the retriever.
    fn respond_to(&mut self, alerts: Vec<Alert>) -> Result<()> {
        if alerts.is_empty() {
            return Ok(());
        }
        let ctx = crate::respond::Context {
            live_source: true,
            now: Utc::now(),
            assume_fresh: self.ctx.demo,
        };
        let mut summary = crate::respond::Summary::default();
        for alert in alerts {
            if alert.status != AlertStatus::Closed {
                self.responder.respond(&alert, &ctx, &mut summary)?;
            }
            let _ = self.ctx.rag.send(alert.alert_id);
            send(self.ctx, super::alert_event(alert));
        }
        self.send_changes()
    }

    /// Send actions whose state changed and new audit records (as the responder wrote
    /// them: nothing is read back).
    fn send_changes(&mut self) -> Result<()> {
        for action in self.responder.take_changed()? {
            send(self.ctx, PipelineEvent::Action(Box::new(action)));
        }
        let mut records = self.responder.audit().take_recent();
        if !records.is_empty() {
            let skip = records.len().saturating_sub(AUDIT_BACKLOG);
            send(self.ctx, PipelineEvent::Audit(records.split_off(skip)));
            self.responder.audit().sync_head()?;
        }
        Ok(())
    }

    /// Carry out one command; the reply is for callers that wait (the HTTP API).
    fn command(&mut self, cmd: EngineCommand) -> Result<super::Reply> {
        let now = Utc::now();
        let json = |a: &crate::domain::Action| serde_json::to_value(a).unwrap_or_default();
        let outcome: Result<(String, serde_json::Value)> = match cmd {
            EngineCommand::Approve {
                action_id,
                by,
                reason,
                confirm_closed,
            } => self
                .responder
                .approve(action_id, &by, reason, confirm_closed, now)
                .map(|a| {
                    let text =
                        format!("action #{action_id} approved by {by}: {}", a.state.as_str());
                    (text, json(&a))
                }),
            EngineCommand::Reject {
                action_id,
                by,
                reason,
            } => self
                .responder
                .reject(action_id, &by, reason, now)
                .map(|a| (format!("action #{action_id} rejected by {by}"), json(&a))),
            EngineCommand::Rollback { action_id, by } => {
                self.responder.rollback(action_id, &by, now).map(|a| {
                    let text = format!("action #{action_id} rolled back: {}", a.state.as_str());
                    (text, json(&a))
                })
            }
            EngineCommand::Acknowledge { alert_id } => {
                self.set_status(alert_id, AlertStatus::Acknowledged, None)
            }
            EngineCommand::Close { alert_id, reason } => {
                self.set_status(alert_id, AlertStatus::Closed, Some(reason))
            }
            EngineCommand::Explain {
                alert_id,
                regenerate,
            } => return self.explain(alert_id, regenerate),
            EngineCommand::Timeline { alert_id } => {
                self.timeline(alert_id)?;
                return Ok(Ok(serde_json::Value::Null));
            }
            EngineCommand::Event { event_id } => {
                self.event_json(event_id)?;
                return Ok(Ok(serde_json::Value::Null));
            }
        };
        // A decision or triage is durable before anyone is told it happened.
        self.ctx.store.flush()?;
        let reply = match outcome {
            Ok((text, value)) => {
                send(
                    self.ctx,
                    PipelineEvent::Notice {
                        level: Level::Info,
                        text,
                    },
                );
                Ok(value)
            }
            Err(e) => {
                send(
                    self.ctx,
                    PipelineEvent::Notice {
                        level: Level::Error,
                        text: format!("{e:#}"),
                    },
                );
                Err(super::Refusal::of(&e))
            }
        };
        self.send_changes()?;
        Ok(reply)
    }

    fn set_status(
        &self,
        id: u64,
        status: AlertStatus,
        reason: Option<crate::domain::CloseReason>,
    ) -> Result<(String, serde_json::Value)> {
        let alert = crate::store::update_alert(&self.ctx.store, id, |a| {
            a.status = status;
            a.close_reason = reason;
        })?
        .ok_or(super::Refusal::NoAlert(id))?;
        let value = serde_json::to_value(&alert)?;
        send(self.ctx, super::alert_event(alert));
        let text = match reason {
            Some(r) => format!(
                "alert #{id} closed ({})",
                serde_json::to_string(&r)?.trim_matches('"')
            ),
            None => format!("alert #{id} acknowledged"),
        };
        Ok((text, value))
    }

    /// Send (and return) the alert's explanation: the stored one when it has the model's
    /// text, else the template at once with the model queued behind it.
    fn explain(&mut self, alert_id: u64, regenerate: bool) -> Result<super::Reply> {
        let store = &self.ctx.store;
        if !regenerate && let Some(e) = crate::explain::load(store, alert_id)? {
            let has_text = e.generated.is_some();
            send(self.ctx, PipelineEvent::Explanation(Box::new(e.clone())));
            if has_text {
                return Ok(Ok(serde_json::to_value(&e)?));
            }
        }
        let e = match crate::explain::template_for(store, alert_id, &self.responder.actions()?) {
            Ok(e) => e,
            Err(err) => {
                send(
                    self.ctx,
                    PipelineEvent::Notice {
                        level: Level::Error,
                        text: format!("{err:#}"),
                    },
                );
                return Ok(Err(super::Refusal::of(&err)));
            }
        };
        crate::explain::save(store, &e)?;
        let value = serde_json::to_value(&e)?;
        send(self.ctx, PipelineEvent::Explanation(Box::new(e.clone())));
        let _ = self.ctx.explain.send(ExplainJob { explanation: e });
        Ok(Ok(value))
    }

    fn timeline(&self, alert_id: u64) -> Result<()> {
        if let Some(t) = timeline_of(&self.ctx.store, alert_id)? {
            send(self.ctx, PipelineEvent::Timeline(Box::new(t)));
        }
        Ok(())
    }

    fn event_json(&self, event_id: u64) -> Result<()> {
        let json = match self.ctx.store.event_by_id(event_id)? {
            Some(event) => serde_json::to_string_pretty(&event)?,
            None => super::missing_event_json(event_id),
        };
        send(self.ctx, PipelineEvent::EventJson { event_id, json });
        Ok(())
    }
}

/// An alert's evidence over time (None: no such alert). A read, so the API serves it without
/// the engine task.
pub fn timeline_of(store: &Store, alert_id: u64) -> Result<Option<EntityTimeline>> {
    let Some(alert) = crate::store::stored_alert(store, alert_id)? else {
        return Ok(None);
    };
    let refs = &alert.evidence[..alert.evidence.len().min(TIMELINE_REFS)];
    let mut events: Vec<_> = store.resolve_many(refs)?.into_iter().flatten().collect();
    events.sort_by_key(|e| (e.timestamp, e.id));
    let (from, to) = (alert.first_seen, alert.last_seen.max(alert.first_seen));
    let span = (to - from).num_milliseconds().max(1) as f64;
    let mut buckets = vec![0u64; TIMELINE_BUCKETS];
    for e in &events {
        let at = (e.timestamp - from).num_milliseconds().max(0) as f64 / span;
        let i = ((at * TIMELINE_BUCKETS as f64) as usize).min(TIMELINE_BUCKETS - 1);
        buckets[i] += 1;
    }
    let resolved = events.len() as u64;
    Ok(Some(EntityTimeline {
        alert_id,
        from,
        to,
        buckets,
        events: events
            .iter()
            .take(TIMELINE_EVENTS)
            .map(StreamLine::from_event)
            .collect(),
        unresolved: (alert.evidence.len() as u64 + alert.evidence_dropped).saturating_sub(resolved),
    }))
}
