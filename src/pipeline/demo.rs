//! The bundled demo: `datasets/demo/scenario.tar.gz` (made by `autosec datasets generate`,
//! embedded in the binary) replayed as live log files. Line files grow line by line and
//! CloudTrail files arrive whole, as CloudTrail delivers them; the console follows the
//! directory like any other source. Each file is paced over the replay by its position, so
//! two days of logs play in minutes.

use std::io::{Read, Write};
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

/// One thing the replay writes: a line of a growing file, or a whole delivered file.
#[derive(Debug, Clone)]
enum Item {
    Line { file: usize, bytes: Vec<u8> },
    Whole { rel: String, bytes: Vec<u8> },
}

#[derive(Debug, Clone)]
struct Scheduled {
    /// Position in the scenario, 0.0–1.0.
    at: f64,
    /// Events it carries (a CloudTrail file holds many).
    events: u64,
    item: Item,
}

/// The scenario, scheduled.
#[derive(Debug, Clone)]
pub struct Demo {
    line_files: Vec<String>,
    items: Vec<Scheduled>,
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
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
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
            files.push((path, data));
        }
        Demo::from_files(files)
    }

    /// A dataset written by `autosec datasets generate` (its root: manifest.json, logs/).
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
                    files.push((
                        rel.to_string_lossy().replace('\\', "/"),
                        std::fs::read(&path)?,
                    ));
                }
            }
        }
        Demo::from_files(files)
    }

    fn from_files(files: Vec<(String, Vec<u8>)>) -> Result<Demo> {
        let manifest: serde_json::Value = files
            .iter()
            .find(|(p, _)| p == "manifest.json")
            .map(|(_, d)| serde_json::from_slice(d))
            .transpose()?
            .context("demo bundle has no manifest.json")?;
        let labels = files
            .iter()
            .find(|(p, _)| p == "labels.jsonl")
            .map_or(0, |(_, d)| {
                d.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count()
            });
        let events_of = |rel: &str| -> Option<u64> {
            manifest["files"]
                .as_array()?
                .iter()
                .find(|f| f["path"].as_str() == Some(rel))?["events"]
                .as_u64()
        };
        let mut demo = Demo {
            line_files: Vec::new(),
            items: Vec::new(),
            total_events: 0,
            labels,
        };
        let mut whole: Vec<(String, Vec<u8>, u64)> = Vec::new();
        for (path, data) in files {
            let Some(rel) = path.strip_prefix("logs/") else {
                continue;
            };
            if rel.starts_with("cloudtrail/") {
                let events = events_of(rel).unwrap_or(1);
                whole.push((rel.to_string(), data, events));
                continue;
            }
            let file = demo.line_files.len();
            demo.line_files.push(rel.to_string());
            let lines: Vec<&[u8]> = data.split_inclusive(|b| *b == b'\n').collect();
            let n = lines.len().max(1) as f64;
            // A CSV header belongs to the file, not the timeline: it goes first.
            let header = usize::from(rel.ends_with(".csv"));
            for (i, line) in lines.into_iter().enumerate() {
                let is_header = i < header;
                demo.items.push(Scheduled {
                    at: if is_header { 0.0 } else { i as f64 / n },
                    events: u64::from(!is_header),
                    item: Item::Line {
                        file,
                        bytes: line.to_vec(),
                    },
                });
            }
        }
        // CloudTrail files are named by delivery time: that order, spread over the replay.
        whole.sort_by(|a, b| {
            delivery_time(&a.0)
                .cmp(delivery_time(&b.0))
                .then(a.0.cmp(&b.0))
        });
        let n = whole.len().max(1) as f64;
        for (i, (rel, bytes, events)) in whole.into_iter().enumerate() {
            demo.items.push(Scheduled {
                at: (i as f64 + 1.0) / n,
                events,
                item: Item::Whole { rel, bytes },
            });
        }
        demo.items.sort_by(|a, b| a.at.total_cmp(&b.at));
        demo.total_events = demo.items.iter().map(|s| s.events).sum();
        if demo.items.is_empty() {
            bail!("demo bundle has no logs/");
        }
        Ok(demo)
    }

    /// Write the warm-up share (and create every growing file) so the console's first read
    /// finds a baseline; returns the replay that continues from there.
    pub fn prepare(self, out: &Path) -> Result<Replay> {
        std::fs::create_dir_all(out)?;
        let staging = out.with_extension("incoming");
        std::fs::create_dir_all(&staging)?;
        let mut handles = Vec::new();
        for rel in &self.line_files {
            let path = out.join(rel);
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
            next: 0,
            sent_events: 0,
            written: Arc::default(),
        };
        let warm = (replay.demo.total_events as f64 * WARMUP) as u64;
        replay.write_until(warm)?;
        Ok(replay)
    }
}

/// A prepared replay: call [`Replay::run`] on a thread.
pub struct Replay {
    demo: Demo,
    out: PathBuf,
    staging: PathBuf,
    handles: Vec<std::io::BufWriter<std::fs::File>>,
    next: usize,
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

    /// Write items until `events` events have been written (whole files may overshoot).
    fn write_until(&mut self, events: u64) -> Result<()> {
        while self.next < self.demo.items.len() && self.sent_events < events {
            let s = &self.demo.items[self.next];
            match &s.item {
                Item::Line { file, bytes } => self.handles[*file].write_all(bytes)?,
                Item::Whole { rel, bytes } => {
                    // Written aside, then renamed in: the follower never sees half a file.
                    let target = self.out.join(rel);
                    if let Some(parent) = target.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                    let tmp = self.staging.join(rel.replace('/', "_"));
                    std::fs::write(&tmp, bytes)?;
                    std::fs::rename(&tmp, &target)?;
                }
            }
            self.sent_events += s.events;
            self.next += 1;
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
        while self.next < self.demo.items.len() {
            if cancel.is_cancelled() {
                return Ok(());
            }
            let due = start_events + (started.elapsed().as_secs_f64() * events_per_sec) as u64;
            self.write_until(due.max(self.sent_events + 1))?;
            if self.sent_events >= last_report + total / 100 || self.next == self.demo.items.len() {
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
        assert!(demo.line_files.iter().any(|f| f.ends_with(".log")));
        assert!(demo.line_files.iter().any(|f| f.ends_with(".csv")));
        assert!(
            demo.items
                .iter()
                .any(|s| matches!(s.item, Item::Whole { .. }))
        );
        // Scheduled in replay order.
        assert!(demo.items.windows(2).all(|w| w[0].at <= w[1].at));
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
}
