//! The event log: compressed chunks keyed by first event id, a per-source chunk index, and the
//! single writer that appends chunks, checkpoints and quarantine entries atomically.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::{Checkpoint, QuarantineEntry, Store, StoreError};
use crate::domain::SecurityEvent;
use crate::domain::{EventRef, EventView};

const CHUNK_FORMAT_V1: u8 = 1;
const NEXT_EVENT_ID: &str = "next_event_id";
const NEXT_QUARANTINE_ID: &str = "next_quarantine_id";

/// Fingerprints shorter than this (files under 1 KiB) are too likely to collide to be aliases.
pub const ALIAS_MIN_LEN: u64 = 1024;

/// The prefix of `checkpoints` keys under a content fingerprint (paths are stored under their
/// own bytes). Each source whose head has this fingerprint has its own entry after it, since
/// distinct files can share a head (exports with one long header).
pub fn fingerprint_key(fingerprint: &str) -> Vec<u8> {
    format!("fingerprint:{fingerprint}:").into_bytes()
}

/// A chunk's entry in `chunk_index`: which source and which lines it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkEntry {
    pub chunk: u64,
    pub count: u32,
    pub source: String,
    /// Earliest and latest event time in the chunk (ms since the epoch): replay in time order
    /// opens a chunk only when the merge reaches it.
    #[serde(default)]
    pub first_ts: i64,
    #[serde(default)]
    pub last_ts: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_line: Option<u64>,
}

/// A chunk of events of one source, encoded off the writer thread: JSON lines (ids left out),
/// LZ4-compressed, behind a format byte.
#[derive(Debug, Clone)]
pub struct EncodedChunk {
    pub bytes: Vec<u8>,
    /// The detection projection of the same events (`event_views` tree).
    pub views: Vec<u8>,
    /// The same projection decoded (ids unset until stored): the writer hands it to live
    /// detection so it need not read back what was just written.
    pub view_list: Vec<EventView>,
    pub count: u32,
    pub first_line: Option<u64>,
    pub last_line: Option<u64>,
    pub first_ts: i64,
    pub last_ts: i64,
}

impl EncodedChunk {
    /// The index entry this chunk gets when stored under `first_id`.
    pub fn entry(&self, first_id: u64, source: &str) -> ChunkEntry {
        ChunkEntry {
            chunk: first_id,
            count: self.count,
            source: source.to_string(),
            first_ts: self.first_ts,
            last_ts: self.last_ts,
            first_line: self.first_line,
            last_line: self.last_line,
        }
    }

    /// None for no events.
    pub fn encode(events: &[SecurityEvent]) -> Result<Option<EncodedChunk>, StoreError> {
        if events.is_empty() {
            return Ok(None);
        }
        let views: Vec<EventView> = events.iter().map(EventView::from_event).collect();
        Ok(Some(EncodedChunk {
            bytes: encode_chunk(events)?,
            views: encode_views(&views)?,
            count: events.len() as u32,
            first_line: events.iter().filter_map(|e| e.origin.line).min(),
            last_line: events.iter().filter_map(|e| e.origin.line).max(),
            first_ts: views.iter().map(|v| v.ts).min().unwrap_or(0),
            last_ts: views.iter().map(|v| v.ts).max().unwrap_or(0),
            view_list: views,
        }))
    }
}

/// JSON lines (measured faster here than MessagePack via rmp-serde, and readable when
/// debugging), LZ4-compressed.
pub fn encode_chunk(events: &[SecurityEvent]) -> Result<Vec<u8>, StoreError> {
    let mut json = Vec::with_capacity(events.len() * 400);
    for ev in events {
        serde_json::to_writer(&mut json, ev).map_err(|e| StoreError::Corrupt {
            tree: "events",
            detail: e.to_string(),
        })?;
        json.push(b'\n');
    }
    let mut out = vec![CHUNK_FORMAT_V1];
    out.extend_from_slice(&lz4_flex::compress_prepend_size(&json));
    Ok(out)
}

