//! Which actions an alert gets: every `[[respond.rules]]` entry whose threat matches and whose
//! severity and confidence floors the alert meets. Structured fields only: an LLM's text never
//! reaches this function.

use crate::config::RespondConfig;
use crate::domain::{ActionKind, Alert};

/// The action kinds for `alert`, without duplicates, in catalog order (GREEN before RED).
pub fn actions_for(alert: &Alert, config: &RespondConfig) -> Vec<ActionKind> {
    let mut kinds: Vec<ActionKind> = config
        .rules
        .iter()
        .filter(|r| {
            r.threat == alert.threat_type
                && alert.severity >= r.min_severity
                && alert.confidence >= r.min_confidence
        })
        .flat_map(|r| r.actions.iter().copied())
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Severity, ThreatType};

    fn alert(threat: ThreatType, severity: Severity, confidence: f32) -> Alert {
        let now = chrono::Utc::now();
        Alert {
            alert_id: 1,
            severity,
            confidence,
            threat_type: threat,
            description: String::new(),
            timestamp: now,
            affected_resources: vec![],
            matched_techniques: vec![],
            recommended_actions: vec![],
            anomaly_score: 0.0,
            entity: "IP_ADDRESS_1".into(),
            first_seen: now,
            last_seen: now,
            event_count: 1,
            evidence: vec![],
            evidence_dropped: 0,
            detectors: vec![],
            status: Default::default(),
            close_reason: None,
            intel: None,
            rules: Vec::new(),
        }
    }

    #[test]
    fn severity_and_confidence_floors_gate_stronger_actions() {
        let config = crate::config::Config::defaults().expect("defaults").respond;
        let weak = actions_for(&alert(ThreatType::BruteForce, Severity::Low, 0.3), &config);
        assert_eq!(
            weak,
            [
                ActionKind::LogEvent,
                ActionKind::Notify,
                ActionKind::IncreaseMonitoring
            ]
        );
        let strong = actions_for(&alert(ThreatType::BruteForce, Severity::High, 0.9), &config);
        assert!(strong.contains(&ActionKind::RateLimitIp));
        assert!(strong.contains(&ActionKind::BlockIp));
        let medium = actions_for(
            &alert(ThreatType::BruteForce, Severity::Medium, 0.9),
            &config,
        );
        assert!(medium.contains(&ActionKind::RateLimitIp));
        assert!(!medium.contains(&ActionKind::BlockIp));
    }
}
