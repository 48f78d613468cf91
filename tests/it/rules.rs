//! Sigma rules end to end: every rule of our pack against its positive and near-miss test
//! events (through the real parsers), a rule alert through `ingest`, and the `rules` CLI.

use std::collections::{HashMap, HashSet};

use autosec::detect::rules::{RuleSet, RuleSource};
use autosec::ingest::cloudtrail;
use autosec::ingest::syslog::SyslogParser;
use chrono::{TimeZone, Utc};
use serde::Deserialize;

use crate::common::{Env, assert_success};

#[derive(Deserialize)]
struct Case {
    rule: String,
    expect: bool,
    format: String,
    #[serde(default)]
    record: Option<serde_json::Value>,
    #[serde(default)]
    line: Option<String>,
}

fn cases() -> Vec<Case> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/rule_cases.jsonl"
    );
    let text = std::fs::read_to_string(path).expect("tests/fixtures/rule_cases.jsonl");
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("cases.jsonl:{}: {e}", n + 1))
        })
        .collect()
}

#[test]
fn every_pack_rule_matches_its_positive_and_not_its_near_miss() {
    let set = RuleSet::load(&[RuleSource::Builtin]);
    assert!(set.report().failed.is_empty(), "{:?}", set.report().failed);
    let reference = Utc
        .with_ymd_and_hms(2026, 12, 31, 0, 0, 0)
        .single()
        .expect("time");
    let mut seen: HashMap<String, (bool, bool)> = HashMap::new();
    let mut wrong = Vec::new();
    for (n, case) in cases().iter().enumerate() {
        let ev = match case.format.as_str() {
            "cloudtrail" => {
                let bytes =
                    serde_json::to_vec(case.record.as_ref().expect("record")).expect("json");
                cloudtrail::parse(&bytes)
                    .unwrap_or_else(|e| panic!("case {}: record rejected: {e}", n + 1))
            }
            "syslog" => SyslogParser::new(reference)
                .parse(case.line.as_deref().expect("line"))
                .unwrap_or_else(|e| panic!("case {}: line rejected: {e}", n + 1)),
            other => panic!("case {}: unknown format {other}", n + 1),
        };
        let matched = set.matches(&ev).contains(&case.rule);
        if matched != case.expect {
            let title = set.get(&case.rule).map_or("?", |r| r.file.as_str());
            wrong.push(format!(
                "case {} ({title}): expected {}, got {}",
                n + 1,
                case.expect,
                matched
            ));
        }
        let e = seen.entry(case.rule.clone()).or_default();
        if case.expect {
            e.0 = true;
        } else {
            e.1 = true;
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let untested: Vec<&str> = set
        .rules()
        .iter()
        .filter(|r| seen.get(&r.id) != Some(&(true, true)))
        .map(|r| r.file.as_str())
        .collect();
    assert!(
        untested.is_empty(),
        "rules without a positive and a negative case: {untested:?}"
    );
}

#[test]
fn pack_rules_cite_attack_techniques_that_exist() {
    let set = RuleSet::load(&[RuleSource::Builtin]);
    let ids: HashSet<&str> = set.rules().iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), set.rules().len(), "rule ids are unique");
    for r in set.rules() {
        for t in &r.techniques {
            let ok = t.len() >= 5
                && t.starts_with('T')
                && t[1..].chars().all(|c| c.is_ascii_digit() || c == '.');
            assert!(ok, "{}: {t}", r.file);
        }
    }
}

const STOP_TRAIL: &str = r#"{"Records":[{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDA1","arn":"arn:aws:iam::111122223333:user/mallory","accountId":"111122223333","userName":"mallory"},"eventTime":"2026-11-20T10:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StopLogging","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.15","requestParameters":{"name":"main-trail"},"responseElements":null,"eventID":"ev-stop-1","eventType":"AwsApiCall","recipientAccountId":"111122223333"}]}"#;

const USER_RULE: &str = r#"
title: Test rule naming a raw address
id: 9a0e3b8c-1d2e-4f50-8a6b-7c8d9e0f1a2b
status: experimental
description: Matches a trail stopped from one documentation address.
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    eventName: StopLogging
    sourceIPAddress: 203.0.113.9
  condition: selection
falsepositives: [A test]
level: critical
tags: [attack.defense-evasion, attack.t1562.008]
references: [https://example.org/our-runbook]
"#;

#[test]
fn a_rule_from_rule_dirs_fires_on_the_raw_address_and_the_alert_cites_it() {
    let env = Env::new();
    env.write("rules/mine.yml", USER_RULE);
    env.write(
        "config/config.toml",
        format!(
            "[detect]\nrule_dirs = [\"{}\"]\n",
            env.path("rules").display()
        ),
    );
    let log = env.write("ct/trail.json", STOP_TRAIL);
    let summary = env.ingest(&[log.to_str().expect("path")]);
    assert!(summary["alerts"].as_u64().unwrap_or(0) >= 1, "{summary}");
    let out = env
        .cmd()
        .args(["alerts", "--json"])
        .output()
        .expect("alerts");
    assert_success(&out);
    let alerts: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("an alert per line"))
        .collect();
    let cited = alerts
        .iter()
        .find(|a| {
            a["rules"].as_array().is_some_and(|r| {
                r.iter()
                    .any(|r| r["id"] == "9a0e3b8c-1d2e-4f50-8a6b-7c8d9e0f1a2b")
            })
        })
        .unwrap_or_else(|| panic!("no alert cites the rule: {alerts:#?}"));
    assert_eq!(cited["severity"], "critical");
    assert!(
        cited["matched_techniques"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "T1562.008"))
    );
    // Privacy: the rule saw the raw address; the alert holds only pseudonyms.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("203.0.113.9") && !text.contains("mallory"),
        "{text}"
    );
    // And the explanation names the rule and its references.
    let id = cited["alert_id"].as_u64().expect("id").to_string();
    let out = env.cmd().args(["explain", &id]).output().expect("explain");
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Test rule naming a raw address"), "{text}");
    assert!(text.contains("https://example.org/our-runbook"), "{text}");
}

#[test]
fn rules_check_reports_loaded_and_failed_with_reasons() {
    let env = Env::new();
    env.write("rules/good.yml", USER_RULE);
    env.write(
        "rules/sub/bad.yml",
        "title: x\nlogsource: {product: windows}\ndetection:\n  s: {a: 1}\n  condition: s\n",
    );
    let out = env
        .cmd()
        .args(["rules", "check", "--json"])
        .arg(env.path("rules"))
        .output()
        .expect("rules check");
    assert_success(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["loaded"], 1, "{report}");
    let failed = report["failed"].as_array().expect("failed");
    assert_eq!(failed.len(), 1, "{report}");
    assert!(
        failed[0]["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("bad.yml"))
    );
    assert!(
        failed[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("unsupported logsource")),
        "{report}"
    );
}

#[test]
fn rules_test_lists_the_matching_records_redacted() {
    let env = Env::new();
    let rule = env.write("mine.yml", USER_RULE);
    let log = env.write("trail.json", STOP_TRAIL);
    let out = env
        .cmd()
        .args(["rules", "test"])
        .arg(&rule)
        .arg(&log)
        .output()
        .expect("rules test");
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ev-stop-1"), "{text}");
    assert!(text.contains("1 of 1 records match"), "{text}");
    assert!(!text.contains("203.0.113.9"), "{text}");
}
