//! Rejected input, kept with its reason and origin: a redacted excerpt, raw bytes only sealed.

use serde::{Deserialize, Serialize};

use crate::domain::RejectKind;

/// One quarantined record. `excerpt` is redacted and sanitised; the raw record (up to 64 KiB)
/// is sealed in the vault under `vault_id` when privacy is on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantineEntry {
    pub kind: RejectKind,
    pub detail: String,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Byte offset of the record in the (decompressed) source.
    pub offset: u64,
    /// Length of the rejected record in bytes.
    pub length: u64,
    pub excerpt: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_id: Option<String>,
    pub at: String,
}
