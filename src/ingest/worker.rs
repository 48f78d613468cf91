//! Parse + redact: turns a batch of framed records into events and quarantine entries.
//! Runs on every core; owns no shared state but the pseudonymiser.

use std::sync::Arc;

use super::reader::FrameKind;
use super::sniff::SourceKind;
use super::source::SourceCtx;
use super::syslog::SyslogParser;
use super::{Reject, RejectKind, cloudtrail, cloudtrail_text, csv, jsonl};
use crate::config::{FieldMapping, IngestConfig};
use crate::detect::rules::RuleSet;
use crate::domain::{Format, SecurityEvent};
use crate::privacy::Redactor;
use crate::sanitize;
use crate::store::{Checkpoint, EncodedChunk, QuarantineEntry};

/// One framed record inside a batch's shared buffer.
pub struct Item {
    pub start: usize,
    pub end: usize,
    pub line: Option<u64>,
    pub offset: u64,
    pub kind: FrameKind,
}

/// Records of one source, handed from the reader to a worker.
pub struct WorkBatch {
    pub seq: u64,
    pub source: Arc<SourceCtx>,
    pub data: Vec<u8>,
    pub items: Vec<Item>,
    /// Where the source stands once this batch is stored.
    pub checkpoint: Option<Checkpoint>,
}

/// A worker's output for one batch: events already encoded as a chunk (encoding is the
/// costliest step after parsing; done here it runs on every core, not on the one writer).
pub struct ParsedBatch {
    pub seq: u64,
    pub source: Arc<SourceCtx>,
    pub chunk: Option<EncodedChunk>,
    /// New events per format in this batch.
    pub formats: Vec<(Format, u64)>,
    pub quarantine: Vec<QuarantineEntry>,
    pub checkpoint: Option<Checkpoint>,
    /// The batch's newest events for a live view that taps the pipeline (none otherwise):
    /// at most [`TAP_EVENTS_PER_BATCH`], without their metadata (a view shows lines). The
    /// rest are dropped here, on every core, not on the one writer.
    pub events: Vec<SecurityEvent>,
    /// Where `events` start in the batch's chunk (the writer turns it into store ids).
    pub tap_from: u64,
    /// Blank lines: counted, never stored (a file of newlines is not a million rejects).
    pub blank: u64,
}

/// Raw bytes of a rejected record kept (sealed in the vault) for later inspection.
const SEAL_LIMIT: usize = 64 * 1024;
/// Bytes of a rejected record shown (redacted) in its excerpt.
const EXCERPT_LIMIT: usize = 512;

pub fn process(
    batch: WorkBatch,
    cfg: &IngestConfig,
    rules: &RuleSet,
    redactor: Option<&Redactor>,
    keep_events: bool,
) -> anyhow::Result<ParsedBatch> {
    let mut events = Vec::with_capacity(batch.items.len());
    let mut quarantine = Vec::new();
    let ctx = &batch.source;
    let mut syslog = SyslogParser::new(ctx.reference);
    let skew = chrono::Duration::hours(i64::try_from(cfg.max_future_skew_hours).unwrap_or(24));
    let latest = chrono::Utc::now() + skew;
    let mut blank = 0;
    // Validated when the configuration was loaded.
    let zone = cfg.naive_zone().ok().flatten();
    for item in &batch.items {
        let bytes = &batch.data[item.start..item.end];
        if item.kind == FrameKind::Record && bytes.iter().all(u8::is_ascii_whitespace) {
            blank += 1;
            continue;
        }
        // A CloudTrail record is read, checked against the rules and redacted as text where
        // that gives what the tree gives (see `cloudtrail_text`).
        let text_path = if item.kind == FrameKind::Record
            && ctx.kind == SourceKind::CloudTrailDocument
            && !is_binary(bytes)
        {
            cloudtrail_text::parse(bytes, rules, redactor)?
        } else {
            None
        };
        if let Some(ev) = text_path {
            match not_in_future(ev, latest, cfg.max_future_skew_hours) {
                Ok(mut ev) => {
                    ev.origin.source = ctx.name.clone();
                    ev.origin.line = item.line;
                    events.push(ev);
                }
                Err(reject) => {
                    quarantine.push(quarantine_entry(ctx, item, bytes, reject, redactor)?)
                }
            }
            continue;
        }
        let parsed = match item.kind {
            FrameKind::Record => parse_record(ctx, bytes, (&cfg.mapping, zone), &mut syslog)
                .and_then(|ev| not_in_future(ev, latest, cfg.max_future_skew_hours)),
            FrameKind::TooLong { len } => Err(Reject::new(
                RejectKind::LineTooLong,
                format!("record of {len} bytes exceeds ingest.max_line_bytes"),
            )),
            FrameKind::Truncated => Err(Reject::new(
                RejectKind::Truncated,
                "input ends inside this record",
            )),
            FrameKind::NotObject => Err(Reject::new(
                RejectKind::MalformedJson,
                "a Records element is not an object",
            )),
        };
        match parsed {
            Ok(mut ev) => {
                ev.origin.source = ctx.name.clone();
                ev.origin.line = item.line;
                // Rules see the raw record; only the ids of those that matched travel on.
                ev.rules = rules.matches(&ev);
                if let Some(r) = redactor {
                    r.redact_event(&mut ev)?;
                }
                events.push(ev);
            }
            Err(reject) => quarantine.push(quarantine_entry(ctx, item, bytes, reject, redactor)?),
        }
    }
    let mut formats: Vec<(Format, u64)> = Vec::new();
    for ev in &events {
        match formats.iter_mut().find(|(f, _)| *f == ev.format) {
            Some((_, n)) => *n += 1,
            None => formats.push((ev.format, 1)),
        }
    }
    let chunk = EncodedChunk::encode(&events)?;
    let (tap_from, events) = if keep_events {
        newest_for_tap(events)
    } else {
        (0, Vec::new())
    };
    Ok(ParsedBatch {
        seq: batch.seq,
        source: batch.source,
        chunk,
        formats,
        quarantine,
        checkpoint: batch.checkpoint,
        events,
        tap_from,
        blank,
    })
}

