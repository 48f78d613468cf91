//! The template explainer: deterministic, grounded text from the alert's structured fields, its
//! evidence, its retrieved intel and the response engine's actions. Always available; the
//! default without a model, and what is shown at once while a model writes.

use std::collections::HashMap;

use super::{ActionNote, Explanation, RelatedDoc, TechniqueNote};
use crate::domain::{Action, Alert, ThreatType};
use crate::explain::evidence::Excerpt;

fn threat_sentence(t: ThreatType) -> &'static str {
    match t {
        ThreatType::BruteForce => {
            "Someone is guessing passwords against a small number of accounts"
        }
        ThreatType::PasswordSpraying => {
            "One source is trying a few passwords across many accounts, staying under lockout limits"
        }
        ThreatType::CredentialStuffing => {
            "One source is replaying many username/password pairs, most of which fail"
        }
        ThreatType::PrivilegeEscalation => "An identity gave itself or another identity more power",
        ThreatType::Persistence => "An identity created a way back in (new users, keys or roles)",
        ThreatType::DefenseEvasion => {
            "Someone switched off or weakened logging or security controls"
        }
        ThreatType::Exfiltration => "An identity moved far more data out than it normally does",
        ThreatType::Discovery => {
            "An identity enumerated the environment far beyond its usual calls"
        }
        ThreatType::SuspiciousLogin => {
            "A login succeeded in circumstances that usually mean misuse"
        }
        ThreatType::NetworkAnomaly => "Network flows show scanning or flooding from one source",
        ThreatType::Anomaly => {
            "The Isolation Forest found this entity's behaviour unlike anything in its baseline"
        }
        ThreatType::CredentialAccess => "An identity read secrets, keys or credential stores",
        ThreatType::Execution => "Commands were run on hosts or through a cloud service",
        ThreatType::Impact => "Resources were destroyed, disabled or taken over",
    }
}

/// What each named detector measured, for the "why" bullets.
fn detector_reason(name: &str) -> String {
    let known = match name {
        "brute_force" => {
            "many failed logins from one source against few accounts in a short window"
        }
        "password_spraying" => {
            "failures spread over many accounts from one source, few per account"
        }
        "credential_stuffing" => "many distinct accounts tried from one source, mostly failing",
        "success_after_failures" => "a successful login right after a run of failures",
        "root_console_login" => "a console login as the root user",
        "no_mfa_console_login" => "a console login without MFA",
        "iam_admin_grant" => "an administrator policy or group granted to an identity",
        "new_iam_user" => "a new IAM user created",
        "credentials_for_another_user" => "access keys or a login profile created for another user",
        "trail_tampering" => "CloudTrail logging stopped, deleted or reconfigured",
        "storage_mass_download" => "far more objects downloaded than this identity's previous peak",
        "discovery_sweep" => "a burst of List/Describe/Get calls across many services",
        "sudo_abuse" => "sudo or su used to become root in an unusual way",
        "sigma" => "a Sigma rule matched the raw record (named below)",
        "port_scan" => "connections to many ports of the same hosts",
        "flood" => "a flood of flows against one service",
        _ => "",
    };
    if known.is_empty() {
        format!("detector {name} fired")
    } else {
        format!("{known} (detector {name})")
    }
}

fn duration_words(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} seconds"),
        s if s < 7200 => format!("{} minutes", s / 60),
        s if s < 172_800 => format!("{:.1} hours", s as f64 / 3600.0),
        s => format!("{:.1} days", s as f64 / 86400.0),
    }
}

