//! Sliding-window counters with bounded memory: counts and distinct counts over the last
//! `window` milliseconds, updated in O(1) amortised per event.

use std::collections::VecDeque;

use ahash::AHashMap as HashMap;

/// Entries kept per window at most; beyond it the oldest are dropped early (counts become
/// lower bounds, which only delays an alert on an entity already flooding us).
pub const WINDOW_CAP: usize = 4096;

/// Events in the last `window` ms.
#[derive(Debug, Clone, Default)]
pub struct SlidingCount {
    q: VecDeque<(i64, u32)>,
    total: u64,
}

impl SlidingCount {
    /// Add `n` at `ts` and return the count within `window` ms of `ts`.
    pub fn add(&mut self, ts: i64, n: u32, window: i64) -> u64 {
        self.expire(ts, window);
        if self.q.len() >= WINDOW_CAP
            && let Some((_, old)) = self.q.pop_front()
        {
            self.total -= u64::from(old);
        }
        self.q.push_back((ts, n));
        self.total += u64::from(n);
        self.total
    }

    pub fn count(&mut self, ts: i64, window: i64) -> u64 {
        self.expire(ts, window);
        self.total
    }

    fn expire(&mut self, ts: i64, window: i64) {
        while let Some(&(t, n)) = self.q.front() {
            if t > ts - window {
                break;
            }
            self.q.pop_front();
            self.total -= u64::from(n);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.q.is_empty()
    }

    /// Forget everything counted so far.
    pub fn clear(&mut self) {
        self.q.clear();
        self.total = 0;
    }
}

/// Distinct keys (hashed) in the last `window` ms.
#[derive(Debug, Clone, Default)]
pub struct SlidingDistinct {
    q: VecDeque<(i64, u64)>,
    counts: HashMap<u64, u32>,
}

impl SlidingDistinct {
    /// Add `key` at `ts`; returns the number of distinct keys within the window.
    pub fn add(&mut self, ts: i64, key: u64, window: i64) -> usize {
        self.expire(ts, window);
        if self.q.len() >= WINDOW_CAP {
            self.pop();
        }
        self.q.push_back((ts, key));
        *self.counts.entry(key).or_insert(0) += 1;
        self.counts.len()
    }

    pub fn distinct(&mut self, ts: i64, window: i64) -> usize {
        self.expire(ts, window);
        self.counts.len()
    }

    /// Occurrences of `key` in the window.
    pub fn count_of(&self, key: u64) -> u32 {
        self.counts.get(&key).copied().unwrap_or(0)
    }

    fn expire(&mut self, ts: i64, window: i64) {
        while let Some(&(t, _)) = self.q.front() {
            if t > ts - window {
                break;
            }
            self.pop();
        }
    }

    fn pop(&mut self) {
        if let Some((_, key)) = self.q.pop_front()
            && let Some(c) = self.counts.get_mut(&key)
        {
            *c -= 1;
            if *c == 0 {
                self.counts.remove(&key);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.q.is_empty()
    }
}

/// A small set of recently seen keys with when each was first seen, bounded (least recently
/// seen evicted).
#[derive(Debug, Clone, Default)]
pub struct RecentSet {
    items: VecDeque<(u64, i64)>,
}

impl RecentSet {
    /// Record `key` at `ts`; returns when it was first seen (None: new, or forgotten).
    pub fn insert(&mut self, key: u64, ts: i64, cap: usize) -> Option<i64> {
        if let Some(pos) = self.items.iter().position(|&(k, _)| k == key) {
            let item = self.items.remove(pos)?;
            self.items.push_back(item);
            return Some(item.1);
        }
        if self.items.len() >= cap {
            self.items.pop_front();
        }
        self.items.push_back((key, ts));
        None
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// FNV-1a: a fast, stable 64-bit hash for window keys (not security relevant).
pub fn key(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_expire() {
        let mut c = SlidingCount::default();
        assert_eq!(c.add(0, 1, 10), 1);
        assert_eq!(c.add(5, 2, 10), 3);
        assert_eq!(c.add(12, 1, 10), 3);
        assert_eq!(c.count(30, 10), 0);
    }

    #[test]
    fn distinct_expires_and_counts() {
        let mut d = SlidingDistinct::default();
        assert_eq!(d.add(0, 1, 10), 1);
        assert_eq!(d.add(1, 1, 10), 1);
        assert_eq!(d.add(2, 2, 10), 2);
        assert_eq!(d.count_of(1), 2);
        assert_eq!(d.distinct(11, 10), 1);
        assert_eq!(d.distinct(13, 10), 0);
    }

    #[test]
    fn bounded() {
        let mut d = SlidingDistinct::default();
        for i in 0..(WINDOW_CAP as u64 * 2) {
            d.add(0, i, 1_000);
        }
        assert_eq!(d.distinct(0, 1_000), WINDOW_CAP);
        let mut s = RecentSet::default();
        assert_eq!(s.insert(1, 10, 2), None);
        assert_eq!(s.insert(1, 20, 2), Some(10));
        assert_eq!(s.insert(2, 30, 2), None);
        assert_eq!(s.insert(3, 40, 2), None);
        assert_eq!(s.insert(1, 50, 2), None, "evicted keys are new again");
    }
}
