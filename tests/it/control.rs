//! The control socket (DESIGN.md, "Process model") while `autosec serve` owns the data dir:
//! CLI commands answered by the owner, the event stream, and a second console attached in
//! process (`RemotePipeline` + the real reducer and driver effects, drawn to a TestBackend)
//! approving a RED action that the owner then sandboxes and audits.

use std::time::Duration;

use autosec::api::client::Control;
use autosec::api::remote::RemotePipeline;
use autosec::app::keymap::Keymap;
use autosec::app::state::{AppState, View};
use autosec::app::theme::Theme;
use autosec::app::update::Msg;
use autosec::domain::{ActionState, AlertStatus};
use autosec::pipeline::PipelineEvent;
use autosec::ui::driver::{Wiring, perform};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::Value;

use crate::api::{SHIPPER, Server, brute_force_ndjson, start, wait_for};
use crate::common::{Env, assert_success};
use crate::console::{key, pump_until, screen};

/// An owner with a brute-force alert and its RED block_ip waiting: (server, alert, action).
fn owner_with_pending_block(env: &Env) -> (Server, u64, u64) {
    let s = start(env, "");
    let r = s.post(
        "/api/v1/logs/ingest",
        SHIPPER,
        "application/x-ndjson",
        brute_force_ndjson(40),
    );
    assert_eq!(r.status(), 200);
    let mut ids = (0, 0);
    wait_for("a pending block_ip", || {
        let list = s.json("/api/v1/actions?state=pending_approval");
        match list["actions"]
            .as_array()
            .and_then(|l| l.iter().find(|x| x["kind"] == "block_ip"))
        {
            Some(a) => {
                ids = (
                    a["alert_id"].as_u64().expect("alert"),
                    a["action_id"].as_u64().expect("action"),
                );
                true
            }
            None => false,
        }
    });
    (s, ids.0, ids.1)
}

fn run_ok(env: &Env, args: &[&str]) -> (String, String) {
    let out = env.cmd().args(args).output().expect("run");
    assert_success(&out);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_commands_are_answered_by_the_owner_through_its_socket() {
    let env = Env::new();
    let (s, alert_id, action_id) = owner_with_pending_block(&env);

    let (out, err) = run_ok(&env, &["alerts", "--json"]);
    assert!(
        err.contains("asking it through") && err.contains("control.sock"),
        "{err}"
    );
    let listed: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("an alert per line"))
        .collect();
    let ours = listed
        .iter()
        .find(|a| a["alert_id"] == alert_id)
        .expect("the alert is listed");
    assert_eq!(ours["threat_type"], "brute_force");
    assert!(
        ours["evidence"].as_array().is_some_and(|e| e.len() >= 20),
        "--json lists the evidence refs: {ours}"
    );
    assert!(!out.contains("203.0.113.66"), "privacy: {out}");
    let (table, _) = run_ok(&env, &["alerts", "--min-severity", "low"]);
    assert!(
        table.contains("brute_force") && table.contains("alert(s)"),
        "{table}"
    );

    let (out, _) = run_ok(&env, &["actions", "--state", "pending-approval"]);
    assert!(
        out.contains("mode: SANDBOX") && out.contains("block_ip"),
        "{out}"
    );
    let (out, _) = run_ok(&env, &["actions", "show", &action_id.to_string()]);
    assert!(out.contains("rollback:"), "{out}");

    let id = action_id.to_string();
    let (out, _) = run_ok(
        &env,
        &[
            "actions",
            "approve",
            &id,
            "--as",
            "alice",
            "--reason",
            "via the socket",
        ],
    );
    assert!(
        out.contains("sandboxed") && out.contains("approved by alice"),
        "{out}"
    );
    let again = env
        .cmd()
        .args(["actions", "approve", &id])
        .output()
        .expect("run");
    assert_eq!(
        again.status.code(),
        Some(1),
        "a decided action is not approved twice"
    );
    assert!(!String::from_utf8_lossy(&again.stderr).is_empty());
    let (out, _) = run_ok(&env, &["actions", "rollback", &id, "--as", "alice"]);
    assert!(out.contains("rolled_back"), "{out}");

    let (out, _) = run_ok(&env, &["alerts", "ack", &alert_id.to_string()]);
    assert!(out.contains("acknowledged"), "{out}");
    let one = s.json(&format!("/api/v1/threats/{alert_id}"));
    assert_eq!(one["alert"]["status"], "acknowledged", "{one}");
    let missing = env
        .cmd()
        .args(["alerts", "ack", "999999"])
        .output()
        .expect("run");
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no alert 999999"));

    let (out, _) = run_ok(&env, &["explain", &alert_id.to_string()]);
    assert!(out.contains("template only"), "no models in tests: {out}");
    assert!(out.contains("T1110"), "{out}");

    let (out, _) = run_ok(&env, &["audit", "verify"]);
    assert!(out.contains("audit chain OK"), "{out}");
    let (out, _) = run_ok(&env, &["audit", "export"]);
    let records: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("record"))
        .collect();
    assert!(
        records
            .iter()
            .any(|r| r["event"] == "approved" && r["actor"] == "alice"),
        "the owner audited the CLI's decision under its name"
    );
    drop(s);
    // The owner was killed at once (decisions and triage are flushed before they are
    // answered): its socket file is left with nobody listening, so the store opens directly
    // again and holds what the CLI did.
    let (out, err) = run_ok(&env, &["alerts"]);
    assert!(!err.contains("asking it through"), "{err}");
    assert!(out.contains("brute_force") && out.contains("ack"), "{out}");
}

