//! Ingest of bodies that arrive whole (an HTTP POST): framed and parsed on the caller's
//! thread with the same framers, parsers and redaction as files, then stored by the one
//! writer, which answers once the batch is durable (flushed). No checkpoints: a body that was
//! not acknowledged is the sender's to retry.

use std::io::Read;

use anyhow::Result;
use crossbeam_channel::Sender;

use super::source::{self, Opened};
use super::worker::{ParsedBatch, WorkBatch, process};
use crate::config::Config;
use crate::domain::Format;
use crate::privacy::Redactor;
use crate::store::Checkpoint;

/// A parsed body for the writer; `reply` gets the outcome once it is durable.
pub struct ExternalBatch {
    pub(super) batch: ParsedBatch,
    /// Stored in the same transaction as the batch (a bus consumer's stream position).
    pub(super) checkpoint: Option<KeyedCheckpoint>,
    pub(super) reply: Sender<Result<Stored, String>>,
}

/// A checkpoint and the key it is stored under.
pub type KeyedCheckpoint = (Vec<u8>, Checkpoint);

/// What the writer stored for one batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stored {
    pub first_id: u64,
    pub events: u64,
    /// Rejected records: (reason, detail, line).
    pub rejected: Vec<(String, String, Option<u64>)>,
    /// Records of the body stored or rejected, blank lines included (the body's first
    /// `records` records are durable).
    pub records: u64,
    /// Why the rest of the body was not stored, when only part of it was.
    pub failed: Option<String>,
}

/// Largest body accepted once decompressed (a gzip bomb stops here).
pub const MAX_DECODED: usize = 64 << 20;

/// Decode a body: gzip (by magic bytes) is inflated; a JSON array of records becomes one
/// record per line; a single object, NDJSON and CloudTrail `{"Records": […]}` pass through.
/// Fluent Bit's `[[time, {record}], …]` batches become their records: a record that only
/// carries a raw line (`log` or `message`, as its tail input writes) becomes that line.
pub fn decode_body(body: &[u8]) -> Result<Vec<u8>, String> {
    let raw = if body.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(body)
            .take(MAX_DECODED as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| format!("bad gzip body: {e}"))?;
        if out.len() > MAX_DECODED {
            return Err(format!("body inflates past {} MiB", MAX_DECODED >> 20));
        }
        out
    } else {
        body.to_vec()
    };
    let start = raw.iter().position(|b| !b.is_ascii_whitespace());
    if start.is_some_and(|i| raw[i] == b'[') {
        let items: Vec<serde_json::Value> =
            serde_json::from_slice(&raw).map_err(|e| format!("bad JSON array: {e}"))?;
        let mut out = Vec::with_capacity(raw.len());
        for item in items {
            match fluent_bit_record(item) {
                Ok(line) => out.extend_from_slice(line.as_bytes()),
                Err(item) => {
                    serde_json::to_writer(&mut out, &item).map_err(|e| e.to_string())?;
                }
            }
            out.push(b'\n');
        }
        return Ok(out);
    }
    Ok(raw)
}

/// A Fluent Bit `[time, {record}]` pair as one line: the raw line of a record that holds
/// only `log` or `message`, else the record as JSON (its time as `timestamp` when it has
/// none). Anything else is handed back untouched.
fn fluent_bit_record(item: serde_json::Value) -> Result<String, serde_json::Value> {
    use serde_json::Value;
    let Value::Array(pair) = &item else {
        return Err(item);
    };
    let (Some(time), Some(Value::Object(record)), 2) = (pair.first(), pair.get(1), pair.len())
    else {
        return Err(item);
    };
    let seconds = match time {
        Value::Number(n) => n.as_f64(),
        // Fluent Bit's EventTime: [seconds, nanoseconds].
        Value::Array(t) => t.first().and_then(Value::as_f64),
        _ => None,
    };
    let Some(seconds) = seconds else {
        return Err(item);
    };
    if record.len() == 1
        && let Some(Value::String(line)) = record.get("log").or_else(|| record.get("message"))
    {
        return Ok(line.trim_end_matches(['\r', '\n']).replace('\n', " "));
    }
    let mut record = record.clone();
    if !record.contains_key("timestamp") {
        let at = chrono::DateTime::from_timestamp_millis((seconds * 1000.0) as i64)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        record.insert("timestamp".into(), Value::String(at));
    }
    Ok(Value::Object(record).to_string())
}

