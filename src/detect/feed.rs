//! Chunks the ingest writer has just stored, handed to live detection with their views, so
//! detection does not read back from sled what was written a moment ago.
//!
//! sled stays the source of truth: the writer never waits for detection, so a chunk the feed
//! did not carry (its queue was full, detection had not started, the engine restarted) is read
//! from the store by the detection cursor as before. The feed only saves the round trip.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_channel::{Receiver, Sender, unbounded};

use crate::domain::EventView;
use crate::store::{ChunkEntry, EncodedChunk};

/// Events the writer may queue ahead of detection; past it chunks are dropped from the feed
/// (still stored) and detection reads them back. Counted in events, not chunks: followed
/// sources store 128-event chunks, a one-off ingest 512, and a bound in chunks let a live
/// stream at 50k/s overflow between two detection steps (half a second apart) and read two
/// thirds of what it detected back from sled. About a second and a half at 50k/s.
const QUEUED_EVENTS: usize = 65_536;
/// Events detection holds between steps: a detection that falls behind takes the rest from
/// the queue later, or from sled, so its memory stays bounded whatever ingest does.
const HELD_EVENTS: usize = 32_768;

/// One stored chunk: its index entry and its views with their store ids.
#[derive(Debug)]
pub struct FedChunk {
    pub entry: ChunkEntry,
    pub views: Vec<EventView>,
}

/// The writer's end.
#[derive(Debug, Clone)]
pub struct FeedSender {
    tx: Sender<FedChunk>,
    /// Events sent and not yet received (shared with the [`Feed`]).
    queued: Arc<AtomicUsize>,
}

/// Detection's end: chunks received and not yet detected, by first id.
#[derive(Debug)]
pub struct Feed {
    rx: Receiver<FedChunk>,
    queued: Arc<AtomicUsize>,
    held: BTreeMap<u64, FedChunk>,
    held_events: usize,
    /// Events detected from the feed and read back from sled (steps with a feed only).
    pub fed_events: u64,
    pub read_back_events: u64,
}

pub fn channel() -> (FeedSender, Feed) {
    let (tx, rx) = unbounded();
    let queued = Arc::new(AtomicUsize::new(0));
    let feed = Feed {
        rx,
        queued: queued.clone(),
        held: BTreeMap::new(),
        held_events: 0,
        fed_events: 0,
        read_back_events: 0,
    };
    (FeedSender { tx, queued }, feed)
}

impl FeedSender {
    /// Offer `chunk`, just stored under `first_id`, without ever blocking the writer. Its
    /// views are moved out (the writer has no further use for them).
    pub fn offer(&self, first_id: u64, source: &str, chunk: &mut EncodedChunk) {
        let mut views = std::mem::take(&mut chunk.view_list);
        if views.len() != chunk.count as usize {
            return;
        }
        for (i, v) in views.iter_mut().enumerate() {
            v.id = first_id + i as u64;
        }
        let fed = FedChunk {
            entry: chunk.entry(first_id, source),
            views,
        };
        // Full or gone: the chunk is stored, and detection reads it from there. Only the
        // writer adds, so the check and the add need no lock.
        let events = fed.views.len();
        if self.queued.load(Ordering::Acquire) + events > QUEUED_EVENTS {
            return;
        }
        self.queued.fetch_add(events, Ordering::AcqRel);
        if self.tx.send(fed).is_err() {
            self.queued.fetch_sub(events, Ordering::AcqRel);
        }
    }
}

impl Feed {
    /// Take what the writer queued, while under the hold bound; chunks before `from_id` have
    /// been detected already (from sled) and are dropped.
    pub fn refill(&mut self, from_id: u64) {
        while self.held_events < HELD_EVENTS {
            let Some(chunk) = self.receive() else {
                break;
            };
            if chunk.entry.chunk < from_id {
                continue;
            }
            self.held_events += chunk.views.len();
            self.held.insert(chunk.entry.chunk, chunk);
        }
        while let Some(entry) = self.held.first_entry() {
            if *entry.key() >= from_id {
                break;
            }
            self.held_events -= entry.remove().views.len();
        }
    }

