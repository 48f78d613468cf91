//! Response engine: states per tier and source, approvals, expiry with a controlled clock,
//! rollback, restarts, live execution through a fake executor, allow-lists, audit tampering,
//! and the safety invariants as properties over random alerts and policies.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use super::executor::{Executor, Outcome, Request};
use super::{Context, Responder, Summary, audit::Audit};
use crate::config::{Config, RespondConfig};
use crate::domain::{
    ActionKind, ActionState, Alert, AlertStatus, CloseReason, Rollback, Severity, ThreatType, Tier,
};
use crate::store::Store;

/// Counts every request and answers with `succeed`; records the argv it was given.
#[derive(Default)]
struct FakeExecutor {
    calls: AtomicUsize,
    fail: bool,
    seen: std::sync::Mutex<Vec<Vec<String>>>,
}

impl Executor for FakeExecutor {
    fn run(&self, request: &Request) -> Outcome {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Request::Command(argv) = request {
            self.seen.lock().expect("lock").push(argv.clone());
        }
        Outcome {
            success: !self.fail,
            status: Some(if self.fail { 1 } else { 0 }),
            attempts: 1,
            detail: "fake".into(),
        }
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    store: Store,
    config: RespondConfig,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("data"), 8).expect("store");
    let mut config = Config::defaults().expect("defaults").respond;
    config.builtin_never_act = false;
    Fixture { dir, store, config }
}

impl Fixture {
    fn responder(&self, live: Option<Arc<dyn Executor>>) -> Responder<'_> {
        let audit = Audit::open(
            self.store.audit.clone(),
            &self.dir.path().join("config/audit.key"),
            &self.dir.path().join("data"),
        )
        .expect("audit");
        // Privacy off in these tests: targets are real values.
        Responder::new(&self.store, &self.config, audit, None, live).expect("responder")
    }
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
        .expect("time")
        .into()
}

fn alert(id: u64, threat: ThreatType, severity: Severity, confidence: f32, entity: &str) -> Alert {
    Alert {
        alert_id: id,
        severity,
        confidence,
        threat_type: threat,
        description: "test".into(),
        timestamp: t0(),
        affected_resources: vec!["i-0abc123".into()],
        matched_techniques: vec![],
        recommended_actions: vec![],
        anomaly_score: 0.0,
        entity: entity.into(),
        first_seen: t0() - Duration::minutes(5),
        last_seen: t0() - Duration::minutes(1),
        event_count: 40,
        evidence: vec![],
        evidence_dropped: 0,
        detectors: vec![],
        status: AlertStatus::Open,
        close_reason: None,
        intel: None,
        rules: Vec::new(),
    }
}

fn live_ctx(now: DateTime<Utc>) -> Context {
    Context {
        live_source: true,
        now,
        assume_fresh: false,
    }
}

/// Store `a` (decisions read its status) and respond to it as fresh live input.
fn raise(f: &Fixture, r: &Responder, a: &Alert) {
    crate::store::save_alert(&f.store, a).expect("save alert");
    r.respond(a, &live_ctx(t0()), &mut Summary::default())
        .expect("respond");
}

fn by_kind(r: &Responder, kind: ActionKind) -> crate::domain::Action {
    r.actions()
        .expect("actions")
        .into_iter()
        .find(|a| a.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?}"))
}

