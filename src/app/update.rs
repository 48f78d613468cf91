//! The reducer: `update(&mut AppState, Msg) -> Vec<Effect>`. Pure — no terminal, no IO, no
//! clock — so every transition is tested without a terminal. The driver performs the effects.

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::apply;
use super::command;
use super::state::{
    AppState, Confirm, Filter, Focus, Message, ModelProgress, Popup, Prompt, SortKey, View,
};
use crate::app::keymap::KeyAction;
use crate::app::theme::Theme;
use crate::domain::{ActionState, CloseReason};
use crate::pipeline::{EngineCommand, Level, PipelineEvent};

/// What the console reacts to.
#[derive(Debug, Clone)]
pub enum Msg {
    /// A key from the terminal.
    Key(KeyEvent),
    /// The terminal was resized (nothing to change; the next frame fits itself).
    Resize,
    /// One second passed (the driver's clock, so tests fix time).
    Tick(DateTime<Utc>),
    /// Something from the pipeline.
    Pipeline(PipelineEvent),
    /// A theme the driver loaded (with the error, if the file was bad and `dark` was used).
    ThemeLoaded(Box<Theme>, Option<String>),
}

/// What the driver must do after an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send a command to the pipeline.
    Engine(EngineCommand),
    /// Load a theme by name (reads the user's theme dir).
    LoadTheme(String),
    /// Stop the pipeline and leave.
    Quit,
}

/// Reasons offered when closing an alert, in the dialog's order.
pub const CLOSE_REASONS: [CloseReason; 4] = [
    CloseReason::TruePositive,
    CloseReason::FalsePositive,
    CloseReason::Benign,
    CloseReason::Duplicate,
];

/// Lines a page key moves.
const PAGE: usize = 20;

pub fn update(s: &mut AppState, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Key(key) if key.kind != KeyEventKind::Release => on_key(s, key),
        Msg::Key(_) | Msg::Resize => Vec::new(),
        Msg::Tick(now) => {
            apply::tick(s, now);
            Vec::new()
        }
        Msg::Pipeline(event) => apply::apply(s, event),
        Msg::ThemeLoaded(theme, err) => {
            let monochrome = s.theme.monochrome;
            s.theme = if monochrome {
                theme.without_colour()
            } else {
                *theme
            };
            match err {
                Some(e) => say(s, Level::Error, e),
                None => {
                    let name = s.theme.name.clone();
                    say(s, Level::Info, format!("theme {name}"));
                }
            }
            Vec::new()
        }
    }
}

pub fn say(s: &mut AppState, level: Level, text: impl Into<String>) {
    s.message = Some(Message {
        level,
        text: text.into(),
        at: s.now,
    });
}

fn on_key(s: &mut AppState, key: KeyEvent) -> Vec<Effect> {
    if s.prompt.is_some() {
        return on_prompt_key(s, key);
    }
    if let Some(Popup::RejectReason { .. }) = &s.popup {
        return on_reason_key(s, key);
    }
    if let Some(popup) = s.popup.clone() {
        let action = s.keymap.lookup("popup", &key);
        return on_popup(s, popup, action, &key);
    }
    match s.keymap.lookup(s.view.section(), &key) {
        Some(action) => on_action(s, action),
        None => Vec::new(),
    }
}

/// Typing in the `:` or `/` line: text keys edit, Enter submits, Esc cancels.
fn on_prompt_key(s: &mut AppState, key: KeyEvent) -> Vec<Effect> {
    let Some(prompt) = s.prompt.as_mut() else {
        return Vec::new();
    };
    let text = match prompt {
        Prompt::Command(t) | Prompt::Filter(t) => t,
    };
    match key.code {
        KeyCode::Esc => s.prompt = None,
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => text.clear(),
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) && text.len() < 512 => {
            text.push(c)
        }
        KeyCode::Enter => {
            let prompt = s.prompt.take();
            return match prompt {
                Some(Prompt::Command(line)) => command::run(s, &line),
                Some(Prompt::Filter(text)) => {
                    set_filter(s, &text);
                    Vec::new()
                }
                None => Vec::new(),
            };
        }
        _ => {}
    }
    Vec::new()
}

