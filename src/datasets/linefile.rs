//! A line-oriented output file that counts lines and records labels for attack lines.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};

use super::engine::{FileStat, Label, StreamOutput, Tag};

pub(crate) struct LineFile {
    w: BufWriter<File>,
    rel: String,
    line: u64,
    attack: u64,
    bytes: u64,
    labels: Vec<Label>,
    /// Scratch buffer the caller renders one line into (including the newline).
    pub buf: Vec<u8>,
}

impl LineFile {
    /// Create `out/rel` (its directory must exist).
    pub fn create(out: &Path, rel: &str) -> Result<LineFile> {
        let path = out.join(rel);
        let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(LineFile {
            w: BufWriter::with_capacity(1 << 18, file),
            rel: rel.to_string(),
            line: 0,
            attack: 0,
            bytes: 0,
            labels: Vec::new(),
            buf: Vec::with_capacity(1024),
        })
    }

    /// Write a line that is not an event (a CSV header).
    pub fn header(&mut self, text: &str) -> Result<()> {
        self.w.write_all(text.as_bytes())?;
        self.bytes += text.len() as u64;
        self.line += 1;
        Ok(())
    }

    /// Write `buf` as the next line; label it when it belongs to an attack.
    pub fn emit(&mut self, tag: Option<&Tag>) -> Result<()> {
        self.w.write_all(&self.buf)?;
        self.bytes += self.buf.len() as u64;
        self.line += 1;
        if let Some(tag) = tag {
            self.attack += 1;
            self.labels.push(Label::at_line(&self.rel, self.line, tag));
        }
        self.buf.clear();
        Ok(())
    }

    /// Flush and report; `header_lines` are not counted as events.
    pub fn finish(mut self, header_lines: u64) -> Result<StreamOutput> {
        self.w.flush()?;
        Ok(StreamOutput {
            files: vec![FileStat {
                rel: self.rel,
                events: self.line - header_lines,
                attack_events: self.attack,
                bytes: self.bytes,
            }],
            labels: self.labels,
        })
    }
}
