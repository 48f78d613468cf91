//! Scoring throughput of the Isolation Forest: 12 dims, 100 and 50 trees, psi = 256.

use std::hint::black_box;

use autosec::detect::iforest::{ForestParams, IsolationForest};
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

criterion_group!(benches, bench);
criterion_main!(benches);
