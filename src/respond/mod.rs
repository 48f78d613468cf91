//! The response engine: traffic-light actions from policy, sandbox by default, approvals for
//! RED, rollback for everything that changes state, expiry, and the audit chain.
//!
//! State lives in sled `actions` (`a`+id → action, `k`+alert+kind+target → id so a restart
//! never proposes or runs an action twice, `o`+kind+target → offence count).

pub mod audit;
pub mod catalog;
mod decisions;
mod execution;
pub mod executor;
mod expiry;
pub mod policy;
mod proposal;
pub mod target;
#[cfg(test)]
mod tests;
pub mod worker;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::RespondConfig;
use crate::domain::{
    Action, ActionKind, ActionState, Alert, AlertStatus, Decision, Execution, Target, Tier,
};
use crate::privacy::Pseudonymiser;
use crate::store::Store;
use audit::{Audit, Entry};
use catalog::Runs;
use executor::{Executor, Request};
use target::NeverAct;
use worker::LiveWorker;

/// Where the alert's events came from, and the time to judge freshness by.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// `--follow`, the console's sources, `serve`: fresh events may act by themselves.
    pub live_source: bool,
    pub now: DateTime<Utc>,
    /// Measurement only: treat every alert as fresh (replaying a generated week "as live").
    pub assume_fresh: bool,
}

/// Counts by resulting state, for summaries.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub by_state: BTreeMap<String, u64>,
    /// GREEN/YELLOW state-changing actions that ran (sandboxed or executed) by themselves.
    pub auto_state_changing: usize,
}

impl Summary {
    /// Move actions the live worker settled from `running` to their result.
    pub fn settled(&mut self, actions: &[Action]) {
        for a in actions {
            if let Some(n) = self.by_state.get_mut(ActionState::Running.as_str()) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.by_state.remove(ActionState::Running.as_str());
                }
            }
            *self
                .by_state
                .entry(a.state.as_str().to_string())
                .or_default() += 1;
        }
    }
}

/// Every stored action, by id (a read: safe beside the responder that writes them).
pub fn stored_actions(store: &Store) -> Result<Vec<Action>> {
    store
        .actions
        .scan_prefix([b'a'])
        .values()
        .map(|v| Ok(serde_json::from_slice(&v?)?))
        .collect()
}

/// One stored action (a read, like [`stored_actions`]).
pub fn stored_action(store: &Store, id: u64) -> Result<Option<Action>> {
    Ok(store
        .actions
        .get(key(b'a', &[&id.to_be_bytes()]))?
        .map(|v| serde_json::from_slice(&v))
        .transpose()?)
}

pub struct Responder<'a> {
    store: &'a Store,
    config: &'a RespondConfig,
    audit: Audit,
    never: NeverAct,
    resolver: Option<Arc<Pseudonymiser>>,
    /// Present only in live mode; the sandbox has no way to run anything.
    live: Option<LiveWorker>,
    /// Actions written since the last [`Responder::take_changed`], as written: a live view
    /// is sent what changed without reading it back.
    changed: std::sync::Mutex<BTreeMap<u64, Action>>,
    /// When time changes an action (an approval's deadline, a temporary action's end), by
    /// id: `tick` looks at these instead of every stored action.
    timed: std::sync::Mutex<HashMap<u64, DateTime<Utc>>>,
    /// Actions a previous process left running (found when this one opened the store), for
    /// [`Responder::settle_interrupted`].
    interrupted: std::sync::Mutex<Vec<u64>>,
}

#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error("no action {0}")]
    NotFound(u64),
    #[error(
        "alert {alert} is closed ({why}); approving would still act: re-run with --confirm-closed"
    )]
    AlertClosed { alert: u64, why: String },
    /// The inverse ran and failed (or could not be run); the action is still in effect.
    #[error("rollback of action {0} failed; it is still in effect")]
    RollbackFailed(u64),
    #[error("action {id} is {state}: {why}")]
    WrongState {
        id: u64,
        state: &'static str,
        why: String,
    },
}