/// Decode a chunk stored under `first_id`; events get their ids back from their position.
pub fn decode_chunk(first_id: u64, bytes: &[u8]) -> Result<Vec<SecurityEvent>, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        tree: "events",
        detail,
    };
    let (&version, body) = bytes
        .split_first()
        .ok_or_else(|| corrupt("empty chunk".into()))?;
    if version != CHUNK_FORMAT_V1 {
        return Err(corrupt(format!("unknown chunk format {version}")));
    }
    let json = lz4_flex::decompress_size_prepended(body).map_err(|e| corrupt(e.to_string()))?;
    let mut events: Vec<SecurityEvent> = serde_json::Deserializer::from_slice(&json)
        .into_iter::<SecurityEvent>()
        .map(|r| r.map_err(|e| corrupt(e.to_string())))
        .collect::<Result<_, _>>()?;
    for (i, ev) in events.iter_mut().enumerate() {
        ev.id = first_id + i as u64;
    }
    Ok(events)
}

/// Views are postcard (compact, no field names): read back millions of times by detection.
pub fn encode_views(views: &[EventView]) -> Result<Vec<u8>, StoreError> {
    let packed = postcard::to_stdvec(views).map_err(|e| StoreError::Corrupt {
        tree: "event_views",
        detail: e.to_string(),
    })?;
    Ok(lz4_flex::compress_prepend_size(&packed))
}

pub fn decode_views(first_id: u64, bytes: &[u8]) -> Result<Vec<EventView>, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt {
        tree: "event_views",
        detail,
    };
    let packed = lz4_flex::decompress_size_prepended(bytes).map_err(|e| corrupt(e.to_string()))?;
    let mut views: Vec<EventView> =
        postcard::from_bytes(&packed).map_err(|e| corrupt(e.to_string()))?;
    for (i, v) in views.iter_mut().enumerate() {
        v.id = first_id + i as u64;
    }
    Ok(views)
}

/// A chunk key back to its first event id.
pub fn chunk_first_id(key: &[u8]) -> Result<u64, StoreError> {
    <[u8; 8]>::try_from(key)
        .map(u64::from_be_bytes)
        .map_err(|_| StoreError::Corrupt {
            tree: "events",
            detail: "bad chunk key".into(),
        })
}

/// The 16-byte key prefix of a source in `chunk_index`.
pub fn source_key(source: &str) -> [u8; 16] {
    let digest = Sha256::digest(source.as_bytes());
    let mut key = [0u8; 16];
    key.copy_from_slice(&digest[..16]);
    key
}

/// Appends to the event log. Only one exists per store (the ingest writer thread).
pub struct EventWriter<'a> {
    store: &'a Store,
    next_id: u64,
    next_quarantine: u64,
}

/// One atomic append: a chunk of one source's events, rejects, and the checkpoint they bring
/// the source to.
pub struct Append<'a> {
    pub source: &'a str,
    pub chunk: Option<&'a EncodedChunk>,
    pub quarantine: &'a [QuarantineEntry],
    pub checkpoint: Option<(&'a [u8], &'a Checkpoint)>,
}

impl<'a> EventWriter<'a> {
    pub fn new(store: &'a Store) -> Result<Self, StoreError> {
        Ok(EventWriter {
            store,
            next_id: store.meta_u64(NEXT_EVENT_ID)?.max(1),
            next_quarantine: store.meta_u64(NEXT_QUARANTINE_ID)?.max(1),
        })
    }

