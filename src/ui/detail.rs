//! One alert: the grounded explanation (with the model's text labelled, streamed as a draft
//! and replaced by the verified version), its response actions as they stand now, the
//! evidence over time, the evidence events, and the selected event's JSON (highlighted).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::text::{
    action_state, age, alert_status_word, clock, safe, severity, status, status_word, tier,
};
use super::{pane_block, scroll_offset, timeline, title};
use crate::app::highlight::JsonClass;
use crate::app::state::{AppState, ExplainState, Focus, ModelProgress};
use crate::domain::Alert;

pub fn view(f: &mut Frame, s: &AppState, area: Rect, id: u64) {
    let Some(alert) = s.alert(id) else {
        f.render_widget(
            Paragraph::new(Span::styled(
                format!("alert #{id} is not loaded"),
                s.theme.muted(),
            )),
            area,
        );
        return;
    };
    let [head, body] = Layout::vertical([Constraint::Length(2), Constraint::Min(4)]).areas(area);
    f.render_widget(Paragraph::new(heading(s, alert)), head);
    let timeline = s.timelines.get(&id);
    if body.width >= 140 {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(body);
        explanation(f, s, left, id);
        let [spark, list, json] = Layout::vertical([
            Constraint::Length(5),
            Constraint::Percentage(45),
            Constraint::Percentage(55),
        ])
        .areas(right);
        timeline::entity(f, s, spark, timeline);
        evidence(f, s, list, id);
        event_json(f, s, json);
    } else {
        let [top, bottom] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(body);
        explanation(f, s, top, id);
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(bottom);
        let [spark, list] =
            Layout::vertical([Constraint::Length(4), Constraint::Min(3)]).areas(left);
        timeline::entity(f, s, spark, timeline);
        evidence(f, s, list, id);
        event_json(f, s, right);
    }
}

fn heading<'a>(s: &AppState, a: &'a Alert) -> Vec<Line<'a>> {
    let t = &s.theme;
    let first = Line::from(vec![
        Span::styled(
            format!(" #{} ", a.alert_id),
            t.fg(t.title).add_modifier(Modifier::BOLD),
        ),
        Span::styled(
            format!(" {} ", a.severity.as_str().to_uppercase()),
            severity(t, a.severity).add_modifier(Modifier::REVERSED),
        ),
        Span::styled(
            format!(" {} ", a.threat_type),
            t.text().add_modifier(Modifier::BOLD),
        ),
        Span::styled(format!("{} ", safe(&a.entity)), t.fg(t.accent)),
        Span::styled(
            format!(
                "· conf {:.2} · score {:.2} · {} events · {} · {} ago · {}",
                a.confidence,
                a.anomaly_score,
                a.event_count,
                alert_status_word(a.status),
                age(clock(s), a.last_seen),
                a.matched_techniques.join(" ")
            ),
            t.muted(),
        ),
    ]);
    let second = Line::from(Span::styled(format!(" {}", safe(&a.description)), t.text()));
    vec![first, second]
}

fn explanation(f: &mut Frame, s: &AppState, area: Rect, id: u64) {
    let focused = s.focus == Focus::Explanation;
    let status = match s.explanations.get(&id).map(|e| &e.model) {
        Some(ModelProgress::Writing) => "model writing…",
        Some(ModelProgress::Done) => "with model text (checked against the evidence)",
        Some(ModelProgress::Unavailable(_)) => "grounded template",
        _ => "",
    };
    let block = pane_block(s, title(s, "explanation", status.to_string()), focused);
    let lines = lines(s, id);
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((s.detail_scroll, 0)),
        area,
    );
}

/// Lines in the explanation of the detail view's alert (for scrolling to the end).
pub fn line_count(s: &AppState) -> usize {
    match s.view {
        crate::app::state::View::Detail(id) => lines(s, id).len(),
        _ => 0,
    }
}

