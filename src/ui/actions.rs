//! Approvals (RED actions waiting for a person), every action, and the audit chain. The
//! selected action shows exactly what would run and what its rollback would run.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use super::text::{action_state, age, safe, tier};
use super::{pane_block, scroll_offset, title};
use crate::app::state::AppState;
use crate::domain::{Action, Rollback};

pub fn view(f: &mut Frame, s: &AppState, area: Rect, approvals: bool) {
    let t = &s.theme;
    let listed = s.listed_actions(approvals);
    let selected = if approvals {
        s.approval_selected
    } else {
        s.action_selected
    };
    let [list_area, detail_area] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    let mut detail = format!("{} listed", listed.len());
    if let Some(filter) = &s.action_filter {
        detail.push_str(&format!(" · /{}", safe(&filter.text)));
    }
    let hint = if approvals {
        " · a approve · x reject · Enter alert"
    } else {
        " · u roll back · Enter alert"
    };
    let keys_hint = if area.width >= 100 { hint } else { "" };
    let name = if approvals { "approvals" } else { "actions" };
    let block = pane_block(s, title(s, name, format!("{detail}{keys_hint}")), true);
    let inner = block.inner(list_area);
    f.render_widget(block, list_area);
    if listed.is_empty() {
        let msg = if approvals {
            "nothing waits for approval"
        } else {
            "no response actions yet"
        };
        f.render_widget(Paragraph::new(Span::styled(msg, t.muted())), inner);
    } else {
        let rows_h = inner.height.saturating_sub(1) as usize;
        let offset = scroll_offset(selected, rows_h);
        let rows = listed
            .iter()
            .enumerate()
            .skip(offset)
            .take(rows_h)
            .map(|(i, a)| {
                let due = match (approvals, a.approval_deadline) {
                    (true, Some(d)) => format!("{} left", age(d, s.now)),
                    _ => age(s.now, a.updated_at),
                };
                let row = Row::new(vec![
                    Cell::from(format!("{:>4}", a.action_id)),
                    Cell::from(Span::styled(a.tier.as_str(), tier(t, a.tier))),
                    Cell::from(a.kind.as_str()),
                    Cell::from(safe(&a.target.value()).into_owned()),
                    Cell::from(format!("#{}", a.alert_id)),
                    Cell::from(Span::styled(a.state.as_str(), action_state(t, a.state))),
                    Cell::from(due),
                ]);
                if i == selected {
                    row.style(t.selected())
                } else {
                    row.style(t.text())
                }
            });
        let header = Row::new(vec![
            "  ID", "TIER", "KIND", "TARGET", "ALERT", "STATE", "WHEN",
        ])
        .style(t.muted().add_modifier(Modifier::BOLD));
        let widths = [
            Constraint::Length(4),
            Constraint::Length(6),
            Constraint::Length(19),
            Constraint::Min(14),
            Constraint::Length(6),
            Constraint::Length(16),
            Constraint::Length(9),
        ];
        f.render_widget(Table::new(rows, widths).header(header), inner);
    }
    let chosen = listed.get(selected).copied();
    action_detail(f, s, detail_area, chosen);
}

fn action_detail(f: &mut Frame, s: &AppState, area: Rect, a: Option<&Action>) {
    let t = &s.theme;
    let block = pane_block(s, title(s, "what it does", String::new()), false);
    let Some(a) = a else {
        f.render_widget(block, area);
        return;
    };
    let label = |x: &'static str| Span::styled(x, t.fg(t.title).add_modifier(Modifier::BOLD));
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("{} ", a.tier.as_str()), tier(t, a.tier)),
            Span::styled(format!("#{} {} ", a.action_id, a.kind.as_str()), t.text()),
            Span::styled(a.state.as_str(), action_state(t, a.state)),
            Span::styled(format!(" — {}", safe(&a.state_reason)), t.muted()),
        ]),
        Line::from(vec![
            label("alert   "),
            Span::styled(safe(&a.alert_summary).into_owned(), t.text()),
        ]),
        Line::from(vec![
            label("runs    "),
            Span::styled(safe(&a.preview).into_owned(), t.text()),
        ]),
    ];
    let rollback = match &a.rollback {
        Rollback::Inverse { kind, preview } => format!("{kind}: {}", safe(preview)),
        Rollback::None { reason } => format!("none ({})", safe(reason)),
    };
    lines.push(Line::from(vec![
        label("rollback "),
        Span::styled(rollback, t.text()),
    ]));
    if let Some(d) = &a.decision {
        lines.push(Line::from(vec![
            label("decided "),
            Span::styled(
                format!(
                    "{} by {} at {}{}",
                    if d.approved { "approved" } else { "rejected" },
                    safe(&d.by),
                    d.at.format("%Y-%m-%d %H:%M:%S"),
                    d.reason
                        .as_deref()
                        .map(|r| format!(": {}", safe(r)))
                        .unwrap_or_default()
                ),
                t.text(),
            ),
        ]));
    }
    let mode = if s.engine.live {
        Span::styled(
            "LIVE: approving runs this for real",
            t.fg(t.live).add_modifier(Modifier::BOLD),
        )
    } else {
        Span::styled(
            "SANDBOX: approving records what would run; nothing runs",
            t.fg(t.sandbox),
        )
    };
    lines.push(Line::from(vec![label("mode    "), mode]));
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

pub fn audit(f: &mut Frame, s: &AppState, area: Rect) {
    let t = &s.theme;
    let block = pane_block(
        s,
        title(
            s,
            "audit",
            format!(
                "{} newest records (MAC-chained; verify with `autosec audit verify`)",
                s.audit.len()
            ),
        ),
        true,
    );
    let inner = block.inner(area);
    f.render_widget(block, area);
    if s.audit.is_empty() {
        f.render_widget(
            Paragraph::new(Span::styled("no audit records yet", t.muted())),
            inner,
        );
        return;
    }
    let rows_h = inner.height.saturating_sub(1) as usize;
    let selected = s.audit_selected.unwrap_or(s.audit.len() - 1);
    let offset = scroll_offset(selected, rows_h);
    let rows = s
        .audit
        .iter()
        .enumerate()
        .skip(offset)
        .take(rows_h)
        .map(|(i, r)| {
            let row = Row::new(vec![
                Cell::from(format!("{:>5}", r.seq)),
                Cell::from(r.at.format("%m-%d %H:%M:%S").to_string()),
                Cell::from(r.event.clone()),
                Cell::from(r.action_id.map(|a| format!("#{a}")).unwrap_or_default()),
                Cell::from(r.alert_id.map(|a| format!("#{a}")).unwrap_or_default()),
                Cell::from(safe(&r.actor).into_owned()),
                Cell::from(safe(&r.detail).into_owned()),
            ]);
            if i == selected && s.audit_selected.is_some() {
                row.style(t.selected())
            } else {
                row.style(t.text())
            }
        });
    let header = Row::new(vec![
        "  SEQ", "TIME", "EVENT", "ACTION", "ALERT", "ACTOR", "DETAIL",
    ])
    .style(t.muted().add_modifier(Modifier::BOLD));
    let widths = [
        Constraint::Length(5),
        Constraint::Length(14),
        Constraint::Length(16),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(10),
        Constraint::Min(10),
    ];
    f.render_widget(Table::new(rows, widths).header(header), inner);
}
