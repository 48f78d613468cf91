//! Popups: help (generated from the keymap, so it cannot lie), the confirmation of a RED
//! approval or a rollback, the reject reason, and the close-alert reason.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::text::{safe, tier};
use crate::app::command::COMMANDS;
use crate::app::keymap::KeyAction;
use crate::app::state::{AppState, Confirm, Popup};
use crate::app::update::CLOSE_REASONS;
use crate::domain::Rollback;

pub fn draw(f: &mut Frame, s: &AppState, popup: &Popup, area: Rect) {
    match popup {
        Popup::Help => help(f, s, area),
        Popup::Confirm(c) => confirm(f, s, *c, area),
        Popup::RejectReason { action_id, text } => reject(f, s, *action_id, text, area),
        Popup::CloseAlert { alert_id, choice } => close(f, s, *alert_id, *choice, area),
    }
}

/// A centred rectangle of at most `w`x`h` inside `area`.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width.saturating_sub(2));
    let h = h.min(area.height.saturating_sub(2));
    let [_, mid, _] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(h),
        Constraint::Fill(1),
    ])
    .areas(area);
    let [_, rect, _] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(w),
        Constraint::Fill(1),
    ])
    .areas(mid);
    rect
}

fn frame<'a>(s: &AppState, title: String, accent: ratatui::style::Color) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(s.theme.fg(accent).add_modifier(Modifier::BOLD))
        .title(Span::styled(
            format!(" {title} "),
            s.theme.fg(accent).add_modifier(Modifier::BOLD),
        ))
        .style(s.theme.base())
}

fn key_hint(s: &AppState, action: KeyAction, fallback: &'static str) -> String {
    s.keymap
        .key_for("popup", action)
        .unwrap_or(fallback)
        .to_string()
}

fn help(f: &mut Frame, s: &AppState, area: Rect) {
    let t = &s.theme;
    let rect = centered(area, 100, 40);
    f.render_widget(Clear, rect);
    let block = frame(
        s,
        format!("keys: {} ({} keymap)", s.view.title(), s.keymap.name),
        t.accent,
    );
    let inner = block.inner(rect);
    f.render_widget(block, rect);
    // Two columns when there is room; one (this view first) on small terminals.
    let (left, right) = if inner.width >= 90 {
        let [l, r] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(inner);
        (l, Some(r))
    } else {
        (inner, None)
    };
    let key = |on: &str| {
        Span::styled(
            format!("{on:>14}  "),
            t.fg(t.accent).add_modifier(Modifier::BOLD),
        )
    };
    let heading =
        |x: String| Line::from(Span::styled(x, t.fg(t.title).add_modifier(Modifier::BOLD)));
    let mut l = vec![heading(format!("this view ({})", s.view.section()))];
    for (on, desc) in grouped(s, s.view.section()) {
        l.push(Line::from(vec![
            key(&on),
            Span::styled(safe(&desc).into_owned(), t.text()),
        ]));
    }
    l.push(Line::default());
    l.push(heading("everywhere".into()));
    for (on, desc) in grouped(s, "global") {
        l.push(Line::from(vec![
            key(&on),
            Span::styled(safe(&desc).into_owned(), t.text()),
        ]));
    }
    let mut r = vec![heading("commands".into())];
    for (cmd, what) in COMMANDS {
        r.push(Line::from(vec![
            Span::styled(format!("{cmd:<14} "), t.fg(t.accent)),
            Span::styled(what, t.text()),
        ]));
    }
    r.push(Line::default());
    r.push(heading("dialogs".into()));
    for (on, desc) in grouped(s, "popup") {
        r.push(Line::from(vec![
            key(&on),
            Span::styled(safe(&desc).into_owned(), t.text()),
        ]));
    }
    r.push(Line::default());
    r.push(heading("engine".into()));
    for (name, value) in [
        ("embedding", &s.engine.embedding),
        ("explanations", &s.engine.llm),
        ("detection", &s.engine.detection),
    ] {
        r.push(Line::from(vec![
            Span::styled(format!("{name:<13}"), t.muted()),
            Span::styled(safe(value).into_owned(), t.text()),
        ]));
    }
    r.push(Line::from(Span::styled(
        "any key closes this help",
        t.muted(),
    )));
    match right {
        Some(right) => {
            f.render_widget(Paragraph::new(l), left);
            f.render_widget(Paragraph::new(r).wrap(Wrap { trim: false }), right);
        }
        None => {
            l.push(Line::default());
            l.extend(r);
            f.render_widget(Paragraph::new(l), left);
        }
    }
}

/// A section's bindings with the keys of one action and text joined (`up/k  Up`), in
/// file order.
fn grouped(s: &AppState, section: &str) -> Vec<(String, String)> {
    let mut out: Vec<(KeyAction, String, String)> = Vec::new();
    for b in s.keymap.bindings(section) {
        match out
            .iter_mut()
            .find(|(run, _, desc)| *run == b.run && *desc == b.desc)
        {
            Some((_, keys, _)) => {
                keys.push('/');
                keys.push_str(&b.on);
            }
            None => out.push((b.run, b.on.clone(), b.desc.clone())),
        }
    }
    out.into_iter().map(|(_, k, d)| (k, d)).collect()
}

