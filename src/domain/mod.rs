//! Data shared by every part of the engine: the unified event schema (serde only, no behaviour).

mod event;

pub use event::{Format, Metadata, Origin, SecurityEvent, Status};
