//! Reducer tests: every transition without a terminal, a clock or a pipeline.

use super::*;
use crate::app::fixture;
use crate::app::state::{Confirm, Focus, Popup, Prompt, SortKey, View};
use crate::domain::{ActionState, CloseReason};
use crate::pipeline::{EngineCommand, PipelineEvent};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ch(c: char) -> Msg {
    key(KeyCode::Char(c))
}

fn typed(s: &mut AppState, text: &str) {
    for c in text.chars() {
        update(s, ch(c));
    }
}

fn state() -> AppState {
    fixture::state(20, 300, false, false)
}

#[test]
fn approving_takes_a_key_and_a_confirmation() {
    let mut s = state();
    update(&mut s, ch('4'));
    assert_eq!(s.view, View::Approvals);
    let id = s.selected_action().unwrap().action_id;
    assert!(
        update(&mut s, ch('a')).is_empty(),
        "the key alone sends nothing"
    );
    assert_eq!(
        s.popup,
        Some(Popup::Confirm(Confirm::Approve {
            action_id: id,
            closed_alert: false
        }))
    );
    // Keys that are not the confirmation do nothing, `q` included.
    assert!(update(&mut s, ch('q')).is_empty());
    assert!(!s.quit);
    let effects = update(&mut s, ch('y'));
    assert_eq!(
        effects,
        vec![Effect::Engine(EngineCommand::Approve {
            action_id: id,
            by: "alice".into(),
            reason: None,
            confirm_closed: false,
        })]
    );
    assert_eq!(s.popup, None);
}

#[test]
fn cancelling_a_confirmation_sends_nothing() {
    let mut s = state();
    update(&mut s, ch('4'));
    for cancel in [ch('n'), key(KeyCode::Esc)] {
        update(&mut s, ch('a'));
        assert!(s.popup.is_some());
        assert!(update(&mut s, cancel).is_empty());
        assert_eq!(s.popup, None);
    }
}

#[test]
fn only_pending_actions_can_be_decided_and_only_run_ones_rolled_back() {
    let mut s = state();
    update(&mut s, ch('5'));
    // Newest first: #5 rolled back, #4 sandboxed RED, …, #1 pending.
    assert_eq!(s.selected_action().unwrap().state, ActionState::RolledBack);
    update(&mut s, ch('a'));
    assert_eq!(s.popup, None);
    assert!(
        s.message
            .as_ref()
            .unwrap()
            .text
            .contains("only actions waiting for approval")
    );
    update(&mut s, ch('u'));
    assert_eq!(
        s.popup, None,
        "a rolled-back action does not roll back again"
    );
    update(&mut s, ch('j'));
    assert_eq!(s.selected_action().unwrap().action_id, 4);
    update(&mut s, ch('u'));
    assert_eq!(
        s.popup,
        Some(Popup::Confirm(Confirm::Rollback { action_id: 4 }))
    );
    assert_eq!(
        update(&mut s, key(KeyCode::Enter)),
        vec![Effect::Engine(EngineCommand::Rollback {
            action_id: 4,
            by: "alice".into()
        })]
    );
}

#[test]
fn rejecting_asks_for_an_optional_reason() {
    let mut s = state();
    update(&mut s, ch('4'));
    update(&mut s, ch('x'));
    assert!(matches!(s.popup, Some(Popup::RejectReason { .. })));
    // Text keys type (even bound ones like `q` and `y`).
    typed(&mut s, "not yours, q");
    update(&mut s, key(KeyCode::Backspace));
    let effects = update(&mut s, key(KeyCode::Enter));
    assert_eq!(
        effects,
        vec![Effect::Engine(EngineCommand::Reject {
            action_id: 1,
            by: "alice".into(),
            reason: Some("not yours,".into()),
        })]
    );
    update(&mut s, ch('x'));
    let effects = update(&mut s, key(KeyCode::Enter));
    assert!(matches!(
        &effects[..],
        [Effect::Engine(EngineCommand::Reject { reason: None, .. })]
    ));
}