const ENGINE: &str = "autosec";
/// Live requests run side by side: a hung target holds one runner, not every action.
const LIVE_THREADS: usize = 4;

fn key(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = vec![prefix];
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            k.push(0);
        }
        k.extend_from_slice(p);
    }
    k
}

impl<'a> Responder<'a> {
    pub fn new(
        store: &'a Store,
        config: &'a RespondConfig,
        audit: Audit,
        resolver: Option<Arc<Pseudonymiser>>,
        live: Option<Arc<dyn Executor>>,
    ) -> Result<Responder<'a>> {
        let never = NeverAct::from_config(config).map_err(anyhow::Error::msg)?;
        let live = live
            .map(|executor| LiveWorker::start(executor, LIVE_THREADS))
            .transpose()?;
        // One pass over the stored actions finds both what time will change and what a
        // previous process left running.
        let mut timed = HashMap::new();
        let mut interrupted = Vec::new();
        for a in stored_actions(store)? {
            if let Some(change) = expiry::time_change(&a) {
                timed.insert(a.action_id, change.at);
            }
            if a.state == ActionState::Running {
                interrupted.push(a.action_id);
            }
        }
        Ok(Responder {
            store,
            config,
            audit,
            never,
            resolver,
            live,
            changed: std::sync::Mutex::new(BTreeMap::new()),
            timed: std::sync::Mutex::new(timed),
            interrupted: std::sync::Mutex::new(interrupted),
        })
    }

    pub fn mode(&self) -> &'static str {
        if self.live.is_some() {
            "live"
        } else {
            "sandbox"
        }
    }

    pub fn audit(&self) -> &Audit {
        &self.audit
    }

    /// sled's persistent monotonic ids (reserved in blocks, so no write per action); a crash
    /// may skip some numbers, never reuse one.
    pub(super) fn next_id(&self) -> Result<u64> {
        Ok(self.store.db.generate_id()? + 1)
    }

    pub(super) fn save(&self, action: &Action) -> Result<()> {
        self.store.actions.insert(
            key(b'a', &[&action.action_id.to_be_bytes()]),
            serde_json::to_vec(action)?,
        )?;
        let mut timed = self.timed.lock().unwrap_or_else(|p| p.into_inner());
        match expiry::time_change(action) {
            Some(change) => timed.insert(action.action_id, change.at),
            None => timed.remove(&action.action_id),
        };
        self.changed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(action.action_id, action.clone());
        Ok(())
    }

    /// The actions written since the last call, each once, as stored now (by id).
    pub fn take_changed(&self) -> Result<Vec<Action>> {
        let changed = std::mem::take(&mut *self.changed.lock().unwrap_or_else(|p| p.into_inner()));
        Ok(changed.into_values().collect())
    }

    /// Ids of actions that time may have changed by `now`.
    fn due_by(&self, now: DateTime<Utc>) -> Vec<u64> {
        let timed = self.timed.lock().unwrap_or_else(|p| p.into_inner());
        let mut ids: Vec<u64> = timed
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }

    pub fn get(&self, id: u64) -> Result<Option<Action>> {
        stored_action(self.store, id)
    }

    pub fn actions(&self) -> Result<Vec<Action>> {
        stored_actions(self.store)
    }

    pub(super) fn record(
        &self,
        event: &str,
        action: &Action,
        actor: &str,
        detail: String,
    ) -> Result<()> {
        self.audit.append(Entry {
            event,
            action_id: Some(action.action_id),
            alert_id: Some(action.alert_id),
            actor,
            detail,
            argv_mac: None,
        })?;
        Ok(())
    }

    /// The real value behind a pseudonym (privacy on), or the value itself (privacy off).
    pub(super) fn resolve(&self, value: &str) -> Result<Option<String>> {
        match &self.resolver {
            Some(p) if crate::privacy::is_token(value) => p.resolve(value),
            _ => Ok(Some(value.to_string())),
        }
    }
}
