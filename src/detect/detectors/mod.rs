//! Named detectors: pure functions of one event and the behaviour counts around it. Each
//! describes attacker behaviour (rates, spreads, firsts, outcomes), never a dataset's constants.

use crate::config::DetectConfig;
use crate::domain::{EventKind, EventView};
use crate::domain::{Severity, ThreatType};

mod logins;
use logins::{brute_force, logins};

/// Behaviour around one event, computed by the engine after updating its state.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    /// Source IP: failed / all logins in the brute-force window, failures and accounts in
    /// the spraying window, accounts tried in the stuffing window.
    pub ip_fails_bf: u64,
    /// sshd failure lines from the source in the brute-force window (fail2ban's count).
    pub ip_signals_bf: u64,
    /// The account logged in successfully from this source before (its typos are its own).
    pub known_good_source: bool,
    pub ip_accounts_bf: usize,
    pub ip_fails_spray: u64,
    pub ip_failed_accounts_spray: usize,
    pub ip_logins_stuff: u64,
    pub ip_fails_stuff: u64,
    pub ip_accounts_stuff: usize,
    /// Account: failures (any source) in the last 10 minutes, before this event.
    pub user_fails_10m: u64,
    pub user_ips_1h: usize,
    pub new_ip: bool,
    /// The account first used this source within the last hour.
    pub recent_new_ip: bool,
    /// The account first used this client (user agent) within the last hour.
    pub recent_new_agent: bool,
    /// The account logged in successfully from this network (or source) before.
    pub known_login_network: bool,
    /// A console sign-in from a browser none of the account's earlier console sign-ins used
    /// (false without earlier ones: a first console sign-in has no usual browser).
    pub new_console_agent: bool,
    /// Nobody in the organisation used this source before the last hour.
    pub ip_new_to_org: bool,
    /// The account (principal) never made this call before.
    pub first_time_action: bool,
    /// The account never became root (sudo/su) before, with some history behind it.
    pub first_time_root: bool,
    /// The forest finds this event unusual (score above the training set's 99th percentile):
    /// lets weaker evidence through.
    pub forest_unusual: bool,
    /// How long the principal has been seen, in hours.
    pub history_hours: i64,
    pub new_agent: bool,
    pub new_region: bool,
    /// First seen from this region (or country) within the hour.
    pub recent_new_region: bool,
    /// The account has history (so "new" means something).
    pub user_known: bool,
    pub rarity: f32,
    pub hour_deviation: f32,
    pub denied_window: u64,
    /// Distinct read calls refused in the discovery window.
    pub refused_actions_window: usize,
    pub distinct_actions_window: usize,
    pub objects_window: u64,
    pub peak_objects_before: u64,
    pub calls_10m: u64,
    pub peak_calls_before: u64,
    pub sudo_fails_window: u64,
    pub sudo_denied_window: u64,
    pub iam_writes_before: u32,
    /// The account's IAM writes make it an administrator (`[detect.admin]`).
    pub iam_admin: bool,
    pub ip_successes_spray: u64,
    /// Organisation-wide, in the spraying window, for this log's format: accounts that failed
    /// from sources with no successful login, and how many such sources there were.
    pub org_spray_accounts: usize,
    pub org_spray_sources: usize,
    /// The target of this IAM change was created by the same actor within the hour.
    pub target_created_recently: bool,
}

/// Hours of an actor's history before "new for it" means something: an identity seen for less
/// than a day has no baseline yet (on a new install, or a new hire, everything is new).
pub const BASELINE_HOURS: i64 = 24;

impl Ctx {
    /// The actor has a baseline to be unusual against.
    pub fn has_baseline(&self) -> bool {
        self.user_known && self.history_hours >= BASELINE_HOURS
    }
}

/// One detector firing on one event.
#[derive(Debug, Clone)]
pub struct Hit {
    pub detector: &'static str,
    pub threat: ThreatType,
    pub entity: String,
    pub techniques: &'static [&'static str],
    /// How far past its threshold the behaviour is, 0–1.
    pub strength: f32,
    pub severity: Severity,
    pub summary: String,
    /// Related earlier events of the entity join the evidence (see `Related`).
    pub related: Related,
    /// The Sigma rule behind a rule hit (its techniques and references go on the alert).
    pub rule: Option<std::sync::Arc<super::rules::RuleInfo>>,
}

/// Which of an entity's recent events count as evidence when an alert opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Related {
    None,
    Logins,
    FailedApiCalls,
    ReadCalls,
    Objects,
    Escalation,
    TrailCalls,
    Flows,
}

/// 0.5 at the threshold, rising to 1.0 at four times it.
pub(super) fn ratio_strength(observed: f64, threshold: f64) -> f32 {
    if threshold <= 0.0 {
        return 1.0;
    }
    (0.5 + 0.5 * ((observed / threshold) - 1.0).clamp(0.0, 3.0) / 3.0) as f32
}