fn on_reason_key(s: &mut AppState, key: KeyEvent) -> Vec<Effect> {
    let Some(Popup::RejectReason { action_id, text }) = s.popup.as_mut() else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Esc => s.popup = None,
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) && text.len() < 500 => {
            text.push(c)
        }
        KeyCode::Enter => {
            let reason = (!text.trim().is_empty()).then(|| text.trim().to_string());
            let action_id = *action_id;
            s.popup = None;
            say(s, Level::Info, format!("rejecting action #{action_id}…"));
            return vec![Effect::Engine(EngineCommand::Reject {
                action_id,
                by: s.operator.clone(),
                reason,
            })];
        }
        _ => {}
    }
    Vec::new()
}

fn on_popup(
    s: &mut AppState,
    popup: Popup,
    action: Option<KeyAction>,
    key: &KeyEvent,
) -> Vec<Effect> {
    match (popup, action) {
        (Popup::Help, _) => {
            // Any key closes help; `?` toggles it.
            if key.code != KeyCode::Null {
                s.popup = None;
            }
            Vec::new()
        }
        (_, Some(KeyAction::Cancel)) => {
            s.popup = None;
            Vec::new()
        }
        (Popup::CloseAlert { alert_id, choice }, Some(a @ (KeyAction::Up | KeyAction::Down))) => {
            let next = if a == KeyAction::Up {
                choice.saturating_sub(1)
            } else {
                (choice + 1).min(CLOSE_REASONS.len() - 1)
            };
            s.popup = Some(Popup::CloseAlert {
                alert_id,
                choice: next,
            });
            Vec::new()
        }
        (Popup::CloseAlert { alert_id, choice }, Some(KeyAction::Confirm)) => {
            s.popup = None;
            vec![Effect::Engine(EngineCommand::Close {
                alert_id,
                reason: CLOSE_REASONS[choice.min(CLOSE_REASONS.len() - 1)],
            })]
        }
        (Popup::Confirm(c), Some(KeyAction::Confirm)) => {
            s.popup = None;
            let by = s.operator.clone();
            let cmd = match c {
                Confirm::Approve {
                    action_id,
                    closed_alert,
                } => {
                    say(s, Level::Info, format!("approving action #{action_id}…"));
                    EngineCommand::Approve {
                        action_id,
                        by,
                        reason: None,
                        confirm_closed: closed_alert,
                    }
                }
                Confirm::Rollback { action_id } => {
                    say(s, Level::Info, format!("rolling back action #{action_id}…"));
                    EngineCommand::Rollback { action_id, by }
                }
            };
            vec![Effect::Engine(cmd)]
        }
        _ => Vec::new(),
    }
}

