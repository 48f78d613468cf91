//! Syslog / auth.log parser: RFC 3164, RFC 5424 and ISO-timestamped rsyslog lines become
//! `SecurityEvent`s, with sshd, sudo, su and pam_unix messages classified.
//!
//! Everything is hand-scanned with `str` methods over borrowed slices: no regexes, and no
//! allocation beyond the event itself.

mod header;
mod message;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Utc};

use crate::domain::SecurityEvent;
use crate::ingest::reject::{Reject, RejectKind};
use header::{HeadErr, Stamp, parse_header};
use message::build_event;

/// A backwards step larger than this between consecutive RFC 3164 lines is read as the file
/// crossing New Year rather than as out-of-order lines.
const ROLLOVER_GAP: TimeDelta = TimeDelta::days(30);

const NO_HEADER: &str = "no RFC 3164/5424 header";

/// Parses syslog lines of one source. Holds the year-inference state, so use one parser per file
/// or stream and feed it lines in order.
#[derive(Debug, Clone)]
pub struct SyslogParser {
    reference: DateTime<Utc>,
    /// Latest acceptable time: a day of clock skew is tolerated, nothing later.
    limit: DateTime<Utc>,
    /// Year and time of the previous RFC 3164 line, so a file crossing New Year rolls forward.
    last: Option<(i32, DateTime<Utc>)>,
}

impl SyslogParser {
    /// `reference`: the time the log was last written (file mtime, or now for stdin); RFC 3164
    /// timestamps have no year, so the year is inferred from it.
    pub fn new(reference: DateTime<Utc>) -> Self {
        let limit = reference
            .checked_add_signed(TimeDelta::days(1))
            .unwrap_or(reference);
        SyslogParser {
            reference,
            limit,
            last: None,
        }
    }

    /// Parse one line (without the trailing newline; may end in '\r'). Never panics.
    pub fn parse(&mut self, line: &str) -> Result<SecurityEvent, Reject> {
        let head = parse_header(line).map_err(HeadErr::into_reject)?;
        let timestamp = match head.stamp {
            Stamp::Full(t) => t,
            Stamp::Bsd { month, day, time } => {
                self.infer_year(month, day, time).ok_or_else(|| {
                    Reject::new(
                        RejectKind::BadTimestamp,
                        "date does not exist in a recent year",
                    )
                })?
            }
        };
        Ok(build_event(timestamp, &head))
    }

    /// RFC 3164 timestamps carry neither year nor zone. They are taken as UTC: the zone of the
    /// writing host is unknown here, and most servers log in UTC.
    fn infer_year(&mut self, month: u32, day: u32, time: NaiveTime) -> Option<DateTime<Utc>> {
        let at = |year: i32| {
            NaiveDate::from_ymd_opt(year, month, day).map(|d| d.and_time(time).and_utc())
        };
        let mut chosen = None;
        if let Some((year, last)) = self.last {
            match at(year) {
                Some(t) if t.checked_add_signed(ROLLOVER_GAP).is_some_and(|t| t < last) => {
                    let next_year = year.saturating_add(1);
                    chosen = at(next_year)
                        .filter(|t| *t <= self.limit)
                        .map(|t| (next_year, t));
                }
                Some(t) if t <= self.limit => chosen = Some((year, t)),
                _ => {}
            }
        }
        if chosen.is_none() {
            // The latest year that is not in the future; looking back a few years finds Feb 29.
            let base = self.reference.year();
            chosen = (0..8).find_map(|back| {
                let year = base.saturating_sub(back);
                at(year).filter(|t| *t <= self.limit).map(|t| (year, t))
            });
        }
        let (year, t) = chosen?;
        self.last = Some((year, t));
        Some(t)
    }
}

/// Cheap check used for format sniffing: does this line look like syslog (3164, 5424, or
/// ISO-timestamped rsyslog)?
pub fn looks_like_syslog(line: &str) -> bool {
    match parse_header(line) {
        Ok(_) => true,
        Err(e) => !matches!(e, HeadErr::NotSyslog(_)),
    }
}
