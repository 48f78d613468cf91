//! The detection engine: per event, update behaviour state, compute the feature vector, score it
//! with the Isolation Forest, run the named detectors, and fuse everything into alerts.

use std::sync::Arc;

use chrono::{DateTime, Timelike};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::alerts::{AlertBook, anomaly_severity};
use super::detectors::{Ctx, Hit, Related, evaluate};
use super::flows::{FlowCtx, FlowDetector};
use super::iforest::{ForestParams, IsolationForest};
use super::rules::{RuleSet, rule_hits};
use super::state::{Entities, HOUR, IpState, MAX_IPS, MAX_USERS, MINUTE, UserState};
use super::window::{SlidingDistinct, key};
use crate::config::DetectConfig;
use crate::domain::ThreatType;
use crate::domain::{EventKind, EventView};

mod batch;

/// Which parts of detection raise alerts (the `eval detect` ablation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Named detectors and the forest, fused (the product).
    Fused,
    /// Named detectors only; no forest scores, no `anomaly` alerts.
    DetectorsOnly,
    /// The forest only: `anomaly` alerts from scores.
    ForestOnly,
}

/// Number of features per event (`features`).
pub const FEATURES: usize = 13;

/// An event's behaviour context, feature vector and flow detector hits, before its score.
struct Prepared {
    ctx: Ctx,
    x: Vec<f32>,
    flow_hits: Vec<Hit>,
}

/// The engine's whole state: behaviour windows, forests, alerts.
pub struct Engine {
    cfg: DetectConfig,
    mode: Mode,
    ips: Entities<IpState>,
    /// Accounts and principals (roles); role sessions' short windows are in `sessions`.
    users: Entities<UserState>,
    sessions: Entities<UserState>,
    pub book: AlertBook,
    forest: Option<IsolationForest>,
    flow_forest: Option<IsolationForest>,
    reservoir: Reservoir,
    flow_reservoir: Reservoir,
    since_train: u64,
    /// Scores above these are anomalous (floor-guarded training quantiles).
    threshold: f32,
    flow_threshold: f32,
    /// The training scores' 99th percentile: weak evidence plus a score above it is enough.
    gate: f32,
    /// When each source address was first seen anywhere in the organisation (capped).
    org_ips: ahash::AHashMap<u64, i64>,
    /// The same for source networks (/24, /48).
    org_networks: ahash::AHashMap<u64, i64>,
    /// IAM writes per account over the learning pass (who administers IAM).
    iam_baseline: ahash::AHashMap<String, u32>,
    /// What the Sigma rules named on events say about themselves.
    rules: Arc<RuleSet>,
    /// Scans, floods, brute force and beacons in flow records.
    flows: FlowDetector,
    /// Per log format: accounts that failed from never-successful sources, and those sources,
    /// in the spraying window (distributed spraying).
    org_spray: ahash::AHashMap<u8, (SlidingDistinct, SlidingDistinct)>,
}

impl Engine {
    pub fn new(cfg: DetectConfig, mode: Mode, book: AlertBook) -> Self {
        let seed = cfg.forest.seed;
        let cap = cfg.forest.reservoir;
        Engine {
            mode,
            ips: Entities::new(MAX_IPS),
            users: Entities::new(MAX_USERS),
            sessions: Entities::new(MAX_USERS),
            book,
            forest: None,
            flow_forest: None,
            reservoir: Reservoir::new(cap, seed),
            flow_reservoir: Reservoir::new(cap, seed ^ 0x5eed),
            since_train: 0,
            threshold: cfg.forest.anomaly_threshold.max(0.5),
            flow_threshold: cfg.forest.anomaly_threshold.max(0.5),
            gate: 1.0,
            iam_baseline: Default::default(),
            org_ips: Default::default(),
            org_networks: Default::default(),
            rules: RuleSet::shared(&cfg),
            flows: FlowDetector::default(),
            org_spray: Default::default(),
            cfg,
        }
    }

    pub fn forests(&self) -> (Option<&IsolationForest>, Option<&IsolationForest>) {
        (self.forest.as_ref(), self.flow_forest.as_ref())
    }

    pub fn set_forests(&mut self, forest: Option<IsolationForest>, flow: Option<IsolationForest>) {
        self.forest = forest;
        self.flow_forest = flow;
    }

    /// The current anomaly thresholds (general, flows).
    pub fn thresholds(&self) -> (f32, f32) {
        (self.threshold, self.flow_threshold)
    }