#[test]
fn approving_for_a_closed_alert_says_so_in_the_confirmation() {
    let mut s = state();
    let mut closed = fixture::alert(1);
    closed.status = crate::domain::AlertStatus::Closed;
    update(
        &mut s,
        Msg::Pipeline(PipelineEvent::Alert(Box::new(closed))),
    );
    update(&mut s, ch('4'));
    update(&mut s, ch('a'));
    assert_eq!(
        s.popup,
        Some(Popup::Confirm(Confirm::Approve {
            action_id: 1,
            closed_alert: true
        }))
    );
    let effects = update(&mut s, ch('y'));
    assert!(matches!(
        &effects[..],
        [Effect::Engine(EngineCommand::Approve {
            confirm_closed: true,
            ..
        })]
    ));
}

#[test]
fn closing_an_alert_picks_a_reason_and_ack_is_one_key() {
    let mut s = state();
    update(&mut s, ch('2'));
    let id = s.selected_alert().unwrap().alert_id;
    assert_eq!(
        update(&mut s, ch('a')),
        vec![Effect::Engine(EngineCommand::Acknowledge { alert_id: id })]
    );
    update(&mut s, ch('c'));
    assert_eq!(
        s.popup,
        Some(Popup::CloseAlert {
            alert_id: id,
            choice: 0
        })
    );
    update(&mut s, key(KeyCode::Down));
    assert_eq!(
        update(&mut s, key(KeyCode::Enter)),
        vec![Effect::Engine(EngineCommand::Close {
            alert_id: id,
            reason: CloseReason::FalsePositive
        })]
    );
}

#[test]
fn commands_switch_views_set_themes_sort_and_quit() {
    let mut s = state();
    let run = |s: &mut AppState, line: &str| {
        update(s, ch(':'));
        typed(s, line);
        update(s, key(KeyCode::Enter))
    };
    run(&mut s, "audit");
    assert_eq!(s.view, View::Audit);
    run(&mut s, "alerts");
    assert_eq!(s.view, View::Alerts);
    assert_eq!(
        run(&mut s, "theme light"),
        vec![Effect::LoadTheme("light".into())]
    );
    run(&mut s, "sort events");
    assert_eq!(s.sort, SortKey::Events);
    let counts: Vec<u64> = s
        .alert_order
        .iter()
        .map(|&i| &s.alerts[i])
        .filter(|a| a.status != crate::domain::AlertStatus::Closed)
        .map(|a| a.event_count)
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    run(&mut s, "bogus");
    assert!(
        s.message
            .as_ref()
            .unwrap()
            .text
            .contains("unknown command :bogus")
    );
    let effects = run(&mut s, "alert 2");
    assert_eq!(s.view, View::Detail(2));
    assert_eq!(effects.len(), 2, "explanation and timeline requested");
    update(&mut s, ch(':'));
    assert!(matches!(s.prompt, Some(Prompt::Command(_))));
    update(&mut s, key(KeyCode::Esc));
    assert_eq!(s.prompt, None);
    assert_eq!(run(&mut s, "q"), vec![Effect::Quit]);
    assert!(s.quit);
}

#[test]
fn filters_are_regexes_inverted_with_a_bang_and_bad_ones_are_refused() {
    let mut s = state();
    update(&mut s, ch('2'));
    let total = s.alert_order.len();
    update(&mut s, ch('/'));
    typed(&mut s, "brute_force");
    update(&mut s, key(KeyCode::Enter));
    let shown = s.alert_order.len();
    assert!(shown > 0 && shown < total);
    assert!(
        s.alert_order
            .iter()
            .all(|&i| s.alerts[i].threat_type.as_str() == "brute_force")
    );
    update(&mut s, ch('/'));
    update(&mut s, key(KeyCode::Home));
    for _ in 0.."brute_force".len() {
        update(&mut s, key(KeyCode::Backspace));
    }
    typed(&mut s, "!brute_force");
    update(&mut s, key(KeyCode::Enter));
    assert_eq!(s.alert_order.len(), total - shown);
    update(&mut s, ch('/'));
    typed(&mut s, "(");
    update(&mut s, key(KeyCode::Enter));
    assert!(s.message.as_ref().unwrap().text.contains("bad filter"));
    assert_eq!(
        s.alert_filter.as_ref().unwrap().text,
        "!brute_force",
        "old filter kept"
    );
    update(&mut s, key(KeyCode::Backspace));
    assert!(s.alert_filter.is_none());
    assert_eq!(s.alert_order.len(), total);
}

