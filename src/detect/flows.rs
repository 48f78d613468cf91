//! Flow detectors: what a flow export (CICFlowMeter, NetFlow-style) can show about a source.
//!
//! Per source address, and per (source, destination service), over sliding windows:
//! - `port_scan` (T1046): many distinct destination services reached by probe-shaped flows
//!   (no payload from the source), within 10 minutes or, for slow scans, within an hour;
//! - `dos_flood` (T1498.001, T1499.002): many flows to one service per minute, against the
//!   service's own typical rate; or many sources at once against one service (distributed);
//! - `slow_dos` (T1499.002): many long, thin flows held open to one service (Slowloris and
//!   slow-POST shapes: tens of seconds, a few small packets);
//! - `service_brute_force` (T1110): many short flows to an authentication service whose
//!   sizes repeat (each guess is the same exchange);
//! - `beaconing` (T1071.001, T1571): a steady series of same-sized flows to one service over
//!   at least 20 minutes, at most 4 a minute (denser is a flood's business).
//!
//! Classes flows cannot show: attacks carried in payloads (SQL injection, XSS, web login
//! guessing over HTTP keep-alive) look like ordinary web flows; a single exploit flow
//! (Heartbleed) is left to the forest.
//!
//! Alerts name the source (who acts); the destination is context. Exports are not in time
//! order (CICFlowMeter writes a flow when it ends, stamped with its start; replays of several
//! files rewind), so each state forgets its windows when time jumps back by more than an hour.

use std::collections::VecDeque;

use ahash::AHashMap as HashMap;

use super::detectors::{Hit, Related};
use super::state::{Entities, LastSeen};
use super::window::key;
use crate::config::Network;
use crate::domain::EventView;
use crate::domain::flow::feature;
use crate::domain::{Severity, ThreatType};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
/// Sources and destinations tracked at most (least recently seen evicted).
const MAX_SOURCES: usize = 50_000;
/// Services tracked per source at most.
const MAX_SERVICES: usize = 64;
/// Entries kept per window at most (counts become lower bounds beyond it).
const WINDOW_CAP: usize = 8192;
/// Ports of services that authenticate: repeated short flows to them are guesses.
const AUTH_PORTS: &[u32] = &[
    21, 22, 23, 25, 110, 143, 389, 445, 465, 587, 993, 995, 1433, 1521, 3306, 3389, 5432, 5900,
    6379, 27017,
];
/// Infrastructure whose clients poll on a timer by design (DNS, NTP, DHCP, NetBIOS, mDNS,
/// SSDP): never beaconing.
const POLLING_PORTS: &[u32] = &[53, 67, 68, 123, 137, 138, 1900, 5353];

/// Timestamps of recent items in a window, each with a key (distinct counts).
#[derive(Debug, Default)]
struct Window {
    q: VecDeque<(i64, u64)>,
    counts: HashMap<u64, u32>,
}

impl Window {
    fn add(&mut self, ts: i64, key: u64, span: i64) {
        if self.q.len() >= WINDOW_CAP {
            self.pop();
        }
        // Kept sorted by time: exports are only roughly ordered.
        let at = self.q.partition_point(|&(t, _)| t <= ts);
        self.q.insert(at, (ts, key));
        *self.counts.entry(key).or_insert(0) += 1;
        self.expire(ts, span);
    }

    fn expire(&mut self, ts: i64, span: i64) {
        let newest = self.q.back().map_or(ts, |&(t, _)| t.max(ts));
        while self.q.front().is_some_and(|&(t, _)| t <= newest - span) {
            self.pop();
        }
    }

    fn pop(&mut self) {
        if let Some((_, k)) = self.q.pop_front()
            && let Some(c) = self.counts.get_mut(&k)
        {
            *c -= 1;
            if *c == 0 {
                self.counts.remove(&k);
            }
        }
    }

    fn len(&self) -> usize {
        self.q.len()
    }

    fn distinct(&self) -> usize {
        self.counts.len()
    }

