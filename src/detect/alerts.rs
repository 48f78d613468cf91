//! Fusing hits into alerts: grouping by entity + threat type, evidence, confidence, severity,
//! and the `alerts` tree.
//!
//! Confidence (documented in README): with d the strongest detector strength (0–1, 0 for the
//! forest alone), e = 1 − exp(−events/10) the weight of evidence, a = clamp((score − 0.5)/0.3)
//! the forest's view, and k = min(1, (distinct detectors on the entity in the last hour − 1)/2)
//! corroboration: confidence = min(0.99, 0.15 + 0.45·d + 0.15·e + 0.15·a + 0.10·k).

use std::collections::{HashSet, VecDeque};

use ahash::AHashMap as HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::detectors::{Hit, Related};
use super::state::{HOUR, MINUTE};
use super::window::SlidingCount;
use crate::domain::EventRef;
use crate::domain::{Alert, AlertStatus, Severity, ThreatType};
use crate::domain::{EventKind, EventView};
use crate::store::{Store, StoreError};

const RECENT_PER_ENTITY: usize = 32;
const MAX_TRACKED: usize = 100_000;
/// How often (in stream time) the per-entity maps drop what is older than an hour.
const SWEEP_EVERY: i64 = 10 * MINUTE;
const NEXT_ALERT_ID: &str = "next_alert_id";

/// An entity's recent event, kept so an alert can cite what led up to it.
#[derive(Debug, Clone)]
struct Recent {
    id: u64,
    ts: i64,
    /// Where it is (the source shared, not copied: thousands of these are kept).
    source: Arc<str>,
    line: Option<u64>,
    record_id: Option<Box<str>>,
    kind: EventKind,
    failed: bool,
    read: bool,
    object: bool,
    trail: bool,
}

impl Recent {
    fn matches(&self, related: Related) -> bool {
        match related {
            Related::None => false,
            Related::Logins => self.kind == EventKind::Login,
            Related::FailedApiCalls => self.kind == EventKind::ApiCall && self.failed,
            Related::ReadCalls => self.read,
            Related::Objects => self.object,
            Related::Escalation => {
                matches!(self.kind, EventKind::Sudo | EventKind::Su)
                    || self.kind == EventKind::ApiCall && !self.read
            }
            Related::TrailCalls => self.trail,
            Related::Flows => self.kind == EventKind::Flow,
        }
    }
}

/// An open alert and what it needs to keep growing.
#[derive(Debug)]
struct Open {
    alert: Alert,
    strength: f32,
    seen: HashSet<u64>,
    /// Raised or grown by this run (a reopened alert is not, until an event joins it).
    touched: bool,
}

/// All alerts of a run, the open ones indexed by (entity, threat).
pub struct AlertBook {
    gap_ms: i64,
    max_evidence: usize,
    next_id: u64,
    open: HashMap<(String, ThreatType), u64>,
    alerts: HashMap<u64, Open>,
    dirty: HashSet<u64>,
    recent: HashMap<String, VecDeque<Recent>>,
    detectors_on: HashMap<String, Vec<(i64, &'static str)>>,
    anomalous: HashMap<String, SlidingCount>,
    /// Stream time of the newest event noted, and of the last sweep of the per-entity maps
    /// above: they keep the last hour of the entities active in it, so their memory follows
    /// the active entities, not every entity the run has seen.
    newest_ts: i64,
    swept_ts: i64,
}

impl AlertBook {
    pub fn new(gap_minutes: i64, max_evidence: usize, next_id: u64) -> Self {
        AlertBook {
            gap_ms: gap_minutes.max(1) * 60_000,
            max_evidence: max_evidence.max(1),
            next_id: next_id.max(1),
            open: HashMap::default(),
            alerts: HashMap::default(),
            dirty: HashSet::new(),
            recent: HashMap::default(),
            detectors_on: HashMap::default(),
            anomalous: HashMap::default(),
            newest_ts: i64::MIN,
            swept_ts: i64::MIN,
        }
    }

