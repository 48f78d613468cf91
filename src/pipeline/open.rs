//! Opening the engine: the store with its redactor, and the responder with its audit chain and
//! executors. Every front end (commands, console, serve) opens the engine through here.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::config::{Config, ExecutionMode};
use crate::privacy::{Pseudonymiser, Redactor, VaultKeys};
use crate::respond::Responder;
use crate::respond::audit::Audit;
use crate::respond::executor::{Executor, LiveExecutor};
use crate::store::Store;

/// Open the store and, with privacy on, the redactor over its pseudonym tables.
pub fn open_engine(
    config: &Config,
    data_dir: &Path,
    privacy: bool,
) -> Result<(Store, Option<Redactor>)> {
    let store = Store::open(data_dir, config.storage.cache_mb)?;
    store.record_privacy(privacy)?;
    let redactor = if privacy {
        Some(Redactor::over_store(
            VaultKeys::for_vault(&config.key_file()?, &store.vault)?,
            &store,
            config.privacy.cache_entries,
            config.privacy.keep_accounts.clone(),
        ))
    } else {
        None
    };
    Ok((store, redactor))
}

/// The responder and, when the mode deserves a word (LIVE, or live config without `--live`),
/// that notice for the caller to show its own way (the console cannot print to stderr).
pub fn build_responder<'a>(
    config: &'a Config,
    data_dir: &Path,
    store: &'a Store,
    live_flag: bool,
) -> Result<(Responder<'a>, Option<String>)> {
    let mut notice = None;
    let audit = Audit::open(store.audit.clone(), &config.audit_key_file()?, data_dir)?;
    let live: Option<Arc<dyn Executor>> = match (config.respond.mode, live_flag) {
        (ExecutionMode::Live, true) => Some(Arc::new(LiveExecutor {
            timeout: Duration::from_secs(config.respond.command_timeout_secs),
            attempts: config.respond.retries.max(1),
        })),
        (ExecutionMode::Sandbox, true) => {
            bail!(
                "--live needs `[respond] mode = \"live\"` in the config (and executors); refusing to guess"
            )
        }
        (ExecutionMode::Live, false) => {
            notice = Some(
                "respond: mode is live in the config but --live was not given: SANDBOX".into(),
            );
            None
        }
        (ExecutionMode::Sandbox, false) => None,
    };
    if live.is_some() {
        notice = Some("respond: LIVE mode: approved and automatic actions run for real".into());
    }
    let resolver = if config.privacy.enabled {
        let keys = VaultKeys::for_vault(&config.key_file()?, &store.vault)?;
        Some(Arc::new(Pseudonymiser::new(keys, store, 1024)))
    } else {
        None
    };
    let responder = Responder::new(store, &config.respond, audit, resolver, live)?;
    responder.settle_interrupted(chrono::Utc::now())?;
    Ok((responder, notice))
}
