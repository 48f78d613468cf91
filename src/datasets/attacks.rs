//! The attack plan: every scenario instance laid out in advance (they are small next to the
//! background) as time-stamped events per output stream, each tagged with its ground truth.
//! This file holds the planner, attacker addresses and the network scenario; the others live in
//! `attacks_host.rs`, `attacks_login.rs`, `attacks_cloud.rs` and `attacks_recon.rs`.

use std::collections::BTreeSet;

use rand::Rng;
use serde::Serialize;

use super::applog::{AppEvent, GwEvent};
use super::authlog::AuthLine;
use super::clock::{MIN, iso_secs};
use super::cloud_benign::REGIONS;
use super::cloudtrail::CtEvent;
use super::engine::{Item, Scenario, Tag};
use super::flows::{Flow, flood, port_scan};
use super::names::COUNTRIES_ATTACK;
use super::population::{Population, ip4};
use super::util::{Rng8, pick, pick_str, weighted};

/// What the manifest says about one scenario instance.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct InstanceInfo {
    pub scenario: Scenario,
    pub instance: u32,
    pub variant: &'static str,
    pub start: String,
    pub events: u64,
    pub entities: Vec<String>,
}

#[derive(Default)]
pub(crate) struct Plan {
    pub ct: [Vec<Item<CtEvent>>; 3],
    pub auth: [Vec<Item<AuthLine>>; 2],
    pub app: Vec<Item<AppEvent>>,
    pub gw: Vec<Item<GwEvent>>,
    pub flows: Vec<Item<Flow>>,
    pub instances: Vec<InstanceInfo>,
    /// Every address an attacker used (kept out of the benign noise).
    pub attacker_ips: BTreeSet<String>,
}

pub(crate) struct Planner<'p> {
    pub pop: &'p Population,
    pub rng: Rng8,
    /// Attack sizes shrink for small datasets (1.0 at a million events).
    pub k: f64,
    pub start: i64,
    pub end: i64,
    pub flows_target: u64,
    pub plan: Plan,
    seq: u64,
    entities: BTreeSet<String>,
    tag: Option<Tag>,
    /// Principals already used per scenario, so each instance has its own entity.
    pub used: BTreeSet<(Scenario, usize)>,
    pub root_used: bool,
    offsets: std::collections::BTreeMap<Scenario, usize>,
}

impl<'p> Planner<'p> {
    pub fn new(
        pop: &'p Population,
        rng: Rng8,
        events: u64,
        (start, end): (i64, i64),
        flows_target: u64,
    ) -> Self {
        let k = (events as f64 / 1e6).clamp(0.01, 1.0).sqrt();
        Planner {
            pop,
            rng,
            k,
            start,
            end,
            flows_target,
            plan: Plan::default(),
            seq: 0,
            entities: BTreeSet::new(),
            tag: None,
            used: BTreeSet::new(),
            root_used: false,
            offsets: Default::default(),
        }
    }

    /// Lay out `per_scenario` instances of every scenario.
    pub fn build(mut self, per_scenario: u32) -> Plan {
        for scenario in Scenario::ALL {
            for instance in 1..=per_scenario {
                let variant = match scenario {
                    Scenario::BruteForce => self.brute_force(instance),
                    Scenario::PasswordSpraying => self.spraying(instance),
                    Scenario::CredentialStuffing => self.stuffing(instance),
                    Scenario::PrivilegeEscalation => self.privesc(instance),
                    Scenario::DefenseEvasion => self.defense_evasion(instance),
                    Scenario::Exfiltration => self.exfiltration(instance),
                    Scenario::Discovery => self.discovery(instance),
                    Scenario::SuspiciousLogin => self.suspicious_login(instance),
                    Scenario::NetworkAnomaly => self.network(instance),
                };
                self.close(variant);
            }
        }
        self.plan
    }

    /// Which of `n` variants instance `inst` uses: they take turns (from a random first one), so a
    /// handful of instances covers every variant.
    pub fn variant(&mut self, sc: Scenario, inst: u32, n: usize) -> usize {
        let rng = &mut self.rng;
        let off = *self
            .offsets
            .entry(sc)
            .or_insert_with(|| rng.random_range(0..n.max(1)));
        (inst as usize - 1 + off) % n.max(1)
    }

    /// Start a new instance at `t`: subsequent pushes carry its tag.
    pub fn open(&mut self, scenario: Scenario, instance: u32, t: i64) {
        self.tag = Some(Tag {
            scenario,
            entity: String::new(),
            instance,
        });
        self.entities.clear();
        self.plan.instances.push(InstanceInfo {
            scenario,
            instance,
            variant: "",
            start: iso_secs(t),
            events: 0,
            entities: Vec::new(),
        });
    }

    fn close(&mut self, variant: &'static str) {
        let entities: Vec<String> = std::mem::take(&mut self.entities).into_iter().collect();
        if let Some(info) = self.plan.instances.last_mut() {
            info.variant = variant;
            info.entities = entities;
        }
        self.tag = None;
    }

