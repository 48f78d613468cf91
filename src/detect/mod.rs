//! Detection: behaviour features per entity, the Isolation Forest, named ATT&CK detectors, and
//! their fusion into alerts. Runs inside `autosec ingest` over the events just stored.

pub mod alerts;
pub mod detectors;
pub mod engine;
pub mod feed;
pub mod flows;
pub mod iforest;
pub mod replay;
pub mod rules;
pub mod state;
#[cfg(test)]
mod tests;
pub mod window;

use std::time::Instant;

use serde::Serialize;

pub use crate::domain::{EventKind, EventView};
pub use engine::{Engine, Mode};

use crate::config::DetectConfig;
use crate::domain::Alert;
use crate::store::{Store, StoreError};
use alerts::AlertBook;
use feed::Feed;
use std::collections::HashMap;
use std::sync::Arc;

/// What a detection pass did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DetectSummary {
    pub events: u64,
    /// Alerts raised or updated by this pass.
    pub alerts: usize,
    pub forest_trained: bool,
    /// Distribution of forest scores over the batch (0 without a forest).
    pub score_p50: f32,
    pub score_p99: f32,
    pub score_max: f32,
    pub seconds: f64,
}

const FOREST_KEY: &str = "forest";
const FLOW_FOREST_KEY: &str = "flow_forest";
/// Events the detecting pass gathers before the forest scores them together.
const OBSERVE_BATCH: usize = 4096;

/// A detection run over a store: started over a batch of stored events, then stepped over
/// events as they are written (`ingest --follow`), with one engine state throughout.
pub struct Detection {
    engine: Engine,
    next_id: u64,
}

impl Detection {
    /// Detect over events with id ≥ `from_id`, in time order: a first pass learns behaviour and
    /// samples the forest's training set (the baseline window is the batch; a stored model is
    /// kept when the batch is too small to train on), a second pass scores, detects and raises
    /// alerts, which are stored.
    pub fn start(
        store: &Store,
        cfg: &DetectConfig,
        from_id: u64,
        mode: Mode,
    ) -> Result<(Detection, DetectSummary), StoreError> {
        Detection::start_scored(store, cfg, from_id, mode, |_, _, _| {})
    }

    /// `start`, also handing every event's forest score to `on_score` (evaluation).
    pub fn start_scored(
        store: &Store,
        cfg: &DetectConfig,
        from_id: u64,
        mode: Mode,
        mut on_score: impl FnMut(&std::sync::Arc<str>, &EventView, f32),
    ) -> Result<(Detection, DetectSummary), StoreError> {
        let started = Instant::now();
        let book =
            AlertBook::for_store(store, cfg.group_gap_minutes, cfg.max_evidence, from_id > 1)?;
        let mut engine = Engine::new(cfg.clone(), mode, book);
        engine.set_forests(
            load_forest(store, FOREST_KEY)?,
            load_forest(store, FLOW_FOREST_KEY)?,
        );
        let mut summary = DetectSummary::default();
        replay::replay(store, from_id, |_, v| engine.learn(v))?;
        if mode != Mode::DetectorsOnly {
            summary.forest_trained = engine.train();
            if summary.forest_trained {
                save_forests(store, &engine)?;
            }
        }
        engine.reset_behaviour();
        // Resuming after a stop or a crash: rebuild the behaviour windows from the events
        // stored just before the cursor, so a burst cut by a restart is counted whole, as one
        // run over the same lines counts it. Nothing is raised for these events again.
        let warm = replay::lookback_start(store, from_id, cfg.longest_window_minutes() * 60)?;
        if warm < from_id {
            replay::replay_range(store, warm, from_id, |source, v| {
                if v.id < from_id {
                    engine.warm(source, v);
                }
            })?;
        }
        let mut scores = Vec::new();
        let mut batch = Vec::with_capacity(OBSERVE_BATCH);
        let mut observed = |source: &Arc<str>, v: &EventView, score: f32| {
            on_score(source, v, score);
            scores.push(score);
        };
        let (events, next_id) = replay::replay_owned(store, from_id, |source, v| {
            batch.push((source.clone(), v));
            if batch.len() == OBSERVE_BATCH {
                engine.observe_many(&mut batch, &mut observed);
            }
        })?;
        engine.observe_many(&mut batch, &mut observed);
        scores.sort_by(|a, b| a.total_cmp(b));
        let q = |p: f64| {
            scores
                .get(((scores.len() as f64 - 1.0) * p) as usize)
                .copied()
                .unwrap_or(0.0)
        };
        (summary.score_p50, summary.score_p99, summary.score_max) = (q(0.5), q(0.99), q(1.0));
        summary.events = events;
        summary.alerts = engine.book.persist(store)?.len();
        store.set_detect_cursor(next_id)?;
        summary.seconds = started.elapsed().as_secs_f64();
        Ok((Detection { engine, next_id }, summary))
    }

