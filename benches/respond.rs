//! Response engine throughput: policy evaluation + recording per alert (sandbox, live source,
//! so GREEN/YELLOW run and RED wait), and verifying a 100,000-record audit chain.

use std::hint::black_box;
use std::time::Duration;

use autosec::config::Config;
use autosec::domain::{Alert, AlertStatus, Severity, ThreatType};
use autosec::respond::audit::{Audit, Entry};
use autosec::respond::{Context, Responder, Summary};
use autosec::store::Store;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

// The binary's allocator (src/main.rs), so the figure is the product's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ALERTS: u64 = 10_000;

fn alerts(now: chrono::DateTime<chrono::Utc>) -> Vec<Alert> {
    let threats = [
        ThreatType::BruteForce,
        ThreatType::PasswordSpraying,
        ThreatType::CredentialStuffing,
        ThreatType::PrivilegeEscalation,
        ThreatType::Exfiltration,
        ThreatType::Discovery,
        ThreatType::SuspiciousLogin,
        ThreatType::NetworkAnomaly,
    ];
    let severities = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];
    (0..ALERTS)
        .map(|i| {
            let threat = threats[i as usize % threats.len()];
            let ip_like = matches!(
                threat,
                ThreatType::BruteForce
                    | ThreatType::PasswordSpraying
                    | ThreatType::CredentialStuffing
                    | ThreatType::NetworkAnomaly
            );
            Alert {
                alert_id: i + 1,
                severity: severities[(i / 8) as usize % 4],
                confidence: 0.5 + (i % 50) as f32 / 100.0,
                threat_type: threat,
                description: "bench".into(),
                timestamp: now,
                affected_resources: vec![format!("i-{i:08x}")],
                matched_techniques: vec![],
                recommended_actions: vec![],
                anomaly_score: 0.0,
                entity: if ip_like {
                    format!("IP_ADDRESS_{}", i % 5000 + 1)
                } else {
                    format!("USER_{}", i % 3000)
                },
                first_seen: now,
                last_seen: now,
                event_count: 10,
                evidence: vec![],
                evidence_dropped: 0,
                detectors: vec![],
                status: AlertStatus::Open,
                close_reason: None,
                intel: None,
                rules: Vec::new(),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let config = Config::defaults().expect("defaults");
    let mut respond = config.respond.clone();
    respond.builtin_never_act = false;
    let now = chrono::Utc::now();
    let input = alerts(now);

    let mut group = c.benchmark_group("respond");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(ALERTS));
    group.bench_function("policy_and_record_10k_alerts", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("tempdir"),
            |dir| {
                let store = Store::open(&dir.path().join("data"), 64).expect("store");
                let audit = Audit::open(
                    store.audit.clone(),
                    &dir.path().join("audit.key"),
                    dir.path(),
                )
                .expect("audit");
                let r = Responder::new(&store, &respond, audit, None, None).expect("responder");
                let ctx = Context {
                    live_source: true,
                    now,
                    assume_fresh: false,
                };
                let mut summary = Summary::default();
                for a in &input {
                    r.respond(a, &ctx, &mut summary).expect("respond");
                }
                r.audit().sync_head().expect("head");
                black_box(summary);
                dir
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();

    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("data"), 64).expect("store");
    let audit = Audit::open(
        store.audit.clone(),
        &dir.path().join("audit.key"),
        dir.path(),
    )
    .expect("audit");
    for i in 0..100_000u64 {
        audit
            .append(Entry {
                event: "sandboxed",
                action_id: Some(i),
                alert_id: Some(i / 4),
                actor: "autosec",
                detail: format!("GREEN rate_limit_ip IP_ADDRESS_{i}: nft add element inet autosec ratelimit {{ IP_ADDRESS_{i} timeout 300s }}"),
                argv_mac: None,
            })
            .expect("append");
    }
    audit.sync_head().expect("head");
    let mut group = c.benchmark_group("audit");
    group.sample_size(10);
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("verify_100k_records", |b| {
        b.iter(|| {
            let report = audit.verify().expect("verify");
            assert!(report.ok);
            black_box(report)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