fn on_action(s: &mut AppState, action: KeyAction) -> Vec<Effect> {
    use KeyAction as K;
    match action {
        K::Quit => {
            s.quit = true;
            return vec![Effect::Quit];
        }
        K::Help => s.popup = Some(Popup::Help),
        K::CommandMode => s.prompt = Some(Prompt::Command(String::new())),
        K::Filter => {
            let current = focused_filter(s)
                .map(|f| f.text.clone())
                .unwrap_or_default();
            s.prompt = Some(Prompt::Filter(current));
        }
        K::ClearFilter => set_filter(s, ""),
        K::Back => match s.view {
            View::Detail(_) => {
                s.view = s.previous;
                s.focus = Focus::Alerts;
            }
            View::Dashboard => {}
            _ => s.view = View::Dashboard,
        },
        K::NextPane | K::PrevPane => {
            s.focus = match (s.view, s.focus) {
                (View::Dashboard, Focus::Alerts) => Focus::Stream,
                (View::Dashboard, _) => Focus::Alerts,
                (View::Detail(_), Focus::Explanation) => Focus::Evidence,
                (View::Detail(_), _) => Focus::Explanation,
                (_, f) => f,
            }
        }
        K::Up => return move_cursor(s, -1),
        K::Down => return move_cursor(s, 1),
        K::PageUp => return move_cursor(s, -(PAGE as i64)),
        K::PageDown => return move_cursor(s, PAGE as i64),
        K::Top => return move_cursor(s, i64::MIN / 2),
        K::Bottom => return move_cursor(s, i64::MAX / 2),
        K::Select => return select(s),
        K::ViewDashboard => switch(s, View::Dashboard),
        K::ViewAlerts => switch(s, View::Alerts),
        K::ViewStream => switch(s, View::Stream),
        K::ViewApprovals => switch(s, View::Approvals),
        K::ViewActions => switch(s, View::Actions),
        K::ViewAudit => switch(s, View::Audit),
        K::NextTheme => {
            let names = &s.theme_names;
            let at = names.iter().position(|n| *n == s.theme.name).unwrap_or(0);
            if let Some(next) = names.get((at + 1) % names.len().max(1)) {
                return vec![Effect::LoadTheme(next.clone())];
            }
        }
        K::TogglePause => apply::toggle_pause(s),
        K::Follow => {
            s.stream.anchor = None;
            s.stream.missed = 0;
            s.audit_selected = None;
        }
        K::SortNext => {
            let at = SortKey::ALL.iter().position(|k| *k == s.sort).unwrap_or(0);
            s.sort = SortKey::ALL[(at + 1) % SortKey::ALL.len()];
            apply::resort(s);
            let name = s.sort.name();
            say(s, Level::Info, format!("sorted by {name}"));
        }
        K::SortReverse => {
            s.sort_reversed = !s.sort_reversed;
            apply::resort(s);
        }
        K::Acknowledge => {
            if let Some(a) = s.current_alert() {
                let alert_id = a.alert_id;
                return vec![Effect::Engine(EngineCommand::Acknowledge { alert_id })];
            }
        }
        K::CloseAlert => {
            if let Some(a) = s.current_alert() {
                s.popup = Some(Popup::CloseAlert {
                    alert_id: a.alert_id,
                    choice: 0,
                });
            }
        }
        K::Regenerate => {
            if let View::Detail(alert_id) = s.view {
                let e = s.explanations.entry(alert_id).or_default();
                e.draft.clear();
                e.generated = None;
                e.model = ModelProgress::Waiting;
                return vec![Effect::Engine(EngineCommand::Explain {
                    alert_id,
                    regenerate: true,
                })];
            }
        }
        K::Approve => decide(s, Decide::Approve),
        K::Reject => decide(s, Decide::Reject),
        K::Rollback => decide(s, Decide::Rollback),
        K::Confirm | K::Cancel => {}
    }
    Vec::new()
}

fn switch(s: &mut AppState, view: View) {
    s.view = view;
    s.focus = match view {
        View::Stream => Focus::Stream,
        _ => Focus::Alerts,
    };
}

/// Open an alert in the detail view and ask for what it shows.
pub(super) fn open_detail(s: &mut AppState, alert_id: u64) -> Vec<Effect> {
    if !matches!(s.view, View::Detail(_)) {
        s.previous = s.view;
    }
    s.view = View::Detail(alert_id);
    s.focus = Focus::Explanation;
    s.detail_scroll = 0;
    s.evidence_selected = 0;
    s.event_json = None;
    vec![
        Effect::Engine(EngineCommand::Explain {
            alert_id,
            regenerate: false,
        }),
        Effect::Engine(EngineCommand::Timeline { alert_id }),
    ]
}

fn select(s: &mut AppState) -> Vec<Effect> {
    match (s.view, s.focus) {
        (View::Dashboard | View::Alerts, Focus::Alerts) => match s.selected_alert() {
            Some(a) => {
                let id = a.alert_id;
                open_detail(s, id)
            }
            None => Vec::new(),
        },
        (View::Approvals | View::Actions, _) => match s.selected_action() {
            Some(a) => {
                let id = a.alert_id;
                open_detail(s, id)
            }
            None => Vec::new(),
        },
        (View::Detail(_), Focus::Explanation) => {
            s.focus = Focus::Evidence;
            Vec::new()
        }
        _ => Vec::new(),
    }
}

enum Decide {
    Approve,
    Reject,
    Rollback,
}

