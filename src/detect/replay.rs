//! Replay stored events to detection in time order: a k-way merge over the sources' chunks,
//! opening a chunk only when the merge reaches its first timestamp (memory: the chunks that
//! overlap in time, not the whole store). A second thread reads and decodes the chunks ahead
//! of the merge, in the order the merge will most likely want them: detection itself is one
//! thread, and decoding was a quarter of its time. Live detection merges the chunks the writer
//! fed it (`feed`) the same way, without reading them back.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;

use crossbeam_channel::{Receiver, bounded};

use super::feed::FedChunk;
use crate::domain::EventView;
use crate::store::{ChunkEntry, Store, StoreError, decode_views};

/// Decoded chunks the reader thread may hold ready ahead of the merge (~200 KB each).
const READ_AHEAD: usize = 16;

/// A chunk's views as the read-ahead thread hands them over.
type Decoded = (u64, Result<Vec<EventView>, StoreError>);

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
    f: impl FnMut(&Arc<str>, &EventView),
) -> Result<(u64, u64), StoreError> {
    replay_range_with(store, from_id, until_id, HashMap::new(), f)
}

/// As [`replay_range`], with some of the chunks' views already in memory (`held`, by first
/// id: what the writer fed): those are not read back, the merge is the same.
pub fn replay_range_with(
    store: &Store,
    from_id: u64,
    until_id: u64,
    held: HashMap<u64, Vec<EventView>>,
    mut f: impl FnMut(&Arc<str>, &EventView),
) -> Result<(u64, u64), StoreError> {
    replay_owned_range(store, from_id, until_id, held, |s, v| f(s, &v))
}

/// As [`replay`], handing each view over (a caller that batches events keeps them).
pub fn replay_owned(
    store: &Store,
    from_id: u64,
    f: impl FnMut(&Arc<str>, EventView),
) -> Result<(u64, u64), StoreError> {
    replay_owned_range(store, from_id, u64::MAX, HashMap::new(), f)
}

fn replay_owned_range(
    store: &Store,
    from_id: u64,
    until_id: u64,
    mut held: HashMap<u64, Vec<EventView>>,
    f: impl FnMut(&Arc<str>, EventView),
) -> Result<(u64, u64), StoreError> {
    let mut end_id = from_id;
    let mut entries = Vec::new();
    for entry in chunk_entries(store) {
        let entry = entry?;
        if entry.chunk + u64::from(entry.count) > from_id && entry.chunk < until_id {
            end_id = end_id.max(entry.chunk + u64::from(entry.count));
            entries.push(entry);
        }
    }
    let cursors = cursors_of(entries);
    // The merge opens chunks roughly by first timestamp: read them ahead in that order.
    let mut order: Vec<(i64, usize, u64)> = cursors
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.chunks.iter().map(move |e| (e.first_ts, i, e.chunk)))
        .filter(|(_, _, chunk)| !held.contains_key(chunk))
        .collect();
    order.sort_unstable();
    let replayed = std::thread::scope(|scope| {
        let (tx, rx) = bounded::<Decoded>(READ_AHEAD);
        scope.spawn(move || {
            for (_, _, chunk) in order {
                let views = read_views(store, chunk, from_id);
                if tx.send((chunk, views)).is_err() {
                    break;
                }
            }
        });
        let mut ahead = ReadAhead::new(rx);
        let load = |chunk| match held.remove(&chunk) {
            Some(views) => Ok(views),
            None => ahead.take(store, chunk, from_id),
        };
        merge(cursors, load, f)
    })?;
    Ok((replayed, end_id))
}

/// As [`replay_range`] over chunks already in memory (the writer's feed), in the same order
/// a replay of the same chunks from the store gives. Returns (events, the id after the last
/// chunk).
pub fn replay_fed(
    chunks: Vec<FedChunk>,
    mut f: impl FnMut(&Arc<str>, &EventView),
) -> Result<(u64, u64), StoreError> {
    let end_id = chunks
        .iter()
        .map(|c| c.entry.chunk + u64::from(c.entry.count))
        .max()
        .unwrap_or(0);
    let mut views: HashMap<u64, Vec<EventView>> = HashMap::with_capacity(chunks.len());
    let mut entries = Vec::with_capacity(chunks.len());
    for c in chunks {
        views.insert(c.entry.chunk, c.views);
        entries.push(c.entry);
    }
    let replayed = merge(
        cursors_of(entries),
        |chunk| Ok(views.remove(&chunk).unwrap_or_default()),
        |s, v| f(s, &v),
    )?;
    Ok((replayed, end_id))
}

/// One cursor per source, each with its chunks in id order; cursors ordered by source so
/// equal timestamps merge the same way every time.
fn cursors_of(entries: Vec<ChunkEntry>) -> Vec<Cursor> {
    let mut by_source: HashMap<String, Vec<ChunkEntry>> = HashMap::new();
    for entry in entries {
        by_source
            .entry(entry.source.clone())
            .or_default()
            .push(entry);
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
    cursors.sort_by(|a, b| a.source.cmp(&b.source));
    cursors
}

/// The k-way merge: each source's events in order, sources interleaved by time; a chunk is
/// loaded (`load`) only when the merge reaches its first timestamp.
fn merge(
    mut cursors: Vec<Cursor>,
    mut load: impl FnMut(u64) -> Result<Vec<EventView>, StoreError>,
    mut f: impl FnMut(&Arc<str>, EventView),
) -> Result<u64, StoreError> {
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
            c.loaded.extend(load(entry.chunk)?);
        } else if let Some(v) = c.loaded.pop_front() {
            f(&c.source, v);
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
    Ok(replayed)
}

/// One chunk's views with id ≥ `from_id` (none if the chunk has gone).
fn read_views(store: &Store, chunk: u64, from_id: u64) -> Result<Vec<EventView>, StoreError> {
    let Some(bytes) = store.event_views.get(chunk.to_be_bytes())? else {
        return Ok(Vec::new());
    };
    let mut views = decode_views(chunk, &bytes)?;
    views.retain(|v| v.id >= from_id);
    Ok(views)
}

/// The merge's side of the read-ahead: chunks that arrived before the merge wanted them wait
/// here; a chunk the reader has not reached yet is waited for.
struct ReadAhead {
    rx: Receiver<Decoded>,
    waiting: HashMap<u64, Result<Vec<EventView>, StoreError>>,
}

impl ReadAhead {
    fn new(rx: Receiver<Decoded>) -> Self {
        ReadAhead {
            rx,
            waiting: HashMap::new(),
        }
    }

    fn take(
        &mut self,
        store: &Store,
        chunk: u64,
        from_id: u64,
    ) -> Result<Vec<EventView>, StoreError> {
        if let Some(views) = self.waiting.remove(&chunk) {
            return views;
        }
        while let Ok((id, views)) = self.rx.recv() {
            if id == chunk {
                return views;
            }
            self.waiting.insert(id, views);
        }
        // The reader stopped early (it never does unless the merge dropped it): read here.
        read_views(store, chunk, from_id)
    }
}