/// Frame and parse a decoded body into batches for the writer.
pub fn parse_body(
    name: &str,
    body: Vec<u8>,
    format: Option<Format>,
    config: &Config,
    redactor: Option<&Redactor>,
) -> Result<Vec<ParsedBatch>, String> {
    let stream: super::reader::Stream = Box::new(std::io::Cursor::new(body));
    // The name comes from the caller (`?source=`): with privacy on it is stored redacted.
    let name = match redactor {
        Some(r) => r.text(name, &[]).map_err(|e| e.to_string())?.into_owned(),
        None => name.to_string(),
    };
    let mut opened: Opened =
        source::open_stream(&name, stream, format, config.ingest.max_line_bytes)?;
    // Bodies arrive at a long-running `serve`: chunked as followed sources are.
    let chunk = config.storage.chunk_events_for(true);
    let mut out = Vec::new();
    loop {
        let (data, items, eof) =
            super::pipeline::frame_batch(&mut opened, chunk, true).map_err(|e| e.to_string())?;
        if !items.is_empty() {
            let work = WorkBatch {
                seq: 0,
                source: opened.ctx.clone(),
                data,
                items,
                checkpoint: None,
            };
            out.push(
                process(
                    work,
                    &config.ingest,
                    &crate::detect::rules::RuleSet::shared(&config.detect),
                    redactor,
                    true,
                )
                .map_err(|e| format!("{e:#}"))?,
            );
        }
        if eof {
            return Ok(out);
        }
    }
}

/// Hand parsed batches to the writer and wait until they are durable.
/// A body whose first batches were stored and a later one failed is answered with what was
/// stored and `failed` set (an error only when nothing was stored).
pub fn store(writer: &Sender<ExternalBatch>, batches: Vec<ParsedBatch>) -> Result<Stored, String> {
    store_checkpointed(writer, batches.into_iter().map(|b| (b, None)).collect())
}

/// [`store`], each batch with the checkpoint written in its transaction.
pub fn store_checkpointed(
    writer: &Sender<ExternalBatch>,
    batches: Vec<(ParsedBatch, Option<KeyedCheckpoint>)>,
) -> Result<Stored, String> {
    let mut total = Stored::default();
    for (batch, checkpoint) in batches {
        let records = batch.chunk.as_ref().map_or(0, |c| u64::from(c.count))
            + batch.quarantine.len() as u64
            + batch.blank;
        let (tx, rx) = crossbeam_channel::bounded(1);
        let stored = writer
            .send(ExternalBatch {
                batch,
                checkpoint,
                reply: tx,
            })
            .map_err(|_| "the store writer has stopped".to_string())
            .and_then(|()| {
                rx.recv()
                    .map_err(|_| "the store writer stopped before storing".to_string())?
            });
        let stored = match stored {
            Ok(s) => s,
            Err(e) if total.records == 0 => return Err(e),
            Err(e) => {
                total.failed = Some(e);
                return Ok(total);
            }
        };
        if total.first_id == 0 {
            total.first_id = stored.first_id;
        }
        total.events += stored.events;
        total.rejected.extend(stored.rejected);
        total.records += records;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::decode_body;

    #[test]
    fn fluent_bit_batches_become_records_and_raw_lines() {
        let body = br#"[[1765000000, {"log": "Dec  6 03:00:00 web01 sshd[1]: Failed password for root from 198.51.100.7 port 22 ssh2\n"}], [[1765000001, 5], {"action": "login", "status": "failed"}], {"action": "x"}]"#;
        let out = String::from_utf8(decode_body(body).expect("decode")).expect("utf8");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(
            lines[0].starts_with("Dec  6 03:00:00 web01 sshd"),
            "{}",
            lines[0]
        );
        let rec: serde_json::Value = serde_json::from_str(lines[1]).expect("json");
        assert_eq!(rec["timestamp"], "2025-12-06T05:46:41+00:00");
        assert_eq!(rec["action"], "login");
        assert_eq!(lines[2], r#"{"action":"x"}"#);
    }
}