    /// First pass of a batch: learn behaviour and sample feature vectors (no alerts).
    pub fn learn(&mut self, v: &EventView) {
        let p = self.prepare(v);
        self.sample(v.kind == EventKind::Flow, p.x);
    }

    /// Offer a feature vector to its forest's training sample.
    fn sample(&mut self, flow: bool, x: Vec<f32>) {
        if flow {
            self.flow_reservoir.offer(x)
        } else {
            self.reservoir.offer(x)
        }
    }

    /// Rebuild state from an event detected before (a resumed run): behaviour windows and
    /// the entity's recent events an alert cites; nothing is raised.
    pub fn warm(&mut self, source: &Arc<str>, v: &EventView) {
        self.learn(v);
        self.book.note(source, v);
    }

    /// Train the forests on the sampled vectors. False if there was too little data.
    pub fn train(&mut self) -> bool {
        let f = &self.cfg.forest;
        let params = ForestParams {
            trees: f.trees,
            sample_size: f.sample_size,
            seed: f.seed,
        };
        let mut trained = false;
        if self.reservoir.rows.len() >= f.train_min
            && let Ok(forest) = IsolationForest::train(&self.reservoir.rows, &params)
        {
            self.threshold = quantile_threshold(
                &forest,
                &self.reservoir.rows,
                f.contamination,
                f.anomaly_threshold,
            );
            self.gate = quantile_threshold(&forest, &self.reservoir.rows, 0.01, 0.5);
            self.forest = Some(forest);
            trained = true;
        }
        let flows = self.flow_reservoir.majority_width();
        if flows.len() >= f.train_min.min(256)
            && let Ok(forest) = IsolationForest::train(&flows, &params)
        {
            self.flow_threshold =
                quantile_threshold(&forest, &flows, f.contamination, f.anomaly_threshold);
            self.flow_forest = Some(forest);
            trained = true;
        }
        self.since_train = 0;
        trained
    }

    /// Forget behaviour windows (between the learning and the detecting pass).
    pub fn reset_behaviour(&mut self) {
        // Keep who administers IAM: the one fact the batch baseline is for.
        self.iam_baseline = self
            .users
            .iter()
            .filter(|(_, s)| s.iam_writes > 0)
            .map(|(k, s)| (k.clone(), s.iam_writes))
            .collect();
        self.ips = Entities::new(MAX_IPS);
        self.users = Entities::new(MAX_USERS);
        self.sessions = Entities::new(MAX_USERS);
        self.org_ips.clear();
        self.org_networks.clear();
        self.flows = FlowDetector::default();
        self.org_spray.clear();
    }

    /// Full processing of one event. Returns the forest score (0 when there is no forest).
    pub fn observe(&mut self, source: &Arc<str>, v: &EventView) -> f32 {
        let p = self.prepare(v);
        let score = self
            .scorer(v.kind == EventKind::Flow, p.x.len())
            .map_or(0.0, |f| f.score(&p.x));
        self.conclude(source, v, p, score);
        score
    }

    /// An event's part of `observe` before the forest scores it: behaviour state, flow
    /// detectors, the feature vector. Reads and writes nothing `conclude` changes, so a batch
    /// can be prepared ahead of its scores (`observe_many`).
    fn prepare(&mut self, v: &EventView) -> Prepared {
        let ctx = self.update(v);
        let mut flow_hits = Vec::new();
        let x = if v.kind == EventKind::Flow {
            let flow = self.flows.observe(&self.cfg.network, v, &mut flow_hits);
            flow_features(v, &flow)
        } else {
            features(v, &ctx)
        };
        Prepared { ctx, x, flow_hits }
    }

    /// The forest that scores a flow's (or another event's) `width`-wide vector, if any does.
    fn scorer(&self, flow: bool, width: usize) -> Option<&IsolationForest> {
        let forest = if flow {
            self.flow_forest.as_ref()
        } else {
            self.forest.as_ref()
        };
        match (self.mode, forest) {
            (Mode::DetectorsOnly, _) | (_, None) => None,
            (_, Some(f)) if f.dims() == width => Some(f),
            _ => None,
        }
    }

