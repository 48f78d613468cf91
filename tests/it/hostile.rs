//! Hostile input, each case as the audit reproduced it (issue: hardening): raw values that
//! leaked with privacy on, and forged pseudonyms that could aim a response.

use crate::common::{Env, assert_success, files_under};

/// Every stored event as JSON, plus every sled file's raw bytes, plus what `quarantine`
/// prints: the places a raw value must never be.
fn everything_stored(env: &Env) -> Vec<String> {
    let mut out: Vec<String> = env
        .events()
        .iter()
        .map(|e| serde_json::to_string(e).expect("json"))
        .collect();
    for file in files_under(&env.data()) {
        out.push(String::from_utf8_lossy(&std::fs::read(&file).expect("read")).into_owned());
    }
    let q = env
        .cmd()
        .args(["quarantine", "--json"])
        .output()
        .expect("quarantine");
    assert_success(&q);
    out.push(String::from_utf8_lossy(&q.stdout).into_owned());
    out
}

fn assert_absent(env: &Env, raws: &[&str]) {
    for text in everything_stored(env) {
        for raw in raws {
            assert!(!text.contains(raw), "{raw} is stored: {text}");
        }
    }
}

#[test]
fn json_object_keys_are_redacted() {
    let env = Env::new();
    let log = env.write(
        "keys.jsonl",
        "{\"timestamp\":\"2026-11-01T10:00:00Z\",\"action\":\"api_call\",\"requestParameters\":{\"10.20.30.40\":1,\"alice.keys@example.org\":2}}\n",
    );
    env.ingest(&[log.to_str().expect("path")]);
    assert_eq!(env.events().len(), 1);
    assert_absent(&env, &["10.20.30.40", "alice.keys@example.org"]);
}

#[test]
fn an_account_with_a_slash_is_one_account() {
    let env = Env::new();
    let log = env.write(
        "krb.jsonl",
        "{\"timestamp\":\"2026-11-01T10:00:00Z\",\"action\":\"login\",\"user_id\":\"kalice/admin@EXAMPLE.COM\",\"status\":\"success\"}\n",
    );
    env.ingest(&[log.to_str().expect("path")]);
    let events = env.events();
    let user = events[0].user_id.clone().unwrap_or_default();
    assert!(!user.contains("kalice"), "{user}");
    assert_absent(&env, &["kalice"]);
}

#[test]
fn quarantine_excerpts_are_redacted_before_they_are_cut() {
    let env = Env::new();
    // Not JSON, with an address and an email straddling the 512-byte excerpt limit.
    let pad = "x".repeat(500);
    let line = format!("{{not json {pad} 203.0.113.45 mallory.cut@example.org trailing\n");
    let log = env.write("bad.jsonl", &line);
    let summary = env.ingest(&["--format", "jsonl", log.to_str().expect("path")]);
    assert_eq!(summary["rejected"], 1, "{summary}");
    assert_absent(&env, &["203.0.113.", "mallory.cut@", "example.c"]);
}

#[test]
fn pam_rhost_hostnames_are_redacted_and_count_as_the_source() {
    let env = Env::new();
    let mut lines = String::new();
    // sshd with UseDNS logs the name in both of an attempt's lines.
    for i in 0..6 {
        lines.push_str(&format!(
            "Dec  1 10:00:0{i} web-1 sshd[77{i}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203-0-113-7.isp.example  user=root\n\
             Dec  1 10:00:0{i} web-1 sshd[77{i}]: Failed password for root from 203-0-113-7.isp.example port 4{i}022 ssh2\n"
        ));
    }
    let log = env.write("auth.log", &lines);
    let summary = env.ingest(&[log.to_str().expect("path")]);
    assert_absent(&env, &["203-0-113-7", "isp.example"]);
    let events = env.events();
    assert!(
        events.iter().all(|e| e
            .source_ip
            .as_deref()
            .is_some_and(|s| s.starts_with("HOST_"))),
        "{events:?}"
    );
    // Six failures from one host: fail2ban would ban it, so there is a brute-force alert.
    assert!(summary["alerts"].as_u64().unwrap_or(0) >= 1, "{summary}");
}

