use super::*;
use proptest::prelude::*;

#[derive(Deserialize)]
struct Fixture {
    dims: usize,
    rows: Vec<Vec<f32>>,
    labels: Vec<u8>,
    sklearn_scores: Vec<f64>,
    sklearn_auc: f64,
}

fn fixture() -> Fixture {
    serde_json::from_str(include_str!(
        "../../../tests/fixtures/iforest_reference.json"
    ))
    .unwrap()
}

fn params(seed: u64) -> ForestParams {
    ForestParams {
        seed,
        ..ForestParams::default()
    }
}

fn auc(labels: &[u8], scores: &[f32]) -> f64 {
    let y: Vec<f64> = labels.iter().map(|&l| f64::from(l)).collect();
    let s: Vec<f64> = scores.iter().map(|&v| f64::from(v)).collect();
    smartcore::metrics::roc_auc_score(&y, &s)
}

/// Ranks starting at 1, ties get their average rank.
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && v[order[j]] == v[order[i]] {
            j += 1;
        }
        let avg = (i + j + 1) as f64 / 2.0;
        for &k in &order[i..j] {
            r[k] = avg;
        }
        i = j;
    }
    r
}

fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        cov += (x - ma) * (y - mb);
        va += (x - ma) * (x - ma);
        vb += (y - mb) * (y - mb);
    }
    cov / (va * vb).sqrt()
}

#[test]
fn spearman_helper_sanity() {
    assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]) - 1.0).abs() < 1e-12);
    assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
    assert_eq!(ranks(&[5.0, 1.0, 5.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
}

#[test]
fn average_path_length_known_values() {
    assert_eq!(average_path_length(0), 0.0);
    assert_eq!(average_path_length(1), 0.0);
    assert_eq!(average_path_length(2), 1.0);
    assert!((average_path_length(256) - 10.2447).abs() < 1e-4);
    // 2(ln 2 + gamma) - 4/3
    assert!((average_path_length(3) - 1.207_392_357_589_3).abs() < 1e-9);
    assert_eq!(height_limit(1), 0);
    assert_eq!(height_limit(2), 1);
    assert_eq!(height_limit(3), 2);
    assert_eq!(height_limit(256), 8);
    assert_eq!(height_limit(257), 9);
}

#[test]
fn auc_matches_sklearn_for_several_seeds() {
    let fx = fixture();
    assert_eq!(fx.rows.len(), fx.labels.len());
    assert!(fx.rows.iter().all(|r| r.len() == fx.dims));
    for seed in [0, 1, 2, 3, 4] {
        let forest = IsolationForest::train(&fx.rows, &params(seed)).unwrap();
        let ours = auc(&fx.labels, &forest.score_many(&fx.rows));
        eprintln!(
            "seed {seed}: AUC ours {ours:.4} sklearn {:.4}",
            fx.sklearn_auc
        );
        assert!(
            (ours - fx.sklearn_auc).abs() <= 0.02,
            "seed {seed}: {ours} vs {}",
            fx.sklearn_auc
        );
    }
}

#[test]
fn ranks_agree_with_sklearn() {
    let fx = fixture();
    for seed in [0, 1, 2] {
        let forest = IsolationForest::train(&fx.rows, &params(seed)).unwrap();
        let ours: Vec<f64> = forest
            .score_many(&fx.rows)
            .iter()
            .map(|&s| f64::from(s))
            .collect();
        let rho = spearman(&ours, &fx.sklearn_scores);
        eprintln!("seed {seed}: Spearman vs sklearn {rho:.4}");
        assert!(rho >= 0.9, "seed {seed}: spearman {rho}");
    }
}

#[test]
fn scores_in_range_outliers_high_centre_low() {
    let fx = fixture();
    let forest = IsolationForest::train(&fx.rows, &params(7)).unwrap();
    let scores = forest.score_many(&fx.rows);
    assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)));
    // Far outside every cluster.
    assert!(forest.score(&[40.0; 8]) > 0.6);
    assert!(forest.score(&[-40.0; 8]) > 0.6);
    // Centre of the largest Gaussian (half the inliers) in the fixture script.
    assert!(forest.score(&[0.0; 8]) < 0.5);

    // A single blob: its centroid is normal, a distant point is anomalous.
    let blob: Vec<Vec<f32>> = (0..500)
        .map(|i| {
            let a = i as f32 * 0.618;
            let r = (i % 17) as f32 / 17.0;
            vec![r * a.cos(), r * a.sin(), (i % 7) as f32 / 7.0 - 0.5]
        })
        .collect();
    let forest = IsolationForest::train(&blob, &params(1)).unwrap();
    assert!(forest.score(&[0.0, 0.0, 0.0]) < 0.5);
    assert!(forest.score(&[5.0, -5.0, 3.0]) > 0.6);
}

