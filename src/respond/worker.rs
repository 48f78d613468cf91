//! Live execution off the caller's thread. A command or webhook can take timeout × retries, so
//! it never runs on the engine loop: the responder records the action as `running`, hands the
//! request to this pool and goes on; the pool hands back the outcome, which the responder's
//! owner applies (the engine loop as soon as it arrives, a CLI command by waiting for it).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use crossbeam_channel::{Receiver, Sender};

use super::executor::{Executor, Outcome, Request};

/// Which half of an action's life the request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Run,
    Rollback,
}

/// One request handed to the pool, with what applying its outcome needs.
#[derive(Debug, Clone)]
pub struct Job {
    pub action_id: u64,
    pub phase: Phase,
    pub request: Request,
    /// Who asked (the engine, or the person who approved or rolled back).
    pub actor: String,
    /// When it was handed over: the execution's time, and the start of a temporary action.
    pub dispatched: DateTime<Utc>,
    pub argv_mac: Option<String>,
}

/// A job and what running it did.
#[derive(Debug, Clone)]
pub struct Finished {
    pub job: Job,
    pub outcome: Outcome,
}

/// Threads that run live requests; dropping it lets them end after their current request.
pub struct LiveWorker {
    jobs: Sender<Job>,
    finished: Receiver<Finished>,
    /// Handed over and not yet taken back by [`LiveWorker::take`].
    in_flight: Arc<AtomicUsize>,
}

impl LiveWorker {
    /// Start `threads` runners (at least one), so one hung target does not hold up the rest.
    pub fn start(executor: Arc<dyn Executor>, threads: usize) -> std::io::Result<LiveWorker> {
        let (jobs, job_rx) = crossbeam_channel::unbounded::<Job>();
        let (done_tx, finished) = crossbeam_channel::unbounded();
        for i in 0..threads.max(1) {
            let job_rx = job_rx.clone();
            let done_tx = done_tx.clone();
            let executor = executor.clone();
            std::thread::Builder::new()
                .name(format!("autosec-exec-{i}"))
                .spawn(move || {
                    for job in job_rx {
                        let outcome = executor.run(&job.request);
                        if done_tx.send(Finished { job, outcome }).is_err() {
                            break;
                        }
                    }
                })?;
        }
        Ok(LiveWorker {
            jobs,
            finished,
            in_flight: Arc::new(AtomicUsize::new(0)),
        })
    }

    pub(super) fn dispatch(&self, job: Job) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        // The runners live as long as `self`, so the channel is open.
        let _ = self.jobs.send(job);
    }

    /// Where outcomes arrive, for an owner that waits on several things at once.
    pub fn finished(&self) -> &Receiver<Finished> {
        &self.finished
    }

    /// Count an outcome as taken back.
    pub(super) fn take(&self, finished: Finished) -> Finished {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        finished
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }
}
