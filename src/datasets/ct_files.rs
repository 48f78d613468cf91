//! CloudTrail delivery files: records rotated by size and time per region into
//! `cloudtrail/<account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<random>.json`, every fifth gzipped.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use flate2::Compression;
use flate2::write::GzEncoder;
use rand::Rng;

use super::clock::{MIN, compact_minute};
use super::cloudtrail::{CtEvent, render};
use super::engine::{FileStat, Label, Sink, StreamOutput, Tag};
use super::population::Population;
use super::util::{Put, Rng8, alnum};

const PREFIX: &str = "{\"Records\":[";

/// Writes one region's records into rotated files under `cloudtrail/`.
pub(crate) struct CtSink<'p> {
    pop: &'p Population,
    dir: PathBuf,
    region: &'static str,
    records: Vec<u8>,
    count: u64,
    attack: u64,
    first_t: i64,
    last_t: i64,
    target: u64,
    window: i64,
    pending: Vec<(String, Tag)>,
    id: Vec<u8>,
    out: StreamOutput,
}

impl<'p> CtSink<'p> {
    pub fn new(pop: &'p Population, dir: PathBuf, region: &'static str, rng: &mut Rng8) -> Self {
        CtSink {
            pop,
            dir,
            region,
            records: PREFIX.as_bytes().to_vec(),
            count: 0,
            attack: 0,
            first_t: 0,
            last_t: 0,
            target: rng.random_range(400..=1000),
            window: 90 * MIN,
            pending: Vec::new(),
            id: Vec::with_capacity(36),
            out: StreamOutput::default(),
        }
    }

    fn flush(&mut self, rng: &mut Rng8) -> Result<()> {
        if self.count == 0 {
            return Ok(());
        }
        // AWS names a file after the end of its delivery window (5-minute granularity).
        let stamp = compact_minute((self.last_t / (5 * MIN) + 1) * 5 * MIN);
        let gz = self.out.files.len() % 5 == 4;
        let name = format!(
            "{}_CloudTrail_{}_{}_{}.json{}",
            self.pop.account,
            self.region,
            stamp,
            alnum(rng, 16),
            if gz { ".gz" } else { "" }
        );
        let path = self.dir.join(&name);
        self.records.s("]}");
        let body = &self.records;
        let bytes = if gz {
            let file =
                fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
            let mut enc = GzEncoder::new(file, Compression::fast());
            enc.write_all(body)?;
            let file = enc.finish()?;
            file.metadata()?.len()
        } else {
            fs::write(&path, body).with_context(|| format!("writing {}", path.display()))?;
            body.len() as u64
        };
        let rel = format!("cloudtrail/{name}");
        for (record_id, tag) in self.pending.drain(..) {
            self.out.labels.push(Label {
                source: rel.clone(),
                line: None,
                record_id: Some(record_id),
                scenario: tag.scenario,
                entity: tag.entity,
                instance: tag.instance,
            });
        }
        self.out.files.push(FileStat {
            rel,
            events: self.count,
            attack_events: self.attack,
            bytes,
        });
        self.records.clear();
        self.records.s(PREFIX);
        self.count = 0;
        self.attack = 0;
        self.target = rng.random_range(400..=1000);
        Ok(())
    }

    pub fn finish(mut self, rng: &mut Rng8) -> Result<StreamOutput> {
        self.flush(rng)?;
        Ok(self.out)
    }
}

impl Sink for CtSink<'_> {
    type Ev = CtEvent;

    fn write(&mut self, rng: &mut Rng8, t: i64, ev: &CtEvent, tag: Option<&Tag>) -> Result<()> {
        if self.count > 0 && (self.count >= self.target || t - self.first_t > self.window) {
            self.flush(rng)?;
        }
        if self.count == 0 {
            self.first_t = t;
        } else {
            self.records.push(b',');
        }
        self.last_t = t;
        render(&mut self.records, self.pop, rng, t, ev, &mut self.id);
        self.count += 1;
        if let Some(tag) = tag {
            self.attack += 1;
            self.pending
                .push((String::from_utf8_lossy(&self.id).into_owned(), tag.clone()));
        }
        Ok(())
    }
}

/// Every record of the CloudTrail delivery files in `dir` (gzipped or not), in file-name order:
/// for benches and tests that hand records to the parser one at a time.
pub fn read_records(dir: &std::path::Path) -> Result<Vec<serde_json::Value>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let raw = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let text = if path.extension().is_some_and(|e| e == "gz") {
            let mut plain = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&raw[..]), &mut plain)?;
            plain
        } else {
            raw
        };
        let mut doc: serde_json::Value = serde_json::from_slice(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        if let Some(serde_json::Value::Array(records)) = doc.get_mut("Records").map(std::mem::take)
        {
            out.extend(records);
        }
    }
    Ok(out)
}
