//! The header (views as tabs, the demo label, the LIVE banner), the message / prompt line and
//! the status bar (rates, counts, model status, PRIVACY and SANDBOX/LIVE).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::text::{count, safe, short};
use crate::app::state::{AppState, Prompt, View};
use crate::pipeline::Level;

const TABS: [(View, &str, &str); 6] = [
    (View::Dashboard, "1", "overview"),
    (View::Alerts, "2", "alerts"),
    (View::Stream, "3", "stream"),
    (View::Approvals, "4", "approvals"),
    (View::Actions, "5", "actions"),
    (View::Audit, "6", "audit"),
];

pub fn header(f: &mut Frame, s: &AppState, area: Rect) {
    let t = &s.theme;
    let mut right: Vec<Span> = Vec::new();
    if s.engine.demo {
        right.push(Span::styled(" DEMO DATA ", t.badge(t.demo)));
    }
    if let Some(owner) = &s.engine.attached {
        // An attached console shows whose engine it drives: decisions run there.
        let text = if area.width >= 120 {
            format!(" ATTACHED to {} ", crate::sanitize::visible(owner))
        } else {
            " ATTACHED ".to_string()
        };
        right.push(Span::styled(text, t.badge(t.accent)));
    }
    if s.engine.live {
        right.push(Span::raw(" "));
        let text = if area.width >= 120 {
            " ⚠ LIVE: actions run for real "
        } else {
            " ⚠ LIVE "
        };
        right.push(Span::styled(
            text,
            t.badge(t.live).add_modifier(Modifier::SLOW_BLINK),
        ));
    }
    let right_w: u16 = right.iter().map(|s| s.width() as u16).sum();
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Min(10), Constraint::Length(right_w)]).areas(area);
    let mut spans = vec![Span::styled(
        " AutoSec ",
        t.fg(t.title).add_modifier(Modifier::BOLD),
    )];
    let pending = s.pending_approvals();
    let wide = left_area.width >= 76;
    for (view, key, name) in TABS {
        let active = s.view == view || (view == View::Alerts && matches!(s.view, View::Detail(_)));
        let label = if wide || active {
            name.to_string()
        } else {
            name.chars().take(3).collect()
        };
        let mut text = format!(" {key} {label}");
        if view == View::Approvals && pending > 0 {
            text.push_str(&format!(" {pending}"));
        }
        text.push(' ');
        let style = if active {
            t.selected()
        } else if view == View::Approvals && pending > 0 {
            t.fg(t.approval_pending).add_modifier(Modifier::BOLD)
        } else {
            t.muted()
        };
        spans.push(Span::styled(text, style));
    }
    if let View::Detail(id) = s.view {
        spans.push(Span::styled(format!(" › alert #{id} "), t.fg(t.accent)));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), left_area);
    f.render_widget(Paragraph::new(Line::from(right)), right_area);
}

pub fn message_line(f: &mut Frame, s: &AppState, area: Rect) {
    let t = &s.theme;
    let line = match &s.prompt {
        Some(Prompt::Command(text)) => Line::from(vec![
            Span::styled(":", t.fg(t.accent).add_modifier(Modifier::BOLD)),
            Span::styled(safe(text).into_owned(), t.text()),
            Span::styled("█", t.fg(t.accent)),
        ]),
        Some(Prompt::Filter(text)) => Line::from(vec![
            Span::styled("/", t.fg(t.accent).add_modifier(Modifier::BOLD)),
            Span::styled(safe(text).into_owned(), t.text()),
            Span::styled("█", t.fg(t.accent)),
            Span::styled("  regex, ! inverts, Enter applies, Esc cancels", t.muted()),
        ]),
        None => match &s.message {
            Some(m) => {
                let style = match m.level {
                    Level::Info => t.fg(t.info),
                    Level::Warn => t.fg(t.warn),
                    Level::Error => t.fg(t.error).add_modifier(Modifier::BOLD),
                };
                Line::from(Span::styled(safe(&m.text).into_owned(), style))
            }
            None => Line::default(),
        },
    };
    f.render_widget(Paragraph::new(line), area);
}

pub fn status(f: &mut Frame, s: &AppState, area: Rect) {
    let t = &s.theme;
    let mut badges: Vec<Span> = Vec::new();
    let (privacy, pstyle) = if s.engine.privacy {
        (" PRIVACY ", t.badge(t.privacy_on))
    } else {
        (" PRIVACY OFF ", t.badge(t.privacy_off))
    };
    badges.push(Span::styled(privacy, pstyle));
    badges.push(Span::raw(" "));
    if s.engine.live {
        badges.push(Span::styled(
            " LIVE ",
            t.badge(t.live).add_modifier(Modifier::SLOW_BLINK),
        ));
    } else {
        badges.push(Span::styled(" SANDBOX ", t.badge(t.sandbox)));
    }
    let badges_w: u16 = badges.iter().map(|b| b.width() as u16).sum();
    let [left, right] =
        Layout::horizontal([Constraint::Min(10), Constraint::Length(badges_w)]).areas(area);

    let rate = s.metrics.events_per_sec.back().copied().unwrap_or(0);
    let sep = || Span::styled(" │ ", t.muted());
    let mut spans = vec![
        Span::styled(format!(" {}/s", short(rate)), t.fg(t.spark_events)),
        sep(),
        Span::styled(
            format!("{} events", count(s.metrics.events_total)),
            t.text(),
        ),
    ];
    if s.metrics.rejected_total > 0 {
        spans.push(Span::styled(
            format!(" ({} rejected)", count(s.metrics.rejected_total)),
            t.fg(t.warn),
        ));
    }
    spans.push(sep());
    spans.push(Span::styled(format!("{} open", s.open_alerts()), t.text()));
    let pending = s.pending_approvals();
    if pending > 0 {
        spans.push(sep());
        spans.push(Span::styled(
            format!("{pending} to approve"),
            t.fg(t.approval_pending).add_modifier(Modifier::BOLD),
        ));
    }
    if let Some((sent, total)) = s.demo_progress
        && sent < total
    {
        spans.push(sep());
        spans.push(Span::styled(
            format!("demo {}%", sent * 100 / total.max(1)),
            t.fg(t.demo),
        ));
    }
    // Narrow terminals keep the counts; the model status is in the help (?).
    if left.width >= 100 {
        spans.push(sep());
        spans.push(Span::styled(
            format!("embed {}", short_model(&s.engine.embedding)),
            t.muted(),
        ));
        spans.push(sep());
        spans.push(Span::styled(
            format!("llm {}", short_model(&s.engine.llm)),
            t.muted(),
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), left);
    f.render_widget(Paragraph::new(Line::from(badges)), right);
}

/// The status bar's short form of a model status (the help popup has the full text).
pub fn short_model(status: &str) -> String {
    let s = status.trim();
    if s.starts_with("lexical") {
        return "lexical".into();
    }
    if s.starts_with("template") {
        return "template".into();
    }
    if let Some(rest) = s.strip_prefix("embedding corpus ") {
        return format!("embedding {rest}");
    }
    let name = s.split_whitespace().next().unwrap_or(s);
    let name = name.rsplit(':').next().unwrap_or(name);
    let name = name.trim_end_matches(".gguf");
    // `SmolLM2-135M-Instruct.Q4_1` → `SmolLM2-135M`; `all-MiniLM-L6-v2` stays.
    let name = name.split('.').next().unwrap_or(name);
    safe(&name.replace("-Instruct", "")).into_owned()
}
