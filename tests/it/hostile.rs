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
