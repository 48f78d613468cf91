//! TEMPORARY compile placeholder, replaced by the real parser before commit.
use chrono::{DateTime, Utc};
use crate::domain::SecurityEvent;
use super::{Reject, RejectKind};
pub struct SyslogParser { _r: DateTime<Utc> }
impl SyslogParser {
    pub fn new(reference: DateTime<Utc>) -> Self { SyslogParser { _r: reference } }
    pub fn parse(&mut self, _line: &str) -> Result<SecurityEvent, Reject> { Err(Reject::new(RejectKind::NotSyslog, "x")) }
}
pub fn looks_like_syslog(line: &str) -> bool { line.len() > 16 && line.as_bytes()[3] == b' ' }