    /// Write everything in `a` in one sled transaction: a crash leaves all of it or none, so a
    /// checkpoint never points past events that were not stored. Returns the first event id.
    pub fn append(&mut self, a: Append<'_>) -> Result<u64, StoreError> {
        let first_id = self.next_id;
        let count = a.chunk.map_or(0, |c| c.count);
        let next_id = first_id + u64::from(count);
        let entry = a.chunk.map(|c| c.entry(first_id, a.source));
        let views = a.chunk.map(|c| c.views.as_slice());
        let mut index_key = source_key(a.source).to_vec();
        index_key.extend_from_slice(&first_id.to_be_bytes());
        let entry_bytes = entry.map(|e| serde_json::to_vec(&e).unwrap_or_default());
        let chunk = a.chunk.map(|c| c.bytes.as_slice());
        let q_first = self.next_quarantine;
        let q_values: Vec<Vec<u8>> = a
            .quarantine
            .iter()
            .map(|q| serde_json::to_vec(q).unwrap_or_default())
            .collect();
        let next_q = q_first + q_values.len() as u64;
        let checkpoint = a.checkpoint.map(|(k, c)| (k.to_vec(), c.encode()));
        // Also under the content fingerprint, so a rotated (renamed) file is recognised.
        let alias = a.checkpoint.and_then(|(k, c)| {
            (c.fingerprint_len >= ALIAS_MIN_LEN).then(|| {
                let mut key = fingerprint_key(&c.fingerprint);
                key.extend_from_slice(k);
                key
            })
        });

        let s = self.store;
        let result: Result<(), TransactionError<()>> = (
            &s.events,
            &s.chunk_index,
            &s.checkpoints,
            &s.quarantine,
            &s.meta,
            &s.event_views,
        )
            .transaction(
                |(events, index, checkpoints, quarantine, meta, event_views)| {
                    if let (Some(chunk), Some(entry_bytes)) = (chunk, &entry_bytes) {
                        events.insert(&first_id.to_be_bytes(), chunk)?;
                        if let Some(views) = views {
                            event_views.insert(&first_id.to_be_bytes(), views)?;
                        }
                        index.insert(index_key.as_slice(), entry_bytes.as_slice())?;
                        meta.insert(NEXT_EVENT_ID, &next_id.to_be_bytes())?;
                    }
                    for (i, q) in q_values.iter().enumerate() {
                        quarantine.insert(&(q_first + i as u64).to_be_bytes(), q.as_slice())?;
                    }
                    if !q_values.is_empty() {
                        meta.insert(NEXT_QUARANTINE_ID, &next_q.to_be_bytes())?;
                    }
                    if let Some((key, value)) = &checkpoint {
                        checkpoints.insert(key.as_slice(), value.as_slice())?;
                        if let Some(alias) = &alias {
                            checkpoints.insert(alias.as_slice(), value.as_slice())?;
                        }
                    }
                    Ok::<(), ConflictableTransactionError<()>>(())
                },
            );
        match result {
            Ok(()) => {
                self.next_id = next_id;
                self.next_quarantine = next_q;
                Ok(first_id)
            }
            Err(TransactionError::Storage(e)) => Err(StoreError::Sled(e)),
            Err(TransactionError::Abort(())) => Err(StoreError::Corrupt {
                tree: "events",
                detail: "append aborted".into(),
            }),
        }
    }
}

impl Store {
    /// Number of stored events.
    pub fn event_count(&self) -> Result<u64, StoreError> {
        Ok(self.meta_u64(NEXT_EVENT_ID)?.saturating_sub(1))
    }

