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
    pub fn score_many<R: AsRef<[f32]>>(&self, rows: &[R]) -> Vec<f32> {
        let mut out = vec![NEUTRAL_SCORE; rows.len()];
        let valid: Vec<usize> = (0..rows.len())
            .filter(|&i| rows[i].as_ref().len() == self.dims)
            .collect();
        match self.dims {
            0..=8 => self.score_rows_fixed::<8, R>(rows, &valid, &mut out),
            9..=16 => self.score_rows_fixed::<16, R>(rows, &valid, &mut out),
            17..=32 => self.score_rows_fixed::<32, R>(rows, &valid, &mut out),
            _ => {
                for &r in &valid {
                    out[r] = self.score_trees(|f| no_nan(rows[r].as_ref()[f]));
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
    fn score_rows_fixed<const S: usize, R: AsRef<[f32]>>(
        &self,
        rows: &[R],
        valid: &[usize],
        out: &mut [f32],
    ) {
        const BLOCK: usize = 256;
        let mut xs = [[0.0f32; S]; BLOCK];
        let mut sums = [0.0f64; BLOCK];
        for block in valid.chunks(BLOCK) {
            let xs = &mut xs[..block.len()];
            for (x, &r) in xs.iter_mut().zip(block) {
                for (b, v) in x.iter_mut().zip(rows[r].as_ref()) {
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
mod tests;
