//! `--follow`: tail growing files until Ctrl-C, surviving rotation by rename (old file drained,
//! new one read from its start) and by truncation (copytruncate: read again from offset 0).

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use super::pipeline::Reader;
use super::source::{self, Input, Opened};
use super::summary::IngestSummary;
use crate::domain::Format;

struct Tracked {
    path: PathBuf,
    opened: Opened,
    identity: Option<(u64, u64)>,
}

/// Files being tailed, and paths waiting to (re)appear.
pub struct Follower {
    poll: Duration,
    tracked: Vec<Tracked>,
    known: HashSet<PathBuf>,
}

fn identity(path: &std::path::Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(path).ok().map(|m| (m.len(), 0))
    }
}

impl Follower {
    pub fn new(poll: Duration) -> Self {
        Follower {
            poll,
            tracked: Vec::new(),
            known: HashSet::new(),
        }
    }

    /// Tail `path` from where `opened` stands. Only line-based sources can grow meaningfully.
    pub fn track(&mut self, path: PathBuf, opened: Opened) {
        self.known.insert(path.clone());
        if opened.ctx.kind.is_line_based() {
            let identity = identity(&path);
            self.tracked.push(Tracked {
                path,
                opened,
                identity,
            });
        }
    }

    /// Poll until cancelled: new lines, rotated and truncated files, new files in directories.
    pub(super) fn run(
        &mut self,
        reader: &mut Reader<'_>,
        paths: &[String],
        format: Option<Format>,
        summary: &mut IngestSummary,
    ) {
        while !reader.cancelled() {
            std::thread::sleep(self.poll);
            for i in 0..self.tracked.len() {
                self.poll_one(i, reader, format, summary);
            }
            self.discover(reader, paths, format, summary);
        }
    }

    fn poll_one(
        &mut self,
        i: usize,
        reader: &mut Reader<'_>,
        format: Option<Format>,
        summary: &mut IngestSummary,
    ) {
        let t = &mut self.tracked[i];
        let now = identity(&t.path);
        let len = std::fs::metadata(&t.path).map(|m| m.len()).ok();
        let (offset, _, _) = t.opened.framer.progress();
        if now.is_some() && now != t.identity {
            // Rotated by rename: finish the old file (its last line is complete now), then
            // start the file that took its name from the beginning.
            let _ = reader.pump(&mut t.opened, true);
            self.reopen(i, reader, format, summary, false);
        } else if len.is_some_and(|l| l < offset) {
            // Truncated in place: everything in it now is new.
            self.reopen(i, reader, format, summary, true);
        } else if let Err(e) = reader.pump(&mut t.opened, false) {
            summary.file_errors.push(source::FileError {
                path: t.opened.ctx.name.clone(),
                error: e.to_string(),
            });
        }
    }

    fn reopen(
        &mut self,
        i: usize,
        reader: &mut Reader<'_>,
        format: Option<Format>,
        summary: &mut IngestSummary,
        fresh: bool,
    ) {
        let path = self.tracked[i].path.clone();
        // On error (not there yet, or still empty) keep the old handle — and its identity, so
        // the rotation is seen again — and try again next poll.
        if let Ok(mut opened) = reader.open_for_follow(&path, format, fresh) {
            if let Err(e) = reader.pump(&mut opened, false) {
                summary.file_errors.push(source::FileError {
                    path: opened.ctx.name.clone(),
                    error: e.to_string(),
                });
            }
            let t = &mut self.tracked[i];
            t.identity = identity(&path);
            t.opened = opened;
        }
    }

    /// Pick up files that appeared under followed directories (or followed paths that did
    /// not exist or were empty at start).
    fn discover(
        &mut self,
        reader: &mut Reader<'_>,
        paths: &[String],
        format: Option<Format>,
        summary: &mut IngestSummary,
    ) {
        let (inputs, _) = source::expand(paths);
        for input in inputs {
            if let Input::File(p) = &input
                && !self.known.contains(p)
            {
                let before = summary.file_errors.len();
                reader.ingest_input(&input, format, true, summary, self);
                // An empty file is not an error while following: it will be read once it grows.
                if summary.file_errors.len() > before {
                    summary.file_errors.truncate(before);
                }
            }
        }
    }
}
