//! The bundled demo: `datasets/demo/scenario.tar.gz` (made by `autosec datasets generate`,
//! embedded in the binary) replayed as live log files. Line files grow line by line and
//! CloudTrail files arrive whole, as CloudTrail delivers them; the console follows the
//! directory like any other source. Each file is paced over the replay by its position, so
//! two days of logs play in minutes.
//!
//! A dataset on disk (`console-bench`) is read as the replay reaches it, never held: a
//! load generator that kept a 3M-event set in memory (1.8 GB) hid whether the pipeline's
//! own memory stays flat.

use std::io::{BufRead, BufReader, Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use anyhow::{Context, Result, bail};

/// The scenario, compressed (a few MB): see datasets/demo/README.md for how it was made.
pub const BUNDLE: &[u8] = include_bytes!("../../datasets/demo/scenario.tar.gz");

/// Share of the scenario written before the console starts: a baseline for the forest.
pub const WARMUP: f64 = 0.12;

/// A file's bytes: held (the embedded bundle, a few MB) or read from disk when needed.
enum Body {
    Held(Vec<u8>),
    OnDisk(PathBuf),
}

impl Body {
    fn bytes(&self) -> Result<std::borrow::Cow<'_, [u8]>> {
        Ok(match self {
            Body::Held(b) => b.as_slice().into(),
            Body::OnDisk(p) => std::fs::read(p)
                .with_context(|| format!("cannot read {}", p.display()))?
                .into(),
        })
    }

    fn into_reader(self) -> Result<Box<dyn BufRead + Send>> {
        Ok(match self {
            Body::Held(b) => Box::new(Cursor::new(b)),
            Body::OnDisk(p) => Box::new(BufReader::with_capacity(
                1 << 16,
                std::fs::File::open(&p).with_context(|| format!("cannot open {}", p.display()))?,
            )),
        })
    }

    /// Lines as `split_inclusive(b'\n')` counts them: a last line without a newline counts.
    fn line_count(&self) -> Result<u64> {
        let mut count = LineCount::default();
        match self {
            Body::Held(b) => count.add(b),
            Body::OnDisk(p) => {
                let mut file = std::fs::File::open(p)
                    .with_context(|| format!("cannot open {}", p.display()))?;
                let mut buf = vec![0; 1 << 16];
                loop {
                    let n = file.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    count.add(&buf[..n]);
                }
            }
        }
        Ok(count.total())
    }
}

/// Newlines seen, and the last byte: a body read in chunks is counted like one held whole.
#[derive(Default)]
struct LineCount {
    newlines: u64,
    last: Option<u8>,
}

impl LineCount {
    fn add(&mut self, chunk: &[u8]) {
        self.newlines += memchr::memchr_iter(b'\n', chunk).count() as u64;
        if let Some(&b) = chunk.last() {
            self.last = Some(b);
        }
    }

    fn total(&self) -> u64 {
        self.newlines + u64::from(self.last.is_some_and(|b| b != b'\n'))
    }
}

/// A file that grows line by line over the replay.
struct LineFile {
    rel: String,
    reader: Box<dyn BufRead + Send>,
    lines: u64,
    next: u64,
    /// A CSV header belongs to the file, not the timeline: it goes first.
    header: bool,
}

impl LineFile {
    /// Position of the next line in the scenario, 0.0–1.0 (None once written out).
    fn next_at(&self) -> Option<f64> {
        (self.next < self.lines).then(|| {
            if self.header && self.next == 0 {
                0.0
            } else {
                self.next as f64 / self.lines as f64
            }
        })
    }

    fn events(&self) -> u64 {
        self.lines - u64::from(self.header && self.lines > 0)
    }
}

/// A CloudTrail file, delivered whole at its place in the replay.
struct Delivery {
    rel: String,
    body: Body,
    events: u64,
    at: f64,
}

/// The scenario, scheduled.
pub struct Demo {
    line_files: Vec<LineFile>,
    deliveries: Vec<Delivery>,
    pub total_events: u64,
    pub labels: usize,
}

