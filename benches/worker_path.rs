//! The ingest workers' path on one core, stage by stage and whole: parse, Sigma rules,
//! redaction, chunk encoding, for CloudTrail records and auth.log lines. Records come from the
//! generator (office profile, seed 7), so the mix of events and sizes is the one
//! `benches/ingest-1m.sh` ingests. Run: `cargo bench --bench worker_path`.

use std::hint::black_box;
use std::sync::Arc;

use autosec::config::Config;
use autosec::datasets::{GenerateOptions, generate, read_cloudtrail_records};
use autosec::detect::rules::RuleSet;
use autosec::domain::SecurityEvent;
use autosec::ingest::syslog::SyslogParser;
use autosec::ingest::{cloudtrail, cloudtrail_text};
use autosec::privacy::{Pseudonymiser, Redactor, VaultKeys};
use autosec::store::{EncodedChunk, Store};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

// The binary's allocator: the path allocates per field, so the system allocator would
// measure something the product does not run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Records of a small generated set: 2,000 CloudTrail records (each as its own JSON text) and
/// 2,000 auth.log lines.
fn records() -> (Vec<Vec<u8>>, Vec<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    generate(&GenerateOptions::new(dir.path().join("set"), 20_000, 7)).expect("generate");
    let auth = std::fs::read_to_string(dir.path().join("set/logs/auth/auth.log")).expect("auth");
    let lines = auth.lines().take(2_000).map(str::to_string).collect();
    let mut out: Vec<Vec<u8>> = read_cloudtrail_records(&dir.path().join("set/logs/cloudtrail"))
        .expect("cloudtrail records")
        .iter()
        .map(|r| serde_json::to_vec(r).expect("record"))
        .collect();
    out.truncate(2_000);
    (out, lines)
}

fn path(c: &mut Criterion) {
    let (recs, lines) = records();
    let config = Config::defaults().expect("defaults");
    let rules = RuleSet::shared(&config.detect);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), 64).expect("store");
    let pseudo = Pseudonymiser::new(VaultKeys::from_master(&[5; 32]), &store, 1 << 18);
    let redactor = Redactor::new(Arc::new(pseudo), vec!["root".into()]);
    let parsed: Vec<_> = recs
        .iter()
        .map(|r| cloudtrail::parse(r).expect("parse"))
        .collect();
    stages(c, "cloudtrail_path", &parsed, &rules, &redactor);
    let mut g = c.benchmark_group("cloudtrail_path");
    g.throughput(Throughput::Elements(recs.len() as u64));
    g.bench_function("parse", |b| {
        b.iter(|| {
            for r in &recs {
                black_box(cloudtrail::parse(r).expect("parse"));
            }
        })
    });
    g.bench_function("whole", |b| {
        b.iter(|| {
            let mut events = Vec::with_capacity(recs.len());
            for r in &recs {
                let mut ev = cloudtrail::parse(r).expect("parse");
                ev.rules = rules.matches(&ev);
                redactor.redact_event(&mut ev).expect("redact");
                events.push(ev);
            }
            black_box(EncodedChunk::encode(&events).expect("encode"))
        })
    });
    // What the workers run: the text path, the tree path for the records it leaves.
    g.bench_function("whole_text_path", |b| {
        b.iter(|| {
            let mut events = Vec::with_capacity(recs.len());
            for r in &recs {
                let ev = match cloudtrail_text::parse(r, &rules, Some(&redactor)).expect("text") {
                    Some(ev) => ev,
                    None => {
                        let mut ev = cloudtrail::parse(r).expect("parse");
                        ev.rules = rules.matches(&ev);
                        redactor.redact_event(&mut ev).expect("redact");
                        ev
                    }
                };
                events.push(ev);
            }
            black_box(EncodedChunk::encode(&events).expect("encode"))
        })
    });
    g.bench_function("text_path_without_encode", |b| {
        b.iter(|| {
            for r in &recs {
                black_box(cloudtrail_text::parse(r, &rules, Some(&redactor)).expect("text"));
            }
        })
    });
    g.finish();
    let mut syslog = SyslogParser::new(chrono::Utc::now());
    let parsed: Vec<_> = lines
        .iter()
        .map(|l| syslog.parse(l).expect("auth line"))
        .collect();
    stages(c, "auth_path", &parsed, &rules, &redactor);
    let mut g = c.benchmark_group("auth_path");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("parse", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(syslog.parse(l).expect("parse"));
            }
        })
    });
    g.bench_function("whole", |b| {
        b.iter(|| {
            let mut events = Vec::with_capacity(lines.len());
            for l in &lines {
                let mut ev = syslog.parse(l).expect("parse");
                ev.rules = rules.matches(&ev);
                redactor.redact_event(&mut ev).expect("redact");
                events.push(ev);
            }
            black_box(EncodedChunk::encode(&events).expect("encode"))
        })
    });
    g.finish();
}

/// Rules, redaction and encoding alone, over events already parsed.
fn stages(
    c: &mut Criterion,
    group: &str,
    parsed: &[SecurityEvent],
    rules: &RuleSet,
    redactor: &Redactor,
) {
    let mut redacted = parsed.to_vec();
    for ev in &mut redacted {
        redactor.redact_event(ev).expect("redact");
    }
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(parsed.len() as u64));
    g.bench_function("rules", |b| {
        b.iter(|| {
            for ev in parsed {
                black_box(rules.matches(ev));
            }
        })
    });
    g.bench_function("redact", |b| {
        b.iter_batched(
            || parsed.to_vec(),
            |mut events| {
                for ev in &mut events {
                    redactor.redact_event(ev).expect("redact");
                }
                events
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("encode", |b| {
        b.iter(|| black_box(EncodedChunk::encode(&redacted).expect("encode")))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(4));
    targets = path
}
criterion_main!(benches);
