//! Framing: bytes in, records out — lines (with a length cap), CloudTrail `{"Records":[…]}`
//! documents (streamed, so a truncated file still yields every complete record), gzip.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;

/// Counts bytes read from the underlying file (progress for compressed inputs too).
pub struct Counting<R> {
    inner: R,
    pub count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Stops a decompressed stream at `limit` bytes with an error naming the setting: a small
/// gzip of newlines can inflate to gigabytes.
pub struct InflateCap<R> {
    inner: R,
    read: u64,
    limit: u64,
}

impl<R: Read> Read for InflateCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(io::Error::other(format!(
                "decompresses past {} MiB (ingest.max_inflated_mb): the rest of the file is not read",
                self.limit >> 20
            )));
        }
        Ok(n)
    }
}

pub type Stream = Box<dyn BufRead + Send>;

const BUF_SIZE: usize = 256 * 1024;

/// Open a file as a decompressed byte stream (gzip detected by its magic bytes, not its name).
pub fn open_file(
    path: &Path,
    counter: Arc<AtomicU64>,
    max_inflated: u64,
) -> io::Result<(Stream, bool)> {
    let mut file = BufReader::with_capacity(
        BUF_SIZE,
        Counting {
            inner: File::open(path)?,
            count: counter,
        },
    );
    let gz = file.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    if gz {
        Ok((
            Box::new(BufReader::with_capacity(
                BUF_SIZE,
                InflateCap {
                    inner: MultiGzDecoder::new(file),
                    read: 0,
                    limit: max_inflated,
                },
            )),
            true,
        ))
    } else {
        Ok((Box::new(file), false))
    }
}

/// Where a framed record sits in its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based line number of the record's first line (line formats).
    pub line: Option<u64>,
    /// Byte offset of the record's first byte in the decompressed stream.
    pub offset: u64,
}

/// What the framer found.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// A complete record; its bytes were appended to the caller's buffer.
    Record,
    /// A line over the cap: only its first bytes were kept; `len` is the full length.
    TooLong { len: u64 },
    /// The input ended inside a record; the partial bytes were appended.
    Truncated,
    /// A value in a `Records` array that is not an object.
    NotObject,
}

/// Splits a stream into lines. A line over `max` bytes is skipped without buffering it.
pub struct LineReader {
    stream: Stream,
    max: usize,
    /// Bytes consumed from the stream (complete lines only).
    pub offset: u64,
    /// Lines consumed.
    pub line: u64,
    /// Bytes of an unfinished last line (kept across calls while tailing).
    pending: Vec<u8>,
    pending_len: u64,
}

/// Bytes of an over-long line kept for the quarantine excerpt.
pub const KEEP_PREFIX: usize = 4096;

impl LineReader {
    pub fn new(stream: Stream, max: usize, offset: u64, line: u64) -> Self {
        LineReader {
            stream,
            max,
            offset,
            line,
            pending: Vec::new(),
            pending_len: 0,
        }
    }

    /// Skip `n` bytes of the stream (resuming a compressed source at a checkpoint).
    pub fn skip_bytes(&mut self, mut n: u64) -> io::Result<()> {
        while n > 0 {
            let avail = self.stream.fill_buf()?;
            if avail.is_empty() {
                break;
            }
            let take = avail.len().min(n as usize);
            self.stream.consume(take);
            n -= take as u64;
        }
        Ok(())
    }

    /// Append the next line (without `\n`) to `out`. Returns None at the end of the input.
    /// With `eof_ends_line` false (tailing), an unfinished last line is held back until its
    /// newline arrives; with it true, the unfinished last line is a record.
    pub fn next_into(
        &mut self,
        out: &mut Vec<u8>,
        eof_ends_line: bool,
    ) -> io::Result<Option<(Position, FrameKind)>> {
        loop {
            let avail = match self.stream.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                if self.pending_len == 0 || !eof_ends_line {
                    return Ok(None);
                }
                return Ok(Some(self.finish_line(out, 0)));
            }
            let cap = self.max.max(KEEP_PREFIX) + 1;
            match memchr::memchr(b'\n', avail) {
                Some(i) => {
                    keep(&mut self.pending, &mut self.pending_len, cap, &avail[..i]);
                    self.stream.consume(i + 1);
                    return Ok(Some(self.finish_line(out, 1)));
                }
                None => {
                    let n = avail.len();
                    keep(&mut self.pending, &mut self.pending_len, cap, avail);
                    self.stream.consume(n);
                }
            }
        }
    }

    /// Bytes of an unfinished last line read but not handed out.
    pub fn pending_bytes(&self) -> u64 {
        self.pending_len
    }

    fn finish_line(&mut self, out: &mut Vec<u8>, newline: u64) -> (Position, FrameKind) {
        let pos = Position {
            line: Some(self.line + 1),
            offset: self.offset,
        };
        let len = self.pending_len;
        self.line += 1;
        self.offset += len + newline;
        let kind = if len as usize > self.max {
            out.extend_from_slice(&self.pending[..self.pending.len().min(KEEP_PREFIX)]);
            FrameKind::TooLong { len }
        } else {
            let line = self.pending.strip_suffix(b"\r").unwrap_or(&self.pending);
            out.extend_from_slice(line);
            FrameKind::Record
        };
        self.pending.clear();
        self.pending_len = 0;
        (pos, kind)
    }
}