/// Most events of one batch a tap is handed: a live view shows the newest lines only.
const TAP_EVENTS_PER_BATCH: usize = 256;

/// The newest events of a stored batch for a live view, metadata left out, and where they
/// start in the batch.
fn newest_for_tap(mut events: Vec<SecurityEvent>) -> (u64, Vec<SecurityEvent>) {
    let from = events.len().saturating_sub(TAP_EVENTS_PER_BATCH);
    let mut newest = events.split_off(from);
    for ev in &mut newest {
        ev.metadata = serde_json::Map::new();
        ev.metadata_text = None;
    }
    (from as u64, newest)
}

/// An event dated past `latest` (now + the allowed skew) is rejected.
fn not_in_future(
    ev: SecurityEvent,
    latest: chrono::DateTime<chrono::Utc>,
    skew_hours: u64,
) -> Result<SecurityEvent, Reject> {
    if ev.timestamp > latest {
        return Err(Reject::new(
            RejectKind::BadTimestamp,
            format!(
                "dated {} — more than {skew_hours} h ahead of this machine's clock (ingest.max_future_skew_hours)",
                ev.timestamp
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        ));
    }
    Ok(ev)
}

fn parse_record(
    ctx: &SourceCtx,
    bytes: &[u8],
    (mapping, zone): (&FieldMapping, Option<chrono::FixedOffset>),
    syslog: &mut SyslogParser,
) -> Result<SecurityEvent, Reject> {
    if is_binary(bytes) {
        return Err(Reject::new(
            RejectKind::Binary,
            "record holds NUL or mostly unprintable bytes",
        ));
    }
    match ctx.kind {
        SourceKind::CloudTrailDocument => cloudtrail::parse(bytes),
        SourceKind::JsonLines => jsonl::parse(bytes, mapping, zone),
        SourceKind::Csv => csv::parse(
            bytes,
            ctx.csv_header.as_deref().unwrap_or_default(),
            mapping,
            zone,
        ),
        // Syslog lines with stray non-UTF-8 bytes are kept (decoded lossily and flagged):
        // rejecting them would let an attacker hide a login behind one bad byte.
        SourceKind::Syslog => match std::str::from_utf8(bytes) {
            Ok(line) => syslog.parse(line),
            Err(_) => {
                let line = String::from_utf8_lossy(bytes);
                let mut ev = syslog.parse(&line)?;
                ev.metadata
                    .insert("invalid_utf8".into(), serde_json::Value::Bool(true));
                Ok(ev)
            }
        },
    }
}

/// The first `max` bytes of `s`, ending on a char boundary.
fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// NUL anywhere, or more than a quarter of the bytes are control codes other than
/// tab/newline/escape (escape sequences are hostile text, not binary: they are kept and
/// made visible on output).
fn is_binary(bytes: &[u8]) -> bool {
    if memchr::memchr(0, bytes).is_some() {
        return true;
    }
    let controls = bytes
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x1b))
        .count();
    controls * 4 > bytes.len()
}

/// A quarantine record that never holds the raw bytes in the clear: the excerpt is redacted
/// (and sanitised) and the raw record is sealed in the vault.
pub(super) fn quarantine_entry(
    ctx: &SourceCtx,
    item: &Item,
    bytes: &[u8],
    reject: Reject,
    redactor: Option<&Redactor>,
) -> anyhow::Result<QuarantineEntry> {
    // Redact first, cut after: a value straddling the excerpt's end must not leak in part.
    let head = &bytes[..bytes.len().min(SEAL_LIMIT)];
    let text = String::from_utf8_lossy(head);
    let (excerpt, vault_id) = match redactor {
        Some(r) => {
            let redacted = r.quarantine_text(&text)?;
            let id = format!(
                "quarantine:{}",
                hex::encode(&r.pseudonymiser().keys().mac(bytes)[..12])
            );
            r.pseudonymiser()
                .seal_blob(&id, &bytes[..bytes.len().min(SEAL_LIMIT)])?;
            (redacted, Some(id))
        }
        None => (text.into_owned(), None),
    };
    let length = match item.kind {
        FrameKind::TooLong { len } => len,
        _ => bytes.len() as u64,
    };
    Ok(QuarantineEntry {
        kind: reject.kind,
        detail: sanitize::visible(&reject.detail).into_owned(),
        source: ctx.name.clone(),
        line: item.line,
        offset: item.offset,
        length,
        excerpt: sanitize::visible_prefix(cut(&excerpt, EXCERPT_LIMIT), EXCERPT_LIMIT * 2),
        vault_id,
        at: chrono::Utc::now().to_rfc3339(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_detection() {
        assert!(is_binary(b"abc\0def"));
        assert!(is_binary(&[1, 2, 3, 4, b'a']));
        assert!(!is_binary(b"login \x1b[31mred\x1b[0m ok"));
        assert!(!is_binary(b"plain text"));
    }
}
