//! Scoring throughput of the Isolation Forest: 12 dims, 100 and 50 trees, psi = 256.

use std::hint::black_box;

use std::sync::Arc;

use autosec::config::Config;
use autosec::detect::alerts::AlertBook;
use autosec::detect::iforest::{ForestParams, IsolationForest};
use autosec::detect::{Engine, EventView, Mode};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const DIMS: usize = 12;
const QUERIES: usize = 4096;

fn data(n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            (0..DIMS)
                .map(|d| {
                    // Sum of uniforms: a peaked, Gaussian-like cloud with per-dim scales.
                    let s: f32 = (0..4).map(|_| rng.random::<f32>()).sum::<f32>() - 2.0;
                    s * (1.0 + d as f32 * 0.25)
                })
                .collect()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let train = data(10_000, 1);
    let mut queries = data(QUERIES, 2);
    // A few outliers so walks are not all alike.
    for q in queries.iter_mut().step_by(50) {
        q.iter_mut().for_each(|v| *v *= 8.0);
    }
    let mut group = c.benchmark_group("iforest_score");
    group.throughput(Throughput::Elements(QUERIES as u64));
    for trees in [100, 50] {
        let params = ForestParams {
            trees,
            ..ForestParams::default()
        };
        let Ok(forest) = IsolationForest::train(&train, &params) else {
            return;
        };
        group.bench_function(format!("score/{trees}_trees"), |b| {
            b.iter(|| {
                let mut acc = 0.0f32;
                for q in &queries {
                    acc += forest.score(black_box(q));
                }
                acc
            })
        });
        group.bench_function(format!("score_many/{trees}_trees"), |b| {
            b.iter(|| forest.score_many(black_box(&queries)))
        });
    }
    group.finish();

    c.bench_function("iforest_train/100_trees_10k_rows", |b| {
        b.iter(|| IsolationForest::train(black_box(&train), &ForestParams::default()))
    });
}

/// A realistic mix of views: logins from many sources, API calls by a few hundred accounts.
fn views(n: usize) -> Vec<EventView> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (logins, apis) = autosec::detect::bench_fixtures();
    (0..n)
        .map(|i| {
            let mut v = if i % 3 == 0 {
                logins.clone()
            } else {
                apis.clone()
            };
            v.id = i as u64 + 1;
            v.ts = 1_715_000_000_000 + i as i64 * 50;
            v.ip = Some(format!("IP_ADDRESS_{}", rng.random_range(0..5_000)));
            v.user = Some(format!("USER_{}", rng.random_range(0..400)));
            v.action = ["GetObject", "ListBuckets", "DescribeInstances", "login"]
                [rng.random_range(0..4)]
            .to_string();
            v
        })
        .collect()
}

/// Per-event detection cost: feature/window updates alone, and the whole path (features,
/// forest score, detectors, alert fusion).
fn engine(c: &mut Criterion) {
    let cfg = Config::defaults().map(|c| c.detect);
    let Ok(cfg) = cfg else { return };
    let events = views(50_000);
    let source: Arc<str> = Arc::from("bench.log");
    let mut group = c.benchmark_group("detect");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.bench_function("feature_updates", |b| {
        b.iter(|| {
            let mut e = Engine::new(
                cfg.clone(),
                Mode::DetectorsOnly,
                AlertBook::new(30, 10_000, 1),
            );
            for v in &events {
                e.learn(black_box(v));
            }
        })
    });
    let mut trained = Engine::new(cfg.clone(), Mode::Fused, AlertBook::new(30, 10_000, 1));
    for v in &events {
        trained.learn(v);
    }
    trained.train();
    let (forest, flows) = trained.forests();
    let (forest, flows) = (forest.cloned(), flows.cloned());
    group.bench_function("observe_fused", |b| {
        b.iter(|| {
            let mut e = Engine::new(cfg.clone(), Mode::Fused, AlertBook::new(30, 10_000, 1));
            e.set_forests(forest.clone(), flows.clone());
            for v in &events {
                e.observe(&source, black_box(v));
            }
        })
    });
    // The detecting pass's way: batches of 4,096, scored together on two threads.
    let sourced: Vec<(Arc<str>, EventView)> =
        events.iter().map(|v| (source.clone(), v.clone())).collect();
    group.bench_function("observe_many_fused", |b| {
        b.iter_batched(
            || sourced.clone(),
            |all| {
                let mut e = Engine::new(cfg.clone(), Mode::Fused, AlertBook::new(30, 10_000, 1));
                e.set_forests(forest.clone(), flows.clone());
                for part in all.chunks(4_096) {
                    let mut batch = part.to_vec();
                    e.observe_many(&mut batch, |_, _, s| {
                        black_box(s);
                    });
                }
            },
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench, engine
}
criterion_main!(benches);