/// Run every detector on `v`.
pub fn evaluate(cfg: &DetectConfig, v: &EventView, c: &Ctx) -> Vec<Hit> {
    let mut hits = Vec::new();
    match v.kind {
        EventKind::Login => logins(cfg, v, c, &mut hits),
        EventKind::Sudo | EventKind::Su => sudo(cfg, v, c, &mut hits),
        EventKind::ApiCall => cloud(cfg, v, c, &mut hits),
        // Flows have their own windows (`flows.rs`).
        EventKind::Flow => {}
        // sshd lines that are not attempts themselves ("Invalid user", PAM failures,
        // pre-auth disconnects) still count toward fail2ban-style brute force.
        EventKind::Other => {
            let stuffing = c.ip_accounts_bf >= cfg.credential_stuffing.min_accounts;
            if v.ssh_failure_signal()
                && !stuffing
                && let Some(ip) = v.ip.as_deref()
                && let Some(hit) = brute_force(cfg, v, c, ip)
            {
                hits.push(hit);
            }
        }
    }
    hits
}

fn sudo(cfg: &DetectConfig, v: &EventView, c: &Ctx, hits: &mut Vec<Hit>) {
    let Some(user) = v.user.clone() else { return };
    let failures = c.sudo_fails_window + c.sudo_denied_window;
    // Failures, then becoming root anyway (another route, or a guessed password).
    // A typo then a working sudo is normal; refusals then root through another route (su),
    // or repeated failures before success, is not.
    let to_root = v.target.as_deref().is_none_or(|t| t == "root");
    // Root through su after sudo refused it, or after failures by someone who never became
    // root before; admins who su every day and mistype sudo now and then do not alert.
    let other_route = v.kind == EventKind::Su
        && (c.sudo_denied_window >= 1 || failures >= 1 && c.first_time_root);
    let escalated = !v.failed() && to_root && (other_route || failures >= cfg.sudo.min_failures);
    if escalated
        || failures >= 2 * cfg.sudo.min_failures
        || c.sudo_denied_window >= cfg.sudo.min_failures
    {
        hits.push(Hit {
            detector: "sudo_abuse",
            threat: ThreatType::PrivilegeEscalation,
            entity: user.clone(),
            techniques: &["T1548.003"],
            strength: if escalated {
                0.9
            } else {
                ratio_strength(failures as f64, cfg.sudo.min_failures as f64)
            },
            severity: if escalated {
                Severity::High
            } else {
                Severity::Medium
            },
            summary: format!(
                "{user}: {} failed or refused sudo/su attempt(s) in {} min{}",
                failures,
                cfg.sudo.window_minutes,
                if escalated { ", then became root" } else { "" }
            ),
            related: Related::Escalation,
            rule: None,
        });
    }
}

