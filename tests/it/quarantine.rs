//! Bad input is expected: each kind is counted and quarantined with its reason and origin,
//! the good records around it are kept, and nothing panics.

use std::io::Write;

use crate::common::Env;

fn good(i: u32) -> String {
    format!(
        "{{\"timestamp\":\"2024-05-01T12:00:{i:02}Z\",\"source_ip\":\"10.0.0.{i}\",\"user_id\":\"u{i}\",\"action\":\"login\"}}\n"
    )
}

fn quarantined(env: &Env) -> Vec<autosec::store::QuarantineEntry> {
    env.store()
        .iter_quarantine()
        .collect::<Result<Vec<_>, _>>()
        .expect("quarantine")
}

#[test]
fn each_bad_record_kind_is_quarantined_with_reason_and_origin() {
    let env = Env::new();
    let mut content = Vec::new();
    content.extend(good(1).as_bytes());
    content.extend(b"{\"timestamp\": \"2024-05-01T12:00:02Z\", oops}\n"); // malformed
    content.extend(good(3).as_bytes());
    content.extend(b"{\"timestamp\":\"2024-05-01T12:00:04Z\",\"user_id\":\"\xff\xfe\"}\n"); // invalid UTF-8
    content.extend(b"\x00\x01\x02\x03binary\x00\n"); // binary
    content.extend(b"{\"timestamp\":\"not a time\",\"action\":\"x\"}\n"); // bad timestamp
    content.extend(b"{\"action\":\"no time\"}\n"); // missing field
    content.extend(good(8).as_bytes());
    // An unfinished last line: held back until its newline arrives (the file may grow).
    content.extend(b"{\"timestamp\":\"2024-05-01T12:00:09Z\",\"action\":\"cut");
    let file = env.write("mixed.jsonl", &content);
    let summary = env.ingest(&[file.to_str().expect("utf8")]);
    assert_eq!(summary["events"], 3, "{summary}");
    assert_eq!(summary["rejected"], 5, "{summary}");
    assert_eq!(summary["unfinished_last_lines"], 1, "{summary}");
    let by = &summary["rejected_by_reason"];
    for (reason, n) in [
        ("malformed_json", 1),
        ("invalid_utf8", 1),
        ("binary", 1),
        ("bad_timestamp", 1),
        ("missing_field", 1),
    ] {
        assert_eq!(by[reason], n, "{reason}: {summary}");
    }
    let q = quarantined(&env);
    let lines: Vec<_> = q.iter().map(|e| e.line.expect("line")).collect();
    assert_eq!(lines, [2, 4, 5, 6, 7]);
    assert!(q.iter().all(|e| e.source.ends_with("mixed.jsonl")));
    assert!(
        q.iter().all(|e| e.vault_id.is_some()),
        "raw record sealed in the vault"
    );
    let lines: Vec<_> = env
        .events()
        .iter()
        .map(|e| e.origin.line.expect("line"))
        .collect();
    assert_eq!(lines, [1, 3, 8]);
}

#[test]
fn huge_line_is_skipped_without_losing_neighbours() {
    let env = Env::new();
    let path = env.path("huge.jsonl");
    let mut f = std::fs::File::create(&path).expect("create");
    f.write_all(good(1).as_bytes()).expect("w");
    // A 100 MB line (over the default 1 MiB cap), written in pieces.
    f.write_all(b"{\"timestamp\":\"2024-05-01T12:00:02Z\",\"blob\":\"")
        .expect("w");
    let piece = vec![b'A'; 1 << 20];
    for _ in 0..100 {
        f.write_all(&piece).expect("w");
    }
    f.write_all(b"\"}\n").expect("w");
    f.write_all(good(3).as_bytes()).expect("w");
    drop(f);
    let summary = env.ingest(&[path.to_str().expect("utf8")]);
    assert_eq!(summary["events"], 2, "{summary}");
    assert_eq!(
        summary["rejected_by_reason"]["line_too_long"], 1,
        "{summary}"
    );
    let q = quarantined(&env);
    assert_eq!(q[0].line, Some(2));
    assert!(q[0].length > 100 << 20);
    assert!(q[0].excerpt.len() < 2048);
}

#[test]
fn truncated_cloudtrail_file_keeps_complete_records() {
    let env = Env::new();
    let file = env.write(
        "trail.json",
        r#"{"Records":[{"eventTime":"2024-05-01T12:00:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"a"},{"eventTime":"2024-05-01T12:00:01Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"b"},{"eventTime":"2024-05-01T12:00:02Z","eventSou"#,
    );
    let summary = env.ingest(&[file.to_str().expect("utf8")]);
    assert_eq!(summary["events"], 2, "{summary}");
    assert_eq!(summary["rejected_by_reason"]["truncated"], 1, "{summary}");
}

#[test]
fn gzipped_cloudtrail_is_read() {
    let env = Env::new();
    let doc = r#"{"Records":[{"eventTime":"2024-05-01T12:00:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","eventID":"a"}]}"#;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(doc.as_bytes()).expect("gz");
    let file = env.write(
        "111_CloudTrail_us-east-1_20240501T1200Z_x.json.gz",
        gz.finish().expect("gz"),
    );
    let summary = env.ingest(&[file.to_str().expect("utf8")]);
    assert_eq!(summary["events"], 1, "{summary}");
    assert_eq!(summary["formats"]["cloudtrail"], 1);
    let again = env.ingest(&[file.to_str().expect("utf8")]);
    assert_eq!(again["events"], 0);
}

#[test]
fn unreadable_and_unknown_files_are_errors_for_that_file_only() {
    let env = Env::new();
    env.write("in/a.jsonl", good(1));
    env.write(
        "in/blob.bin",
        [0u8, 159, 146, 150, 0, 1, 2, 3, 255, 254, 0, 0],
    );
    env.write("in/empty.log", "");
    let missing = env.path("nope.log");
    let summary = env.ingest(&[
        env.path("in").to_str().expect("utf8"),
        missing.to_str().expect("utf8"),
    ]);
    assert_eq!(summary["events"], 1, "{summary}");
    let errors = summary["file_errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 3, "{summary}");
    let text = summary.to_string();
    assert!(text.contains("unknown format"), "{text}");
    assert!(text.contains("empty file"), "{text}");
    assert!(text.contains("No such file"), "{text}");
}

#[test]
fn hostile_escape_sequences_are_stored_but_never_printed_raw() {
    let env = Env::new();
    let file = env.write(
        "evil.jsonl",
        "{\"timestamp\":\"2024-05-01T12:00:00Z\",\"action\":\"x\\u001b]0;pwned\\u0007\\u001b[2J\\u202e\"}\n{\"timestamp\": \x1b[31m}\n",
    );
    let out = env.cmd().arg("ingest").arg(&file).output().expect("run");
    crate::common::assert_success(&out);
    let listing = env.cmd().arg("quarantine").output().expect("run");
    for stream in [&out.stdout, &out.stderr, &listing.stdout] {
        let text = String::from_utf8_lossy(stream);
        assert!(
            !text.contains('\x1b') && !text.contains('\u{202e}'),
            "raw escape printed: {text:?}"
        );
    }
    assert!(String::from_utf8_lossy(&listing.stdout).contains("\\x1b"));
}