    /// Held chunks that follow on from `from_id` without a gap, whole, up to about
    /// `max_events` (at least one chunk when the first is there).
    pub fn take_run(&mut self, from_id: u64, max_events: u64) -> Vec<FedChunk> {
        let mut run = Vec::new();
        let (mut next, mut events) = (from_id, 0u64);
        while events < max_events {
            let Some(chunk) = self.held.remove(&next) else {
                break;
            };
            next = chunk.entry.chunk + u64::from(chunk.entry.count);
            events += chunk.views.len() as u64;
            self.held_events -= chunk.views.len();
            run.push(chunk);
        }
        run
    }

    /// Every held chunk that starts before `until_id` (with gaps between them: detection
    /// reads the gaps from the store and merges the lot).
    pub fn take_before(&mut self, until_id: u64) -> impl Iterator<Item = FedChunk> + use<> {
        let later = self.held.split_off(&until_id);
        let taken = std::mem::replace(&mut self.held, later);
        self.held_events = self.held.values().map(|c| c.views.len()).sum();
        taken.into_values()
    }

    /// The next queued chunk, if any, no longer counted as queued.
    fn receive(&mut self) -> Option<FedChunk> {
        let chunk = self.rx.try_recv().ok()?;
        self.queued.fetch_sub(chunk.views.len(), Ordering::AcqRel);
        Some(chunk)
    }

