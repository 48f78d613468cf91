//! End-to-end tests of the generator: determinism, volumes and mix, label integrity, formats.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use super::*;

const EVENTS: u64 = 30_000;

struct Fixture {
    _dir: tempfile::TempDir,
    out: PathBuf,
    summary: GenerateSummary,
}

/// One shared dataset for the read-only checks.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ds");
        let summary = generate(&GenerateOptions::new(&out, EVENTS, 1234)).unwrap();
        Fixture {
            _dir: dir,
            out,
            summary,
        }
    })
}

fn read_all(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        let mut s = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut s)
            .unwrap();
        s
    } else {
        raw
    }
}

/// Every file under `dir` by its relative path (other modules' tests compare trees too).
pub(crate) fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn labels(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("labels.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn deterministic_for_a_seed_and_different_across_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, seed: u64| {
        let out = dir.path().join(name);
        generate(&GenerateOptions::new(&out, 8_000, seed)).unwrap();
        tree(&out)
    };
    let a = run("a", 99);
    let b = run("b", 99);
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(v == &b[k], "{k} differs between identical runs");
    }
    let c = run("c", 100);
    assert_ne!(a.get("logs/auth/auth.log"), c.get("logs/auth/auth.log"));
    assert_ne!(a.get("labels.jsonl"), c.get("labels.jsonl"));
    // Regenerating into a used directory replaces the old CloudTrail files.
    let out = dir.path().join("a");
    generate(&GenerateOptions::new(&out, 8_000, 5)).unwrap();
    let again = generate(&GenerateOptions::new(&out, 8_000, 99)).unwrap();
    assert_eq!(tree(&out), a);
    assert!(again.events.abs_diff(8_000) <= 80);
}

#[test]
fn volume_and_mix() {
    let f = fixture();
    let s = &f.summary;
    let diff = (s.events as f64 - EVENTS as f64).abs() / EVENTS as f64;
    assert!(diff <= 0.01, "{} events", s.events);
    assert_eq!(s.events, s.files.iter().map(|(_, n)| n).sum::<u64>());
    let mut by_kind: BTreeMap<&str, u64> = BTreeMap::new();
    for (p, n) in &s.files {
        let rel = p
            .strip_prefix(f.out.join("logs"))
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let kind = rel.split('/').next().unwrap().to_string();
        *by_kind
            .entry(match kind.as_str() {
                "cloudtrail" => "cloudtrail",
                "auth" => "auth",
                "app" => "jsonl",
                _ => "csv",
            })
            .or_default() += n;
    }
    for (kind, share) in [
        ("cloudtrail", 0.45),
        ("auth", 0.25),
        ("jsonl", 0.28),
        ("csv", 0.02),
    ] {
        let got = by_kind[kind] as f64 / s.events as f64;
        assert!(
            (got - share).abs() < share * 0.1 + 0.005,
            "{kind}: {got:.3} vs {share}"
        );
    }
    assert!(
        s.attack_events > 0 && s.attack_events < s.events / 5,
        "{} attack events",
        s.attack_events
    );
    assert_eq!(s.labels, s.attack_events);
    assert!(s.bytes > 0);
}

#[test]
fn cloudtrail_files_are_valid_and_complete() {
    let f = fixture();
    let dir = f.out.join("logs/cloudtrail");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let gz = names.iter().filter(|n| n.ends_with(".json.gz")).count();
    assert!(
        gz > 0 && gz * 5 <= names.len() + 3,
        "{gz} of {} gzipped",
        names.len()
    );
    let mut types = BTreeSet::new();
    let mut sources = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for n in &names {
        assert!(
            n.contains("_CloudTrail_") && n.split('_').count() == 5,
            "{n}"
        );
        let text = read_all(&dir.join(n));
        assert_eq!(
            text.iter().filter(|&&b| b == b'\n').count(),
            0,
            "one line per file"
        );
        let v: Value = serde_json::from_slice(&text).unwrap();
        let recs = v["Records"].as_array().unwrap();
        assert!(!recs.is_empty() && recs.len() <= 1000);
        let mut last = String::new();
        for r in recs {
            for key in [
                "eventVersion",
                "userIdentity",
                "eventTime",
                "eventSource",
                "eventName",
                "awsRegion",
                "sourceIPAddress",
                "userAgent",
                "eventID",
                "eventType",
                "recipientAccountId",
                "eventCategory",
                "readOnly",
                "managementEvent",
            ] {
                assert!(r.get(key).is_some(), "{key} missing in {r}");
            }
            assert!(r.get("requestParameters").is_some() && r.get("responseElements").is_some());
            let t = r["eventTime"].as_str().unwrap().to_string();
            assert!(t.len() == 20 && t.ends_with('Z') && t >= last);
            last = t;
            let id = r["eventID"].as_str().unwrap();
            assert_eq!(&id[14..15], "4");
            assert!(ids.insert(id.to_string()), "duplicate eventID");
            types.insert(r["userIdentity"]["type"].as_str().unwrap().to_string());
            sources.insert(r["eventSource"].as_str().unwrap().to_string());
            if r["eventName"] == "ConsoleLogin" {
                let mfa = r["additionalEventData"]["MFAUsed"].as_str().unwrap();
                assert!(mfa == "Yes" || mfa == "No");
                let res = r["responseElements"]["ConsoleLogin"].as_str().unwrap();
                assert!(res == "Success" || res == "Failure");
            }
            if r["userIdentity"]["type"] == "AssumedRole" {
                let arn = r["userIdentity"]["arn"].as_str().unwrap();
                assert!(arn.starts_with("arn:aws:sts::") && arn.contains(":assumed-role/"));
                assert!(r["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"].is_string());
            }
        }
    }
    for t in ["IAMUser", "AssumedRole", "Root", "AWSService"] {
        assert!(types.contains(t), "no {t} identity");
    }
    for s in [
        "iam",
        "s3",
        "ec2",
        "signin",
        "sts",
        "cloudtrail",
        "kms",
        "lambda",
    ] {
        assert!(
            sources.contains(&format!("{s}.amazonaws.com")),
            "no {s} events"
        );
    }
}

