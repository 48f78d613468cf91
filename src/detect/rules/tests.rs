//! The Sigma mapping: routing, field lookup, keyword scope, tags, and loading failures.

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::ingest::cloudtrail;
use crate::ingest::syslog::SyslogParser;

fn rule_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write rule");
    p
}

fn load_one(text: &str) -> RuleSet {
    let dir = tempfile::tempdir().expect("tempdir");
    rule_file(dir.path(), "r.yml", text);
    RuleSet::load(&[RuleSource::Path(dir.path().to_path_buf())])
}

fn ct(record: serde_json::Value) -> SecurityEvent {
    let bytes = serde_json::to_vec(&record).expect("json");
    cloudtrail::parse(&bytes).expect("cloudtrail record")
}

fn syslog(line: &str) -> SecurityEvent {
    let reference = Utc
        .with_ymd_and_hms(2026, 12, 4, 12, 0, 0)
        .single()
        .expect("time");
    SyslogParser::new(reference)
        .parse(line)
        .expect("syslog line")
}

const STOP_TRAIL: &str = r#"
title: Trail stopped from one address
id: 11111111-1111-4111-8111-111111111111
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    eventName: StopLogging
    sourceIPAddress: 203.0.113.9
    userIdentity.userName: alice
    requestParameters.name|startswith: main
  condition: selection
level: high
tags: [attack.defense-evasion, attack.t1562.008]
falsepositives: [A planned trail migration]
"#;

fn stop_logging(ip: &str) -> SecurityEvent {
    ct(json!({
        "eventTime": "2026-11-20T10:00:00Z", "eventSource": "cloudtrail.amazonaws.com",
        "eventName": "StopLogging", "sourceIPAddress": ip, "eventID": "e1",
        "userIdentity": {"type": "IAMUser", "userName": "alice",
                         "arn": "arn:aws:iam::111122223333:user/alice"},
        "requestParameters": {"name": "main-trail"}
    }))
}

#[test]
fn cloudtrail_fields_are_the_records_own_including_mapped_ones() {
    let set = load_one(STOP_TRAIL);
    assert_eq!(set.report().loaded, 1, "{:?}", set.report().failed);
    assert_eq!(
        set.matches(&stop_logging("203.0.113.9")),
        vec!["11111111-1111-4111-8111-111111111111".to_string()]
    );
    // A different address (the rule names a raw one: rules see the record before redaction).
    assert!(set.matches(&stop_logging("198.51.100.1")).is_empty());
    let info = set.rules()[0].clone();
    assert_eq!(info.techniques, vec!["T1562.008"]);
    assert_eq!(info.threat, ThreatType::DefenseEvasion);
    assert_eq!(info.severity(), Some(Severity::High));
}

#[test]
fn linux_rules_route_by_program_and_keywords_search_the_message() {
    let set = load_one(
        r#"
title: sshd crypto error
id: 22222222-2222-4222-8222-222222222222
logsource: {product: linux, service: sshd}
detection:
  keywords: ['Corrupted MAC on input']
  condition: keywords
level: medium
---
title: an account created
id: 33333333-3333-4333-8333-333333333333
logsource: {product: linux, service: auth}
detection:
  selection:
    program: useradd
    message|contains: 'new user:'
  condition: selection
level: low
"#,
    );
    assert_eq!(set.report().loaded, 2, "{:?}", set.report().failed);
    let mac = syslog("Dec  4 10:00:01 web-1 sshd[100]: error: Corrupted MAC on input.");
    assert_eq!(set.matches(&mac).len(), 1);
    // The same words from another program are not sshd's.
    let other = syslog("Dec  4 10:00:01 web-1 myapp[100]: error: Corrupted MAC on input.");
    assert!(set.matches(&other).is_empty());
    // Keywords look at the message, not the host name.
    let host = syslog("Dec  4 10:00:01 Corrupted sshd[100]: MAC on input");
    assert!(set.matches(&host).is_empty());
    let add = syslog(
        "Dec  4 10:15:01 web-1 useradd[2211]: new user: name=backdoor, UID=1001, GID=1001, home=/home/backdoor, shell=/bin/bash",
    );
    assert_eq!(
        set.matches(&add),
        vec!["33333333-3333-4333-8333-333333333333".to_string()]
    );
}

#[test]
fn parsed_auth_fields_are_visible_to_rules() {
    let set = load_one(
        r#"
title: root login from outside
id: 44444444-4444-4444-8444-444444444444
logsource: {product: linux, service: sshd}
detection:
  selection: {action: login, status: success, user: root}
  filter: {source_ip|cidr: 10.0.0.0/8}
  condition: selection and not filter
level: high
"#,
    );
    let line = |ip: &str| {
        syslog(&format!(
            "Dec  4 10:00:02 web-1 sshd[101]: Accepted password for root from {ip} port 5555 ssh2"
        ))
    };
    assert_eq!(set.matches(&line("198.51.100.7")).len(), 1);
    assert!(set.matches(&line("10.1.2.3")).is_empty());
}

