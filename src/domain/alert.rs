//! `Alert`: the seed's Threat Alert fields plus entity, time span, evidence and status.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::EventRef;

/// The shared threat type names (DESIGN.md): generator, detectors, policy and eval use these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreatType {
    BruteForce,
    PasswordSpraying,
    CredentialStuffing,
    PrivilegeEscalation,
    /// New users, keys or roles that outlive the session.
    Persistence,
    DefenseEvasion,
    Exfiltration,
    Discovery,
    /// Root or no-MFA console login, a new location after failures.
    SuspiciousLogin,
    /// Flows: scans and floods.
    NetworkAnomaly,
    /// The forest alone: unusual behaviour no named detector explains.
    Anomaly,
    /// Secrets, keys or password stores read (Sigma rules tagged credential-access).
    CredentialAccess,
    /// Commands run on hosts or through cloud services (SSM, Lambda, sudo shells).
    Execution,
    /// Destruction, denial or hijacking of resources.
    Impact,
}

impl ThreatType {
    pub const ALL: [ThreatType; 14] = [
        ThreatType::BruteForce,
        ThreatType::PasswordSpraying,
        ThreatType::CredentialStuffing,
        ThreatType::PrivilegeEscalation,
        ThreatType::Persistence,
        ThreatType::DefenseEvasion,
        ThreatType::Exfiltration,
        ThreatType::Discovery,
        ThreatType::SuspiciousLogin,
        ThreatType::NetworkAnomaly,
        ThreatType::Anomaly,
        ThreatType::CredentialAccess,
        ThreatType::Execution,
        ThreatType::Impact,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ThreatType::BruteForce => "brute_force",
            ThreatType::PasswordSpraying => "password_spraying",
            ThreatType::CredentialStuffing => "credential_stuffing",
            ThreatType::PrivilegeEscalation => "privilege_escalation",
            ThreatType::Persistence => "persistence",
            ThreatType::DefenseEvasion => "defense_evasion",
            ThreatType::Exfiltration => "exfiltration",
            ThreatType::Discovery => "discovery",
            ThreatType::SuspiciousLogin => "suspicious_login",
            ThreatType::NetworkAnomaly => "network_anomaly",
            ThreatType::Anomaly => "anomaly",
            ThreatType::CredentialAccess => "credential_access",
            ThreatType::Execution => "execution",
            ThreatType::Impact => "impact",
        }
    }

    pub fn parse(s: &str) -> Option<ThreatType> {
        ThreatType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl std::fmt::Display for ThreatType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    #[default]
    Open,
    Acknowledged,
    Closed,
}

impl AlertStatus {
    /// The serde name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Closed => "closed",
        }
    }
}

/// Why an alert was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    TruePositive,
    FalsePositive,
    Benign,
    Duplicate,
}

/// A threat alert. Entity and evidence hold pseudonyms when privacy is on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub alert_id: u64,
    pub severity: Severity,
    /// 0.0–1.0, from the documented formula (README, "Detection").
    pub confidence: f32,
    pub threat_type: ThreatType,
    pub description: String,
    /// When the alert was raised (time of the event that raised it).
    pub timestamp: DateTime<Utc>,
    pub affected_resources: Vec<String>,
    pub matched_techniques: Vec<String>,
    pub recommended_actions: Vec<String>,
    /// Highest Isolation Forest score among the evidence (0 = normal … 1 = highly suspicious).
    pub anomaly_score: f32,
    pub entity: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub event_count: u64,
    pub evidence: Vec<EventRef>,
    /// Evidence refs beyond the stored cap (counted, not listed).
    #[serde(default)]
    pub evidence_dropped: u64,
    /// Named detectors that contributed (`ssh_brute_force` …).
    pub detectors: Vec<String>,
    pub status: AlertStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_reason: Option<CloseReason>,
    /// Threat intel retrieved for this alert (techniques, past incidents, CVEs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intel: Option<AlertIntel>,
    /// Sigma rules that fired into this alert.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleRef>,
}

/// A Sigma rule as an alert cites it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleRef {
    pub id: String,
    pub title: String,
    /// Sigma level (`low` … `critical`).
    pub level: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub falsepositives: Vec<String>,
}

/// Retrieval results attached to an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertIntel {
    /// `hybrid`, `vector` or `lexical` (the fallback without a model).
    pub ranking: String,
    /// The query, built from the alert's fields without addresses or accounts.
    pub query: String,
    pub matches: Vec<IntelMatch>,
    pub retrieved_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntelMatch {
    pub id: String,
    /// `technique`, `incident` or `cve`.
    pub kind: String,
    pub title: String,
    pub source: String,
    pub score: f32,
}