fn cloud(cfg: &DetectConfig, v: &EventView, c: &Ctx, hits: &mut Vec<Hit>) {
    let Some(user) = v.user.clone() else { return };
    // Unusual context for a known account: a session from a source it (and everyone else in
    // the organisation) never used before. IAM changes are everyday work for some people and
    // occasional for others; from a usual context they do not alert.
    let unusual = c.user_known && c.recent_new_ip && c.ip_new_to_org;
    let suspicious_iam = unusual;
    // Without a baseline, a new source is only a note (see `BASELINE_HOURS`).
    let iam_severity = |s: Severity| {
        if c.has_baseline() { s } else { Severity::Low }
    };
    let ok = !v.failed();
    // Trail tampering: stopping, deleting or narrowing what CloudTrail records.
    if v.weakens_logging {
        hits.push(Hit {
            detector: "trail_tampering",
            threat: ThreatType::DefenseEvasion,
            entity: user.clone(),
            techniques: &["T1562.008"],
            strength: if ok { 1.0 } else { 0.7 },
            severity: if ok {
                Severity::Critical
            } else {
                Severity::High
            },
            summary: format!(
                "{user} called {} on a trail{}",
                v.action,
                if ok { "" } else { " (refused)" }
            ),
            related: Related::TrailCalls,
            rule: None,
        });
    }
    if ok && v.admin_grant {
        let to_self = v.target.as_deref() == Some(user.as_str());
        let fire = c.target_created_recently || suspicious_iam;
        if fire {
            hits.push(Hit {
                detector: "iam_admin_grant",
                threat: ThreatType::PrivilegeEscalation,
                entity: user.clone(),
                techniques: &["T1098", "T1098.003"],
                strength: if to_self || c.target_created_recently {
                    1.0
                } else {
                    0.7
                },
                severity: Severity::Critical,
                summary: format!(
                    "{user} granted administrator rights with {}{}",
                    v.action,
                    if to_self {
                        " to itself"
                    } else if c.target_created_recently {
                        " to an account it just created"
                    } else {
                        ""
                    }
                ),
                related: Related::Escalation,
                rule: None,
            });
        }
    }
    // Credentials for an account the actor created within the hour are onboarding; what the
    // new account may do is judged by `iam_admin_grant` (critical on admin rights for it).
    if ok
        && suspicious_iam
        && !c.target_created_recently
        && matches!(
            v.action.as_str(),
            "CreateAccessKey" | "CreateLoginProfile" | "UpdateLoginProfile"
        )
        && let Some(target) = &v.target
        && target != &user
    {
        hits.push(Hit {
            detector: "credentials_for_another_user",
            threat: ThreatType::PrivilegeEscalation,
            entity: user.clone(),
            techniques: if v.action == "CreateAccessKey" {
                &["T1098.001"]
            } else {
                &["T1098"]
            },
            strength: if unusual { 1.0 } else { 0.6 },
            severity: iam_severity(Severity::High),
            summary: format!("{user} called {} for another account ({target})", v.action),
            related: Related::Escalation,
            rule: None,
        });
    }
    // Creating users is an IAM administrator's everyday work wherever they sign in from; what
    // the new user is given is judged by `iam_admin_grant` and `credentials_for_another_user`.
    if ok && v.action == "CreateUser" && suspicious_iam && !c.iam_admin {
        hits.push(Hit {
            detector: "new_iam_user",
            threat: ThreatType::PrivilegeEscalation,
            entity: user.clone(),
            techniques: &["T1136.003", "T1098"],
            strength: 0.6,
            // A new user alone is a note: staff are onboarded from wherever the admin works;
            // rights granted to it (`iam_admin_grant`) or credentials minted for it are what count.
            severity: Severity::Low,
            summary: format!(
                "{user} created IAM user {} from an unusual context",
                v.target.as_deref().unwrap_or("?")
            ),
            related: Related::Escalation,
            rule: None,
        });
    }
    // Discovery sweep: many distinct read calls with refusals among them.
    let read = ["List", "Describe", "Get"]
        .iter()
        .any(|p| v.action.starts_with(p));
    let d = &cfg.discovery;
    let refusals_needed = if unusual {
        d.min_denied
    } else {
        d.min_denied_known_context
    };
    let novel_sweep =
        c.distinct_actions_window >= d.min_distinct_actions && c.denied_window >= refusals_needed;
    let refused_sweep = c.refused_actions_window >= d.min_refused_actions;
    if read && (novel_sweep || refused_sweep) {
        hits.push(Hit {
            detector: "discovery_sweep",
            threat: ThreatType::Discovery,
            entity: user.clone(),
            techniques: discovery_techniques(v.service.as_deref()),
            strength: ratio_strength(
                (c.distinct_actions_window as f64 / d.min_distinct_actions as f64)
                    .max(c.refused_actions_window as f64 / d.min_refused_actions as f64),
                1.0,
            ),
            // "Never made before" means little without a day of history: no baseline yet,
            // low. Many distinct refusals speak for themselves.
            severity: if refused_sweep || c.history_hours >= 24 {
                Severity::Medium
            } else {
                Severity::Low
            },
            summary: format!(
                "{user} swept read calls in {} min: {} never made before ({} refused), {} distinct calls refused",
                d.window_minutes, c.distinct_actions_window, c.denied_window, c.refused_actions_window
            ),
            related: Related::ReadCalls,
            rule: None,
        });
    }
    // Mass download from storage, far above the account's own previous peak.
    let e = &cfg.exfiltration;
    if ok && v.action == "GetObject" && c.objects_window >= e.min_objects {
        let baseline = c.peak_objects_before.max(1) as f32;
        let surge = c.objects_window as f32 >= e.baseline_factor * baseline;
        // Without a day of history there is no baseline to be far above: still reported, low.
        let baseline_known = c.history_hours >= 24;
        // A new source alone is common for workloads (a new instance every night); a new
        // source with a new client is someone else holding the credentials.
        let new_hands = baseline_known && c.recent_new_ip && c.recent_new_agent;
        if surge || new_hands {
            hits.push(Hit {
                detector: "storage_mass_download",
                threat: ThreatType::Exfiltration,
                entity: user.clone(),
                techniques: &["T1530"],
                strength: if baseline_known || new_hands {
                    ratio_strength(c.objects_window as f64, e.min_objects as f64)
                } else {
                    0.3
                },
                severity: if baseline_known || new_hands {
                    Severity::High
                } else {
                    Severity::Low
                },
                summary: format!(
                    "{user} downloaded {} objects in {} min{} (previous peak {})",
                    c.objects_window,
                    e.window_minutes,
                    v.bucket
                        .as_deref()
                        .map(|b| format!(" from {b}"))
                        .unwrap_or_default(),
                    c.peak_objects_before
                ),
                related: Related::Objects,
                rule: None,
            });
        }
    }
}

fn discovery_techniques(service: Option<&str>) -> &'static [&'static str] {
    match service {
        Some("iam.amazonaws.com") | Some("sts.amazonaws.com") => &["T1087.004", "T1069.003"],
        Some("ec2.amazonaws.com") | Some("rds.amazonaws.com") | Some("s3.amazonaws.com") => {
            &["T1580"]
        }
        _ => &["T1526"],
    }
}
