//! Proposing actions for an alert: policy, offence counting, and running what may run by itself.

use anyhow::Result;
use chrono::Duration;

use super::*;

impl Responder<'_> {
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
            let auto = matches!(
                action.state,
                ActionState::Sandboxed | ActionState::Executed | ActionState::Running
            ) && action.tier != Tier::Red
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

    pub(super) fn offences(&self, kind: ActionKind, target: &Target) -> Result<u32> {
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

    pub(super) fn count_offence(&self, kind: ActionKind, target: &Target) -> Result<()> {
        let n = self.offences(kind, target)? + 1;
        self.store.actions.insert(
            key(b'o', &[kind.as_str().as_bytes(), target.value().as_bytes()]),
            &n.to_be_bytes(),
        )?;
        Ok(())
    }

    pub(super) fn propose(
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
}
