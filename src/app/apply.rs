//! Folding pipeline events and clock ticks into the state: the stream's ring buffer and
//! filter, alert and action upserts, metrics for the timeline.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use super::state::{
    AUDIT_KEEP, AppState, Filter, ModelProgress, RATE_HISTORY, SortKey, View, alert_haystack,
    line_haystack, severity_rank,
};
use super::update::{Effect, evidence_request, say};
use crate::domain::{Alert, AlertStatus};
use crate::pipeline::{Level, PipelineEvent, StatusPart, StreamLine};

/// Largest draft kept while a model streams (a runaway model cannot fill memory).
const DRAFT_MAX: usize = 16 * 1024;
/// Info messages fade after this long; warnings and errors stay until replaced.
const MESSAGE_SECS: i64 = 8;

pub fn apply(s: &mut AppState, event: PipelineEvent) -> Vec<Effect> {
    match event {
        PipelineEvent::Stored {
            stored,
            rejected,
            lines,
        } => {
            s.metrics.events_total += stored;
            s.metrics.events_this_second += stored;
            s.metrics.rejected_total += rejected;
            push_lines(s, lines);
        }
        PipelineEvent::Alert(alert) => upsert_alert(s, *alert),
        PipelineEvent::Action(action) => {
            let id = action.action_id;
            match s.action_index.get(&id) {
                Some(&i) => s.actions[i] = *action,
                None => {
                    s.action_index.insert(id, s.actions.len());
                    s.actions.push(*action);
                }
            }
            let (approvals, all) = (s.listed_actions(true).len(), s.listed_actions(false).len());
            s.approval_selected = s.approval_selected.min(approvals.saturating_sub(1));
            s.action_selected = s.action_selected.min(all.saturating_sub(1));
        }
        PipelineEvent::Audit(records) => {
            for r in records {
                if s.audit.len() == AUDIT_KEEP {
                    s.audit.pop_front();
                }
                s.audit.push_back(r);
            }
        }
        PipelineEvent::Explanation(e) => {
            let entry = s.explanations.entry(e.alert_id).or_default();
            if let Some(g) = &e.generated {
                entry.generated = Some(g.clone());
                entry.model = ModelProgress::Done;
            }
            entry.explanation = Some(*e);
        }
        PipelineEvent::Draft { alert_id, text } => {
            let entry = s.explanations.entry(alert_id).or_default();
            entry.model = ModelProgress::Writing;
            if entry.draft.len() + text.len() <= DRAFT_MAX {
                entry.draft.push_str(&text);
            }
        }
        PipelineEvent::Generated {
            alert_id,
            generated,
        } => {
            let entry = s.explanations.entry(alert_id).or_default();
            entry.generated = Some(*generated);
            entry.model = ModelProgress::Done;
            entry.draft.clear();
        }
        PipelineEvent::ModelUnavailable { alert_id, reason } => {
            s.explanations.entry(alert_id).or_default().model = ModelProgress::Unavailable(reason);
        }
        PipelineEvent::Timeline(t) => {
            let id = t.alert_id;
            s.timelines.insert(id, *t);
            if s.view == View::Detail(id) && s.event_json.is_none() {
                return evidence_request(s, id);
            }
        }
        PipelineEvent::EventJson { event_id, json } => {
            s.event_json = Some((event_id, crate::app::highlight::classify(&json)));
        }
        PipelineEvent::Status(part) => match part {
            StatusPart::Embedding(t) => s.engine.embedding = t,
            StatusPart::Llm(t) => s.engine.llm = t,
            StatusPart::Detection(t) => s.engine.detection = t,
        },
        PipelineEvent::Notice { level, text } => say(s, level, text),
        PipelineEvent::Detected { .. } => {}
        PipelineEvent::Totals { events, rejected } => {
            s.metrics.events_total = events;
            s.metrics.rejected_total = rejected;
        }
        PipelineEvent::DemoProgress { sent, total } => {
            if sent >= total && s.demo_progress.is_some_and(|(d, _)| d < total) {
                say(
                    s,
                    Level::Info,
                    "demo replay complete: the console stays open",
                );
            }
            s.demo_progress = Some((sent, total));
        }
    }
    Vec::new()
}

/// One second passed: roll the rate histories, fade old info messages.
pub fn tick(s: &mut AppState, now: DateTime<Utc>) {
    s.now = now;
    let m = &mut s.metrics;
    push_capped(
        &mut m.events_per_sec,
        std::mem::take(&mut m.events_this_second),
    );
    push_capped(
        &mut m.new_alerts,
        std::mem::take(&mut m.new_alerts_this_second),
    );
    if s.message
        .as_ref()
        .is_some_and(|msg| msg.level == Level::Info && (now - msg.at).num_seconds() >= MESSAGE_SECS)
    {
        s.message = None;
    }
}

fn push_capped<T>(q: &mut std::collections::VecDeque<T>, v: T) {
    if q.len() == RATE_HISTORY {
        q.pop_front();
    }
    q.push_back(v);
}

fn upsert_alert(s: &mut AppState, alert: Alert) {
    match s.alert_index.get(&alert.alert_id) {
        Some(&i) => s.alerts[i] = alert,
        None => {
            s.metrics.new_alerts_this_second[severity_rank(alert.severity)] += 1;
            s.alert_index.insert(alert.alert_id, s.alerts.len());
            s.alerts.push(alert);
        }
    }
    resort(s);
}

