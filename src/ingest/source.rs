//! Inputs: expanding paths and directories, opening a file as a framed source, and finding
//! where a previous run stopped (its checkpoint).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use chrono::{DateTime, Utc};

use super::reader::{FrameKind, LineReader, RecordsReader, Stream, open_file};
use super::sniff::{SourceKind, detect};
use crate::domain::Format;
use crate::privacy::Redactor;
use crate::store::{ALIAS_MIN_LEN, Checkpoint, Store};

/// One input to ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    File(PathBuf),
    Stdin,
}

/// A file that could not be ingested at all, with the reason.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileError {
    pub path: String,
    pub error: String,
}

/// Expand command-line paths: files as given, directories recursively (sorted, hidden
/// entries skipped), `-` as stdin. Missing paths become file errors, not a failed run.
pub fn expand(paths: &[String]) -> (Vec<Input>, Vec<FileError>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        walk(Path::new(p), &mut inputs, &mut errors);
    }
    (inputs, errors)
}

fn walk(path: &Path, inputs: &mut Vec<Input>, errors: &mut Vec<FileError>) {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => match std::fs::read_dir(path) {
            Ok(entries) => {
                let mut children: Vec<PathBuf> = entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| {
                        !p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                    })
                    .collect();
                children.sort();
                for child in children {
                    walk(&child, inputs, errors);
                }
            }
            Err(e) => errors.push(FileError {
                path: path.display().to_string(),
                error: e.to_string(),
            }),
        },
        Ok(_) => inputs.push(Input::File(path.to_path_buf())),
        Err(e) => errors.push(FileError {
            path: path.display().to_string(),
            error: e.to_string(),
        }),
    }
}

/// Everything a worker needs to parse one source's records.
#[derive(Debug)]
pub struct SourceCtx {
    /// The source as stored in `origin.source` (absolute path, redacted when privacy is on).
    pub name: String,
    /// Checkpoint key (None for stdin, which cannot resume).
    pub key: Option<Vec<u8>>,
    pub kind: SourceKind,
    /// When the file was last written: RFC 3164 timestamps take their year from it.
    pub reference: DateTime<Utc>,
    pub csv_header: Option<Vec<String>>,
}

/// The framer for a source.
pub enum Framer {
    Lines(LineReader),
    Records(RecordsReader),
}

impl Framer {
    pub fn next_into(
        &mut self,
        out: &mut Vec<u8>,
        eof_ends_line: bool,
    ) -> std::io::Result<Option<(super::reader::Position, FrameKind)>> {
        match self {
            Framer::Lines(r) => r.next_into(out, eof_ends_line),
            Framer::Records(r) => r.next_into(out),
        }
    }

    /// Bytes of an unfinished last line held back (line formats).
    pub fn pending_bytes(&self) -> u64 {
        match self {
            Framer::Lines(r) => r.pending_bytes(),
            Framer::Records(_) => 0,
        }
    }

    /// The checkpoint fields for what has been consumed so far.
    pub fn progress(&self) -> (u64, u64, u64) {
        match self {
            Framer::Lines(r) => (r.offset, r.line, 0),
            Framer::Records(r) => (r.offset, 0, r.records),
        }
    }
}

/// An opened source, positioned after what earlier runs stored.
pub struct Opened {
    pub ctx: Arc<SourceCtx>,
    pub framer: Framer,
    /// Fingerprint to store in checkpoints.
    pub fingerprint: (String, u64),
    /// The source was already fully ingested and has not changed.
    pub up_to_date: bool,
    pub resumed_from: Option<Checkpoint>,
    /// The framer stands at the checkpoint (see `ensure_positioned`).
    positioned: bool,
    /// The plain file itself, to fingerprint the bytes before each checkpoint (None for a
    /// compressed file or a stream).
    tail_file: Option<std::fs::File>,
}

const FINGERPRINT_LEN: usize = 1024;

