//! `observe` over many events at once, with the same results: each event's behaviour update
//! and features come first, in order; then the forest scores the rows together (tree by tree
//! over blocks of rows, which keeps a tree's nodes in cache, on two threads); then each event
//! is concluded in order. Scoring was most of the detecting pass, and that pass is one thread.

use std::sync::Arc;

use super::{Engine, Prepared};
use crate::detect::iforest::IsolationForest;
use crate::domain::{EventKind, EventView};

/// Below this many rows a second thread costs more than it saves.
const SPLIT_AT: usize = 512;

impl Engine {
    /// `observe` for every event of `batch`, in order, handing each score to `on_score`; the
    /// batch is left empty. Alerts, scores and state are exactly those of one `observe` per
    /// event: a retrain changes the forest, so a batch is cut where one falls due.
    pub fn observe_many(
        &mut self,
        batch: &mut Vec<(Arc<str>, EventView)>,
        mut on_score: impl FnMut(&Arc<str>, &EventView, f32),
    ) {
        let mut start = 0;
        while start < batch.len() {
            let to_retrain = self
                .cfg
                .forest
                .retrain_every
                .saturating_sub(self.since_train)
                .max(1);
            let end = batch
                .len()
                .min(start.saturating_add(usize::try_from(to_retrain).unwrap_or(usize::MAX)));
            let segment = &batch[start..end];
            let prepared: Vec<Prepared> = segment.iter().map(|(_, v)| self.prepare(v)).collect();
            let scores = self.score_prepared(segment, &prepared);
            for (((source, v), p), score) in segment.iter().zip(prepared).zip(scores) {
                self.conclude(source, v, p, score);
                on_score(source, v, score);
            }
            start = end;
        }
        batch.clear();
    }

    /// Each prepared event's score (0 where no forest scores it), as `observe` gives it.
    fn score_prepared(&self, events: &[(Arc<str>, EventView)], prepared: &[Prepared]) -> Vec<f32> {
        let mut scores = vec![0.0; prepared.len()];
        for flows in [false, true] {
            let mut which = Vec::new();
            let mut rows: Vec<&[f32]> = Vec::new();
            let mut forest = None;
            for (i, ((_, v), p)) in events.iter().zip(prepared).enumerate() {
                if (v.kind == EventKind::Flow) != flows {
                    continue;
                }
                if let Some(f) = self.scorer(flows, p.x.len()) {
                    forest = Some(f);
                    which.push(i);
                    rows.push(&p.x);
                }
            }
            if let Some(forest) = forest {
                for (i, s) in which.into_iter().zip(score_split(forest, &rows)) {
                    scores[i] = s;
                }
            }
        }
        scores
    }
}

/// `forest.score_many(rows)`, its halves on two threads when there are enough rows.
fn score_split(forest: &IsolationForest, rows: &[&[f32]]) -> Vec<f32> {
    if rows.len() < SPLIT_AT {
        return forest.score_many(rows);
    }
    let (first, second) = rows.split_at(rows.len() / 2);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| forest.score_many(second));
        let mut scores = forest.score_many(first);
        match other.join() {
            Ok(rest) => scores.extend(rest),
            Err(panic) => std::panic::resume_unwind(panic),
        }
        scores
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::super::{Engine, Mode};
    use crate::config::Config;
    use crate::detect::alerts::AlertBook;
    use crate::domain::{EventKind, EventView, Status};

    /// A seeded mix: logins (some failing in bursts), API calls and flows, over many
    /// sources and accounts, a few seconds apart.
    fn stream(n: usize) -> Vec<(Arc<str>, EventView)> {
        let (base, api) = crate::detect::bench_fixtures();
        let sources: [Arc<str>; 3] = [
            Arc::from("auth.log"),
            Arc::from("trail"),
            Arc::from("flows"),
        ];
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        (0..n)
            .map(|i| {
                let ts = 1_715_000_000_000 + i as i64 * 2_000;
                let ip = format!("IP_ADDRESS_{}", rng.random_range(1..40));
                let user = format!("USER_{}", rng.random_range(1..25));
                let (source, mut v) = match rng.random_range(0..10) {
                    0..=3 => {
                        let failed = i % 400 < 40 || rng.random_bool(0.1);
                        let status = if failed {
                            Status::Failed
                        } else {
                            Status::Success
                        };
                        (
                            0,
                            EventView {
                                status,
                                ..base.clone()
                            },
                        )
                    }
                    4..=7 => {
                        let action = ["GetObject", "ListBuckets", "CreateUser", "PutBucketPolicy"]
                            [rng.random_range(0..4)];
                        (
                            1,
                            EventView {
                                action: action.into(),
                                ..api.clone()
                            },
                        )
                    }
                    _ => {
                        let flow = (0..4).map(|_| rng.random_range(0.0..1e4)).collect();
                        let v = EventView {
                            kind: EventKind::Flow,
                            dst: Some(format!("IP_ADDRESS_{}", rng.random_range(40..50))),
                            dst_port: Some(rng.random_range(1..2000)),
                            flow,
                            ..base.clone()
                        };
                        (2, v)
                    }
                };
                v.id = i as u64 + 1;
                v.ts = ts;
                v.ip = Some(ip);
                v.user = (v.kind != EventKind::Flow).then_some(user);
                (sources[source].clone(), v)
            })
            .collect()
    }

    /// An engine that learnt `events` and trained, retraining every `retrain_every` events.
    fn trained(events: &[(Arc<str>, EventView)], retrain_every: u64) -> Engine {
        let mut cfg = Config::defaults().expect("defaults").detect;
        cfg.forest.retrain_every = retrain_every;
        cfg.forest.train_min = 256;
        let book = AlertBook::new(cfg.group_gap_minutes, cfg.max_evidence, 1);
        let mut engine = Engine::new(cfg, Mode::Fused, book);
        for (_, v) in events {
            engine.learn(v);
        }
        assert!(engine.train(), "too little to train on");
        engine.reset_behaviour();
        engine
    }

    #[test]
    fn scoring_a_batch_together_changes_no_score_alert_or_retrain() {
        let events = stream(6_000);
        // Retrains fall inside batches (1,500 events apart, batches of 1,000).
        let mut one_by_one = trained(&events, 1_500);
        let mut batched = trained(&events, 1_500);
        let expected: Vec<f32> = events
            .iter()
            .map(|(s, v)| one_by_one.observe(s, v))
            .collect();
        let mut got = Vec::new();
        for part in events.chunks(1_000) {
            let mut batch = part.to_vec();
            batched.observe_many(&mut batch, |_, _, score| got.push(score));
            assert!(batch.is_empty());
        }
        let bits = |s: &[f32]| s.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&expected));
        assert!(expected.iter().any(|&s| s > 0.0), "nothing was scored");
        let alerts = |e: &Engine| serde_json::to_string(&e.book.all()).expect("alerts");
        assert!(!one_by_one.book.all().is_empty(), "nothing was raised");
        assert_eq!(alerts(&batched), alerts(&one_by_one));
        assert_eq!(batched.thresholds(), one_by_one.thresholds());
    }
}