#[test]
fn values_shaped_like_our_tokens_are_pseudonymised_not_trusted() {
    let env = Env::new();
    // A real address gets token 1 first; then a record claims to come from "IP_ADDRESS_1"
    // and to be "USER_A" — a forged X-Forwarded-For or ingest token holder.
    let log = env.write(
        "forged.jsonl",
        "{\"timestamp\":\"2026-11-01T10:00:00Z\",\"action\":\"login\",\"source_ip\":\"198.51.100.23\",\"user_id\":\"victor\",\"status\":\"success\",\"email\":\"victor@example.org\"}\n\
         {\"timestamp\":\"2026-11-01T10:00:01Z\",\"action\":\"login\",\"source_ip\":\"IP_ADDRESS_1\",\"user_id\":\"USER_A\",\"status\":\"failed\",\"email\":\"user1***@example.org\"}\n",
    );
    env.ingest(&[log.to_str().expect("path")]);
    let events = env.events();
    assert_eq!(events.len(), 2);
    let (real, forged) = (&events[0], &events[1]);
    assert_eq!(real.source_ip.as_deref(), Some("IP_ADDRESS_1"));
    assert_eq!(real.user_id.as_deref(), Some("USER_A"));
    // The forged values got tokens of their own: never the real ones.
    assert_ne!(forged.source_ip, real.source_ip, "{forged:?}");
    assert_ne!(forged.user_id, real.user_id, "{forged:?}");
    assert!(
        forged
            .source_ip
            .as_deref()
            .is_some_and(|s| s.starts_with("HOST_")),
        "{forged:?}"
    );
    assert_eq!(real.metadata["email"], "user1***@example.org", "{real:?}");
    assert_ne!(
        forged.metadata["email"], real.metadata["email"],
        "{forged:?}"
    );
}

/// CSV flow exports whose shared header is longer than the 1 KiB head fingerprint.
fn flow_export(rows: std::ops::Range<u32>) -> String {
    let header: Vec<String> = (0..90)
        .map(|i| format!("Flow Feature Column {i}"))
        .collect();
    let mut out = format!("timestamp,{}\n", header.join(","));
    for r in rows {
        let row: Vec<String> = (0..90).map(|i| (r * 100 + i).to_string()).collect();
        out.push_str(&format!(
            "2026-11-01T10:{:02}:00Z,{}\n",
            r % 60,
            row.join(",")
        ));
    }
    out
}

#[test]
fn files_sharing_a_long_header_are_each_read_whole() {
    let env = Env::new();
    let a = env.write("flows/a.csv", flow_export(0..20));
    let b = env.write("flows/b.csv", flow_export(20..40));
    let first = env.ingest(&[a.to_str().expect("path")]);
    assert_eq!(first["events"], 20, "{first}");
    let second = env.ingest(&[b.to_str().expect("path")]);
    assert_eq!(second["events"], 20, "{second}");
    assert_eq!(second["files_up_to_date"], 0, "{second}");
    // A rotated copy of a is still recognised as read.
    let rotated = env.path("flows/a.csv.1");
    std::fs::rename(&a, &rotated).expect("rotate");
    let again = env.ingest(&[rotated.to_str().expect("path")]);
    assert_eq!(again["events"], 0, "{again}");
}

#[test]
fn a_file_that_grew_then_was_rotated_and_compressed_keeps_its_tail() {
    use std::io::Write;
    let env = Env::new();
    let log = env.write("flows/f.csv", flow_export(0..10));
    assert_eq!(env.ingest(&[log.to_str().expect("path")])["events"], 10);
    std::fs::write(&log, flow_export(0..15)).expect("grow");
    let gz = env.path("flows/f.csv.1.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).expect("gz"),
        flate2::Compression::fast(),
    );
    enc.write_all(&std::fs::read(&log).expect("read"))
        .expect("compress");
    enc.finish().expect("finish");
    std::fs::remove_file(&log).expect("rotate");
    let summary = env.ingest(&[gz.to_str().expect("path")]);
    assert_eq!(summary["events"], 5, "{summary}");
    assert_eq!(env.events().len(), 15);
}

#[test]
fn an_unfinished_last_line_is_held_back_until_it_ends() {
    let env = Env::new();
    let line = |i: u32| {
        format!(
            "{{\"timestamp\":\"2026-11-01T10:00:0{i}Z\",\"action\":\"login\",\"user_id\":\"u{i}\",\"status\":\"success\"}}"
        )
    };
    let full = format!("{}\n{}\n", line(1), line(2));
    let (head, tail) = full.split_at(full.len() - 20);
    let log = env.write("app.jsonl", format!("{}\n{head}", line(0)));
    let summary = env.ingest(&[log.to_str().expect("path")]);
    assert_eq!(summary["events"], 2, "{summary}");
    assert_eq!(summary["unfinished_last_lines"], 1, "{summary}");
    assert_eq!(summary["rejected"], 0, "{summary}");
    std::fs::write(&log, format!("{}\n{head}{tail}", line(0))).expect("grow");
    let summary = env.ingest(&[log.to_str().expect("path")]);
    assert_eq!(summary["events"], 1, "{summary}");
    assert_eq!(summary["rejected"], 0, "{summary}");
    assert_eq!(env.events().len(), 3);
}