#[test]
fn a_second_console_attaches_to_the_owner_and_its_decisions_run_there() {
    let env = Env::new();
    let (mut s, alert_id, action_id) = owner_with_pending_block(&env);
    let control = Control::of(&env.data()).expect("the owner's socket");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let mut remote = RemotePipeline::attach(control).await.expect("attach");
        assert!(
            remote
                .status
                .attached
                .as_deref()
                .is_some_and(|o| o.contains("serve")),
            "{:?}",
            remote.status
        );
        let mut state = AppState::new(
            Theme::shipped("dark").expect("theme"),
            vec!["dark".into()],
            Keymap::shipped("default").expect("keymap"),
            remote.status.clone(),
            500,
            chrono::Utc::now(),
        );
        state.operator = "second-console".into();
        let wiring = Wiring {
            commands: remote.commands(),
            user_themes: None,
            no_color: false,
            max_fps: 30,
        };
        let mut terminal = Terminal::new(TestBackend::new(160, 40)).expect("terminal");
        // The replay brings the owner's picture: totals, the alert, the pending action.
        pump_until(
            &mut remote.events,
            &mut state,
            &wiring,
            Duration::from_secs(30),
            "the owner's picture",
            |s| s.pending_approvals() > 0 && s.metrics.events_total >= 40,
        )
        .await;
        let text = screen(&mut terminal, &state);
        assert!(text.contains("ATTACHED to pid"), "{text}");
        assert!(text.contains("SANDBOX"), "{text}");

        perform(&mut state, key('4'), &wiring);
        assert_eq!(
            state.selected_action().map(|a| a.action_id),
            Some(action_id)
        );
        perform(&mut state, key('a'), &wiring);
        perform(&mut state, key('y'), &wiring);
        pump_until(
            &mut remote.events,
            &mut state,
            &wiring,
            Duration::from_secs(30),
            "the approval, back through the event stream",
            |s| {
                s.actions.iter().any(|a| {
                    a.action_id == action_id
                        && a.state == ActionState::Sandboxed
                        && a.decision
                            .as_ref()
                            .is_some_and(|d| d.by == "second-console")
                })
            },
        )
        .await;
        pump_until(
            &mut remote.events,
            &mut state,
            &wiring,
            Duration::from_secs(10),
            "the owner's audit record",
            |s| {
                s.audit
                    .iter()
                    .any(|r| r.event == "approved" && r.actor == "second-console")
            },
        )
        .await;
        let seqs: Vec<u64> = state.audit.iter().map(|r| r.seq).collect();
        let mut unique = seqs.clone();
        unique.dedup();
        assert_eq!(seqs, unique, "no audit record shown twice");

        // Close the alert from here; the detail view gets its timeline and event JSON.
        perform(&mut state, key('2'), &wiring);
        perform(
            &mut state,
            Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
            &wiring,
        );
        let View::Detail(opened) = state.view else {
            panic!("Enter did not open an alert: {:?}", state.view)
        };
        pump_until(
            &mut remote.events,
            &mut state,
            &wiring,
            Duration::from_secs(30),
            "explanation, timeline and event JSON from the owner",
            |s| {
                s.explanations
                    .get(&opened)
                    .is_some_and(|e| e.explanation.is_some())
                    && s.timelines.contains_key(&opened)
                    && s.event_json.is_some()
            },
        )
        .await;
        let text = screen(&mut terminal, &state);
        assert!(text.contains("event JSON"), "{text}");
        wiring
            .commands
            .send(autosec::pipeline::EngineCommand::Close {
                alert_id,
                reason: autosec::domain::CloseReason::TruePositive,
            })
            .expect("send");
        pump_until(
            &mut remote.events,
            &mut state,
            &wiring,
            Duration::from_secs(30),
            "the closed alert",
            |s| {
                s.alerts
                    .iter()
                    .any(|a| a.alert_id == alert_id && a.status == AlertStatus::Closed)
            },
        )
        .await;

        // The owner stops: the attached console says so instead of hanging.
        let _ = s.child.kill();
        let _ = s.child.wait();
        let said = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(ev) = remote.events.recv().await {
                if let PipelineEvent::Notice { text, .. } = ev
                    && text.contains("detached")
                {
                    return text;
                }
            }
            String::new()
        })
        .await
        .expect("a notice when the owner goes");
        assert!(said.contains("owner"), "{said}");
        remote.detach();
    });
}
