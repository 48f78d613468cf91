//! Isolation Forest anomaly detector (Liu, Ting & Zhou, ICDM 2008), stored flat for fast scoring.
//!
//! Each tree is grown on a random subsample of `psi = min(sample_size, n)` rows with the height
//! limit `ceil(log2(psi))`; the anomaly score of `x` is `2^(-E(h(x)) / c(psi))`.
//!
//! Layout: every tree is stored as a *complete* binary tree of the height limit `L`, so a walk
//! is exactly `L` steps with no data-dependent branch and no child pointers. A leaf that the
//! algorithm ends early (one row left, or all features constant) has its path length
//! `depth + c(size)` copied into every bottom slot below it, so whichever way the padding nodes
//! below it route, the result is the same. Nodes are stored level by level across the whole
//! forest: level `l` holds `trees * 2^l` nodes, tree `t`'s node `j` at position `t * 2^l + j`,
//! so the child of position `p` is `2p` (left) or `2p + 1` (right) in the next level, for every
//! tree alike. Walks of several trees (or rows) are then independent index chains that the CPU
//! runs in parallel; this is what makes scoring fast.
//!
//! Routing: a value goes right iff `value > threshold`; NaN always goes left, both in training
//! and in scoring, so NaN never panics and scores stay in `[0, 1]`.

use rand::seq::index;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Largest accepted `sample_size`; the paper finds 256 enough, and memory grows as `2^L` per tree.
pub const MAX_SAMPLE_SIZE: usize = 1 << 16;
/// Largest accepted tree count.
pub const MAX_TREES: usize = 1 << 12;
/// Cap on `trees * 2^L` bottom slots (about 12 bytes each), so a forest stays under ~1 GiB.
const MAX_TOTAL_LEAVES: usize = 1 << 26;
/// Score returned when the forest has no opinion: a query of the wrong length, or a forest
/// trained on a single row (where `c(1) = 0` leaves the score undefined).
pub const NEUTRAL_SCORE: f32 = 0.5;
/// Trees walked in lockstep for one query; enough independent load chains to hide latency.
const TREE_LANES: usize = 16;
/// Rows walked in lockstep through one tree by `score_many`.
const ROW_LANES: usize = 16;

const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ForestParams {
    /// Number of trees (default 100).
    pub trees: usize,
    /// Subsample size psi per tree (default 256), capped by the number of training rows.
    pub sample_size: usize,
    /// Seed of the ChaCha8 generator: same seed and data give an identical forest.
    pub seed: u64,
}

impl Default for ForestParams {
    fn default() -> Self {
        Self {
            trees: 100,
            sample_size: 256,
            seed: 0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ForestError {
    #[error("no training rows")]
    NoData,
    #[error("training rows have no features")]
    NoFeatures,
    /// `row` is the index in the given slice (0 for a single query).
    #[error("row {row} has {found} values, expected {expected}")]
    DimsMismatch {
        row: usize,
        expected: usize,
        found: usize,
    },
    #[error("invalid parameters: {0}")]
    InvalidParams(String),
    #[error("invalid serialized forest: {0}")]
    Corrupt(&'static str),
}

/// Internal node of the implicit tree.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Split {
    #[serde(rename = "f")]
    feature: u32,
    #[serde(rename = "t")]
    threshold: f32,
}

/// Padding node below an early leaf: any routing is fine since all bottom slots there are equal.
const PAD: Split = Split {
    feature: 0,
    threshold: 0.0,
};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "ForestData")]
pub struct IsolationForest {
    params: ForestParams,
    dims: usize,
    /// Subsample size actually used, `min(sample_size, n)`.
    psi: usize,
    /// Height limit L; every tree has `2^L - 1` splits and `2^L` bottom slots.
    depth: u32,
    /// All splits, level by level (see the module docs): level `l` starts at `trees * (2^l - 1)`.
    splits: Vec<Split>,
    /// Bottom slots, `2^L` per tree, tree after tree: the path length `h(x)` of a walk ending there.
    leaves: Vec<f32>,
    #[serde(skip)]
    c_psi: f64,
}

/// Serialized form, checked before it becomes a forest so a bad file cannot cause a panic.
#[derive(Deserialize)]
struct ForestData {
    params: ForestParams,
    dims: usize,
    psi: usize,
    depth: u32,
    splits: Vec<Split>,
    leaves: Vec<f32>,
}

impl TryFrom<ForestData> for IsolationForest {
    type Error = ForestError;

