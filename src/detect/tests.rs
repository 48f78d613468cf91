//! Detector tests: each scenario with a positive case and a near-miss that must stay quiet,
//! driven through the engine (state, detectors, alert grouping) with hand-built events.

use std::sync::Arc;

use super::alerts::AlertBook;
use super::engine::{Engine, Mode};
use crate::config::Config;
use crate::domain::{Alert, Format, Severity, Status, ThreatType};
use crate::domain::{EventKind, EventView};

const T0: i64 = 1_715_000_000_000;
const MIN: i64 = 60_000;

fn view(
    at_ms: i64,
    kind: EventKind,
    action: &str,
    ip: Option<&str>,
    user: Option<&str>,
    status: Status,
) -> EventView {
    let (base, _) = super::bench_fixtures();
    EventView {
        ts: at_ms,
        ip: ip.map(str::to_string),
        user: user.map(str::to_string),
        action: action.to_string(),
        resource: "host/sshd".to_string(),
        status,
        format: if kind == EventKind::ApiCall {
            Format::Cloudtrail
        } else {
            Format::Syslog
        },
        kind,
        ..base
    }
}

fn login(at_ms: i64, ip: &str, user: &str, ok: bool) -> EventView {
    view(
        at_ms,
        EventKind::Login,
        "login",
        Some(ip),
        Some(user),
        if ok { Status::Success } else { Status::Failed },
    )
}

fn api(at_ms: i64, action: &str, user: &str, ip: &str, ok: bool) -> EventView {
    let mut v = view(
        at_ms,
        EventKind::ApiCall,
        action,
        Some(ip),
        Some(user),
        if ok { Status::Success } else { Status::Denied },
    );
    v.service = Some("s3.amazonaws.com".into());
    v
}

/// Run `events` (ids assigned in order) through a detectors-only engine.
fn run(events: Vec<EventView>) -> Vec<Alert> {
    let cfg = Config::defaults().expect("defaults").detect;
    let book = AlertBook::new(cfg.group_gap_minutes, cfg.max_evidence, 1);
    let mut engine = Engine::new(cfg, Mode::DetectorsOnly, book);
    let source: Arc<str> = Arc::from("test.log");
    for (i, mut v) in events.into_iter().enumerate() {
        v.id = i as u64 + 1;
        v.line = Some(i as u64 + 1);
        engine.observe(&source, &v);
    }
    engine.book.all()
}

fn of(alerts: &[Alert], t: ThreatType) -> Vec<&Alert> {
    alerts.iter().filter(|a| a.threat_type == t).collect()
}

/// A benign history for `user`: logins from its usual source over two hours.
fn history(user: &str, ip: &str) -> Vec<EventView> {
    (0..30)
        .map(|i| login(T0 + i * 4 * MIN, ip, user, true))
        .collect()
}

#[test]
fn ssh_brute_force_groups_into_one_alert_and_a_new_wave_raises_another() {
    let mut events: Vec<EventView> = (0..30)
        .map(|i| login(T0 + i * 10_000, "IP_ADDRESS_9", "root", false))
        .collect();
    events.extend((0..30).map(|i| {
        login(
            T0 + 3 * 60 * MIN + i * 10_000,
            "IP_ADDRESS_9",
            "root",
            false,
        )
    }));
    let alerts = run(events);
    let bf = of(&alerts, ThreatType::BruteForce);
    assert_eq!(bf.len(), 2, "{alerts:#?}");
    assert!(bf[0].matched_techniques.contains(&"T1110.001".to_string()));
    assert_eq!(bf[0].entity, "IP_ADDRESS_9");
    // Evidence cites the failures that led up to the alert, not only those after it.
    assert_eq!(bf[0].event_count, 30);
    assert_eq!(bf[0].evidence.len(), 30);
    assert!(bf[0].confidence > 0.5 && bf[0].confidence < 1.0);
}