pub fn build(
    alert: &Alert,
    evidence: Vec<Excerpt>,
    actions: &[Action],
    technique_names: &HashMap<String, String>,
) -> Explanation {
    let span = (alert.last_seen - alert.first_seen).num_seconds().max(0);
    let summary = format!(
        "{}. {} This involved {} event(s) over {} ({} to {} UTC), from entity {}. Severity is {} with confidence {:.2}{}.",
        threat_sentence(alert.threat_type),
        alert.description.trim_end_matches('.').to_string() + ".",
        alert.event_count,
        duration_words(span),
        alert.first_seen.format("%Y-%m-%d %H:%M"),
        alert.last_seen.format("%Y-%m-%d %H:%M"),
        alert.entity,
        alert.severity.as_str(),
        alert.confidence,
        if alert.anomaly_score >= 0.6 {
            format!(
                ", and the Isolation Forest scored its most unusual event {:.2}",
                alert.anomaly_score
            )
        } else {
            String::new()
        }
    );

    let mut why: Vec<String> = alert.detectors.iter().map(|d| detector_reason(d)).collect();
    for r in &alert.rules {
        why.push(format!(
            "Sigma rule \"{}\" ({}, id {}){}",
            r.title,
            r.level,
            r.id,
            if r.references.is_empty() {
                String::new()
            } else {
                format!("; references: {}", r.references.join(", "))
            }
        ));
    }
    let refs: Vec<String> = evidence
        .iter()
        .take(3)
        .map(|e| e.reference.clone())
        .collect();
    why.push(format!(
        "{} event(s) of evidence{}{}",
        alert.event_count,
        if refs.is_empty() {
            String::new()
        } else {
            format!(", e.g. {}", refs.join(", "))
        },
        if alert.evidence_dropped > 0 {
            format!(" ({} more not listed)", alert.evidence_dropped)
        } else {
            String::new()
        }
    ));
    if alert.anomaly_score >= 0.6 {
        why.push(format!(
            "anomaly score {:.2}: rarer than almost all of the baseline the forest was trained on",
            alert.anomaly_score
        ));
    }
    if !alert.affected_resources.is_empty() {
        let shown: Vec<&str> = alert
            .affected_resources
            .iter()
            .take(3)
            .map(String::as_str)
            .collect();
        why.push(format!("affected: {}", shown.join(", ")));
    }
    let hostile = evidence.iter().filter(|e| e.instruction_like).count();
    if hostile > 0 {
        why.push(format!(
            "{hostile} evidence line(s) contain instruction-like text aimed at an AI assistant; treat it as evidence of intent, not as guidance"
        ));
    }

    let mut techniques: Vec<TechniqueNote> = alert
        .matched_techniques
        .iter()
        .map(|id| TechniqueNote {
            id: id.clone(),
            name: technique_names.get(id).cloned().unwrap_or_default(),
            why: format!("mapped by detector(s) {}", alert.detectors.join(", ")),
        })
        .collect();
    let mut related = Vec::new();
    if let Some(intel) = &alert.intel {
        for m in &intel.matches {
            if m.kind == "technique" {
                if !techniques.iter().any(|t| t.id == m.id) && techniques.len() < 4 {
                    techniques.push(TechniqueNote {
                        id: m.id.clone(),
                        name: m.title.clone(),
                        why: format!(
                            "retrieved for this alert ({} ranking, score {:.2})",
                            intel.ranking, m.score
                        ),
                    });
                }
            } else {
                related.push(RelatedDoc {
                    id: m.id.clone(),
                    kind: m.kind.clone(),
                    title: m.title.clone(),
                });
            }
        }
    }

    let actions: Vec<ActionNote> = actions
        .iter()
        .map(|a| ActionNote {
            action_id: a.action_id,
            tier: a.tier.as_str().to_string(),
            kind: a.kind.as_str().to_string(),
            state: a.state.as_str().to_string(),
            preview: a.preview.clone(),
        })
        .collect();

    let mut confidence_notes = Vec::new();
    if alert.detectors.len() < 2 {
        confidence_notes.push("higher if a second detector corroborates it (e.g. a success after the failures, or follow-on activity by the same entity)".to_string());
    }
    if alert.anomaly_score < 0.6 {
        confidence_notes.push("higher if the entity's events also score as anomalous".into());
    }
    if alert.event_count < 20 {
        confidence_notes.push("higher with more events from the same entity".into());
    }
    for r in &alert.rules {
        let known: Vec<&str> = r
            .falsepositives
            .iter()
            .map(String::as_str)
            .filter(|f| !f.eq_ignore_ascii_case("unknown"))
            .collect();
        if !known.is_empty() {
            confidence_notes.push(format!(
                "lower if this is a known false positive of \"{}\": {}",
                r.title,
                known.join("; ")
            ));
        }
    }
    confidence_notes.push(
        "lower if the entity is a known scanner, a pentest or a change with a ticket; close the alert as benign then".into(),
    );

    Explanation {
        alert_id: alert.alert_id,
        generated_at: chrono::Utc::now(),
        summary,
        why,
        techniques,
        related,
        actions,
        confidence: alert.confidence,
        confidence_notes,
        evidence,
        generated: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AlertStatus, Severity};

    fn alert(threat: ThreatType, detectors: &[&str]) -> Alert {
        let t = chrono::DateTime::parse_from_rfc3339("2024-05-06T10:00:00Z")
            .expect("time")
            .with_timezone(&chrono::Utc);
        Alert {
            alert_id: 9,
            severity: Severity::High,
            confidence: 0.72,
            threat_type: threat,
            description: "what the detector wrote".into(),
            timestamp: t,
            affected_resources: vec!["bastion-1/sshd".into()],
            matched_techniques: vec!["T1110.001".into()],
            recommended_actions: vec![],
            anomaly_score: 0.81,
            entity: "IP_ADDRESS_4".into(),
            first_seen: t,
            last_seen: t + chrono::Duration::minutes(7),
            event_count: 57,
            evidence: vec![],
            evidence_dropped: 0,
            detectors: detectors.iter().map(|d| d.to_string()).collect(),
            status: AlertStatus::Open,
            close_reason: None,
            intel: None,
            rules: Vec::new(),
        }
    }

    #[test]
    fn every_threat_type_gets_a_readable_account() {
        let names: HashMap<String, String> =
            [("T1110.001".to_string(), "Password Guessing".to_string())].into();
        for threat in [
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
        ] {
            let e = build(&alert(threat, &["brute_force"]), vec![], &[], &names);
            assert!(
                e.summary.starts_with(threat_sentence(threat)),
                "{}",
                e.summary
            );
            assert!(
                e.summary.contains(
                    "57 event(s) over 7 minutes (2024-05-06 10:00 to 2024-05-06 10:07 UTC)"
                ),
                "{}",
                e.summary
            );
            assert!(
                e.summary
                    .contains("Isolation Forest scored its most unusual event 0.81")
            );
            assert!(
                e.why[0].contains("many failed logins from one source"),
                "{:?}",
                e.why
            );
            assert_eq!(e.techniques[0].name, "Password Guessing");
            assert!(
                e.confidence_notes
                    .iter()
                    .any(|n| n.starts_with("higher if a second detector"))
            );
        }
    }
}