#[test]
fn fresh_live_alert_runs_green_and_yellow_in_the_sandbox_and_holds_red() {
    let f = fixture();
    let fake = Arc::new(FakeExecutor::default());
    let r = f.responder(None);
    let a = alert(
        1,
        ThreatType::BruteForce,
        Severity::High,
        0.9,
        "203.0.113.9",
    );
    let mut summary = Summary::default();
    r.respond(&a, &live_ctx(t0()), &mut summary)
        .expect("respond");
    assert_eq!(
        by_kind(&r, ActionKind::RateLimitIp).state,
        ActionState::Sandboxed
    );
    assert_eq!(
        by_kind(&r, ActionKind::Notify).state,
        ActionState::Sandboxed
    );
    let block = by_kind(&r, ActionKind::BlockIp);
    assert_eq!(block.tier, Tier::Red);
    assert_eq!(block.state, ActionState::PendingApproval);
    assert!(block.preview.contains("203.0.113.9"), "{}", block.preview);
    assert!(matches!(block.rollback, Rollback::Inverse { .. }));
    assert_eq!(
        by_kind(&r, ActionKind::RateLimitIp).duration_secs,
        Some(300)
    );
    assert!(summary.auto_state_changing >= 1);
    assert_eq!(
        fake.calls.load(Ordering::SeqCst),
        0,
        "the sandbox never executes"
    );
}

#[test]
fn historical_or_stale_or_weak_alerts_only_propose() {
    let f = fixture();
    let r = f.responder(None);
    let a = alert(
        1,
        ThreatType::BruteForce,
        Severity::High,
        0.9,
        "203.0.113.9",
    );
    let historical = Context {
        live_source: false,
        now: t0(),
        assume_fresh: false,
    };
    r.respond(&a, &historical, &mut Summary::default())
        .expect("respond");
    let rate = by_kind(&r, ActionKind::RateLimitIp);
    assert_eq!(rate.state, ActionState::Proposed);
    assert!(rate.state_reason.contains("historical"));

    let stale = alert(
        2,
        ThreatType::BruteForce,
        Severity::High,
        0.9,
        "203.0.113.10",
    );
    r.respond(
        &stale,
        &live_ctx(t0() + Duration::hours(2)),
        &mut Summary::default(),
    )
    .expect("respond");
    let weak = alert(
        3,
        ThreatType::NetworkAnomaly,
        Severity::Medium,
        0.61,
        "203.0.113.11",
    );
    let mut config = f.config.clone();
    config.min_confidence_auto = 0.9;
    let strict = Responder::new(
        &f.store,
        &config,
        Audit::open(f.store.audit.clone(), &f.dir.path().join("k"), f.dir.path()).expect("audit"),
        None,
        None,
    )
    .expect("responder");
    strict
        .respond(&weak, &live_ctx(t0()), &mut Summary::default())
        .expect("respond");
    for a in r.actions().expect("actions") {
        assert!(
            !a.state.in_effect(),
            "{:?} {:?} {}",
            a.kind,
            a.state,
            a.state_reason
        );
    }
}

#[test]
fn approval_runs_rejection_records_and_expiry_is_by_the_clock() {
    let f = fixture();
    let r = f.responder(None);
    let a = alert(
        1,
        ThreatType::BruteForce,
        Severity::High,
        0.9,
        "203.0.113.9",
    );
    raise(&f, &r, &a);
    let block = by_kind(&r, ActionKind::BlockIp);
    let approved = r
        .approve(
            block.action_id,
            "alice",
            Some("confirmed attacker".into()),
            false,
            t0(),
        )
        .expect("approve");
    assert_eq!(approved.state, ActionState::Sandboxed);
    let d = approved.decision.expect("decision");
    assert!(d.approved && d.by == "alice");
    // A second approval is refused: it already ran.
    assert!(
        r.approve(block.action_id, "alice", None, false, t0())
            .is_err()
    );

    let b = alert(
        2,
        ThreatType::SuspiciousLogin,
        Severity::Critical,
        0.9,
        "mallory",
    );
    raise(&f, &r, &b);
    let lock = by_kind(&r, ActionKind::LockAccount);
    assert_eq!(lock.state, ActionState::PendingApproval);
    // Four hours later, undecided: expired, and approving it is refused.
    let later = t0() + Duration::minutes(f.config.approval_expiry_minutes + 1);
    assert!(r.tick(later).expect("tick") >= 1);
    assert_eq!(
        r.get(lock.action_id).expect("get").expect("some").state,
        ActionState::Expired
    );
    assert!(
        r.approve(lock.action_id, "bob", None, false, later)
            .is_err()
    );

    let c = alert(
        3,
        ThreatType::PrivilegeEscalation,
        Severity::High,
        0.9,
        "eve",
    );
    raise(&f, &r, &c);
    let revoke = r
        .actions()
        .expect("actions")
        .into_iter()
        .find(|x| x.alert_id == 3 && x.kind == ActionKind::RevokeAccessKeys)
        .expect("revoke");
    let rejected = r
        .reject(
            revoke.action_id,
            "bob",
            Some("service account, expected".into()),
            t0(),
        )
        .expect("reject");
    assert_eq!(rejected.state, ActionState::Rejected);
    assert!(
        r.approve(revoke.action_id, "bob", None, false, t0())
            .is_err()
    );
}