#[test]
fn score_and_score_many_agree_bitwise() {
    let fx = fixture();
    // 13 trees: exercises both the 8-lane and the single-lane walks.
    let p = ForestParams {
        trees: 13,
        ..params(3)
    };
    let forest = IsolationForest::train(&fx.rows, &p).unwrap();
    let rows = &fx.rows[..301];
    let many = forest.score_many(rows);
    for (r, s) in rows.iter().zip(&many) {
        assert_eq!(forest.score(r).to_bits(), s.to_bits());
    }
}

#[test]
fn deterministic_per_seed() {
    let fx = fixture();
    let a = IsolationForest::train(&fx.rows, &params(11)).unwrap();
    let b = IsolationForest::train(&fx.rows, &params(11)).unwrap();
    let c = IsolationForest::train(&fx.rows, &params(12)).unwrap();
    let (ja, jb, jc) = (
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap(),
        serde_json::to_string(&c).unwrap(),
    );
    assert_eq!(ja, jb);
    assert_ne!(ja, jc);
    let (sa, sb, sc) = (
        a.score_many(&fx.rows),
        b.score_many(&fx.rows),
        c.score_many(&fx.rows),
    );
    assert_eq!(sa, sb);
    assert_ne!(sa, sc);
}

#[test]
fn serde_round_trip_keeps_scores() {
    let fx = fixture();
    let forest = IsolationForest::train(&fx.rows, &params(5)).unwrap();
    let json = serde_json::to_string(&forest).unwrap();
    let back: IsolationForest = serde_json::from_str(&json).unwrap();
    assert_eq!(back.dims(), forest.dims());
    assert_eq!(back.params(), forest.params());
    assert_eq!(back.score_many(&fx.rows), forest.score_many(&fx.rows));
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
}

#[test]
fn corrupt_serialized_forest_is_rejected() {
    let rows: Vec<Vec<f32>> = (0..50).map(|i| vec![i as f32, (i * i) as f32]).collect();
    let forest = IsolationForest::train(&rows, &params(0)).unwrap();
    let mut v = serde_json::to_value(&forest).unwrap();
    v["splits"][0]["f"] = 9.into();
    assert!(serde_json::from_value::<IsolationForest>(v).is_err());
    let mut v = serde_json::to_value(&forest).unwrap();
    v["leaves"].as_array_mut().unwrap().pop();
    assert!(serde_json::from_value::<IsolationForest>(v).is_err());
    let mut v = serde_json::to_value(&forest).unwrap();
    v["depth"] = 30.into();
    assert!(serde_json::from_value::<IsolationForest>(v).is_err());
    let mut v = serde_json::to_value(&forest).unwrap();
    v["params"]["trees"] = 0.into();
    assert!(serde_json::from_value::<IsolationForest>(v).is_err());
}

#[test]
fn bad_training_input_is_an_error() {
    let p = ForestParams::default();
    assert!(matches!(
        IsolationForest::train(&[], &p),
        Err(ForestError::NoData)
    ));
    assert!(matches!(
        IsolationForest::train(&[vec![], vec![]], &p),
        Err(ForestError::NoFeatures)
    ));
    assert!(matches!(
        IsolationForest::train(&[vec![1.0, 2.0], vec![1.0]], &p),
        Err(ForestError::DimsMismatch {
            row: 1,
            expected: 2,
            found: 1
        })
    ));
    let rows = vec![vec![1.0f32]; 4];
    for bad in [
        ForestParams { trees: 0, ..p },
        ForestParams {
            sample_size: 0,
            ..p
        },
        ForestParams {
            trees: MAX_TREES + 1,
            ..p
        },
        ForestParams {
            sample_size: MAX_SAMPLE_SIZE + 1,
            ..p
        },
        ForestParams {
            trees: MAX_TREES,
            sample_size: MAX_SAMPLE_SIZE,
            ..p
        },
    ] {
        assert!(matches!(
            IsolationForest::train(&rows, &bad),
            Err(ForestError::InvalidParams(_))
        ));
    }
}

