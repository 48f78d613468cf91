//! Small text helpers for drawing: the sanitiser, ages, counts, and styles by meaning.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use ratatui::style::Style;

use crate::app::state::AppState;
use crate::app::theme::Theme;
use crate::domain::{ActionState, AlertStatus, Severity, Status, Tier};

/// Log and model text made safe to draw: control characters, ANSI/OSC escapes and bidi
/// overrides become visible escapes (`\x1b`, `\u202e`), never terminal instructions.
pub fn safe(s: &str) -> Cow<'_, str> {
    crate::sanitize::visible(s)
}

/// The clock ages are measured against: the replay clock (newest event) in the demo, so a
/// replayed scenario reads as live; the wall clock otherwise.
pub fn clock(s: &AppState) -> DateTime<Utc> {
    match (s.engine.demo, s.stream.lines.back()) {
        (true, Some(l)) => l.timestamp.max(s.newest_event.unwrap_or(l.timestamp)),
        (true, None) => s.newest_event.unwrap_or(s.now),
        _ => s.now,
    }
}

/// `42s`, `5m`, `3h`, `2d` (future times read `now`).
pub fn age(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds().max(0);
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86400),
    }
}

/// `40,000`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `950`, `12.5k`, `1.2M`.
pub fn short(n: u64) -> String {
    match n {
        0..1000 => n.to_string(),
        1000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// Cut to `max` characters with an ellipsis.
pub fn fit(s: &str, max: usize) -> Cow<'_, str> {
    if s.chars().count() <= max {
        return Cow::Borrowed(s);
    }
    let keep: String = s.chars().take(max.saturating_sub(1)).collect();
    Cow::Owned(format!("{keep}…"))
}

pub fn severity(t: &Theme, s: Severity) -> Style {
    let c = match s {
        Severity::Low => t.severity_low,
        Severity::Medium => t.severity_medium,
        Severity::High => t.severity_high,
        Severity::Critical => t.severity_critical,
    };
    let style = t.fg(c);
    if s == Severity::Critical {
        style.add_modifier(ratatui::style::Modifier::BOLD)
    } else {
        style
    }
}

pub fn status(t: &Theme, s: Status) -> Style {
    t.fg(match s {
        Status::Success => t.status_success,
        Status::Failed => t.status_failed,
        Status::Denied => t.status_denied,
        Status::Unknown => t.status_unknown,
    })
}

pub fn status_word(s: Status) -> &'static str {
    match s {
        Status::Success => "ok",
        Status::Failed => "failed",
        Status::Denied => "denied",
        Status::Unknown => "-",
    }
}

pub fn tier(t: &Theme, tier: Tier) -> Style {
    t.fg(match tier {
        Tier::Green => t.tier_green,
        Tier::Yellow => t.tier_yellow,
        Tier::Red => t.tier_red,
    })
    .add_modifier(ratatui::style::Modifier::BOLD)
}

pub fn action_state(t: &Theme, s: ActionState) -> Style {
    t.fg(match s {
        ActionState::PendingApproval | ActionState::Running => t.approval_pending,
        ActionState::Executed => t.ok,
        ActionState::Sandboxed => t.sandbox,
        ActionState::Failed => t.error,
        ActionState::Rejected | ActionState::Expired | ActionState::Suppressed => t.muted,
        ActionState::RolledBack | ActionState::Elapsed => t.info,
        ActionState::Proposed => t.fg,
    })
}

pub fn alert_status(t: &Theme, s: AlertStatus) -> Style {
    t.fg(match s {
        AlertStatus::Open => t.fg,
        AlertStatus::Acknowledged => t.info,
        AlertStatus::Closed => t.muted,
    })
}

pub fn alert_status_word(s: AlertStatus) -> &'static str {
    match s {
        AlertStatus::Open => "open",
        AlertStatus::Acknowledged => "ack",
        AlertStatus::Closed => "closed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_ages_read_well() {
        assert_eq!(count(40000), "40,000");
        assert_eq!(count(999), "999");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(short(12_500), "12.5k");
        let t0 = DateTime::parse_from_rfc3339("2026-11-20T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(age(t0 + chrono::Duration::seconds(75), t0), "1m");
        assert_eq!(age(t0, t0 + chrono::Duration::seconds(5)), "0s");
        assert_eq!(fit("credential_stuffing", 10), "credentia…");
    }
}