    /// The rest of `observe`, given the event's score: sampling and retraining, detectors,
    /// rules and alert fusion.
    fn conclude(&mut self, source: &Arc<str>, v: &EventView, p: Prepared, score: f32) {
        let Prepared {
            mut ctx,
            x,
            mut flow_hits,
        } = p;
        let threshold = if v.kind == EventKind::Flow {
            self.flow_threshold
        } else {
            self.threshold
        };
        ctx.forest_unusual = v.kind != EventKind::Flow && score > 0.0 && score >= self.gate;
        // Live retraining: keep sampling, retrain on schedule.
        self.sample(v.kind == EventKind::Flow, x);
        self.since_train += 1;
        if self.since_train >= self.cfg.forest.retrain_every {
            self.train();
        }
        self.book.note(source, v);
        let hits = if self.mode == Mode::ForestOnly {
            Vec::new()
        } else {
            let mut hits = evaluate(&self.cfg, v, &ctx);
            hits.append(&mut flow_hits);
            rule_hits(&self.rules, v, &ctx, &mut hits);
            hits
        };
        for hit in &hits {
            self.book.apply(source, v, hit, score);
        }
        if hits.is_empty() && self.mode != Mode::DetectorsOnly && score > threshold {
            self.forest_only(source, v, score);
        }
    }

    fn forest_only(&mut self, source: &Arc<str>, v: &EventView, score: f32) {
        let Some(entity) = v.user.clone().or_else(|| v.ip.clone()) else {
            return;
        };
        let min = self.cfg.forest.anomaly_min_events;
        if !self.book.anomalous(&entity, v.ts, min) {
            return;
        }
        let threat = if v.kind == EventKind::Flow {
            ThreatType::NetworkAnomaly
        } else {
            ThreatType::Anomaly
        };
        let hit = Hit {
            detector: "isolation_forest",
            threat,
            entity: entity.clone(),
            techniques: if threat == ThreatType::NetworkAnomaly {
                &["T1046", "T1498"]
            } else {
                &[]
            },
            strength: 0.0,
            severity: anomaly_severity(score, min, min),
            summary: format!(
                "unusual behaviour of {entity}: {} scored {score:.2} by the Isolation Forest",
                v.action
            ),
            related: Related::None,
            rule: None,
        };
        self.book.apply(source, v, &hit, score);
    }

    /// What is normal for `principal`: how long it has been seen, its sources, agents,
    /// regions, hours, actions, and IAM administration.
    fn update_history(
        &mut self,
        v: &EventView,
        principal: &str,
        action: u64,
        hour: usize,
        c: &mut Ctx,
    ) {
        let ts = v.ts;
        let failed = v.failed();
        let min_iam = self.cfg.admin.min_iam_writes;
        let baseline = self.iam_baseline.get(principal).copied().unwrap_or(0);
        let s = self.users.get(principal);
        if s.events == 0 {
            s.first_seen = ts;
        }
        s.last_seen = ts;
        c.user_known = s.events >= 20 && ts - s.first_seen >= HOUR;
        c.history_hours = (ts - s.first_seen) / HOUR;
        c.first_time_action = c.user_known && !s.actions.contains_key(&action);
        if matches!(v.kind, EventKind::Sudo | EventKind::Su) && !failed {
            c.first_time_root = c.user_known && s.root_sessions == 0;
            s.root_sessions = s.root_sessions.saturating_add(1);
        }
        c.rarity = s.rarity(action);
        c.hour_deviation = s.hour_deviation(hour);
        s.note_action(action, hour);
        if let Some(ip) = v.ip.as_deref() {
            let first = s.ip_first_seen(key(ip), ts);
            c.new_ip = first.is_none();
            // New within the hour: the whole session from a new source stays "new". An
            // address in a network the account already used (a VPN pool, a DHCP range) is not.
            let recent = |first: Option<i64>| first.is_none_or(|t| ts - t <= HOUR);
            let network_recent = v
                .network
                .as_deref()
                .is_none_or(|net| recent(s.network_first_seen(key(net), ts)));
            c.recent_new_ip = recent(first) && network_recent;
        }
        if let Some(agent) = v.agent.as_deref() {
            let first = s.agent_first_seen(key(agent), ts);
            c.new_agent = first.is_none();
            c.recent_new_agent = first.is_none_or(|t| ts - t <= HOUR);
        }
        if v.kind == EventKind::Login {
            let place = v.network.as_deref().or(v.ip.as_deref()).map(key);
            c.known_login_network = place.is_some_and(|n| s.login_networks.contains(n));
            let console = v.action == "ConsoleLogin";
            let agent = v.agent.as_deref().map(key);
            c.new_console_agent = console
                && !s.console_agents.is_empty()
                && agent.is_some_and(|a| !s.console_agents.contains(a));
            if !failed {
                if let Some(n) = place {
                    s.login_networks.insert(n);
                }
                if let Some(a) = agent.filter(|_| console) {
                    s.console_agents.insert(a);
                }
            }
        }
        if let Some(region) = v.region.as_deref() {
            let first = s.region_first_seen(key(region), ts);
            c.new_region = first.is_none();
            c.recent_new_region = first.is_none_or(|t| ts - t <= HOUR);
        }
        if v.kind == EventKind::ApiCall {
            c.iam_writes_before = s.iam_writes;
            c.iam_admin = s.iam_writes.max(baseline) >= min_iam;
            if let Some(target) = v.target.as_deref() {
                let t = key(target);
                s.created_users.retain(|_, at| ts - *at <= HOUR);
                c.target_created_recently = s.created_users.contains_key(&t);
                if v.action == "CreateUser" && !failed {
                    s.created_users.insert(t, ts);
                }
            }
            let iam_write = v.service.as_deref() == Some("iam.amazonaws.com")
                && !["List", "Get", "Generate", "Simulate"]
                    .iter()
                    .any(|p| v.action.starts_with(p));
            if iam_write && !failed {
                s.iam_writes = s.iam_writes.saturating_add(1);
            }
        }
    }