#[test]
fn single_row_forest_is_neutral() {
    let forest = IsolationForest::train(&[vec![1.0, 2.0]], &params(0)).unwrap();
    assert_eq!(forest.dims(), 2);
    assert_eq!(forest.score(&[1.0, 2.0]), NEUTRAL_SCORE);
    assert_eq!(forest.score(&[1e9, -1e9]), NEUTRAL_SCORE);
    let back: IsolationForest =
        serde_json::from_str(&serde_json::to_string(&forest).unwrap()).unwrap();
    assert_eq!(back.score(&[0.0, 0.0]), NEUTRAL_SCORE);
}

#[test]
fn two_rows() {
    let forest = IsolationForest::train(&[vec![0.0], vec![1.0]], &params(0)).unwrap();
    // Each tree splits once: every path is 1 = c(2), so every score is exactly 0.5.
    for x in [-5.0, 0.0, 0.5, 1.0, 9.0] {
        assert_eq!(forest.score(&[x]), 0.5);
    }
}

#[test]
fn constant_columns() {
    // All columns constant: no split possible, every tree is one leaf of c(psi): score 0.5.
    let rows = vec![vec![3.0f32, -1.0, 0.0]; 300];
    let forest = IsolationForest::train(&rows, &params(0)).unwrap();
    assert_eq!(forest.score(&[3.0, -1.0, 0.0]), 0.5);
    assert_eq!(forest.score(&[100.0, 100.0, 100.0]), 0.5);

    // Some columns constant: splits use the varying one only (peaked around 0).
    let rows: Vec<Vec<f32>> = (0..300)
        .map(|i| vec![7.0, ((i % 30) as f32 / 30.0 - 0.5).powi(3), 7.0])
        .collect();
    let forest = IsolationForest::train(&rows, &params(0)).unwrap();
    assert!(forest.score(&[7.0, 0.0, 7.0]) < 0.5);
    assert!(forest.score(&[7.0, 50.0, 7.0]) > 0.6);
    assert!(forest.splits.iter().all(|s| s.feature == 1 || *s == PAD));
}

