//! Messages from a log bus (NATS JetStream), framed and parsed like files. A message holds
//! one record, NDJSON lines, a JSON array or a CloudTrail `{"Records": […]}` document (gzip
//! or not); every record it yields carries the message's stream sequence as its line, so
//! `{source: "nats:STREAM", line: seq}` finds the original message. One source per stream,
//! not per subject: a pull interleaves subjects message by message, and per-subject sources
//! would cut it into one-event chunks. Rejects name the subject (`nats:STREAM/subject`).

use std::path::Path;
use std::sync::Arc;

use super::reader::FrameKind;
use super::sniff::{SourceKind, detect};
use super::source::{self, SourceCtx};
use super::worker::{Item, ParsedBatch, WorkBatch, process, quarantine_entry};
use super::{Reject, RejectKind};
use crate::config::Config;
use crate::detect::rules::RuleSet;
use crate::domain::Format;
use crate::privacy::Redactor;

/// One delivered message.
#[derive(Debug, Clone)]
pub struct Message {
    pub subject: String,
    /// The stream sequence (unique and increasing within the stream).
    pub seq: u64,
    pub payload: Vec<u8>,
}

/// A parsed run of messages and the last stream sequence it covers.
pub struct ParsedRun {
    pub batch: ParsedBatch,
    pub last_seq: u64,
}

/// Bytes of a message looked at to tell its format.
const SNIFF_BYTES: usize = 4096;

/// The source name of a stream's events.
pub fn source_name(stream: &str) -> String {
    format!("nats:{stream}")
}

/// Parse `messages` (in stream order) into batches for the writer. Consecutive messages of
/// one format share a batch; a change of format starts the next, so the batches'
/// `last_seq` only grows and a checkpoint at any of them covers all before it.
pub fn parse_messages(
    stream: &str,
    messages: &[Message],
    format: Option<Format>,
    config: &Config,
    redactor: Option<&Redactor>,
) -> anyhow::Result<Vec<ParsedRun>> {
    let rules = RuleSet::shared(&config.detect);
    let mut out = Vec::new();
    let mut run: Option<Run> = None;
    let name = source_name(stream);
    for msg in messages {
        let framed = frame_message(&name, msg, format, config.ingest.max_line_bytes);
        let same = run.as_ref().is_some_and(|r| r.fits(&framed));
        if !same && let Some(done) = run.take() {
            out.push(done.finish(config, &rules, redactor)?);
        }
        let r = run.get_or_insert_with(|| Run::new(name.clone(), &framed));
        r.add(msg, framed);
    }
    if let Some(done) = run {
        out.push(done.finish(config, &rules, redactor)?);
    }
    Ok(out)
}

/// A message cut into records, or the reason it could not be.
enum Framed {
    Records {
        kind: SourceKind,
        csv_header: Option<Vec<String>>,
        data: Vec<u8>,
        items: Vec<(usize, usize, FrameKind)>,
    },
    Bad(Reject),
}

fn frame_message(name: &str, msg: &Message, forced: Option<Format>, max_line: usize) -> Framed {
    let body = match super::external::decode_body(&msg.payload) {
        Ok(b) => b,
        Err(e) => return Framed::Bad(Reject::new(RejectKind::UnknownFormat, e)),
    };
    let head = &body[..body.len().min(SNIFF_BYTES)];
    let Some(kind) = detect(head, Path::new(&msg.subject), forced) else {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Framed::Records {
                kind: SourceKind::Syslog,
                csv_header: None,
                data: Vec::new(),
                items: Vec::new(),
            };
        }
        return Framed::Bad(Reject::new(
            RejectKind::UnknownFormat,
            "message format not recognised (set format on the [[ingest.nats]] source)",
        ));
    };
    let trimmed = body.strip_suffix(b"\n").unwrap_or(&body);
    let trimmed = trimmed.strip_suffix(b"\r").unwrap_or(trimmed);
    // The common case, one line per message, framed without a reader.
    if kind != SourceKind::CloudTrailDocument
        && kind != SourceKind::Csv
        && memchr::memchr(b'\n', trimmed).is_none()
    {
        let frame = if trimmed.len() > max_line {
            FrameKind::TooLong {
                len: trimmed.len() as u64,
            }
        } else {
            FrameKind::Record
        };
        let end = if trimmed.len() > max_line {
            0
        } else {
            trimmed.len()
        };
        let mut data = body;
        data.truncate(end);
        return Framed::Records {
            kind,
            csv_header: None,
            items: vec![(0, end, frame)],
            data,
        };
    }
    let forced = forced.or(Some(kind.format()));
    let mut opened =
        match source::open_stream(name, Box::new(std::io::Cursor::new(body)), forced, max_line) {
            Ok(o) => o,
            Err(e) => return Framed::Bad(Reject::new(RejectKind::UnknownFormat, e)),
        };
    let mut data = Vec::new();
    let mut items = Vec::new();
    loop {
        match super::pipeline::frame_batch(&mut opened, 4096, true) {
            Ok((chunk, framed, eof)) => {
                let base = data.len();
                data.extend_from_slice(&chunk);
                items.extend(
                    framed
                        .into_iter()
                        .map(|i| (base + i.start, base + i.end, i.kind)),
                );
                if eof {
                    break;
                }
            }
            Err(e) => return Framed::Bad(Reject::new(RejectKind::UnknownFormat, e.to_string())),
        }
    }
    Framed::Records {
        kind: opened.ctx.kind,
        csv_header: opened.ctx.csv_header.clone(),
        data,
        items,
    }
}