    /// Update the IP's and the account's state with `v`; the counts detectors read.
    fn update(&mut self, v: &EventView) -> Ctx {
        // Plain numbers: copying them frees `self` for the state updates below.
        let cfg = &self.cfg.clone();
        let mut c = Ctx::default();
        let ts = v.ts;
        let failed = v.failed();
        let hour = DateTime::from_timestamp_millis(ts).map_or(0, |t| t.hour() as usize);
        // Unknown accounts (CloudTrail hides them) are each a distinct account.
        let account = match v.user.as_deref() {
            Some(u) if !u.starts_with("HIDDEN_DUE_TO") => key(u),
            _ => v.id ^ 0x9e37_79b9_7f4a_7c15,
        };
        if let Some(ip) = v.ip.as_deref() {
            if self.org_ips.len() >= MAX_IPS * 2 {
                self.org_ips.retain(|_, first| ts - *first <= 24 * HOUR);
            }
            let first = *self.org_ips.entry(key(ip)).or_insert(ts);
            if self.org_networks.len() >= MAX_IPS {
                self.org_networks
                    .retain(|_, first| ts - *first <= 24 * HOUR);
            }
            let network_new = v.network.as_deref().is_none_or(|net| {
                let first = *self.org_networks.entry(key(net)).or_insert(ts);
                ts - first <= HOUR
            });
            c.ip_new_to_org = ts - first <= HOUR && network_new;
            let s = self.ips.get(ip);
            s.last_seen = ts;
            c.known_good_source = v.user.is_some() && s.good_accounts.contains(&account);
            let bf = cfg.brute_force.window_minutes * MINUTE;
            c.ip_accounts_bf = s
                .users_10m
                .distinct(ts, cfg.credential_stuffing.window_minutes * MINUTE);
            c.ip_signals_bf = if v.ssh_failure_signal() && !c.known_good_source {
                s.signals_10m.add(ts, 1, bf)
            } else {
                s.signals_10m.count(ts, bf)
            };
            if v.kind == EventKind::Login && !failed && v.user.is_some() {
                if s.good_accounts.len() >= 16 {
                    s.good_accounts.remove(0);
                }
                if !c.known_good_source {
                    s.good_accounts.push(account);
                }
            }
            if v.kind == EventKind::Login {
                let spray = cfg.password_spraying.window_minutes * MINUTE;
                let stuff = cfg.credential_stuffing.window_minutes * MINUTE;
                let n = v.attempts;
                c.ip_logins_stuff = s.logins_10m.add(ts, n, stuff);
                c.ip_accounts_stuff = s.users_10m.add(ts, account, stuff);
                if failed {
                    c.ip_fails_bf = s.fails_10m.add(ts, n, bf);
                    c.ip_fails_stuff = c.ip_fails_bf.min(c.ip_logins_stuff);
                    c.ip_fails_spray = s.fails_1h.add(ts, n, spray);
                    c.ip_failed_accounts_spray = s.failed_users_1h.add(ts, account, spray);
                } else {
                    c.ip_fails_bf = s.fails_10m.count(ts, bf);
                    c.ip_fails_stuff = c.ip_fails_bf.min(c.ip_logins_stuff);
                    c.ip_fails_spray = s.fails_1h.count(ts, spray);
                    c.ip_failed_accounts_spray = s.failed_users_1h.distinct(ts, spray);
                    s.successes_10m.add(ts, 1, bf);
                    s.successes_spray.add(ts, 1, spray);
                }
                c.ip_successes_spray = s.successes_spray.count(ts, spray);
                c.ip_accounts_bf = s.users_10m.distinct(ts, stuff);
                let known_account = !v.invalid_user
                    && v.user
                        .as_deref()
                        .is_some_and(|u| !u.starts_with("HIDDEN_DUE_TO"));
                let never_in = s.good_accounts.is_empty() && c.ip_successes_spray == 0;
                let (accounts, sources) = self.org_spray.entry(v.format as u8).or_default();
                if failed && never_in && known_account {
                    accounts.add(ts, account, spray);
                    sources.add(ts, key(ip), spray);
                }
                c.org_spray_accounts = accounts.distinct(ts, spray);
                c.org_spray_sources = sources.distinct(ts, spray);
            }
        }
        if let Some(user) = v
            .user
            .as_deref()
            .filter(|u| !u.starts_with("HIDDEN_DUE_TO"))
        {
            let action = key(&v.action);
            self.update_history(v, principal(user), action, hour, &mut c);
            // Short windows are the session's own; history (what is normal) is the principal's:
            // role sessions (`Role/session`) share their role's, as instances and pipelines
            // get a new session name every time.
            let s = if principal(user) == user {
                self.users.get(user)
            } else {
                self.sessions.get(user)
            };
            s.last_seen = ts;
            if let Some(ip) = v.ip.as_deref() {
                c.user_ips_1h = s.ips_1h.add(ts, key(ip), HOUR);
            }
            c.user_fails_10m = s.fails_10m.count(ts, 10 * MINUTE);
            if failed && v.kind == EventKind::Login {
                s.fails_10m.add(ts, v.attempts, 10 * MINUTE);
            } else if v.kind == EventKind::Login {
                // A success ends the run: the failures before it were this login's (typos, or
                // guesses judged on this event), not a later login's from another place.
                s.fails_10m.clear();
            }
            if v.kind == EventKind::ApiCall {
                let dw = cfg.discovery.window_minutes * MINUTE;
                c.calls_10m = s.calls_10m.add(ts, 1, 10 * MINUTE);
                // A sweep is reads the account never made before, some of them refused; its
                // everyday reads (and everyday refusals) do not count.
                let read = ["List", "Describe", "Get"]
                    .iter()
                    .any(|p| v.action.starts_with(p));
                let novel = read && c.first_time_action;
                c.distinct_actions_window = if novel {
                    s.denied_actions_10m.add(ts, action, dw)
                } else {
                    s.denied_actions_10m.distinct(ts, dw)
                };
                c.denied_window = if novel && failed {
                    s.denied_10m.add(ts, 1, dw)
                } else {
                    s.denied_10m.count(ts, dw)
                };
                // Everyday refusals repeat one or two calls; a sweep is refused across many.
                c.refused_actions_window = if failed && read {
                    s.refused_actions.add(ts, action, dw)
                } else {
                    s.refused_actions.distinct(ts, dw)
                };
                if v.action == "GetObject" {
                    c.objects_window =
                        s.objects_10m
                            .add(ts, 1, cfg.exfiltration.window_minutes * MINUTE);
                }
            }
            if matches!(v.kind, EventKind::Sudo | EventKind::Su) {
                let w = cfg.sudo.window_minutes * MINUTE;
                if v.status == crate::domain::Status::Denied {
                    c.sudo_denied_window = s.sudo_denied_10m.add(ts, 1, w);
                    c.sudo_fails_window = s.sudo_fails_10m.count(ts, w);
                } else if failed && v.action == "auth_failure" {
                    // PAM logs each failed password once; sudo's own "N incorrect password
                    // attempts" line repeats the same attempts, so only PAM's are counted.
                    c.sudo_fails_window = s.sudo_fails_10m.add(ts, 1, w);
                    c.sudo_denied_window = s.sudo_denied_10m.count(ts, w);
                } else {
                    c.sudo_fails_window = s.sudo_fails_10m.count(ts, w);
                    c.sudo_denied_window = s.sudo_denied_10m.count(ts, w);
                }
            }
            // Peaks move only once a burst is over, so a burst is compared with earlier ones.
            let h = self.users.get(principal(user));
            if v.kind == EventKind::ApiCall {
                c.peak_calls_before = h.peak_calls_10m;
                h.peak_calls_10m = h.peak_calls_10m.max(c.calls_10m);
            }
            if v.action == "GetObject" {
                if c.objects_window <= 1 {
                    h.peak_objects_10m = h.peak_objects_10m.max(h.objects_prev_burst);
                    h.objects_prev_burst = 0;
                }
                c.peak_objects_before = h.peak_objects_10m;
                h.objects_prev_burst = h.objects_prev_burst.max(c.objects_window);
            }
        }
        c
    }
}

