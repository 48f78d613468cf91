//! The ingest pipeline: a reader frames sources into batches, workers parse and redact them in
//! parallel, one writer stores them in order (events + quarantine + checkpoint atomically).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use anyhow::{Context, Result};
use crossbeam_channel::{Receiver, Sender, bounded};

use super::follow::Follower;
use super::source::{self, Input, Opened};
use super::summary::IngestSummary;
use super::worker::{Item, ParsedBatch, WorkBatch, process};
use crate::config::Config;
use crate::detect::feed::FeedSender;
use crate::detect::rules::RuleSet;
use crate::domain::Format;
use crate::privacy::Redactor;
use crate::store::{Append, Checkpoint, EventWriter, Store};

/// How to run an ingest.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    pub paths: Vec<String>,
    pub format: Option<Format>,
    pub follow: bool,
    /// Show a progress bar (the caller decides: only on a terminal).
    pub progress: bool,
    /// Fault injection for resume tests: abort the process (no flush, like `kill -9`) once
    /// this many events have been handed to the store.
    pub abort_after_events: Option<u64>,
    /// A live view of what is stored (the console's log stream); see [`TapBatch`].
    pub tap: Option<Sender<TapBatch>>,
    /// Tells a live consumer when what the sources held at start is stored (detection learns
    /// its baseline from that backlog before it follows).
    pub backlog: Option<Arc<Backlog>>,
    /// Bodies parsed elsewhere (HTTP) for the one writer to store; see `external`.
    pub external: Option<Receiver<super::external::ExternalBatch>>,
    /// Live detection's intake: each stored chunk's views, so it need not read them back.
    pub detect_feed: Option<FeedSender>,
}

/// Progress of the start-up backlog: the reader's batch count once the initial pass is
/// handed out, and how many batches the writer has stored.
#[derive(Debug)]
pub struct Backlog {
    target: AtomicU64,
    stored: AtomicU64,
}

impl Default for Backlog {
    fn default() -> Self {
        Backlog {
            target: AtomicU64::new(u64::MAX),
            stored: AtomicU64::new(0),
        }
    }
}

impl Backlog {
    /// Everything the sources held when ingest started is stored.
    pub fn done(&self) -> bool {
        self.stored.load(Ordering::Acquire) >= self.target.load(Ordering::Acquire)
    }
}

/// What the writer hands a tap after each stored batch. The tap never slows ingest: when its
/// channel is full the events are skipped, but the counts carry over to the next batch.
#[derive(Debug, Clone, Default)]
pub struct TapBatch {
    /// Events stored since the previous batch the tap received (including skipped ones).
    pub stored: u64,
    /// Records quarantined since the previous batch.
    pub rejected: u64,
    /// The newest events of this batch, with their store ids.
    pub events: Vec<crate::domain::SecurityEvent>,
}

/// Batches the reader hands out: big enough to amortise channel and transaction costs.
const BATCH_BYTES: usize = 1 << 20;

