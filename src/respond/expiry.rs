//! Time passing: approvals that expire, temporary actions that end by themselves.

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::*;

impl Responder<'_> {
    /// Expire undecided approvals and end temporary actions whose time is up (only actions
    /// with such a time are looked at, not every stored one).
    pub fn tick(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut changed = 0;
        for id in self.due_by(now) {
            let Some(mut action) = self.get(id)? else {
                continue;
            };
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
