//! The response engine: traffic-light actions from policy, sandbox by default, approvals for
//! RED, rollback for everything that changes state, expiry, and the audit chain.
//!
//! State lives in sled `actions` (`a`+id → action, `k`+alert+kind+target → id so a restart
//! never proposes or runs an action twice, `o`+kind+target → offence count).

pub mod audit;
pub mod catalog;
pub mod executor;
pub mod policy;
pub mod target;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Result, bail};
use chrono::{DateTime, Duration, Utc};
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
    live: Option<Arc<dyn Executor>>,
}

#[derive(Debug, thiserror::Error)]
pub enum DecisionError {
    #[error("no action {0}")]
    NotFound(u64),
    #[error(
        "alert {alert} is closed ({why}); approving would still act: re-run with --confirm-closed"
    )]
    AlertClosed { alert: u64, why: String },
    #[error("action {id} is {state}: {why}")]
    WrongState {
        id: u64,
        state: &'static str,
        why: String,
    },
}

const ENGINE: &str = "autosec";

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
        Ok(Responder {
            store,
            config,
            audit,
            never,
            resolver,
            live,
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
    fn next_id(&self) -> Result<u64> {
        Ok(self.store.db.generate_id()? + 1)
    }

    fn save(&self, action: &Action) -> Result<()> {
        self.store.actions.insert(
            key(b'a', &[&action.action_id.to_be_bytes()]),
            serde_json::to_vec(action)?,
        )?;
        Ok(())
    }

    pub fn get(&self, id: u64) -> Result<Option<Action>> {
        stored_action(self.store, id)
    }

    pub fn actions(&self) -> Result<Vec<Action>> {
        stored_actions(self.store)
    }

    fn record(&self, event: &str, action: &Action, actor: &str, detail: String) -> Result<()> {
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
    fn resolve(&self, value: &str) -> Result<Option<String>> {
        match &self.resolver {
            Some(p) if crate::privacy::is_token(value) => p.resolve(value),
            _ => Ok(Some(value.to_string())),
        }
    }

    /// Propose the policy's actions for `alert` and run the ones allowed to run by themselves.
    pub fn respond(&self, alert: &Alert, ctx: &Context, summary: &mut Summary) -> Result<()> {
        if alert.status == AlertStatus::Closed {
            return Ok(());
        }
        let account = catalog::AccountKind::of(alert);
        for kind in policy::actions_for(alert, self.config) {
            if !catalog::fits_account(kind, account) {
                continue;
            }
            let Some(target) = catalog::target_for(
                kind,
                alert.alert_id,
                &alert.entity,
                &alert.affected_resources,
            ) else {
                continue;
            };
            let dedup = key(
                b'k',
                &[
                    &alert.alert_id.to_be_bytes(),
                    kind.as_str().as_bytes(),
                    target.value().as_bytes(),
                ],
            );
            if self.store.actions.contains_key(&dedup)? {
                continue;
            }
            let action = self.propose(alert, kind, target, ctx)?;
            self.store
                .actions
                .insert(dedup, &action.action_id.to_be_bytes())?;
            let auto = matches!(action.state, ActionState::Sandboxed | ActionState::Executed)
                && action.tier != Tier::Red
                && catalog::spec(kind).changes_state;
            if auto {
                summary.auto_state_changing += 1;
            }
            *summary
                .by_state
                .entry(action.state.as_str().to_string())
                .or_default() += 1;
        }
        Ok(())
    }

    fn offences(&self, kind: ActionKind, target: &Target) -> Result<u32> {
        Ok(self
            .store
            .actions
            .get(key(
                b'o',
                &[kind.as_str().as_bytes(), target.value().as_bytes()],
            ))?
            .and_then(|v| <[u8; 4]>::try_from(v.as_ref()).ok())
            .map_or(0, u32::from_be_bytes))
    }

    fn count_offence(&self, kind: ActionKind, target: &Target) -> Result<()> {
        let n = self.offences(kind, target)? + 1;
        self.store.actions.insert(
            key(b'o', &[kind.as_str().as_bytes(), target.value().as_bytes()]),
            &n.to_be_bytes(),
        )?;
        Ok(())
    }

    fn propose(
        &self,
        alert: &Alert,
        kind: ActionKind,
        target: Target,
        ctx: &Context,
    ) -> Result<Action> {
        let tier = catalog::tier(kind, self.config);
        let offence = self.offences(kind, &target)?;
        let duration_secs = match kind {
            ActionKind::RateLimitIp => {
                let steps = &self.config.escalation_secs;
                steps
                    .get((offence as usize).min(steps.len().saturating_sub(1)))
                    .copied()
            }
            ActionKind::IncreaseMonitoring => Some(self.config.monitoring_secs),
            _ => None,
        };
        let exec = self.config.executors.get(&kind);
        let pseudonym = target.value();
        let real = self.resolve(&pseudonym)?;
        let suppressed = self.never.check(&target, &pseudonym, real.as_deref());
        let fresh = ctx.assume_fresh
            || ctx.now - alert.last_seen <= Duration::minutes(self.config.freshness_minutes);
        let (state, reason) = if let Some(why) = suppressed {
            (ActionState::Suppressed, format!("not acted on: {why}"))
        } else if tier == Tier::Red {
            (
                ActionState::PendingApproval,
                "RED: waits for a person (autosec actions approve|reject)".to_string(),
            )
        } else if !ctx.live_source {
            (
                ActionState::Proposed,
                "historical input: proposals only (automatic actions need a live source)".into(),
            )
        } else if !fresh {
            (
                ActionState::Proposed,
                format!(
                    "the alert's last event is older than {} min",
                    self.config.freshness_minutes
                ),
            )
        } else if alert.confidence < self.config.min_confidence_auto {
            (
                ActionState::Proposed,
                format!(
                    "confidence {:.2} below respond.min_confidence_auto {:.2}",
                    alert.confidence, self.config.min_confidence_auto
                ),
            )
        } else {
            (ActionState::Proposed, "runs automatically".to_string())
        };
        let mut action = Action {
            action_id: self.next_id()?,
            alert_id: alert.alert_id,
            kind,
            tier,
            preview: catalog::preview(kind, &target, duration_secs, exec),
            rollback: catalog::rollback(kind, &target, exec),
            target,
            alert_summary: format!(
                "{} {} (confidence {:.2}) on {}: {}",
                alert.threat_type.as_str(),
                alert.severity.as_str(),
                alert.confidence,
                alert.entity,
                alert.description
            ),
            state,
            state_reason: reason,
            created_at: ctx.now,
            updated_at: ctx.now,
            duration_secs,
            expires_at: None,
            offence,
            approval_deadline: (state == ActionState::PendingApproval)
                .then(|| ctx.now + Duration::minutes(self.config.approval_expiry_minutes)),
            decision: None,
            execution: None,
            rollback_execution: None,
        };
        let auto = action.state_reason == "runs automatically";
        if !auto {
            self.save(&action)?;
        }
        self.record(
            action.state.as_str(),
            &action,
            ENGINE,
            format!(
                "{} {} {}: {} [{}]",
                action.tier.as_str(),
                kind.as_str(),
                action.target.value(),
                action.preview,
                action.state_reason
            ),
        )?;
        if auto {
            // `execute` saves the action once, with its result.
            self.execute(&mut action, ENGINE, ctx.now)?;
        }
        Ok(action)
    }

    /// Run an action: recorded only in the sandbox; for real in live mode.
    fn execute(&self, action: &mut Action, actor: &str, now: DateTime<Utc>) -> Result<()> {
        let spec = catalog::spec(action.kind);
        let (state, execution, argv_mac) = match &self.live {
            None => (
                ActionState::Sandboxed,
                Execution {
                    at: now,
                    mode: "sandbox".into(),
                    success: true,
                    status: None,
                    attempts: 0,
                    detail: format!(
                        "sandbox: recorded, nothing run; would run: {}",
                        action.preview
                    ),
                },
                None,
            ),
            Some(live) => self.execute_live(live.as_ref(), action, now)?,
        };
        action.state = state;
        action.state_reason = execution.detail.clone();
        action.updated_at = now;
        if state.in_effect() {
            action.expires_at = action
                .duration_secs
                .map(|d| now + Duration::seconds(d as i64));
            if spec.changes_state {
                self.count_offence(action.kind, &action.target)?;
            }
        }
        action.execution = Some(execution);
        self.save(action)?;
        self.audit.append(Entry {
            event: state.as_str(),
            action_id: Some(action.action_id),
            alert_id: Some(action.alert_id),
            actor,
            detail: action.state_reason.clone(),
            argv_mac,
        })?;
        Ok(())
    }

    fn execute_live(
        &self,
        live: &dyn Executor,
        action: &Action,
        now: DateTime<Utc>,
    ) -> Result<(ActionState, Execution, Option<String>)> {
        let done = |success: bool, status, attempts, detail: String| Execution {
            at: now,
            mode: "live".into(),
            success,
            status,
            attempts,
            detail,
        };
        let exec = self.config.executors.get(&action.kind);
        let request = match catalog::spec(action.kind).runs {
            Runs::Internal => {
                return Ok((
                    ActionState::Executed,
                    done(
                        true,
                        None,
                        1,
                        format!("recorded in AutoSec: {}", action.preview),
                    ),
                    None,
                ));
            }
            Runs::Webhook => match exec.filter(|e| !e.webhook.is_empty()) {
                None => {
                    return Ok((
                        ActionState::Executed,
                        done(
                            true,
                            None,
                            0,
                            "no webhook configured: audit log only".into(),
                        ),
                        None,
                    ));
                }
                Some(e) => Request::Webhook {
                    url: e.webhook.clone(),
                    body: serde_json::json!({
                        "text": slack_safe(&format!(
                            "AutoSec alert {}: {} [{} {} action {}]",
                            action.alert_id, action.alert_summary, action.tier.as_str(),
                            action.kind.as_str(), action.action_id
                        )),
                        "autosec": {"action_id": action.action_id, "alert_id": action.alert_id,
                                     "kind": action.kind.as_str(), "tier": action.tier.as_str(),
                                     "target": action.target.value()},
                    }),
                },
            },
            Runs::Command => {
                let Some(e) = exec.filter(|e| !e.command.is_empty()) else {
                    return Ok((
                        ActionState::Failed,
                        done(
                            false,
                            None,
                            0,
                            format!(
                                "no executor configured for {} (respond.executors)",
                                action.kind.as_str()
                            ),
                        ),
                        None,
                    ));
                };
                let real = match self.resolve(&action.target.value())? {
                    Some(r) => r,
                    None => {
                        return Ok((
                            ActionState::Failed,
                            done(
                                false,
                                None,
                                0,
                                "the target's real value is not in the vault".into(),
                            ),
                            None,
                        ));
                    }
                };
                // The list is checked again now: an approval can come hours after the proposal,
                // and this host's addresses, gateway and the list itself may have changed.
                let now_never = NeverAct::from_config(self.config).map_err(anyhow::Error::msg)?;
                let value = action.target.value();
                if let Some(why) = [&self.never, &now_never]
                    .iter()
                    .find_map(|n| n.check(&action.target, &value, Some(&real)))
                {
                    return Ok((
                        ActionState::Failed,
                        done(false, None, 0, format!("not executed: {why}")),
                        None,
                    ));
                }
                match target::validate(&action.target, &real) {
                    Ok(v) => {
                        Request::Command(catalog::render_argv(&e.command, &v, action.duration_secs))
                    }
                    Err(why) => {
                        return Ok((ActionState::Failed, done(false, None, 0, why), None));
                    }
                }
            }
        };
        let argv_mac = match &request {
            Request::Command(argv) => Some(self.audit.argv_mac(argv)),
            Request::Webhook { .. } => None,
        };
        let outcome = live.run(&request);
        // Never echo real values: report what ran as its pseudonymised preview.
        let detail = format!(
            "{}: {} ({} attempt(s)){}",
            if outcome.success { "done" } else { "failed" },
            action.preview,
            outcome.attempts,
            outcome
                .status
                .map_or(String::new(), |s| format!(", status {s}"))
        );
        let state = if outcome.success {
            ActionState::Executed
        } else {
            ActionState::Failed
        };
        Ok((
            state,
            done(outcome.success, outcome.status, outcome.attempts, detail),
            argv_mac,
        ))
    }

    fn load(&self, id: u64) -> Result<Action> {
        self.get(id)?
            .ok_or_else(|| DecisionError::NotFound(id).into())
    }

    /// An action still waiting for a decision (proposed or pending approval).
    fn load_undecided(&self, id: u64) -> Result<Action> {
        let action = self.load(id)?;
        if !matches!(
            action.state,
            ActionState::PendingApproval | ActionState::Proposed
        ) {
            bail!(DecisionError::WrongState {
                id,
                state: action.state.as_str(),
                why: action.state_reason,
            });
        }
        Ok(action)
    }

    /// A person approves: the action runs (sandboxed or live).
    pub fn approve(
        &self,
        id: u64,
        by: &str,
        reason: Option<String>,
        confirm_closed: bool,
        now: DateTime<Utc>,
    ) -> Result<Action> {
        self.tick(now)?;
        let mut action = self.load_undecided(id)?;
        if let Some(alert) = crate::store::stored_alert(self.store, action.alert_id)?
            && alert.status == AlertStatus::Closed
            && !confirm_closed
        {
            bail!(DecisionError::AlertClosed {
                alert: alert.alert_id,
                why: alert
                    .close_reason
                    .map_or("no reason".into(), |r| format!("{r:?}").to_lowercase()),
            });
        }
        action.decision = Some(Decision {
            approved: true,
            by: by.to_string(),
            at: now,
            reason: reason.clone(),
        });
        self.save(&action)?;
        self.record(
            "approved",
            &action,
            by,
            reason.unwrap_or_else(|| "approved".into()),
        )?;
        self.execute(&mut action, by, now)?;
        Ok(action)
    }

    pub fn reject(
        &self,
        id: u64,
        by: &str,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Action> {
        let mut action = self.load_undecided(id)?;
        action.decision = Some(Decision {
            approved: false,
            by: by.to_string(),
            at: now,
            reason: reason.clone(),
        });
        action.state = ActionState::Rejected;
        action.state_reason = format!("rejected by {by}");
        action.updated_at = now;
        self.save(&action)?;
        self.record(
            "rejected",
            &action,
            by,
            reason.unwrap_or_else(|| "rejected".into()),
        )?;
        Ok(action)
    }

    /// Undo an action that is in effect (its inverse runs, sandboxed or live).
    pub fn rollback(&self, id: u64, by: &str, now: DateTime<Utc>) -> Result<Action> {
        let mut action = self.load(id)?;
        let crate::domain::Rollback::Inverse { preview, .. } = action.rollback.clone() else {
            bail!(DecisionError::WrongState {
                id,
                state: action.state.as_str(),
                why: "this kind changes nothing, there is nothing to roll back".into(),
            });
        };
        if !action.state.in_effect() {
            bail!(DecisionError::WrongState {
                id,
                state: action.state.as_str(),
                why: "only an action in effect (executed or sandboxed) can be rolled back".into(),
            });
        }
        let execution = match (&self.live, catalog::spec(action.kind).runs) {
            (Some(live), Runs::Command) if action.state == ActionState::Executed => {
                let template = self
                    .config
                    .executors
                    .get(&action.kind)
                    .map(|e| e.rollback.clone())
                    .unwrap_or_default();
                let real = self.resolve(&action.target.value())?.unwrap_or_default();
                let outcome = match target::validate(&action.target, &real) {
                    Ok(v) if !template.is_empty() => {
                        live.run(&Request::Command(catalog::render_argv(&template, &v, None)))
                    }
                    Ok(_) => executor::Outcome {
                        success: false,
                        status: None,
                        attempts: 0,
                        detail: "no rollback command configured".into(),
                    },
                    Err(why) => executor::Outcome {
                        success: false,
                        status: None,
                        attempts: 0,
                        detail: why,
                    },
                };
                Execution {
                    at: now,
                    mode: "live".into(),
                    success: outcome.success,
                    status: outcome.status,
                    attempts: outcome.attempts,
                    detail: format!(
                        "{preview}: {}",
                        if outcome.success { "done" } else { "failed" }
                    ),
                }
            }
            _ => Execution {
                at: now,
                mode: self.mode().into(),
                success: true,
                status: None,
                attempts: 0,
                detail: format!(
                    "{}: {preview}",
                    if action.state == ActionState::Sandboxed {
                        "sandbox: would run"
                    } else {
                        "done"
                    }
                ),
            },
        };
        let ok = execution.success;
        action.rollback_execution = Some(execution.clone());
        action.updated_at = now;
        if ok {
            action.state = ActionState::RolledBack;
            action.state_reason = format!("rolled back by {by}");
        }
        self.save(&action)?;
        self.record(
            if ok { "rolled_back" } else { "rollback_failed" },
            &action,
            by,
            execution.detail,
        )?;
        if !ok {
            bail!("rollback of action {id} failed; it is still in effect");
        }
        Ok(action)
    }

    /// Expire undecided approvals and end temporary actions whose time is up.
    pub fn tick(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut changed = 0;
        for mut action in self.actions()? {
            let (state, why) = match (action.state, action.approval_deadline, action.expires_at) {
                (ActionState::PendingApproval, Some(deadline), _) if deadline <= now => (
                    ActionState::Expired,
                    format!("no decision by {}", deadline.format("%Y-%m-%d %H:%M UTC")),
                ),
                (s, _, Some(end)) if s.in_effect() && end <= now => (
                    ActionState::Elapsed,
                    format!("ended by itself at {}", end.format("%Y-%m-%d %H:%M UTC")),
                ),
                _ => continue,
            };
            action.state = state;
            action.state_reason = why.clone();
            action.updated_at = now;
            self.save(&action)?;
            self.record(state.as_str(), &action, ENGINE, why)?;
            changed += 1;
        }
        Ok(changed)
    }
}

/// Slack-compatible text: escape `&`, `<`, `>` (which also neutralises `<!channel>`-style
/// mentions) after the output sanitiser.
fn slack_safe(text: &str) -> String {
    crate::sanitize::visible(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