fn lines(from: u64, n: u64) -> Msg {
    Msg::Pipeline(PipelineEvent::Stored {
        stored: n,
        rejected: 0,
        lines: (from..from + n).map(fixture::line).collect(),
    })
}

#[test]
fn the_stream_is_a_bounded_ring_that_pauses_and_follows() {
    let mut s = fixture::state(0, 0, false, false);
    s.stream.capacity = 100;
    update(&mut s, lines(0, 250));
    assert_eq!(s.stream.lines.len(), 100);
    assert_eq!(s.stream.first_seq, 150);
    assert_eq!(s.metrics.events_total, 250);
    update(&mut s, ch('3'));
    update(&mut s, ch(' '));
    assert_eq!(s.stream.anchor, Some(249));
    update(&mut s, lines(250, 30));
    assert_eq!(s.stream.anchor, Some(249), "paused view holds still");
    assert_eq!(s.stream.missed, 30);
    update(&mut s, ch('k'));
    assert_eq!(s.stream.anchor, Some(248));
    update(&mut s, lines(280, 200));
    assert_eq!(
        s.stream.anchor,
        Some(s.stream.first_seq),
        "evicted anchor moves to the oldest kept"
    );
    update(&mut s, ch('f'));
    assert_eq!((s.stream.anchor, s.stream.missed), (None, 0));
    update(&mut s, key(KeyCode::PageUp));
    assert!(s.stream.anchor.is_some());
    update(&mut s, key(KeyCode::End));
    assert_eq!(
        s.stream.anchor, None,
        "scrolling to the newest follows again"
    );
}

#[test]
fn the_stream_filter_tracks_new_and_evicted_lines() {
    let mut s = fixture::state(0, 0, false, false);
    s.stream.capacity = 50;
    update(&mut s, ch('3'));
    update(&mut s, lines(0, 40));
    update(&mut s, ch('/'));
    typed(&mut s, "denied");
    update(&mut s, key(KeyCode::Enter));
    assert_eq!(s.stream.matches.len(), 10);
    update(&mut s, lines(40, 40));
    assert!(s.stream.matches.iter().all(|&q| q >= s.stream.first_seq));
    assert_eq!(s.stream.matches.len(), 13, "every 4th of the 50 kept lines");
    for &q in &s.stream.matches {
        assert_eq!(
            s.stream.get(q).unwrap().status,
            crate::domain::Status::Denied
        );
    }
}

#[test]
fn new_alerts_keep_the_cursor_on_the_same_alert() {
    let mut s = state();
    update(&mut s, ch('2'));
    update(&mut s, ch('j'));
    update(&mut s, ch('j'));
    let id = s.selected_alert().unwrap().alert_id;
    for n in 100..110 {
        update(
            &mut s,
            Msg::Pipeline(PipelineEvent::Alert(Box::new(fixture::alert(n)))),
        );
    }
    assert_eq!(s.selected_alert().unwrap().alert_id, id);
    assert_eq!(s.alerts.len(), 30);
}

#[test]
fn enter_opens_an_alert_and_escape_goes_back() {
    let mut s = state();
    update(&mut s, ch('2'));
    let id = s.selected_alert().unwrap().alert_id;
    let effects = update(&mut s, key(KeyCode::Enter));
    assert_eq!(s.view, View::Detail(id));
    assert_eq!(
        effects,
        vec![
            Effect::Engine(EngineCommand::Explain {
                alert_id: id,
                regenerate: false
            }),
            Effect::Engine(EngineCommand::Timeline { alert_id: id }),
        ]
    );
    update(&mut s, key(KeyCode::Tab));
    assert_eq!(s.focus, Focus::Evidence);
    update(&mut s, key(KeyCode::Esc));
    assert_eq!(s.view, View::Alerts);
}

