//! Login detectors: brute force from one source (fail2ban's counting), credential stuffing,
//! password spraying (per source and spread over many), a success after failures, and risky
//! console sign-ins.

use super::{Ctx, Hit, Related, ratio_strength};
use crate::config::DetectConfig;
use crate::domain::{EventKind, EventView, Format, Severity, ThreatType};

/// Password guessing from one source against few accounts: fail2ban's count (5 sshd failure
/// lines in 10 min) raises a low alert; severity grows with the number of failed attempts
/// and becomes critical when a login succeeds.
pub(super) fn brute_force(cfg: &DetectConfig, v: &EventView, c: &Ctx, ip: &str) -> Option<Hit> {
    let bf = &cfg.brute_force;
    let attempts = c.ip_fails_bf >= bf.min_failures;
    let lines = c.ip_signals_bf >= bf.min_signals;
    if !(attempts || lines) || c.ip_accounts_bf > bf.max_accounts {
        return None;
    }
    let success = v.kind == EventKind::Login && !v.failed() && !c.known_good_source;
    // A success ends a guessing run only when there was a run: a few typos and then the
    // right password is how people log in, whatever fail2ban counted.
    let guessed = attempts || c.ip_signals_bf >= 4 * bf.min_signals;
    let severity = if success && guessed {
        Severity::Critical
    } else if c.ip_fails_bf >= 5 * bf.min_failures || c.ip_signals_bf >= 10 * bf.min_signals {
        Severity::High
    } else if attempts || c.ip_signals_bf >= 4 * bf.min_signals {
        Severity::Medium
    } else {
        Severity::Low
    };
    let strength = ratio_strength(c.ip_fails_bf as f64, bf.min_failures as f64)
        .max(0.6 * ratio_strength(c.ip_signals_bf as f64, bf.min_signals as f64));
    Some(Hit {
        detector: "brute_force",
        threat: ThreatType::BruteForce,
        entity: ip.to_string(),
        techniques: if v.format == crate::domain::Format::Syslog {
            &["T1110.001", "T1021.004"]
        } else {
            &["T1110.001"]
        },
        strength,
        severity,
        summary: format!(
            "password guessing: {} failed logins ({} sshd failure lines) from {ip} against {} account(s) in {} min{}",
            c.ip_fails_bf,
            c.ip_signals_bf,
            c.ip_accounts_bf,
            bf.window_minutes,
            if success {
                "; followed by a successful login"
            } else {
                ""
            }
        ),
        related: Related::Logins,
        rule: None,
    })
}

pub(super) fn logins(cfg: &DetectConfig, v: &EventView, c: &Ctx, hits: &mut Vec<Hit>) {
    let Some(ip) = v.ip.clone() else {
        console_login(v, c, hits);
        return;
    };
    let stuff = &cfg.credential_stuffing;
    let spray = &cfg.password_spraying;
    let stuffing = c.ip_accounts_stuff >= stuff.min_accounts
        && c.ip_logins_stuff > 0
        && (c.ip_fails_stuff as f32 / c.ip_logins_stuff as f32) >= stuff.min_failure_ratio;
    if stuffing {
        hits.push(Hit {
            detector: "credential_stuffing",
            threat: ThreatType::CredentialStuffing,
            entity: ip.clone(),
            techniques: &["T1110.004"],
            strength: ratio_strength(c.ip_accounts_stuff as f64, stuff.min_accounts as f64),
            severity: if v.failed() { Severity::High } else { Severity::Critical },
            summary: format!(
                "credential stuffing: {} accounts tried from {ip} in {} min, {} of {} attempts failed{}",
                c.ip_accounts_stuff,
                stuff.window_minutes,
                c.ip_fails_stuff,
                c.ip_logins_stuff,
                if v.failed() { "" } else { "; a login succeeded" }
            ),
            related: Related::Logins,
            rule: None,
        });
    } else if let Some(hit) = brute_force(cfg, v, c, &ip) {
        hits.push(hit);
    } else if (c.ip_failed_accounts_spray >= spray.min_accounts
        || c.forest_unusual && c.ip_failed_accounts_spray * 3 >= spray.min_accounts * 2)
        && (c.ip_fails_spray as f32 / c.ip_failed_accounts_spray.max(1) as f32) <= spray.max_attempts_per_account
        // A shared office address has typos from many people, but mostly successes.
        && (c.ip_successes_spray as usize) * 2 < c.ip_failed_accounts_spray
    {
        hits.push(Hit {
            detector: "password_spraying",
            threat: ThreatType::PasswordSpraying,
            entity: ip.clone(),
            techniques: &["T1110.003"],
            strength: ratio_strength(c.ip_failed_accounts_spray as f64, spray.min_accounts as f64),
            severity: if v.failed() {
                Severity::Medium
            } else {
                Severity::High
            },
            summary: format!(
                "password spraying: {} accounts failed from {ip} in {} h, {:.1} attempts each",
                c.ip_failed_accounts_spray,
                spray.window_minutes / 60,
                c.ip_fails_spray as f32 / c.ip_failed_accounts_spray.max(1) as f32
            ),
            related: Related::Logins,
            rule: None,
        });
    }
    if hits.is_empty() && distributed_spray(cfg, v, c) {
        hits.push(Hit {
            detector: "password_spraying",
            threat: ThreatType::PasswordSpraying,
            entity: ip.clone(),
            techniques: &["T1110.003"],
            strength: ratio_strength(c.org_spray_accounts as f64, 2.0 * spray.min_accounts as f64),
            severity: Severity::Medium,
            summary: format!(
                "distributed password spraying: {} accounts failed from {} sources with no successful login in {} h, {} of them from {ip}",
                c.org_spray_accounts,
                c.org_spray_sources,
                spray.window_minutes / 60,
                c.ip_failed_accounts_spray
            ),
            related: Related::Logins,
            rule: None,
        });
    }
    // A success right after a run of failures for the same account, from somewhere new.
    let n = cfg.login.success_after_failures;
    // Failures alone make it likely guessing only at a volume fail2ban would ban the source
    // for (its maxretry); fewer are what people who mistype leave, wherever they log in from.
    let guessing = c.user_fails_10m >= (2 * n).max(cfg.brute_force.min_failures);
    // With a baseline, one failure is enough when something else about the login is new too:
    // a country the account never used, or a password-only console sign-in from a browser
    // its earlier console sign-ins never used. Each stands in for the second failure a typo
    // rarely leaves.
    let new_country = c.has_baseline() && c.recent_new_region && v.format != Format::Cloudtrail;
    let new_client_no_mfa = c.has_baseline() && c.new_console_agent && v.mfa == Some(false);
    let corroborated = c.forest_unusual || new_country || new_client_no_mfa;
    // Somewhere new: a network the account never logged in from. A second factor passed from
    // the account's usual client is the person, whatever they mistyped first.
    let new_place = c.recent_new_ip && c.ip_new_to_org && !c.known_login_network;
    let second_factor = v.mfa == Some(true) && !c.recent_new_agent;
    if !v.failed()
        && !c.known_good_source
        && (c.user_known
            && new_place
            && !second_factor
            && (c.user_fails_10m >= n || c.user_fails_10m >= 1 && corroborated)
            || guessing)
        && let Some(user) = &v.user
        && hits.is_empty()
    {
        hits.push(Hit {
            detector: "success_after_failures",
            threat: ThreatType::SuspiciousLogin,
            entity: user.clone(),
            techniques: &["T1078", "T1110"],
            strength: ratio_strength(
                c.user_fails_10m as f64,
                cfg.login.success_after_failures as f64,
            ),
            // A typo-sized burst from a new address is a note; a new country or an event the
            // forest finds unusual make it a likely takeover, and so does twice fail2ban's
            // count; guessing volume alone is medium.
            severity: if c.forest_unusual
                || (c.user_known && c.recent_new_region)
                || c.user_fails_10m >= 2 * cfg.brute_force.min_failures
            {
                Severity::High
            } else if guessing {
                Severity::Medium
            } else {
                Severity::Low
            },
            summary: format!(
                "{user} logged in after {} failed attempts in 10 min{}",
                c.user_fails_10m,
                if c.recent_new_ip {
                    ", from a source new for the account"
                } else {
                    ""
                }
            ),
            related: Related::Logins,
            rule: None,
        });
    }
    console_login(v, c, hits);
}