/// Open `path`, detect its format (or use `forced`), and skip what its checkpoint covers
/// (unless `ignore_checkpoint`: a file truncated in place holds only new content).
pub fn open(
    path: &Path,
    ignore_checkpoint: bool,
    forced: Option<Format>,
    (max_line, max_inflated): (usize, u64),
    store: &Store,
    redactor: Option<&Redactor>,
    counter: Arc<AtomicU64>,
) -> Result<Opened, String> {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let raw_name = abs.display().to_string();
    let name = match redactor {
        Some(r) => r
            .text(&raw_name, &[])
            .map_err(|e| e.to_string())?
            .into_owned(),
        None => raw_name,
    };
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".to_string());
    }
    let reference = meta
        .modified()
        .map(DateTime::<Utc>::from)
        .unwrap_or_else(|_| Utc::now());
    let (mut stream, gz) = open_file(path, counter, max_inflated).map_err(|e| e.to_string())?;
    let head = stream
        .fill_buf()
        .map_err(|e| format!("cannot read: {e}"))?
        .to_vec();
    if head.is_empty() {
        return Err("empty file".to_string());
    }
    let kind = detect(&head, path, forced).ok_or_else(|| {
        "unknown format: not CloudTrail JSON, JSON lines, syslog or CSV (use --format to force one)".to_string()
    })?;
    let fp_len = head.len().min(FINGERPRINT_LEN);
    let fingerprint = fingerprint_of(redactor, &head[..fp_len]);
    let key = name.as_bytes().to_vec();
    let previous = if ignore_checkpoint {
        None
    } else {
        store.checkpoint(&key).map_err(|e| e.to_string())?
    };
    let tail_file = if gz {
        None
    } else {
        std::fs::File::open(path).ok()
    };
    // The same content as what a checkpoint covers: the same first bytes and the same bytes
    // just before its offset. A head alone is shared by every export with one long header.
    let same_file = |cp: &Checkpoint| {
        let len = cp.fingerprint_len as usize;
        if len > head.len() || fingerprint_of(redactor, &head[..len]) != cp.fingerprint {
            return false;
        }
        if cp.tail_len == 0 {
            return true;
        }
        let tail = match &tail_file {
            Some(f) => read_before(f, cp.offset, cp.tail_len),
            None => read_before_in_stream(path, cp.offset, cp.tail_len),
        };
        tail.is_some_and(|t| fingerprint_of(redactor, &t) == cp.tail)
    };
    let mut resume = previous.filter(same_file);
    // Not known under this path: maybe it is a file we read under another name (rotated
    // auth.log → auth.log.1, or compressed to auth.log.2.gz).
    if resume.is_none() && !ignore_checkpoint && fp_len as u64 >= ALIAS_MIN_LEN {
        resume = store
            .checkpoints_by_fingerprint(&fingerprint)
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(same_file)
            .max_by_key(|cp| cp.offset);
    }
    let ctx_header;
    let mut framer = match kind {
        SourceKind::CloudTrailDocument => Framer::Records(RecordsReader::new(stream, max_line)),
        _ => Framer::Lines(LineReader::new(stream, max_line, 0, 0)),
    };
    // A CSV's header is its first line, read again on every run.
    if kind == SourceKind::Csv {
        let mut buf = Vec::new();
        match framer.next_into(&mut buf, true) {
            Ok(Some((_, FrameKind::Record))) => {
                ctx_header =
                    Some(super::csv::split(&buf).map_err(|e| format!("bad CSV header: {e}"))?);
            }
            _ => return Err("CSV file has no readable header line".to_string()),
        }
    } else {
        ctx_header = None;
    }
    // A compressed file's length says nothing of its content's: it is read on from the
    // checkpoint (a file that grew before it was rotated and compressed keeps its tail).
    let up_to_date = resume
        .as_ref()
        .is_some_and(|cp| cp.complete && !gz && cp.offset >= meta.len());
    let ctx = SourceCtx {
        name,
        key: Some(key),
        kind,
        reference,
        csv_header: ctx_header,
    };
    Ok(Opened {
        ctx: Arc::new(ctx),
        framer,
        fingerprint: (fingerprint, fp_len as u64),
        up_to_date,
        positioned: resume.is_none(),
        resumed_from: resume,
        tail_file,
    })
}

impl Opened {
    /// A plain file can still grow: its unfinished last line is held back, never stored as
    /// a record (the rest of it would become a garbled one). Streams and compressed files
    /// are complete as they are.
    pub fn can_grow(&self) -> bool {
        self.tail_file.is_some()
    }

    /// The tail fingerprint for a checkpoint at `offset`: (MAC, bytes covered).
    pub fn tail_at(&self, offset: u64, redactor: Option<&Redactor>) -> (String, u64) {
        let Some(f) = &self.tail_file else {
            return (String::new(), 0);
        };
        let len = offset.min(TAIL_LEN);
        match read_before(f, offset, len) {
            Some(bytes) if len > 0 => (fingerprint_of(redactor, &bytes), len),
            _ => (String::new(), 0),
        }
    }