#[test]
fn a_bad_rule_is_reported_and_never_stops_the_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    rule_file(dir.path(), "good.yml", STOP_TRAIL);
    rule_file(dir.path(), "broken.yml", "title: [unclosed\n");
    rule_file(
        dir.path(),
        "windows.yml",
        "title: w\nid: 5\nlogsource: {product: windows, category: process_creation}\ndetection:\n  s: {Image|endswith: x.exe}\n  condition: s\n",
    );
    rule_file(dir.path(), "notes.txt", "not a rule");
    let set = RuleSet::load(&[
        RuleSource::Path(dir.path().to_path_buf()),
        RuleSource::Path(dir.path().join("missing")),
    ]);
    let report = set.report();
    assert_eq!(report.loaded, 1);
    let reasons: Vec<String> = report
        .failed
        .iter()
        .map(|f| format!("{}: {}", f.file, f.reason))
        .collect();
    assert_eq!(report.failed.len(), 3, "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("broken.yml")));
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("windows.yml") && r.contains("unsupported logsource")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("missing") && r.contains("cannot read"))
    );
}

#[test]
fn sigmahq_rules_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/sigma/rules");
    if !dir.is_dir() {
        eprintln!("skipped: {} is absent (CI has it)", dir.display());
        return;
    }
    let set = RuleSet::load(&[RuleSource::Path(dir)]);
    let report = set.report();
    assert!(
        report.loaded >= 75,
        "{} loaded: {:?}",
        report.loaded,
        report.failed
    );
}

#[test]
fn the_embedded_pack_loads_whole() {
    let set = RuleSet::load(&[RuleSource::Builtin]);
    let report = set.report();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert!(report.loaded >= 40, "{} rules", report.loaded);
    for r in set.rules() {
        assert!(!r.techniques.is_empty(), "{} has no technique tag", r.file);
        assert!(
            !r.falsepositives.is_empty(),
            "{} names no false positive",
            r.file
        );
    }
}

#[test]
fn tags_give_techniques_and_threats() {
    let tags: Vec<String> = [
        "attack.credential-access",
        "attack.t1110.001",
        "attack.t1078",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let t = techniques_of(&tags);
    assert_eq!(t, vec!["T1110.001", "T1078"]);
    assert_eq!(threat_of(&tags, &t), ThreatType::BruteForce);
    let impact = vec!["attack.impact".to_string(), "attack.t1485".to_string()];
    assert_eq!(
        threat_of(&impact, &techniques_of(&impact)),
        ThreatType::Impact
    );
}

#[test]
fn a_match_on_an_event_a_detector_fired_on_joins_that_detectors_alert() {
    use crate::detect::detectors::{Ctx, Hit, Related};
    use crate::domain::{EventView, Severity, ThreatType};
    let set = load_one(STOP_TRAIL);
    let ev = stop_logging("203.0.113.9");
    let mut v = EventView::from_event(&ev);
    v.rules = set.matches(&ev);
    assert_eq!(v.rules.len(), 1);
    let spray = Hit {
        detector: "password_spraying",
        threat: ThreatType::PasswordSpraying,
        entity: "IP_ADDRESS_4".into(),
        techniques: &["T1110.003"],
        strength: 0.8,
        severity: Severity::Medium,
        summary: "spray".into(),
        related: Related::None,
        rule: None,
    };
    let mut hits = vec![spray];
    rule_hits(&set, &v, &Ctx::default(), &mut hits);
    assert_eq!(hits.len(), 2, "{hits:?}");
    let rule = &hits[1];
    assert_eq!(
        (rule.entity.as_str(), rule.threat),
        ("IP_ADDRESS_4", ThreatType::PasswordSpraying)
    );
    assert_eq!(
        rule.strength, 0.0,
        "the detector's summary stays the description"
    );
    assert!(rule.rule.is_some());
    // Alone (a critical rule would alert without a detector), it keeps its own entity and threat.
    let critical = load_one(&STOP_TRAIL.replace("level: high", "level: critical"));
    v.rules = critical.matches(&ev);
    let mut hits = Vec::new();
    rule_hits(&critical, &v, &Ctx::default(), &mut hits);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].threat, ThreatType::DefenseEvasion);
    assert_eq!(hits[0].entity, v.user.clone().expect("user"));
}

/// The route index only skips rules that cannot match: over a generated week (attacks
/// included) every record matches the same rules with and without it.
#[test]
fn the_index_changes_no_match() {
    let dir = tempfile::tempdir().expect("tempdir");
    let set = dir.path().join("set");
    crate::datasets::generate(&crate::datasets::GenerateOptions::new(&set, 6_000, 11))
        .expect("generate");
    let indexed = RuleSet::load(&[RuleSource::Builtin]);
    index::UNINDEXED.with(|u| u.set(true));
    let unindexed = RuleSet::load(&[RuleSource::Builtin]);
    index::UNINDEXED.with(|u| u.set(false));
    let mut events = Vec::new();
    for r in crate::datasets::read_cloudtrail_records(&set.join("logs/cloudtrail")).expect("ct") {
        events.push(ct(r));
    }
    for entry in std::fs::read_dir(set.join("logs/auth")).expect("auth") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
        let mut parser = SyslogParser::new(Utc::now());
        events.extend(text.lines().filter_map(|l| parser.parse(l).ok()));
    }
    let mut matched = 0;
    for ev in &events {
        let mut a = indexed.matches(ev);
        let mut b = unindexed.matches(ev);
        a.sort();
        b.sort();
        assert_eq!(a, b, "{} {:?}", ev.action, ev.metadata.get("program"));
        matched += usize::from(!a.is_empty());
    }
    assert!(
        events.len() > 3_000 && matched > 50,
        "{} events, {matched} matched",
        events.len()
    );
}