#[test]
fn brute_force_success_is_critical() {
    let mut events: Vec<EventView> = (0..15)
        .map(|i| login(T0 + i * 5_000, "IP_ADDRESS_9", "admin", false))
        .collect();
    events.push(login(T0 + 16 * 5_000, "IP_ADDRESS_9", "admin", true));
    let alerts = run(events);
    let bf = of(&alerts, ThreatType::BruteForce);
    assert_eq!(bf.len(), 1);
    assert_eq!(bf[0].severity, Severity::Critical);
}

#[test]
fn typos_and_scanners_are_not_brute_force() {
    let mut events = history("alice", "IP_ADDRESS_1");
    events.push(login(T0 + 200 * MIN, "IP_ADDRESS_1", "alice", false));
    events.push(login(T0 + 200 * MIN + 5_000, "IP_ADDRESS_1", "alice", true));
    // A scanner: three tries at one name, then gone.
    events
        .extend((0..3).map(|i| login(T0 + 210 * MIN + i * 3_000, "IP_ADDRESS_7", "oracle", false)));
    assert!(run(events).is_empty());
}

/// A failed pre-auth disconnect from `ip` (fail2ban's and CrowdSec's defaults count it).
fn sshd_line(at_ms: i64, ip: &str, user: Option<&str>) -> EventView {
    view(
        at_ms,
        EventKind::Other,
        "ssh_disconnect",
        Some(ip),
        user,
        Status::Failed,
    )
}

/// The `pam_unix(sshd:auth)` line that repeats a failed password: not counted again.
fn pam_line(at_ms: i64, ip: &str, user: Option<&str>) -> EventView {
    view(
        at_ms,
        EventKind::Other,
        "auth_failure",
        Some(ip),
        user,
        Status::Failed,
    )
}

#[test]
fn fail2ban_defaults_raise_a_low_alert_that_grows_with_volume() {
    // Three attempts, each a "Failed password" and a failed pre-auth disconnect: six lines
    // in two minutes, past fail2ban's maxretry of 5.
    let mut events = Vec::new();
    for i in 0..3 {
        events.push(sshd_line(T0 + i * 40_000, "IP_ADDRESS_5", Some("root")));
        events.push(login(
            T0 + i * 40_000 + 1_000,
            "IP_ADDRESS_5",
            "root",
            false,
        ));
    }
    let alerts = run(events.clone());
    let bf = of(&alerts, ThreatType::BruteForce);
    assert_eq!(bf.len(), 1, "{alerts:#?}");
    assert_eq!(bf[0].severity, Severity::Low);
    // Keep going: 30 attempts in ten minutes is medium, and still one alert.
    for i in 3..30 {
        events.push(sshd_line(T0 + i * 15_000, "IP_ADDRESS_5", Some("root")));
        events.push(login(
            T0 + i * 15_000 + 1_000,
            "IP_ADDRESS_5",
            "root",
            false,
        ));
    }
    let alerts = run(events);
    let bf = of(&alerts, ThreatType::BruteForce);
    assert_eq!(bf.len(), 1, "{alerts:#?}");
    assert!(bf[0].severity >= Severity::Medium, "{:?}", bf[0].severity);
    // Four lines are below fail2ban's count.
    let few: Vec<EventView> = (0..4)
        .map(|i| sshd_line(T0 + i * 1_000, "IP_ADDRESS_6", None))
        .collect();
    assert!(run(few).is_empty());
    // Four password attempts logged twice each (PAM + "Failed password") are four, not eight.
    let mut doubled = Vec::new();
    for i in 0..4 {
        doubled.push(pam_line(T0 + i * 5_000, "IP_ADDRESS_8", Some("root")));
        doubled.push(login(T0 + i * 5_000 + 500, "IP_ADDRESS_8", "root", false));
    }
    assert!(run(doubled).is_empty());
}

