//! Response through the CLI: proposals from historical input, approval and rollback in the
//! sandbox, audit verification and tampering, and live mode running a real command against a
//! temporary file and posting to a loopback webhook.

use crate::common::{Env, assert_success};

fn brute_force_log(env: &Env) -> std::path::PathBuf {
    let mut log = String::new();
    for i in 0..40 {
        log.push_str(&format!(
            "Mar 10 12:{:02}:{:02} bastion sshd[4242]: Failed password for root from 203.0.113.9 port {} ssh2\n",
            i / 6,
            (i * 10) % 60,
            40000 + i
        ));
    }
    env.write("auth.log", log)
}

fn actions(env: &Env, extra: &[&str]) -> Vec<serde_json::Value> {
    let out = env
        .cmd()
        .args(extra)
        .args(["actions", "--json"])
        .output()
        .expect("run");
    assert_success(&out);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("action JSON"))
        .collect()
}

fn find<'a>(list: &'a [serde_json::Value], kind: &str) -> &'a serde_json::Value {
    list.iter()
        .find(|a| a["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {list:?}"))
}

#[test]
fn historical_input_proposes_and_a_person_approves_and_rolls_back_in_the_sandbox() {
    let env = Env::new();
    env.write(
        "config/config.toml",
        r#"[respond]
rules = [{ threat = "brute_force", actions = ["log_event", "notify", "rate_limit_ip", "block_ip"] }]
"#,
    );
    let summary = env.ingest(&[brute_force_log(&env).to_str().expect("utf-8")]);
    assert_eq!(summary["respond_mode"], "sandbox");
    assert_eq!(summary["auto_actions"], 0, "{summary}");
    let list = actions(&env, &[]);
    let rate = find(&list, "rate_limit_ip");
    assert_eq!(rate["state"], "proposed");
    let block = find(&list, "block_ip");
    assert_eq!(block["state"], "pending_approval");
    let preview = block["preview"].as_str().expect("preview");
    assert!(
        preview.contains("IP_ADDRESS_1") && !preview.contains("203.0.113.9"),
        "{preview}"
    );
    let id = block["action_id"].as_u64().expect("id").to_string();

    let out = env
        .cmd()
        .args([
            "actions",
            "approve",
            &id,
            "--reason",
            "confirmed",
            "--as",
            "alice",
        ])
        .output()
        .expect("run");
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("sandboxed"), "{text}");
    assert!(text.contains("approved by alice"), "{text}");
    let out = env
        .cmd()
        .args(["actions", "rollback", &id])
        .output()
        .expect("run");
    assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("rolled_back"));

    let out = env.cmd().args(["audit", "verify"]).output().expect("run");
    assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("audit chain OK"));
    let out = env.cmd().args(["audit", "export"]).output().expect("run");
    let events: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let r: serde_json::Value = serde_json::from_str(l).expect("record");
            r["event"].as_str().expect("event").to_string()
        })
        .collect();
    for e in [
        "proposed",
        "pending_approval",
        "approved",
        "sandboxed",
        "rolled_back",
    ] {
        assert!(events.iter().any(|x| x == e), "{e} missing: {events:?}");
    }
    assert!(!String::from_utf8_lossy(&out.stdout).contains("203.0.113.9"));

    // The report carries the decision, the rollback and the audit head, escaped.
    let out = env
        .cmd()
        .args(["report", "--out"])
        .arg(env.path("report.md"))
        .output()
        .expect("run");
    assert_success(&out);
    let md = std::fs::read_to_string(env.path("report.md")).expect("markdown");
    let html = std::fs::read_to_string(env.path("report.html")).expect("html");
    for text in [&md, &html] {
        assert!(text.contains("approved by alice"), "{text}");
        assert!(text.contains("rolled back (sandbox)"), "{text}");
        assert!(text.contains("audit head: sequence"), "{text}");
        assert!(!text.contains("203.0.113.9"));
    }
    assert!(html.contains("Content-Security-Policy") && !html.contains("http://"));

    // Edit one record behind AutoSec's back: verify names it and fails.
    {
        let store = env.store();
        let (k, v) = store.audit.iter().nth(2).expect("record").expect("read");
        let edited = String::from_utf8_lossy(&v).replace("autosec", "mallory");
        store.audit.insert(k, edited.as_bytes()).expect("tamper");
        store.flush().expect("flush");
    }
    let out = env.cmd().args(["audit", "verify"]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("BROKEN at record 3"));
}

