//! Vector search: an instant-distance HNSW snapshot (build-once, so rebuilt in the background
//! after imports) plus an exact scan of the passages added since the snapshot was built.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use instant_distance::{Builder, HnswMap, Search};
use serde::{Deserialize, Serialize};

use super::embed::dot;

/// A passage's identity: the first 16 bytes of SHA-256(model id, passage text).
pub type PassageKey = [u8; 16];

pub fn passage_key(model_id: &str, text: &str) -> PassageKey {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(model_id.as_bytes());
    h.update([0]);
    h.update(text.as_bytes());
    let digest = h.finalize();
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// An L2-normalised embedding; distance is 1 − cosine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Vector(pub Vec<f32>);

impl instant_distance::Point for Vector {
    fn distance(&self, other: &Self) -> f32 {
        1.0 - dot(&self.0, &other.0)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct HnswParams {
    pub ef_construction: usize,
    pub ef_search: usize,
}

/// A built HNSW over a set of passages, as persisted in sled.
#[derive(Serialize, Deserialize)]
pub struct Snapshot {
    pub model_id: String,
    pub built_at: DateTime<Utc>,
    pub build_seconds: f64,
    map: HnswMap<Vector, PassageKey>,
    /// Read from the user's index cache rather than built by this process.
    #[serde(skip)]
    pub from_cache: bool,
}

impl Snapshot {
    /// Build over `points` (fixed seed: the same passages give the same graph).
    pub fn build(model_id: &str, points: Vec<(PassageKey, Vec<f32>)>, params: HnswParams) -> Self {
        let started = std::time::Instant::now();
        let (keys, vectors): (Vec<PassageKey>, Vec<Vector>) =
            points.into_iter().map(|(k, v)| (k, Vector(v))).unzip();
        let map = Builder::default()
            .ef_construction(params.ef_construction)
            .ef_search(params.ef_search)
            .seed(0x5eed)
            .build(vectors, keys);
        Snapshot {
            model_id: model_id.to_string(),
            built_at: Utc::now(),
            build_seconds: started.elapsed().as_secs_f64(),
            map,
            from_cache: false,
        }
    }

    pub fn len(&self) -> usize {
        self.map.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.values.is_empty()
    }

    pub fn keys(&self) -> HashSet<PassageKey> {
        self.map.values.iter().copied().collect()
    }

    /// Up to `n` nearest passages as (key, cosine similarity), nearest first.
    pub fn search(&self, query: &[f32], n: usize) -> Vec<(PassageKey, f32)> {
        if self.is_empty() {
            return Vec::new();
        }
        let mut search = Search::default();
        self.map
            .search(&Vector(query.to_vec()), &mut search)
            .take(n)
            .map(|item| (*item.value, 1.0 - item.distance))
            .collect()
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, postcard::Error> {
        postcard::to_allocvec(self)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Snapshot, postcard::Error> {
        postcard::from_bytes(bytes)
    }
}

/// Exact top-`n` by cosine over `candidates`.
pub fn exact<'a>(
    query: &[f32],
    candidates: impl Iterator<Item = (&'a PassageKey, &'a [f32])>,
    n: usize,
) -> Vec<(PassageKey, f32)> {
    let mut scored: Vec<(PassageKey, f32)> = candidates.map(|(k, v)| (*k, dot(query, v))).collect();
    let n = n.min(scored.len());
    if n == 0 {
        return Vec::new();
    }
    scored.select_nth_unstable_by(n - 1, |a, b| b.1.total_cmp(&a.1));
    scored.truncate(n);
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(seed: u32, dim: usize) -> Vec<f32> {
        // Deterministic pseudo-random unit vectors (xorshift).
        let mut x = seed.wrapping_mul(2_654_435_761).max(1);
        let mut v: Vec<f32> = (0..dim)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x as f32 / u32::MAX as f32) - 0.5
            })
            .collect();
        let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt();
        v.iter_mut().for_each(|a| *a /= norm);
        v
    }

    #[test]
    fn hnsw_finds_the_exact_neighbours_and_survives_a_round_trip() {
        let points: Vec<(PassageKey, Vec<f32>)> = (0..300u32)
            .map(|i| (passage_key("m", &i.to_string()), unit(i + 1, 32)))
            .collect();
        let params = HnswParams {
            ef_construction: 100,
            ef_search: 100,
        };
        let snapshot = Snapshot::build("m", points.clone(), params);
        let restored = Snapshot::from_bytes(&snapshot.to_bytes().expect("encode")).expect("decode");
        assert_eq!(restored.len(), 300);
        let mut agree = 0;
        for q in 0..20u32 {
            let query = unit(1000 + q, 32);
            let truth: HashSet<PassageKey> =
                exact(&query, points.iter().map(|(k, v)| (k, v.as_slice())), 10)
                    .into_iter()
                    .map(|(k, _)| k)
                    .collect();
            agree += restored
                .search(&query, 10)
                .iter()
                .filter(|(k, _)| truth.contains(k))
                .count();
        }
        assert!(agree >= 190, "recall@10 {agree}/200");
    }

    #[test]
    fn exact_orders_by_similarity() {
        let a = (passage_key("m", "a"), vec![1.0, 0.0]);
        let b = (passage_key("m", "b"), vec![0.0, 1.0]);
        let c = (passage_key("m", "c"), vec![0.6, 0.8]);
        let all = [a.clone(), b, c.clone()];
        let top = exact(&[1.0, 0.0], all.iter().map(|(k, v)| (k, v.as_slice())), 2);
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), [a.0, c.0]);
    }
}
