//! Sigma rule evaluation per event with every rule loaded (our pack + SigmaHQ's AWS/Linux
//! rules when `../shared/data/sigma` is present): the cost the ingest workers pay per record.

use std::path::Path;

use autosec::detect::rules::{RuleSet, RuleSource};
use autosec::ingest::cloudtrail;
use autosec::ingest::syslog::SyslogParser;
use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};

fn sources() -> Vec<RuleSource> {
    let mut out = vec![RuleSource::Builtin];
    let sigma = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/sigma/rules");
    if sigma.is_dir() {
        out.push(RuleSource::Path(sigma));
    }
    out
}

fn bench(c: &mut Criterion) {
    let set = RuleSet::load(&sources());
    eprintln!("{} rules loaded", set.report().loaded);
    let ct = cloudtrail::parse(
        br#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROA:etl","arn":"arn:aws:sts::111122223333:assumed-role/etl/run-42","accountId":"111122223333","sessionContext":{"attributes":{"mfaAuthenticated":"false"}}},"eventTime":"2026-11-20T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"eu-west-1","sourceIPAddress":"10.0.4.17","userAgent":"aws-sdk-go/1.44","requestParameters":{"bucketName":"reports","key":"2026/11/20/part-0001.parquet"},"responseElements":null,"eventID":"3b1c","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#,
    )
    .expect("record");
    let mut parser = SyslogParser::new(Utc::now());
    let ssh = parser
        .parse("Dec  4 10:00:02 web-1 sshd[101]: Failed password for invalid user admin from 198.51.100.7 port 5555 ssh2")
        .expect("line");
    let mut g = c.benchmark_group("sigma");
    g.bench_function("cloudtrail_event_all_rules", |b| {
        b.iter(|| set.matches(std::hint::black_box(&ct)))
    });
    g.bench_function("sshd_line_all_rules", |b| {
        b.iter(|| set.matches(std::hint::black_box(&ssh)))
    });
    g.finish();
    c.bench_function("sigma/load_all_rules", |b| {
        b.iter(|| RuleSet::load(&sources()).report().loaded)
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
