//! `[respond]`: the response policy (README, "Response"): which actions each threat gets, when
//! they may run by themselves, allow-lists, escalation, and the live executors.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::{ActionKind, Severity, ThreatType, Tier};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RespondConfig {
    pub enabled: bool,
    /// `sandbox` records what would run; `live` runs it, and also needs the `--live` flag.
    pub mode: ExecutionMode,
    /// Only alerts whose last event is at most this old, from live sources, run automatically.
    pub freshness_minutes: i64,
    /// GREEN/YELLOW actions run automatically only at or above this alert confidence.
    pub min_confidence_auto: f32,
    /// RED actions not decided within this time expire.
    pub approval_expiry_minutes: i64,
    /// Durations of temporary actions for a target's 1st, 2nd, 3rd+ offence.
    pub escalation_secs: Vec<u64>,
    /// How long `increase_monitoring` keeps an entity under closer watch.
    pub monitoring_secs: u64,
    /// IPs / CIDR ranges never acted on (raw values; pseudonyms also accepted).
    pub allow_ips: Vec<String>,
    /// Accounts never acted on (e.g. break-glass admins; raw names or pseudonyms).
    pub allow_accounts: Vec<String>,
    /// Add loopback, this host's addresses, the SSH peer and the default gateway.
    pub builtin_never_act: bool,
    /// Tier overrides per action kind (defaults: the seed's traffic lights).
    pub tiers: BTreeMap<ActionKind, Tier>,
    pub rules: Vec<Rule>,
    /// Live execution: attempts per action and the timeout of one command.
    pub retries: u32,
    pub command_timeout_secs: u64,
    pub executors: BTreeMap<ActionKind, ExecutorConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionMode {
    Sandbox,
    Live,
}

/// Actions for alerts of `threat` at or above `min_severity` and `min_confidence`. All rules
/// that match apply (their actions are merged).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub threat: ThreatType,
    #[serde(default = "lowest")]
    pub min_severity: Severity,
    #[serde(default)]
    pub min_confidence: f32,
    pub actions: Vec<ActionKind>,
}

fn lowest() -> Severity {
    Severity::Low
}

/// How a kind runs in live mode: a command (argv; `{target}` and `{duration}` fill whole
/// arguments, never a shell string) with its inverse, or a webhook (HTTP POST of JSON).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutorConfig {
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(default)]
    pub rollback: Vec<String>,
    #[serde(default)]
    pub webhook: String,
}