#[test]
fn typos_from_a_source_the_account_logged_in_from_are_not_an_alert() {
    let mut events = history("alice", "IP_ADDRESS_1");
    let at = T0 + 300 * MIN;
    for i in 0..4 {
        events.push(sshd_line(at + i * 5_000, "IP_ADDRESS_1", Some("alice")));
        events.push(login(at + i * 5_000 + 500, "IP_ADDRESS_1", "alice", false));
    }
    events.push(login(at + 30_000, "IP_ADDRESS_1", "alice", true));
    let alerts = run(events);
    assert!(alerts.is_empty(), "{alerts:#?}");
}

/// Typos, then a login, for `user` from `ip` in `network`, after 26 hours of history from
/// another address of that network (so the account has a baseline).
fn typos_then_login(ip: &str, network: &str) -> Vec<Alert> {
    let in_network = |mut v: EventView, net: &str| {
        v.network = Some(net.into());
        v
    };
    let mut events: Vec<EventView> = (0..40)
        .map(|i| {
            in_network(
                login(T0 + i * 40 * MIN, "IP_ADDRESS_1", "alice", true),
                "NETWORK_a",
            )
        })
        .collect();
    let at = T0 + 30 * 60 * MIN;
    for i in 0..3 {
        events.push(in_network(
            login(at + i * 5_000, ip, "alice", false),
            network,
        ));
    }
    events.push(in_network(login(at + 30_000, ip, "alice", true), network));
    run(events)
}

#[test]
fn typos_from_a_new_address_in_a_network_the_account_uses_are_not_an_alert() {
    // A VPN pool or a DHCP lease: a new address, a network the account has used for a day.
    let alerts = typos_then_login("IP_ADDRESS_2", "NETWORK_a");
    assert!(alerts.is_empty(), "{alerts:#?}");
    // The same typos from a network nobody in the organisation used are a note.
    let alerts = typos_then_login("IP_ADDRESS_3", "NETWORK_b");
    let logins = of(&alerts, ThreatType::SuspiciousLogin);
    assert_eq!(logins.len(), 1, "{alerts:#?}");
    assert_eq!(logins[0].severity, Severity::Low);
}

/// A day of console sign-ins with MFA from the office browser, then one failure and a success
/// from a network nobody used, with `agent` and `mfa`.
fn console_after_one_failure(agent: &str, mfa: bool) -> Vec<Alert> {
    console_after_failures(1, true, agent, mfa)
}

/// As [`console_after_one_failure`] with `failures` failures; without `console_history` the
/// day's work was command-line calls only (no earlier console sign-in).
fn console_after_failures(
    failures: i64,
    console_history: bool,
    agent: &str,
    mfa: bool,
) -> Vec<Alert> {
    let console = |at: i64, ip: &str, ok: bool, agent: &str, mfa: bool| {
        let mut v = login(at, ip, "carol", ok);
        v.action = "ConsoleLogin".into();
        v.format = Format::Cloudtrail;
        v.agent = Some(agent.into());
        v.mfa = Some(mfa);
        v.network = Some(
            if ip == "IP_ADDRESS_1" {
                "NETWORK_a"
            } else {
                "NETWORK_z"
            }
            .into(),
        );
        v
    };
    let mut events: Vec<EventView> = (0..40)
        .map(|i| {
            let mut v = console(T0 + i * 40 * MIN, "IP_ADDRESS_1", true, "Firefox/125", true);
            if !console_history {
                v.kind = EventKind::ApiCall;
                v.action = "DescribeInstances".into();
                v.agent = Some("aws-cli/2.15".into());
            }
            v
        })
        .collect();
    let at = T0 + 30 * 60 * MIN;
    for i in 0..failures {
        events.push(console(at + i * 20_000, "IP_ADDRESS_8", false, agent, mfa));
    }
    events.push(console(at + 100_000, "IP_ADDRESS_8", true, agent, mfa));
    run(events)
}

