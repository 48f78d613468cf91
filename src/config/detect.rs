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

impl DetectConfig {
    /// The longest behaviour window, in minutes (an hour at least: the flow detectors' slow
    /// scan and beaconing windows).
    pub fn longest_window_minutes(&self) -> i64 {
        [
            self.brute_force.window_minutes,
            self.password_spraying.window_minutes,
            self.credential_stuffing.window_minutes,
            self.sudo.window_minutes,
            self.discovery.window_minutes,
            self.exfiltration.window_minutes,
            60,
        ]
        .into_iter()
        .max()
        .unwrap_or(60)
    }
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
    /// Distinct services probed by one source in 10 minutes (a scan), or in an hour (slow).
    pub scan_min_targets: usize,
    pub slow_scan_min_targets: usize,
    /// Flows per minute from one source to one service, and times the pair's busiest
    /// ordinary minute.
    pub flood_min_flows: usize,
    pub flood_baseline_factor: f32,
    /// ... or from at least this many sources at once (twice the flows, distributed).
    pub flood_min_sources: usize,
    /// A flow held this long with few, small packets is "thin"; this many to one service in
    /// 10 minutes is a slow DoS.
    pub slow_min_seconds: f32,
    pub slow_min_flows: usize,
    /// Short same-sized flows to an authentication port in 10 minutes.
    pub brute_force_min_flows: usize,
    /// Same-sized flows to one service in an hour, spread over 20 minutes or more.
    pub beacon_min_flows: usize,
}
