//! The per-stream engine: benign "triggers" scheduled hour by hour along the diurnal curve, each
//! expanding into one or more events (sessions unfold later through a time-ordered queue), merged
//! with the planned attack events and handed, in time order, to the stream's writer.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use anyhow::Result;
use rand::Rng;
use serde::Serialize;

use super::clock::{HOUR, diurnal, diurnal_mean};
use super::util::Rng8;

/// The threat types shared by the generator, detectors and evaluation (DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    BruteForce,
    CredentialStuffing,
    PasswordSpraying,
    PrivilegeEscalation,
    DefenseEvasion,
    Exfiltration,
    Discovery,
    SuspiciousLogin,
    /// Flow-level scans and floods (CSV `PortScan` / `DDoS` rows).
    NetworkAnomaly,
}

impl Scenario {
    pub const ALL: [Scenario; 9] = [
        Scenario::BruteForce,
        Scenario::CredentialStuffing,
        Scenario::PasswordSpraying,
        Scenario::PrivilegeEscalation,
        Scenario::DefenseEvasion,
        Scenario::Exfiltration,
        Scenario::Discovery,
        Scenario::SuspiciousLogin,
        Scenario::NetworkAnomaly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::BruteForce => "brute_force",
            Scenario::CredentialStuffing => "credential_stuffing",
            Scenario::PasswordSpraying => "password_spraying",
            Scenario::PrivilegeEscalation => "privilege_escalation",
            Scenario::DefenseEvasion => "defense_evasion",
            Scenario::Exfiltration => "exfiltration",
            Scenario::Discovery => "discovery",
            Scenario::SuspiciousLogin => "suspicious_login",
            Scenario::NetworkAnomaly => "network_anomaly",
        }
    }
}

/// Ground truth attached to an attack event.
#[derive(Debug, Clone)]
pub(crate) struct Tag {
    pub scenario: Scenario,
    pub entity: String,
    pub instance: u32,
}

/// One line of `labels.jsonl`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Label {
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    pub scenario: Scenario,
    pub entity: String,
    pub instance: u32,
}

impl Label {
    pub fn at_line(source: &str, line: u64, tag: &Tag) -> Label {
        Label {
            source: source.to_string(),
            line: Some(line),
            record_id: None,
            scenario: tag.scenario,
            entity: tag.entity.clone(),
            instance: tag.instance,
        }
    }
}

/// What one writer produced: per-file counts and the labels of its attack events.
#[derive(Debug, Default)]
pub(crate) struct StreamOutput {
    pub files: Vec<FileStat>,
    pub labels: Vec<Label>,
}

#[derive(Debug, Clone)]
pub(crate) struct FileStat {
    /// Path relative to the output directory, with `/` separators.
    pub rel: String,
    pub events: u64,
    pub attack_events: u64,
    pub bytes: u64,
}

/// An event due at `t` (epoch ms); `seq` keeps ties in a fixed order.
pub(crate) struct Item<E> {
    pub t: i64,
    pub seq: u64,
    pub ev: E,
    pub tag: Option<Tag>,
}

impl<E> PartialEq for Item<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.t, self.seq) == (other.t, other.seq)
    }
}
impl<E> Eq for Item<E> {}
impl<E> PartialOrd for Item<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Item<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.t, self.seq).cmp(&(other.t, other.seq))
    }
}

/// Future events of one stream, earliest first.
pub(crate) struct Queue<E> {
    heap: BinaryHeap<Reverse<Item<E>>>,
    seq: u64,
    benign: u64,
}

impl<E> Queue<E> {
    /// A queue holding the attack plan's items (and a profile's scheduled benign ones).
    fn new(items: Vec<Item<E>>) -> Self {
        let seq = items.len() as u64;
        let benign = items.iter().filter(|i| i.tag.is_none()).count() as u64;
        Queue {
            heap: items.into_iter().map(Reverse).collect(),
            seq,
            benign,
        }
    }

    /// Schedule a benign event.
    pub fn push(&mut self, t: i64, ev: E) {
        self.seq += 1;
        self.benign += 1;
        self.heap.push(Reverse(Item {
            t,
            seq: self.seq,
            ev,
            tag: None,
        }));
    }

    fn peek_t(&self) -> Option<i64> {
        self.heap.peek().map(|r| r.0.t)
    }

    fn pop(&mut self) -> Option<Item<E>> {
        let item = self.heap.pop()?.0;
        if item.tag.is_none() {
            self.benign -= 1;
        }
        Some(item)
    }
}

/// Produces the benign background of one stream.
pub(crate) trait Generator {
    type Ev;
    /// Share of triggers driven by people (following the diurnal curve); the rest is flat.
    fn human_share(&self) -> f64;
    /// Expected events per trigger (a starting estimate; the engine adapts to what it sees).
    fn mean_events(&self) -> f64;
    /// Push the events of one trigger at `t` (at least one; exactly one when `small`).
    fn trigger(
        &mut self,
        rng: &mut Rng8,
        t: i64,
        human: bool,
        small: bool,
        q: &mut Queue<Self::Ev>,
    );
}

/// Writes one stream's events (benign and attack) in time order.
pub(crate) trait Sink {
    type Ev;
    fn write(&mut self, rng: &mut Rng8, t: i64, ev: &Self::Ev, tag: Option<&Tag>) -> Result<()>;
}