#[test]
fn approving_for_a_closed_alert_asks_again() {
    let f = fixture();
    let r = f.responder(None);
    let mut a = alert(
        1,
        ThreatType::BruteForce,
        Severity::High,
        0.9,
        "203.0.113.9",
    );
    raise(&f, &r, &a);
    a.status = AlertStatus::Closed;
    a.close_reason = Some(CloseReason::FalsePositive);
    crate::store::save_alert(&f.store, &a).expect("save");
    let block = by_kind(&r, ActionKind::BlockIp);
    let err = r
        .approve(block.action_id, "alice", None, false, t0())
        .expect_err("asks again");
    assert!(err.to_string().contains("--confirm-closed"), "{err}");
    let ok = r
        .approve(block.action_id, "alice", None, true, t0())
        .expect("confirmed");
    assert_eq!(ok.state, ActionState::Sandboxed);
}

#[test]
fn temporary_actions_elapse_escalate_and_roll_back() {
    let f = fixture();
    let r = f.responder(None);
    let ip = "198.51.100.7";
    r.respond(
        &alert(1, ThreatType::BruteForce, Severity::Medium, 0.9, ip),
        &live_ctx(t0()),
        &mut Summary::default(),
    )
    .expect("respond");
    let first = by_kind(&r, ActionKind::RateLimitIp);
    assert_eq!(first.duration_secs, Some(300));
    r.tick(t0() + Duration::seconds(301)).expect("tick");
    assert_eq!(
        r.get(first.action_id).expect("get").expect("some").state,
        ActionState::Elapsed
    );
    // The same source again: the next step of the escalation (1 h), then 24 h.
    let mut durations = vec![];
    for id in 2..=3 {
        let now = t0() + Duration::hours(id as i64);
        let mut a = alert(id, ThreatType::BruteForce, Severity::Medium, 0.9, ip);
        a.last_seen = now;
        r.respond(&a, &live_ctx(now), &mut Summary::default())
            .expect("respond");
        let rl = r
            .actions()
            .expect("actions")
            .into_iter()
            .find(|x| x.alert_id == id && x.kind == ActionKind::RateLimitIp)
            .expect("rate limit");
        durations.push(rl.duration_secs);
        if id == 3 {
            let rolled = r.rollback(rl.action_id, "alice", now).expect("rollback");
            assert_eq!(rolled.state, ActionState::RolledBack);
            assert!(
                rolled
                    .rollback_execution
                    .expect("ran")
                    .detail
                    .contains("nft delete")
            );
        }
    }
    assert_eq!(durations, [Some(3600), Some(86400)]);
    let notify = by_kind(&r, ActionKind::Notify);
    let err = r
        .rollback(notify.action_id, "alice", t0())
        .expect_err("nothing to undo");
    assert!(err.to_string().contains("nothing to roll back"), "{err}");
}

