//! `[detect]` settings: windows and thresholds of every detector, the forest, alert grouping.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectConfig {
    pub enabled: bool,
    pub group_gap_minutes: i64,
    pub max_evidence: usize,
    /// Run the embedded Sigma rule pack (`datasets/rules/`).
    pub rules: bool,
    /// More Sigma rule folders (read recursively, `*.yml`) or files.
    pub rule_dirs: Vec<String>,
    pub forest: ForestConfig,
    pub brute_force: BruteForce,
    pub password_spraying: Spraying,
    pub credential_stuffing: Stuffing,
    pub login: Login,
    pub sudo: Sudo,
    pub discovery: Discovery,
    pub exfiltration: Exfiltration,
    pub network: Network,
    pub admin: Admin,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Admin {
    pub min_iam_writes: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForestConfig {
    pub trees: usize,
    pub sample_size: usize,
    pub seed: u64,
    pub reservoir: usize,
    pub train_min: usize,
    pub retrain_every: u64,
    pub anomaly_threshold: f32,
    pub contamination: f32,
    pub anomaly_min_events: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BruteForce {
    pub window_minutes: i64,
    pub min_failures: u64,
    /// sshd failure lines (fail2ban's maxretry) that raise a low alert.
    pub min_signals: u64,
    pub max_accounts: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spraying {
    pub window_minutes: i64,
    pub min_accounts: usize,
    pub max_attempts_per_account: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stuffing {
    pub window_minutes: i64,
    pub min_accounts: usize,
    pub min_failure_ratio: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub success_after_failures: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sudo {
    pub window_minutes: i64,
    pub min_failures: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discovery {
    pub window_minutes: i64,
    pub min_distinct_actions: usize,
    pub min_denied: u64,
    pub min_denied_known_context: u64,
    pub min_refused_actions: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exfiltration {
    pub window_minutes: i64,
    pub min_objects: u64,
    pub baseline_factor: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Network {
    pub scan_window_seconds: i64,
    pub scan_min_ports: usize,
    pub flood_window_seconds: i64,
    pub flood_min_flows: u64,
    pub flood_baseline_factor: f32,
    pub flood_min_sources: usize,
}