#[test]
fn a_first_console_sign_in_after_one_failure_has_no_usual_browser_to_differ_from() {
    // Command-line work all day, then the account's first console sign-in: every browser is
    // new, so it says nothing (a password-only sign-in from a new browser needs a usual one).
    let alerts = console_after_failures(1, false, "Android 14 Chrome/124", false);
    assert!(alerts.is_empty(), "{alerts:#?}");
    // Two failures from a network nobody used are still a note.
    let alerts = console_after_failures(2, false, "Android 14 Chrome/124", false);
    assert_eq!(
        of(&alerts, ThreatType::SuspiciousLogin).len(),
        1,
        "{alerts:#?}"
    );
}

#[test]
fn typos_then_mfa_from_the_usual_browser_are_the_person() {
    let alerts = console_after_failures(2, true, "Firefox/125", true);
    assert!(alerts.is_empty(), "{alerts:#?}");
    // The same typos signed in with a password alone are a note.
    let alerts = console_after_failures(2, true, "Firefox/125", false);
    let logins = of(&alerts, ThreatType::SuspiciousLogin);
    assert_eq!(logins.len(), 1, "{alerts:#?}");
    assert_eq!(logins[0].severity, Severity::Low);
}

#[test]
fn typos_that_ended_in_a_login_do_not_count_against_the_next_login_elsewhere() {
    // Two typos and a login from the usual address, then minutes later a login to another
    // host from a network nobody used (a phone hotspot): no failures lead up to that one.
    let mut events = history("dave", "IP_ADDRESS_1");
    let at = T0 + 300 * MIN;
    events.push(login(at, "IP_ADDRESS_1", "dave", false));
    events.push(login(at + 10_000, "IP_ADDRESS_1", "dave", false));
    events.push(login(at + 20_000, "IP_ADDRESS_1", "dave", true));
    events.push(login(at + 5 * MIN, "IP_ADDRESS_9", "dave", true));
    let alerts = run(events.clone());
    assert!(alerts.is_empty(), "{alerts:#?}");
    // Failures with no login after them still lead up to a login from somewhere new.
    events.remove(events.len() - 2);
    let alerts = run(events);
    assert_eq!(
        of(&alerts, ThreatType::SuspiciousLogin).len(),
        1,
        "{alerts:#?}"
    );
}

#[test]
fn one_failure_then_a_password_only_sign_in_from_a_new_browser_and_network_is_a_note() {
    let alerts = console_after_one_failure("Android 14 Chrome/124", false);
    assert_eq!(
        of(&alerts, ThreatType::SuspiciousLogin).len(),
        1,
        "{alerts:#?}"
    );
    // With MFA, or from the browser the account always uses, one failure is a typo.
    assert!(console_after_one_failure("Android 14 Chrome/124", true).is_empty());
    assert!(console_after_one_failure("Firefox/125", false).is_empty());
}