#[test]
fn a_restart_neither_forgets_nor_repeats() {
    let f = fixture();
    let a = alert(
        1,
        ThreatType::BruteForce,
        Severity::High,
        0.9,
        "203.0.113.9",
    );
    let before = {
        let r = f.responder(None);
        r.respond(&a, &live_ctx(t0()), &mut Summary::default())
            .expect("respond");
        r.actions().expect("actions")
    };
    let fake = Arc::new(FakeExecutor::default());
    let r = f.responder(Some(fake.clone()));
    let mut summary = Summary::default();
    r.respond(&a, &live_ctx(t0()), &mut summary)
        .expect("respond again");
    assert!(summary.by_state.is_empty(), "nothing new: {summary:?}");
    assert_eq!(r.actions().expect("actions"), before);
    assert_eq!(fake.calls.load(Ordering::SeqCst), 0, "nothing re-executed");
}

#[test]
fn live_mode_runs_validated_argv_and_refuses_hostile_targets() {
    let mut f = fixture();
    f.config.allow_accounts = vec!["breakglass".into()];
    let fake = Arc::new(FakeExecutor::default());
    let r = f.responder(Some(fake.clone()));
    let a = alert(
        1,
        ThreatType::BruteForce,
        Severity::High,
        0.9,
        "203.0.113.9",
    );
    raise(&f, &r, &a);
    r.settle().expect("settle");
    let rate = by_kind(&r, ActionKind::RateLimitIp);
    assert_eq!(rate.state, ActionState::Executed);
    let block = by_kind(&r, ActionKind::BlockIp);
    assert_eq!(fake.calls.load(Ordering::SeqCst), 1, "RED waits");
    r.approve(block.action_id, "alice", None, false, t0())
        .expect("approve");
    r.settle().expect("settle");
    let seen = fake.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2);
    assert!(seen[1].contains(&"203.0.113.9".to_string()), "{seen:?}");

    // A "username" that is an option: refused before any process starts.
    let hostile = alert(
        2,
        ThreatType::SuspiciousLogin,
        Severity::Critical,
        0.9,
        "-G wheel",
    );
    raise(&f, &r, &hostile);
    let lock = r
        .actions()
        .expect("actions")
        .into_iter()
        .find(|x| x.alert_id == 2 && x.kind == ActionKind::LockAccount)
        .expect("lock");
    let calls = fake.calls.load(Ordering::SeqCst);
    let failed = r
        .approve(lock.action_id, "alice", None, false, t0())
        .expect("decided");
    assert_eq!(failed.state, ActionState::Failed);
    assert!(
        failed.state_reason.contains("refused"),
        "{}",
        failed.state_reason
    );
    assert_eq!(
        fake.calls.load(Ordering::SeqCst),
        calls,
        "no process for a hostile target"
    );

    // Allow-listed account: suppressed, and approval cannot force it.
    let bg = alert(
        3,
        ThreatType::SuspiciousLogin,
        Severity::Critical,
        0.9,
        "breakglass",
    );
    raise(&f, &r, &bg);
    for a in r
        .actions()
        .expect("actions")
        .into_iter()
        .filter(|x| x.alert_id == 3)
    {
        if a.target.kind() == "account" {
            assert_eq!(a.state, ActionState::Suppressed, "{:?}", a.kind);
            assert!(r.approve(a.action_id, "alice", None, false, t0()).is_err());
        }
    }
}

#[test]
fn failures_are_reported_with_status() {
    let f = fixture();
    let fake = Arc::new(FakeExecutor {
        fail: true,
        ..FakeExecutor::default()
    });
    let r = f.responder(Some(fake));
    let a = alert(
        1,
        ThreatType::BruteForce,
        Severity::Medium,
        0.9,
        "203.0.113.9",
    );
    r.respond(&a, &live_ctx(t0()), &mut Summary::default())
        .expect("respond");
    r.settle().expect("settle");
    let rate = by_kind(&r, ActionKind::RateLimitIp);
    assert_eq!(rate.state, ActionState::Failed);
    let exec = rate.execution.expect("execution");
    assert!(!exec.success);
    assert_eq!(exec.status, Some(1));
}

/// Holds every request until the test lets it go, like a target that hangs.
struct GatedExecutor {
    gate: crossbeam_channel::Receiver<()>,
}