    /// Drop everything queued and held (detection has not started: it will read the store).
    pub fn discard(&mut self) {
        while self.receive().is_some() {}
        self.held.clear();
        self.held_events = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::datasets::{GenerateOptions, generate};
    use crate::detect::{Detection, Mode};
    use crate::ingest::{self, IngestOptions};
    use crate::store::Store;
    use tokio_util::sync::CancellationToken;

    /// Store `paths` (privacy off: the redactor is not what this tests) into `store`.
    fn ingest_into(store: &Store, config: &Config, paths: &[String], feed: Option<FeedSender>) {
        let opts = IngestOptions {
            paths: paths.to_vec(),
            detect_feed: feed,
            ..Default::default()
        };
        ingest::run(store, None, config, &opts, CancellationToken::new()).unwrap();
    }

    /// The writer feeds live detection what it stored; a chunk the feed lost is read back from
    /// the store. Either way detection raises exactly what it raises reading everything back.
    #[test]
    fn fed_detection_raises_what_detection_from_the_store_raises() {
        let dir = tempfile::tempdir().unwrap();
        generate(&GenerateOptions::new(dir.path().join("set"), 12_000, 5)).unwrap();
        let mut files: Vec<String> = std::fs::read_dir(dir.path().join("set/logs"))
            .unwrap()
            .map(|e| e.unwrap().path().display().to_string())
            .collect();
        files.sort();
        // The baseline is the CloudTrail trail; the host and application logs arrive live.
        let (baseline, live): (Vec<String>, Vec<String>) =
            files.into_iter().partition(|f| f.ends_with("cloudtrail"));
        assert!(!baseline.is_empty() && !live.is_empty());
        let mut config = Config::defaults().unwrap();
        config.ingest.workers = 2;
        let open = |name: &str| Store::open(&dir.path().join(name), 8).unwrap();
        let baseline_detection = |store: &Store| {
            ingest_into(store, &config, &baseline, None);
            Detection::start(store, &config.detect, 1, Mode::Fused)
                .unwrap()
                .0
        };

        let read = open("read");
        let mut from_store = baseline_detection(&read);
        let from = from_store.next_id();
        ingest_into(&read, &config, &live, None);
        let (read_events, read_changed) = from_store.step(&read).unwrap();
        assert!(!read_changed.is_empty(), "the live logs raise alerts");

        for lose in [false, true] {
            let fed = open(if lose { "fed-lossy" } else { "fed" });
            let mut detection = baseline_detection(&fed);
            let (tx, mut feed) = channel();
            ingest_into(&fed, &config, &live, Some(tx));
            feed.refill(from);
            let ids: Vec<u64> = feed.held.keys().copied().collect();
            assert!(
                ids.len() >= 4,
                "the live part spans several chunks: {ids:?}"
            );
            assert_eq!(ids[0], from, "the feed starts where detection stands");
            for (id, chunk) in &feed.held {
                let stored = fed.event_views.get(id.to_be_bytes()).unwrap().unwrap();
                let read_back = crate::store::decode_views(*id, &stored).unwrap();
                assert_eq!(chunk.views, read_back, "chunk {id} fed as it was stored");
            }
            let mut lost = 0;
            if lose {
                // Lose the second chunk and the last one, as a full queue would.
                for id in [ids[1], ids[ids.len() - 1]] {
                    let chunk = feed.held.remove(&id).unwrap();
                    feed.held_events -= chunk.views.len();
                    lost += chunk.views.len() as u64;
                }
            }
            let (events, changed) = detection
                .step_bounded(&fed, u64::MAX, Some(&mut feed))
                .unwrap();
            assert_eq!(events, read_events);
            assert_eq!(feed.read_back_events, lost, "lossy: {lose}");
            assert_eq!(feed.fed_events, read_events - lost);
            assert_eq!(detection.next_id(), from_store.next_id());
            assert_eq!(changed, read_changed, "lossy: {lose}");
            assert_eq!(detection.alerts(), from_store.alerts());
            assert!(feed.held.is_empty() && feed.held_events == 0);
        }
    }

    /// A stored chunk of `events` copies of one view, as the writer offers it.
    fn test_chunk(events: usize) -> EncodedChunk {
        EncodedChunk {
            bytes: Vec::new(),
            views: Vec::new(),
            view_list: vec![crate::detect::bench_fixtures().0; events],
            count: events as u32,
            first_line: None,
            last_line: None,
            first_ts: 0,
            last_ts: 0,
        }
    }

    /// The feed holds a bounded number of events whatever the writer queues, and drops what
    /// detection has already passed.
    #[test]
    fn the_feed_holds_a_bounded_run_and_drops_what_was_detected() {
        let (tx, mut feed) = channel();
        let mut first = 1;
        for _ in 0..QUEUED_EVENTS / 2_000 + 10 {
            tx.offer(first, "auth.log", &mut test_chunk(2_000));
            first += 2_000;
        }
        // The writer never waited: the queue kept its first chunks, the rest were dropped.
        feed.refill(2_001);
        assert_eq!(
            feed.held.keys().next().copied(),
            Some(2_001),
            "chunk 1 was detected already"
        );
        assert!(feed.held_events <= HELD_EVENTS + 2_000);
        let run = feed.take_run(2_001, 5_000);
        assert_eq!(
            run.iter().map(|c| c.entry.chunk).collect::<Vec<_>>(),
            vec![2_001, 4_001, 6_001],
            "whole chunks, without a gap, up to the bound"
        );
        assert_eq!(run[1].views[0].id, 4_001, "views carry their store ids");
        feed.discard();
        assert_eq!(feed.held.keys().next().copied(), None);
        assert_eq!(feed.queued.load(Ordering::Acquire), 0);
    }

    /// The queue is bounded in events: what a live stream at 50k/s stores in 128-event
    /// chunks between two detection steps (half a second) is all carried, and past the bound
    /// the writer drops chunks instead of waiting.
    #[test]
    fn the_queue_carries_half_a_second_of_small_chunks_at_50k_per_second() {
        let (tx, mut feed) = channel();
        let offer =
            |first: u64, events: usize| tx.offer(first, "auth.log", &mut test_chunk(events));
        let half_second = 25_000 / 128 + 1;
        for i in 0..half_second {
            offer(1 + (i * 128) as u64, 128);
        }
        assert_eq!(feed.queued.load(Ordering::Acquire), half_second * 128);
        let mut first = 1 + (half_second * 128) as u64;
        while first < 2 * QUEUED_EVENTS as u64 {
            offer(first, 128);
            first += 128;
        }
        assert!(feed.queued.load(Ordering::Acquire) <= QUEUED_EVENTS);
        feed.refill(1);
        let run = feed.take_run(1, 25_000);
        assert_eq!(
            run.len(),
            half_second,
            "every chunk of the half second was carried"
        );
        assert!(feed.queued.load(Ordering::Acquire) < QUEUED_EVENTS);
    }
}