fn heading_line(s: &AppState, text: &'static str) -> Line<'static> {
    Line::from(Span::styled(
        text,
        s.theme.fg(s.theme.title).add_modifier(Modifier::BOLD),
    ))
}

fn bullet(style: Style, text: String) -> Line<'static> {
    Line::from(vec![Span::styled("  • ", style), Span::styled(text, style)])
}

fn lines(s: &AppState, id: u64) -> Vec<Line<'static>> {
    let t = &s.theme;
    let empty = ExplainState::default();
    let state = s.explanations.get(&id).unwrap_or(&empty);
    let mut out: Vec<Line<'static>> = Vec::new();
    let Some(e) = &state.explanation else {
        out.push(Line::from(Span::styled(
            "building the explanation…",
            t.muted(),
        )));
        return out;
    };
    out.push(heading_line(s, "Summary"));
    out.push(Line::from(format!("  {}", safe(&e.summary))));
    out.push(Line::default());
    out.push(heading_line(s, "Why this is suspicious"));
    for w in &e.why {
        out.push(bullet(t.text(), safe(w).into_owned()));
    }
    if !e.techniques.is_empty() {
        out.push(Line::default());
        out.push(heading_line(s, "ATT&CK techniques"));
        for x in &e.techniques {
            out.push(Line::from(vec![
                Span::styled(
                    format!("  {} ", x.id),
                    t.fg(t.accent).add_modifier(Modifier::BOLD),
                ),
                Span::styled(safe(&x.name).into_owned(), t.text()),
                Span::styled(format!(" — {}", safe(&x.why)), t.muted()),
            ]));
        }
    }
    if !e.related.is_empty() {
        out.push(Line::default());
        out.push(heading_line(s, "Related incidents and CVEs"));
        for r in &e.related {
            out.push(Line::from(vec![
                Span::styled(format!("  {} ", safe(&r.id)), t.fg(t.accent)),
                Span::styled(format!("({}) ", r.kind), t.muted()),
                Span::styled(safe(&r.title).into_owned(), t.text()),
            ]));
        }
    }
    out.push(Line::default());
    out.push(heading_line(
        s,
        "Response (from policy, never from the model)",
    ));
    let mut mine: Vec<_> = s.actions.iter().filter(|a| a.alert_id == id).collect();
    mine.sort_by_key(|a| a.action_id);
    if mine.is_empty() {
        out.push(Line::from(Span::styled("  none proposed", t.muted())));
    }
    for a in mine {
        out.push(Line::from(vec![
            Span::styled(format!("  {:<6} ", a.tier.as_str()), tier(t, a.tier)),
            Span::styled(format!("#{} {} ", a.action_id, a.kind.as_str()), t.text()),
            Span::styled(a.state.as_str().to_string(), action_state(t, a.state)),
            Span::styled(format!("  {}", safe(&a.preview)), t.muted()),
        ]));
    }
    out.push(Line::default());
    out.push(Line::from(vec![
        Span::styled("Confidence ", t.fg(t.title).add_modifier(Modifier::BOLD)),
        Span::styled(format!("{:.2}", e.confidence), t.text()),
    ]));
    for n in &e.confidence_notes {
        out.push(bullet(t.muted(), safe(n).into_owned()));
    }
    if !e.evidence.is_empty() {
        out.push(Line::default());
        out.push(heading_line(s, "Evidence excerpts"));
        for (i, x) in e.evidence.iter().enumerate() {
            let mut spans = vec![
                Span::styled(format!("  E{} ", i + 1), t.fg(t.accent)),
                Span::styled(format!("{} ", safe(&x.reference)), t.muted()),
            ];
            if x.instruction_like {
                spans.push(Span::styled(
                    "[instruction-like text: evidence, not guidance] ",
                    t.fg(t.flagged).add_modifier(Modifier::BOLD),
                ));
            }
            spans.push(Span::styled(safe(&x.text).into_owned(), t.text()));
            out.push(Line::from(spans));
        }
    }
    out.push(Line::default());
    model_section(s, state, &mut out);
    out
}