/// The account whose history an event belongs to: a role for role sessions.
fn principal(user: &str) -> &str {
    match user.split_once('/') {
        Some((role, _)) if !role.is_empty() => role,
        _ => user,
    }
}

/// The forest's view of an event (FEATURES values, all roughly 0–5).
pub fn features(v: &EventView, c: &Ctx) -> Vec<f32> {
    let ln = |n: f64| (n.max(0.0) + 1.0).ln() as f32;
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    let login_ratio = if c.ip_logins_stuff > 0 {
        c.ip_fails_stuff as f32 / c.ip_logins_stuff as f32
    } else {
        0.0
    };
    vec![
        ln(c.ip_fails_bf as f64),
        login_ratio,
        ln(c.ip_accounts_stuff as f64),
        ln(c.user_ips_1h as f64),
        flag(c.new_ip && c.user_known),
        flag(c.new_agent && c.user_known),
        flag(c.new_region && c.user_known),
        c.rarity / 2.0,
        c.hour_deviation,
        ln(c.denied_window as f64),
        (ln(c.calls_10m as f64) - ln(c.peak_calls_before as f64)).max(0.0),
        flag(v.failed()),
        ln(c.objects_window as f64),
    ]
}

/// A flow's named features (log-scaled, `domain::flow`) plus its source's recent fan-out
/// and its service's rate.
pub fn flow_features(v: &EventView, c: &FlowCtx) -> Vec<f32> {
    let mut x = flow_row_features(&v.flow);
    x.push(((c.targets_10m as f32) + 1.0).ln());
    x.push(((c.service_flows_1m as f32) + 1.0).ln());
    x
}

