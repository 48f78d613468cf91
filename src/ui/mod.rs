//! Drawing: one function per pane and popup, all reading `AppState` only. Every piece of log
//! or model text passes through `text::safe` (the one sanitiser) before it reaches a cell.

mod actions;
mod alerts;
mod bars;
pub mod detail;
pub mod driver;
mod popup;
mod stream;
pub mod text;
mod timeline;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use crate::app::state::{AppState, Focus, View};

/// Smallest terminal the console draws in; below it, a message says so.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;

pub fn draw(f: &mut Frame, s: &AppState) {
    let area = f.area();
    f.render_widget(Block::default().style(s.theme.base()), area);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(f, s, area);
        return;
    }
    let bottom = u16::from(s.prompt.is_some() || s.message.is_some());
    let [header, body, message, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(bottom),
        Constraint::Length(1),
    ])
    .areas(area);
    bars::header(f, s, header);
    match s.view {
        View::Dashboard => dashboard(f, s, body),
        View::Alerts => alerts::table(f, s, body, true),
        View::Stream => stream::pane(f, s, body, true),
        View::Detail(id) => detail::view(f, s, body, id),
        View::Approvals => actions::view(f, s, body, true),
        View::Actions => actions::view(f, s, body, false),
        View::Audit => actions::audit(f, s, body),
    }
    if bottom > 0 {
        bars::message_line(f, s, message);
    }
    bars::status(f, s, status);
    if let Some(p) = &s.popup {
        popup::draw(f, s, p, area);
    }
}

fn dashboard(f: &mut Frame, s: &AppState, area: Rect) {
    let timeline_h = if area.height >= 30 { 8 } else { 6 };
    let [top, alerts_area, stream_area] = Layout::vertical([
        Constraint::Length(timeline_h),
        Constraint::Percentage(50),
        Constraint::Percentage(50),
    ])
    .areas(area);
    timeline::overview(f, s, top);
    alerts::table(f, s, alerts_area, s.focus == Focus::Alerts);
    stream::pane(f, s, stream_area, s.focus == Focus::Stream);
}

fn too_small(f: &mut Frame, s: &AppState, area: Rect) {
    let msg = vec![
        Line::from(Span::styled(
            "Terminal too small",
            s.theme.fg(s.theme.warn).add_modifier(Modifier::BOLD),
        )),
        Line::from(format!(
            "{}x{} — AutoSec needs at least {MIN_WIDTH}x{MIN_HEIGHT}",
            area.width, area.height
        )),
        Line::from(Span::styled("resize, or q to quit", s.theme.muted())),
    ];
    let y = area.height.saturating_sub(3) / 2;
    let rect = Rect::new(area.x, area.y + y, area.width, 3.min(area.height));
    f.render_widget(
        Paragraph::new(msg)
            .alignment(ratatui::layout::Alignment::Center)
            .wrap(ratatui::widgets::Wrap { trim: true }),
        rect,
    );
}

/// A bordered block titled `title`, its border bright when focused.
pub(crate) fn pane_block<'a>(s: &AppState, title: Line<'a>, focused: bool) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(s.theme.border(focused))
        .title(title)
}

/// A pane title: bold name plus muted details.
pub(crate) fn title<'a>(s: &AppState, name: &'a str, detail: String) -> Line<'a> {
    let mut spans = vec![Span::styled(
        format!(" {name} "),
        s.theme.fg(s.theme.title).add_modifier(Modifier::BOLD),
    )];
    if !detail.is_empty() {
        spans.push(Span::styled(format!("{detail} "), s.theme.muted()));
    }
    Line::from(spans)
}

/// The first visible row so that `selected` stays on screen in `height` rows.
pub(crate) fn scroll_offset(selected: usize, height: usize) -> usize {
    if height == 0 {
        return 0;
    }
    selected.saturating_sub(height - 1)
}

#[cfg(test)]
mod tests;
