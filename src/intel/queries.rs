//! Query vectors: alert queries are built from structured fields, so the same few recur run
//! after run. Each distinct one is embedded once, remembered for the run, and all of a run's
//! new ones are added to the user's vector cache in one write, beside the passages (same key
//! scheme: model and text), so a run whose queries were all seen before never reads the
//! model's weights.

use std::collections::{HashMap, HashSet};

use super::cache::VectorCache;
use super::embed::{EmbedError, Embedder};
use super::index::{PassageKey, passage_key};
use super::{Intel, IntelError};

/// Query vectors of this run.
#[derive(Default)]
pub(super) struct QueryVectors(std::sync::RwLock<HashMap<String, Vec<f32>>>);

impl QueryVectors {
    fn get(&self, query: &str) -> Option<Vec<f32>> {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(query)
            .cloned()
    }

    fn insert(&self, query: &str, vector: Vec<f32>) {
        self.0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(query.to_string(), vector);
    }
}

impl Intel {
    /// Make the vectors of `queries` ready: from this run, the user's cache, or embedded (then
    /// added to the cache in one write). Returns how many were embedded.
    pub fn prepare_queries(&self, queries: &[String]) -> Result<usize, IntelError> {
        let Some(embedder) = self.model.embedder() else {
            return Ok(0);
        };
        let model_id = embedder.model_id();
        let mut wanted: HashMap<PassageKey, &str> = HashMap::new();
        for q in queries {
            if self.query_vectors.get(q).is_none() {
                wanted.insert(passage_key(model_id, q), q.as_str());
            }
        }
        if wanted.is_empty() {
            return Ok(0);
        }
        let shared = VectorCache::configured(&self.config.vector_cache);
        if let Some(cache) = &shared {
            let keys: HashSet<PassageKey> = wanted.keys().copied().collect();
            for (key, vector) in cache.load(&keys) {
                if let Some(q) = wanted.remove(&key) {
                    self.query_vectors.insert(q, vector);
                }
            }
        }
        if wanted.is_empty() {
            return Ok(0);
        }
        // One at a time: on the 1M-event ingest, batches of 8 saved under 0.1 s of 1.6 s (the
        // model's load dominates) and raised the peak by 35–70 MB (475 vs 407–442 MB).
        let mut fresh = Vec::with_capacity(wanted.len());
        for (key, q) in wanted {
            match self.query_vector(embedder, q) {
                Ok(v) => fresh.push((key, v)),
                // Unreadable weights: each search says so and ranks lexically.
                Err(EmbedError::Load { .. }) => return Ok(0),
                Err(e) => return Err(e.into()),
            }
        }
        // A cache that cannot be written only costs the next run an embedding.
        if let Some(cache) = &shared {
            let _ = cache.add(&fresh);
        }
        Ok(fresh.len())
    }

    /// The vector of `query`: prepared, or embedded now (and remembered for the run).
    pub(super) fn query_vector(
        &self,
        embedder: &Embedder,
        query: &str,
    ) -> Result<Vec<f32>, EmbedError> {
        if let Some(v) = self.query_vectors.get(query) {
            return Ok(v);
        }
        let v = embedder.embed_one(query)?;
        self.query_vectors.insert(query, v.clone());
        Ok(v)
    }
}