    fn try_from(d: ForestData) -> Result<Self, ForestError> {
        check_params(&d.params).map_err(|_| ForestError::Corrupt("parameters out of range"))?;
        if d.dims == 0 || u32::try_from(d.dims).is_err() {
            return Err(ForestError::Corrupt("bad dims"));
        }
        if d.psi == 0 || d.psi > d.params.sample_size || d.depth != height_limit(d.psi) {
            return Err(ForestError::Corrupt("bad subsample size or depth"));
        }
        let slots = 1usize << d.depth;
        if d.splits.len() != d.params.trees * (slots - 1)
            || d.leaves.len() != d.params.trees * slots
        {
            return Err(ForestError::Corrupt("node arrays have the wrong length"));
        }
        if d.splits.iter().any(|s| s.feature as usize >= d.dims) {
            return Err(ForestError::Corrupt("split feature out of range"));
        }
        if d.leaves.iter().any(|h| !(h.is_finite() && *h >= 0.0)) {
            return Err(ForestError::Corrupt("bad path length"));
        }
        if d.splits.iter().any(|s| !s.threshold.is_finite()) {
            return Err(ForestError::Corrupt("bad threshold"));
        }
        let mut splits = d.splits;
        for s in &mut splits {
            // `goes_right` needs +0.0 rather than -0.0; both split the same values.
            s.threshold += 0.0;
        }
        Ok(Self {
            params: d.params,
            dims: d.dims,
            psi: d.psi,
            depth: d.depth,
            splits,
            leaves: d.leaves,
            c_psi: average_path_length(d.psi),
        })
    }
}

/// c(n): average path length of an unsuccessful BST search, the normaliser.
///
/// `c(n) = 2 H(n-1) - 2 (n-1) / n` with `H(i) ~ ln(i) + gamma`; `c(2) = 1`, `c(0) = c(1) = 0`.
pub fn average_path_length(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let m = (n - 1) as f64;
            2.0 * (m.ln() + EULER_GAMMA) - 2.0 * m / n as f64
        }
    }
}

/// Height limit `ceil(log2(psi))` (0 for psi <= 1).
fn height_limit(psi: usize) -> u32 {
    if psi <= 1 {
        0
    } else {
        usize::BITS - (psi - 1).leading_zeros()
    }
}

fn check_params(p: &ForestParams) -> Result<(), ForestError> {
    if p.trees == 0 || p.trees > MAX_TREES {
        return Err(ForestError::InvalidParams(format!(
            "trees must be in 1..={MAX_TREES}, got {}",
            p.trees
        )));
    }
    if p.sample_size == 0 || p.sample_size > MAX_SAMPLE_SIZE {
        return Err(ForestError::InvalidParams(format!(
            "sample_size must be in 1..={MAX_SAMPLE_SIZE}, got {}",
            p.sample_size
        )));
    }
    let total = p
        .trees
        .saturating_mul(1usize << height_limit(p.sample_size));
    if total > MAX_TOTAL_LEAVES {
        return Err(ForestError::InvalidParams(format!(
            "trees * 2^ceil(log2(sample_size)) must be at most {MAX_TOTAL_LEAVES}"
        )));
    }
    Ok(())
}

/// Grows one tree into the forest arrays.
struct TreeBuilder<'a> {
    rows: &'a [Vec<f32>],
    limit: u32,
    trees: usize,
    tree: usize,
    /// Feature order scratch: a prefix of a fresh random permutation is drawn at each node.
    features: Vec<u32>,
    splits: &'a mut [Split],
    leaves: &'a mut [f32],
}