    /// Detect over events stored since the last call; returns how many were processed and
    /// the alerts raised or grown, as stored.
    pub fn step(&mut self, store: &Store) -> Result<(u64, Vec<Alert>), StoreError> {
        self.step_bounded(store, u64::MAX, None)
    }

    /// As [`Detection::step`], over at most about `max_events` stored events (whole chunks):
    /// a live loop stays responsive to shutdown and commands under a backlog. Chunks the
    /// writer fed (`feed`) are detected from memory, the rest read from the store, in one
    /// merge: what detection raises does not depend on what the feed carried.
    pub fn step_bounded(
        &mut self,
        store: &Store,
        max_events: u64,
        mut feed: Option<&mut Feed>,
    ) -> Result<(u64, Vec<Alert>), StoreError> {
        let engine = &mut self.engine;
        let stored_end = store.event_count()? + 1;
        let run = match feed.as_deref_mut() {
            Some(f) => {
                f.refill(self.next_id);
                f.take_run(self.next_id, max_events)
            }
            None => Vec::new(),
        };
        let run_end = run
            .last()
            .map_or(self.next_id, |c| c.entry.chunk + u64::from(c.entry.count));
        let mut fed_events: u64 = run.iter().map(|c| c.views.len() as u64).sum();
        let observe = |source: &Arc<str>, v: &EventView| {
            engine.observe(source, v);
        };
        let (events, next_id) =
            if !run.is_empty() && (run_end >= stored_end || fed_events >= max_events) {
                replay::replay_fed(run, observe)?
            } else if self.next_id < stored_end {
                // Part of what is stored did not come through the feed (its queue was full, or
                // the writer has not handed it over yet): read that part back.
                let until = self.next_id.saturating_add(max_events);
                let mut held: HashMap<u64, Vec<EventView>> =
                    run.into_iter().map(|c| (c.entry.chunk, c.views)).collect();
                if let Some(f) = feed.as_deref_mut() {
                    held.extend(f.take_before(until).map(|c| (c.entry.chunk, c.views)));
                }
                fed_events = held.values().map(|v| v.len() as u64).sum();
                replay::replay_range_with(store, self.next_id, until, held, observe)?
            } else {
                (0, self.next_id)
            };
        if let Some(f) = feed {
            f.fed_events += fed_events;
            f.read_back_events += events.saturating_sub(fed_events);
        }
        self.next_id = next_id;
        let changed = engine.book.persist(store)?;
        store.set_detect_cursor(next_id)?;
        Ok((events, changed))
    }

    /// Events with ids below this have been through detection.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Every alert this run raised or updated.
    pub fn alerts(&self) -> Vec<Alert> {
        self.engine.book.all()
    }

    /// The ids of every alert this run raised or updated.
    pub fn alert_ids(&self) -> Vec<u64> {
        self.engine.book.ids()
    }
}

fn load_forest(store: &Store, key: &str) -> Result<Option<iforest::IsolationForest>, StoreError> {
    Ok(store
        .models
        .get(key)?
        .and_then(|b| serde_json::from_slice(&b).ok()))
}

fn save_forests(store: &Store, engine: &Engine) -> Result<(), StoreError> {
    let (forest, flow) = engine.forests();
    for (key, f) in [(FOREST_KEY, forest), (FLOW_FOREST_KEY, flow)] {
        if let Some(f) = f {
            let json = serde_json::to_vec(f).map_err(|e| StoreError::Corrupt {
                tree: "models",
                detail: e.to_string(),
            })?;
            store.models.insert(key, json)?;
        }
    }
    Ok(())
}

/// Two representative views (a failed sshd login, a CloudTrail call): the base of hand-built
/// events in tests and benchmarks.
pub fn bench_fixtures() -> (EventView, EventView) {
    use crate::domain::{Format, Status};
    let base = EventView {
        id: 0,
        ts: 0,
        line: Some(1),
        record_id: None,
        ip: None,
        network: None,
        user: None,
        action: String::new(),
        resource: "web-1/sshd".into(),
        status: Status::Failed,
        format: Format::Syslog,
        kind: EventKind::Login,
        agent: None,
        region: None,
        service: None,
        error: None,
        user_type: None,
        mfa: None,
        target: None,
        admin_grant: false,
        weakens_logging: false,
        bucket: None,
        invalid_user: false,
        attempts: 1,
        dst: None,
        dst_port: None,
        flow: Vec::new(),
        rules: Vec::new(),
    };
    let api = EventView {
        status: Status::Success,
        format: Format::Cloudtrail,
        kind: EventKind::ApiCall,
        agent: Some("aws-cli/2.15.0".into()),
        region: Some("us-east-1".into()),
        service: Some("s3.amazonaws.com".into()),
        bucket: Some("reports".into()),
        record_id: Some("e".into()),
        ..base.clone()
    };
    (base, api)
}
