//! Response actions: what was proposed for an alert, its traffic-light tier, its state, and
//! everything needed to preview, approve, execute and roll it back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// GREEN runs automatically, YELLOW runs and notifies, RED waits for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Green,
    Yellow,
    Red,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Green => "GREEN",
            Tier::Yellow => "YELLOW",
            Tier::Red => "RED",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    LogEvent,
    Notify,
    CreateTicket,
    IncreaseMonitoring,
    RateLimitIp,
    FlagAccount,
    RequireStepUp,
    LockAccount,
    RevokeAccessKeys,
    BlockIp,
    IsolateResource,
}

impl ActionKind {
    pub const ALL: [ActionKind; 11] = [
        ActionKind::LogEvent,
        ActionKind::Notify,
        ActionKind::CreateTicket,
        ActionKind::IncreaseMonitoring,
        ActionKind::RateLimitIp,
        ActionKind::FlagAccount,
        ActionKind::RequireStepUp,
        ActionKind::LockAccount,
        ActionKind::RevokeAccessKeys,
        ActionKind::BlockIp,
        ActionKind::IsolateResource,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::LogEvent => "log_event",
            ActionKind::Notify => "notify",
            ActionKind::CreateTicket => "create_ticket",
            ActionKind::IncreaseMonitoring => "increase_monitoring",
            ActionKind::RateLimitIp => "rate_limit_ip",
            ActionKind::FlagAccount => "flag_account",
            ActionKind::RequireStepUp => "require_step_up",
            ActionKind::LockAccount => "lock_account",
            ActionKind::RevokeAccessKeys => "revoke_access_keys",
            ActionKind::BlockIp => "block_ip",
            ActionKind::IsolateResource => "isolate_resource",
        }
    }
}

/// What an action acts on. Values are pseudonyms when privacy is on; executors resolve them
/// through the vault only when they run.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Target {
    Ip(String),
    Account(String),
    AccessKey(String),
    Resource(String),
    /// Notifications and tickets: about the alert, not an entity.
    Alert(u64),
}

impl Target {
    pub fn value(&self) -> String {
        match self {
            Target::Ip(v) | Target::Account(v) | Target::AccessKey(v) | Target::Resource(v) => {
                v.clone()
            }
            Target::Alert(id) => format!("alert {id}"),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Target::Ip(_) => "ip",
            Target::Account(_) => "account",
            Target::AccessKey(_) => "access_key",
            Target::Resource(_) => "resource",
            Target::Alert(_) => "alert",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionState {
    /// Recorded, not run: historical input, low confidence, or auto-execution off.
    Proposed,
    /// RED: waiting for a person.
    PendingApproval,
    /// Ran in sandbox mode: recorded exactly what would run, touched nothing.
    Sandboxed,
    /// Handed to the live worker; its outcome has not come back yet.
    Running,
    /// Ran for real.
    Executed,
    Failed,
    Rejected,
    /// The approval window passed without a decision.
    Expired,
    /// A temporary action reached its end by itself.
    Elapsed,
    RolledBack,
    /// Not run: the target is allow-listed or on the never-act list.
    Suppressed,
}

impl ActionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionState::Proposed => "proposed",
            ActionState::PendingApproval => "pending_approval",
            ActionState::Sandboxed => "sandboxed",
            ActionState::Running => "running",
            ActionState::Executed => "executed",
            ActionState::Failed => "failed",
            ActionState::Rejected => "rejected",
            ActionState::Expired => "expired",
            ActionState::Elapsed => "elapsed",
            ActionState::RolledBack => "rolled_back",
            ActionState::Suppressed => "suppressed",
        }
    }

    /// Ran (for real or in the sandbox) and still in effect, so it can be rolled back.
    pub fn in_effect(self) -> bool {
        matches!(self, ActionState::Executed | ActionState::Sandboxed)
    }
}

/// How an action is undone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Rollback {
    /// Nothing to undo (a notification); says why.
    None { reason: String },
    /// The inverse action and exactly what it would run.
    Inverse { kind: String, preview: String },
}

/// A person's decision on a RED action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub approved: bool,
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What running the action (or its rollback) did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    pub at: DateTime<Utc>,
    /// `sandbox` or `live`.
    pub mode: String,
    pub success: bool,
    /// Exit status or HTTP status; none in the sandbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<i32>,
    pub attempts: u32,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub action_id: u64,
    pub alert_id: u64,
    pub kind: ActionKind,
    pub tier: Tier,
    pub target: Target,
    /// The alert in one line (threat, severity, entity pseudonym, description), for
    /// notifications and listings.
    #[serde(default)]
    pub alert_summary: String,
    pub state: ActionState,
    /// Why this state (e.g. "historical input: proposals only").
    pub state_reason: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Exactly what would run, with pseudonyms (command argv or HTTP request).
    pub preview: String,
    pub rollback: Rollback,
    /// Temporary actions: how long, and when they end by themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// Earlier actions of this kind against this target (escalation step).
    pub offence: u32,
    /// RED: when the request for approval lapses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_deadline: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<Execution>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_execution: Option<Execution>,
}