#[test]
fn a_login_profile_for_an_account_the_admin_just_created_is_onboarding() {
    let iam = |at: i64, action: &str, target: &str, ip: &str| {
        let mut v = api(at, action, "bob", ip, true);
        v.service = Some("iam.amazonaws.com".into());
        v.target = Some(target.into());
        v
    };
    // A day of ordinary work from the office, then IAM changes from an address new to all.
    let mut events: Vec<EventView> = (0..40)
        .map(|i| {
            api(
                T0 + i * 40 * MIN,
                "ListBuckets",
                "bob",
                "IP_ADDRESS_1",
                true,
            )
        })
        .collect();
    let at = T0 + 30 * 60 * MIN;
    events.push(iam(at, "CreateUser", "USER_NEW", "IP_ADDRESS_7"));
    events.push(iam(
        at + 60_000,
        "CreateLoginProfile",
        "USER_NEW",
        "IP_ADDRESS_7",
    ));
    let alerts = run(events.clone());
    assert!(
        alerts.iter().all(|a| a.severity <= Severity::Low),
        "{alerts:#?}"
    );
    // The new user alone is a note from someone who does not administer IAM …
    assert!(
        alerts
            .iter()
            .any(|a| a.detectors.iter().any(|d| d == "new_iam_user")),
        "{alerts:#?}"
    );
    // … and nothing from an IAM administrator (a day of IAM changes behind it).
    let mut admin: Vec<EventView> = (0..40)
        .map(|i| {
            let mut v = iam(
                T0 + i * 40 * MIN,
                "AddUserToGroup",
                "USER_X",
                "IP_ADDRESS_1",
            );
            v.user = Some("erin".into());
            v
        })
        .collect();
    let mut create = iam(at, "CreateUser", "USER_NEW", "IP_ADDRESS_7");
    create.user = Some("erin".into());
    admin.push(create);
    let alerts = run(admin);
    assert!(alerts.is_empty(), "{alerts:#?}");
    // A password for an existing account from there is a takeover signal.
    events.push(iam(
        at + 120_000,
        "CreateLoginProfile",
        "USER_OLD",
        "IP_ADDRESS_7",
    ));
    let alerts = run(events);
    assert!(
        alerts
            .iter()
            .any(|a| a.severity == Severity::High && a.description.contains("USER_OLD")),
        "{alerts:#?}"
    );
}

/// Five sources, five different accounts each, one try per account, spread over two hours.
fn distributed(invalid: bool) -> Vec<EventView> {
    let mut events = Vec::new();
    for source in 0..5i64 {
        for n in 0..5i64 {
            let at = T0 + (source * 5 + n) * 5 * MIN;
            let mut v = login(
                at,
                &format!("IP_ADDRESS_{}", 50 + source),
                &format!("USER_S{}", source * 5 + n),
                false,
            );
            v.invalid_user = invalid;
            events.push(v);
        }
    }
    events
}

#[test]
fn spraying_spread_over_sources_under_the_per_source_threshold_is_found() {
    let alerts = run(distributed(false));
    let spray = of(&alerts, ThreatType::PasswordSpraying);
    assert!(!spray.is_empty(), "{alerts:#?}");
    assert!(spray[0].description.contains("distributed"), "{spray:#?}");
    // Made-up account names from many sources are internet scanners, not a spray.
    let alerts = run(distributed(true));
    assert!(
        of(&alerts, ThreatType::PasswordSpraying).is_empty(),
        "{alerts:#?}"
    );
}

#[test]
fn password_spraying_is_slow_and_wide_but_an_office_is_not() {
    // One source, 12 accounts, one try each, over three hours.
    let spray: Vec<EventView> = (0..12)
        .map(|i| {
            login(
                T0 + i * 15 * MIN,
                "IP_ADDRESS_5",
                &format!("USER_{i}"),
                false,
            )
        })
        .collect();
    let alerts = run(spray);
    assert_eq!(
        of(&alerts, ThreatType::PasswordSpraying).len(),
        1,
        "{alerts:#?}"
    );
    // An office: ten people mistype once, forty log in fine.
    let mut office: Vec<EventView> = (0..40)
        .map(|i| {
            login(
                T0 + i * 3 * MIN,
                "IP_ADDRESS_2",
                &format!("USER_{}", i % 20),
                true,
            )
        })
        .collect();
    office.extend((0..10).map(|i| {
        login(
            T0 + i * 10 * MIN + 30_000,
            "IP_ADDRESS_2",
            &format!("USER_{i}"),
            false,
        )
    }));
    office.sort_by_key(|v| v.ts);
    assert!(of(&run(office), ThreatType::PasswordSpraying).is_empty());
}

#[test]
fn credential_stuffing_is_many_accounts_fast() {
    let events: Vec<EventView> = (0..40)
        .map(|i| {
            login(
                T0 + i * 2_000,
                "IP_ADDRESS_3",
                &format!("user{i}***@x.com"),
                i % 13 == 0,
            )
        })
        .collect();
    let alerts = run(events);
    let cs = of(&alerts, ThreatType::CredentialStuffing);
    assert_eq!(cs.len(), 1, "{alerts:#?}");
    assert!(cs[0].matched_techniques.contains(&"T1110.004".to_string()));
    assert!(of(&alerts, ThreatType::BruteForce).is_empty());
}