fn confirm(f: &mut Frame, s: &AppState, c: Confirm, area: Rect) {
    let t = &s.theme;
    let (id, verb) = match c {
        Confirm::Approve { action_id, .. } => (action_id, "Approve"),
        Confirm::Rollback { action_id } => (action_id, "Roll back"),
    };
    let Some(a) = s.actions.iter().find(|a| a.action_id == id) else {
        return;
    };
    let rect = centered(area, 84, 14);
    f.render_widget(Clear, rect);
    let accent = if s.engine.live {
        t.live
    } else {
        t.approval_pending
    };
    let block = frame(
        s,
        format!("{verb} {} action #{id}?", a.tier.as_str()),
        accent,
    );
    let label = |x: &'static str| Span::styled(x, t.fg(t.title).add_modifier(Modifier::BOLD));
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("{} ", a.tier.as_str()), tier(t, a.tier)),
            Span::styled(
                format!("{} on {}", a.kind.as_str(), safe(&a.target.value())),
                t.text(),
            ),
        ]),
        Line::from(vec![
            label("alert    "),
            Span::styled(safe(&a.alert_summary).into_owned(), t.text()),
        ]),
    ];
    let (runs, then) = match (c, &a.rollback) {
        (Confirm::Approve { .. }, Rollback::Inverse { preview, .. }) => {
            (a.preview.clone(), format!("rollback: {}", safe(preview)))
        }
        (Confirm::Approve { .. }, Rollback::None { reason }) => (
            a.preview.clone(),
            format!("rollback: none ({})", safe(reason)),
        ),
        (Confirm::Rollback { .. }, Rollback::Inverse { preview, .. }) => {
            (preview.clone(), "undoes the action above".to_string())
        }
        (Confirm::Rollback { .. }, Rollback::None { reason }) => {
            (String::new(), format!("nothing to undo ({})", safe(reason)))
        }
    };
    lines.push(Line::from(vec![
        label("runs     "),
        Span::styled(safe(&runs).into_owned(), t.text()),
    ]));
    lines.push(Line::from(vec![
        label("         "),
        Span::styled(then, t.muted()),
    ]));
    if let Confirm::Approve {
        closed_alert: true, ..
    } = c
    {
        lines.push(Line::from(Span::styled(
            "Its alert is CLOSED: approving acts on a closed alert.",
            t.fg(t.warn).add_modifier(Modifier::BOLD),
        )));
    }
    lines.push(Line::default());
    lines.push(if s.engine.live {
        Line::from(Span::styled(
            "LIVE MODE: this runs for real against the target.",
            t.badge(t.live),
        ))
    } else {
        Line::from(Span::styled(
            "SANDBOX: recorded exactly as it would run; nothing is executed.",
            t.fg(t.sandbox).add_modifier(Modifier::BOLD),
        ))
    });
    lines.push(Line::default());
    lines.push(Line::from(vec![
        Span::styled(
            format!(" {} ", key_hint(s, KeyAction::Confirm, "y")),
            t.badge(accent),
        ),
        Span::styled(
            format!(
                " {} (recorded in the audit as {})   ",
                verb.to_lowercase(),
                safe(&s.operator)
            ),
            t.text(),
        ),
        Span::styled(
            format!(" {} ", key_hint(s, KeyAction::Cancel, "n")),
            t.selected(),
        ),
        Span::styled(" cancel", t.text()),
    ]));
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}

fn reject(f: &mut Frame, s: &AppState, id: u64, text: &str, area: Rect) {
    let t = &s.theme;
    let rect = centered(area, 70, 7);
    f.render_widget(Clear, rect);
    let block = frame(s, format!("Reject action #{id}"), t.warn);
    let lines = vec![
        Line::from(Span::styled(
            "Reason (optional, recorded in the audit):",
            t.muted(),
        )),
        Line::from(vec![
            Span::styled(safe(text).into_owned(), t.text()),
            Span::styled("█", t.fg(t.accent)),
        ]),
        Line::default(),
        Line::from(Span::styled("Enter rejects · Esc cancels", t.muted())),
    ];
    f.render_widget(Paragraph::new(lines).block(block), rect);
}

fn close(f: &mut Frame, s: &AppState, id: u64, choice: usize, area: Rect) {
    let t = &s.theme;
    let rect = centered(area, 50, (CLOSE_REASONS.len() + 4) as u16);
    f.render_widget(Clear, rect);
    let block = frame(s, format!("Close alert #{id} as…"), t.accent);
    let mut lines: Vec<Line> = CLOSE_REASONS
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let name = serde_json::to_string(r)
                .unwrap_or_default()
                .replace('"', "")
                .replace('_', " ");
            let text = format!(" {} {name} ", if i == choice { "›" } else { " " });
            if i == choice {
                Line::from(Span::styled(text, t.selected()))
            } else {
                Line::from(Span::styled(text, t.text()))
            }
        })
        .collect();
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        format!(
            "↑↓ choose · {} close · {} cancel",
            key_hint(s, KeyAction::Confirm, "enter"),
            key_hint(s, KeyAction::Cancel, "esc")
        ),
        t.muted(),
    )));
    f.render_widget(Paragraph::new(lines).block(block), rect);
}