    /// Continue numbering after the alerts already in `store`. With `reopen` (a run that
    /// resumes after a stop, a crash or with the next file) its open alerts are open again,
    /// so an incident's alert grows instead of a second one starting.
    pub fn for_store(
        store: &Store,
        gap_minutes: i64,
        max_evidence: usize,
        reopen: bool,
    ) -> Result<Self, StoreError> {
        let mut book = AlertBook::new(gap_minutes, max_evidence, store.meta_u64(NEXT_ALERT_ID)?);
        if !reopen {
            return Ok(book);
        }
        for alert in crate::store::stored_alerts(store)? {
            if alert.status != AlertStatus::Open {
                continue;
            }
            let key = (alert.entity.clone(), alert.threat_type);
            // Of two open alerts on one key (an old incident and a newer one), the newer.
            let newer = book.open.get(&key).is_none_or(|id| {
                book.alerts
                    .get(id)
                    .is_none_or(|o| o.alert.last_seen <= alert.last_seen)
            });
            if newer {
                book.open.insert(key, alert.alert_id);
            }
            book.alerts.insert(
                alert.alert_id,
                Open {
                    alert,
                    strength: 0.0,
                    seen: HashSet::new(),
                    touched: false,
                },
            );
        }
        Ok(book)
    }

    /// Remember `v` as recent activity of its IP and account.
    pub fn note(&mut self, source: &Arc<str>, v: &EventView) {
        let interesting = matches!(
            v.kind,
            EventKind::Login | EventKind::Sudo | EventKind::Su | EventKind::Flow
        ) || (v.kind == EventKind::ApiCall
            && (v.failed() || !is_plain_read(&v.action) || v.action == "GetObject"));
        if !interesting {
            return;
        }
        let recent = Recent {
            id: v.id,
            ts: v.ts,
            source: source.clone(),
            line: if v.record_id.is_some() { None } else { v.line },
            record_id: v.record_id.as_deref().map(Box::from),
            kind: v.kind,
            failed: v.failed(),
            read: is_plain_read(&v.action),
            object: v.action == "GetObject",
            trail: v.service.as_deref() == Some("cloudtrail.amazonaws.com"),
        };
        self.newest_ts = self.newest_ts.max(v.ts);
        if self.newest_ts.saturating_sub(self.swept_ts) >= SWEEP_EVERY {
            self.sweep();
        }
        if self.recent.len() > MAX_TRACKED {
            self.recent.clear();
        }
        let dst = if v.kind == EventKind::Flow {
            v.dst.as_deref()
        } else {
            None
        };
        for name in [v.ip.as_deref(), v.user.as_deref(), dst]
            .into_iter()
            .flatten()
        {
            let q = self.recent.entry(name.to_string()).or_default();
            trim_recent(q, v.ts - HOUR, RECENT_PER_ENTITY);
            q.push_back(recent.clone());
        }
    }

    /// Forget what fell out of the last hour (all an alert looks back at): entities with
    /// nothing left go, so these maps hold the entities active in the last hour.
    fn sweep(&mut self) {
        let since = self.newest_ts - HOUR;
        self.recent.retain(|_, q| {
            trim_recent(q, since, usize::MAX);
            !q.is_empty()
        });
        self.detectors_on.retain(|_, list| {
            list.retain(|(t, _)| *t >= since);
            !list.is_empty()
        });
        let newest = self.newest_ts;
        self.anomalous.retain(|_, c| c.count(newest, HOUR) > 0);
        self.swept_ts = newest;
    }

    /// Count an anomalous event for its entity; true when the entity has enough of them in
    /// the last hour for a forest-only alert.
    pub fn anomalous(&mut self, entity: &str, ts: i64, min_events: u64) -> bool {
        if self.anomalous.len() > MAX_TRACKED {
            self.anomalous.clear();
        }
        self.anomalous
            .entry(entity.to_string())
            .or_default()
            .add(ts, 1, HOUR)
            >= min_events
    }