    /// Occurrences of the most common key.
    fn mode(&self) -> u32 {
        self.counts.values().copied().max().unwrap_or(0)
    }

    fn span(&self) -> i64 {
        match (self.q.front(), self.q.back()) {
            (Some(a), Some(b)) => b.0 - a.0,
            _ => 0,
        }
    }
}

/// One (source, destination service) pair.
#[derive(Debug, Default)]
struct Service {
    last_seen: i64,
    /// Flows in the last minute (sliding).
    minute: Window,
    /// Calendar minute being counted, its count, and the busiest ordinary minute before it
    /// (the pair's baseline; minutes that were themselves floods are left out).
    bucket: (i64, usize),
    peak_before: usize,
    /// Long, thin flows in the last 10 minutes.
    thin: Window,
    /// Short flows in 10 minutes keyed by their size (repeated exchanges).
    sizes: Window,
    /// Flows in the last hour keyed by size (beacons repeat their size).
    hourly: Window,
}

#[derive(Debug, Default)]
struct Source {
    last_seen: i64,
    newest: i64,
    /// Distinct services reached by probe-shaped flows: 10 minutes, and an hour.
    probes: Window,
    probes_slow: Window,
    services: HashMap<u64, Service>,
}

impl LastSeen for Source {
    fn last_seen(&self) -> i64 {
        self.last_seen
    }
}

/// A destination service as seen from all sources: distributed floods.
#[derive(Debug, Default)]
struct Target {
    last_seen: i64,
    newest: i64,
    minute: Window,
}

impl LastSeen for Target {
    fn last_seen(&self) -> i64 {
        self.last_seen
    }
}

/// What the flow windows say about one flow (also features for the forest).
#[derive(Debug, Clone, Copy, Default)]
pub struct FlowCtx {
    pub targets_10m: usize,
    pub service_flows_1m: usize,
}

pub struct FlowDetector {
    sources: Entities<Source>,
    targets: Entities<Target>,
}

impl Default for FlowDetector {
    fn default() -> Self {
        FlowDetector {
            sources: Entities::new(MAX_SOURCES),
            targets: Entities::new(MAX_SOURCES),
        }
    }
}

impl FlowDetector {
    /// Update the windows with `v` and return what fired.
    pub fn observe(&mut self, cfg: &Network, v: &EventView, hits: &mut Vec<Hit>) -> FlowCtx {
        let Some(src) = v.ip.as_deref() else {
            return FlowCtx::default();
        };
        let dst = v.dst.as_deref().unwrap_or("");
        let port = v.dst_port.unwrap_or(0);
        let service = key(&format!("{dst}:{port}"));
        let ts = v.ts;
        let x = |i: usize| v.flow.get(i).copied().filter(|f| f.is_finite());
        let duration_s = x(feature::DURATION_US).map(|d| d / 1e6);
        let fwd_packets = x(feature::FWD_PACKETS);
        let fwd_bytes = x(feature::FWD_BYTES);
        let bwd_bytes = x(feature::BWD_BYTES);
        // No payload from the source: a probe (SYN, connect-and-close). Unknown sizes count.
        let probe = fwd_bytes.is_none_or(|b| b == 0.0) && fwd_packets.is_none_or(|p| p <= 3.0);
        let thin = duration_s.is_some_and(|d| d >= cfg.slow_min_seconds)
            && fwd_packets.is_some_and(|p| p <= 20.0)
            && fwd_bytes.is_some_and(|b| b < 4096.0);
        let size_key = size_bucket(fwd_bytes) << 16 | size_bucket(bwd_bytes);

        let s = self.sources.get(src);
        if ts < s.newest - HOUR {
            *s = Source::default();
        }
        s.newest = s.newest.max(ts);
        s.last_seen = ts;
        // Windows move with every flow, whichever of them it enters.
        s.probes.expire(ts, 10 * MINUTE);
        s.probes_slow.expire(ts, HOUR);
        if probe {
            s.probes.add(ts, service, 10 * MINUTE);
            s.probes_slow.add(ts, service, HOUR);
        }
        if s.services.len() >= MAX_SERVICES && !s.services.contains_key(&service) {
            let oldest = s
                .services
                .iter()
                .min_by_key(|(_, v)| v.last_seen)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                s.services.remove(&k);
            }
        }
        let svc = s.services.entry(service).or_default();
        svc.last_seen = ts;
        svc.minute.add(ts, 0, MINUTE);
        let minute = ts.div_euclid(MINUTE);
        if minute > svc.bucket.0 {
            let done = svc.bucket.1;
            let flood = done >= cfg.flood_min_flows
                && done as f32 >= cfg.flood_baseline_factor * svc.peak_before.max(1) as f32;
            if !flood {
                svc.peak_before = svc.peak_before.max(done);
            }
            svc.bucket = (minute, 0);
        }
        svc.bucket.1 += 1;
        svc.thin.expire(ts, 10 * MINUTE);
        svc.sizes.expire(ts, 10 * MINUTE);
        if thin {
            svc.thin.add(ts, 0, 10 * MINUTE);
        }
        if duration_s.is_none_or(|d| d < cfg.slow_min_seconds) {
            svc.sizes.add(ts, size_key, 10 * MINUTE);
        }
        svc.hourly.add(ts, size_key, HOUR);
        let ctx = FlowCtx {
            targets_10m: s.probes.distinct(),
            service_flows_1m: svc.minute.len(),
        };
        let (probes, probes_slow) = (s.probes.distinct(), s.probes_slow.distinct());
        let rate = svc.minute.len();
        let baseline = svc.peak_before;
        let thin_flows = svc.thin.len();
        let (short, repeat) = (svc.sizes.len(), svc.sizes.mode() as usize);
        let (hourly, hourly_mode, hourly_span) = (
            svc.hourly.len(),
            svc.hourly.mode() as usize,
            svc.hourly.span(),
        );

