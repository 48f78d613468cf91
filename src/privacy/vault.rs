//! The vault key (a 0600 file in the config dir) and the AEAD that keeps raw values at rest.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const NONCE_LEN: usize = 24;

/// Keys derived from the one master key file: one for pseudonym lookups, one for encryption.
pub struct VaultKeys {
    lookup: HmacSha256,
    cipher: XChaCha20Poly1305,
}

impl VaultKeys {
    /// Read the master key, or create it (32 random bytes, mode 0600) if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<VaultKeys> {
        let master = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key_file(path)?,
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read vault key {}", path.display()));
            }
        };
        if master.len() != 32 {
            bail!(
                "vault key {} is {} bytes, expected 32",
                path.display(),
                master.len()
            );
        }
        check_permissions(path)?;
        Ok(VaultKeys::from_master(&master))
    }

    /// The key of a store's vault. A store whose vault already holds sealed values needs the
    /// key that sealed them: a missing key file (another HOME, e.g. under sudo) or a
    /// different one is refused with the file named, never replaced by a new key (every
    /// later resolution would fail and stop the responder).
    pub fn for_vault(path: &Path, vault: &sled::Tree) -> Result<VaultKeys> {
        let sealed = vault.iter().next().transpose()?;
        if sealed.is_some() && !path.exists() {
            bail!(
                "this data dir's vault was sealed with the key {}, which is missing (another HOME or user, e.g. under sudo?); restore that file or point [privacy] key_file at it — a new key could not read the vault",
                path.display()
            );
        }
        let keys = VaultKeys::load_or_create(path)?;
        if let Some((id, value)) = sealed
            && keys.open(&id, &value).is_err()
        {
            bail!(
                "the vault key {} does not open this data dir's vault: it was sealed with another key; use that key file",
                path.display()
            );
        }
        Ok(keys)
    }

    pub fn from_master(master: &[u8]) -> VaultKeys {
        let lookup = derive(master, b"autosec/pseudonym-lookup/v1");
        let cipher_key = derive(master, b"autosec/vault-aead/v1")
            .finalize()
            .into_bytes();
        VaultKeys {
            lookup,
            cipher: XChaCha20Poly1305::new(&cipher_key),
        }
    }

    /// HMAC-SHA256 of `raw` (domain-separated by `kind`): the pseudonym table's key. A plain hash
    /// would let anyone with the data dir brute-force all IPv4 addresses in minutes.
    pub fn lookup_key(&self, kind: u8, raw: &str) -> [u8; 33] {
        let mut mac = self.lookup.clone();
        mac.update(&[kind]);
        mac.update(raw.as_bytes());
        let mut key = [0u8; 33];
        key[0] = kind;
        key[1..].copy_from_slice(&mac.finalize().into_bytes());
        key
    }

    /// A MAC over arbitrary bytes with the lookup key (used to fingerprint quarantined content).
    pub fn mac(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = self.lookup.clone();
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// Encrypt `plain`, bound to `aad` (the token it belongs to). Output: nonce || ciphertext.
    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
            .map_err(|_| anyhow::anyhow!("vault encryption failed"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Decrypt what `seal` produced with the same `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            bail!("vault record too short");
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| anyhow::anyhow!("vault record does not decrypt with this key"))
    }
}

fn derive(master: &[u8], label: &[u8]) -> HmacSha256 {
    let mut kdf = <HmacSha256 as Mac>::new_from_slice(master).unwrap_or_else(|_| {
        // HMAC accepts keys of any length; this branch cannot be reached.
        <HmacSha256 as Mac>::new_from_slice(&[0u8; 32]).unwrap_or_else(|_| unreachable!())
    });
    kdf.update(label);
    let sub = kdf.finalize().into_bytes();
    <HmacSha256 as Mac>::new_from_slice(&sub).unwrap_or_else(|_| unreachable!())
}

fn create_key_file(path: &Path) -> Result<Vec<u8>> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create config dir {}", dir.display()))?;
    }
    let mut key = vec![0u8; 32];
    rand::rng().fill_bytes(&mut key);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(mut f) => {
            f.write_all(&key)?;
            f.sync_all()?;
            Ok(key)
        }
        // Another process created it between our read and create: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(std::fs::read(path)?),
        Err(e) => Err(e).with_context(|| format!("cannot create vault key {}", path.display())),
    }
}

fn check_permissions(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            bail!(
                "vault key {} is readable by others (mode {:o}); run: chmod 600 {}",
                path.display(),
                mode & 0o777,
                path.display()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_aad_binding() {
        let k = VaultKeys::from_master(&[7u8; 32]);
        let sealed = k.seal(b"IP_ADDRESS_1", b"203.0.113.9").unwrap();
        assert_eq!(k.open(b"IP_ADDRESS_1", &sealed).unwrap(), b"203.0.113.9");
        assert!(k.open(b"IP_ADDRESS_2", &sealed).is_err());
    }

    #[test]
    fn lookup_key_is_keyed() {
        let a = VaultKeys::from_master(&[1u8; 32]);
        let b = VaultKeys::from_master(&[2u8; 32]);
        assert_ne!(a.lookup_key(1, "10.0.0.1"), b.lookup_key(1, "10.0.0.1"));
        assert_eq!(a.lookup_key(1, "10.0.0.1"), a.lookup_key(1, "10.0.0.1"));
        assert_ne!(a.lookup_key(1, "x"), a.lookup_key(2, "x"));
    }

    #[test]
    fn key_file_created_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/vault.key");
        VaultKeys::load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = VaultKeys::load_or_create(&path).unwrap();
        let first = VaultKeys::load_or_create(&path).unwrap();
        assert_eq!(again.lookup_key(0, "a"), first.lookup_key(0, "a"));
    }
}
