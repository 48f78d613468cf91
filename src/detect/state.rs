//! Per-entity behaviour state (source IPs and accounts), updated incrementally per event.
//!
//! Memory bound, by construction: each window holds at most `WINDOW_CAP` entries and expires
//! by time; per-account history (IPs, agents, regions seen; action frequencies) is capped; the
//! entity maps are capped (`MAX_IPS`, `MAX_USERS`) by evicting the least recently seen. At the
//! caps (~100k IPs at ~0.5 KiB idle, ~50k accounts at ~3 KiB) the state stays under ~250 MiB
//! even when a million distinct source IPs arrive.

// aHash: randomly keyed like std's SipHash (log-supplied keys cannot be crafted to collide, even
// with privacy off) but several times faster on these short keys.
use ahash::AHashMap as HashMap;

use super::window::{RecentSet, SlidingCount, SlidingDistinct};

pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;

pub const MAX_IPS: usize = 100_000;
pub const MAX_USERS: usize = 50_000;
const SEEN_IPS: usize = 32;
const SEEN_AGENTS: usize = 16;
const SEEN_REGIONS: usize = 8;
const SEEN_NETWORKS: usize = 16;
const ACTIONS: usize = 256;

/// What a source address has been doing.
#[derive(Debug, Default)]
pub struct IpState {
    pub last_seen: i64,
    pub logins_10m: SlidingCount,
    pub fails_10m: SlidingCount,
    pub fails_1h: SlidingCount,
    pub successes_10m: SlidingCount,
    pub successes_spray: SlidingCount,
    /// sshd failure lines of any kind (fail2ban's counting: failed password, invalid user,
    /// PAM authentication failure, failed pre-auth disconnects).
    pub signals_10m: SlidingCount,
    /// Accounts that logged in successfully from this source (a few; their typos are theirs).
    pub good_accounts: Vec<u64>,
    /// Accounts tried (any outcome), for stuffing (10 min) and spraying (1 h).
    pub users_10m: SlidingDistinct,
    pub failed_users_1h: SlidingDistinct,
}

/// What an account (user, IAM principal, role session) has been doing.
#[derive(Debug, Default)]
pub struct UserState {
    pub last_seen: i64,
    pub first_seen: i64,
    pub events: u64,
    pub fails_10m: SlidingCount,
    pub ips_1h: SlidingDistinct,
    pub seen_ips: RecentSet,
    pub seen_agents: RecentSet,
    pub seen_regions: RecentSet,
    /// Source networks (/24, /48) the account used.
    pub seen_networks: RecentSet,
    /// Events per hour of day (UTC), for hour-of-day deviation.
    pub hours: [u32; 24],
    /// Action frequencies (hashed names), capped.
    pub actions: HashMap<u64, u32>,
    pub calls_10m: SlidingCount,
    /// Highest 10-minute call volume before the current burst, and its decay clock.
    pub peak_calls_10m: u64,
    pub denied_10m: SlidingCount,
    pub denied_actions_10m: SlidingDistinct,
    pub refused_actions: SlidingDistinct,
    pub objects_10m: SlidingCount,
    /// Largest 10-minute download burst before the current one, and the current one's size.
    pub peak_objects_10m: u64,
    pub objects_prev_burst: u64,
    pub sudo_fails_10m: SlidingCount,
    pub sudo_denied_10m: SlidingCount,
    /// Successful sudo/su sessions.
    pub root_sessions: u32,
    /// IAM writes seen from this account (how usual admin work is for it).
    pub iam_writes: u32,
    /// Users this account created in the last hour (target key → time).
    pub created_users: HashMap<u64, i64>,
    /// Networks (or, without one, sources) the account logged in from successfully.
    pub login_networks: KeyRing,
    /// Clients (user agents) of the account's successful console sign-ins.
    pub console_agents: KeyRing,
}

/// The last few distinct keys (hashed): small sets a linear scan beats hashing for.
#[derive(Debug, Clone, Default)]
pub struct KeyRing(Vec<u64>);

impl KeyRing {
    const CAP: usize = 16;

    pub fn contains(&self, key: u64) -> bool {
        self.0.contains(&key)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Remember `key`, forgetting the oldest when full.
    pub fn insert(&mut self, key: u64) {
        if self.contains(key) {
            return;
        }
        if self.0.len() >= Self::CAP {
            self.0.remove(0);
        }
        self.0.push(key);
    }
}

impl UserState {
    /// Record one more event in the per-hour profile and action frequencies.
    pub fn note_action(&mut self, action: u64, hour: usize) {
        self.events += 1;
        if let Some(h) = self.hours.get_mut(hour) {
            *h += 1;
        }
        if self.actions.len() < ACTIONS || self.actions.contains_key(&action) {
            *self.actions.entry(action).or_insert(0) += 1;
        }
    }