        let t = self.targets.get(&format!("{dst}:{port}"));
        if ts < t.newest - HOUR {
            *t = Target::default();
        }
        t.newest = t.newest.max(ts);
        t.last_seen = ts;
        t.minute.add(ts, key(src), MINUTE);
        let (target_flows, target_sources) = (t.minute.len(), t.minute.distinct());

        let target = || format!("{dst}:{port}");
        // A scan hit needs this flow to be one of the probes: a scanner's later real traffic
        // (a flood after the scan) is its own finding.
        if probe && (probes >= cfg.scan_min_targets || probes_slow >= cfg.slow_scan_min_targets) {
            let slow = probes < cfg.scan_min_targets;
            hits.push(hit(
                "port_scan",
                ThreatType::NetworkAnomaly,
                src,
                &["T1046"],
                if probes >= 4 * cfg.scan_min_targets {
                    Severity::High
                } else {
                    Severity::Medium
                },
                strength(probes.max(probes_slow / 4), cfg.scan_min_targets),
                if slow {
                    format!("{src} probed {probes_slow} services in an hour (slow scan)")
                } else {
                    format!("{src} probed {probes} services in 10 min")
                },
            ));
        } else if thin_flows >= cfg.slow_min_flows {
            hits.push(hit(
                "slow_dos",
                ThreatType::NetworkAnomaly,
                src,
                &["T1499.002"],
                Severity::High,
                strength(thin_flows, cfg.slow_min_flows),
                format!(
                    "{src} holds {thin_flows} slow, thin connections open to {} in 10 min (Slowloris/slow-POST shape)",
                    target()
                ),
            ));
        } else if rate >= cfg.flood_min_flows
            && rate as f32 >= cfg.flood_baseline_factor * baseline.max(1) as f32
        {
            hits.push(hit(
                "dos_flood",
                ThreatType::NetworkAnomaly,
                src,
                &["T1498.001", "T1499.002"],
                Severity::High,
                strength(rate, cfg.flood_min_flows),
                format!(
                    "{src} opened {rate} flows to {} in a minute (its busiest minute before: {baseline})",
                    target()
                ),
            ));
        } else if target_sources >= cfg.flood_min_sources && target_flows >= cfg.flood_min_flows * 2
        {
            hits.push(hit(
                "dos_flood",
                ThreatType::NetworkAnomaly,
                src,
                &["T1498.001", "T1499.002"],
                Severity::High,
                strength(target_flows, 2 * cfg.flood_min_flows),
                format!(
                    "{} received {target_flows} flows from {target_sources} sources in a minute, {src} among them",
                    target()
                ),
            ));
        } else if AUTH_PORTS.contains(&port)
            && short >= cfg.brute_force_min_flows
            && 2 * repeat >= short
        {
            hits.push(hit(
                "service_brute_force",
                ThreatType::BruteForce,
                src,
                &["T1110.001"],
                if short >= 5 * cfg.brute_force_min_flows {
                    Severity::High
                } else {
                    Severity::Medium
                },
                strength(short, cfg.brute_force_min_flows),
                format!(
                    "{src} made {short} short connections to {} in 10 min, {repeat} of the same size (password guessing shape)",
                    target()
                ),
            ));
        } else if !POLLING_PORTS.contains(&port)
            && hourly >= cfg.beacon_min_flows
            && hourly_span >= 20 * MINUTE
            && (hourly as i64) * MINUTE <= 4 * hourly_span
            && 5 * hourly_mode >= 4 * hourly
        {
            hits.push(hit(
                "beaconing",
                ThreatType::NetworkAnomaly,
                src,
                &["T1071.001", "T1571"],
                Severity::Medium,
                strength(hourly, cfg.beacon_min_flows),
                format!(
                    "{src} called {} {hourly} times in {} min with the same flow size (beaconing shape)",
                    target(),
                    hourly_span / MINUTE
                ),
            ));
        }
        ctx
    }
}

