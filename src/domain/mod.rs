//! Data shared by every part of the engine: events and alerts (serde only, no behaviour).

mod alert;
mod event;

pub use alert::{Alert, AlertIntel, AlertStatus, CloseReason, IntelMatch, Severity, ThreatType};
pub use event::{Format, Metadata, Origin, SecurityEvent, Status};
