//! Targets: typed validation of the real value an executor receives, the allow-lists, and the
//! built-in never-act list (loopback, this host's addresses, the SSH peer, the default gateway)
//! so a forged log cannot make AutoSec lock out its own operator.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::LazyLock;

use ipnet::IpNet;
use regex::Regex;

use crate::config::RespondConfig;
use crate::domain::Target;

/// `IP_ADDRESS_12` (a pseudonym) or a literal address.
pub fn looks_like_ip(entity: &str) -> bool {
    entity.starts_with("IP_ADDRESS_") || entity.parse::<IpAddr>().is_ok()
}

static ACCOUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z0-9_][A-Za-z0-9_.@+=,/-]{0,127}$").expect("account regex")
});
static ACCESS_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(AKIA|ASIA)[A-Z0-9]{16}$").expect("key regex"));
static RESOURCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z0-9][A-Za-z0-9_.:/+=,@-]{0,255}$").expect("resource regex")
});

/// The real value, checked against the target's type before it reaches an executor's argv. An
/// "account" of `-G wheel` or one with spaces or shell syntax is refused.
pub fn validate(target: &Target, real: &str) -> Result<String, String> {
    let ok = match target {
        Target::Ip(_) => real.parse::<IpAddr>().is_ok(),
        Target::Account(_) => ACCOUNT.is_match(real),
        Target::AccessKey(_) => ACCESS_KEY.is_match(real),
        Target::Resource(_) => RESOURCE.is_match(real),
        Target::Alert(_) => true,
    };
    if ok {
        Ok(real.to_string())
    } else {
        Err(format!(
            "refused: {:?} is not a valid {} target",
            crate::sanitize::visible(real),
            target.kind()
        ))
    }
}

/// Who and what is never acted on: configured allow-lists plus the built-in list.
pub struct NeverAct {
    nets: Vec<IpNet>,
    accounts: HashSet<String>,
    /// Human-readable origin of the built-in entries, for `actions` output and tests.
    pub builtin: Vec<String>,
}

impl NeverAct {
    pub fn from_config(config: &RespondConfig) -> Result<NeverAct, String> {
        let mut nets = Vec::new();
        for entry in &config.allow_ips {
            let net = entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("respond.allow_ips: {entry:?} is not an IP or CIDR range"))?;
            nets.push(net);
        }
        let mut never = NeverAct {
            nets,
            accounts: config.allow_accounts.iter().cloned().collect(),
            builtin: Vec::new(),
        };
        if config.builtin_never_act {
            never.add_builtin();
        }
        Ok(never)
    }

    fn add_ip(&mut self, ip: IpAddr, why: &str) {
        self.nets.push(IpNet::from(ip));
        self.builtin.push(format!("{ip} ({why})"));
    }

    fn add_builtin(&mut self) {
        for net in ["127.0.0.0/8", "::1/128", "0.0.0.0/32", "::/128"] {
            if let Ok(n) = net.parse() {
                self.nets.push(n);
            }
        }
        self.builtin.push("loopback".into());
        if let Ok(addrs) = if_addrs::get_if_addrs() {
            for a in addrs {
                self.add_ip(a.ip(), "this host");
            }
        }
        // SSH_CONNECTION = "client_ip client_port server_ip server_port"; SSH_CLIENT starts alike.
        for var in ["SSH_CONNECTION", "SSH_CLIENT"] {
            if let Some(ip) = std::env::var(var)
                .ok()
                .and_then(|v| v.split_whitespace().next().and_then(|s| s.parse().ok()))
            {
                self.add_ip(ip, "the current SSH peer");
            }
        }
        if let Some(gw) = default_gateway() {
            self.add_ip(gw, "the default gateway");
        }
    }

    /// Why `target` (pseudonym) with real value `real` must not be acted on, if it must not.
    pub fn check(&self, target: &Target, pseudonym: &str, real: Option<&str>) -> Option<String> {
        match target {
            Target::Ip(_) => {
                let ip: IpAddr = real.unwrap_or(pseudonym).parse().ok()?;
                // `::ffff:127.0.0.1` is 127.0.0.1 to the kernel: check the IPv4 it maps.
                let mapped = match ip {
                    IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
                    IpAddr::V4(_) => None,
                };
                self.nets
                    .iter()
                    .find(|n| n.contains(&ip) || mapped.is_some_and(|m| n.contains(&m)))
                    .map(|n| format!("allow-listed / never-act address range {n}"))
            }
            Target::Account(_) => [Some(pseudonym), real]
                .into_iter()
                .flatten()
                .find(|a| {
                    self.accounts.contains(*a)
                        || a.rsplit('/')
                            .next()
                            .is_some_and(|s| self.accounts.contains(s))
                })
                .map(|_| "allow-listed account".to_string()),
            _ => None,
        }
    }
}

/// The IPv4 default gateway from /proc/net/route (Linux). Hand-written: the crates that do
/// this pull in whole network-interface libraries for four lines of parsing.
fn default_gateway() -> Option<IpAddr> {
    let table = std::fs::read_to_string("/proc/net/route").ok()?;
    table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 3 || cols[1] != "00000000" {
            return None;
        }
        let raw = u32::from_str_radix(cols[2], 16).ok()?;
        // The kernel prints the address in host (little-endian) byte order.
        Some(IpAddr::from(raw.to_le_bytes()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_account_names_are_refused() {
        let t = Target::Account("USER_A".into());
        assert!(validate(&t, "alice").is_ok());
        assert!(validate(&t, "svc.deploy@corp").is_ok());
        for bad in [
            "-G wheel",
            "--help",
            "a b",
            "x;rm -rf /",
            "$(id)",
            "",
            "a\nb",
        ] {
            assert!(validate(&t, bad).is_err(), "{bad:?}");
        }
        assert!(validate(&Target::Ip("IP_ADDRESS_1".into()), "not-an-ip").is_err());
        assert!(validate(&Target::AccessKey("k".into()), "AKIAABCDEFGHIJKLMNOP").is_ok());
    }

    #[test]
    fn allow_lists_and_loopback_are_never_acted_on() {
        let mut config = crate::config::Config::defaults().expect("defaults").respond;
        config.allow_ips = vec!["10.0.0.0/8".into()];
        config.allow_accounts = vec!["breakglass".into()];
        let never = NeverAct::from_config(&config).expect("valid");
        let ip = Target::Ip("IP_ADDRESS_1".into());
        assert!(never.check(&ip, "IP_ADDRESS_1", Some("10.1.2.3")).is_some());
        assert!(
            never
                .check(&ip, "IP_ADDRESS_1", Some("::ffff:127.0.0.1"))
                .is_some(),
            "an IPv4-mapped loopback is loopback"
        );
        assert!(
            never
                .check(&ip, "IP_ADDRESS_1", Some("127.0.0.1"))
                .is_some()
        );
        assert!(
            never
                .check(&ip, "IP_ADDRESS_1", Some("203.0.113.9"))
                .is_none()
        );
        let acct = Target::Account("USER_B".into());
        assert!(never.check(&acct, "USER_B", Some("breakglass")).is_some());
        assert!(never.check(&acct, "USER_B", Some("alice")).is_none());
        config.allow_ips = vec!["not a range".into()];
        assert!(NeverAct::from_config(&config).is_err());
    }
}
