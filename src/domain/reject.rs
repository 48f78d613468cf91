//! Why a record was rejected: every bad record is counted by kind and quarantined with its reason.

use serde::{Deserialize, Serialize};

/// The kind of a rejection; the summary counts rejects per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectKind {
    /// Not valid JSON (or not a JSON object where one is required).
    MalformedJson,
    /// A record cut off by the end of the input (truncated file or stream).
    Truncated,
    /// Bytes that are not UTF-8 where the format requires it.
    InvalidUtf8,
    /// NUL bytes or mostly unprintable content.
    Binary,
    /// A line longer than `ingest.max_line_bytes`.
    LineTooLong,
    /// A timestamp that is present but cannot be understood.
    BadTimestamp,
    /// A field the format requires is missing or has the wrong type.
    MissingField,
    /// A line that does not follow RFC 3164 / RFC 5424 syslog framing.
    NotSyslog,
    /// A CSV row that does not fit its header.
    BadCsv,
    /// A message (from a bus) whose format cannot be told, or whose encoding is broken.
    UnknownFormat,
}

impl RejectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RejectKind::MalformedJson => "malformed_json",
            RejectKind::Truncated => "truncated",
            RejectKind::InvalidUtf8 => "invalid_utf8",
            RejectKind::Binary => "binary",
            RejectKind::LineTooLong => "line_too_long",
            RejectKind::BadTimestamp => "bad_timestamp",
            RejectKind::MissingField => "missing_field",
            RejectKind::NotSyslog => "not_syslog",
            RejectKind::BadCsv => "bad_csv",
            RejectKind::UnknownFormat => "unknown_format",
        }
    }
}

impl std::fmt::Display for RejectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
