//! Time passing: approvals that expire, temporary actions that end by themselves.

use anyhow::Result;
use chrono::{DateTime, Utc};

use super::*;

/// What time alone does to an action, and when.
pub(super) struct TimeChange {
    pub at: DateTime<Utc>,
    pub state: ActionState,
    pub why: String,
}

/// The one rule for time passing (the responder's index of timed actions and `tick` both use
/// it): an undecided approval expires at its deadline, a temporary action in effect elapses
/// at its end.
pub(super) fn time_change(a: &Action) -> Option<TimeChange> {
    let when = |at: DateTime<Utc>| at.format("%Y-%m-%d %H:%M UTC");
    match (a.state, a.approval_deadline, a.expires_at) {
        (ActionState::PendingApproval, Some(deadline), _) => Some(TimeChange {
            at: deadline,
            state: ActionState::Expired,
            why: format!("no decision by {}", when(deadline)),
        }),
        (s, _, Some(end)) if s.in_effect() => Some(TimeChange {
            at: end,
            state: ActionState::Elapsed,
            why: format!("ended by itself at {}", when(end)),
        }),
        _ => None,
    }
}

impl Responder<'_> {
    /// Expire undecided approvals and end temporary actions whose time is up (only actions
    /// with such a time are looked at, not every stored one).
    pub fn tick(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut changed = 0;
        for id in self.due_by(now) {
            let Some(mut action) = self.get(id)? else {
                continue;
            };
            let Some(change) = time_change(&action).filter(|c| c.at <= now) else {
                continue;
            };
            action.state = change.state;
            action.state_reason = change.why.clone();
            action.updated_at = now;
            self.save(&action)?;
            self.record(change.state.as_str(), &action, ENGINE, change.why)?;
            changed += 1;
        }
        Ok(changed)
    }
}
