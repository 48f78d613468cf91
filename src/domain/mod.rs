//! Data shared by every part of the engine: events and alerts (serde only, no behaviour).

mod action;
mod alert;
mod event;
pub mod flow;

pub use action::{Action, ActionKind, ActionState, Decision, Execution, Rollback, Target, Tier};
pub use alert::{
    Alert, AlertIntel, AlertStatus, CloseReason, IntelMatch, RuleRef, Severity, ThreatType,
};
pub use event::{Format, Metadata, Origin, SecurityEvent, Status};