impl Executor for GatedExecutor {
    fn run(&self, _: &Request) -> Outcome {
        let _ = self.gate.recv();
        Outcome {
            success: true,
            status: Some(0),
            attempts: 1,
            detail: "released".into(),
        }
    }
}

#[test]
fn a_hung_target_never_holds_the_caller_and_its_outcome_comes_back_as_a_message() {
    let f = fixture();
    let (release, gate) = crossbeam_channel::unbounded();
    let r = f.responder(Some(Arc::new(GatedExecutor { gate })));
    let a = alert(
        1,
        ThreatType::BruteForce,
        Severity::High,
        0.9,
        "203.0.113.9",
    );
    crate::store::save_alert(&f.store, &a).expect("save");
    // `respond` and `approve` return while the executor is still blocked.
    r.respond(&a, &live_ctx(t0()), &mut Summary::default())
        .expect("respond");
    let rate = by_kind(&r, ActionKind::RateLimitIp);
    assert_eq!(rate.state, ActionState::Running);
    assert!(rate.execution.is_none());
    let block = by_kind(&r, ActionKind::BlockIp);
    let approved = r
        .approve(block.action_id, "alice", None, false, t0())
        .expect("approve");
    assert_eq!(approved.state, ActionState::Running);
    assert!(
        r.finished().expect("live").is_empty(),
        "nothing finished yet"
    );

    release.send(()).expect("release");
    let done = r
        .finished()
        .expect("live")
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("an outcome");
    let applied = r.apply(done).expect("apply");
    assert_eq!(applied.state, ActionState::Executed);
    assert!(applied.expires_at.is_some() || applied.duration_secs.is_none());
    release.send(()).expect("release");
    let rest = r.settle().expect("settle");
    assert_eq!(rest.len(), 1);
    assert!(
        r.actions()
            .expect("actions")
            .iter()
            .all(|x| x.state != ActionState::Running)
    );
    r.audit().sync_head().expect("head");
    assert!(r.audit().verify().expect("verify").ok);
}

#[test]
fn runs_cut_off_by_a_stop_are_failed_as_unknown_at_the_next_start() {
    let f = fixture();
    let (_release, gate) = crossbeam_channel::unbounded::<()>();
    {
        let r = f.responder(Some(Arc::new(GatedExecutor { gate })));
        let a = alert(
            1,
            ThreatType::BruteForce,
            Severity::High,
            0.9,
            "203.0.113.9",
        );
        r.respond(&a, &live_ctx(t0()), &mut Summary::default())
            .expect("respond");
        assert_eq!(
            by_kind(&r, ActionKind::RateLimitIp).state,
            ActionState::Running
        );
        assert!(
            r.settle_within(std::time::Duration::from_millis(50))
                .expect("settle")
                .is_empty()
        );
        r.audit().sync_head().expect("head");
    }
    let r = f.responder(None);
    assert_eq!(r.settle_interrupted(t0()).expect("interrupted"), 1);
    let rate = by_kind(&r, ActionKind::RateLimitIp);
    assert_eq!(rate.state, ActionState::Failed);
    assert!(
        rate.state_reason.contains("outcome unknown"),
        "{}",
        rate.state_reason
    );
    assert_eq!(r.settle_interrupted(t0()).expect("again"), 0);
}