/// Recompute the queue's order (sort + filter), keeping the cursor on the same alert.
pub fn resort(s: &mut AppState) {
    let keep = s.selected_alert().map(|a| a.alert_id);
    let filter = s.alert_filter.as_ref();
    let mut order: Vec<usize> = (0..s.alerts.len())
        .filter(|&i| filter.is_none_or(|f| f.matches(&alert_haystack(&s.alerts[i]))))
        .collect();
    let (key, reversed) = (s.sort, s.sort_reversed);
    order.sort_by(|&a, &b| {
        let (a, b) = (&s.alerts[a], &s.alerts[b]);
        // Closed alerts sink whatever the sort; within, the key, then newest first.
        let closed = |x: &Alert| x.status == AlertStatus::Closed;
        closed(a)
            .cmp(&closed(b))
            .then_with(|| {
                let o = compare(key, a, b);
                if reversed { o.reverse() } else { o }
            })
            .then_with(|| b.last_seen.cmp(&a.last_seen))
            .then_with(|| b.alert_id.cmp(&a.alert_id))
    });
    s.alert_order = order;
    s.alert_selected = keep
        .and_then(|id| {
            s.alert_order
                .iter()
                .position(|&i| s.alerts[i].alert_id == id)
        })
        .unwrap_or(s.alert_selected)
        .min(s.alert_order.len().saturating_sub(1));
}

/// The natural direction of each column: most urgent first.
fn compare(key: SortKey, a: &Alert, b: &Alert) -> Ordering {
    match key {
        SortKey::Severity => b
            .severity
            .cmp(&a.severity)
            .then_with(|| b.confidence.total_cmp(&a.confidence)),
        SortKey::Confidence => b.confidence.total_cmp(&a.confidence),
        SortKey::LastSeen => b.last_seen.cmp(&a.last_seen),
        SortKey::Events => b.event_count.cmp(&a.event_count),
        SortKey::Threat => a.threat_type.as_str().cmp(b.threat_type.as_str()),
        SortKey::Entity => a.entity.cmp(&b.entity),
        SortKey::Id => b.alert_id.cmp(&a.alert_id),
    }
}

fn push_lines(s: &mut AppState, lines: Vec<StreamLine>) {
    if let Some(newest) = lines.iter().map(|l| l.timestamp).max() {
        s.newest_event = Some(s.newest_event.map_or(newest, |n| n.max(newest)));
    }
    let st = &mut s.stream;
    for line in lines {
        if st.lines.len() == st.capacity {
            st.lines.pop_front();
            st.first_seq += 1;
        }
        let seq = st.next_seq();
        if st
            .filter
            .as_ref()
            .is_some_and(|f| f.matches(&line_haystack(&line)))
        {
            st.matches.push_back(seq);
        }
        st.lines.push_back(line);
        if st.anchor.is_some() {
            st.missed += 1;
        }
    }
    while st.matches.front().is_some_and(|&m| m < st.first_seq) {
        st.matches.pop_front();
    }
    // A paused view whose lines scrolled out of the buffer shows the oldest kept.
    if let Some(a) = st.anchor
        && a < st.first_seq
    {
        st.anchor = Some(st.first_seq);
    }
}

pub fn set_stream_filter(s: &mut AppState, filter: Option<Filter>) {
    let st = &mut s.stream;
    st.matches = match &filter {
        Some(f) => st
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| f.matches(&line_haystack(l)))
            .map(|(i, _)| st.first_seq + i as u64)
            .collect(),
        None => Default::default(),
    };
    st.filter = filter;
    st.anchor = None;
}

pub fn toggle_pause(s: &mut AppState) {
    let st = &mut s.stream;
    if st.anchor.is_some() {
        st.anchor = None;
        st.missed = 0;
        say(s, Level::Info, "stream following");
    } else {
        st.anchor = last_visible(st);
        say(s, Level::Info, "stream paused (ingest continues)");
    }
}

/// Sequence number of the newest line the stream would show.
fn last_visible(st: &super::state::StreamState) -> Option<u64> {
    match &st.filter {
        Some(_) => st.matches.back().copied(),
        None => st.next_seq().checked_sub(1).filter(|&q| q >= st.first_seq),
    }
}

/// Scroll by `delta` lines (negative: back in time); reaching the newest line follows again.
pub fn scroll_stream(s: &mut AppState, delta: i64) {
    let st = &mut s.stream;
    let Some(newest) = last_visible(st) else {
        return;
    };
    let end = st.anchor.unwrap_or(newest);
    let target = match &st.filter {
        None => {
            let lo = st.first_seq as i64;
            (end as i64 + delta).clamp(lo, newest as i64) as u64
        }
        Some(_) => {
            let pos = st.matches.partition_point(|&m| m < end) as i64;
            let i = (pos + delta).clamp(0, st.matches.len() as i64 - 1) as usize;
            st.matches[i]
        }
    };
    if target >= newest {
        st.anchor = None;
        st.missed = 0;
    } else {
        st.anchor = Some(target);
    }
}
