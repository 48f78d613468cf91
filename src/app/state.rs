//! The console's state: everything a frame is drawn from. Plain data, changed only by
//! `update`; rendering reads it and never changes it.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use regex::Regex;

use crate::app::keymap::Keymap;
use crate::app::theme::Theme;
use crate::domain::{Action, ActionState, Alert, AlertStatus, Severity};
use crate::explain::{Explanation, Generated};
use crate::pipeline::{EngineStatus, EntityTimeline, Level, StreamLine};
use crate::respond::audit::AuditRecord;

/// The screens; `Detail` is one alert drilled into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Dashboard,
    Alerts,
    Stream,
    Detail(u64),
    Approvals,
    Actions,
    Audit,
}

impl View {
    /// The keymap section for this view.
    pub fn section(self) -> &'static str {
        match self {
            View::Dashboard => "dashboard",
            View::Alerts => "alerts",
            View::Stream => "stream",
            View::Detail(_) => "detail",
            View::Approvals | View::Actions => "actions",
            View::Audit => "audit",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            View::Dashboard => "overview",
            View::Alerts => "alerts",
            View::Stream => "stream",
            View::Detail(_) => "alert",
            View::Approvals => "approvals",
            View::Actions => "actions",
            View::Audit => "audit",
        }
    }
}

/// Which pane has the keyboard (in views with two).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Alerts,
    Stream,
    /// Detail view: the explanation text.
    Explanation,
    /// Detail view: the evidence list.
    Evidence,
}

/// Dialogs over the current view. Dangerous things only happen from `Confirm`.
#[derive(Debug, Clone, PartialEq)]
pub enum Popup {
    Help,
    Confirm(Confirm),
    /// Reject an action: an optional reason is typed.
    RejectReason {
        action_id: u64,
        text: String,
    },
    /// Close an alert: pick the reason.
    CloseAlert {
        alert_id: u64,
        choice: usize,
    },
}

/// What a confirmation would do when confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// Approve a RED action: `closed_alert` warns that its alert was closed.
    Approve {
        action_id: u64,
        closed_alert: bool,
    },
    Rollback {
        action_id: u64,
    },
}

/// The bottom line: typing a command or a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Prompt {
    Command(String),
    Filter(String),
}

/// A compiled `/` filter: a regex, inverted with a leading `!`.
#[derive(Debug, Clone)]
pub struct Filter {
    pub text: String,
    pub regex: Regex,
    pub invert: bool,
}

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, String> {
        let (invert, pattern) = match text.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let regex = regex::RegexBuilder::new(pattern)
            .case_insensitive(true)
            .size_limit(1 << 20)
            .build()
            .map_err(|e| format!("bad filter /{text}/: {e}"))?;
        Ok(Filter {
            text: text.to_string(),
            regex,
            invert,
        })
    }

    pub fn matches(&self, haystack: &str) -> bool {
        self.regex.is_match(haystack) != self.invert
    }
}

/// The alert queue's sort columns, in `sort_next` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Severity,
    Confidence,
    LastSeen,
    Events,
    Threat,
    Entity,
    Id,
}

