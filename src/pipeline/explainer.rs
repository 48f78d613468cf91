//! The explanation task: the model writes behind the grounded template, on its own thread
//! (candle keeps both cores busy for seconds). Tokens stream to the front end as a labelled
//! draft; the verified text replaces it and is stored with the explanation.

use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use anyhow::Result;
use crossbeam_channel::{Receiver, RecvTimeoutError};
use tokio::sync::mpsc::UnboundedSender;

use super::{Level, PipelineEvent, StatusPart};
use crate::config::Config;
use crate::explain::Explanation;
use crate::store::Store;

/// Write the model's paragraph for this (template) explanation.
pub(super) struct ExplainJob {
    pub explanation: Explanation,
}

pub(super) fn run(
    store: &Store,
    config: &Config,
    data_dir: &Path,
    jobs: Receiver<ExplainJob>,
    tx: &UnboundedSender<PipelineEvent>,
    cancel: &CancellationToken,
) {
    let mut generator = match crate::explain::open_generator(&config.explain, data_dir) {
        Ok(g) => {
            let _ = tx.send(PipelineEvent::Status(StatusPart::Llm(g.name())));
            Some(g)
        }
        Err(reason) => {
            let _ = tx.send(PipelineEvent::Status(StatusPart::Llm(format!(
                "template only ({reason})"
            ))));
            let _ = tx.send(PipelineEvent::Notice {
                level: Level::Info,
                text: format!("explanations: grounded template only ({reason})"),
            });
            None
        }
    };
    loop {
        let job = match jobs.recv_timeout(Duration::from_millis(200)) {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) if cancel.is_cancelled() => return,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let alert_id = job.explanation.alert_id;
        let Some(g) = generator.as_mut() else {
            let _ = tx.send(PipelineEvent::ModelUnavailable {
                alert_id,
                reason: "no explanation model (grounded template only)".into(),
            });
            continue;
        };
        if let Err(e) = write(store, config, g.as_mut(), job, tx, cancel) {
            let _ = tx.send(PipelineEvent::ModelUnavailable {
                alert_id,
                reason: format!("the model failed: {e:#}"),
            });
        }
    }
}

fn write(
    store: &Store,
    config: &Config,
    generator: &mut dyn crate::explain::llm::Generator,
    job: ExplainJob,
    tx: &UnboundedSender<PipelineEvent>,
    cancel: &CancellationToken,
) -> Result<()> {
    let mut e = job.explanation;
    let alert_id = e.alert_id;
    let Some(alert) = crate::store::stored_alert(store, alert_id)? else {
        return Ok(());
    };
    let known: std::collections::HashSet<String> = crate::explain::technique_names(store)?
        .into_keys()
        .collect();
    let budget = crate::explain::llm::Budget {
        max_tokens: config.explain.max_tokens,
        timeout: Duration::from_secs(config.explain.timeout_secs),
        cancel,
    };
    crate::explain::generate(&mut e, generator, &budget, &known, &alert, &mut |piece| {
        let _ = tx.send(PipelineEvent::Draft {
            alert_id,
            text: piece.to_string(),
        });
    })?;
    crate::explain::save(store, &e)?;
    if let Some(g) = e.generated.take() {
        let _ = tx.send(PipelineEvent::Generated {
            alert_id,
            generated: Box::new(g),
        });
    }
    Ok(())
}