#[test]
fn live_mode_runs_real_commands_and_webhooks_with_real_values_only_in_argv() {
    let env = Env::new();
    let record = env.path("firewall.log");
    let script = env.write(
        "fw.sh",
        format!("#!/bin/sh\necho \"$@\" >> {}\n", record.display()),
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let (addr, bodies) = crate::common::loopback_http("{}".into());
    let url = format!("http://{addr}/hook");
    let s = script.display();
    env.write(
        "config/config.toml",
        format!(
            r#"[respond]
mode = "live"
builtin_never_act = false
min_confidence_auto = 0.0
rules = [{{ threat = "brute_force", actions = ["notify", "rate_limit_ip", "block_ip"] }}]
[respond.executors.rate_limit_ip]
command = ["{s}", "ratelimit", "{{duration}}s", "--", "{{target}}"]
rollback = ["{s}", "unratelimit", "--", "{{target}}"]
[respond.executors.block_ip]
command = ["{s}", "block", "--", "{{target}}"]
rollback = ["{s}", "unblock", "--", "{{target}}"]
[respond.executors.notify]
webhook = "{url}"
"#
        ),
    );
    let log = brute_force_log(&env);
    let out = env
        .cmd()
        .args(["--live", "ingest", "--json", "--respond-as-live"])
        .arg(&log)
        .output()
        .expect("run");
    assert_success(&out);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("summary");
    assert_eq!(summary["respond_mode"], "live");
    let written = std::fs::read_to_string(&record).expect("the command ran");
    assert_eq!(written.trim(), "ratelimit 300s -- 203.0.113.9");
    let list = actions(&env, &[]);
    assert_eq!(find(&list, "rate_limit_ip")["state"], "executed");
    assert_eq!(find(&list, "notify")["state"], "executed");
    let body = bodies.lock().expect("lock").join("\n");
    assert!(
        body.contains("IP_ADDRESS_1") && !body.contains("203.0.113.9"),
        "{body}"
    );

    // RED: nothing until approved, then the real command; rollback runs its inverse.
    let block = find(&list, "block_ip");
    assert_eq!(block["state"], "pending_approval");
    let id = block["action_id"].as_u64().expect("id").to_string();
    assert_success(
        &env.cmd()
            .args(["--live", "actions", "approve", &id])
            .output()
            .expect("run"),
    );
    assert_success(
        &env.cmd()
            .args(["--live", "actions", "rollback", &id])
            .output()
            .expect("run"),
    );
    let written = std::fs::read_to_string(&record).expect("log");
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(
        lines[1..],
        ["block -- 203.0.113.9", "unblock -- 203.0.113.9"]
    );
    // The actions listing and the audit never show the real address.
    let out = env.cmd().args(["audit", "export"]).output().expect("run");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("203.0.113.9"));
    let out = env.cmd().args(["actions"]).output().expect("run");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("203.0.113.9"));
}

/// A live command that hangs until the test lets it go never holds up the engine: decisions and
/// reads are answered while it runs, and its result arrives later as an action update.
#[cfg(unix)]
#[test]
fn a_hung_live_command_runs_beside_the_engine_and_its_result_lands_later() {
    use crate::api::{TOKEN, brute_force_ndjson, start_configured, wait_for};
    let env = Env::new();
    let record = env.path("firewall.log");
    let release = env.path("release");
    let script = env.write(
        "fw.sh",
        format!(
            "#!/bin/sh\nwhile [ ! -e {} ]; do sleep 0.05; done\necho \"$@\" >> {}\n",
            release.display(),
            record.display()
        ),
    );
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let s = script.display();
    let respond = format!(
        r#"[respond]
mode = "live"
builtin_never_act = false
min_confidence_auto = 0.0
command_timeout_secs = 120
rules = [{{ threat = "brute_force", actions = ["rate_limit_ip", "block_ip"] }}]
[respond.executors.rate_limit_ip]
command = ["{s}", "ratelimit", "--", "{{target}}"]
rollback = ["{s}", "unratelimit", "--", "{{target}}"]
[respond.executors.block_ip]
command = ["{s}", "block", "--", "{{target}}"]
rollback = ["{s}", "unblock", "--", "{{target}}"]
"#
    );
    let server = start_configured(&env, &respond, "", &["--live"]);
    let r = server.post(
        "/api/v1/logs/ingest",
        crate::api::SHIPPER,
        "application/x-ndjson",
        brute_force_ndjson(40),
    );
    assert_eq!(r.status(), 200);
    let state_of = |kind: &str| -> Option<(u64, String)> {
        let list = server.json("/api/v1/actions");
        list["actions"]
            .as_array()?
            .iter()
            .find(|a| a["kind"] == kind)
            .map(|a| {
                (
                    a["action_id"].as_u64().expect("id"),
                    a["state"].as_str().unwrap_or_default().to_string(),
                )
            })
    };
    wait_for("rate_limit_ip running", || {
        state_of("rate_limit_ip").is_some_and(|(_, s)| s == "running")
    });
    let (block, _) = state_of("block_ip").expect("block_ip proposed");
    // The engine answers a decision while the first command still hangs.
    let r = server.post(
        &format!("/api/v1/actions/{block}/approve"),
        TOKEN,
        "application/json",
        "",
    );
    assert_eq!(r.status(), 200);
    let approved: serde_json::Value = r.json().expect("json");
    assert_eq!(approved["state"], "running", "{approved}");
    assert_eq!(state_of("rate_limit_ip").expect("rate").1, "running");
    assert!(!record.exists(), "nothing has run to its end yet");

    env.write("release", "");
    wait_for("both executed", || {
        state_of("rate_limit_ip").is_some_and(|(_, s)| s == "executed")
            && state_of("block_ip").is_some_and(|(_, s)| s == "executed")
    });
    let mut lines: Vec<String> = std::fs::read_to_string(&record)
        .expect("record")
        .lines()
        .map(String::from)
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        ["block -- 203.0.113.66", "ratelimit -- 203.0.113.66"]
    );
    // Rollback goes through the worker too, and lands as rolled back.
    let r = server.post(
        &format!("/api/v1/actions/{block}/rollback"),
        TOKEN,
        "application/json",
        "",
    );
    assert_eq!(r.status(), 200);
    wait_for("block rolled back", || {
        state_of("block_ip").is_some_and(|(_, s)| s == "rolled_back")
    });
    let audit = server.json("/api/v1/audit?verify=true");
    assert!(audit.to_string().contains("running"), "{audit}");
    assert!(!audit.to_string().contains("203.0.113.66"), "{audit}");
}
