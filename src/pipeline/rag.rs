//! The retrieval task: loads the embedding model and intel index (embedding the corpus once
//! per store, in the background), then attaches techniques, incidents and CVEs to alerts as
//! the engine hands them over.

use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use anyhow::Result;
use crossbeam_channel::{Receiver, RecvTimeoutError};
use tokio::sync::mpsc::UnboundedSender;

use super::{Level, PipelineEvent, StatusPart};
use crate::config::Config;
use crate::intel::{Intel, ModelState};
use crate::store::Store;

pub(super) fn run(
    store: &Store,
    config: &Config,
    data_dir: &Path,
    cache: Option<&Path>,
    ids: Receiver<u64>,
    tx: &UnboundedSender<PipelineEvent>,
    cancel: &CancellationToken,
) {
    if !config.intel.attach_on_ingest {
        let _ = tx.send(status("off (intel.attach_on_ingest = false)".into()));
        return;
    }
    if let Some(path) = cache {
        seed_from_cache(store, path);
    }
    let intel = match open(store, config, data_dir, tx, cancel) {
        Ok(i) => i,
        Err(e) => {
            let _ = tx.send(PipelineEvent::Notice {
                level: Level::Error,
                text: format!("intel unavailable: {e:#}"),
            });
            return;
        }
    };
    if let Some(path) = cache
        && intel.model().embedder().is_some()
        && let Err(e) = save_cache(store, path)
    {
        let _ = tx.send(PipelineEvent::Notice {
            level: Level::Warn,
            text: format!("could not cache the demo's intel vectors: {e:#}"),
        });
    }
    loop {
        let first = match ids.recv_timeout(Duration::from_millis(200)) {
            Ok(id) => id,
            Err(RecvTimeoutError::Timeout) if cancel.is_cancelled() => return,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        // An alert that grew twice while we worked needs one retrieval, not two.
        let mut batch = vec![first];
        batch.extend(ids.try_iter());
        batch.sort_unstable();
        batch.dedup();
        let mut alerts = Vec::with_capacity(batch.len());
        for id in batch {
            match crate::store::stored_alert(store, id) {
                Ok(Some(alert)) => alerts.push(alert),
                Ok(None) => {}
                Err(e) => {
                    let _ = tx.send(PipelineEvent::Notice {
                        level: Level::Warn,
                        text: format!("intel for alert #{id}: {e:#}"),
                    });
                }
            }
        }
        // Their query vectors from the user's cache (new ones are embedded and kept there), so
        // a console whose alert kinds were seen before does not load the model's weights.
        let queries: Vec<String> = alerts
            .iter()
            .map(crate::intel::retrieve::alert_query)
            .collect();
        if let Err(e) = intel.prepare_queries(&queries) {
            let _ = tx.send(PipelineEvent::Notice {
                level: Level::Warn,
                text: format!("intel query vectors: {e:#}"),
            });
        }
        for alert in alerts {
            let id = alert.alert_id;
            if let Err(e) = attach(&intel, store, config, alert, tx) {
                let _ = tx.send(PipelineEvent::Notice {
                    level: Level::Warn,
                    text: format!("intel for alert #{id}: {e:#}"),
                });
            }
        }
    }
}

/// The demo's store is new each run: its intel index (vectors keyed by model and passage,
/// and the HNSW snapshot) is kept in a cache file so the corpus is embedded once per machine,
/// not once per demo. Keys are content-addressed, so a changed model or corpus just misses.
fn seed_from_cache(store: &Store, path: &Path) {
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    let Ok(entries) = postcard::from_bytes::<Vec<(Vec<u8>, Vec<u8>)>>(&bytes) else {
        return;
    };
    let mut batch = sled::Batch::default();
    for (k, v) in entries {
        batch.insert(k, v);
    }
    let _ = store.intel_index.apply_batch(batch);
}

fn save_cache(store: &Store, path: &Path) -> Result<()> {
    let entries: Vec<(Vec<u8>, Vec<u8>)> = store
        .intel_index
        .iter()
        .map(|item| item.map(|(k, v)| (k.to_vec(), v.to_vec())))
        .collect::<Result<_, _>>()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, postcard::to_allocvec(&entries)?)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn status(text: String) -> PipelineEvent {
    PipelineEvent::Status(StatusPart::Embedding(text))
}

fn open(
    store: &Store,
    config: &Config,
    data_dir: &Path,
    tx: &UnboundedSender<PipelineEvent>,
    cancel: &CancellationToken,
) -> Result<Intel> {
    let model = ModelState::load(&config.intel, data_dir);
    let name = match &model {
        // `all-MiniLM-L6-v2:384:90868376` → the name.
        ModelState::Ready(e) => e
            .model_id()
            .split(':')
            .next()
            .unwrap_or("model")
            .to_string(),
        ModelState::Unavailable(reason) => {
            let _ = tx.send(status(format!("lexical (BM25): {reason}")));
            String::new()
        }
    };
    let mut intel = Intel::open(store, &config.intel, model)?;
    let pending = intel.pending_passages();
    if pending > 0 {
        let _ = tx.send(status(format!("embedding corpus 0/{pending}")));
        let mut last = 0;
        intel.embed_pending(store, |done, total| {
            // A progress line every ~5%: the status bar, not a flood.
            if done >= last + total.div_ceil(20) || done == total {
                last = done;
                let _ = tx.send(status(format!("embedding corpus {done}/{total}")));
            }
        })?;
    }
    if cancel.is_cancelled() {
        return Ok(intel);
    }
    if intel.index_is_stale()
        && let Some(handle) = intel.spawn_rebuild()
    {
        let _ = tx.send(status(format!("{name} (building index)")));
        let snapshot = handle
            .join()
            .map_err(|_| anyhow::anyhow!("the index build thread panicked"))?;
        intel.save_and_install(store, snapshot)?;
    }
    if !name.is_empty() {
        let ranking = intel.effective_ranking(None).as_str();
        let _ = tx.send(status(format!("{name} ({ranking})")));
    }
    Ok(intel)
}

fn attach(
    intel: &Intel,
    store: &Store,
    config: &Config,
    alert: crate::domain::Alert,
    tx: &UnboundedSender<PipelineEvent>,
) -> Result<()> {
    let id = alert.alert_id;
    let query = crate::intel::retrieve::alert_query(&alert);
    if alert.intel.as_ref().is_some_and(|i| i.query == query) {
        return Ok(());
    }
    let found = intel.retrieve_for_alert(&alert, config.intel.k)?;
    if let Some(updated) = crate::store::update_alert(store, id, |a| a.intel = Some(found.clone()))?
    {
        let _ = tx.send(super::alert_event(updated));
    }
    Ok(())
}