    /// Fold one hit on `v` into the alerts.
    pub fn apply(&mut self, source: &Arc<str>, v: &EventView, hit: &Hit, score: f32) {
        let corroboration = self.corroborate(&hit.entity, hit.detector, v.ts);
        let key = (hit.entity.clone(), hit.threat);
        // An event belongs to the open group when it falls within the gap of the group's
        // span on either side: exports and replays are not in time order, and an event from
        // days before is another incident, not this one growing.
        let current = self.open.get(&key).copied().filter(|id| {
            self.alerts.get(id).is_some_and(|o| {
                v.ts - o.alert.last_seen.timestamp_millis() <= self.gap_ms
                    && o.alert.first_seen.timestamp_millis() - v.ts <= self.gap_ms
            })
        });
        let id = match current {
            Some(id) => id,
            None => {
                let id = self.next_id;
                self.next_id += 1;
                let open = self.start(id, source, v, hit);
                self.alerts.insert(id, open);
                self.open.insert(key, id);
                id
            }
        };
        let max_evidence = self.max_evidence;
        let Some(open) = self.alerts.get_mut(&id) else {
            return;
        };
        open.touched = true;
        let a = &mut open.alert;
        if open.seen.insert(v.id) {
            a.event_count += 1;
            push_evidence(a, event_ref(source, v), max_evidence);
        }
        let ts = to_time(v.ts);
        a.first_seen = a.first_seen.min(ts);
        a.last_seen = a.last_seen.max(ts);
        a.anomaly_score = a.anomaly_score.max(score);
        a.severity = a.severity.max(hit.severity);
        if hit.strength >= open.strength {
            open.strength = hit.strength;
            a.description = crate::sanitize::visible(&hit.summary).into_owned();
        }
        let rule_techniques = hit.rule.iter().flat_map(|r| r.techniques.iter());
        for t in hit
            .techniques
            .iter()
            .copied()
            .chain(rule_techniques.map(String::as_str))
        {
            if !a.matched_techniques.iter().any(|m| m == t) {
                a.matched_techniques.push(t.to_string());
            }
        }
        if let Some(rule) = &hit.rule
            && !a.rules.iter().any(|r| r.id == rule.id)
        {
            a.rules.push(rule.to_ref());
        }
        if !a.detectors.iter().any(|d| d == hit.detector) {
            a.detectors.push(hit.detector.to_string());
        }
        for r in [
            v.resource.as_str(),
            v.target.as_deref().unwrap_or(""),
            v.bucket.as_deref().unwrap_or(""),
        ] {
            if !r.is_empty()
                && a.affected_resources.len() < 20
                && !a.affected_resources.iter().any(|x| x == r)
            {
                a.affected_resources.push(r.to_string());
            }
        }
        a.confidence = confidence(open.strength, a.event_count, a.anomaly_score, corroboration);
        self.dirty.insert(id);
    }

    fn start(&self, id: u64, source: &Arc<str>, v: &EventView, hit: &Hit) -> Open {
        let ts = to_time(v.ts);
        let mut alert = Alert {
            alert_id: id,
            severity: hit.severity,
            confidence: 0.0,
            threat_type: hit.threat,
            description: String::new(),
            timestamp: ts,
            affected_resources: Vec::new(),
            matched_techniques: Vec::new(),
            recommended_actions: recommended(hit.threat)
                .iter()
                .map(|s| s.to_string())
                .collect(),
            anomaly_score: 0.0,
            entity: hit.entity.clone(),
            first_seen: ts,
            last_seen: ts,
            event_count: 0,
            evidence: Vec::new(),
            evidence_dropped: 0,
            detectors: Vec::new(),
            status: AlertStatus::Open,
            close_reason: None,
            intel: None,
            rules: Vec::new(),
        };
        let mut seen = HashSet::new();
        // What led up to it: the entity's related events in the last hour.
        if let Some(q) = self.recent.get(&hit.entity) {
            for r in q
                .iter()
                .filter(|r| r.ts >= v.ts - HOUR && r.ts <= v.ts && r.matches(hit.related))
            {
                if seen.insert(r.id) {
                    alert.event_count += 1;
                    alert.first_seen = alert.first_seen.min(to_time(r.ts));
                    let at = EventRef {
                        source: r.source.clone(),
                        line: r.line,
                        record_id: r.record_id.as_deref().map(str::to_string),
                    };
                    push_evidence(&mut alert, at, self.max_evidence);
                }
            }
        }
        let _ = source;
        Open {
            alert,
            strength: 0.0,
            seen,
            touched: true,
        }
    }

    fn corroborate(&mut self, entity: &str, detector: &'static str, ts: i64) -> usize {
        let list = self.detectors_on.entry(entity.to_string()).or_default();
        list.retain(|(t, _)| *t >= ts - HOUR);
        if !list.iter().any(|(_, d)| *d == detector) {
            list.push((ts, detector));
        }
        let distinct: HashSet<_> = list.iter().map(|(_, d)| *d).collect();
        distinct.len()
    }