impl SortKey {
    pub const ALL: [SortKey; 7] = [
        SortKey::Severity,
        SortKey::Confidence,
        SortKey::LastSeen,
        SortKey::Events,
        SortKey::Threat,
        SortKey::Entity,
        SortKey::Id,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SortKey::Severity => "severity",
            SortKey::Confidence => "confidence",
            SortKey::LastSeen => "age",
            SortKey::Events => "events",
            SortKey::Threat => "threat",
            SortKey::Entity => "entity",
            SortKey::Id => "id",
        }
    }

    pub fn parse(s: &str) -> Option<SortKey> {
        SortKey::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// The log stream: a ring buffer of the newest lines (memory stays bounded).
#[derive(Debug, Clone, Default)]
pub struct StreamState {
    pub lines: VecDeque<StreamLine>,
    pub capacity: usize,
    /// Sequence number of `lines[0]` (lines are numbered as they arrive).
    pub first_seq: u64,
    /// Paused or scrolled: the last line shown; None follows the newest.
    pub anchor: Option<u64>,
    pub filter: Option<Filter>,
    /// With a filter: sequence numbers of matching lines still in the buffer.
    pub matches: VecDeque<u64>,
    /// Lines that arrived while paused.
    pub missed: u64,
}

impl StreamState {
    pub fn next_seq(&self) -> u64 {
        self.first_seq + self.lines.len() as u64
    }

    pub fn get(&self, seq: u64) -> Option<&StreamLine> {
        self.lines.get(seq.checked_sub(self.first_seq)? as usize)
    }
}

/// The explanation of one alert as far as it has arrived.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExplainState {
    pub explanation: Option<Explanation>,
    /// The model's text while it streams (unverified).
    pub draft: String,
    pub generated: Option<Generated>,
    pub model: ModelProgress,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum ModelProgress {
    #[default]
    Waiting,
    Writing,
    Done,
    Unavailable(String),
}

/// Rates for the timeline: events per second and new alerts per bucket by severity.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    pub events_total: u64,
    pub rejected_total: u64,
    /// Events stored in the current second (moved into `events_per_sec` on each tick).
    pub events_this_second: u64,
    /// Last `RATE_HISTORY` seconds, newest last.
    pub events_per_sec: VecDeque<u64>,
    /// New alerts per tick by severity (low, medium, high, critical), newest last.
    pub new_alerts: VecDeque<[u64; 4]>,
    pub new_alerts_this_second: [u64; 4],
}

pub const RATE_HISTORY: usize = 300;

/// A transient line at the bottom (results of decisions, errors, notices).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub level: Level,
    pub text: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub now: DateTime<Utc>,
    pub view: View,
    /// Where Esc goes back to from a detail view.
    pub previous: View,
    pub focus: Focus,
    pub popup: Option<Popup>,
    pub prompt: Option<Prompt>,
    pub message: Option<Message>,
    pub quit: bool,

    pub theme: Theme,
    pub theme_names: Vec<String>,
    pub keymap: Keymap,
    /// Who decisions are recorded as ($USER).
    pub operator: String,

    pub engine: EngineStatus,
    pub demo_progress: Option<(u64, u64)>,
    /// Newest event time seen (the demo's replay clock).
    pub newest_event: Option<DateTime<Utc>>,
    pub metrics: Metrics,
    pub stream: StreamState,

    pub alerts: Vec<Alert>,
    pub alert_index: HashMap<u64, usize>,
    /// Indices into `alerts` in display order (sorted, filtered).
    pub alert_order: Vec<usize>,
    pub alert_selected: usize,
    pub sort: SortKey,
    pub sort_reversed: bool,
    pub alert_filter: Option<Filter>,

    pub actions: Vec<Action>,
    pub action_index: HashMap<u64, usize>,
    pub action_selected: usize,
    pub approval_selected: usize,
    pub action_filter: Option<Filter>,

    pub audit: VecDeque<AuditRecord>,
    pub audit_selected: Option<usize>,

    pub explanations: HashMap<u64, ExplainState>,
    pub timelines: HashMap<u64, EntityTimeline>,
    /// Detail view: scroll of the explanation, selected evidence line, its JSON.
    pub detail_scroll: u16,
    /// Lines of the detail view's explanation as last laid out (the driver measures it
    /// before each update: the reducer computes nothing with the renderer).
    pub detail_lines: usize,
    pub evidence_selected: usize,
    pub event_json: Option<(u64, Vec<crate::app::highlight::JsonLine>)>,
}

/// Audit records kept for the audit view.
pub const AUDIT_KEEP: usize = 2000;

