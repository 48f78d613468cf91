//! The log stream's feed: what the ingest writer taps off, coalesced to about ten messages a
//! second so a 50k events/s source costs the front end a handful of messages, not 50k.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use tokio::sync::mpsc::UnboundedSender;

use super::{PipelineEvent, StreamLine};
use crate::ingest::TapBatch;

const INTERVAL: Duration = Duration::from_millis(100);
/// No stored event for this long: the sources are idle (detection may start on a small batch).
const IDLE_AFTER: Duration = Duration::from_secs(2);

pub(super) fn forward(
    tap: Receiver<TapBatch>,
    tx: &UnboundedSender<PipelineEvent>,
    keep: usize,
    idle: &AtomicBool,
) {
    // Runs until the ingest writer drops the tap (after cancel it stores what it read first).
    let mut lines: VecDeque<StreamLine> = VecDeque::new();
    let (mut stored, mut rejected) = (0u64, 0u64);
    let mut last_send = Instant::now();
    let mut last_event = Instant::now();
    loop {
        match tap.recv_timeout(INTERVAL) {
            Ok(batch) => {
                stored += batch.stored;
                rejected += batch.rejected;
                for e in &batch.events {
                    if lines.len() == keep {
                        lines.pop_front();
                    }
                    lines.push_back(StreamLine::from_event(e));
                }
                if batch.stored > 0 {
                    last_event = Instant::now();
                    idle.store(false, Ordering::Relaxed);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if last_event.elapsed() >= IDLE_AFTER {
            idle.store(true, Ordering::Relaxed);
        }
        if (stored > 0 || rejected > 0) && last_send.elapsed() >= INTERVAL {
            let msg = PipelineEvent::Stored {
                stored,
                rejected,
                lines: lines.drain(..).collect(),
            };
            if tx.send(msg).is_err() {
                break;
            }
            (stored, rejected) = (0, 0);
            last_send = Instant::now();
        }
    }
    if stored > 0 || rejected > 0 {
        let _ = tx.send(PipelineEvent::Stored {
            stored,
            rejected,
            lines: lines.into(),
        });
    }
}