/// Quarter-octave size classes: equal exchanges land together, different ones apart.
fn size_bucket(bytes: Option<f32>) -> u64 {
    bytes.map_or(0xffff, |b| ((b.max(0.0) + 1.0).log2() * 4.0) as u64)
}

fn strength(observed: usize, threshold: usize) -> f32 {
    let r = observed as f32 / threshold.max(1) as f32;
    (0.5 + 0.5 * ((r - 1.0).clamp(0.0, 3.0) / 3.0)).clamp(0.0, 1.0)
}

fn hit(
    detector: &'static str,
    threat: ThreatType,
    src: &str,
    techniques: &'static [&'static str],
    severity: Severity,
    strength: f32,
    summary: String,
) -> Hit {
    Hit {
        detector,
        threat,
        entity: src.to_string(),
        techniques,
        strength,
        severity,
        summary,
        related: Related::Flows,
        rule: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EventKind;
    use crate::domain::{Format, Status};

    /// A flow from `src` to `dst:port` at `ts` ms: duration (s), fwd packets, fwd/bwd bytes.
    fn flow(src: &str, dst: &str, port: u32, ts: i64, shape: (f32, f32, f32, f32)) -> EventView {
        let mut x = vec![f32::NAN; crate::domain::flow::FEATURES.len()];
        x[feature::DURATION_US] = shape.0 * 1e6;
        x[feature::FWD_PACKETS] = shape.1;
        x[feature::FWD_BYTES] = shape.2;
        x[feature::BWD_BYTES] = shape.3;
        EventView {
            id: ts as u64,
            ts,
            ip: Some(src.into()),
            action: "flow".into(),
            resource: format!("{dst}:{port}"),
            status: Status::Unknown,
            format: Format::Csv,
            kind: EventKind::Flow,
            dst: Some(dst.into()),
            dst_port: Some(port),
            flow: x,
            ..crate::detect::bench_fixtures().0
        }
    }

    fn cfg() -> Network {
        crate::config::Config::defaults().unwrap().detect.network
    }

    /// Detectors that fired over a series of flows.
    fn fired(flows: impl IntoIterator<Item = EventView>) -> Vec<&'static str> {
        let (cfg, mut d) = (cfg(), FlowDetector::default());
        let mut out = Vec::new();
        for v in flows {
            let mut hits = Vec::new();
            d.observe(&cfg, &v, &mut hits);
            for h in hits {
                assert_eq!(h.entity, "A", "alerts name the source");
                if !out.contains(&h.detector) {
                    out.push(h.detector);
                }
            }
        }
        out
    }

    const SEC: i64 = 1000;

    #[test]
    fn a_vertical_scan_and_a_slow_one() {
        let fast = (0..40).map(|i| flow("A", "V", 1000 + i, i as i64 * SEC, (0.0, 1.0, 0.0, 0.0)));
        assert_eq!(fired(fast), ["port_scan"]);
        // 110 ports over 55 minutes: never 25 in 10 minutes, 100 within the hour.
        let slow = (0..110).map(|i| {
            flow(
                "A",
                "V",
                1000 + i,
                i as i64 * 30 * SEC,
                (0.0, 2.0, 0.0, 0.0),
            )
        });
        assert_eq!(fired(slow), ["port_scan"]);
    }

    #[test]
    fn floods_slow_dos_brute_force_and_beacons_have_their_own_shapes() {
        let flood = (0..60).map(|i| flow("A", "V", 80, i * SEC, (0.5, 8.0, 300.0, 11_000.0)));
        assert_eq!(fired(flood), ["dos_flood"]);
        let slow = (0..30).map(|i| flow("A", "V", 80, i * 10 * SEC, (100.0, 5.0, 250.0, 0.0)));
        assert_eq!(fired(slow), ["slow_dos"]);
        let guesses =
            (0..30).map(|i| flow("A", "V", 22, i * 15 * SEC, (12.0, 22.0, 2008.0, 2745.0)));
        assert_eq!(fired(guesses), ["service_brute_force"]);
        let beacon = (0..30).map(|i| flow("A", "C2", 8080, i * 90 * SEC, (0.1, 5.0, 195.0, 128.0)));
        assert_eq!(fired(beacon), ["beaconing"]);
    }

    #[test]
    fn ordinary_traffic_is_quiet() {
        // Web browsing: a few connections to several sites, sizes all over the place.
        let browsing = (0..200).map(|i| {
            let site = format!("S{}", i % 17);
            flow(
                "A",
                &site,
                443,
                i * 20 * SEC,
                (
                    3.0,
                    10.0,
                    500.0 + (i * 97 % 5000) as f32,
                    40_000.0 + (i * 7919 % 900_000) as f32,
                ),
            )
        });
        assert!(fired(browsing).is_empty());
        // DNS polls every minute with the same size: infrastructure, not a beacon.
        let dns = (0..90).map(|i| flow("A", "R", 53, i * 60 * SEC, (0.01, 1.0, 40.0, 120.0)));
        assert!(fired(dns).is_empty());
        // A few ssh sessions (an admin reconnecting) are not guessing.
        let ssh = (0..6).map(|i| {
            flow(
                "A",
                "V",
                22,
                i * 60 * SEC,
                (300.0, 400.0, 90_000.0, 400_000.0),
            )
        });
        assert!(fired(ssh).is_empty());
    }

    #[test]
    fn windows_forget_when_a_replay_rewinds_and_stale_counts_do_not_fire() {
        let scan = (0..40).map(|i| {
            flow(
                "A",
                "V",
                1000 + i,
                10 * HOUR + i as i64 * SEC,
                (0.0, 1.0, 0.0, 0.0),
            )
        });
        // Then one ordinary web flow from the same source, a day earlier and an hour later.
        let after = [
            flow("A", "W", 443, 0, (3.0, 10.0, 900.0, 50_000.0)),
            flow("A", "W", 443, 11 * HOUR, (3.0, 10.0, 900.0, 50_000.0)),
        ];
        let (cfg, mut d) = (cfg(), FlowDetector::default());
        for v in scan {
            d.observe(&cfg, &v, &mut Vec::new());
        }
        for v in after {
            let mut hits = Vec::new();
            d.observe(&cfg, &v, &mut hits);
            assert!(hits.is_empty(), "{:?}", hits.first().map(|h| &h.summary));
        }
    }
}