/// Buffer up to `cap` bytes of a line being assembled; count all of them.
fn keep(pending: &mut Vec<u8>, pending_len: &mut u64, cap: usize, bytes: &[u8]) {
    let room = cap.saturating_sub(pending.len());
    pending.extend_from_slice(&bytes[..bytes.len().min(room)]);
    *pending_len += bytes.len() as u64;
}

/// Streams the objects of CloudTrail's `{"Records": [ … ]}` documents one by one, so memory
/// stays flat for any file size and a truncated file still yields its complete records.
/// A small hand-written scanner: serde_json's streaming API cannot step into an array that is
/// the value of a key, and the records must be handed out as bytes to parse in parallel.
pub struct RecordsReader {
    stream: Stream,
    max: usize,
    pub offset: u64,
    pub records: u64,
    in_array: bool,
    done: bool,
}

impl RecordsReader {
    pub fn new(stream: Stream, max: usize) -> Self {
        RecordsReader {
            stream,
            max,
            offset: 0,
            records: 0,
            in_array: false,
            done: false,
        }
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(self.stream.fill_buf()?.first().copied())
    }

    fn bump(&mut self) {
        self.stream.consume(1);
        self.offset += 1;
    }

    fn skip_ws(&mut self) -> io::Result<Option<u8>> {
        while let Some(b) = self.peek()? {
            if b.is_ascii_whitespace() || b == b',' {
                self.bump();
            } else {
                return Ok(Some(b));
            }
        }
        Ok(None)
    }