    /// Skip what the checkpoint covers (lazily: an up-to-date source in a batch run is never
    /// read again; one that is followed is positioned before tailing starts).
    pub fn ensure_positioned(&mut self) -> std::io::Result<()> {
        if !self.positioned {
            if let Some(cp) = &self.resumed_from {
                skip_to(&mut self.framer, cp)?;
            }
            self.positioned = true;
        }
        Ok(())
    }
}

/// Position `framer` at checkpoint `cp`.
fn skip_to(framer: &mut Framer, cp: &Checkpoint) -> std::io::Result<()> {
    match framer {
        Framer::Lines(r) => {
            let already = r.offset;
            r.skip_bytes(cp.offset.saturating_sub(already))?;
            r.offset = cp.offset.max(already);
            r.line = cp.line.max(r.line);
        }
        Framer::Records(r) => {
            let mut scratch = Vec::new();
            while r.records < cp.records {
                scratch.clear();
                if r.next_into(&mut scratch)?.is_none() {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// Bytes of content before a checkpoint that identify it.
const TAIL_LEN: u64 = 1024;

/// `len` bytes of a plain file ending at `end`; None when the file is shorter.
fn read_before(f: &std::fs::File, end: u64, len: u64) -> Option<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0; usize::try_from(len).ok()?];
    f.read_exact_at(&mut buf, end.checked_sub(len)?).ok()?;
    Some(buf)
}

/// The same from a compressed file's decompressed stream (read from its start).
fn read_before_in_stream(path: &Path, end: u64, len: u64) -> Option<Vec<u8>> {
    use std::io::Read;
    let (mut stream, _) = open_file(path, Arc::new(AtomicU64::new(0)), u64::MAX).ok()?;
    let skip = end.checked_sub(len)?;
    std::io::copy(&mut (&mut stream).take(skip), &mut std::io::sink()).ok()?;
    let mut buf = vec![0; usize::try_from(len).ok()?];
    stream.read_exact(&mut buf).ok()?;
    Some(buf)
}

/// Keyed when privacy is on (a plain hash of a short log head could be guessed).
fn fingerprint_of(redactor: Option<&Redactor>, bytes: &[u8]) -> String {
    use sha2::Digest;
    match redactor {
        Some(r) => hex::encode(&r.pseudonymiser().keys().mac(bytes)[..16]),
        None => hex::encode(&sha2::Sha256::digest(bytes)[..16]),
    }
}

/// Stdin as a source: no checkpoint, format detected from the first bytes.
pub fn open_stdin(forced: Option<Format>, max_line: usize) -> Result<Opened, String> {
    let stream: Stream = Box::new(std::io::BufReader::with_capacity(
        256 * 1024,
        std::io::stdin(),
    ));
    open_stream("stdin", stream, forced, max_line)
}

/// Frame any byte stream (stdin, an HTTP body) that cannot resume: no checkpoint, format
/// detected from its first bytes unless `forced`.
pub fn open_stream(
    name: &str,
    mut stream: Stream,
    forced: Option<Format>,
    max_line: usize,
) -> Result<Opened, String> {
    let head = stream.fill_buf().map_err(|e| e.to_string())?.to_vec();
    let kind = detect(&head, Path::new(name), forced)
        .ok_or_else(|| format!("unknown format in {name} (name one)"))?;
    let mut framer = match kind {
        SourceKind::CloudTrailDocument => Framer::Records(RecordsReader::new(stream, max_line)),
        _ => Framer::Lines(LineReader::new(stream, max_line, 0, 0)),
    };
    let mut csv_header = None;
    if kind == SourceKind::Csv {
        let mut buf = Vec::new();
        if let Ok(Some((_, FrameKind::Record))) = framer.next_into(&mut buf, true) {
            csv_header = Some(super::csv::split(&buf).map_err(|e| format!("bad CSV header: {e}"))?);
        }
    }
    let ctx = SourceCtx {
        name: name.into(),
        key: None,
        kind,
        reference: Utc::now(),
        csv_header,
    };
    Ok(Opened {
        ctx: Arc::new(ctx),
        framer,
        fingerprint: (String::new(), 0),
        up_to_date: false,
        resumed_from: None,
        positioned: true,
        tail_file: None,
    })
}
