//! Per-parser and pseudonymiser throughput (events/s on one core). Run: `cargo bench --bench parsers`.

use std::hint::black_box;
use std::sync::Arc;

use autosec::config::Config;
use autosec::ingest::{cloudtrail, csv, jsonl, syslog::SyslogParser};
use autosec::privacy::{Pseudonymiser, Redactor, VaultKeys};
use autosec::store::Store;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const CT: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDA6ON6E4XEGIEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAIOSFODNN7EXAMPLE","userName":"alice"},"eventTime":"2024-05-01T12:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.10","userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64","requestParameters":{"bucketName":"finance-reports","key":"2024/q1/summary.csv","Host":"finance-reports.s3.amazonaws.com"},"responseElements":null,"additionalEventData":{"bytesTransferredOut":48213},"requestID":"8KQ2XB1Z","eventID":"3e1e9a0c-7f5b-4c1e-9a55-0f9d1b2c3d4e","readOnly":true,"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"111122223333","eventCategory":"Data"}"#;
const SYSLOG: &[&str] = &[
    "Mar  5 06:25:01 web-1 sshd[811]: Failed password for invalid user admin from 198.51.100.7 port 52144 ssh2",
    "Mar  5 06:25:04 web-1 sshd[811]: Accepted publickey for alice from 203.0.113.5 port 52144 ssh2: ED25519 SHA256:abcdef",
    "Mar  5 06:26:00 web-1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt update",
    "Mar  5 06:26:10 web-1 CRON[2211]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
];
const JSONL: &str = r#"{"timestamp":"2024-05-01T12:00:00Z","source_ip":"10.1.2.3","user_id":"alice@company.com","action":"login","resource":"/api/v1/login","status":"failed","metadata":{"user_agent":"Mozilla/5.0","session_id":"s-81723","country":"DE"}}"#;
const CSV_HEADER: &str = "Flow ID, Source IP, Source Port, Destination IP, Destination Port, Protocol, Timestamp, Flow Duration, Total Fwd Packets, Total Backward Packets, Total Length of Fwd Packets, Flow Bytes/s, Label";
const CSV_ROW: &str = "192.168.10.5-104.16.207.165-54865-443-6,192.168.10.5,54865,104.16.207.165,443,6,7/7/2017 3:30:12,112740,2,1,12,106.439,BENIGN";

fn parsers(c: &mut Criterion) {
    let mapping = Config::defaults().expect("defaults").ingest.mapping;
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(1));
    g.bench_function("cloudtrail", |b| {
        b.iter(|| cloudtrail::parse(black_box(CT.as_bytes())))
    });
    g.bench_function("jsonl", |b| {
        b.iter(|| jsonl::parse(black_box(JSONL.as_bytes()), &mapping, None))
    });
    let header = csv::split(CSV_HEADER.as_bytes()).expect("header");
    g.bench_function("csv_flow", |b| {
        b.iter(|| csv::parse(black_box(CSV_ROW.as_bytes()), &header, &mapping, None))
    });
    let mut parser = SyslogParser::new(chrono::Utc::now());
    let mut i = 0;
    g.bench_function("syslog", |b| {
        b.iter(|| {
            i = (i + 1) % SYSLOG.len();
            parser.parse(black_box(SYSLOG[i]))
        })
    });
    g.finish();
}

fn pseudonymiser(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path(), 64).expect("store");
    let pseudo = Pseudonymiser::new(VaultKeys::from_master(&[5; 32]), &store, 1 << 18);
    let redactor = Redactor::new(Arc::new(pseudo), vec!["root".into()]);
    let mapping = Config::defaults().expect("defaults").ingest.mapping;
    let ct = cloudtrail::parse(CT.as_bytes()).expect("ct");
    let js = jsonl::parse(JSONL.as_bytes(), &mapping, None).expect("jsonl");
    let sl = SyslogParser::new(chrono::Utc::now())
        .parse(SYSLOG[0])
        .expect("syslog");
    let mut g = c.benchmark_group("redact");
    g.throughput(Throughput::Elements(1));
    for (name, ev) in [
        ("cloudtrail_event", ct),
        ("jsonl_event", js),
        ("syslog_event", sl),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut e = ev.clone();
                redactor.redact_event(&mut e).expect("redact");
                e
            })
        });
    }
    // Cold path: every value new (HMAC, vault seal, two sled inserts).
    let mut n = 0u32;
    g.bench_function("new_ip_token", |b| {
        b.iter(|| {
            n += 1;
            let ip = std::net::Ipv4Addr::from(0x0a00_0000 + n).to_string();
            redactor.address(&ip).expect("token")
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = parsers, pseudonymiser
}
criterion_main!(benches);
