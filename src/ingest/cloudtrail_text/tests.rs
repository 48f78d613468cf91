//! The text path against the tree path: same events, same stored JSON, same detection view,
//! same rule matches, over generated weeks and hostile records.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use rsigma_eval::Event;
use serde_json::{Value, json};

use super::*;
use crate::config::Config;
use crate::datasets::{GenerateOptions, Profile, generate, read_cloudtrail_records};
use crate::detect::rules::SigmaEvent;
use crate::domain::EventView;
use crate::ingest::cloudtrail;
use crate::privacy::{Pseudonymiser, VaultKeys};
use crate::store::Store;

struct Bench {
    _dir: tempfile::TempDir,
    _store: Store,
    redactor: Redactor,
    rules: Arc<RuleSet>,
}

fn bench() -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 16).unwrap();
    let pseudo = Pseudonymiser::new(VaultKeys::from_master(&[9; 32]), &store, 1 << 16);
    let redactor = Redactor::new(Arc::new(pseudo), vec!["root".into()]);
    let rules = RuleSet::shared(&Config::defaults().unwrap().detect);
    Bench {
        _dir: dir,
        _store: store,
        redactor,
        rules,
    }
}

/// The stored JSON of an event, read back as a tree.
fn stored(ev: &SecurityEvent) -> Value {
    serde_json::from_slice(&serde_json::to_vec(ev).unwrap()).unwrap()
}

/// Both paths over one record. Some(rules matched) when the text path took it (and gave what
/// the tree path gives), None when it left it to the tree path.
fn compare(b: &Bench, bytes: &[u8], privacy: bool) -> Option<Vec<String>> {
    let redactor = privacy.then_some(&b.redactor);
    let mut tree = cloudtrail::parse(bytes).ok();
    if let Some(ev) = tree.as_mut() {
        ev.rules = b.rules.matches(ev);
        if let Some(r) = redactor {
            r.redact_event(ev).unwrap();
        }
    }
    let text = parse(bytes, &b.rules, redactor).unwrap()?;
    let tree = tree.expect("the text path took a record the tree path rejects");
    let record = String::from_utf8_lossy(bytes);
    assert_eq!(
        stored(&text),
        stored(&tree),
        "stored event differs: {record}"
    );
    assert_eq!(
        EventView::from_event(&text),
        EventView::from_event(&tree),
        "view differs: {record}"
    );
    Some(text.rules)
}

fn week(profile: Profile, seed: u64) -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = GenerateOptions::new(dir.path().join("set"), 12_000, seed);
    opts.profile = profile;
    generate(&opts).unwrap();
    read_cloudtrail_records(&dir.path().join("set/logs/cloudtrail"))
        .unwrap()
        .iter()
        .map(|r| serde_json::to_vec(r).unwrap())
        .collect()
}

#[test]
fn the_text_path_gives_what_the_tree_path_gives_over_generated_weeks() {
    let b = bench();
    for (profile, seed) in [(Profile::Office, 3), (Profile::Pipelines, 11)] {
        let records = week(profile, seed);
        assert!(records.len() > 1_000, "{} records", records.len());
        for privacy in [true, false] {
            let (mut taken, mut matched) = (0, 0);
            for bytes in &records {
                if let Some(rules) = compare(&b, bytes, privacy) {
                    taken += 1;
                    matched += usize::from(!rules.is_empty());
                } else {
                    // The one reason on generated records: an escape (an inline policy).
                    assert!(bytes.contains(&b'\\'), "{}", String::from_utf8_lossy(bytes));
                }
            }
            assert!(
                taken * 100 >= records.len() * 99,
                "{profile:?}: {taken} of {}",
                records.len()
            );
            assert!(matched > 0, "no record matched a rule: rules went untested");
        }
    }
}

fn record(extra: Value) -> Vec<u8> {
    let mut base = json!({
        "eventVersion": "1.08", "eventTime": "2024-05-01T12:00:00Z",
        "eventSource": "iam.amazonaws.com", "eventName": "CreateUser",
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.10", "eventID": "e-1",
        "userAgent": "aws-cli/2.15.0",
        "userIdentity": {"type": "IAMUser", "userName": "alice",
            "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333"},
        "requestParameters": {"userName": "bob"},
    });
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    serde_json::to_vec(&base).unwrap()
}