#[test]
fn audit_chain_detects_edits_deletions_reordering_and_truncation() {
    let f = fixture();
    let r = f.responder(None);
    for id in 1..=3 {
        let ip = format!("203.0.113.{id}");
        r.respond(
            &alert(id, ThreatType::BruteForce, Severity::High, 0.9, &ip),
            &live_ctx(t0()),
            &mut Summary::default(),
        )
        .expect("respond");
    }
    r.audit().sync_head().expect("head");
    let report = r.audit().verify().expect("verify");
    assert!(report.ok, "{report:?}");
    let n = report.records;
    assert!(n >= 10);
    let tree = &f.store.audit;
    let get = |seq: u64| tree.get(seq.to_be_bytes()).expect("get").expect("record");

    // Edit record 4's detail.
    let original4 = get(4);
    let edited = String::from_utf8_lossy(&original4)
        .replace("\"actor\":\"autosec\"", "\"actor\":\"mallory\"");
    assert_ne!(edited.as_bytes(), &original4[..]);
    tree.insert(4u64.to_be_bytes(), edited.as_bytes())
        .expect("edit");
    assert_eq!(
        r.audit()
            .verify()
            .expect("verify")
            .first_bad
            .expect("bad")
            .0,
        4
    );
    tree.insert(4u64.to_be_bytes(), original4.clone())
        .expect("restore");

    // Delete record 5.
    let original5 = get(5);
    tree.remove(5u64.to_be_bytes()).expect("delete");
    assert_eq!(
        r.audit()
            .verify()
            .expect("verify")
            .first_bad
            .expect("bad")
            .0,
        5
    );
    tree.insert(5u64.to_be_bytes(), original5.clone())
        .expect("restore");

    // Swap records 5 and 6.
    let original6 = get(6);
    tree.insert(5u64.to_be_bytes(), original6.clone())
        .expect("swap");
    tree.insert(6u64.to_be_bytes(), original5.clone())
        .expect("swap");
    assert_eq!(
        r.audit()
            .verify()
            .expect("verify")
            .first_bad
            .expect("bad")
            .0,
        5
    );
    tree.insert(5u64.to_be_bytes(), original5).expect("restore");
    tree.insert(6u64.to_be_bytes(), original6).expect("restore");
    assert!(r.audit().verify().expect("verify").ok);

    // Truncate the tail: the head kept outside sled notices.
    let last = get(n);
    tree.remove(n.to_be_bytes()).expect("truncate");
    let report = r.audit().verify().expect("verify");
    assert_eq!(report.first_bad.expect("bad").0, n);

    // An older copy of the data dir, run once: the chain is not continued over the gap (and
    // the head not overwritten), so verify still reports the truncation.
    let reopened = f.responder(None);
    assert!(reopened.audit().broken().is_some());
    assert!(
        reopened
            .audit()
            .append(crate::respond::audit::Entry {
                event: "test",
                action_id: None,
                alert_id: None,
                actor: "autosec",
                detail: String::new(),
                argv_mac: None,
            })
            .is_err()
    );
    reopened.audit().sync_head().expect("head");
    assert!(!reopened.audit().verify().expect("verify").ok);
    tree.insert(n.to_be_bytes(), last).expect("restore");
    assert!(f.responder(None).audit().broken().is_none());

    // A missing head with records behind it is a failure too.
    let head_file = std::fs::read_dir(f.dir.path().join("config"))
        .expect("config dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("audit-head-"))
        .expect("head file");
    std::fs::remove_file(head_file).expect("remove head");
    assert!(!r.audit().verify().expect("verify").ok);
}

/// A critical privilege-escalation alert on `entity` whose one event ref is a line (syslog,
/// JSON lines) or a record id (CloudTrail).
fn account_alert(
    id: u64,
    entity: &str,
    line: Option<u64>,
    record_id: Option<&str>,
    resource: &str,
) -> Alert {
    let mut a = alert(
        id,
        ThreatType::PrivilegeEscalation,
        Severity::Critical,
        0.95,
        entity,
    );
    a.evidence = vec![crate::domain::EventRef {
        source: "log".into(),
        line,
        record_id: record_id.map(str::to_string),
    }];
    a.affected_resources = vec![resource.into()];
    a
}

#[test]
fn accounts_get_the_actions_of_their_kind() {
    let f = fixture();
    let r = f.responder(None);
    let kinds = |id: u64| -> Vec<ActionKind> {
        r.actions()
            .expect("actions")
            .into_iter()
            .filter(|a| a.alert_id == id)
            .map(|a| a.kind)
            .collect()
    };
    let cloud = account_alert(1, "USER_A", None, Some("3b1c"), "iam:user/USER_B");
    let local = account_alert(2, "USER_C", Some(7), None, "web-1/sudo");
    for a in [&cloud, &local] {
        crate::store::save_alert(&f.store, a).expect("save");
        r.respond(a, &live_ctx(t0()), &mut Summary::default())
            .expect("respond");
    }
    assert!(
        !kinds(1).contains(&ActionKind::LockAccount),
        "{:?}",
        kinds(1)
    );
    assert!(
        kinds(1).contains(&ActionKind::RevokeAccessKeys),
        "{:?}",
        kinds(1)
    );
    assert!(
        kinds(2).contains(&ActionKind::LockAccount),
        "{:?}",
        kinds(2)
    );
    assert!(
        !kinds(2).contains(&ActionKind::RevokeAccessKeys),
        "{:?}",
        kinds(2)
    );
}

/// A random alert for the invariants.
fn any_alert() -> impl Strategy<Value = Alert> {
    (
        1u64..40,
        prop::sample::select(vec![
            ThreatType::BruteForce,
            ThreatType::PasswordSpraying,
            ThreatType::CredentialStuffing,
            ThreatType::PrivilegeEscalation,
            ThreatType::Persistence,
            ThreatType::DefenseEvasion,
            ThreatType::Exfiltration,
            ThreatType::Discovery,
            ThreatType::SuspiciousLogin,
            ThreatType::NetworkAnomaly,
            ThreatType::Anomaly,
        ]),
        prop::sample::select(vec![
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]),
        0.0f32..1.0,
        prop::sample::select(vec![
            "203.0.113.5",
            "10.1.2.3",
            "127.0.0.1",
            "alice",
            "breakglass",
            "-G wheel",
        ]),
        0i64..120,
    )
        .prop_map(|(id, threat, sev, conf, entity, age)| {
            let mut a = alert(id, threat, sev, conf, entity);
            a.last_seen = t0() - Duration::minutes(age);
            a
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn safety_invariants_hold_for_random_alerts_policies_and_decisions(
        alerts in prop::collection::vec(any_alert(), 1..12),
        red_overrides in prop::collection::vec(prop::sample::select(ActionKind::ALL.to_vec()), 0..3),
        min_auto in 0.0f32..1.0,
        live in any::<bool>(),
        live_source in any::<bool>(),
        decisions in prop::collection::vec((0u64..60, 0u8..4), 0..20),
    ) {
        let mut f = fixture();
        f.config.allow_ips = vec!["10.0.0.0/8".into()];
        f.config.allow_accounts = vec!["breakglass".into()];
        f.config.builtin_never_act = true;
        f.config.min_confidence_auto = min_auto;
        for kind in &red_overrides {
            f.config.tiers.insert(*kind, Tier::Red);
        }
        let fake = Arc::new(FakeExecutor::default());
        let r = f.responder(live.then(|| fake.clone() as Arc<dyn Executor>));
        let ctx = Context { live_source, now: t0(), assume_fresh: false };
        for a in &alerts {
            crate::store::save_alert(&f.store, a).expect("save");
            r.respond(a, &ctx, &mut Summary::default()).expect("respond");
        }
        for (id, op) in decisions {
            let now = t0() + Duration::minutes(id as i64);
            let _ = match op {
                0 => r.approve(id, "p", None, true, now).map(|_| ()),
                1 => r.reject(id, "p", None, now).map(|_| ()),
                2 => r.rollback(id, "p", now).map(|_| ()),
                _ => r.tick(now).map(|_| ()),
            };
        }
        r.settle().expect("settle");
        for a in r.actions().expect("actions") {
            let ran = a.state.in_effect() || a.state == ActionState::RolledBack
                || a.state == ActionState::Elapsed
                || (a.state == ActionState::Failed && a.execution.is_some());
            if a.tier == Tier::Red && ran {
                prop_assert!(a.decision.as_ref().is_some_and(|d| d.approved),
                    "RED {:?} ran without approval", a.kind);
            }
            let value = a.target.value();
            let protected = value.starts_with("10.") || value == "127.0.0.1" || value == "breakglass";
            if protected && a.target.kind() != "alert" {
                prop_assert!(a.execution.is_none(), "acted on protected {value}");
            }
            if a.state.in_effect() && super::catalog::spec(a.kind).changes_state {
                let has_inverse = matches!(a.rollback, Rollback::Inverse { .. });
                prop_assert!(has_inverse, "{:?} in effect without an inverse", a.kind);
            }
        }
        if !live {
            prop_assert_eq!(fake.calls.load(Ordering::SeqCst), 0);
        }
        // Callers write the head after each batch of decisions, as the engine does.
        r.audit().sync_head().expect("head");
        prop_assert!(r.audit().verify().expect("verify").ok);
    }
}

/// A live view is handed each changed action once, as it stands after the last change, and
/// nothing when nothing changed.
#[test]
fn changed_actions_are_handed_over_once() {
    let f = fixture();
    let r = f.responder(None);
    let a = alert(
        1,
        ThreatType::BruteForce,
        Severity::High,
        0.9,
        "203.0.113.9",
    );
    raise(&f, &r, &a);
    let proposed = r.take_changed().expect("changed");
    assert_eq!(proposed.len(), r.actions().expect("actions").len());
    assert!(!proposed.is_empty());
    assert!(r.take_changed().expect("changed").is_empty());
    let block = by_kind(&r, ActionKind::BlockIp);
    r.approve(block.action_id, "alice", None, false, t0())
        .expect("approve");
    let after = r.take_changed().expect("changed");
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].action_id, block.action_id);
    assert_eq!(after[0].state, ActionState::Sandboxed);
}

/// `tick` looks only at actions time can change, and finds them again after a restart: an
/// approval left undecided by the last process still expires, a temporary action still ends.
#[test]
fn time_passing_finds_timed_actions_after_a_restart() {
    let f = fixture();
    let lock_id = {
        let r = f.responder(None);
        raise(
            &f,
            &r,
            &alert(
                1,
                ThreatType::SuspiciousLogin,
                Severity::Critical,
                0.9,
                "mallory",
            ),
        );
        r.respond(
            &alert(
                2,
                ThreatType::BruteForce,
                Severity::Medium,
                0.9,
                "198.51.100.7",
            ),
            &live_ctx(t0()),
            &mut Summary::default(),
        )
        .expect("respond");
        by_kind(&r, ActionKind::LockAccount).action_id
    };
    let r = f.responder(None);
    let limit = by_kind(&r, ActionKind::RateLimitIp);
    assert_eq!(r.tick(t0()).expect("tick"), 0, "nothing is due yet");
    let untimed_before: Vec<_> = r
        .actions()
        .expect("actions")
        .into_iter()
        .filter(|a| a.action_id != lock_id && a.action_id != limit.action_id)
        .collect();
    let later = t0() + Duration::minutes(f.config.approval_expiry_minutes + 1);
    assert_eq!(
        r.tick(later).expect("tick"),
        2,
        "the approval and the rate limit"
    );
    let state = |id| r.get(id).expect("get").expect("some").state;
    assert_eq!(state(lock_id), ActionState::Expired);
    assert_eq!(state(limit.action_id), ActionState::Elapsed);
    for a in untimed_before {
        assert_eq!(r.get(a.action_id).expect("get").expect("some"), a);
    }
    assert_eq!(r.tick(later).expect("tick"), 0, "each is changed once");
    // What a live view is handed is what was written, to the audit and to the actions.
    let recent = r.audit().take_recent();
    assert_eq!(recent.len(), 2);
    assert_eq!(recent, r.audit().newest(2).expect("newest"));
    let changed = r.take_changed().expect("changed");
    assert_eq!(changed.len(), 2);
    for a in changed {
        assert_eq!(r.get(a.action_id).expect("get").expect("some"), a);
    }
}
