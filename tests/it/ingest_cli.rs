//! The `ingest` command as a user runs it: stdin, format override, text summary, the data-dir
//! lock, and config errors.

use std::io::Write;
use std::process::Stdio;

use crate::common::{Env, assert_success, jsonl_lines};

#[test]
fn stdin_with_forced_format() {
    let env = Env::new();
    let mut child = env
        .cmd()
        .args(["ingest", "--json", "--format", "jsonl", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(jsonl_lines(25).as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_success(&out);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(summary["events"], 25);
    assert_eq!(env.events()[0].origin.source, "stdin");
}

#[test]
fn text_summary_names_counts_and_rate() {
    let env = Env::new();
    let file = env.write("a.jsonl", format!("{}garbage\n", jsonl_lines(10)));
    let out = env.cmd().arg("ingest").arg(&file).output().expect("run");
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("ingested 10 new events from 1 file(s)"),
        "{text}"
    );
    assert!(text.contains("events/s"), "{text}");
    assert!(
        text.contains("rejected 1 record(s), quarantined: malformed_json 1"),
        "{text}"
    );
}

#[test]
fn second_process_gets_a_clear_lock_error_naming_the_owner() {
    let env = Env::new();
    let file = env.write("a.jsonl", jsonl_lines(5));
    let _held = env.store();
    let out = env.cmd().arg("ingest").arg(&file).output().expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is in use by process"), "{err}");
    assert!(err.contains(&std::process::id().to_string()), "{err}");
}

#[test]
fn bad_config_names_file_line_and_key() {
    let env = Env::new();
    let cfg = env.write(
        "my.toml",
        "[ingest]\nmax_line_bytes = 10\nfollow_pol_ms = 5\n",
    );
    let out = env
        .cmd()
        .arg("--config")
        .arg(&cfg)
        .args(["config", "show"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("my.toml") && err.contains("follow_pol_ms") && err.contains("line 3"),
        "{err}"
    );
}

#[test]
fn config_mapping_is_used_for_custom_json() {
    let env = Env::new();
    let cfg = env.write(
        "map.toml",
        "[ingest.mapping]\ntimestamp = [\"when\"]\nuser = [\"who\"]\n",
    );
    let file = env.write(
        "c.jsonl",
        "{\"when\":\"2024-05-01T12:00:00Z\",\"who\":\"quentin\",\"action\":\"x\"}\n",
    );
    let out = env
        .cmd()
        .arg("--config")
        .arg(&cfg)
        .args(["ingest", "--json"])
        .arg(&file)
        .output()
        .expect("run");
    assert_success(&out);
    assert_eq!(env.events()[0].user_id.as_deref(), Some("USER_A"));
}
