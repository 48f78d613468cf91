//! Running an action: recorded in the sandbox; in live mode prepared here (target resolved and
//! checked, argv rendered) and handed to the [`LiveWorker`](super::worker::LiveWorker), whose
//! outcome comes back through [`Responder::apply`].

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};

use super::executor::Outcome;
use super::worker::{Finished, Job, Phase};
use super::*;

/// What running an action comes to: settled at once, or a request for the live worker.
pub(super) enum Prepared {
    Settled(ActionState, Execution),
    Dispatch(Request, Option<String>),
}

impl Responder<'_> {
    /// Run an action: recorded only in the sandbox; handed to the live worker in live mode
    /// (the action is `running` until its outcome is applied).
    pub(super) fn execute(
        &self,
        action: &mut Action,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let prepared = match &self.live {
            None => Prepared::Settled(
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
            ),
            Some(_) => self.prepare_live(action, now)?,
        };
        match prepared {
            Prepared::Settled(state, execution) => {
                self.conclude(action, state, execution, None, actor, now)
            }
            Prepared::Dispatch(request, argv_mac) => {
                self.hand_over(action, Phase::Run, request, argv_mac, actor, now)
            }
        }
    }

    /// Record the action as `running` and give its request to the live worker.
    pub(super) fn hand_over(
        &self,
        action: &mut Action,
        phase: Phase,
        request: Request,
        argv_mac: Option<String>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let Some(worker) = &self.live else {
            anyhow::bail!("no live worker in sandbox mode");
        };
        action.state = ActionState::Running;
        action.state_reason = match phase {
            Phase::Run => format!("running: {}", action.preview),
            Phase::Rollback => "rolling back".into(),
        };
        action.updated_at = now;
        self.save(action)?;
        self.record("running", action, actor, action.state_reason.clone())?;
        worker.dispatch(Job {
            action_id: action.action_id,
            phase,
            request,
            actor: actor.to_string(),
            dispatched: now,
            argv_mac,
        });
        Ok(())
    }

    /// Write an action's result: state, execution, expiry, offence count, audit record.
    fn conclude(
        &self,
        action: &mut Action,
        state: ActionState,
        execution: Execution,
        argv_mac: Option<String>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        action.state = state;
        action.state_reason = execution.detail.clone();
        action.updated_at = now;
        if state.in_effect() {
            action.expires_at = action
                .duration_secs
                .map(|d| now + Duration::seconds(d as i64));
            if catalog::spec(action.kind).changes_state {
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

    /// Apply an outcome from the live worker; the action as it now stands.
    pub fn apply(&self, finished: Finished) -> Result<Action> {
        let Finished { job, outcome } = match &self.live {
            Some(worker) => worker.take(finished),
            None => finished,
        };
        let mut action = self.load(job.action_id)?;
        if action.state != ActionState::Running {
            // Someone else settled it (a restart marked it interrupted): keep theirs.
            return Ok(action);
        }
        match job.phase {
            Phase::Run => {
                let state = if outcome.success {
                    ActionState::Executed
                } else {
                    ActionState::Failed
                };
                let execution = live_execution(&action.preview, &outcome, job.dispatched);
                self.conclude(
                    &mut action,
                    state,
                    execution,
                    job.argv_mac,
                    &job.actor,
                    job.dispatched,
                )?;
            }
            Phase::Rollback => {
                self.conclude_rollback(&mut action, &outcome, &job.actor, job.dispatched)?
            }
        }
        Ok(action)
    }

    /// Wait for every request handed to the live worker and apply it (for callers with nothing
    /// else to do meanwhile: CLI commands and tests). The actions it settled.
    pub fn settle(&self) -> Result<Vec<Action>> {
        let mut settled = Vec::new();
        if let Some(worker) = &self.live {
            while worker.in_flight() > 0 {
                let finished = worker.finished().recv()?;
                settled.push(self.apply(finished)?);
            }
        }
        Ok(settled)
    }

    /// Like [`Responder::settle`], for at most `limit`; what is still running stays `running`.
    pub fn settle_within(&self, limit: std::time::Duration) -> Result<Vec<Action>> {
        let deadline = std::time::Instant::now() + limit;
        let mut settled = Vec::new();
        if let Some(worker) = &self.live {
            while worker.in_flight() > 0 {
                match worker.finished().recv_deadline(deadline) {
                    Ok(finished) => settled.push(self.apply(finished)?),
                    Err(_) => break,
                }
            }
        }
        Ok(settled)
    }

    /// The live worker's outcome channel, for an owner that also waits on other things.
    pub fn finished(&self) -> Option<&crossbeam_channel::Receiver<Finished>> {
        self.live.as_ref().map(|w| w.finished())
    }

    /// Actions left `running` by a process that stopped before their outcome came back (found
    /// when this responder opened the store; once): the result is unknown, so they are failed
    /// with that said, for a person to check the target.
    pub fn settle_interrupted(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut n = 0;
        let left = std::mem::take(&mut *self.interrupted.lock().unwrap_or_else(|p| p.into_inner()));
        for id in left {
            let Some(mut action) = self.get(id)? else {
                continue;
            };
            if action.state != ActionState::Running {
                continue;
            }
            let why =
                "outcome unknown: AutoSec stopped while this ran; check the target".to_string();
            action.state = if action.state_reason == "rolling back" {
                ActionState::Executed
            } else {
                ActionState::Failed
            };
            action.state_reason = why.clone();
            action.updated_at = now;
            self.save(&action)?;
            self.record("interrupted", &action, ENGINE, why)?;
            n += 1;
        }
        Ok(n)
    }

    /// Resolve and check the target and render the request; a refusal settles at once.
    fn prepare_live(&self, action: &Action, now: DateTime<Utc>) -> Result<Prepared> {
        let refused = |success: bool, attempts, detail: String| {
            let state = if success {
                ActionState::Executed
            } else {
                ActionState::Failed
            };
            let execution = Execution {
                at: now,
                mode: "live".into(),
                success,
                status: None,
                attempts,
                detail,
            };
            Ok(Prepared::Settled(state, execution))
        };
        let exec = self.config.executors.get(&action.kind);
        let request = match catalog::spec(action.kind).runs {
            Runs::Internal => {
                return refused(true, 1, format!("recorded in AutoSec: {}", action.preview));
            }
            Runs::Webhook => match exec.filter(|e| !e.webhook.is_empty()) {
                None => return refused(true, 0, "no webhook configured: audit log only".into()),
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
                    let why = format!(
                        "no executor configured for {} (respond.executors)",
                        action.kind.as_str()
                    );
                    return refused(false, 0, why);
                };
                let Some(real) = self.resolve(&action.target.value())? else {
                    return refused(
                        false,
                        0,
                        "the target's real value is not in the vault".into(),
                    );
                };
                // The list is checked again now: an approval can come hours after the proposal,
                // and this host's addresses, gateway and the list itself may have changed.
                let now_never = NeverAct::from_config(self.config).map_err(anyhow::Error::msg)?;
                let value = action.target.value();
                if let Some(why) = [&self.never, &now_never]
                    .iter()
                    .find_map(|n| n.check(&action.target, &value, Some(&real)))
                {
                    return refused(false, 0, format!("not executed: {why}"));
                }
                match target::validate(&action.target, &real) {
                    Ok(v) => {
                        Request::Command(catalog::render_argv(&e.command, &v, action.duration_secs))
                    }
                    Err(why) => return refused(false, 0, why),
                }
            }
        };
        let argv_mac = match &request {
            Request::Command(argv) => Some(self.audit.argv_mac(argv)),
            Request::Webhook { .. } => None,
        };
        Ok(Prepared::Dispatch(request, argv_mac))
    }
}

/// What a live run did, as recorded: never the real values, only the pseudonymised preview.
fn live_execution(preview: &str, outcome: &Outcome, at: DateTime<Utc>) -> Execution {
    let detail = format!(
        "{}: {preview} ({} attempt(s)){}",
        if outcome.success { "done" } else { "failed" },
        outcome.attempts,
        outcome
            .status
            .map_or(String::new(), |s| format!(", status {s}"))
    );
    Execution {
        at,
        mode: "live".into(),
        success: outcome.success,
        status: outcome.status,
        attempts: outcome.attempts,
        detail,
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
