//! Ingest: framing, format parsers, the parallel pipeline, and `--follow` tailing.

pub mod cloudtrail;
pub mod cloudtrail_text;
pub mod csv;
pub mod external;
pub mod fields;
mod follow;
pub mod jsonl;
pub mod messages;
mod pipeline;
#[cfg(test)]
mod props;
pub mod reader;
mod reject;
pub mod sniff;
pub mod source;
mod summary;
pub mod syslog;
mod worker;

pub use pipeline::{Backlog, IngestOptions, TapBatch, run};
pub use reject::{Reject, RejectKind};
pub use summary::IngestSummary;
