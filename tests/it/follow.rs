//! `--follow` tails files through rotation by rename and by truncation, until Ctrl-C (SIGINT),
//! then stores everything and prints its summary.

use std::io::Write;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::Env;

fn line(i: u32) -> String {
    format!(
        "{{\"timestamp\":\"2024-05-01T12:00:00Z\",\"source_ip\":\"10.0.0.1\",\"user_id\":\"u\",\"action\":\"step\",\"metadata\":{{\"n\":{i}}}}}\n"
    )
}

fn append(path: &std::path::Path, from: u32, to: u32) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open");
    for i in from..to {
        f.write_all(line(i).as_bytes()).expect("write");
    }
}

fn spawn_follow(env: &Env, target: &std::path::Path) -> Child {
    env.cmd()
        .args(["ingest", "--follow", "--json"])
        .arg(target)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn")
}

/// SIGINT (what Ctrl-C sends), then the summary.
fn stop(child: Child) -> serde_json::Value {
    let pid = child.id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    crate::common::assert_success(&out);
    serde_json::from_slice(&out.stdout).expect("summary json")
}

/// Wait until the follower has had time to poll (poll interval is 250 ms).
fn settle() {
    std::thread::sleep(Duration::from_millis(900));
}

fn numbers(env: &Env) -> Vec<u64> {
    let mut n: Vec<u64> = env
        .events()
        .iter()
        .filter_map(|e| e.metadata.get("n").and_then(|v| v.as_u64()))
        .collect();
    n.sort_unstable();
    n
}

#[test]
fn follow_survives_rename_rotation() {
    let env = Env::new();
    let log = env.path("logs/app.jsonl");
    std::fs::create_dir_all(log.parent().expect("parent")).expect("mkdir");
    append(&log, 0, 10);
    let child = spawn_follow(&env, &log);
    settle();
    append(&log, 10, 20);
    settle();
    // logrotate's default: the old file is renamed (and may still be written briefly), a new
    // file takes its name.
    std::fs::rename(&log, env.path("logs/app.jsonl.1")).expect("rename");
    append(&env.path("logs/app.jsonl.1"), 20, 25);
    append(&log, 25, 40);
    settle();
    append(&log, 40, 45);
    settle();
    let summary = stop(child);
    assert_eq!(summary["events"], 45, "{summary}");
    assert_eq!(numbers(&env), (0..45).collect::<Vec<u64>>());
}

#[test]
fn follow_survives_truncation_and_partial_lines() {
    let env = Env::new();
    let log = env.path("app.jsonl");
    append(&log, 0, 5);
    let child = spawn_follow(&env, &log);
    settle();
    // A line written in two parts is read once, whole.
    let l = line(5);
    let (a, b) = l.split_at(20);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .expect("open")
        .write_all(a.as_bytes())
        .expect("w");
    settle();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .expect("open")
        .write_all(b.as_bytes())
        .expect("w");
    settle();
    // copytruncate: the file is emptied in place and written again from the start.
    std::fs::File::create(&log).expect("truncate");
    settle();
    append(&log, 6, 9);
    settle();
    let summary = stop(child);
    assert_eq!(summary["events"], 9, "{summary}");
    assert_eq!(summary["rejected"], 0, "{summary}");
    assert_eq!(numbers(&env), (0..9).collect::<Vec<u64>>());
}

#[test]
fn follow_picks_up_new_files_in_a_directory() {
    let env = Env::new();
    let dir = env.path("spool");
    std::fs::create_dir_all(&dir).expect("mkdir");
    append(&dir.join("a.jsonl"), 0, 3);
    let child = spawn_follow(&env, &dir);
    settle();
    append(&dir.join("b.jsonl"), 3, 6);
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let summary = stop(child);
    assert_eq!(summary["events"], 6, "{summary}");
}

#[test]
fn follow_after_a_batch_ingest_reads_only_new_lines() {
    let env = Env::new();
    let log = env.path("app.jsonl");
    append(&log, 0, 20);
    env.ingest(&[log.to_str().expect("utf8")]);
    let child = spawn_follow(&env, &log);
    settle();
    append(&log, 20, 25);
    settle();
    let summary = stop(child);
    assert_eq!(summary["events"], 5, "{summary}");
    assert_eq!(numbers(&env), (0..25).collect::<Vec<u64>>());
}

/// A followed source is stored in `follow_chunk_events` chunks (a long-running process keeps
/// less in sled's cache), a one-off ingest in `chunk_events` chunks.
#[test]
fn following_stores_smaller_chunks_than_a_one_off_ingest() {
    let chunks = |follow: bool| {
        let env = Env::new();
        let log = env.path("logs/app.jsonl");
        std::fs::create_dir_all(log.parent().expect("parent")).expect("mkdir");
        append(&log, 0, 1000);
        if follow {
            let child = spawn_follow(&env, &log);
            settle();
            assert_eq!(stop(child)["events"], 1000);
        } else {
            env.ingest(&[log.to_str().expect("utf-8 path")]);
        }
        assert_eq!(
            numbers(&env).len(),
            1000,
            "every line stored (follow: {follow})"
        );
        env.store().events.len()
    };
    // Defaults: 512 events per chunk for a one-off ingest, 128 while following.
    assert_eq!(chunks(false), 2);
    assert_eq!(chunks(true), 8);
}
