//! Intel persistence in sled: imported documents in `intel_docs` (key: source NUL id), and in
//! `intel_index` the passage vectors (`v` + passage key), the HNSW snapshot and per-source
//! import records. The bundled corpus lives in the binary and is never stored.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::doc::IntelDoc;
use super::index::{PassageKey, Snapshot};
use crate::store::{Store, StoreError};

const SNAPSHOT_KEY: &[u8] = b"snapshot";
const VECTOR_PREFIX: u8 = b'v';
const SOURCE_PREFIX: &[u8] = b"source/";

/// What one import left behind, for `intel status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceRecord {
    pub source: String,
    pub format: String,
    pub file: String,
    pub imported_at: DateTime<Utc>,
    pub docs: usize,
    pub lexical_only: usize,
}

fn corrupt(detail: String) -> StoreError {
    StoreError::Corrupt {
        tree: "intel",
        detail,
    }
}

fn doc_key(source: &str, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(source.len() + id.len() + 1);
    key.extend_from_slice(source.as_bytes());
    key.push(0);
    key.extend_from_slice(id.as_bytes());
    key
}

/// Replace every document of `record.source` with `docs`, atomically.
pub fn replace_source(
    store: &Store,
    record: &SourceRecord,
    docs: &[IntelDoc],
) -> Result<usize, StoreError> {
    let prefix = doc_key(&record.source, "");
    let mut batch = sled::Batch::default();
    let mut removed = 0;
    for key in store.intel_docs.scan_prefix(&prefix).keys() {
        batch.remove(key?);
        removed += 1;
    }
    for doc in docs {
        let value = serde_json::to_vec(doc).map_err(|e| corrupt(e.to_string()))?;
        batch.insert(doc_key(&doc.source, &doc.id), value);
    }
    store.intel_docs.apply_batch(batch)?;
    let mut source_key = SOURCE_PREFIX.to_vec();
    source_key.extend_from_slice(record.source.as_bytes());
    let value = serde_json::to_vec(record).map_err(|e| corrupt(e.to_string()))?;
    store.intel_index.insert(source_key, value)?;
    Ok(removed)
}

/// All imported documents, in key order.
pub fn load_docs(store: &Store) -> Result<Vec<IntelDoc>, StoreError> {
    store
        .intel_docs
        .iter()
        .values()
        .map(|v| {
            let v = v?;
            serde_json::from_slice(&v).map_err(|e| corrupt(format!("intel doc: {e}")))
        })
        .collect()
}

pub fn sources(store: &Store) -> Result<Vec<SourceRecord>, StoreError> {
    store
        .intel_index
        .scan_prefix(SOURCE_PREFIX)
        .values()
        .map(|v| {
            let v = v?;
            serde_json::from_slice(&v).map_err(|e| corrupt(format!("intel source: {e}")))
        })
        .collect()
}

fn vector_key(key: &PassageKey) -> [u8; 17] {
    let mut k = [VECTOR_PREFIX; 17];
    k[1..].copy_from_slice(key);
    k
}

/// The stored vectors among `wanted`.
pub fn load_vectors(
    store: &Store,
    wanted: impl Iterator<Item = PassageKey>,
) -> Result<HashMap<PassageKey, Vec<f32>>, StoreError> {
    let mut out = HashMap::new();
    for key in wanted {
        if let Some(bytes) = store.intel_index.get(vector_key(&key))? {
            let v: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            out.insert(key, v);
        }
    }
    Ok(out)
}

pub fn save_vectors<'a>(
    store: &Store,
    vectors: impl Iterator<Item = (&'a PassageKey, &'a Vec<f32>)>,
) -> Result<(), StoreError> {
    let mut batch = sled::Batch::default();
    for (key, v) in vectors {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        batch.insert(&vector_key(key)[..], bytes);
    }
    store.intel_index.apply_batch(batch)?;
    Ok(())
}

/// Drop stored vectors no live passage uses (after a re-import replaced documents).
pub fn prune_vectors(
    store: &Store,
    live: &HashMap<PassageKey, Vec<u32>>,
) -> Result<usize, StoreError> {
    let mut batch = sled::Batch::default();
    let mut pruned = 0;
    for key in store.intel_index.scan_prefix([VECTOR_PREFIX]).keys() {
        let key = key?;
        let Ok(passage) = PassageKey::try_from(&key[1..]) else {
            continue;
        };
        if !live.contains_key(&passage) {
            batch.remove(key);
            pruned += 1;
        }
    }
    store.intel_index.apply_batch(batch)?;
    Ok(pruned)
}

pub fn save_snapshot(store: &Store, snapshot: &Snapshot) -> Result<(), StoreError> {
    let bytes = snapshot
        .to_bytes()
        .map_err(|e| corrupt(format!("snapshot: {e}")))?;
    store.intel_index.insert(SNAPSHOT_KEY, bytes)?;
    Ok(())
}

pub fn load_snapshot(store: &Store) -> Result<Option<Snapshot>, StoreError> {
    store
        .intel_index
        .get(SNAPSHOT_KEY)?
        .map(|b| Snapshot::from_bytes(&b).map_err(|e| corrupt(format!("snapshot: {e}"))))
        .transpose()
}
