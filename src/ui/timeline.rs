//! Real-time visualisation: events per second and new alerts by severity over the last five
//! minutes (so a burst is seen, not read), and one alert's evidence over its time span.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};

use super::text::{count, severity, short};
use super::{pane_block, title};
use crate::app::state::{AppState, severity_rank};
use crate::domain::{AlertStatus, Severity};
use crate::pipeline::EntityTimeline;

pub fn overview(f: &mut Frame, s: &AppState, area: Rect) {
    let t = &s.theme;
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    let rates = &s.metrics.events_per_sec;
    let now = rates.back().copied().unwrap_or(0);
    let peak = rates.iter().copied().max().unwrap_or(0);
    let block = pane_block(
        s,
        title(
            s,
            "events/s",
            format!("now {} · peak {} · 5 min", short(now), short(peak)),
        ),
        false,
    );
    let inner = block.inner(left);
    f.render_widget(block, left);
    let width = inner.width as usize;
    let data: Vec<u64> = rates
        .iter()
        .skip(rates.len().saturating_sub(width))
        .copied()
        .collect();
    f.render_widget(
        Sparkline::default()
            .data(&data)
            .max(peak.max(1))
            .style(t.fg(t.spark_events)),
        inner,
    );

    let block = pane_block(
        s,
        title(s, "alerts by severity", "new · open".into()),
        false,
    );
    let inner = block.inner(right);
    f.render_widget(block, right);
    let rows = Layout::vertical([Constraint::Length(1); 4]).split(inner);
    let sevs = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];
    for (row, sev) in rows.iter().zip(sevs) {
        let open = s
            .alerts
            .iter()
            .filter(|a| a.severity == sev && a.status != AlertStatus::Closed)
            .count();
        let [label, spark, n] = Layout::horizontal([
            Constraint::Length(9),
            Constraint::Min(4),
            Constraint::Length(5),
        ])
        .areas(*row);
        f.render_widget(
            Paragraph::new(Span::styled(
                format!("{:<8}", sev.as_str()),
                severity(t, sev),
            )),
            label,
        );
        let buckets = bucketed(
            &s.metrics.new_alerts,
            severity_rank(sev),
            spark.width as usize,
        );
        f.render_widget(
            Sparkline::default()
                .data(&buckets)
                .max(buckets.iter().copied().max().unwrap_or(0).max(1))
                .style(severity(t, sev)),
            spark,
        );
        let style = if open > 0 {
            severity(t, sev).add_modifier(Modifier::BOLD)
        } else {
            t.muted()
        };
        f.render_widget(Paragraph::new(Span::styled(format!("{open:>4}"), style)), n);
    }
}

/// The per-second history of one severity, summed into `width` buckets (oldest first).
fn bucketed(history: &std::collections::VecDeque<[u64; 4]>, sev: usize, width: usize) -> Vec<u64> {
    let width = width.max(1);
    let span = crate::app::state::RATE_HISTORY;
    let per = span.div_ceil(width).max(1);
    let mut out = vec![0u64; span.div_ceil(per)];
    let offset = span - history.len().min(span);
    for (i, v) in history.iter().enumerate() {
        out[(offset + i) / per] += v[sev];
    }
    out
}

/// One alert's evidence over its span, as a sparkline with the span's ends.
pub fn entity(f: &mut Frame, s: &AppState, area: Rect, t: Option<&EntityTimeline>) {
    let theme = &s.theme;
    let detail = match t {
        Some(t) => format!(
            "{} → {} · {} shown{}",
            t.from.format("%m-%d %H:%M:%S"),
            t.to.format("%m-%d %H:%M:%S"),
            count(t.events.len() as u64),
            if t.unresolved > 0 {
                format!(" · {} more not listed", count(t.unresolved))
            } else {
                String::new()
            }
        ),
        None => "loading…".into(),
    };
    let block = pane_block(s, title(s, "activity", detail), false);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if let Some(t) = t {
        f.render_widget(
            Sparkline::default()
                .data(&t.buckets)
                .max(t.buckets.iter().copied().max().unwrap_or(0).max(1))
                .style(theme.fg(theme.severity_high)),
            inner,
        );
    } else {
        f.render_widget(
            Paragraph::new(Line::from(Span::styled("…", theme.muted()))),
            inner,
        );
    }
}
