//! Exactly-once ingest: re-running adds nothing, a killed ingest resumes without gaps or
//! duplicates, and a file that grew is read from where the last run stopped.

use std::collections::BTreeSet;
use std::io::Write;

use crate::common::{Env, jsonl_lines};

fn lines_stored(env: &Env) -> (usize, BTreeSet<u64>) {
    let events = env.events();
    let lines = events.iter().filter_map(|e| e.origin.line).collect();
    (events.len(), lines)
}

#[test]
fn duplicate_ingest_adds_nothing() {
    let env = Env::new();
    let file = env.write("in/app.jsonl", jsonl_lines(3000));
    let path = file.to_str().expect("utf8");
    let first = env.ingest(&[path]);
    assert_eq!(first["events"], 3000);
    let second = env.ingest(&[path]);
    assert_eq!(second["events"], 0, "{second}");
    assert_eq!(second["files_up_to_date"], 1);
    // The same file reached through its directory is the same source.
    let third = env.ingest(&[env.path("in").to_str().expect("utf8")]);
    assert_eq!(third["events"], 0, "{third}");
    let (count, lines) = lines_stored(&env);
    assert_eq!((count, lines.len()), (3000, 3000));
}

#[test]
fn grown_file_continues_where_it_stopped() {
    let env = Env::new();
    let file = env.write("app.jsonl", jsonl_lines(100));
    env.ingest(&[file.to_str().expect("utf8")]);
    let more = jsonl_lines(150);
    let tail: String = more.lines().skip(100).map(|l| format!("{l}\n")).collect();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .expect("open")
        .write_all(tail.as_bytes())
        .expect("append");
    let second = env.ingest(&[file.to_str().expect("utf8")]);
    assert_eq!(second["events"], 50, "{second}");
    assert_eq!(second["files_resumed"], 1);
    let (count, lines) = lines_stored(&env);
    assert_eq!(count, 150);
    assert_eq!(lines, (1..=150).collect());
}

#[test]
fn killed_ingest_resumes_without_gaps_or_duplicates() {
    let env = Env::new();
    let total = 20_000;
    let file = env.write("big.jsonl", jsonl_lines(total));
    let path = file.to_str().expect("utf8");
    // Abort the process (no flush, no destructors — like kill -9) part-way through.
    let out = env
        .cmd()
        .args(["ingest", "--json", "--abort-after-events", "6000", path])
        .output()
        .expect("run");
    assert!(!out.status.success(), "the fault-injected run should die");
    let (partial, _) = lines_stored(&env);
    assert!(partial < total, "nothing left to resume ({partial})");
    let resumed = env.ingest(&[path]);
    let (count, lines) = lines_stored(&env);
    assert_eq!(
        count, total,
        "events after resume (resumed run stored {})",
        resumed["events"]
    );
    assert_eq!(lines.len(), total, "duplicate or missing lines");
    assert_eq!(resumed["events"].as_u64(), Some((total - partial) as u64));
}

#[test]
fn killed_ingest_of_cloudtrail_documents_resumes_by_record() {
    let env = Env::new();
    let mut doc = String::from("{\"Records\":[");
    for i in 0..3000 {
        if i > 0 {
            doc.push(',');
        }
        doc.push_str(&format!(
            "{{\"eventTime\":\"2024-05-01T12:00:00Z\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"GetObject\",\"eventID\":\"id-{i}\",\"sourceIPAddress\":\"10.0.0.{}\"}}",
            i % 200
        ));
    }
    doc.push_str("]}");
    let file = env.write("ct.json", doc);
    let path = file.to_str().expect("utf8");
    let out = env
        .cmd()
        .args(["ingest", "--abort-after-events", "1000", path])
        .output()
        .expect("run");
    assert!(!out.status.success());
    env.ingest(&[path]);
    let events = env.events();
    let ids: BTreeSet<_> = events
        .iter()
        .filter_map(|e| e.origin.record_id.clone())
        .collect();
    assert_eq!((events.len(), ids.len()), (3000, 3000));
}

#[test]
fn rotated_files_are_recognised_by_content() {
    let env = Env::new();
    let dir = env.path("logs");
    let first = env.write("logs/app.jsonl", jsonl_lines(400));
    env.ingest(&[dir.to_str().expect("utf8")]);
    // Rotation: the file is renamed (and later compressed), a new file starts.
    std::fs::rename(&first, dir.join("app.jsonl.1")).expect("rename");
    let newer: String = jsonl_lines(500)
        .lines()
        .skip(400)
        .map(|l| format!("{l}\n"))
        .collect();
    env.write("logs/app.jsonl", newer);
    let second = env.ingest(&[dir.to_str().expect("utf8")]);
    assert_eq!(second["events"], 100, "{second}");
    let rotated = std::fs::read(dir.join("app.jsonl.1")).expect("read");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&rotated).expect("gz");
    std::fs::write(dir.join("app.jsonl.2.gz"), gz.finish().expect("gz")).expect("write");
    std::fs::remove_file(dir.join("app.jsonl.1")).expect("rm");
    let third = env.ingest(&[dir.to_str().expect("utf8")]);
    assert_eq!(third["events"], 0, "{third}");
    assert_eq!(lines_stored(&env).0, 500);
}
