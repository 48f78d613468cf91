//! The alert queue: severity, confidence, threat, entity, events, age, status (and on wide
//! terminals techniques and description). Only visible rows are built.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::text::{age, alert_status, alert_status_word, clock, count, fit, safe, severity};
use super::{pane_block, scroll_offset, title};
use crate::app::state::AppState;

pub fn table(f: &mut Frame, s: &AppState, area: Rect, focused: bool) {
    let t = &s.theme;
    let mut detail = format!(
        "{} of {} · sort {}{}",
        s.alert_order.len(),
        s.alerts.len(),
        s.sort.name(),
        if s.sort_reversed { " ↑" } else { "" }
    );
    if let Some(filter) = &s.alert_filter {
        detail.push_str(&format!(" · /{}", safe(&filter.text)));
    }
    let block = pane_block(s, title(s, "alerts", detail), focused);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if s.alert_order.is_empty() {
        let msg = if s.alerts.is_empty() {
            "no alerts yet: detection runs as events arrive"
        } else {
            "no alert matches the filter (Backspace clears it)"
        };
        f.render_widget(Paragraph::new(Span::styled(msg, t.muted())), inner);
        return;
    }
    let wide = inner.width >= 120;
    let body_rows = inner.height.saturating_sub(1) as usize;
    let offset = scroll_offset(s.alert_selected, body_rows);
    let now = clock(s);
    let rows = s
        .alert_order
        .iter()
        .enumerate()
        .skip(offset)
        .take(body_rows)
        .filter_map(|(pos, &i)| s.alerts.get(i).map(|a| (pos, a)))
        .map(|(pos, a)| {
            let mut cells = vec![
                Cell::from(format!("{:>4}", a.alert_id)),
                Cell::from(Span::styled(a.severity.as_str(), severity(t, a.severity))),
                Cell::from(format!("{:.2}", a.confidence)),
                Cell::from(a.threat_type.as_str()),
                Cell::from(fit(&safe(&a.entity), 40).into_owned()),
                Cell::from(format!("{:>6}", count(a.event_count))),
                Cell::from(format!("{:>4}", age(now, a.last_seen))),
                Cell::from(Span::styled(
                    alert_status_word(a.status),
                    alert_status(t, a.status),
                )),
            ];
            if wide {
                cells.push(Cell::from(a.matched_techniques.join(" ")));
                cells.push(Cell::from(safe(&a.description).into_owned()));
            }
            let style = if focused && pos == s.alert_selected {
                t.selected()
            } else if pos == s.alert_selected {
                t.text().add_modifier(Modifier::UNDERLINED)
            } else if a.status == crate::domain::AlertStatus::Closed {
                t.muted()
            } else {
                t.text()
            };
            Row::new(cells).style(style)
        });
    let mut widths = vec![
        Constraint::Length(4),
        Constraint::Length(8),
        Constraint::Length(4),
        Constraint::Length(20),
        Constraint::Min(12),
        Constraint::Length(6),
        Constraint::Length(4),
        Constraint::Length(6),
    ];
    let mut header = vec![
        "  ID", "SEVERITY", "CONF", "THREAT", "ENTITY", "EVENTS", " AGE", "STATUS",
    ];
    if wide {
        widths[4] = Constraint::Length(28);
        widths.push(Constraint::Length(22));
        widths.push(Constraint::Min(20));
        header.push("TECHNIQUES");
        header.push("DESCRIPTION");
    }
    let header = Row::new(header).style(t.muted().add_modifier(Modifier::BOLD));
    f.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        inner,
    );
}
