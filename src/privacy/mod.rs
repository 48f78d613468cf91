//! Privacy: consistent pseudonyms for IPs, emails, usernames and hosts; raw values only in the vault.

mod redact;
mod tokens;
mod vault;

use std::sync::{Arc, Mutex, RwLock};

use ahash::AHashMap as HashMap;
use anyhow::{Context, Result};

pub use redact::{Redactor, USER_KEYS};
pub use tokens::{Kind, format_token, is_token, letters};
pub use vault::VaultKeys;

/// Raw value → token for values seen recently, one map per kind (looked up by `&str`, so a
/// hit allocates nothing). aHash, randomly keyed per process: the raw values come from logs
/// an attacker may write, and SipHash was a per-field cost on the workers' path.
type TokenCache = [HashMap<Box<str>, Arc<str>>; 4];

/// Maps raw values to stable tokens. The same value always gets the same token (persisted in
/// sled, keyed by HMAC), tokens are never reused (per-kind counters), and the raw value is kept
/// only AEAD-encrypted in the `vault` tree. Safe to share between worker threads.
pub struct Pseudonymiser {
    keys: VaultKeys,
    pseudonyms: sled::Tree,
    vault: sled::Tree,
    meta: sled::Tree,
    cache: RwLock<TokenCache>,
    /// Network → its keyed pseudonym (see [`Pseudonymiser::network`]).
    networks: RwLock<HashMap<Box<str>, Arc<str>>>,
    cache_limit: usize,
    /// Serialises token assignment so two threads never give one value two tokens.
    assign: Mutex<()>,
}

impl Pseudonymiser {
    pub fn new(keys: VaultKeys, store: &crate::store::Store, cache_limit: usize) -> Self {
        Pseudonymiser {
            keys,
            pseudonyms: store.pseudonyms.clone(),
            vault: store.vault.clone(),
            meta: store.meta.clone(),
            cache: RwLock::new(Default::default()),
            networks: RwLock::new(HashMap::new()),
            cache_limit: cache_limit.max(1024),
            assign: Mutex::new(()),
        }
    }

    pub fn keys(&self) -> &VaultKeys {
        &self.keys
    }

    /// The token for `raw` of `kind`, assigning (and persisting) a new one on first sight.
    pub fn token(&self, kind: Kind, raw: &str) -> Result<Arc<str>> {
        let slot = kind as usize - 1;
        if let Ok(cache) = self.cache.read()
            && let Some(t) = cache[slot].get(raw)
        {
            return Ok(t.clone());
        }
        let token = self.lookup_or_assign(kind, &normalise(kind, raw))?;
        if let Ok(mut cache) = self.cache.write() {
            remember(&mut cache[slot], self.cache_limit, raw, &token);
        }
        Ok(token)
    }

    /// The keyed pseudonym of a source network (`NETWORK_` and 12 hex digits of a MAC): no
    /// vault entry (it stands for a range, not for a value anyone needs back), the same on
    /// every run with the same keys. Cached like tokens: the MAC was a per-event cost.
    pub fn network(&self, net: &str) -> Arc<str> {
        if let Ok(cache) = self.networks.read()
            && let Some(t) = cache.get(net)
        {
            return t.clone();
        }
        let mac = self.keys.mac(format!("network\0{net}").as_bytes());
        let token: Arc<str> = Arc::from(format!("NETWORK_{}", hex::encode(&mac[..6])));
        if let Ok(mut cache) = self.networks.write() {
            remember(&mut cache, self.cache_limit, net, &token);
        }
        token
    }