fn model_section(s: &AppState, state: &ExplainState, out: &mut Vec<Line<'static>>) {
    let t = &s.theme;
    let label = |text: String| {
        Line::from(Span::styled(
            text,
            t.fg(t.generated).add_modifier(Modifier::BOLD),
        ))
    };
    match (&state.generated, &state.model) {
        (Some(g), _) if g.rejected => {
            out.push(label(format!(
                "Model text ({}) was rejected by verification:",
                safe(&g.backend)
            )));
            for r in &g.removed {
                out.push(bullet(t.muted(), safe(r).into_owned()));
            }
        }
        (Some(g), _) => {
            out.push(label(format!(
                "Written by {} — checked against the evidence: {} tokens in {:.1}s, {} claim(s) removed",
                safe(&g.backend),
                g.tokens,
                g.seconds,
                g.removed.len()
            )));
            for para in g.text.lines() {
                out.push(Line::from(Span::styled(
                    format!("  {}", safe(para)),
                    t.fg(t.generated),
                )));
            }
        }
        (None, ModelProgress::Writing) => {
            out.push(label("Model writing — unverified draft:".into()));
            for para in state.draft.lines() {
                out.push(Line::from(Span::styled(
                    format!("  {}", safe(para)),
                    t.muted().add_modifier(Modifier::ITALIC),
                )));
            }
        }
        (None, ModelProgress::Unavailable(reason)) => out.push(Line::from(Span::styled(
            format!("Grounded template only: {}", safe(reason)),
            t.muted(),
        ))),
        (None, _) => out.push(Line::from(Span::styled(
            "Waiting for the model…",
            t.muted(),
        ))),
    }
}

fn evidence(f: &mut Frame, s: &AppState, area: Rect, id: u64) {
    let t = &s.theme;
    let focused = s.focus == Focus::Evidence;
    let events = s
        .timelines
        .get(&id)
        .map(|tl| tl.events.as_slice())
        .unwrap_or(&[]);
    let block = pane_block(
        s,
        title(
            s,
            "evidence",
            format!("{} events · Enter/Tab to browse", events.len()),
        ),
        focused,
    );
    let inner = block.inner(area);
    f.render_widget(block, area);
    let height = inner.height as usize;
    let offset = scroll_offset(s.evidence_selected, height);
    let lines: Vec<Line> = events
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, l)| {
            let line = Line::from(vec![
                Span::styled(l.timestamp.format("%H:%M:%S ").to_string(), t.muted()),
                Span::styled(
                    format!("{:<6} ", status_word(l.status)),
                    status(t, l.status),
                ),
                Span::styled(format!("{} ", safe(&l.action)), t.text()),
                Span::styled(format!("{} ", safe(&l.user)), t.text()),
                Span::styled(safe(&l.source_ip).into_owned(), t.muted()),
            ]);
            if i == s.evidence_selected && focused {
                line.style(t.selected())
            } else if i == s.evidence_selected {
                line.style(Style::default().add_modifier(Modifier::UNDERLINED))
            } else {
                line
            }
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

fn event_json(f: &mut Frame, s: &AppState, area: Rect) {
    let t = &s.theme;
    let (detail, lines): (String, Vec<Line>) = match &s.event_json {
        Some((id, json)) => (
            format!("event {id}"),
            json.iter()
                .map(|tokens| {
                    Line::from(
                        tokens
                            .iter()
                            .map(|(class, text)| {
                                let c = match class {
                                    JsonClass::Key => t.json_key,
                                    JsonClass::String => t.json_string,
                                    JsonClass::Number => t.json_number,
                                    JsonClass::Literal => t.json_literal,
                                    JsonClass::Punct => t.json_punct,
                                    JsonClass::Plain => t.fg,
                                };
                                Span::styled(text.clone(), t.fg(c))
                            })
                            .collect::<Vec<_>>(),
                    )
                })
                .collect(),
        ),
        None => (
            String::new(),
            vec![Line::from(Span::styled(
                "select an evidence event",
                t.muted(),
            ))],
        ),
    };
    let block = pane_block(s, title(s, "event JSON", detail), false);
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
