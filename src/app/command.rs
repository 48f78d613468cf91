//! The `:` command line (k9s style): views, theme, sort, alert, quit.

use super::state::{AppState, Popup, SortKey, View};
use super::update::{Effect, open_detail, say, set_filter};
use crate::pipeline::Level;

/// Commands, for errors and help: (usage, what it does).
pub const COMMANDS: [(&str, &str); 12] = [
    (":overview", "timeline, alert queue and log stream"),
    (":alerts", "the alert queue"),
    (":stream", "the log stream"),
    (":approvals", "RED actions waiting for a decision"),
    (":actions", "every response action"),
    (":audit", "the audit chain"),
    (":alert ID", "open one alert"),
    (
        ":sort COLUMN",
        "severity, confidence, age, events, threat, entity, id",
    ),
    (
        ":filter REGEX",
        "filter the focused list (! inverts; empty clears)",
    ),
    (
        ":theme NAME",
        "dark, light, high-contrast, 16-colour, or yours",
    ),
    (":help", "keys for this view"),
    (":quit", "leave (also :q)"),
];

pub fn run(s: &mut AppState, line: &str) -> Vec<Effect> {
    let line = line.trim().trim_start_matches(':');
    let (cmd, arg) = match line.split_once(char::is_whitespace) {
        Some((c, a)) => (c, a.trim()),
        None => (line, ""),
    };
    let view = |s: &mut AppState, v: View| {
        s.view = v;
        s.focus = match v {
            View::Stream => super::state::Focus::Stream,
            _ => super::state::Focus::Alerts,
        };
        Vec::new()
    };
    match cmd {
        "" => Vec::new(),
        "q" | "q!" | "quit" | "exit" => {
            s.quit = true;
            vec![Effect::Quit]
        }
        "overview" | "dashboard" | "home" => view(s, View::Dashboard),
        "alerts" | "alert" if arg.is_empty() => view(s, View::Alerts),
        "alert" | "a" => match arg.trim_start_matches('#').parse::<u64>() {
            Ok(id) if s.alert(id).is_some() => open_detail(s, id),
            _ => {
                say(s, Level::Error, format!("no alert {arg:?} (see :alerts)"));
                Vec::new()
            }
        },
        "stream" | "logs" => view(s, View::Stream),
        "approvals" | "pending" => view(s, View::Approvals),
        "actions" => view(s, View::Actions),
        "audit" => view(s, View::Audit),
        "help" => {
            s.popup = Some(Popup::Help);
            Vec::new()
        }
        "theme" if !arg.is_empty() => vec![Effect::LoadTheme(arg.to_string())],
        "sort" => {
            match SortKey::parse(arg) {
                Some(k) => {
                    s.sort = k;
                    super::apply::resort(s);
                }
                None => say(
                    s,
                    Level::Error,
                    "sort by: severity, confidence, age, events, threat, entity, id",
                ),
            }
            Vec::new()
        }
        "filter" => {
            set_filter(s, arg);
            Vec::new()
        }
        other => {
            let known: Vec<&str> = COMMANDS.iter().map(|(c, _)| *c).collect();
            say(
                s,
                Level::Error,
                format!(
                    "unknown command :{} (try {})",
                    crate::sanitize::visible(other),
                    known.join(" ")
                ),
            );
            Vec::new()
        }
    }
}
