//! Starts an engine's bus work next to its pipeline: the `[[ingest.nats]]` consumers feed
//! the writer; `[output.nats]` publishes the hub's alerts and actions and answers control
//! requests.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tokio_util::sync::CancellationToken;

use super::hub::Hub;
use crate::bus::{BusStats, publish, source};
use crate::config::Config;
use crate::pipeline::Pipeline;

/// The running bus tasks.
pub struct BusTasks {
    cancel: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Start the consumers and the publisher the configuration asks for (none: nothing runs).
pub fn start(
    config: &Config,
    pipeline: &Pipeline,
    hub: &Arc<Hub>,
    stats: Arc<BusStats>,
) -> Result<BusTasks> {
    let cancel = CancellationToken::new();
    let mut tasks = source::start(
        &config.ingest.nats,
        pipeline.ingest_handle(),
        pipeline.store.clone(),
        stats,
        cancel.clone(),
    )?;
    if let Some(out) = config.output.nats.clone() {
        let engine = config.engine.resolved_id();
        let live = hub.subscribe().live;
        let mirror = hub.clone();
        let id = engine.clone();
        let snapshot: Arc<dyn Fn() -> publish::Snapshot + Send + Sync> = Arc::new(move || {
            mirror.with(|m| publish::Snapshot {
                engine: id.clone(),
                alerts: m.alerts.values().cloned().collect(),
                actions: m.actions.values().cloned().collect(),
            })
        });
        let (commands, cancel) = (pipeline.commands(), cancel.clone());
        let store = pipeline.store.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(e) = publish::run(out, engine, live, commands, store, snapshot, cancel).await
            {
                eprintln!("autosec: NATS output stopped: {e:#}");
            }
        }));
    }
    Ok(BusTasks { cancel, tasks })
}

impl BusTasks {
    /// Stop pulling and publishing. A batch being stored finishes in the writer (with its
    /// checkpoint); its acknowledgement may be lost, which the next start recognises.
    pub async fn stop(self) {
        self.cancel.cancel();
        for t in self.tasks {
            if tokio::time::timeout(Duration::from_millis(500), t)
                .await
                .is_err()
            {
                eprintln!("autosec: a NATS task did not stop in 500 ms (left behind)");
            }
        }
    }
}
