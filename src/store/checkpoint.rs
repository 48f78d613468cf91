//! Per-source resume points, written in the same transaction as the events they cover.

use serde::{Deserialize, Serialize};

/// How far a source has been ingested. `offset` is in the (decompressed) byte stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Bytes consumed (complete records only).
    pub offset: u64,
    /// Lines consumed (line formats) — the next line number is `line + 1`.
    pub line: u64,
    /// Records consumed (CloudTrail `{"Records": […]}` documents).
    pub records: u64,
    /// MAC of the first bytes of the file (up to 1 KiB): detects a different file at this path.
    pub fingerprint: String,
    /// How many bytes the fingerprint covers.
    pub fingerprint_len: u64,
    /// The file was read to its end.
    pub complete: bool,
    /// MAC of the bytes just before `offset` (up to 1 KiB; empty for a compressed source):
    /// with the head's, it tells a file that grew from a distinct file that merely starts
    /// the same way (CSV exports sharing a long header).
    #[serde(default)]
    pub tail: String,
    #[serde(default)]
    pub tail_len: u64,
}

impl Checkpoint {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Option<Checkpoint> {
        serde_json::from_slice(bytes).ok()
    }
}