    /// −log2 of this account's frequency of `action` (0 = its usual action; capped at 10).
    pub fn rarity(&self, action: u64) -> f32 {
        if self.events < 10 {
            return 0.0;
        }
        let n = self.actions.get(&action).copied().unwrap_or(0) as f32;
        (-((n + 0.5) / self.events as f32).log2()).clamp(0.0, 10.0)
    }

    /// How unusual this hour is for the account: 1 − (share of its events in this hour × 24),
    /// clamped to [0, 1]; 0 until there is some history.
    pub fn hour_deviation(&self, hour: usize) -> f32 {
        if self.events < 20 {
            return 0.0;
        }
        let share = self.hours.get(hour).copied().unwrap_or(0) as f32 / self.events as f32;
        (1.0 - share * 24.0).clamp(0.0, 1.0)
    }

    /// When this account first used `ip` (None: never, or too long ago to remember).
    pub fn ip_first_seen(&mut self, ip: u64, ts: i64) -> Option<i64> {
        self.seen_ips.insert(ip, ts, SEEN_IPS)
    }

    /// When this account first used `agent` (None: never, or forgotten).
    pub fn agent_first_seen(&mut self, agent: u64, ts: i64) -> Option<i64> {
        self.seen_agents.insert(agent, ts, SEEN_AGENTS)
    }

    /// When this account first acted from `region` (None: never, or forgotten).
    pub fn region_first_seen(&mut self, region: u64, ts: i64) -> Option<i64> {
        self.seen_regions.insert(region, ts, SEEN_REGIONS)
    }

    /// When this account first acted from `network` (None: never, or forgotten).
    pub fn network_first_seen(&mut self, network: u64, ts: i64) -> Option<i64> {
        self.seen_networks.insert(network, ts, SEEN_NETWORKS)
    }
}

/// A capped map of entity states keyed by (pseudonymised) name. Each state is boxed: a state
/// is ~450 bytes, and inline the table's empty slots and its doubling (old and new table at
/// once) would cost that much per slot; boxed they cost a pointer (heap profile in README).
#[derive(Debug)]
pub struct Entities<S> {
    map: HashMap<String, Box<S>>,
    cap: usize,
}

pub trait LastSeen {
    fn last_seen(&self) -> i64;
}

impl LastSeen for IpState {
    fn last_seen(&self) -> i64 {
        self.last_seen
    }
}

impl LastSeen for UserState {
    fn last_seen(&self) -> i64 {
        self.last_seen
    }
}

impl<S: Default + LastSeen> Entities<S> {
    pub fn new(cap: usize) -> Self {
        Entities {
            map: HashMap::default(),
            cap: cap.max(16),
        }
    }

    /// The state for `name`, created on first sight; evicts the least recently seen tenth
    /// when the cap is reached.
    pub fn get(&mut self, name: &str) -> &mut S {
        if !self.map.contains_key(name) && self.map.len() >= self.cap {
            self.evict();
        }
        self.map.entry(name.to_string()).or_default()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &S)> {
        self.map.iter().map(|(name, state)| (name, &**state))
    }

    pub fn peek(&self, name: &str) -> Option<&S> {
        self.map.get(name).map(|state| &**state)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn evict(&mut self) {
        let mut ages: Vec<i64> = self.map.values().map(|s| s.last_seen()).collect();
        let nth = ages.len() / 10;
        ages.select_nth_unstable(nth);
        let cutoff = ages[nth];
        self.map.retain(|_, s| s.last_seen() > cutoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_map_is_capped() {
        let mut e: Entities<IpState> = Entities::new(1000);
        for i in 0..100_000 {
            e.get(&format!("IP_ADDRESS_{i}")).last_seen = i;
        }
        assert!(e.len() <= 1000);
        assert!(e.peek("IP_ADDRESS_99999").is_some(), "the newest survive");
    }

    #[test]
    fn rarity_and_hours() {
        let mut u = UserState::default();
        for _ in 0..100 {
            u.note_action(1, 10);
        }
        u.note_action(2, 3);
        assert!(u.rarity(1) < 0.1);
        assert!(u.rarity(2) > 5.0);
        assert!(u.rarity(3) > u.rarity(2));
        assert!(u.hour_deviation(10) < 0.01);
        assert!(u.hour_deviation(3) > 0.7);
    }
}