impl TreeBuilder<'_> {
    /// Builds the subtree at node `j` of level `level` over the rows in `sample`.
    fn grow(&mut self, rng: &mut ChaCha8Rng, level: u32, j: usize, sample: &mut [u32]) {
        if level < self.limit
            && sample.len() > 1
            && let Some(split) = self.choose_split(rng, sample)
        {
            let mid = partition(self.rows, sample, split);
            if mid > 0 && mid < sample.len() {
                let width = 1usize << level;
                self.splits[self.trees * (width - 1) + self.tree * width + j] = split;
                let (left, right) = sample.split_at_mut(mid);
                self.grow(rng, level + 1, 2 * j, left);
                self.grow(rng, level + 1, 2 * j + 1, right);
                return;
            }
        }
        // External node: every bottom slot under it gets `level + c(size)`; the splits under it
        // stay `PAD`, as initialised.
        let h = (f64::from(level) + average_path_length(sample.len())) as f32;
        let shift = self.limit - level;
        let first = (self.tree << self.limit) + (j << shift);
        self.leaves[first..first + (1usize << shift)].fill(h);
    }

    /// A uniformly random feature that is not constant in `sample` (others tried in random order
    /// if the first is constant), and a uniform threshold in `[min, max)` of that feature.
    fn choose_split(&mut self, rng: &mut ChaCha8Rng, sample: &[u32]) -> Option<Split> {
        let dims = self.features.len();
        for k in 0..dims {
            let j = rng.random_range(k..dims);
            self.features.swap(k, j);
            let feature = self.features[k];
            let (lo, hi) = value_range(self.rows, sample, feature as usize);
            if lo < hi
                && let Some(threshold) = pick_threshold(rng, lo, hi)
            {
                return Some(Split { feature, threshold });
            }
        }
        None
    }
}

/// Min and max of a feature over the sample, ignoring NaN; `(inf, -inf)` when all are NaN.
fn value_range(rows: &[Vec<f32>], sample: &[u32], feature: usize) -> (f32, f32) {
    let mut lo = f32::INFINITY;
    let mut hi = f32::NEG_INFINITY;
    for &r in sample {
        let v = rows[r as usize][feature];
        // f32::min/max skip NaN operands.
        lo = lo.min(v);
        hi = hi.max(v);
    }
    (lo, hi)
}

/// Uniform threshold with `lo <= t < hi`, kept finite so the forest serializes to JSON; `None`
/// only in the corner where no finite value separates them (e.g. `lo = -inf`, `hi = f32::MIN`).
fn pick_threshold(rng: &mut ChaCha8Rng, lo: f32, hi: f32) -> Option<f32> {
    let a = f64::from(lo.max(f32::MIN));
    let b = f64::from(hi.min(f32::MAX));
    let u: f64 = rng.random();
    let t = (a + u * (b - a)) as f32;
    let t = if t >= lo && t < hi {
        t
    } else if lo.is_finite() {
        // Rounding to f32 landed on `hi`; `lo` still separates the two ends.
        lo
    } else {
        return None;
    };
    // `goes_right` needs +0.0 rather than -0.0; both split the same values.
    Some(t + 0.0)
}

/// Reorders `sample` so rows going left (`value <= t`, or NaN) come first; returns their count.
fn partition(rows: &[Vec<f32>], sample: &mut [u32], split: Split) -> usize {
    let f = split.feature as usize;
    let mut mid = 0;
    for i in 0..sample.len() {
        let v = rows[sample[i] as usize][f];
        if goes_right(no_nan(v), split.threshold) == 0 {
            sample.swap(i, mid);
            mid += 1;
        }
    }
    mid
}

/// 1 if `v > threshold`, else 0, for `v` not NaN (see [`no_nan`]) and `threshold` not `-0.0`.
///
/// Computed as the sign bit of `threshold - v` rather than a compare-and-set, which the compiler
/// turns into byte-register shuffles and stack spills across 16 lockstep walks (about 25% slower).
/// Exact: the difference of two unequal floats never rounds to zero (no flush-to-zero in Rust),
/// overflow keeps the sign, and equal values give `+0.0`.
#[inline(always)]
fn goes_right(v: f32, threshold: f32) -> usize {
    ((threshold - v).to_bits() >> 31) as usize
}

/// NaN becomes `-inf`, so it goes left at every split; queries are mapped once, when copied.
#[inline(always)]
fn no_nan(v: f32) -> f32 {
    v.max(f32::NEG_INFINITY)
}

