//! Running an action: recorded in the sandbox, for real (with retries and webhooks) in live mode.

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};

use super::*;

impl Responder<'_> {
    /// Run an action: recorded only in the sandbox; for real in live mode.
    pub(super) fn execute(
        &self,
        action: &mut Action,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
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

    pub(super) fn execute_live(
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
}

/// Slack-compatible text: escape `&`, `<`, `>` (which also neutralises `<!channel>`-style
/// mentions) after the output sanitiser.
fn slack_safe(text: &str) -> String {
    crate::sanitize::visible(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
