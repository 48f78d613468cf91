//! A person's decisions: approve, reject, roll back.

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};

use super::worker::Phase;
use super::*;

impl Responder<'_> {
    pub(super) fn load(&self, id: u64) -> Result<Action> {
        self.get(id)?
            .ok_or_else(|| DecisionError::NotFound(id).into())
    }

    /// An action still waiting for a decision (proposed or pending approval).
    pub(super) fn load_undecided(&self, id: u64) -> Result<Action> {
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
        if self.live.is_some()
            && catalog::spec(action.kind).runs == Runs::Command
            && action.state == ActionState::Executed
        {
            let template = self
                .config
                .executors
                .get(&action.kind)
                .map(|e| e.rollback.clone())
                .unwrap_or_default();
            let real = self.resolve(&action.target.value())?.unwrap_or_default();
            let refused = |detail: String| executor::Outcome {
                success: false,
                status: None,
                attempts: 0,
                detail,
            };
            match target::validate(&action.target, &real) {
                Ok(v) if !template.is_empty() => {
                    let request = Request::Command(catalog::render_argv(&template, &v, None));
                    self.hand_over(&mut action, Phase::Rollback, request, None, by, now)?;
                    return Ok(action);
                }
                Ok(_) => {
                    let outcome = refused("no rollback command configured".into());
                    self.conclude_rollback(&mut action, &outcome, by, now)?;
                }
                Err(why) => self.conclude_rollback(&mut action, &refused(why), by, now)?,
            }
        } else {
            let execution = Execution {
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
            };
            self.record_rollback(&mut action, execution, by, now)?;
        }
        if action.state != ActionState::RolledBack {
            bail!(DecisionError::RollbackFailed(id));
        }
        Ok(action)
    }

    /// Apply a live rollback's outcome: rolled back, or back in effect with the failure said.
    pub(super) fn conclude_rollback(
        &self,
        action: &mut Action,
        outcome: &executor::Outcome,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let preview = match &action.rollback {
            crate::domain::Rollback::Inverse { preview, .. } => preview.clone(),
            crate::domain::Rollback::None { .. } => String::new(),
        };
        // A failed rollback leaves the action as it was: executed, still in effect.
        action.state = ActionState::Executed;
        let execution = Execution {
            at: now,
            mode: "live".into(),
            success: outcome.success,
            status: outcome.status,
            attempts: outcome.attempts,
            detail: format!(
                "{preview}: {}",
                if outcome.success { "done" } else { "failed" }
            ),
        };
        self.record_rollback(action, execution, by, now)
    }

    fn record_rollback(
        &self,
        action: &mut Action,
        execution: Execution,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let ok = execution.success;
        action.rollback_execution = Some(execution.clone());
        action.updated_at = now;
        if ok {
            action.state = ActionState::RolledBack;
            action.state_reason = format!("rolled back by {by}");
        } else if action.state_reason == "rolling back" {
            action.state_reason = format!("rollback failed: {}", execution.detail);
        }
        self.save(action)?;
        self.record(
            if ok { "rolled_back" } else { "rollback_failed" },
            action,
            by,
            execution.detail,
        )
    }
}