#[test]
fn line_formats_and_time_order() {
    let f = fixture();
    for rel in ["auth/auth.log", "auth/bastion-auth.log"] {
        let text = std::fs::read_to_string(f.out.join("logs").join(rel)).unwrap();
        let mut last = (0, 0u32, String::new());
        let months = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        for line in text.lines() {
            let month = months.iter().position(|m| line.starts_with(m)).unwrap();
            let day: u32 = line[4..6].trim().parse().unwrap();
            assert_eq!(&line[15..16], " ", "{line}");
            let key = (month, day, line[7..15].to_string());
            assert!(key >= last, "out of order: {line}");
            last = key;
            let rest = &line[16..];
            let prog = rest.split(' ').nth(1).unwrap();
            assert!(
                ["sshd[", "sudo:", "su[", "CRON[", "systemd-logind["]
                    .iter()
                    .any(|p| prog.starts_with(p)),
                "{line}"
            );
        }
        assert!(
            text.contains("Accepted publickey for ")
                && text.contains("Failed password for ")
                && text.contains("session opened for user")
        );
    }
    for rel in ["app/app-events.jsonl", "app/gateway-ecs.jsonl"] {
        let text = std::fs::read_to_string(f.out.join("logs").join(rel)).unwrap();
        let mut last = String::new();
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            let t = v
                .get("timestamp")
                .or_else(|| v.get("@timestamp"))
                .unwrap()
                .as_str()
                .unwrap()
                .to_string();
            assert!(t >= last);
            last = t;
            if rel.contains("app-events") {
                assert!(["success", "failed", "denied"].contains(&v["status"].as_str().unwrap()));
                assert!(v["metadata"]["user_agent"].is_string() && v["source_ip"].is_string());
            } else {
                assert!(
                    v["source"]["ip"].is_string() && v["http"]["response"]["status_code"].is_u64()
                );
                assert!(["success", "failure"].contains(&v["event"]["outcome"].as_str().unwrap()));
            }
        }
    }
    let mut rdr = csv::Reader::from_path(f.out.join("logs/flows/flows.csv")).unwrap();
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(&headers[0], "Flow ID");
    assert_eq!(&headers[1], " Source IP");
    assert_eq!(headers.iter().next_back(), Some(" Label"));
    for row in rdr.records() {
        let row = row.unwrap();
        assert_eq!(row.len(), headers.len());
        assert!(["BENIGN", "PortScan", "DDoS"].contains(&&row[row.len() - 1]));
        for i in 7..row.len() - 1 {
            row[i].parse::<f64>().unwrap();
        }
    }
}