/// Spraying spread over many sources (a botnet, rotating proxies), each under the per-source
/// threshold: a failing source that tried a few accounts, a few tries each, and never logged
/// in, while across the organisation such sources failed on twice the per-source threshold of
/// accounts. Unknown accounts (sshd's `Invalid user`, CloudTrail's hidden names) are not
/// counted there: trying made-up names is what every internet scanner does.
fn distributed_spray(cfg: &DetectConfig, v: &EventView, c: &Ctx) -> bool {
    let spray = &cfg.password_spraying;
    v.failed()
        && !c.known_good_source
        && c.ip_successes_spray == 0
        && c.ip_failed_accounts_spray >= DISTRIBUTED_MIN_ACCOUNTS
        && (c.ip_fails_spray as f32 / c.ip_failed_accounts_spray as f32)
            <= spray.max_attempts_per_account
        && c.org_spray_sources >= DISTRIBUTED_MIN_SOURCES
        && c.org_spray_accounts >= 2 * spray.min_accounts
}

/// Accounts one source of a distributed spray must have tried, and sources there must be.
const DISTRIBUTED_MIN_ACCOUNTS: usize = 3;
const DISTRIBUTED_MIN_SOURCES: usize = 3;

/// Console logins by root, or without MFA from a new place.
fn console_login(v: &EventView, c: &Ctx, hits: &mut Vec<Hit>) {
    if v.action != "ConsoleLogin" || v.failed() {
        return;
    }
    let Some(user) = v.user.clone() else { return };
    let root = v.user_type.as_deref() == Some("Root");
    let no_mfa = v.mfa == Some(false);
    let new_place = c.user_known && (c.new_ip || c.new_region);
    // Root without MFA. (Other accounts' risky logins are `success_after_failures`: no-MFA
    // console logins from new places are too common to alert on alone.)
    let fire = root && no_mfa;
    if !fire {
        return;
    }
    hits.push(Hit {
        detector: if root {
            "root_console_login"
        } else {
            "console_login_no_mfa"
        },
        threat: ThreatType::SuspiciousLogin,
        entity: user.clone(),
        techniques: &["T1078.004"],
        strength: match (root, no_mfa, new_place) {
            (true, true, _) => 1.0,
            (true, false, _) => 0.6,
            (false, _, _) => 0.7,
        },
        severity: if root && no_mfa {
            Severity::Critical
        } else {
            Severity::High
        },
        summary: format!(
            "{} console login{}{}",
            if root { "root account" } else { user.as_str() },
            if no_mfa { " without MFA" } else { "" },
            if new_place {
                " from a new location"
            } else {
                ""
            }
        ),
        related: Related::Logins,
        rule: None,
    });
}
