//! Data shared by every part of the engine: events and alerts (serde only, no behaviour).

mod action;
mod alert;
mod event;
pub mod flow;
mod reject;
mod view;

pub use action::{Action, ActionKind, ActionState, Decision, Execution, Rollback, Target, Tier};
pub use alert::{
    Alert, AlertIntel, AlertStatus, CloseReason, IntelMatch, RuleRef, Severity, ThreatType,
};
pub use event::{EventRef, Format, Metadata, MetadataText, Origin, SecurityEvent, Status};
pub use reject::RejectKind;
pub use view::{EventKind, EventView, SOURCE_NETWORK, VIEW_METADATA_KEYS, network_of};