/// A decision key only opens a dialog; the dialog's confirmation sends the decision.
fn decide(s: &mut AppState, what: Decide) {
    let Some(a) = s.selected_action() else {
        say(s, Level::Warn, "no action selected");
        return;
    };
    let (id, state) = (a.action_id, a.state);
    let alert_closed = s
        .alert(a.alert_id)
        .is_some_and(|al| al.status == crate::domain::AlertStatus::Closed);
    match what {
        Decide::Approve | Decide::Reject if state != ActionState::PendingApproval => {
            let st = state.as_str();
            say(
                s,
                Level::Warn,
                format!("action #{id} is {st}: only actions waiting for approval can be decided"),
            );
        }
        Decide::Approve => {
            s.popup = Some(Popup::Confirm(Confirm::Approve {
                action_id: id,
                closed_alert: alert_closed,
            }))
        }
        Decide::Reject => {
            s.popup = Some(Popup::RejectReason {
                action_id: id,
                text: String::new(),
            })
        }
        Decide::Rollback if !matches!(state, ActionState::Sandboxed | ActionState::Executed) => {
            let st = state.as_str();
            say(
                s,
                Level::Warn,
                format!("action #{id} is {st}: only sandboxed or executed actions roll back"),
            );
        }
        Decide::Rollback => s.popup = Some(Popup::Confirm(Confirm::Rollback { action_id: id })),
    }
}

/// Move the focused list's cursor by `delta` (clamped).
fn move_cursor(s: &mut AppState, delta: i64) -> Vec<Effect> {
    let step = |cur: usize, len: usize| -> usize {
        if len == 0 {
            return 0;
        }
        (cur as i64 + delta).clamp(0, len as i64 - 1) as usize
    };
    match (s.view, s.focus) {
        (View::Dashboard | View::Alerts, Focus::Alerts) => {
            s.alert_selected = step(s.alert_selected, s.alert_order.len())
        }
        (View::Dashboard | View::Stream, _) => apply::scroll_stream(s, delta),
        (View::Detail(_), Focus::Explanation) => {
            let max = s.detail_lines as i64;
            s.detail_scroll = (i64::from(s.detail_scroll) + delta).clamp(0, max.max(0)) as u16;
        }
        (View::Detail(id), _) => {
            let len = s.timelines.get(&id).map_or(0, |t| t.events.len());
            let before = s.evidence_selected;
            s.evidence_selected = step(s.evidence_selected, len);
            if s.evidence_selected != before || s.event_json.is_none() {
                return evidence_request(s, id);
            }
        }
        (View::Approvals, _) => {
            s.approval_selected = step(s.approval_selected, s.listed_actions(true).len())
        }
        (View::Actions, _) => {
            s.action_selected = step(s.action_selected, s.listed_actions(false).len())
        }
        (View::Audit, _) => {
            let len = s.audit.len();
            let cur = s.audit_selected.unwrap_or(len.saturating_sub(1));
            let next = step(cur, len);
            s.audit_selected = (next + 1 < len).then_some(next);
        }
        _ => {}
    }
    Vec::new()
}

/// Ask for the JSON of the selected evidence event.
pub(super) fn evidence_request(s: &AppState, alert_id: u64) -> Vec<Effect> {
    s.timelines
        .get(&alert_id)
        .and_then(|t| t.events.get(s.evidence_selected))
        .map(|line| vec![Effect::Engine(EngineCommand::Event { event_id: line.id })])
        .unwrap_or_default()
}

fn focused_filter(s: &AppState) -> Option<&Filter> {
    match (s.view, s.focus) {
        (View::Dashboard | View::Alerts, Focus::Alerts) => s.alert_filter.as_ref(),
        (View::Dashboard | View::Stream, _) => s.stream.filter.as_ref(),
        (View::Approvals | View::Actions, _) => s.action_filter.as_ref(),
        _ => None,
    }
}

/// Set (or with "" clear) the focused list's filter; a bad regex keeps the old one.
pub(super) fn set_filter(s: &mut AppState, text: &str) {
    let filter = if text.is_empty() {
        None
    } else {
        match Filter::parse(text) {
            Ok(f) => Some(f),
            Err(e) => {
                say(s, Level::Error, e);
                return;
            }
        }
    };
    match (s.view, s.focus) {
        (View::Dashboard | View::Alerts, Focus::Alerts) => {
            s.alert_filter = filter;
            apply::resort(s);
        }
        (View::Dashboard | View::Stream, _) => apply::set_stream_filter(s, filter),
        (View::Approvals | View::Actions, _) => {
            s.action_filter = filter;
            s.action_selected = 0;
            s.approval_selected = 0;
        }
        _ => say(s, Level::Warn, "nothing to filter here"),
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
