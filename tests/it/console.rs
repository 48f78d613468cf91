//! The console end to end, headless: the real pipeline replays the bundled demo into a temp
//! dir, the real reducer and driver effects run, frames are drawn to a `TestBackend`. It
//! drives the app with keys until a RED approval is pending, approves it (confirmation
//! included, sandboxed), and rolls it back, checking the screen and the audit on the way.

use std::time::{Duration, Instant};

use autosec::app::keymap::Keymap;
use autosec::app::state::{AppState, View};
use autosec::app::theme::Theme;
use autosec::app::update::Msg;
use autosec::config::{Config, ExplainBackend};
use autosec::domain::{ActionState, Tier};
use autosec::pipeline::demo::Demo;
use autosec::pipeline::{Pipeline, PipelineOptions};
use autosec::ui::driver::{Wiring, perform};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

pub(crate) fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

pub(crate) fn screen(terminal: &mut Terminal<TestBackend>, state: &AppState) -> String {
    terminal
        .draw(|f| autosec::ui::draw(f, state))
        .expect("draw");
    let buf = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    // AUTOSEC_SHOW_SCREENS=1 prints each screen the test checks (for reviewing layouts).
    if std::env::var_os("AUTOSEC_SHOW_SCREENS").is_some() {
        eprintln!("{out}");
    }
    out
}

/// Fold pipeline events into the state until `done` holds (or fail after `limit`).
pub(crate) async fn pump_until(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<autosec::pipeline::PipelineEvent>,
    state: &mut AppState,
    wiring: &Wiring,
    limit: Duration,
    what: &str,
    done: impl Fn(&AppState) -> bool,
) {
    let started = Instant::now();
    while !done(state) {
        assert!(
            started.elapsed() < limit,
            "timed out waiting for {what}; last message: {:?}",
            state.message
        );
        match tokio::time::timeout(Duration::from_millis(200), events.recv()).await {
            Ok(Some(ev)) => {
                perform(state, Msg::Pipeline(ev), wiring);
            }
            Ok(None) => panic!("pipeline closed while waiting for {what}"),
            Err(_) => {}
        }
    }
}