impl Demo {
    /// Unpack and schedule the embedded bundle.
    pub fn load() -> Result<Demo> {
        Demo::from_tar_gz(BUNDLE)
    }

    pub fn from_tar_gz(bytes: &[u8]) -> Result<Demo> {
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
        let mut files: Vec<(String, Body)> = Vec::new();
        for entry in archive.entries().context("demo bundle is not a tar.gz")? {
            let mut entry = entry?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = entry
                .path()?
                .to_string_lossy()
                .trim_start_matches("./")
                .to_string();
            let mut data = Vec::new();
            entry.read_to_end(&mut data)?;
            files.push((path, Body::Held(data)));
        }
        Demo::from_files(files)
    }

    /// A dataset written by `autosec datasets generate` (its root: manifest.json, logs/),
    /// read from disk as the replay goes.
    pub fn from_dir(root: &Path) -> Result<Demo> {
        let mut files = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in
                std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?
            {
                let path = entry?.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(rel) = path.strip_prefix(root) {
                    let rel = rel.to_string_lossy().replace('\\', "/");
                    files.push((rel, Body::OnDisk(path)));
                }
            }
        }
        // The same order whatever order the directory lists in.
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Demo::from_files(files)
    }

    fn from_files(files: Vec<(String, Body)>) -> Result<Demo> {
        let manifest: serde_json::Value = files
            .iter()
            .find(|(p, _)| p == "manifest.json")
            .map(|(_, d)| -> Result<_> { Ok(serde_json::from_slice(&d.bytes()?)?) })
            .transpose()?
            .context("demo bundle has no manifest.json")?;
        let labels = match files.iter().find(|(p, _)| p == "labels.jsonl") {
            Some((_, body)) => body
                .bytes()?
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .count(),
            None => 0,
        };
        let events_of = |rel: &str| -> Option<u64> {
            manifest["files"]
                .as_array()?
                .iter()
                .find(|f| f["path"].as_str() == Some(rel))?["events"]
                .as_u64()
        };
        let mut line_files = Vec::new();
        let mut whole: Vec<(String, Body, u64)> = Vec::new();
        for (path, body) in files {
            let Some(rel) = path.strip_prefix("logs/") else {
                continue;
            };
            if rel.starts_with("cloudtrail/") {
                let events = events_of(rel).unwrap_or(1);
                whole.push((rel.to_string(), body, events));
                continue;
            }
            line_files.push(LineFile {
                rel: rel.to_string(),
                lines: body.line_count()?,
                reader: body.into_reader()?,
                next: 0,
                header: rel.ends_with(".csv"),
            });
        }
        // CloudTrail files are named by delivery time: that order, spread over the replay.
        whole.sort_by(|a, b| {
            delivery_time(&a.0)
                .cmp(delivery_time(&b.0))
                .then(a.0.cmp(&b.0))
        });
        let n = whole.len().max(1) as f64;
        let deliveries: Vec<Delivery> = whole
            .into_iter()
            .enumerate()
            .map(|(i, (rel, body, events))| Delivery {
                rel,
                body,
                events,
                at: (i as f64 + 1.0) / n,
            })
            .collect();
        let total_events = line_files.iter().map(LineFile::events).sum::<u64>()
            + deliveries.iter().map(|d| d.events).sum::<u64>();
        if line_files.iter().all(|f| f.lines == 0) && deliveries.is_empty() {
            bail!("demo bundle has no logs/");
        }
        Ok(Demo {
            line_files,
            deliveries,
            total_events,
            labels,
        })
    }

    /// Write the warm-up share (and create every growing file) so the console's first read
    /// finds a baseline; returns the replay that continues from there.
    pub fn prepare(self, out: &Path) -> Result<Replay> {
        std::fs::create_dir_all(out)?;
        let staging = out.with_extension("incoming");
        std::fs::create_dir_all(&staging)?;
        let mut handles = Vec::new();
        for file in &self.line_files {
            let path = out.join(&file.rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            handles.push(std::io::BufWriter::new(f));
        }
        let mut replay = Replay {
            demo: self,
            out: out.to_path_buf(),
            staging,
            handles,
            next_delivery: 0,
            line: Vec::new(),
            sent_events: 0,
            written: Arc::default(),
        };
        let warm = (replay.demo.total_events as f64 * WARMUP) as u64;
        replay.write_until(warm)?;
        Ok(replay)
    }
}