#[test]
fn evidence_selection_asks_for_the_event_json() {
    let mut s = state();
    update(&mut s, ch(':'));
    typed(&mut s, "alert 1");
    update(&mut s, key(KeyCode::Enter));
    update(&mut s, key(KeyCode::Tab));
    let effects = update(&mut s, ch('j'));
    let expected = s.timelines[&1].events[1].id;
    assert_eq!(
        effects,
        vec![Effect::Engine(EngineCommand::Event { event_id: expected })]
    );
    let effects = update(&mut s, ch('r'));
    assert_eq!(
        effects,
        vec![Effect::Engine(EngineCommand::Explain {
            alert_id: 1,
            regenerate: true
        })]
    );
    assert_eq!(s.explanations[&1].generated, None);
}

#[test]
fn drafts_stream_then_the_verified_text_replaces_them() {
    let mut s = state();
    update(
        &mut s,
        Msg::Pipeline(PipelineEvent::Draft {
            alert_id: 7,
            text: "The ".into(),
        }),
    );
    update(
        &mut s,
        Msg::Pipeline(PipelineEvent::Draft {
            alert_id: 7,
            text: "address".into(),
        }),
    );
    assert_eq!(s.explanations[&7].draft, "The address");
    assert_eq!(
        s.explanations[&7].model,
        crate::app::state::ModelProgress::Writing
    );
    let g = s.explanations[&1].generated.clone().unwrap();
    update(
        &mut s,
        Msg::Pipeline(PipelineEvent::Generated {
            alert_id: 7,
            generated: Box::new(g),
        }),
    );
    assert!(s.explanations[&7].draft.is_empty());
    assert_eq!(
        s.explanations[&7].model,
        crate::app::state::ModelProgress::Done
    );
}

#[test]
fn ticks_roll_rates_and_fade_info_but_not_errors() {
    let mut s = fixture::state(0, 0, false, false);
    update(&mut s, lines(0, 300));
    let t0 = fixture::clock();
    update(&mut s, Msg::Tick(t0));
    assert_eq!(s.metrics.events_per_sec.back(), Some(&300));
    update(&mut s, Msg::Tick(t0 + chrono::Duration::seconds(1)));
    assert_eq!(s.metrics.events_per_sec.back(), Some(&0));
    crate::app::update::say(&mut s, crate::pipeline::Level::Info, "fyi");
    update(&mut s, Msg::Tick(t0 + chrono::Duration::seconds(20)));
    assert!(s.message.is_none());
    crate::app::update::say(&mut s, crate::pipeline::Level::Error, "bad");
    update(&mut s, Msg::Tick(t0 + chrono::Duration::seconds(60)));
    assert!(s.message.is_some());
    for _ in 0..400 {
        update(&mut s, Msg::Tick(t0));
    }
    assert_eq!(
        s.metrics.events_per_sec.len(),
        crate::app::state::RATE_HISTORY
    );
}

#[test]
fn help_opens_and_any_key_closes_it_and_releases_are_ignored() {
    let mut s = state();
    update(&mut s, ch('?'));
    assert_eq!(s.popup, Some(Popup::Help));
    let mut release = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE);
    release.kind = KeyEventKind::Release;
    update(&mut s, Msg::Key(release));
    assert_eq!(s.popup, Some(Popup::Help));
    update(&mut s, ch('x'));
    assert_eq!(s.popup, None);
    update(&mut s, ch('T'));
    let effects = update(&mut s, ch('T'));
    assert!(matches!(&effects[..], [Effect::LoadTheme(_)]));
}

#[test]
fn sorting_cycles_and_reverses() {
    let mut s = state();
    update(&mut s, ch('2'));
    assert_eq!(s.sort, SortKey::Severity);
    update(&mut s, ch('s'));
    assert_eq!(s.sort, SortKey::Confidence);
    update(&mut s, ch('S'));
    assert!(s.sort_reversed);
    let conf: Vec<f32> = s
        .alert_order
        .iter()
        .map(|&i| &s.alerts[i])
        .filter(|a| a.status != crate::domain::AlertStatus::Closed)
        .map(|a| a.confidence)
        .collect();
    assert!(conf.windows(2).all(|w| w[0] <= w[1]), "{conf:?}");
}
