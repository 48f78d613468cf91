//! Why a record was rejected: every bad record is counted by kind and quarantined with its reason.

pub use crate::domain::RejectKind;

/// A record a parser could not turn into an event. `detail` must not echo raw record content
/// beyond what the privacy layer redacts before storing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {detail}")]
pub struct Reject {
    pub kind: RejectKind,
    pub detail: String,
}

impl Reject {
    pub fn new(kind: RejectKind, detail: impl Into<String>) -> Self {
        Reject {
            kind,
            detail: detail.into(),
        }
    }
}