#[test]
fn hostile_records_give_the_same_event_or_go_down_the_tree_path() {
    let b = bench();
    let taken = |extra: Value| compare(&b, &record(extra), true).is_some();
    // Taken, and equal to the tree path's event:
    assert!(taken(json!({})));
    assert!(taken(
        json!({"userAgent": "curl from 10.9.8.7 by carol@example.com"})
    ));
    assert!(taken(
        json!({"requestParameters": {"10.1.2.3": 1, "userName": "USER_A"}})
    ));
    assert!(taken(
        json!({"sourceIPAddress": "laptop-7.corp.example", "note": "laptop-7.corp.example"})
    ));
    assert!(taken(
        json!({"source_network": "NETWORK_forged", "user_type": "x", "mfa": "y"})
    ));
    assert!(taken(
        json!({"resources": [{"ARN": "arn:aws:iam::1:user/dave"}], "v6": "fe80::1:2:3:4"})
    ));
    assert!(taken(json!({"userIdentity": {"type": "AssumedRole",
        "arn": "arn:aws:sts::1:assumed-role/Admin/erin",
        "sessionContext": {"sessionIssuer": {"userName": "Admin"},
            "attributes": {"mfaAuthenticated": "true"}}}})));
    assert!(taken(
        json!({"requestParameters": {"user": {"userName": "frank"}}, "x": "frank"})
    ));
    // No identity type: an object is the last entry when the network token is appended.
    assert!(taken(
        json!({"userIdentity": {"principalId": "p-1"}, "zzz": {"a": {"b": 1}}})
    ));
    assert!(taken(
        json!({"note": "logname=gus uid=0", "x": "user: hank"})
    ));
    // Left to the tree path:
    for extra in [
        json!({"userAgent": "quote \" inside"}),
        json!({"requestParameters": {"userName": "corp/alice"}}),
        json!({"requestParameters": {"userName": ["gina", "hal"]}}),
        json!({"requestParameters": {"items": [{"userName": "ivan"}]}}),
        json!({"requestParameters": {"userName": "true"}, "readOnly": true}),
        json!({"eventTime": "not a time"}),
    ] {
        assert!(!taken(extra.clone()), "{extra}");
    }
    assert!(compare(&b, b"[1, 2]", true).is_none());
    assert!(compare(&b, b"{\"eventName\": \"X\"", true).is_none());
}

#[test]
fn rules_read_the_text_record_as_they_read_the_tree() {
    let bytes = record(json!({
        "requestParameters": {"userName": "bob", "tags": [{"key": "a"}, {"key": "b"}],
            "a.b": "literal", "a": {"b": "nested"}, "n": 7, "f": 1.5, "nothing": null},
        "userIdentity": {"type": "Root", "sessionContext": {"attributes": {"mfaAuthenticated": false}}},
    }));
    let tree = cloudtrail::parse(&bytes).unwrap();
    let text = std::str::from_utf8(&bytes).unwrap();
    let top: RawObject = serde_json::from_str(text).unwrap();
    let objects = shared_objects(&top);
    let (ev, user_type, mfa) = build(&record_facts(&top, &objects)).unwrap();
    let record = SigmaRecord::new(&ev, &top, user_type.as_deref(), mfa, objects);
    let sigma = SigmaEvent::new(&tree);
    for path in [
        "eventName",
        "eventTime",
        "eventVersion",
        "sourceIPAddress",
        "eventID",
        "user_type",
        "mfa",
        "userAgent",
        "userIdentity.type",
        "requestParameters.userName",
        "requestParameters.tags.key",
        "requestParameters.a.b",
        "requestParameters.n",
        "requestParameters.f",
        "requestParameters.nothing",
        "requestParameters",
        "missing.path",
    ] {
        assert_eq!(record.get_field(path), sigma.get_field(path), "{path}");
    }
    let mut a = record.all_string_values();
    let mut b = sigma.all_string_values();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert_eq!(record.to_json(), sigma.to_json());
}

#[test]
fn kept_metadata_is_the_text_it_was_given_or_an_error() {
    // Nested values keep their own spacing; a repeated key is kept twice, as it came.
    let meta = r#"{"a":{ "b" : [1, 2.50, "é"] },"a":null,"c":"x"}"#;
    let (kept, view) = kept_metadata(meta.to_string()).unwrap();
    assert_eq!(kept.get(), meta);
    assert!(view.is_empty());
    let with_view = r#"{"awsRegion":"eu-west-1","userAgent":"aws-cli/2"}"#;
    let (kept, view) = kept_metadata(with_view.to_string()).unwrap();
    assert_eq!(kept.get(), with_view);
    assert_eq!(view.get("awsRegion"), Some(&json!("eu-west-1")));
    // A redaction that broke the JSON (an account named `true` replaced as a word).
    for broken in [r#"{"mfa":USER_A}"#, r#"{"a":1"#, r#"{"a":1} x"#, "[1]"] {
        assert!(kept_metadata(broken.to_string()).is_err(), "{broken}");
    }
}