    /// Every stored event in id order (decodes chunk by chunk).
    pub fn iter_events(&self) -> impl Iterator<Item = Result<SecurityEvent, StoreError>> + '_ {
        self.events.iter().flat_map(|item| {
            let decoded = item
                .map_err(StoreError::from)
                .and_then(|(k, v)| decode_chunk(chunk_first_id(&k)?, &v));
            match decoded {
                Ok(events) => events.into_iter().map(Ok).collect::<Vec<_>>(),
                Err(e) => vec![Err(e)],
            }
        })
    }

    /// The event with store id `id` (its chunk is the last one starting at or before it).
    pub fn event_by_id(&self, id: u64) -> Result<Option<SecurityEvent>, StoreError> {
        let Some(item) = self.events.range(..=id.to_be_bytes()).next_back() else {
            return Ok(None);
        };
        let (k, v) = item?;
        Ok(decode_chunk(chunk_first_id(&k)?, &v)?
            .into_iter()
            .find(|e| e.id == id))
    }

    /// Every quarantined record in arrival order.
    pub fn iter_quarantine(
        &self,
    ) -> impl Iterator<Item = Result<QuarantineEntry, StoreError>> + '_ {
        self.quarantine.iter().map(|item| {
            let (_, v) = item?;
            serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                tree: "quarantine",
                detail: e.to_string(),
            })
        })
    }

    /// Find the event an `EventRef` points at: one index range scan plus chunk decodes.
    pub fn resolve(&self, r: &EventRef) -> Result<Option<SecurityEvent>, StoreError> {
        for item in self.chunk_index.scan_prefix(source_key(&r.source)) {
            let (_, v) = item?;
            let entry: ChunkEntry =
                serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                    tree: "chunk_index",
                    detail: e.to_string(),
                })?;
            if r.record_id.is_none()
                && let (Some(line), Some(lo), Some(hi)) =
                    (r.line, entry.first_line, entry.last_line)
                && (line < lo || line > hi)
            {
                continue;
            }
            let Some(chunk) = self.events.get(entry.chunk.to_be_bytes())? else {
                continue;
            };
            let found =
                decode_chunk(entry.chunk, &chunk)?
                    .into_iter()
                    .find(|e| match &r.record_id {
                        Some(id) => e.origin.record_id.as_deref() == Some(id.as_str()),
                        None => e.origin.line == r.line,
                    });
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// Resolve many refs, decoding each chunk once (an alert's evidence shares chunks).
    pub fn resolve_many(
        &self,
        refs: &[EventRef],
    ) -> Result<Vec<Option<SecurityEvent>>, StoreError> {
        let mut entries: std::collections::HashMap<std::sync::Arc<str>, Vec<ChunkEntry>> =
            Default::default();
        let mut decoded: std::collections::HashMap<u64, Vec<SecurityEvent>> = Default::default();
        let mut out = Vec::with_capacity(refs.len());
        for r in refs {
            if !entries.contains_key(&r.source) {
                let mut list = Vec::new();
                for item in self.chunk_index.scan_prefix(source_key(&r.source)) {
                    let (_, v) = item?;
                    list.push(serde_json::from_slice::<ChunkEntry>(&v).map_err(|e| {
                        StoreError::Corrupt {
                            tree: "chunk_index",
                            detail: e.to_string(),
                        }
                    })?);
                }
                entries.insert(r.source.clone(), list);
            }
            let mut found = None;
            for entry in entries.get(&r.source).into_iter().flatten() {
                if r.record_id.is_none()
                    && let (Some(line), Some(lo), Some(hi)) =
                        (r.line, entry.first_line, entry.last_line)
                    && (line < lo || line > hi)
                {
                    continue;
                }
                if let std::collections::hash_map::Entry::Vacant(slot) = decoded.entry(entry.chunk)
                {
                    slot.insert(match self.events.get(entry.chunk.to_be_bytes())? {
                        Some(bytes) => decode_chunk(entry.chunk, &bytes)?,
                        None => Vec::new(),
                    });
                }
                found = decoded.get(&entry.chunk).and_then(|events| {
                    events
                        .iter()
                        .find(|e| match &r.record_id {
                            Some(id) => e.origin.record_id.as_deref() == Some(id.as_str()),
                            None => e.origin.line == r.line,
                        })
                        .cloned()
                });
                if found.is_some() {
                    break;
                }
            }
            out.push(found);
        }
        Ok(out)
    }

    /// The checkpoint stored under `key`.
    pub fn checkpoint(&self, key: &[u8]) -> Result<Option<Checkpoint>, StoreError> {
        Ok(self
            .checkpoints
            .get(key)?
            .and_then(|v| Checkpoint::decode(&v)))
    }

    /// Every checkpoint of a source whose head had this fingerprint (under any path).
    pub fn checkpoints_by_fingerprint(
        &self,
        fingerprint: &str,
    ) -> Result<Vec<Checkpoint>, StoreError> {
        let mut out = Vec::new();
        for kv in self.checkpoints.scan_prefix(fingerprint_key(fingerprint)) {
            if let Some(cp) = Checkpoint::decode(&kv?.1) {
                out.push(cp);
            }
        }
        Ok(out)
    }
}