    /// The token for `raw` if it was ever assigned, without assigning one.
    pub fn existing(&self, kind: Kind, raw: &str) -> Result<Option<String>> {
        let norm = normalise(kind, raw);
        let key = self.keys.lookup_key(kind as u8, &norm);
        Ok(self
            .pseudonyms
            .get(key)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// The raw value behind a token (for live response actions; never for display).
    pub fn resolve(&self, token: &str) -> Result<Option<String>> {
        match self.vault.get(token.as_bytes())? {
            None => Ok(None),
            Some(sealed) => {
                let plain = self.keys.open(token.as_bytes(), &sealed)?;
                Ok(Some(String::from_utf8_lossy(&plain).into_owned()))
            }
        }
    }

    /// Encrypt arbitrary raw content (a quarantined record) into the vault under `id`.
    pub fn seal_blob(&self, id: &str, raw: &[u8]) -> Result<()> {
        let sealed = self.keys.seal(id.as_bytes(), raw)?;
        self.vault.insert(id.as_bytes(), sealed)?;
        Ok(())
    }

    fn lookup_or_assign(&self, kind: Kind, norm: &str) -> Result<Arc<str>> {
        let key = self.keys.lookup_key(kind as u8, norm);
        if let Some(v) = self.pseudonyms.get(key)? {
            return Ok(Arc::from(String::from_utf8_lossy(&v).as_ref()));
        }
        let _guard = self
            .assign
            .lock()
            .map_err(|_| anyhow::anyhow!("pseudonymiser lock poisoned"))?;
        if let Some(v) = self.pseudonyms.get(key)? {
            return Ok(Arc::from(String::from_utf8_lossy(&v).as_ref()));
        }
        let n = next_counter(&self.meta, kind.counter_key())?;
        let token = format_token(kind, n, norm);
        // Vault first: a token must never exist without its raw value being recoverable.
        let sealed = self.keys.seal(token.as_bytes(), norm.as_bytes())?;
        self.vault.insert(token.as_bytes(), sealed)?;
        self.pseudonyms.insert(key, token.as_bytes())?;
        Ok(Arc::from(token.as_str()))
    }
}

/// Keep `raw → token` in a cache of at most `limit` entries. Bounded memory: a full map is
/// dropped wholesale (misses fall back to sled, or to the MAC).
fn remember(cache: &mut HashMap<Box<str>, Arc<str>>, limit: usize, raw: &str, token: &Arc<str>) {
    if cache.len() >= limit {
        cache.clear();
    }
    cache.insert(Box::from(raw), token.clone());
}

/// Same value, same token: IPs in canonical form, emails case-folded; usernames are
/// case-sensitive on Unix, so they are kept as is.
fn normalise(kind: Kind, raw: &str) -> String {
    match kind {
        Kind::Ip => raw
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.to_string())
            .unwrap_or_else(|_| raw.to_string()),
        Kind::Email | Kind::Host => raw.to_ascii_lowercase(),
        Kind::User => raw.to_string(),
    }
}

fn next_counter(meta: &sled::Tree, key: &str) -> Result<u64> {
    let updated = meta
        .update_and_fetch(key, |old| {
            let n = old
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .unwrap_or(0);
            Some((n + 1).to_be_bytes().to_vec())
        })
        .context("pseudonym counter")?;
    Ok(updated
        .and_then(|b| <[u8; 8]>::try_from(b.as_ref()).ok())
        .map(u64::from_be_bytes)
        .unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, crate::store::Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path(), 8).unwrap();
        (dir, store)
    }

    #[test]
    fn tokens_are_consistent_unique_and_persistent() {
        let (dir, store) = setup();
        let p = Pseudonymiser::new(VaultKeys::from_master(&[3; 32]), &store, 10);
        let a = p.token(Kind::Ip, "10.0.0.1").unwrap();
        let b = p.token(Kind::Ip, "10.0.0.2").unwrap();
        assert_eq!(&*a, "IP_ADDRESS_1");
        assert_eq!(&*b, "IP_ADDRESS_2");
        assert_eq!(p.token(Kind::Ip, "10.0.0.1").unwrap(), a);
        assert_eq!(
            &*p.token(Kind::Email, "alice@company.com").unwrap(),
            "user1***@company.com"
        );
        assert_eq!(
            &*p.token(Kind::Email, "bob@company.com").unwrap(),
            "user2***@company.com"
        );
        assert_eq!(&*p.token(Kind::User, "carol").unwrap(), "USER_A");
        assert_eq!(
            p.resolve("IP_ADDRESS_2").unwrap().as_deref(),
            Some("10.0.0.2")
        );
        drop(p);
        drop(store);
        let store = crate::store::Store::open(dir.path(), 8).unwrap();
        let p = Pseudonymiser::new(VaultKeys::from_master(&[3; 32]), &store, 10);
        assert_eq!(&*p.token(Kind::Ip, "10.0.0.2").unwrap(), "IP_ADDRESS_2");
        assert_eq!(&*p.token(Kind::Ip, "10.0.0.3").unwrap(), "IP_ADDRESS_3");
    }

    #[test]
    fn network_pseudonyms_are_keyed_and_the_cache_changes_nothing() {
        let (_dir, store) = setup();
        let keyed =
            |master: u8| Pseudonymiser::new(VaultKeys::from_master(&[master; 32]), &store, 10);
        let p = keyed(3);
        let first = p.network("198.51.100.0/24");
        assert!(first.starts_with("NETWORK_") && first.len() == "NETWORK_".len() + 12);
        assert_eq!(p.network("198.51.100.0/24"), first, "from the cache");
        assert_eq!(keyed(3).network("198.51.100.0/24"), first, "computed again");
        assert_ne!(keyed(4).network("198.51.100.0/24"), first, "other keys");
        assert_ne!(p.network("198.51.101.0/24"), first);
        // Past the cache's bound it is emptied; the answers stay the same.
        for i in 0..2_000 {
            p.network(&format!("10.{}.{}.0/24", i / 256, i % 256));
        }
        assert_eq!(p.network("198.51.100.0/24"), first);
        assert!(p.networks.read().unwrap().len() <= 1_024);
    }

    #[test]
    fn bounded_cache_still_consistent() {
        let (_dir, store) = setup();
        let p = Pseudonymiser::new(VaultKeys::from_master(&[3; 32]), &store, 0);
        let first: Vec<_> = (0..3000)
            .map(|i| p.token(Kind::User, &format!("u{i}")).unwrap())
            .collect();
        let again: Vec<_> = (0..3000)
            .map(|i| p.token(Kind::User, &format!("u{i}")).unwrap())
            .collect();
        assert_eq!(first, again);
        assert!(p.cache.read().unwrap()[Kind::User as usize - 1].len() <= 1024);
    }
}