#[test]
fn trail_tampering_alerts_but_a_benign_trail_update_does_not() {
    let mut stop = api(T0, "StopLogging", "USER_A", "IP_ADDRESS_1", true);
    stop.weakens_logging = true;
    let alerts = run(vec![stop]);
    let de = of(&alerts, ThreatType::DefenseEvasion);
    assert_eq!(de.len(), 1);
    assert_eq!(de[0].severity, Severity::Critical);
    assert!(de[0].matched_techniques.contains(&"T1562.008".to_string()));
    let update = api(T0, "UpdateTrail", "USER_A", "IP_ADDRESS_1", true);
    assert!(run(vec![update]).is_empty());
}

#[test]
fn mass_download_against_the_accounts_own_baseline() {
    let grab = |start: i64, n: i64| -> Vec<EventView> {
        (0..n)
            .map(|i| {
                let mut v = api(
                    start + i * 1_000,
                    "GetObject",
                    "USER_B",
                    "IP_ADDRESS_1",
                    true,
                );
                v.bucket = Some("backups".into());
                v
            })
            .collect()
    };
    let alerts = run(grab(T0, 300));
    assert_eq!(
        of(&alerts, ThreatType::Exfiltration).len(),
        1,
        "{alerts:#?}"
    );
    // The same volume every night is this account's normal.
    let mut nightly = grab(T0, 300);
    nightly.extend(grab(T0 + 24 * 60 * MIN, 320));
    let alerts = run(nightly);
    assert_eq!(
        of(&alerts, ThreatType::Exfiltration).len(),
        1,
        "only the first night: {alerts:#?}"
    );
}

#[test]
fn root_console_login_without_mfa() {
    let mut v = view(
        T0,
        EventKind::Login,
        "ConsoleLogin",
        Some("IP_ADDRESS_4"),
        Some("root"),
        Status::Success,
    );
    v.format = Format::Cloudtrail;
    v.user_type = Some("Root".into());
    v.mfa = Some(false);
    let alerts = run(vec![v.clone()]);
    let sl = of(&alerts, ThreatType::SuspiciousLogin);
    assert_eq!(sl.len(), 1);
    assert_eq!(sl[0].severity, Severity::Critical);
    v.mfa = Some(true);
    assert!(run(vec![v]).is_empty());
}

#[test]
fn refused_sudo_then_su_to_root_is_escalation_but_an_admins_typo_is_not() {
    let sudo = |at: i64, user: &str, status: Status, action: &str| {
        let mut v = view(at, EventKind::Sudo, action, None, Some(user), status);
        v.target = Some("root".into());
        v
    };
    let mut su = view(
        T0 + 5 * MIN,
        EventKind::Su,
        "su",
        None,
        Some("USER_C"),
        Status::Success,
    );
    su.target = Some("root".into());
    let alerts = run(vec![sudo(T0, "USER_C", Status::Denied, "sudo"), su]);
    let pe = of(&alerts, ThreatType::PrivilegeEscalation);
    assert_eq!(pe.len(), 1, "{alerts:#?}");
    assert!(pe[0].matched_techniques.contains(&"T1548.003".to_string()));
    // An admin who becomes root all day mistypes once, then uses su.
    let mut admin: Vec<EventView> = (0..30)
        .map(|i| sudo(T0 + i * 5 * MIN, "USER_D", Status::Success, "sudo"))
        .collect();
    admin.push(sudo(
        T0 + 200 * MIN,
        "USER_D",
        Status::Failed,
        "auth_failure",
    ));
    let mut su = view(
        T0 + 201 * MIN,
        EventKind::Su,
        "su",
        None,
        Some("USER_D"),
        Status::Success,
    );
    su.target = Some("root".into());
    admin.push(su);
    assert!(run(admin).is_empty());
}