    /// Alerts changed since the last call.
    pub fn take_dirty(&mut self) -> Vec<Alert> {
        let ids: Vec<u64> = self.dirty.drain().collect();
        let mut out: Vec<Alert> = ids
            .iter()
            .filter_map(|id| self.alerts.get(id).map(|o| o.alert.clone()))
            .collect();
        out.sort_by_key(|a| a.alert_id);
        out
    }

    /// Every alert of this run.
    pub fn all(&self) -> Vec<Alert> {
        let mut out: Vec<Alert> = self
            .alerts
            .values()
            .filter(|o| o.touched)
            .map(|o| o.alert.clone())
            .collect();
        out.sort_by_key(|a| a.alert_id);
        out
    }

    /// The ids of every alert of this run, in order (without cloning the alerts).
    pub fn ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .alerts
            .values()
            .filter(|o| o.touched)
            .map(|o| o.alert.alert_id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Write changed alerts to `store` (and the id counter). Returns them as written (with
    /// the stored status, close reason and intel), so the caller responds to them without
    /// reading them back.
    pub fn persist(&mut self, store: &Store) -> Result<Vec<Alert>, StoreError> {
        let dirty = self.take_dirty();
        let mut written = Vec::with_capacity(dirty.len());
        for a in dirty {
            // Detection owns the detection fields; status and intel are the analyst's and the
            // retriever's, kept from the stored value in the same atomic swap.
            let mut encode_error = None;
            let mut last_merged = None;
            store
                .alerts
                .update_and_fetch(a.alert_id.to_be_bytes(), |old| {
                    let mut merged = a.clone();
                    if let Some(prev) =
                        old.and_then(|o| serde_json::from_slice::<KeptFields>(o).ok())
                    {
                        merged.status = prev.status;
                        merged.close_reason = prev.close_reason;
                        merged.intel = prev.intel;
                    }
                    match serde_json::to_vec(&merged) {
                        Ok(v) => {
                            last_merged = Some(merged);
                            Some(v)
                        }
                        Err(e) => {
                            encode_error = Some(e.to_string());
                            old.map(<[u8]>::to_vec)
                        }
                    }
                })?;
            if let Some(detail) = encode_error {
                return Err(StoreError::Corrupt {
                    tree: "alerts",
                    detail,
                });
            }
            written.extend(last_merged);
        }
        store
            .meta
            .insert(NEXT_ALERT_ID, &self.next_id.to_be_bytes())?;
        Ok(written)
    }
}

/// What other stages own in a stored alert. Read alone: the evidence list (up to
/// `max_evidence` refs) is skipped, not built, each time a growing alert is written.
#[derive(serde::Deserialize)]
struct KeptFields {
    status: crate::domain::AlertStatus,
    #[serde(default)]
    close_reason: Option<crate::domain::CloseReason>,
    #[serde(default)]
    intel: Option<crate::domain::AlertIntel>,
}

fn push_evidence(a: &mut Alert, r: EventRef, max: usize) {
    if a.evidence.len() < max {
        a.evidence.push(r);
    } else {
        a.evidence_dropped += 1;
    }
}

pub fn event_ref(source: &Arc<str>, v: &EventView) -> EventRef {
    EventRef {
        source: source.clone(),
        line: if v.record_id.is_some() { None } else { v.line },
        record_id: v.record_id.clone(),
    }
}

fn is_plain_read(action: &str) -> bool {
    ["List", "Describe", "Get", "Head", "Lookup"]
        .iter()
        .any(|p| action.starts_with(p))
}

fn to_time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The documented confidence formula (module docs).
pub fn confidence(strength: f32, events: u64, anomaly: f32, detectors: usize) -> f32 {
    let e = 1.0 - (-(events as f32) / 10.0).exp();
    let a = ((anomaly - 0.5) / 0.3).clamp(0.0, 1.0);
    let k = ((detectors.saturating_sub(1)) as f32 / 2.0).min(1.0);
    (0.15 + 0.45 * strength.clamp(0.0, 1.0) + 0.15 * e + 0.15 * a + 0.10 * k).min(0.99)
}

/// What the response engine should consider, by threat (it decides, by policy).
pub fn recommended(threat: ThreatType) -> &'static [&'static str] {
    match threat {
        ThreatType::BruteForce => &["rate_limit_ip", "block_ip", "notify"],
        ThreatType::CredentialStuffing => &["rate_limit_ip", "require_step_up_auth", "notify"],
        ThreatType::PasswordSpraying => &["block_ip", "flag_account_for_review", "notify"],
        ThreatType::PrivilegeEscalation | ThreatType::Persistence => &[
            "flag_account_for_review",
            "revoke_access_keys",
            "lock_account",
            "notify",
        ],
        ThreatType::DefenseEvasion => &["notify", "create_ticket", "revoke_access_keys"],
        ThreatType::Exfiltration => &["revoke_access_keys", "lock_account", "notify"],
        ThreatType::Discovery => &["increase_monitoring", "flag_account_for_review"],
        ThreatType::SuspiciousLogin => {
            &["require_step_up_auth", "flag_account_for_review", "notify"]
        }
        ThreatType::NetworkAnomaly => &["rate_limit_ip", "block_ip"],
        ThreatType::Anomaly => &["increase_monitoring", "log_event"],
        ThreatType::CredentialAccess => {
            &["revoke_access_keys", "flag_account_for_review", "notify"]
        }
        ThreatType::Execution => &["flag_account_for_review", "create_ticket", "notify"],
        ThreatType::Impact => &["notify", "create_ticket", "flag_account_for_review"],
    }
}

/// Drop an entity's recent events from the front while they are older than `since` (the
/// hour an alert looks back at) or the queue holds `keep_below` or more.
fn trim_recent(q: &mut VecDeque<Recent>, since: i64, keep_below: usize) {
    while q
        .front()
        .is_some_and(|r| r.ts < since || q.len() >= keep_below)
    {
        q.pop_front();
    }
}

/// Severity of a forest-only alert: low, medium when very anomalous and sustained.
pub fn anomaly_severity(score: f32, events: u64, min_events: u64) -> Severity {
    if score >= 0.8 && events >= 3 * min_events {
        Severity::Medium
    } else {
        Severity::Low
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_grows_with_each_signal() {
        let base = confidence(0.5, 1, 0.4, 1);
        assert!(confidence(1.0, 1, 0.4, 1) > base);
        assert!(confidence(0.5, 50, 0.4, 1) > base);
        assert!(confidence(0.5, 1, 0.8, 1) > base);
        assert!(confidence(0.5, 1, 0.4, 3) > base);
        assert!(confidence(1.0, 1000, 1.0, 9) <= 0.99);
        assert!(confidence(0.0, 0, 0.0, 0) >= 0.15);
    }

    #[test]
    fn entity_maps_keep_the_last_hour_of_the_active_entities() {
        let (base, _) = crate::detect::bench_fixtures();
        let source: Arc<str> = Arc::from("auth.log");
        let mut book = AlertBook::new(30, 100, 1);
        let t0 = 1_715_000_000_000;
        let mut id = 0;
        // Ten hours, a thousand new addresses each hour, one account throughout.
        for hour in 0..10 {
            for i in 0..1_000 {
                id += 1;
                let ts = t0 + hour * HOUR + i * (HOUR / 1_000);
                let ip = format!("10.{hour}.{}.{}", i / 256, i % 256);
                let v = EventView {
                    id,
                    ts,
                    ip: Some(ip.clone()),
                    user: Some("USER_A".into()),
                    kind: EventKind::Login,
                    ..base.clone()
                };
                book.note(&source, &v);
                book.anomalous(&ip, ts, 5);
                book.corroborate(&ip, "brute_force", ts);
            }
        }
        // The last hour's 1,000 addresses and the account, plus at most one sweep interval
        // of the hour before; without sweeping each map would hold all 10,001.
        for (map, len) in [
            ("recent", book.recent.len()),
            ("detectors_on", book.detectors_on.len()),
            ("anomalous", book.anomalous.len()),
        ] {
            assert!((1_000..=1_200).contains(&len), "{map}: {len}");
        }
        let account = &book.recent["USER_A"];
        assert_eq!(account.len(), RECENT_PER_ENTITY, "capped per entity");
        assert!(account.iter().all(|r| r.ts > book.newest_ts - HOUR));
        // What an alert cites is still there: the last address's event.
        assert!(book.recent.contains_key("10.9.3.231"));
    }
}