/// The real pipeline replaying the demo bundle into `tmp` (lexical retrieval and the template
/// explainer: model tests live elsewhere), with `adjust` applied to the defaults.
fn start_demo(
    tmp: &std::path::Path,
    adjust: impl FnOnce(&mut Config),
) -> (
    Pipeline,
    tokio::task::JoinHandle<anyhow::Result<()>>,
    AppState,
    Wiring,
    u64,
) {
    let mut config = Config::defaults().expect("defaults");
    config.key_dir = Some(tmp.to_path_buf());
    config.intel.model_dir = tmp.join("no-model").display().to_string();
    config.explain.backend = ExplainBackend::Template;
    adjust(&mut config);
    let replay = Demo::load()
        .expect("bundle")
        .prepare(&tmp.join("logs"))
        .expect("prepare");
    let pipeline = Pipeline::start(
        &config,
        PipelineOptions {
            data_dir: tmp.join("data"),
            paths: vec![tmp.join("logs").display().to_string()],
            format: None,
            privacy: true,
            live: false,
            demo: true,
            stream_lines: 2000,
            intel_cache: None,
            http_ingest: false,
        },
    )
    .expect("pipeline");
    let total = replay.total_events();
    let cancel = pipeline.cancel_token();
    let replay_task = tokio::task::spawn_blocking(move || replay.run(1e7, &cancel, |_, _| {}));
    let state = AppState::new(
        Theme::shipped("dark").expect("theme"),
        vec!["dark".into(), "light".into()],
        Keymap::shipped("default").expect("keymap"),
        pipeline.status.clone(),
        2000,
        chrono::Utc::now(),
    );
    let wiring = Wiring {
        commands: pipeline.commands(),
        user_themes: None,
        no_color: false,
        max_fps: 30,
    };
    (pipeline, replay_task, state, wiring, total)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_to_approval_to_rollback_headless() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut pipeline, replay_task, mut state, wiring, _) = start_demo(tmp.path(), |_| {});
    state.operator = "e2e-tester".into();
    let mut terminal = Terminal::new(TestBackend::new(120, 36)).expect("terminal");

    pump_until(
        &mut pipeline.events,
        &mut state,
        &wiring,
        Duration::from_secs(240),
        "a pending RED approval",
        |s| s.pending_approvals() > 0,
    )
    .await;
    let text = screen(&mut terminal, &state);
    assert!(text.contains("DEMO DATA"), "{text}");
    assert!(
        text.contains("SANDBOX") && text.contains("PRIVACY"),
        "{text}"
    );
    assert!(state.metrics.events_total > 0 && !state.alerts.is_empty());
    // Privacy: the stream shows pseudonyms, never the scenario's raw addresses.
    assert!(
        !text.contains("24.14.189.221") && !text.contains("198.14.255.54"),
        "{text}"
    );

    // 4 → approvals; a → a confirmation, nothing sent yet.
    perform(&mut state, key('4'), &wiring);
    assert_eq!(state.view, View::Approvals);
    let action = state.selected_action().expect("a pending action").clone();
    assert_eq!(action.tier, Tier::Red);
    assert_eq!(action.state, ActionState::PendingApproval);
    perform(&mut state, key('a'), &wiring);
    let text = screen(&mut terminal, &state);
    assert!(
        text.contains(&format!("Approve RED action #{}?", action.action_id)),
        "{text}"
    );
    assert!(
        text.contains("SANDBOX: recorded exactly as it would run"),
        "{text}"
    );
    assert_eq!(
        state
            .actions
            .iter()
            .find(|a| a.action_id == action.action_id)
            .map(|a| a.state),
        Some(ActionState::PendingApproval),
        "a key alone decides nothing"
    );
    // y confirms: the decision goes to the engine, which sandboxes it.
    perform(&mut state, key('y'), &wiring);
    let id = action.action_id;
    pump_until(
        &mut pipeline.events,
        &mut state,
        &wiring,
        Duration::from_secs(30),
        "the sandboxed approval",
        |s| {
            s.actions
                .iter()
                .any(|a| a.action_id == id && a.state == ActionState::Sandboxed)
        },
    )
    .await;
    let approved = state
        .actions
        .iter()
        .find(|a| a.action_id == id)
        .expect("action");
    let decision = approved.decision.as_ref().expect("decision recorded");
    assert!(decision.approved && decision.by == "e2e-tester");

    // 5 → every action; move to ours; u → confirm → y rolls it back.
    perform(&mut state, key('5'), &wiring);
    for _ in 0..state.actions.len() {
        if state.selected_action().is_some_and(|a| a.action_id == id) {
            break;
        }
        perform(&mut state, key('j'), &wiring);
    }
    assert_eq!(state.selected_action().map(|a| a.action_id), Some(id));
    perform(&mut state, key('u'), &wiring);
    let text = screen(&mut terminal, &state);
    assert!(
        text.contains(&format!("Roll back RED action #{id}?")),
        "{text}"
    );
    perform(&mut state, key('y'), &wiring);
    pump_until(
        &mut pipeline.events,
        &mut state,
        &wiring,
        Duration::from_secs(30),
        "the rollback",
        |s| {
            s.actions
                .iter()
                .any(|a| a.action_id == id && a.state == ActionState::RolledBack)
        },
    )
    .await;
    pump_until(
        &mut pipeline.events,
        &mut state,
        &wiring,
        Duration::from_secs(10),
        "audit records",
        |s| {
            s.audit
                .iter()
                .any(|r| r.action_id == Some(id) && r.event == "rolled_back")
        },
    )
    .await;
    assert!(
        state
            .audit
            .iter()
            .any(|r| r.action_id == Some(id) && r.event == "approved" && r.actor == "e2e-tester"),
        "approval audited: {:?}",
        state
            .audit
            .iter()
            .filter(|r| r.action_id == Some(id))
            .collect::<Vec<_>>()
    );
    perform(&mut state, key('6'), &wiring);
    let text = screen(&mut terminal, &state);
    assert!(text.contains("rolled_back"), "{text}");

    // Enter on an alert opens its explanation (template) and evidence timeline.
    perform(&mut state, key('2'), &wiring);
    perform(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        &wiring,
    );
    let View::Detail(alert_id) = state.view else {
        panic!("Enter did not open an alert: {:?}", state.view)
    };
    pump_until(
        &mut pipeline.events,
        &mut state,
        &wiring,
        Duration::from_secs(30),
        "explanation and evidence",
        |s| {
            s.explanations
                .get(&alert_id)
                .is_some_and(|e| e.explanation.is_some())
                && s.timelines.contains_key(&alert_id)
                && s.event_json.is_some()
        },
    )
    .await;
    let text = screen(&mut terminal, &state);
    assert!(
        text.contains("Summary") && text.contains("event JSON"),
        "{text}"
    );

    assert!(perform(&mut state, key('q'), &wiring), "q quits");
    pipeline.shutdown().await;
    replay_task.await.expect("replay task").expect("replay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detection_turned_off_in_the_config_stays_off_in_the_console() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut pipeline, replay_task, mut state, wiring, total) =
        start_demo(tmp.path(), |c| c.detect.enabled = false);
    replay_task.await.expect("replay task").expect("replay");
    // With detection on, the demo raises its alerts well before this much is stored.
    pump_until(
        &mut pipeline.events,
        &mut state,
        &wiring,
        Duration::from_secs(120),
        "the demo stored and detection said to be off",
        |s| s.metrics.events_total >= total * 9 / 10 && s.engine.detection.starts_with("off"),
    )
    .await;
    // Detection would raise the demo's alerts within a step (half a second); give it three.
    let settle = Instant::now();
    while settle.elapsed() < Duration::from_secs(3) {
        if let Ok(Some(ev)) =
            tokio::time::timeout(Duration::from_millis(100), pipeline.events.recv()).await
        {
            perform(&mut state, Msg::Pipeline(ev), &wiring);
        }
    }
    assert!(state.alerts.is_empty(), "{} alerts", state.alerts.len());
    pipeline.shutdown().await;
}

#[test]
fn the_console_refuses_without_a_terminal_and_explains_bad_arguments() {
    let env = crate::common::Env::new();
    // Tests run without a tty: the console says what it needs instead of garbling output.
    let out = env.cmd().arg("demo").output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the console needs a terminal"), "{err}");
    let out = env.cmd().arg("console").output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nothing to follow"), "{err}");
    let out = env
        .cmd()
        .args(["demo", "--speed", "0"])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--speed must be a positive number"), "{err}");
    // No command: with no sources configured, the demo (which needs a terminal here).
    let out = env.cmd().output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the console needs a terminal"), "{err}");
    // A bad source format in the config names it.
    let cfg = env.write(
        "bad.toml",
        "[[ingest.sources]]\npath = \"/var/log/a\"\nformat = \"xml\"\n",
    );
    let out = env
        .cmd()
        .arg("--config")
        .arg(&cfg)
        .arg("console")
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("format = \"xml\""), "{err}");
}