    /// Find the next `"Records"` key and step past its `[`. False at the end of input.
    fn find_array(&mut self) -> io::Result<bool> {
        // Track strings so a `"Records"` inside a string value does not count.
        let mut in_string = false;
        let mut escaped = false;
        let mut current = Vec::new();
        let mut last_string: Option<Vec<u8>> = None;
        while let Some(b) = self.peek()? {
            self.bump();
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                    last_string = Some(std::mem::take(&mut current));
                } else if current.len() < 16 {
                    current.push(b);
                }
                continue;
            }
            match b {
                b'"' => {
                    in_string = true;
                    current.clear();
                }
                b':' => {}
                b'[' if last_string.as_deref() == Some(b"Records") => return Ok(true),
                b if b.is_ascii_whitespace() => continue,
                _ => {}
            }
            if b != b':' {
                last_string = None;
            }
        }
        Ok(false)
    }

    /// Append the next record's bytes to `out`. None when no records remain.
    pub fn next_into(&mut self, out: &mut Vec<u8>) -> io::Result<Option<(Position, FrameKind)>> {
        loop {
            if self.done {
                return Ok(None);
            }
            if !self.in_array {
                if !self.find_array()? {
                    self.done = true;
                    return Ok(None);
                }
                self.in_array = true;
            }
            let Some(b) = self.skip_ws()? else {
                self.done = true;
                return Ok(None);
            };
            if b == b']' {
                self.bump();
                self.in_array = false;
                continue;
            }
            let pos = Position {
                line: None,
                offset: self.offset,
            };
            self.records += 1;
            return self.capture_value(out, b == b'{').map(|k| Some((pos, k)));
        }
    }

    /// Copy one JSON value (object or scalar) into `out`, tracking depth and strings. Scans
    /// whole buffers at a time: this runs over every byte of every CloudTrail file.
    fn capture_value(&mut self, out: &mut Vec<u8>, is_object: bool) -> io::Result<FrameKind> {
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let mut len = 0u64;
        let start = out.len();
        loop {
            let avail = self.stream.fill_buf()?;
            if avail.is_empty() {
                self.done = true;
                return Ok(if is_object {
                    FrameKind::Truncated
                } else {
                    FrameKind::NotObject
                });
            }
            let mut finished = None;
            let mut i = 0;
            while i < avail.len() {
                if in_string && !escaped {
                    // Strings are most of a record's bytes: jump to the next byte that can end
                    // one instead of stepping through each.
                    match memchr::memchr2(b'"', b'\\', &avail[i..]) {
                        Some(k) => i += k,
                        None => {
                            i = avail.len();
                            break;
                        }
                    }
                }
                let b = avail[i];
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                    }
                    i += 1;
                    continue;
                }
                if !is_object && depth == 0 && (b == b',' || b == b']') {
                    finished = Some(FrameKind::NotObject);
                    break;
                }
                i += 1;
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 && is_object {
                            finished = Some(FrameKind::Record);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let room = (self.max + 1).saturating_sub(out.len() - start);
            out.extend_from_slice(&avail[..i.min(room)]);
            self.stream.consume(i);
            self.offset += i as u64;
            len += i as u64;
            if let Some(kind) = finished {
                if kind == FrameKind::Record && len as usize > self.max {
                    out.truncate(start + KEEP_PREFIX.min(out.len() - start));
                    return Ok(FrameKind::TooLong { len });
                }
                return Ok(kind);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(bytes: &'static [u8]) -> Stream {
        Box::new(io::Cursor::new(bytes))
    }

    #[test]
    fn lines_with_cap_crlf_and_final_partial() {
        let mut r = LineReader::new(stream(b"a\r\nbbbbbbbbbb\nc"), 4, 0, 0);
        let mut buf = Vec::new();
        let (p, k) = r.next_into(&mut buf, true).unwrap().unwrap();
        assert_eq!(
            (p.line, p.offset, k, buf.as_slice()),
            (Some(1), 0, FrameKind::Record, &b"a"[..])
        );
        buf.clear();
        let (p, k) = r.next_into(&mut buf, true).unwrap().unwrap();
        assert_eq!((p.line, k), (Some(2), FrameKind::TooLong { len: 10 }));
        buf.clear();
        let (p, k) = r.next_into(&mut buf, true).unwrap().unwrap();
        assert_eq!(
            (p.line, p.offset, k, buf.as_slice()),
            (Some(3), 14, FrameKind::Record, &b"c"[..])
        );
        assert!(r.next_into(&mut buf, true).unwrap().is_none());
        assert_eq!(r.offset, 15);
    }

    #[test]
    fn tailing_holds_back_partial_line() {
        let mut r = LineReader::new(stream(b"one\ntw"), 100, 0, 0);
        let mut buf = Vec::new();
        assert!(r.next_into(&mut buf, false).unwrap().is_some());
        assert!(r.next_into(&mut buf, false).unwrap().is_none());
        assert_eq!(r.offset, 4);
    }

    #[test]
    fn records_document_and_truncation() {
        let doc = br#"{"Records": [{"a": "x}]\"", "b": [1, {"c": 2}]}, {"d": 3}, 7, {"e": "#;
        let mut r = RecordsReader::new(stream(doc), 1 << 20);
        let mut kinds = Vec::new();
        let mut buf = Vec::new();
        while let Some((_, k)) = r.next_into(&mut buf).unwrap() {
            kinds.push((k, String::from_utf8_lossy(&buf).into_owned()));
            buf.clear();
        }
        assert_eq!(kinds[0].0, FrameKind::Record);
        assert_eq!(kinds[0].1, r#"{"a": "x}]\"", "b": [1, {"c": 2}]}"#);
        assert_eq!(kinds[1], (FrameKind::Record, r#"{"d": 3}"#.to_string()));
        assert_eq!(kinds[2].0, FrameKind::NotObject);
        assert_eq!(kinds[3].0, FrameKind::Truncated);
        assert_eq!(kinds.len(), 4);
    }

    #[test]
    fn records_in_concatenated_and_pretty_documents() {
        let doc = b"{\n  \"Records\" : [\n {\"a\":1}\n ]\n}\n{\"Records\":[{\"b\":2}]}";
        let mut r = RecordsReader::new(stream(doc), 1 << 20);
        let mut buf = Vec::new();
        let mut n = 0;
        while let Some((_, k)) = r.next_into(&mut buf).unwrap() {
            assert_eq!(k, FrameKind::Record);
            n += 1;
        }
        assert_eq!(n, 2);
    }

    proptest::proptest! {
        /// Records whose strings hold quotes, escapes and brackets come out whole and exact,
        /// however the stream's buffers cut them (a 1–8 byte buffer splits every escape).
        #[test]
        fn records_come_out_whole_across_any_buffer_cut(
            values in proptest::collection::vec("[a-z\"\\\\{}\\[\\], é]{0,40}", 1..6),
            cap in 1usize..9,
        ) {
            let records: Vec<String> = values
                .iter()
                .map(|v| serde_json::json!({"s": v, "n": [1, {"t": v}]}).to_string())
                .collect();
            let doc = format!("{{\"Records\": [{}]}}", records.join(", ")).into_bytes();
            let small: Stream = Box::new(BufReader::with_capacity(cap, io::Cursor::new(doc)));
            let mut r = RecordsReader::new(small, 1 << 20);
            let mut got = Vec::new();
            let mut buf = Vec::new();
            while let Some((_, k)) = r.next_into(&mut buf).unwrap() {
                proptest::prop_assert_eq!(k, FrameKind::Record);
                got.push(String::from_utf8(std::mem::take(&mut buf)).unwrap());
            }
            proptest::prop_assert_eq!(got, records);
        }
    }
}