/// Consecutive messages of one subject and format.
struct Run {
    ctx: SourceCtx,
    data: Vec<u8>,
    items: Vec<Item>,
    /// Messages that could not be framed: (sequence, payload, why).
    bad: Vec<(u64, Vec<u8>, Reject)>,
    /// Each message's subject by sequence, for the rejects.
    subjects: Vec<(u64, String)>,
    last_seq: u64,
}

impl Run {
    fn new(name: String, first: &Framed) -> Run {
        let (kind, csv_header) = match first {
            Framed::Records {
                kind, csv_header, ..
            } => (*kind, csv_header.clone()),
            Framed::Bad(_) => (SourceKind::Syslog, None),
        };
        Run {
            ctx: SourceCtx {
                name,
                key: None,
                kind,
                reference: chrono::Utc::now(),
                csv_header,
            },
            data: Vec::new(),
            items: Vec::new(),
            bad: Vec::new(),
            subjects: Vec::new(),
            last_seq: 0,
        }
    }

    fn fits(&self, framed: &Framed) -> bool {
        match framed {
            Framed::Records {
                kind, csv_header, ..
            } => *kind == self.ctx.kind && *csv_header == self.ctx.csv_header,
            Framed::Bad(_) => true,
        }
    }

    fn add(&mut self, msg: &Message, framed: Framed) {
        self.last_seq = self.last_seq.max(msg.seq);
        self.subjects.push((msg.seq, msg.subject.clone()));
        match framed {
            Framed::Records { data, items, .. } => {
                let base = self.data.len();
                self.data.extend_from_slice(&data);
                self.items
                    .extend(items.into_iter().map(|(start, end, kind)| Item {
                        start: base + start,
                        end: base + end,
                        line: Some(msg.seq),
                        offset: 0,
                        kind,
                    }));
            }
            Framed::Bad(reject) => self.bad.push((msg.seq, msg.payload.clone(), reject)),
        }
    }

    fn finish(
        self,
        config: &Config,
        rules: &RuleSet,
        redactor: Option<&Redactor>,
    ) -> anyhow::Result<ParsedRun> {
        let ctx = Arc::new(self.ctx);
        let work = WorkBatch {
            seq: 0,
            source: ctx.clone(),
            data: self.data,
            items: self.items,
            checkpoint: None,
        };
        let mut batch = process(work, &config.ingest, rules, redactor, true)?;
        for (seq, payload, reject) in self.bad {
            let item = Item {
                start: 0,
                end: payload.len(),
                line: Some(seq),
                offset: 0,
                kind: FrameKind::Record,
            };
            batch
                .quarantine
                .push(quarantine_entry(&ctx, &item, &payload, reject, redactor)?);
        }
        // Name each reject's subject (redacted with privacy on: a subject may name a host).
        for q in &mut batch.quarantine {
            let subject = q.line.and_then(|seq| {
                self.subjects
                    .binary_search_by_key(&seq, |(s, _)| *s)
                    .ok()
                    .map(|i| self.subjects[i].1.as_str())
            });
            if let Some(subject) = subject {
                let named = format!("{}/{subject}", ctx.name);
                q.source = match redactor {
                    Some(r) => r.text(&named, &[])?.into_owned(),
                    None => named,
                };
            }
        }
        Ok(ParsedRun {
            batch,
            last_seq: self.last_seq,
        })
    }
}
