//! Who may call: bearer tokens with scopes (compared in constant time), Host and Origin
//! checks against DNS rebinding and cross-site requests, JSON content types on writes, and a
//! per-client token bucket.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::api::{ApiConfig, Scope};

/// A token holder: its name (the audit's actor) and scopes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub scopes: Vec<Scope>,
}

/// The accepted tokens, kept as SHA-256 digests (compared in constant time).
pub struct Tokens {
    entries: Vec<([u8; 32], Caller)>,
}

impl Tokens {
    /// The main token (AUTOSEC_API_TOKEN, or the token file, created 0600 when absent) and
    /// the configured extra tokens (their files must exist).
    pub fn load(cfg: &ApiConfig, config_dir: &Path) -> Result<Tokens> {
        let main = match std::env::var("AUTOSEC_API_TOKEN") {
            Ok(t) if !t.trim().is_empty() => t.trim().to_string(),
            _ => {
                let path = if cfg.token_file.is_empty() {
                    config_dir.join("api.token")
                } else {
                    cfg.token_file.clone().into()
                };
                read_or_create(&path)?
            }
        };
        let mut entries = vec![(
            digest(&main),
            Caller {
                name: "api".into(),
                scopes: cfg.scopes.clone(),
            },
        )];
        for t in &cfg.tokens {
            let text = std::fs::read_to_string(&t.token_file).with_context(|| {
                format!("[[api.tokens]] {}: cannot read {}", t.name, t.token_file)
            })?;
            entries.push((
                digest(text.trim()),
                Caller {
                    name: format!("api:{}", t.name),
                    scopes: t.scopes.clone(),
                },
            ));
        }
        Ok(Tokens { entries })
    }

    /// Tokens for tests: (token, caller) pairs.
    pub fn from_pairs(pairs: Vec<(String, Caller)>) -> Tokens {
        Tokens {
            entries: pairs.into_iter().map(|(t, c)| (digest(&t), c)).collect(),
        }
    }

    /// The caller holding `token`. Every entry is compared (no early exit on a match).
    pub fn check(&self, token: &str) -> Option<&Caller> {
        let d = digest(token);
        let mut found = None;
        for (known, caller) in &self.entries {
            if bool::from(known.ct_eq(&d)) {
                found = Some(caller);
            }
        }
        found
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn read_or_create(path: &Path) -> Result<String> {
    if let Ok(text) = std::fs::read_to_string(path) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)?.permissions().mode();
            if mode & 0o077 != 0 {
                anyhow::bail!(
                    "{} is readable by others (mode {:o}); chmod 600 it",
                    path.display(),
                    mode & 0o777
                );
            }
        }
        return Ok(text.trim().to_string());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let token = hex::encode(bytes);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create the API token file {}", path.display()))?;
    writeln!(f, "{token}")?;
    Ok(token)
}

/// Host header values the server answers to: the listen address and loopback names with its
/// port, plus `allowed_hosts`. Anything else is a DNS-rebinding attempt or a mistake.
pub fn allowed_hosts(cfg: &ApiConfig, bound: SocketAddr) -> Vec<String> {
    let port = bound.port();
    let mut hosts = vec![
        bound.to_string(),
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ];
    hosts.extend(cfg.allowed_hosts.iter().cloned());
    hosts
}

/// A token bucket per client address.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    pub fn new(per_second: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            rate: f64::from(per_second.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take a token for `ip`; `Err(seconds)` says when to retry.
    pub fn take(&self, ip: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        // Forget idle clients so the map stays small.
        if map.len() > 10_000 {
            map.retain(|_, (_, at)| now.duration_since(*at).as_secs() < 60);
        }
        let (tokens, at) = map.entry(ip).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_exactly_with_their_scopes() {
        let caller = Caller {
            name: "api:shipper".into(),
            scopes: vec![Scope::Ingest],
        };
        let t = Tokens::from_pairs(vec![("s3cret".into(), caller.clone())]);
        assert_eq!(t.check("s3cret"), Some(&caller));
        assert_eq!(t.check("s3cret "), None);
        assert_eq!(t.check(""), None);
    }

    #[test]
    fn the_token_file_is_created_private_and_refused_when_shared() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.token");
        let a = read_or_create(&path).unwrap();
        assert_eq!(a.len(), 64);
        assert_eq!(read_or_create(&path).unwrap(), a);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(
                read_or_create(&path)
                    .unwrap_err()
                    .to_string()
                    .contains("chmod 600")
            );
        }
    }

    #[test]
    fn the_bucket_refills_and_says_when_to_retry() {
        let r = RateLimiter::new(1, 2);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(r.take(ip).is_ok());
        assert!(r.take(ip).is_ok());
        assert_eq!(r.take(ip), Err(1));
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert!(r.take(other).is_ok());
    }
}