    fn item<E>(&mut self, t: i64, ev: E, entity: &str) -> Item<E> {
        self.seq += 1;
        self.entities.insert(entity.to_string());
        if let Some(info) = self.plan.instances.last_mut() {
            info.events += 1;
        }
        let tag = self.tag.clone().map(|mut tag| {
            tag.entity = entity.to_string();
            tag
        });
        Item {
            t,
            seq: self.seq,
            ev,
            tag,
        }
    }

    pub fn ct(&mut self, t: i64, ev: CtEvent, entity: &str) {
        let r = REGIONS.iter().position(|r| *r == ev.region).unwrap_or(0);
        let item = self.item(t, ev, entity);
        self.plan.ct[r].push(item);
    }
    pub fn auth(&mut self, host: usize, t: i64, ev: AuthLine, entity: &str) {
        let item = self.item(t, ev, entity);
        self.plan.auth[host.min(1)].push(item);
    }
    pub fn app(&mut self, t: i64, ev: AppEvent, entity: &str) {
        let item = self.item(t, ev, entity);
        self.plan.app.push(item);
    }
    pub fn gw(&mut self, t: i64, ev: GwEvent, entity: &str) {
        let item = self.item(t, ev, entity);
        self.plan.gw.push(item);
    }

    /// A start time leaving room for an attack lasting `dur`.
    pub fn when(&mut self, dur: i64) -> i64 {
        let lo = self.start + 30 * MIN;
        let hi = self.end - dur - 30 * MIN;
        if hi <= lo {
            self.start
        } else {
            self.rng.random_range(lo..hi)
        }
    }

    /// A fresh attacker address: hosting, residential proxies, Tor exits, clouds, now and then IPv6.
    pub fn attacker_ip(&mut self) -> String {
        loop {
            let rng = &mut self.rng;
            let ip = match weighted(rng, &[40.0, 22.0, 10.0, 14.0, 8.0]) {
                0 => ip4(
                    *pick(
                        rng,
                        &[
                            45u8, 185, 91, 103, 178, 5, 194, 159, 167, 139, 64, 198, 209, 146, 37,
                        ],
                    ),
                    rng,
                ),
                1 => ip4(
                    *pick(
                        rng,
                        &[73u8, 24, 189, 177, 41, 102, 122, 36, 112, 187, 201, 14],
                    ),
                    rng,
                ),
                2 => format!(
                    "{}.{}",
                    pick(
                        rng,
                        &[
                            "185.220.101",
                            "185.220.100",
                            "199.249.230",
                            "204.8.96",
                            "171.25.193",
                            "109.70.100"
                        ]
                    ),
                    rng.random_range(1..=254u8)
                ),
                3 => ip4(
                    *pick(rng, &[3u8, 18, 34, 35, 52, 54, 13, 20, 104, 143]),
                    rng,
                ),
                _ => {
                    let prefix = *pick(
                        rng,
                        &[
                            "2a01:4f8",
                            "2604:a880",
                            "2001:41d0",
                            "2a03:b0c0",
                            "2600:3c00",
                            "2a0b:f4c2",
                        ],
                    );
                    format!(
                        "{prefix}:{:x}:{:x}::{:x}",
                        rng.random_range(1..0xffffu32),
                        rng.random_range(1..0xffffu32),
                        rng.random_range(1..0xffffu32)
                    )
                }
            };
            if !self.pop.known_ips.contains(&ip) && self.plan.attacker_ips.insert(ip.clone()) {
                return ip;
            }
        }
    }

    pub fn country(&mut self) -> &'static str {
        pick_str(&mut self.rng, COUNTRIES_ATTACK)
    }

    fn network(&mut self, inst: u32) -> &'static str {
        let pop = self.pop;
        let n =
            ((self.flows_target as f64 * self.rng.random_range(0.01..0.05)) as u32).clamp(20, 3000);
        let t0 = self.when(20 * MIN);
        self.open(Scenario::NetworkAnomaly, inst, t0);
        let scan = self.variant(Scenario::NetworkAnomaly, inst, 2) == 0;
        let rng = &mut self.rng;
        let (variant, flows) = if scan {
            let src = if rng.random_bool(0.6) {
                None
            } else {
                Some(format!("192.168.10.{}", rng.random_range(3..=250u8)))
            };
            let src = match src {
                Some(s) if !pop.flow_hosts.contains(&s) => s,
                _ => self.attacker_ip(),
            };
            let dst = pick(&mut self.rng, &pop.servers).clone();
            ("PortScan", port_scan(&mut self.rng, t0, &src, &dst, n))
        } else {
            let srcs: Vec<String> = (0..self.rng.random_range(1..=3))
                .map(|_| self.attacker_ip())
                .collect();
            ("DDoS", flood(&mut self.rng, t0, &srcs, "192.168.10.50", n))
        };
        for (t, f) in flows {
            let src = f.src.clone();
            let item = self.item(t, f, &src);
            self.plan.flows.push(item);
        }
        variant
    }
}