impl IsolationForest {
    /// rows: training vectors, all of length `dims`.
    pub fn train(rows: &[Vec<f32>], params: &ForestParams) -> Result<Self, ForestError> {
        check_params(params)?;
        let first = rows.first().ok_or(ForestError::NoData)?;
        let dims = first.len();
        if dims == 0 {
            return Err(ForestError::NoFeatures);
        }
        let dims_u32 = u32::try_from(dims)
            .map_err(|_| ForestError::InvalidParams(format!("too many features: {dims}")))?;
        if let Some((row, r)) = rows.iter().enumerate().find(|(_, r)| r.len() != dims) {
            return Err(ForestError::DimsMismatch {
                row,
                expected: dims,
                found: r.len(),
            });
        }

        if u32::try_from(rows.len()).is_err() {
            return Err(ForestError::InvalidParams(format!(
                "too many training rows: {}",
                rows.len()
            )));
        }

        let psi = params.sample_size.min(rows.len());
        let depth = height_limit(psi);
        let slots = 1usize << depth;
        let mut splits = vec![PAD; params.trees * (slots - 1)];
        let mut leaves = vec![0.0f32; params.trees * slots];
        let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
        let mut features: Vec<u32> = (0..dims_u32).collect();
        let mut sample: Vec<u32> = Vec::with_capacity(psi);

        for t in 0..params.trees {
            sample.clear();
            // Indices fit u32: rows.len() was checked above.
            sample.extend(
                index::sample(&mut rng, rows.len(), psi)
                    .into_iter()
                    .filter_map(|i| u32::try_from(i).ok()),
            );
            let mut builder = TreeBuilder {
                rows,
                limit: depth,
                trees: params.trees,
                tree: t,
                features: std::mem::take(&mut features),
                splits: &mut splits,
                leaves: &mut leaves,
            };
            builder.grow(&mut rng, 0, 0, &mut sample);
            features = builder.features;
        }
        Ok(Self {
            params: *params,
            dims,
            psi,
            depth,
            splits,
            leaves,
            c_psi: average_path_length(psi),
        })
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    pub fn params(&self) -> &ForestParams {
        &self.params
    }

    /// Anomaly score s(x) = 2^(-E(h(x))/c(psi)) in [0,1]: ~1 anomalous, <0.5 normal.
    ///
    /// A query whose length is not `dims()` gets [`NEUTRAL_SCORE`] (0.5, "no opinion"); use
    /// [`Self::try_score`] to get an error instead. NaN values route left at every split.
    pub fn score(&self, x: &[f32]) -> f32 {
        self.try_score(x).unwrap_or(NEUTRAL_SCORE)
    }

    /// Like [`Self::score`] but a query of the wrong length is an error.
    pub fn try_score(&self, x: &[f32]) -> Result<f32, ForestError> {
        if x.len() != self.dims {
            return Err(ForestError::DimsMismatch {
                row: 0,
                expected: self.dims,
                found: x.len(),
            });
        }
        Ok(match self.dims {
            0..=8 => self.score_fixed::<8>(x),
            9..=16 => self.score_fixed::<16>(x),
            17..=32 => self.score_fixed::<32>(x),
            _ => self.score_trees(|f| no_nan(x[f])),
        })
    }

    /// Scores each row; rows of the wrong length get [`NEUTRAL_SCORE`], as in [`Self::score`].
    pub fn score_many(&self, rows: &[Vec<f32>]) -> Vec<f32> {
        let mut out = vec![NEUTRAL_SCORE; rows.len()];
        let valid: Vec<usize> = (0..rows.len())
            .filter(|&i| rows[i].len() == self.dims)
            .collect();
        match self.dims {
            0..=8 => self.score_rows_fixed::<8>(rows, &valid, &mut out),
            9..=16 => self.score_rows_fixed::<16>(rows, &valid, &mut out),
            17..=32 => self.score_rows_fixed::<32>(rows, &valid, &mut out),
            _ => {
                for &r in &valid {
                    out[r] = self.score_trees(|f| no_nan(rows[r][f]));
                }
            }
        }
        out
    }

    /// One query, copied into a power-of-two array so feature lookups need no bounds check
    /// (`f & (S - 1) == f` because every feature index is below `dims <= S`).
    fn score_fixed<const S: usize>(&self, x: &[f32]) -> f32 {
        let mut buf = [0.0f32; S];
        for (b, v) in buf.iter_mut().zip(x) {
            *b = no_nan(*v);
        }
        self.score_trees(|f| buf[f & (S - 1)])
    }

    /// One query, trees walked `TREE_LANES` at a time in lockstep.
    #[inline(always)]
    fn score_trees(&self, x: impl Fn(usize) -> f32) -> f32 {
        let mut sum = 0.0f64;
        let mut t = 0;
        // Leftover trees in smaller groups: a lone walk cannot hide its load latency.
        self.sum_trees::<TREE_LANES>(&mut t, &mut sum, &x);
        self.sum_trees::<4>(&mut t, &mut sum, &x);
        self.sum_trees::<1>(&mut t, &mut sum, &x);
        self.finish(sum)
    }

    /// Adds the path lengths of trees `t..` in groups of `N` while a whole group is left.
    #[inline(always)]
    fn sum_trees<const N: usize>(&self, t: &mut usize, sum: &mut f64, x: &impl Fn(usize) -> f32) {
        while *t + N <= self.params.trees {
            let first = *t;
            let hs = self.walk::<N>(std::array::from_fn(|k| first + k), |_, f| x(f));
            // Summed in tree order so that score and score_many agree to the bit.
            for h in hs {
                *sum += f64::from(h);
            }
            *t += N;
        }
    }

    /// Many queries: per block of rows, one tree at a time over `ROW_LANES` rows in lockstep, so the
    /// tree's nodes stay in L1 while the block passes through it.
    fn score_rows_fixed<const S: usize>(
        &self,
        rows: &[Vec<f32>],
        valid: &[usize],
        out: &mut [f32],
    ) {
        const BLOCK: usize = 256;
        let mut xs = [[0.0f32; S]; BLOCK];
        let mut sums = [0.0f64; BLOCK];
        for block in valid.chunks(BLOCK) {
            let xs = &mut xs[..block.len()];
            for (x, &r) in xs.iter_mut().zip(block) {
                for (b, v) in x.iter_mut().zip(&rows[r]) {
                    *b = no_nan(*v);
                }
            }
            let sums = &mut sums[..block.len()];
            sums.fill(0.0);
            for t in 0..self.params.trees {
                let mut lanes = xs.chunks_exact(ROW_LANES);
                let mut sum_lanes = sums.chunks_exact_mut(ROW_LANES);
                for (lane, lane_sums) in lanes.by_ref().zip(sum_lanes.by_ref()) {
                    let Ok(lane) = <&[[f32; S]; ROW_LANES]>::try_from(lane) else {
                        continue;
                    };
                    let hs = self.walk::<ROW_LANES>([t; ROW_LANES], |k, f| lane[k][f & (S - 1)]);
                    for (s, h) in lane_sums.iter_mut().zip(hs) {
                        *s += f64::from(h);
                    }
                }
                for (x, s) in lanes.remainder().iter().zip(sum_lanes.into_remainder()) {
                    *s += f64::from(self.walk::<1>([t], |_, f| x[f & (S - 1)])[0]);
                }
            }
            for (&r, &s) in block.iter().zip(sums.iter()) {
                out[r] = self.finish(s);
            }
        }
    }

    /// Walks `N` trees in lockstep from their roots (`tree[k] < trees`); `x(k, f)` is feature
    /// `f` of walk `k`'s query. Returns each walk's path length.
    #[inline(always)]
    fn walk<const N: usize>(&self, tree: [usize; N], x: impl Fn(usize, usize) -> f32) -> [f32; N] {
        let mut pos = tree;
        let (mut start, mut width) = (0, self.params.trees);
        for _ in 0..self.depth {
            let level = &self.splits[start..start + width];
            for k in 0..N {
                let s = level[pos[k]];
                pos[k] = 2 * pos[k] + goes_right(x(k, s.feature as usize), s.threshold);
            }
            start += width;
            width *= 2;
        }
        pos.map(|p| self.leaves[p])
    }

    fn finish(&self, sum: f64) -> f32 {
        if self.c_psi <= 0.0 {
            return NEUTRAL_SCORE;
        }
        let mean = sum / self.params.trees as f64;
        (-mean / self.c_psi).exp2().clamp(0.0, 1.0) as f32
    }
}

#[cfg(test)]
mod tests {
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
        serde_json::from_str(include_str!("../../tests/fixtures/iforest_reference.json")).unwrap()
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
        assert!(forest.score_many(&[]).is_empty());
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
}