/// What the replay writes next.
enum Next {
    Line(usize),
    Delivery,
}

/// A prepared replay: call [`Replay::run`] on a thread.
pub struct Replay {
    demo: Demo,
    out: PathBuf,
    staging: PathBuf,
    handles: Vec<std::io::BufWriter<std::fs::File>>,
    next_delivery: usize,
    /// The line being copied (reused).
    line: Vec<u8>,
    pub sent_events: u64,
    /// `sent_events` as last flushed, for a load generator's observer on another thread.
    written: Arc<AtomicU64>,
}

impl Replay {
    pub fn total_events(&self) -> u64 {
        self.demo.total_events
    }

    /// Events written and flushed so far, readable while [`Replay::run`] goes on.
    pub fn written_counter(&self) -> Arc<AtomicU64> {
        self.written.clone()
    }

    /// The earliest unwritten item; a line goes before a delivery at the same position.
    fn next_item(&self) -> Option<Next> {
        let line = self
            .demo
            .line_files
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.next_at().map(|at| (at, i)))
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let delivery = self.demo.deliveries.get(self.next_delivery).map(|d| d.at);
        match (line, delivery) {
            (Some((line_at, _)), Some(at)) if at < line_at => Some(Next::Delivery),
            (Some((_, i)), _) => Some(Next::Line(i)),
            (None, Some(_)) => Some(Next::Delivery),
            (None, None) => None,
        }
    }

    fn write_line(&mut self, i: usize) -> Result<u64> {
        let file = &mut self.demo.line_files[i];
        let is_header = file.header && file.next == 0;
        self.line.clear();
        file.reader
            .read_until(b'\n', &mut self.line)
            .with_context(|| format!("cannot read {}", file.rel))?;
        file.next += 1;
        if self.line.is_empty() {
            // The file shrank since it was counted: nothing more to copy from it.
            file.next = file.lines;
            return Ok(0);
        }
        self.handles[i].write_all(&self.line)?;
        Ok(u64::from(!is_header))
    }

    fn deliver(&mut self) -> Result<u64> {
        let d = &self.demo.deliveries[self.next_delivery];
        self.next_delivery += 1;
        // Written aside, then renamed in: the follower never sees half a file.
        let target = self.out.join(&d.rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let tmp = self.staging.join(d.rel.replace('/', "_"));
        std::fs::write(&tmp, d.body.bytes()?)?;
        std::fs::rename(&tmp, &target)?;
        Ok(d.events)
    }

    /// Write items until `events` events have been written (whole files may overshoot).
    fn write_until(&mut self, events: u64) -> Result<()> {
        while self.sent_events < events {
            self.sent_events += match self.next_item() {
                Some(Next::Line(i)) => self.write_line(i)?,
                Some(Next::Delivery) => self.deliver()?,
                None => break,
            };
        }
        for h in &mut self.handles {
            h.flush()?;
        }
        self.written.store(self.sent_events, Ordering::Relaxed);
        Ok(())
    }

    /// Replay the rest at `events_per_sec`, reporting progress, until done or cancelled.
    pub fn run(
        mut self,
        events_per_sec: f64,
        cancel: &CancellationToken,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<()> {
        let start_events = self.sent_events;
        let started = Instant::now();
        let total = self.demo.total_events;
        let mut last_report = 0;
        while self.next_item().is_some() {
            if cancel.is_cancelled() {
                return Ok(());
            }
            let due = start_events + (started.elapsed().as_secs_f64() * events_per_sec) as u64;
            self.write_until(due.max(self.sent_events + 1))?;
            if self.sent_events >= last_report + total / 100 || self.next_item().is_none() {
                last_report = self.sent_events;
                progress(self.sent_events, total);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        progress(total, total);
        Ok(())
    }
}

/// `…_CloudTrail_<region>_20261120T0135Z_<random>.json`: the delivery time part.
fn delivery_time(name: &str) -> &str {
    name.split('_')
        .find(|p| p.len() == 14 && p.ends_with('Z') && p.as_bytes().get(8) == Some(&b'T'))
        .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_loads_with_every_format_and_labels() {
        let demo = Demo::load().unwrap();
        assert!(demo.total_events > 10_000, "{}", demo.total_events);
        assert!(demo.labels > 0);
        assert!(demo.line_files.iter().any(|f| f.rel.ends_with(".log")));
        assert!(demo.line_files.iter().any(|f| f.rel.ends_with(".csv")));
        assert!(!demo.deliveries.is_empty());
        // Deliveries in replay order.
        assert!(demo.deliveries.windows(2).all(|w| w[0].at < w[1].at));
    }

    #[test]
    fn lines_are_counted_as_split_inclusive_counts_them() {
        for text in ["", "a", "a\n", "a\nb", "a\nb\n", "\n\n"] {
            let want = text.as_bytes().split_inclusive(|b| *b == b'\n').count() as u64;
            assert_eq!(
                Body::Held(text.into()).line_count().unwrap(),
                want,
                "{text:?}"
            );
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f");
            std::fs::write(&path, text).unwrap();
            assert_eq!(Body::OnDisk(path).line_count().unwrap(), want, "{text:?}");
        }
    }

    #[test]
    fn prepare_writes_the_warmup_and_run_writes_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("logs");
        let demo = Demo::load().unwrap();
        let total = demo.total_events;
        let replay = demo.prepare(&out).unwrap();
        let warm = replay.sent_events;
        assert!(
            warm >= (total as f64 * WARMUP) as u64 && warm < total / 2,
            "{warm}"
        );
        let csv = std::fs::read_dir(out.join("flows"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let text = std::fs::read_to_string(csv).unwrap();
        assert!(
            text.lines().next().unwrap().contains(','),
            "CSV header first"
        );
        let cancel = CancellationToken::new();
        let mut last = (0, 0);
        replay
            .run(1e9, &cancel, |sent, total| last = (sent, total))
            .unwrap();
        assert_eq!(last, (total, total));
        let ct = std::fs::read_dir(out.join("cloudtrail")).unwrap().count();
        assert!(ct > 10, "{ct} CloudTrail files delivered");
    }

    #[test]
    fn a_dataset_on_disk_is_replayed_byte_for_byte_in_schedule_order() {
        let dir = tempfile::tempdir().unwrap();
        let set = dir.path().join("set");
        crate::datasets::generate(&crate::datasets::GenerateOptions::new(&set, 3_000, 7)).unwrap();
        let demo = Demo::from_dir(&set).unwrap();
        let total = demo.total_events;
        let out = dir.path().join("replayed");
        let mut replay = demo.prepare(&out).unwrap();
        // Half way, every line file has written about half its lines: files interleave.
        replay.write_until(total / 2).unwrap();
        for (i, f) in replay.demo.line_files.iter().enumerate() {
            let share = f.next as f64 / f.lines as f64;
            assert!((0.4..0.6).contains(&share), "file {i} at {share}");
        }
        let mut last = (0, 0);
        replay
            .run(1e9, &CancellationToken::new(), |sent, total| {
                last = (sent, total)
            })
            .unwrap();
        assert_eq!(last, (total, total));
        let original = crate::datasets::tests::tree(&set.join("logs"));
        let replayed = crate::datasets::tests::tree(&out);
        assert_eq!(
            original.keys().collect::<Vec<_>>(),
            replayed.keys().collect::<Vec<_>>()
        );
        for (rel, bytes) in &original {
            assert!(replayed[rel] == *bytes, "{rel} differs");
        }
    }
}