#[test]
fn port_scan_from_flows() {
    let events: Vec<EventView> = (0..40)
        .map(|i| {
            let mut v = view(
                T0 + i * 500,
                EventKind::Flow,
                "flow",
                Some("IP_ADDRESS_8"),
                None,
                Status::Unknown,
            );
            v.dst = Some("IP_ADDRESS_20".into());
            v.dst_port = Some(1000 + i as u32);
            v
        })
        .collect();
    let alerts = run(events);
    let na = of(&alerts, ThreatType::NetworkAnomaly);
    assert_eq!(na.len(), 1, "{alerts:#?}");
    assert!(na[0].matched_techniques.contains(&"T1046".to_string()));
}

#[test]
fn discovery_sweep_of_refused_calls() {
    let mut events = Vec::new();
    for i in 0..20 {
        events.push(api(
            T0 + i * 20_000,
            &format!("Describe{i}"),
            "USER_E",
            "IP_ADDRESS_1",
            false,
        ));
    }
    let alerts = run(events);
    assert_eq!(of(&alerts, ThreatType::Discovery).len(), 1, "{alerts:#?}");
    // The same refused call over and over is a misconfiguration, not a sweep.
    let repeat: Vec<EventView> = (0..40)
        .map(|i| {
            api(
                T0 + i * 20_000,
                "GetSecretValue",
                "USER_F",
                "IP_ADDRESS_1",
                false,
            )
        })
        .collect();
    assert!(run(repeat).is_empty());
}

#[test]
fn a_growing_alert_keeps_what_analysts_and_intel_wrote_to_it() {
    use crate::domain::{AlertIntel, AlertStatus};
    use crate::store::{Store, stored_alert, stored_alerts, update_alert};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("data"), 8).unwrap();
    let cfg = Config::defaults().expect("defaults").detect;
    let book = AlertBook::new(cfg.group_gap_minutes, cfg.max_evidence, 1);
    let mut engine = Engine::new(cfg, Mode::DetectorsOnly, book);
    let source: Arc<str> = Arc::from("auth.log");
    let feed = |from: i64, to: i64, engine: &mut Engine| {
        for i in from..to {
            let mut v = login(T0 + i * 10_000, "IP_ADDRESS_9", "root", false);
            (v.id, v.line) = (i as u64 + 1, Some(i as u64 + 1));
            engine.observe(&source, &v);
        }
    };
    feed(0, 30, &mut engine);
    engine.book.persist(&store).unwrap();
    let id = stored_alerts(&store).unwrap()[0].alert_id;
    let intel = AlertIntel {
        ranking: "lexical".into(),
        query: "ssh brute force".into(),
        matches: Vec::new(),
        retrieved_at: chrono::Utc::now(),
    };
    update_alert(&store, id, |a| {
        a.status = AlertStatus::Acknowledged;
        a.intel = Some(intel.clone());
    })
    .unwrap();
    // Detection grows the same alert and writes it again.
    feed(30, 50, &mut engine);
    let written = engine.book.persist(&store).unwrap();
    let stored = stored_alert(&store, id).unwrap().unwrap();
    // What persist hands back is what it stored: the responder acts on it without a read.
    assert_eq!(written, vec![stored.clone()]);
    assert_eq!(stored.event_count, 50, "detection's fields are detection's");
    assert_eq!(stored.evidence.len(), 50);
    assert_eq!(stored.status, AlertStatus::Acknowledged);
    assert_eq!(stored.intel.as_ref().map(|i| &i.query), Some(&intel.query));
    // Every ref of one file shares its path.
    assert!(Arc::ptr_eq(
        &engine.book.all()[0].evidence[0].source,
        &engine.book.all()[0].evidence[49].source
    ));
}
