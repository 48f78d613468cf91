//! The free-text patterns' result for strings seen recently, per worker thread. CloudTrail
//! repeats most of its strings (service names, ARNs, agents, TLS versions: one record's
//! strings that pass the trigger scan are ~86% repeats in a generated week), and the quick
//! check and the patterns cost more than a hash lookup. Each thread has its own map, so
//! the workers never wait on each other.

use std::borrow::Cow;
use std::cell::RefCell;

use ahash::AHashMap;
use anyhow::Result;
use thread_local::ThreadLocal;

use super::{Redactor, gate_says_pii, has_trigger};

/// Strings longer than this are not kept: long free text rarely repeats.
const MAX_KEPT_LEN: usize = 128;
/// Entries per thread; a full map is dropped wholesale (the next strings refill it).
const MAX_ENTRIES: usize = 16_384;

/// Raw string → its patterns' output (None: unchanged). Raw values stay in memory only, as
/// in the pseudonym cache.
type Spans = AHashMap<Box<str>, Option<Box<str>>>;

/// One [`Spans`] per thread.
#[derive(Default)]
pub(super) struct SpanCache(ThreadLocal<RefCell<Spans>>);

impl Redactor {
    /// `patterns(s)` behind the quick check, as `might_hold_pii(s)` then `patterns(s)` give
    /// it, answered from this thread's cache when `s` was seen.
    pub(super) fn patterns_checked<'a>(&self, s: &'a str) -> Result<Cow<'a, str>> {
        if !has_trigger(s.as_bytes()) {
            return Ok(Cow::Borrowed(s));
        }
        if s.len() > MAX_KEPT_LEN {
            return self.patterns_behind_gate(s);
        }
        let cell = self.spans.0.get_or_default();
        if let Some(kept) = cell.borrow().get(s) {
            return Ok(kept
                .as_deref()
                .map_or(Cow::Borrowed(s), |r| Cow::Owned(r.to_string())));
        }
        let out = self.patterns_behind_gate(s)?;
        let mut map = cell.borrow_mut();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        let kept = match &out {
            Cow::Borrowed(_) => None,
            Cow::Owned(r) => Some(Box::from(r.as_str())),
        };
        map.insert(Box::from(s), kept);
        Ok(out)
    }

    fn patterns_behind_gate<'a>(&self, s: &'a str) -> Result<Cow<'a, str>> {
        if gate_says_pii(s.as_bytes()) {
            self.patterns(s)
        } else {
            Ok(Cow::Borrowed(s))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use super::*;
    use crate::privacy::{Pseudonymiser, VaultKeys};

    #[test]
    fn a_cached_string_gives_what_the_check_and_patterns_give_on_any_thread() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path(), 8).unwrap();
        let p = Pseudonymiser::new(VaultKeys::from_master(&[9; 32]), &store, 100);
        let redactor = Redactor::new(Arc::new(p), vec!["root".into()]);
        const STRINGS: [&str; 9] = [
            "s3.amazonaws.com",
            "arn:aws:iam::123456789012:user/alice",
            "10.1.2.3",
            "from 10.1.2.3 port 22",
            "bob@example.com",
            "user=carol",
            "2024-05-05T23:52:47Z",
            "TLSv1.3",
            "plain",
        ];
        let direct: Vec<String> = STRINGS
            .iter()
            .map(|s| {
                if super::super::might_hold_pii(s) {
                    redactor.patterns(s).unwrap().into_owned()
                } else {
                    s.to_string()
                }
            })
            .collect();
        assert_ne!(direct, STRINGS, "nothing was redacted");
        let checked = |r: &Redactor| -> Vec<String> {
            STRINGS
                .iter()
                .map(|s| r.patterns_checked(s).unwrap().into_owned())
                .collect()
        };
        // First sight, then from the cache, then on another thread with a clone.
        assert_eq!(checked(&redactor), direct);
        assert_eq!(checked(&redactor), direct);
        let clone = redactor.clone();
        let other = std::thread::spawn(move || checked(&clone)).join().unwrap();
        assert_eq!(other, direct);
        // Past the bound the map starts again and answers stay the same.
        for i in 0..MAX_ENTRIES + 10 {
            redactor
                .patterns_checked(&format!("h{i}.example.org"))
                .unwrap();
        }
        assert!(redactor.spans.0.get().unwrap().borrow().len() <= MAX_ENTRIES);
        assert_eq!(checked(&redactor), direct);
    }
}