#[test]
fn blank_lines_are_counted_not_stored_and_junk_is_capped() {
    let env = Env::new();
    let mut text = "\n".repeat(5_000);
    for i in 0..10_050 {
        text.push_str(&format!("junk {i}\n"));
    }
    let log = env.write("junk.jsonl", text);
    let summary = env.ingest(&["--format", "jsonl", log.to_str().expect("path")]);
    assert_eq!(summary["blank_lines"], 5_000, "{summary}");
    assert_eq!(summary["rejected"], 10_050, "{summary}");
    assert_eq!(summary["quarantine_not_kept"], 50, "{summary}");
    assert_eq!(env.store().quarantine.len(), 10_000);
}

#[test]
fn events_dated_far_in_the_future_are_rejected() {
    let env = Env::new();
    let log = env.write(
        "future.jsonl",
        "{\"timestamp\":\"2999-01-01T00:00:00Z\",\"action\":\"login\",\"status\":\"success\"}\n\
         {\"timestamp\":9999999999999,\"action\":\"login\",\"status\":\"success\"}\n\
         {\"timestamp\":\"2026-11-01T00:00:00Z\",\"action\":\"login\",\"status\":\"success\"}\n",
    );
    let summary = env.ingest(&[log.to_str().expect("path")]);
    assert_eq!(summary["events"], 1, "{summary}");
    assert_eq!(
        summary["rejected_by_reason"]["bad_timestamp"], 2,
        "{summary}"
    );
}

#[test]
fn a_store_whose_vault_key_is_missing_is_refused_not_rekeyed() {
    let env = Env::new();
    let log = env.write(
        "auth.jsonl",
        "{\"timestamp\":\"2026-11-01T10:00:00Z\",\"action\":\"login\",\"source_ip\":\"198.51.100.7\",\"status\":\"success\"}\n",
    );
    env.ingest(&[log.to_str().expect("path")]);
    let key = env.path("config/vault.key");
    std::fs::remove_file(&key).expect("remove key");
    let out = env
        .cmd()
        .args(["ingest", log.to_str().expect("path")])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("vault.key") && err.contains("missing"),
        "{err}"
    );
    assert!(!key.exists(), "a new key was made");
}

#[test]
fn the_data_dir_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let log = env.write(
        "a.jsonl",
        "{\"timestamp\":\"2026-11-01T10:00:00Z\",\"action\":\"x\"}\n",
    );
    env.ingest(&[log.to_str().expect("path")]);
    let mode = std::fs::metadata(env.data())
        .expect("data")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "{mode:o}");
}

#[test]
fn events_stored_but_never_analysed_are_analysed_on_the_next_start() {
    let env = Env::new();
    let mut lines = String::new();
    for i in 0..12 {
        lines.push_str(&format!(
            "Dec  1 10:00:{:02} web-1 sshd[9{i:02}]: Failed password for root from 198.51.100.77 port 4{i:04} ssh2\n",
            i * 4
        ));
    }
    let log = env.write("auth.log", &lines);
    // The events are stored and checkpointed, and detection never runs on them (as when the
    // process dies between the two).
    let out = env.ingest_with_config(
        "[detect]\nenabled = false\n",
        &[log.to_str().expect("path")],
    );
    assert_success(&out);
    let first: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(first["events"], 12, "{first}");
    assert_eq!(first["alerts"], 0, "{first}");
    // The next start has nothing new to read, and still analyses what was never analysed.
    let second = env.ingest(&[log.to_str().expect("path")]);
    assert_eq!(second["events"], 0, "{second}");
    assert!(second["alerts"].as_u64().unwrap_or(0) >= 1, "{second}");
    // …once: a third start raises nothing more.
    let third = env.ingest(&[log.to_str().expect("path")]);
    assert_eq!(third["alerts"], 0, "{third}");
}

#[test]
fn a_gzip_that_inflates_past_the_cap_stops_there_and_says_so() {
    use std::io::Write;
    let env = Env::new();
    let gz = env.path("bomb.log.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).expect("gz"),
        flate2::Compression::best(),
    );
    enc.write_all(
        b"Dec  1 10:00:00 web-1 sshd[1]: Accepted publickey for root from 198.51.100.1 port 1 ssh2\n",
    )
    .expect("line");
    let newlines = vec![b'\n'; 1 << 20];
    for _ in 0..3 {
        enc.write_all(&newlines).expect("newlines");
    }
    enc.finish().expect("finish");
    let out = env.ingest_with_config(
        "[ingest]\nmax_inflated_mb = 2\n",
        &[gz.to_str().expect("path")],
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(summary["events"], 1, "{summary}");
    let errors = summary["file_errors"].to_string();
    assert!(errors.contains("max_inflated_mb"), "{summary}");
    // Blank lines were counted, not stored; nothing quarantined.
    assert_eq!(summary["rejected"], 0, "{summary}");
}
