//! `autosec report`: an incident / compliance report in Markdown and a self-contained HTML page
//! (no remote content): alerts with their intel and evidence refs, actions with tiers, who
//! approved what and when, rollbacks, open items, and the audit chain's head so the report can
//! be checked against the store later. Log-derived text passes the output sanitiser, then
//! Markdown or HTML escaping.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use crate::domain::{Action, ActionState, Alert, AlertStatus, Rollback};
use crate::respond::audit::{Head, VerifyReport};

pub struct ReportInput<'a> {
    pub generated_at: DateTime<Utc>,
    pub data_dir: String,
    pub privacy: bool,
    pub mode: &'a str,
    pub alerts: Vec<Alert>,
    pub actions: Vec<Action>,
    pub audit: VerifyReport,
    pub head: Head,
    pub since: Option<DateTime<Utc>>,
}

/// A line of text in one of the two output languages.
trait Escape {
    fn text(&self, s: &str) -> String;
}

struct Markdown;
struct Html;

impl Escape for Markdown {
    fn text(&self, s: &str) -> String {
        let visible = crate::sanitize::visible(s);
        let mut out = String::with_capacity(visible.len());
        for c in visible.chars() {
            // `&` too: `&#x202e;` would render as the bidi override it names.
            if "\\`*_[]<>|#!&".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }
}

impl Escape for Html {
    fn text(&self, s: &str) -> String {
        crate::sanitize::visible(s)
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;")
    }
}

fn alert_line(a: &Alert) -> String {
    format!(
        "{} {} (confidence {:.2}) on {}; {} events {} to {}; {}",
        a.severity.as_str(),
        a.threat_type.as_str(),
        a.confidence,
        a.entity,
        a.event_count,
        a.first_seen.format("%Y-%m-%d %H:%M:%S"),
        a.last_seen.format("%Y-%m-%d %H:%M:%S"),
        match (a.status, a.close_reason) {
            (AlertStatus::Closed, Some(r)) => format!("closed ({r:?})").to_lowercase(),
            (s, _) => format!("{s:?}").to_lowercase(),
        }
    )
}

fn action_lines(a: &Action) -> Vec<String> {
    let mut lines = vec![format!(
        "action {}: {} {} on {} {}: {} ({})",
        a.action_id,
        a.tier.as_str(),
        a.kind.as_str(),
        a.target.kind(),
        a.target.value(),
        a.state.as_str(),
        a.state_reason
    )];
    lines.push(format!("runs: {}", a.preview));
    match &a.rollback {
        Rollback::Inverse { preview, .. } => lines.push(format!("rollback: {preview}")),
        Rollback::None { reason } => lines.push(format!("rollback: none ({reason})")),
    }
    if let Some(d) = &a.decision {
        lines.push(format!(
            "{} by {} at {}{}",
            if d.approved { "approved" } else { "rejected" },
            d.by,
            d.at.format("%Y-%m-%d %H:%M:%S UTC"),
            d.reason
                .as_deref()
                .map_or(String::new(), |r| format!(": {r}"))
        ));
    }
    if let Some(e) = &a.execution {
        lines.push(format!(
            "ran ({}) at {}: {}{}",
            e.mode,
            e.at.format("%Y-%m-%d %H:%M:%S UTC"),
            if e.success { "succeeded" } else { "FAILED" },
            e.status.map_or(String::new(), |s| format!(", status {s}"))
        ));
    }
    if let Some(e) = &a.rollback_execution {
        lines.push(format!(
            "rolled back ({}) at {}: {}",
            e.mode,
            e.at.format("%Y-%m-%d %H:%M:%S UTC"),
            if e.success { "succeeded" } else { "FAILED" }
        ));
    }
    lines
}

/// The report's content as (heading, lines) sections, rendered by either language.
fn sections(input: &ReportInput) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let audit_state = match &input.audit.first_bad {
        None => format!("verified OK ({} records)", input.audit.records),
        Some((seq, why)) => format!("BROKEN at record {seq}: {why}"),
    };
    out.push((
        "About this report".to_string(),
        vec![
            format!(
                "generated {}",
                input.generated_at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            format!("store {}", input.data_dir),
            format!(
                "privacy {}; response mode {}",
                if input.privacy {
                    "ON (pseudonyms)"
                } else {
                    "OFF"
                },
                input.mode.to_uppercase()
            ),
            match input.since {
                Some(t) => format!(
                    "alerts last seen since {}",
                    t.format("%Y-%m-%d %H:%M:%S UTC")
                ),
                None => "all alerts".into(),
            },
            format!("audit chain {audit_state}"),
            format!(
                "audit head: sequence {} MAC {} (check later with `autosec audit verify`)",
                input.head.seq, input.head.mac
            ),
        ],
    ));
    let open_items: Vec<String> = input
        .actions
        .iter()
        .filter(|a| matches!(a.state, ActionState::PendingApproval | ActionState::Failed))
        .map(|a| {
            format!(
                "action {} ({} {} on {}) is {}",
                a.action_id,
                a.tier.as_str(),
                a.kind.as_str(),
                a.target.value(),
                a.state.as_str()
            )
        })
        .chain(
            input
                .alerts
                .iter()
                .filter(|a| a.status == AlertStatus::Open)
                .map(|a| format!("alert {} ({}) is open", a.alert_id, a.threat_type.as_str())),
        )
        .collect();
    out.push((
        "Open items".to_string(),
        if open_items.is_empty() {
            vec!["none".into()]
        } else {
            open_items
        },
    ));
    for a in &input.alerts {
        let mut lines = vec![alert_line(a), a.description.clone()];
        if !a.matched_techniques.is_empty() {
            lines.push(format!(
                "ATT&CK (detectors): {}",
                a.matched_techniques.join(", ")
            ));
        }
        for r in &a.rules {
            let refs = if r.references.is_empty() {
                String::new()
            } else {
                format!("; references: {}", r.references.join(", "))
            };
            lines.push(format!(
                "Sigma rule: {} ({}, {}){refs}",
                r.title, r.level, r.id
            ));
        }
        if let Some(intel) = &a.intel {
            let matches: Vec<String> = intel
                .matches
                .iter()
                .map(|m| format!("{} {} ({})", m.id, m.title, m.kind))
                .collect();
            lines.push(format!("intel ({}): {}", intel.ranking, matches.join("; ")));
        }
        let refs: Vec<String> = a
            .evidence
            .iter()
            .take(10)
            .map(|r| match (&r.line, &r.record_id) {
                (_, Some(id)) => format!("{} record {id}", r.source),
                (Some(line), None) => format!("{}:{line}", r.source),
                (None, None) => r.source.to_string(),
            })
            .collect();
        lines.push(format!(
            "evidence ({} refs{}): {}",
            a.evidence.len() as u64 + a.evidence_dropped,
            if a.evidence.len() > 10 {
                ", first 10"
            } else {
                ""
            },
            refs.join(", ")
        ));
        for action in input.actions.iter().filter(|x| x.alert_id == a.alert_id) {
            lines.extend(action_lines(action));
        }
        out.push((
            format!("Alert {}: {}", a.alert_id, a.threat_type.as_str()),
            lines,
        ));
    }
    out
}

pub fn markdown(input: &ReportInput) -> String {
    let md = Markdown;
    let mut out = String::from("# AutoSec incident report\n");
    for (heading, lines) in sections(input) {
        let _ = write!(out, "\n## {}\n\n", md.text(&heading));
        for l in lines {
            let _ = writeln!(out, "- {}", md.text(&l));
        }
    }
    out
}

pub fn html(input: &ReportInput) -> String {
    let h = Html;
    let mut out = String::from(concat!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        "<title>AutoSec incident report</title><style>",
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}",
        "h2{border-bottom:1px solid #ccc;padding-bottom:.2rem}li{margin:.2rem 0;font-family:ui-monospace,monospace;font-size:.9rem}",
        "</style></head><body>\n<h1>AutoSec incident report</h1>\n"
    ));
    for (heading, lines) in sections(input) {
        let _ = writeln!(out, "<h2>{}</h2>\n<ul>", h.text(&heading));
        for l in lines {
            let _ = writeln!(out, "<li>{}</li>", h.text(&l));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_escaped_in_both_languages() {
        let hostile = "<script>alert(1)</script> [x](http://evil) \u{1b}[2J \u{202e}";
        let md = Markdown.text(hostile);
        assert!(!md.contains('\u{1b}') && !md.contains('\u{202e}'));
        assert!(md.contains("\\<script\\>") && md.contains("\\[x\\]"));
        // An entity would render as the character it names.
        assert!(Markdown.text("&#x202e;").starts_with("\\&"));
        let html = Html.text(hostile);
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"));
        assert!(html.contains("\\x1b[2J") && html.contains("\\u202e"));
    }
}