/// The per-flow part of `flow_features`: sign-kept log scale, NaN for a column the export
/// lacks (the forest routes NaN one way).
pub fn flow_row_features(flow: &[f32]) -> Vec<f32> {
    flow.iter()
        .map(|f| f.signum() * (f.abs() + 1.0).ln())
        .collect()
}

/// The (1 − contamination) quantile of the training rows' scores, never below `floor`.
fn quantile_threshold(
    forest: &IsolationForest,
    rows: &[Vec<f32>],
    contamination: f32,
    floor: f32,
) -> f32 {
    let mut scores = forest.score_many(rows);
    scores.sort_by(|a, b| a.total_cmp(b));
    let idx = ((scores.len() as f32) * (1.0 - contamination.clamp(0.0, 1.0))) as usize;
    scores
        .get(idx.min(scores.len().saturating_sub(1)))
        .copied()
        .unwrap_or(floor)
        .max(floor)
}

/// A uniform sample of feature vectors (Vitter's algorithm R), seeded.
struct Reservoir {
    rows: Vec<Vec<f32>>,
    cap: usize,
    seen: u64,
    rng: ChaCha8Rng,
}

impl Reservoir {
    fn new(cap: usize, seed: u64) -> Self {
        Reservoir {
            rows: Vec::new(),
            cap: cap.max(1),
            seen: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    fn offer(&mut self, x: Vec<f32>) {
        self.seen += 1;
        if self.rows.len() < self.cap {
            self.rows.push(x);
        } else {
            let j = self.rng.random_range(0..self.seen);
            if let Some(slot) = self.rows.get_mut(j as usize) {
                *slot = x;
            }
        }
    }

    /// Rows of the most common width (flow files may differ in columns).
    fn majority_width(&self) -> Vec<Vec<f32>> {
        let mut widths = std::collections::HashMap::new();
        for r in &self.rows {
            *widths.entry(r.len()).or_insert(0usize) += 1;
        }
        let Some((&w, _)) = widths.iter().max_by_key(|(w, n)| (**n, **w)) else {
            return Vec::new();
        };
        self.rows.iter().filter(|r| r.len() == w).cloned().collect()
    }
}