/// Ingest `opts.paths` into `store`. `redactor` is None only with privacy off. Returns when
/// the inputs are consumed (or, with `follow`, when `cancel` is set), after a final flush.
pub fn run(
    store: &Store,
    redactor: Option<Redactor>,
    config: &Config,
    opts: &IngestOptions,
    cancel: CancellationToken,
) -> Result<IngestSummary> {
    let started = Instant::now();
    let stored_before = store.event_count()?;
    let (inputs, mut file_errors) = source::expand(&opts.paths);
    // A missing path is printed and returned: with privacy on, redacted like a stored one.
    if let Some(r) = &redactor {
        for e in &mut file_errors {
            e.path = r.text(&e.path, &[])?.into_owned();
            e.error = r.text(&e.error, &[])?.into_owned();
        }
    }
    let workers = match config.ingest.workers {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
        n => n,
    };
    let chunk_events = config.storage.chunk_events_for(opts.follow);
    let bytes_read = Arc::new(AtomicU64::new(0));
    let mut summary = IngestSummary {
        file_errors,
        privacy: redactor.is_some(),
        ..Default::default()
    };
    let progress = make_progress(opts.progress, &inputs);

    let rules = RuleSet::shared(&config.detect);
    let (work_tx, work_rx) = bounded::<WorkBatch>(workers * 2);
    let (done_tx, done_rx) = bounded::<Result<ParsedBatch>>(workers * 2);
    let writer_result = std::thread::scope(|scope| -> Result<WriterStats> {
        for _ in 0..workers {
            let rx = work_rx.clone();
            let tx = done_tx.clone();
            let ingest_cfg = &config.ingest;
            let redactor = redactor.as_ref();
            let keep_events = opts.tap.is_some();
            let rules = &*rules;
            scope.spawn(move || {
                for batch in rx {
                    if tx
                        .send(process(batch, ingest_cfg, rules, redactor, keep_events))
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        drop(work_rx);
        let abort_after = opts.abort_after_events;
        let outlets = Outlets {
            tap: opts.tap.clone(),
            backlog: opts.backlog.clone(),
            feed: opts.detect_feed.clone(),
        };
        let external = opts.external.clone();
        let writer =
            scope.spawn(move || write_loop(store, done_rx, abort_after, outlets, external));

        let mut reader = Reader {
            tx: work_tx,
            seq: 0,
            chunk_events,
            max_line: config.ingest.max_line_bytes,
            max_inflated: config.ingest.max_inflated_mb.saturating_mul(1 << 20),
            store,
            redactor: redactor.as_ref(),
            bytes: bytes_read.clone(),
            cancel: &cancel,
            progress: progress.as_ref(),
        };
        let mut follower =
            Follower::new(Duration::from_millis(config.ingest.follow_poll_ms.max(10)));
        for input in &inputs {
            if cancel.is_cancelled() {
                break;
            }
            reader.ingest_input(input, opts.format, opts.follow, &mut summary, &mut follower);
        }
        if let Some(b) = &opts.backlog {
            b.target.store(reader.seq, Ordering::Release);
        }
        if opts.follow {
            follower.run(&mut reader, &opts.paths, opts.format, &mut summary);
        }
        drop(reader);
        writer
            .join()
            .map_err(|_| anyhow::anyhow!("ingest writer thread panicked"))?
    });
    if let Some(p) = &progress {
        p.finish_and_clear();
    }
    let stats = writer_result?;
    store.flush().context("final flush")?;
    summary.events = stats.events;
    summary.formats = stats.formats;
    summary.rejected = stats.rejected;
    summary.rejected_by_reason = stats.rejected_by_reason;
    summary.blank_lines = stats.blank_lines;
    summary.quarantine_not_kept = stats.quarantine_not_kept;
    summary.bytes = bytes_read.load(Ordering::Relaxed);
    summary.seconds = started.elapsed().as_secs_f64();
    summary.events_per_sec = if summary.seconds > 0.0 {
        summary.events as f64 / summary.seconds
    } else {
        0.0
    };
    summary.stored_events = store.event_count()?;
    debug_assert!(summary.stored_events >= stored_before);
    summary.data_dir = store.dir().display().to_string();
    Ok(summary)
}

fn make_progress(enabled: bool, inputs: &[Input]) -> Option<indicatif::ProgressBar> {
    if !enabled {
        return None;
    }
    let total: u64 = inputs
        .iter()
        .filter_map(|i| match i {
            Input::File(p) => std::fs::metadata(p).ok().map(|m| m.len()),
            Input::Stdin => None,
        })
        .sum();
    // Small inputs finish before a bar is worth drawing.
    if total < 16 * 1024 * 1024 {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} ingest [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    Some(bar)
}

/// The reading side: opens sources and frames them into work batches.
pub(super) struct Reader<'a> {
    tx: Sender<WorkBatch>,
    seq: u64,
    chunk_events: usize,
    max_line: usize,
    /// Most bytes a compressed file may inflate to (`ingest.max_inflated_mb`).
    max_inflated: u64,
    store: &'a Store,
    redactor: Option<&'a Redactor>,
    bytes: Arc<AtomicU64>,
    cancel: &'a CancellationToken,
    progress: Option<&'a indicatif::ProgressBar>,
}

impl Reader<'_> {
    /// Open one input and send all its records; with `follow`, hand it to the follower after.
    pub(super) fn ingest_input(
        &mut self,
        input: &Input,
        format: Option<Format>,
        follow: bool,
        summary: &mut IngestSummary,
        follower: &mut Follower,
    ) {
        let opened = match input {
            Input::Stdin => source::open_stdin(format, self.max_line),
            Input::File(path) => source::open(
                path,
                false,
                format,
                (self.max_line, self.max_inflated),
                self.store,
                self.redactor,
                self.bytes.clone(),
            ),
        };
        let path_text = match input {
            Input::Stdin => "-".to_string(),
            Input::File(p) => p.display().to_string(),
        };
        let mut opened = match opened {
            Ok(o) => o,
            Err(error) => {
                let path = match self.redactor {
                    Some(r) => r
                        .text(&path_text, &[])
                        .map(|c| c.into_owned())
                        .unwrap_or_default(),
                    None => path_text,
                };
                summary.file_errors.push(source::FileError { path, error });
                return;
            }
        };
        summary.files += 1;
        if opened.up_to_date {
            summary.files_up_to_date += 1;
        } else if opened.resumed_from.is_some() {
            summary.files_resumed += 1;
        }
        if !opened.up_to_date
            && let Err(e) = self.pump(&mut opened, true)
        {
            summary.file_errors.push(source::FileError {
                path: opened.ctx.name.clone(),
                error: e.to_string(),
            });
        }
        if opened.framer.pending_bytes() > 0 {
            summary.unfinished_last_lines += 1;
        }
        if follow && let Input::File(path) = input {
            follower.track(path.clone(), opened);
        }
    }

    /// Send every record available now. `at_end` marks the source complete when input ends
    /// (batch mode); tailing leaves an unfinished last line for the next poll.
    pub(super) fn pump(&mut self, opened: &mut Opened, at_end: bool) -> std::io::Result<u64> {
        let mut sent = 0;
        opened.ensure_positioned()?;
        loop {
            if self.cancel.is_cancelled() {
                return Ok(sent);
            }
            let ends_line = at_end && !opened.can_grow();
            let (data, items, eof) = frame_batch(opened, self.chunk_events, ends_line)?;
            if let Some(p) = self.progress {
                p.set_position(self.bytes.load(Ordering::Relaxed));
            }
            let n = items.len() as u64;
            if n > 0 || (eof && at_end) {
                let (offset, line, records) = opened.framer.progress();
                let checkpoint = opened.ctx.key.as_ref().map(|_| {
                    let (tail, tail_len) = opened.tail_at(offset, self.redactor);
                    Checkpoint {
                        offset,
                        line,
                        records,
                        fingerprint: opened.fingerprint.0.clone(),
                        fingerprint_len: opened.fingerprint.1,
                        complete: eof && at_end,
                        tail,
                        tail_len,
                    }
                });
                let batch = WorkBatch {
                    seq: self.seq,
                    source: opened.ctx.clone(),
                    data,
                    items,
                    checkpoint,
                };
                self.seq += 1;
                if self.tx.send(batch).is_err() {
                    return Err(std::io::Error::other("ingest pipeline stopped"));
                }
                sent += n;
            }
            if eof {
                return Ok(sent);
            }
        }
    }

    /// Reopen a followed path after rotation (`fresh`: after truncation, ignore the checkpoint).
    pub(super) fn open_for_follow(
        &self,
        path: &std::path::Path,
        format: Option<Format>,
        fresh: bool,
    ) -> Result<Opened, String> {
        source::open(
            path,
            fresh,
            format,
            (self.max_line, self.max_inflated),
            self.store,
            self.redactor,
            self.bytes.clone(),
        )
    }

    pub(super) fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

/// Frame up to `max_items` records (and about `BATCH_BYTES`) of `opened` into one buffer;
/// true when the input is exhausted for now.
pub(super) fn frame_batch(
    opened: &mut Opened,
    max_items: usize,
    at_end: bool,
) -> std::io::Result<(Vec<u8>, Vec<Item>, bool)> {
    let mut data = Vec::with_capacity(BATCH_BYTES + 4096);
    let mut items = Vec::with_capacity(max_items);
    while items.len() < max_items && data.len() < BATCH_BYTES {
        let start = data.len();
        match opened.framer.next_into(&mut data, at_end)? {
            Some((pos, kind)) => items.push(Item {
                start,
                end: data.len(),
                line: pos.line,
                offset: pos.offset,
                kind,
            }),
            None => return Ok((data, items, true)),
        }
    }
    Ok((data, items, false))
}

#[derive(Default)]
struct WriterStats {
    events: u64,
    formats: BTreeMap<String, u64>,
    rejected: u64,
    rejected_by_reason: BTreeMap<String, u64>,
    blank_lines: u64,
    /// Rejects counted but not stored: past `QUARANTINE_CAP` for their source.
    quarantine_not_kept: u64,
    quarantined_per_source: HashMap<String, usize>,
}

/// Quarantine entries stored per source and run; beyond it rejects are only counted, so a
/// file of junk cannot fill the disk with copies of itself.
const QUARANTINE_CAP: usize = 10_000;

/// Where the writer tells live consumers what it stored.
struct Outlets {
    tap: Option<Sender<TapBatch>>,
    backlog: Option<Arc<Backlog>>,
    feed: Option<FeedSender>,
}

impl Outlets {
    /// Hand a stored batch to the detection feed and the tap (never blocking).
    fn stored(&self, carry: &mut TapBatch, mut b: ParsedBatch, first_id: u64) {
        if let (Some(feed), Some(chunk)) = (&self.feed, b.chunk.as_mut()) {
            feed.offer(first_id, &b.source.name, chunk);
        }
        if let Some(tap) = &self.tap {
            hand_to_tap(tap, carry, b, first_id);
        }
    }
}

/// Store parsed batches in reading order; flush when the pipeline goes idle (tailing) and at
/// the end, so checkpoints are durable with the events they cover.
fn write_loop(
    store: &Store,
    rx: Receiver<Result<ParsedBatch>>,
    abort_after: Option<u64>,
    outlets: Outlets,
    external: Option<Receiver<super::external::ExternalBatch>>,
) -> Result<WriterStats> {
    let external = external.unwrap_or_else(crossbeam_channel::never);
    let mut carry = TapBatch::default();
    let mut writer = EventWriter::new(store)?;
    let mut stats = WriterStats::default();
    let mut pending: BTreeMap<u64, ParsedBatch> = BTreeMap::new();
    let mut next_seq = 0u64;
    let mut dirty = false;
    let mut first_error = None;
    loop {
        let batch = crossbeam_channel::select! {
            recv(rx) -> b => match b {
                Ok(b) => b,
                Err(_) => break,
            },
            recv(external) -> first => {
                if let Ok(first) = first {
                    store_external(store, &mut writer, &external, first, &mut stats, &outlets, &mut carry)?;
                    dirty = false;
                }
                continue;
            },
            default(Duration::from_millis(200)) => {
                if dirty {
                    store.flush()?;
                    dirty = false;
                }
                continue;
            },
        };
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                // Keep draining so the reader and workers can finish; report the first error.
                first_error.get_or_insert(e);
                continue;
            }
        };
        pending.insert(batch.seq, batch);
        while let Some(b) = pending.remove(&next_seq) {
            next_seq += 1;
            if first_error.is_some() {
                continue;
            }
            let checkpoint_key = b.source.key.clone();
            let kept = stats
                .quarantined_per_source
                .entry(b.source.name.clone())
                .or_default();
            let keep = b.quarantine.len().min(QUARANTINE_CAP.saturating_sub(*kept));
            *kept += keep;
            stats.quarantine_not_kept += (b.quarantine.len() - keep) as u64;
            stats.blank_lines += b.blank;
            let first_id = writer.append(Append {
                source: &b.source.name,
                chunk: b.chunk.as_ref(),
                quarantine: &b.quarantine[..keep],
                checkpoint: checkpoint_key.as_deref().zip(b.checkpoint.as_ref()),
            })?;
            dirty = true;
            for (format, n) in &b.formats {
                *stats
                    .formats
                    .entry(format.as_str().to_string())
                    .or_default() += n;
            }
            stats.events += b.chunk.as_ref().map_or(0, |c| u64::from(c.count));
            stats.rejected += b.quarantine.len() as u64;
            for q in &b.quarantine {
                *stats
                    .rejected_by_reason
                    .entry(q.kind.as_str().to_string())
                    .or_default() += 1;
            }
            outlets.stored(&mut carry, b, first_id);
            if let Some(backlog) = &outlets.backlog {
                backlog.stored.store(next_seq, Ordering::Release);
            }
            if abort_after.is_some_and(|n| stats.events >= n) {
                std::process::abort();
            }
        }
    }
    // Bodies already handed over are stored and answered even while stopping.
    while let Ok(first) = external.try_recv() {
        store_external(
            store,
            &mut writer,
            &external,
            first,
            &mut stats,
            &outlets,
            &mut carry,
        )?;
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    store.flush()?;
    Ok(stats)
}

/// Store `first` and whatever else is waiting, flush once (group commit), then answer each.
fn store_external(
    store: &Store,
    writer: &mut EventWriter,
    queue: &Receiver<super::external::ExternalBatch>,
    first: super::external::ExternalBatch,
    stats: &mut WriterStats,
    outlets: &Outlets,
    carry: &mut TapBatch,
) -> Result<()> {
    let mut done = Vec::new();
    for ext in std::iter::once(first).chain(queue.try_iter().take(256)) {
        let b = ext.batch;
        let first_id = writer.append(Append {
            source: &b.source.name,
            chunk: b.chunk.as_ref(),
            quarantine: &b.quarantine,
            checkpoint: ext.checkpoint.as_ref().map(|(k, c)| (k.as_slice(), c)),
        })?;
        let events = b.chunk.as_ref().map_or(0, |c| u64::from(c.count));
        stats.events += events;
        stats.rejected += b.quarantine.len() as u64;
        for (format, n) in &b.formats {
            *stats
                .formats
                .entry(format.as_str().to_string())
                .or_default() += n;
        }
        let rejected = b
            .quarantine
            .iter()
            .map(|q| (q.kind.as_str().to_string(), q.detail.clone(), q.line))
            .collect();
        outlets.stored(carry, b, first_id);
        done.push((
            ext.reply,
            super::external::Stored {
                first_id,
                events,
                rejected,
                ..Default::default()
            },
        ));
    }
    let flushed = store.flush();
    for (reply, stored) in done {
        let answer = match &flushed {
            Ok(_) => Ok(stored),
            Err(e) => Err(format!("store flush failed: {e}")),
        };
        let _ = reply.send(answer);
    }
    flushed?;
    Ok(())
}

/// Give the tap this batch's newest events (ids assigned) without ever blocking the writer.
fn hand_to_tap(tap: &Sender<TapBatch>, carry: &mut TapBatch, b: ParsedBatch, first_id: u64) {
    carry.stored += b.chunk.as_ref().map_or(0, |c| u64::from(c.count));
    carry.rejected += b.quarantine.len() as u64;
    carry.events = b.events;
    for (i, ev) in carry.events.iter_mut().enumerate() {
        ev.id = first_id + b.tap_from + i as u64;
    }
    if carry.stored == 0 && carry.rejected == 0 {
        return;
    }
    match tap.try_send(std::mem::take(carry)) {
        Ok(()) => {}
        Err(crossbeam_channel::TrySendError::Full(mut back)) => {
            back.events.clear();
            *carry = back;
        }
        Err(crossbeam_channel::TrySendError::Disconnected(_)) => {}
    }
}
