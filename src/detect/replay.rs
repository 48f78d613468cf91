//! Replay stored events to detection in time order: a k-way merge over the sources' chunks,
//! opening a chunk only when the merge reaches its first timestamp (memory: the chunks that
//! overlap in time, not the whole store).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;

use crate::domain::EventView;
use crate::store::{ChunkEntry, Store, StoreError, decode_views};

struct Cursor {
    source: Arc<str>,
    chunks: VecDeque<ChunkEntry>,
    loaded: VecDeque<EventView>,
}

/// Call `f` for every stored event with id ≥ `from_id`, in (approximately, within a chunk)
/// timestamp order across sources. Chunks written while replaying are left for the next
/// call. Returns (events replayed, the id after the last chunk seen).
pub fn replay(
    store: &Store,
    from_id: u64,
    f: impl FnMut(&Arc<str>, &EventView),
) -> Result<(u64, u64), StoreError> {
    replay_range(store, from_id, u64::MAX, f)
}

/// Every stored chunk's index entry (by source, then first id).
fn chunk_entries(store: &Store) -> impl Iterator<Item = Result<ChunkEntry, StoreError>> + '_ {
    store.chunk_index.iter().map(|item| {
        let (_, v) = item?;
        serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
            tree: "chunk_index",
            detail: e.to_string(),
        })
    })
}

/// The first event id of the stored chunks that reach into the `lookback_secs` before the
/// earliest event at or after `from_id` (`from_id` itself when there is nothing before it).
pub fn lookback_start(store: &Store, from_id: u64, lookback_secs: i64) -> Result<u64, StoreError> {
    if from_id <= 1 {
        return Ok(from_id);
    }
    let entries = chunk_entries(store).collect::<Result<Vec<_>, _>>()?;
    let Some(first_new) = entries
        .iter()
        .filter(|e| e.chunk + u64::from(e.count) > from_id)
        .map(|e| e.first_ts)
        .min()
    else {
        return Ok(from_id);
    };
    let since = first_new.saturating_sub(lookback_secs.saturating_mul(1000));
    Ok(entries
        .iter()
        .filter(|e| e.chunk < from_id && e.last_ts >= since)
        .map(|e| e.chunk)
        .min()
        .unwrap_or(from_id)
        .min(from_id))
}

/// As [`replay`], over the chunks that start before `until_id` only (whole chunks: the id
/// after the last one is returned, so the next call starts exactly where this one ended).
pub fn replay_range(
    store: &Store,
    from_id: u64,
    until_id: u64,
    mut f: impl FnMut(&Arc<str>, &EventView),
) -> Result<(u64, u64), StoreError> {
    let mut end_id = from_id;
    let mut by_source: HashMap<String, Vec<ChunkEntry>> = HashMap::new();
    for entry in chunk_entries(store) {
        let entry = entry?;
        if entry.chunk + u64::from(entry.count) > from_id && entry.chunk < until_id {
            end_id = end_id.max(entry.chunk + u64::from(entry.count));
            by_source
                .entry(entry.source.clone())
                .or_default()
                .push(entry);
        }
    }
    let mut cursors: Vec<Cursor> = by_source
        .into_iter()
        .map(|(source, mut chunks)| {
            chunks.sort_by_key(|c| c.chunk);
            Cursor {
                source: Arc::from(source.as_str()),
                chunks: chunks.into(),
                loaded: VecDeque::new(),
            }
        })
        .collect();
    // Deterministic order for equal timestamps.
    cursors.sort_by(|a, b| a.source.cmp(&b.source));
    // Heap of (time, cursor, loaded?): unloaded cursors wait at their next chunk's first time.
    let mut heap: BinaryHeap<Reverse<(i64, usize, bool)>> = BinaryHeap::new();
    for (i, c) in cursors.iter().enumerate() {
        if let Some(first) = c.chunks.front() {
            heap.push(Reverse((first.first_ts, i, false)));
        }
    }
    let mut replayed = 0;
    while let Some(Reverse((_, i, loaded))) = heap.pop() {
        let Some(c) = cursors.get_mut(i) else {
            continue;
        };
        if !loaded {
            let Some(entry) = c.chunks.pop_front() else {
                continue;
            };
            if let Some(bytes) = store.event_views.get(entry.chunk.to_be_bytes())? {
                let views = decode_views(entry.chunk, &bytes)?;
                c.loaded
                    .extend(views.into_iter().filter(|v| v.id >= from_id));
            }
        } else if let Some(v) = c.loaded.pop_front() {
            f(&c.source, &v);
            replayed += 1;
            if c.loaded.is_empty() && c.chunks.is_empty() {
                // A finished source gives its chunk buffer back (~200 KB of views): with
                // hundreds of CloudTrail files, kept buffers were most of detection's memory.
                c.loaded = VecDeque::new();
            }
        }
        if let Some(next) = c.loaded.front() {
            heap.push(Reverse((next.ts, i, true)));
        } else if let Some(next) = c.chunks.front() {
            heap.push(Reverse((next.first_ts, i, false)));
        }
    }
    Ok((replayed, end_id))
}