#[test]
fn labels_point_at_attack_events() {
    let f = fixture();
    let labels = labels(&f.out);
    assert_eq!(labels.len() as u64, f.summary.labels);
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut records: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut instances: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut by_process: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut attributed = BTreeSet::new();
    for l in &labels {
        let source = l["source"].as_str().unwrap();
        let entity = l["entity"].as_str().unwrap();
        let scenario = l["scenario"].as_str().unwrap();
        assert!(!entity.is_empty());
        instances
            .entry(scenario.to_string())
            .or_default()
            .insert(l["instance"].as_u64().unwrap());
        let text = if let Some(n) = l["line"].as_u64() {
            assert!(seen.insert((source.to_string(), n)), "duplicate label");
            let lines = files.entry(source.to_string()).or_insert_with(|| {
                std::fs::read_to_string(f.out.join("logs").join(source))
                    .unwrap()
                    .lines()
                    .map(str::to_string)
                    .collect()
            });
            let line = lines[(n - 1) as usize].clone();
            if source.ends_with(".jsonl") {
                serde_json::from_str::<Value>(&line).unwrap();
            }
            if source.ends_with(".csv") {
                assert!(!line.ends_with(",BENIGN"), "{line}");
            }
            line
        } else {
            let id = l["record_id"].as_str().unwrap();
            let recs = records.entry(source.to_string()).or_insert_with(|| {
                let v: Value =
                    serde_json::from_slice(&read_all(&f.out.join("logs").join(source))).unwrap();
                v["Records"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| (r["eventID"].as_str().unwrap().to_string(), r.to_string()))
                    .collect()
            });
            recs.get(id)
                .unwrap_or_else(|| panic!("{id} not in {source}"))
                .clone()
        };
        if !text.contains(entity) {
            // A follow-up line of the same process (e.g. `session opened` after `Accepted …`).
            let proc_id = text
                .split(": ")
                .next()
                .unwrap()
                .rsplit(' ')
                .next()
                .unwrap()
                .to_string();
            assert!(
                proc_id.contains('['),
                "{scenario}: entity {entity} not in {text}"
            );
            by_process
                .entry((source.to_string(), proc_id))
                .or_default()
                .push(entity.to_string());
        } else if l["line"].is_u64() {
            let proc_id = text
                .split(": ")
                .next()
                .unwrap()
                .rsplit(' ')
                .next()
                .unwrap()
                .to_string();
            attributed.insert((source.to_string(), proc_id, entity.to_string()));
        }
    }
    for ((source, proc_id), entities) in by_process {
        for e in entities {
            assert!(
                attributed.contains(&(source.clone(), proc_id.clone(), e.clone())),
                "{proc_id} in {source} not attributable to {e}"
            );
        }
    }
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(f.out.join("manifest.json")).unwrap()).unwrap();
    for sc in Scenario::ALL {
        let got = instances.get(sc.as_str()).cloned().unwrap_or_default();
        assert_eq!(got, (1..=4).collect::<BTreeSet<u64>>(), "{}", sc.as_str());
        assert_eq!(manifest["scenarios"][sc.as_str()]["instances"], 4);
    }
    assert_eq!(manifest["totals"]["labels"], f.summary.labels);
}

#[test]
fn benign_only_has_no_labels() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = GenerateOptions::new(dir.path(), 10_000, 3);
    opts.benign_only = true;
    opts.days = 3;
    let s = generate(&opts).unwrap();
    assert_eq!((s.attack_events, s.labels), (0, 0));
    assert!(s.events.abs_diff(10_000) <= 100, "{}", s.events);
    assert!(
        std::fs::read(dir.path().join("labels.jsonl"))
            .unwrap()
            .is_empty()
    );
    let flows = std::fs::read_to_string(dir.path().join("logs/flows/flows.csv")).unwrap();
    assert!(flows.lines().skip(1).all(|l| l.ends_with(",BENIGN")));
    assert!(generate(&GenerateOptions { days: 0, ..opts }).is_err());
}

#[test]
fn odd_options_still_work() {
    let dir = tempfile::tempdir().unwrap();
    for (events, days, per) in [(0u64, 1u32, 1u32), (500, 1, 7), (3_000, 2, 0)] {
        let mut opts = GenerateOptions::new(
            dir.path().join(format!("{events}-{days}-{per}")),
            events,
            11,
        );
        opts.days = days;
        opts.attacks_per_scenario = per;
        let s = generate(&opts).unwrap();
        assert_eq!(s.labels, s.attack_events);
        let labels = labels(&opts.out);
        let instances: BTreeSet<(String, u64)> = labels
            .iter()
            .map(|l| {
                (
                    l["scenario"].as_str().unwrap().to_string(),
                    l["instance"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(instances.len() as u32, per * Scenario::ALL.len() as u32);
        if per == 0 {
            assert!(s.events.abs_diff(events) <= events / 100 + 5);
        }
    }
}

/// `cargo test --release -- --ignored million --nocapture`: speed and size at full scale.
#[test]
#[ignore]
fn million_events_speed() {
    let dir = tempfile::tempdir().unwrap();
    let t = std::time::Instant::now();
    let s = generate(&GenerateOptions::new(dir.path(), 1_000_000, 42)).unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{} events, {} attack, {} files, {:.1} MB, {:.2} s, {:.0} events/s",
        s.events,
        s.attack_events,
        s.files.len(),
        s.bytes as f64 / 1e6,
        secs,
        s.events as f64 / secs
    );
    assert!((s.events as f64 - 1e6).abs() <= 1e4);
}