#[test]
fn nan_and_dims_mismatch_in_queries() {
    let fx = fixture();
    let forest = IsolationForest::train(&fx.rows, &params(0)).unwrap();
    for q in [
        vec![f32::NAN; 8],
        vec![0.0, f32::NAN, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        vec![f32::INFINITY; 8],
        vec![
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
        ],
    ] {
        let s = forest.score(&q);
        assert!((0.0..=1.0).contains(&s), "{q:?} -> {s}");
    }
    // Wrong length: neutral score from score/score_many, an error from try_score.
    assert_eq!(forest.score(&[1.0; 3]), NEUTRAL_SCORE);
    assert_eq!(forest.score(&[]), NEUTRAL_SCORE);
    assert_eq!(forest.score(&[1.0; 9]), NEUTRAL_SCORE);
    assert!(matches!(
        forest.try_score(&[1.0; 3]),
        Err(ForestError::DimsMismatch {
            expected: 8,
            found: 3,
            ..
        })
    ));
    let mixed = vec![vec![0.0; 8], vec![0.0; 2], vec![40.0; 8]];
    let s = forest.score_many(&mixed);
    assert_eq!(s[0], forest.score(&mixed[0]));
    assert_eq!(s[1], NEUTRAL_SCORE);
    assert_eq!(s[2], forest.score(&mixed[2]));
    assert!(forest.score_many::<Vec<f32>>(&[]).is_empty());
}

#[test]
fn non_finite_training_values() {
    let mut rows: Vec<Vec<f32>> = (0..200)
        .map(|i| vec![(i % 13) as f32, (i % 11) as f32])
        .collect();
    rows[3] = vec![f32::NAN, 1.0];
    rows[4] = vec![f32::INFINITY, f32::NEG_INFINITY];
    rows[5] = vec![f32::NAN, f32::NAN];
    rows[6] = vec![f32::MIN, f32::MAX];
    let forest = IsolationForest::train(&rows, &params(0)).unwrap();
    assert!(forest.splits.iter().all(|s| s.threshold.is_finite()));
    for r in &rows {
        assert!((0.0..=1.0).contains(&forest.score(r)));
    }
    let back: IsolationForest =
        serde_json::from_str(&serde_json::to_string(&forest).unwrap()).unwrap();
    assert_eq!(back.score_many(&rows), forest.score_many(&rows));
}

#[test]
fn every_query_width_path_agrees() {
    // Widths for the 8-, 16- and 32-wide copies and the plain-slice path (> 32).
    for dims in [1, 8, 9, 12, 16, 17, 32, 33, 40] {
        let rows: Vec<Vec<f32>> = (0..400)
            .map(|i| {
                (0..dims)
                    .map(|d| (((i * 7 + d * 13) % 29) as f32 / 29.0 - 0.5).powi(3))
                    .collect()
            })
            .collect();
        let p = ForestParams {
            trees: 37,
            ..params(dims as u64)
        };
        let forest = IsolationForest::train(&rows, &p).unwrap();
        let mut queries = rows[..50].to_vec();
        queries.push(vec![0.0; dims]);
        queries.push(vec![9.0; dims]);
        queries.push(vec![f32::NAN; dims]);
        let many = forest.score_many(&queries);
        for (q, s) in queries.iter().zip(&many) {
            assert_eq!(forest.score(q).to_bits(), s.to_bits(), "dims {dims}");
            assert!((0.0..=1.0).contains(s));
        }
        let n = queries.len();
        assert!(many[n - 2] > 0.6, "dims {dims}: far point {}", many[n - 2]);
        assert!(many[n - 3] < many[n - 2], "dims {dims}");
    }
}

#[test]
fn goes_right_edge_values() {
    let tiny = f32::from_bits(1);
    for (v, t) in [
        (f32::MAX, -f32::MAX),
        (-f32::MAX, f32::MAX),
        (f32::INFINITY, 3.0),
        (f32::NEG_INFINITY, 3.0),
        (f32::NAN, 3.0),
        (-f32::NAN, -3.0),
        (tiny, 0.0),
        (0.0, tiny),
        (-tiny, 0.0),
        (-0.0, 0.0),
        (0.0, 0.0),
        (1.0, 1.0),
        (1.0 + f32::EPSILON, 1.0),
    ] {
        assert_eq!(goes_right(no_nan(v), t), usize::from(v > t), "v {v} t {t}");
    }
}

#[test]
fn negative_zero_thresholds_route_like_positive_zero() {
    // Values only at -0.0, +0.0 and 1.0: thresholds at zero are common.
    let rows: Vec<Vec<f32>> = (0..64)
        .map(|i| vec![[-0.0, 0.0, 1.0][i % 3], [0.0, -0.0][i % 2]])
        .collect();
    let forest = IsolationForest::train(&rows, &params(2)).unwrap();
    assert!(
        forest
            .splits
            .iter()
            .all(|s| s.threshold.to_bits() != (-0.0f32).to_bits())
    );
    assert_eq!(forest.score(&[-0.0, 0.0]), forest.score(&[0.0, -0.0]));
}

fn value() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => -10.0f32..10.0,
        1 => proptest::num::f32::ANY,
        1 => Just(0.0f32),
    ]
}

proptest! {
    #[test]
    fn goes_right_is_greater_than(v in proptest::num::f32::ANY, t in proptest::num::f32::ANY) {
        prop_assume!(t.is_finite());
        let t = t + 0.0;
        let expected = usize::from(v > t);
        prop_assert_eq!(goes_right(no_nan(v), t), expected, "v {} t {}", v, t);
    }

    #[test]
    fn train_and_score_never_panic(
        dims in 1usize..5,
        flat in proptest::collection::vec(value(), 0..160),
        queries in proptest::collection::vec(proptest::collection::vec(value(), 0..6), 0..8),
        trees in 1usize..12,
        sample_size in 1usize..70,
        seed in any::<u64>(),
    ) {
        let rows: Vec<Vec<f32>> = flat.chunks_exact(dims).map(<[f32]>::to_vec).collect();
        let p = ForestParams { trees, sample_size, seed };
        match IsolationForest::train(&rows, &p) {
            Ok(forest) => {
                let scores = forest.score_many(&queries);
                prop_assert_eq!(scores.len(), queries.len());
                for (q, s) in queries.iter().zip(&scores) {
                    prop_assert!((0.0..=1.0).contains(s));
                    prop_assert_eq!(s.to_bits(), forest.score(q).to_bits());
                }
                for s in forest.score_many(&rows) {
                    prop_assert!((0.0..=1.0).contains(&s));
                }
                let json = serde_json::to_string(&forest).unwrap();
                let back: IsolationForest = serde_json::from_str(&json).unwrap();
                prop_assert_eq!(back.score_many(&queries), scores);
            }
            Err(e) => prop_assert!(rows.is_empty(), "unexpected error {e}"),
        }
    }
}