/// Run one stream from `start` to `end` (epoch ms): `benign_target` benign events plus `attacks`.
pub(crate) fn run<G, S>(
    (start, end): (i64, i64),
    generator: &mut G,
    sink: &mut S,
    attacks: Vec<Item<G::Ev>>,
    benign_target: u64,
    rng: &mut Rng8,
) -> Result<()>
where
    G: Generator,
    S: Sink<Ev = G::Ev>,
{
    let hours = ((end - start + HOUR - 1) / HOUR).max(1) as usize;
    let hs = generator.human_share().clamp(0.0, 1.0);
    let dmean = diurnal_mean();
    let mut weights = Vec::with_capacity(hours);
    let mut p_human = Vec::with_capacity(hours);
    for h in 0..hours {
        let d = diurnal(start + h as i64 * HOUR + HOUR / 2) / dmean;
        let w = (1.0 - hs) + hs * d;
        p_human.push(if w > 0.0 {
            (hs * d / w).clamp(0.0, 1.0)
        } else {
            0.0
        });
        weights.push(w * rng.random_range(0.8..1.2));
    }
    let mut suffix = vec![0.0; hours + 1];
    for h in (0..hours).rev() {
        suffix[h] = suffix[h + 1] + weights[h];
    }

    let mut q = Queue::new(attacks);
    let mut triggers: Vec<i64> = Vec::new(); // current batch, sorted descending (pop from the end)
    let mut next_hour = 0usize;
    let mut top_ups = 0;
    let (mut emitted, mut fired, mut pushed) = (0u64, 0u64, 0u64);
    let mut now = start;
    loop {
        let budget = benign_target.saturating_sub(emitted + q.benign);
        // Top-ups (extra triggers late in the period) only for a real shortfall, so the end of
        // the period is not crowded; the total may then miss the target by about 0.1%.
        let top_up = budget > (benign_target / 1000).max(2) && top_ups < 8;
        if triggers.is_empty() && budget > 0 && (next_hour < hours || top_up) {
            let mean = if fired >= 100 {
                pushed as f64 / fired as f64
            } else {
                generator.mean_events()
            }
            .max(1.0);
            let (lo, hi, n) = if next_hour < hours {
                let h = next_hour;
                next_hour += 1;
                let lo = start + h as i64 * HOUR;
                let n = if h + 1 == hours {
                    (budget as f64 / mean).ceil()
                } else {
                    (budget as f64 / mean * weights[h] / suffix[h]).round()
                };
                (lo, (lo + HOUR).min(end), n)
            } else {
                top_ups += 1;
                (now, end.max(now + 1), (budget as f64 / mean).ceil())
            };
            let n = (n as u64).min(budget);
            triggers.extend((0..n).map(|_| rng.random_range(lo..hi)));
            triggers.sort_unstable_by(|a, b| b.cmp(a));
            continue;
        }
        let take_trigger = match (triggers.last(), q.peek_t()) {
            (Some(tt), Some(qt)) => *tt <= qt,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if take_trigger {
            let Some(tt) = triggers.pop() else { continue };
            now = tt;
            if budget == 0 {
                continue;
            }
            // A trigger may unfold into a session only while the budget can still give every
            // remaining trigger an event; the last ones of the period may overshoot a little.
            let remaining = triggers.len() as u64;
            let small = budget <= remaining;
            let h = (((tt - start) / HOUR).max(0) as usize).min(hours - 1);
            let human = rng.random_bool(p_human[h]);
            let before = q.benign;
            generator.trigger(rng, tt, human, small, &mut q);
            fired += 1;
            pushed += q.benign.saturating_sub(before);
        } else if let Some(item) = q.pop() {
            if item.tag.is_none() {
                if item.t >= end {
                    // The tail of a session that outlives the period: cut, as a log slice would.
                    continue;
                }
                emitted += 1;
            }
            now = now.max(item.t);
            sink.write(rng, item.t, &item.ev, item.tag.as_ref())?;
        } else {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    struct Bursty;
    impl Generator for Bursty {
        type Ev = u32;
        fn human_share(&self) -> f64 {
            0.7
        }
        fn mean_events(&self) -> f64 {
            3.0
        }
        fn trigger(&mut self, rng: &mut Rng8, t: i64, _h: bool, small: bool, q: &mut Queue<u32>) {
            let n = if small { 1 } else { rng.random_range(1..=12) };
            for i in 0..n {
                q.push(t + i as i64 * 60_000, i);
            }
        }
    }

    struct Collect(Vec<i64>, u64);
    impl Sink for Collect {
        type Ev = u32;
        fn write(&mut self, _: &mut Rng8, t: i64, _: &u32, tag: Option<&Tag>) -> Result<()> {
            self.0.push(t);
            self.1 += u64::from(tag.is_some());
            Ok(())
        }
    }

    #[test]
    fn count_close_to_target_in_time_order() {
        let mut rng = Rng8::seed_from_u64(3);
        let mut sink = Collect(Vec::new(), 0);
        let tag = Tag {
            scenario: Scenario::BruteForce,
            entity: "x".into(),
            instance: 1,
        };
        let attacks = (0..5)
            .map(|i| Item {
                t: 1000 + i * 5000,
                seq: i as u64,
                ev: 0,
                tag: Some(tag.clone()),
            })
            .collect();
        run(
            (0, 7 * 24 * HOUR),
            &mut Bursty,
            &mut sink,
            attacks,
            10_000,
            &mut rng,
        )
        .unwrap();
        let n = sink.0.len() as i64;
        assert!((n - 10_005).abs() <= 12, "{n} events");
        assert_eq!(sink.1, 5);
        // No pile-up at the end of the period.
        let last_hour = sink
            .0
            .iter()
            .filter(|&&t| t >= 7 * 24 * HOUR - HOUR)
            .count();
        assert!(last_hour < 200, "{last_hour} events in the last hour");
        assert!(sink.0.windows(2).all(|w| w[0] <= w[1]));
    }
}
