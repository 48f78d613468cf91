//! The live log stream: the newest lines (pseudonymised), coloured by outcome; paused or
//! scrolled, it holds still while ingest continues.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::text::{fit, safe, status, status_word};
use super::{pane_block, title};
use crate::app::state::AppState;
use crate::pipeline::StreamLine;

pub fn pane(f: &mut Frame, s: &AppState, area: Rect, focused: bool) {
    let t = &s.theme;
    let st = &s.stream;
    let mut detail = match st.anchor {
        Some(_) if st.missed > 0 => format!("paused · {} new below", st.missed),
        Some(_) => "paused".to_string(),
        None => "following".to_string(),
    };
    if let Some(filter) = &st.filter {
        detail.push_str(&format!(
            " · /{} · {} match",
            safe(&filter.text),
            st.matches.len()
        ));
    }
    if !s.engine.sources.is_empty() && area.width > 80 {
        detail.push_str(&format!(" · {}", safe(&s.engine.sources.join(", "))));
    }
    let block = pane_block(s, title(s, "log stream", detail), focused);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let height = inner.height as usize;
    let visible: Vec<&StreamLine> = match &st.filter {
        None => {
            let end = st.anchor.map_or(st.next_seq(), |a| a + 1);
            let start = end.saturating_sub(height as u64).max(st.first_seq);
            (start..end).filter_map(|q| st.get(q)).collect()
        }
        Some(_) => {
            let end = match st.anchor {
                Some(a) => st.matches.partition_point(|&m| m <= a),
                None => st.matches.len(),
            };
            let start = end.saturating_sub(height);
            st.matches
                .range(start..end)
                .filter_map(|&q| st.get(q))
                .collect()
        }
    };
    if visible.is_empty() {
        let msg = if st.filter.is_some() {
            "no line matches the filter"
        } else {
            "waiting for events…"
        };
        f.render_widget(Paragraph::new(Span::styled(msg, t.muted())), inner);
        return;
    }
    let wide = inner.width >= 110;
    let lines: Vec<Line> = visible
        .into_iter()
        .map(|l| {
            let mut spans = vec![
                Span::styled(l.timestamp.format("%H:%M:%S ").to_string(), t.muted()),
                Span::styled(
                    format!("{:<6} ", status_word(l.status)),
                    status(t, l.status),
                ),
            ];
            if wide {
                spans.push(Span::styled(
                    format!("{:<10} ", l.format.as_str()),
                    t.muted(),
                ));
            }
            spans.push(Span::styled(
                format!("{:<16} ", fit(&safe(&l.source_ip), 16)),
                t.text(),
            ));
            spans.push(Span::styled(
                format!("{:<20} ", fit(&safe(&l.user), 20)),
                t.text().add_modifier(Modifier::BOLD),
            ));
            spans.push(Span::styled(
                format!("{} ", safe(&l.action)),
                status(t, l.status),
            ));
            spans.push(Span::styled(safe(&l.resource).into_owned(), t.muted()));
            if wide {
                spans.push(Span::styled(format!("  {}", safe(&l.source)), t.muted()));
            }
            Line::from(spans)
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}