impl AppState {
    pub fn new(
        theme: Theme,
        theme_names: Vec<String>,
        keymap: Keymap,
        engine: EngineStatus,
        stream_lines: usize,
        now: DateTime<Utc>,
    ) -> AppState {
        AppState {
            now,
            view: View::Dashboard,
            previous: View::Dashboard,
            focus: Focus::Alerts,
            popup: None,
            prompt: None,
            message: None,
            quit: false,
            theme,
            theme_names,
            keymap,
            operator: std::env::var("USER").unwrap_or_else(|_| "analyst".into()),
            engine,
            demo_progress: None,
            newest_event: None,
            metrics: Metrics::default(),
            stream: StreamState {
                capacity: stream_lines.max(1),
                ..Default::default()
            },
            alerts: Vec::new(),
            alert_index: HashMap::new(),
            alert_order: Vec::new(),
            alert_selected: 0,
            sort: SortKey::Severity,
            sort_reversed: false,
            alert_filter: None,
            actions: Vec::new(),
            action_index: HashMap::new(),
            action_selected: 0,
            approval_selected: 0,
            action_filter: None,
            audit: VecDeque::new(),
            audit_selected: None,
            explanations: HashMap::new(),
            timelines: HashMap::new(),
            detail_scroll: 0,
            detail_lines: 0,
            evidence_selected: 0,
            event_json: None,
        }
    }

    /// The alert under the cursor in the queue.
    pub fn selected_alert(&self) -> Option<&Alert> {
        self.alert_order
            .get(self.alert_selected)
            .and_then(|&i| self.alerts.get(i))
    }

    pub fn alert(&self, id: u64) -> Option<&Alert> {
        self.alert_index.get(&id).and_then(|&i| self.alerts.get(i))
    }

    /// The alert the current view is about (detail view, or the queue's selection).
    pub fn current_alert(&self) -> Option<&Alert> {
        match self.view {
            View::Detail(id) => self.alert(id),
            _ => self.selected_alert(),
        }
    }

    pub fn open_alerts(&self) -> usize {
        self.alerts
            .iter()
            .filter(|a| a.status != AlertStatus::Closed)
            .count()
    }

    /// Actions the view lists: pending approvals, or every action (newest first), filtered.
    pub fn listed_actions(&self, approvals_only: bool) -> Vec<&Action> {
        let mut out: Vec<&Action> = self
            .actions
            .iter()
            .filter(|a| !approvals_only || a.state == ActionState::PendingApproval)
            .filter(|a| {
                self.action_filter
                    .as_ref()
                    .is_none_or(|f| f.matches(&action_haystack(a)))
            })
            .collect();
        out.sort_by_key(|a| std::cmp::Reverse(a.action_id));
        out
    }

    pub fn pending_approvals(&self) -> usize {
        self.actions
            .iter()
            .filter(|a| a.state == ActionState::PendingApproval)
            .count()
    }

    /// The action under the cursor in the approvals or actions view.
    pub fn selected_action(&self) -> Option<&Action> {
        let (approvals, selected) = match self.view {
            View::Approvals => (true, self.approval_selected),
            _ => (false, self.action_selected),
        };
        self.listed_actions(approvals).get(selected).copied()
    }
}

pub fn severity_rank(s: Severity) -> usize {
    match s {
        Severity::Low => 0,
        Severity::Medium => 1,
        Severity::High => 2,
        Severity::Critical => 3,
    }
}

/// What `/` matches an alert against.
pub fn alert_haystack(a: &Alert) -> String {
    format!(
        "#{} {} {} {} {} {:?} {}",
        a.alert_id,
        a.severity,
        a.threat_type,
        a.entity,
        a.description,
        a.status,
        a.matched_techniques.join(" ")
    )
}

/// What `/` matches a log line against.
pub fn line_haystack(l: &StreamLine) -> String {
    format!(
        "{} {} {:?} {} {} {} {} {}",
        l.timestamp.format("%Y-%m-%d %H:%M:%S"),
        l.format,
        l.status,
        l.source_ip,
        l.user,
        l.action,
        l.resource,
        l.source
    )
}

pub fn action_haystack(a: &Action) -> String {
    format!(
        "#{} alert#{} {} {} {} {} {}",
        a.action_id,
        a.alert_id,
        a.tier.as_str(),
        a.kind.as_str(),
        a.state.as_str(),
        a.target.value(),
        a.preview
    )
}
