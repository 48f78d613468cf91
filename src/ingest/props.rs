//! Property tests: no input panics a framer or a parser (hostile bytes are expected input).

use std::io::Cursor;
use std::path::Path;

use proptest::prelude::*;

use super::reader::{LineReader, RecordsReader, Stream};
use super::{cloudtrail, csv, jsonl, sniff};
use crate::config::Config;

fn stream(bytes: Vec<u8>) -> Stream {
    Box::new(std::io::BufReader::with_capacity(7, Cursor::new(bytes)))
}

/// Bytes biased towards JSON/CSV/syslog structure so the parsers get past their first check.
fn structured() -> impl Strategy<Value = Vec<u8>> {
    let atoms = prop_oneof![
        Just(b"{".to_vec()),
        Just(b"}".to_vec()),
        Just(b"[".to_vec()),
        Just(b"]".to_vec()),
        Just(b"\"Records\":".to_vec()),
        Just(b"\"eventTime\":\"2024-05-01T12:00:00Z\",".to_vec()),
        Just(b"\"eventName\":\"X\",\"eventSource\":\"s3\",".to_vec()),
        Just(b"\"timestamp\":1714564800,".to_vec()),
        Just(b"\"a\\\"b\\\\\"".to_vec()),
        Just(b",".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\xff\xfe".to_vec()),
        Just(b"\x1b[2J".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..8),
    ];
    proptest::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn framers_never_panic_and_account_for_every_byte(bytes in structured(), max in 1usize..64) {
        let len = bytes.len() as u64;
        let mut lines = LineReader::new(stream(bytes.clone()), max, 0, 0);
        let mut buf = Vec::new();
        while lines.next_into(&mut buf, true).expect("in-memory read").is_some() {
            prop_assert!(buf.len() <= max.max(super::reader::KEEP_PREFIX));
            buf.clear();
        }
        prop_assert_eq!(lines.offset, len);
        let mut records = RecordsReader::new(stream(bytes), max);
        let mut n = 0;
        while records.next_into(&mut buf).expect("in-memory read").is_some() {
            buf.clear();
            n += 1;
            prop_assert!(n < 10_000);
        }
    }

    #[test]
    fn parsers_never_panic(bytes in structured()) {
        let mapping = Config::defaults().expect("defaults").ingest.mapping;
        let _ = cloudtrail::parse(&bytes);
        let _ = jsonl::parse(&bytes, &mapping, None);
        let header = vec!["timestamp".to_string(), "Source IP".to_string(), "Destination Port".to_string()];
        let _ = csv::parse(&bytes, &header, &mapping, None);
        let _ = sniff::detect(&bytes, Path::new("x"), None);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mapping = Config::defaults().expect("defaults").ingest.mapping;
        let _ = cloudtrail::parse(&bytes);
        let _ = jsonl::parse(&bytes, &mapping, None);
        let _ = csv::split(&bytes);
        let _ = sniff::detect(&bytes, Path::new("x.csv"), None);
    }
}
