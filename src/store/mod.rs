//! sled storage: the trees of DESIGN.md, the data-dir lock and its owner, the schema version.

mod alerts;
mod checkpoint;
mod events;
mod quarantine;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use alerts::{save_alert, stored_alert, stored_alerts, update_alert};
pub use checkpoint::Checkpoint;
pub use events::{
    ALIAS_MIN_LEN, Append, ChunkEntry, EncodedChunk, EventWriter, chunk_first_id, decode_chunk,
    decode_views, encode_chunk, encode_views, fingerprint_key,
};
pub use quarantine::QuarantineEntry;

/// Bumped when the on-disk layout changes; `open` refuses newer stores and migrates older ones.
/// 2: event views carry the Sigma rules each record matched.
/// 3: event views carry the source's network.
pub const SCHEMA_VERSION: u32 = 3;

const OWNER_FILE: &str = "owner.json";
const DETECT_CURSOR: &str = "detect_cursor";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("data dir {dir} is in use by {owner}; {hint}")]
    Locked {
        dir: PathBuf,
        owner: String,
        hint: String,
    },
    #[error(
        "data dir {dir} has schema version {found}, newer than this autosec ({supported}); upgrade autosec"
    )]
    TooNew {
        dir: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error(
        "data dir {dir} has schema version {found}, written by an earlier autosec (this one reads {supported}); ingest into a new data dir"
    )]
    TooOld {
        dir: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("cannot open data dir {dir}: {source}")]
    Open { dir: PathBuf, source: sled::Error },
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("corrupt record in tree {tree}: {detail}")]
    Corrupt { tree: &'static str, detail: String },
}

/// Who holds the data dir, written next to sled's lock so a second process can name it.
#[derive(Debug, Serialize, Deserialize)]
struct Owner {
    pid: u32,
    command: String,
    started: String,
}

/// The open database and its trees. One process owns a data dir at a time.
pub struct Store {
    pub db: sled::Db,
    pub events: sled::Tree,
    pub chunk_index: sled::Tree,
    pub checkpoints: sled::Tree,
    pub quarantine: sled::Tree,
    pub pseudonyms: sled::Tree,
    pub vault: sled::Tree,
    pub meta: sled::Tree,
    /// Detection's projection of each chunk, under the chunk's key.
    pub event_views: sled::Tree,
    pub alerts: sled::Tree,
    /// Trained models (the Isolation Forests).
    pub models: sled::Tree,
    /// Imported threat-intel documents (the bundled corpus is in the binary).
    pub intel_docs: sled::Tree,
    /// Passage vectors, the HNSW snapshot and import records.
    pub intel_index: sled::Tree,
    /// Response actions, their dedup keys and offence counters.
    pub actions: sled::Tree,
    /// The MAC-chained audit log.
    pub audit: sled::Tree,
    /// The latest explanation of each alert, keyed by alert id.
    pub explanations: sled::Tree,
    dir: PathBuf,
    /// One flush at a time: concurrent flushes of one sled 0.34 database can wait on each
    /// other forever (spacejam/sled#1308; seen here as a console that never exited).
    flushing: std::sync::Mutex<()>,
}

impl Store {
    /// Open (or create) the store in `dir` with a `cache_mb` MiB page cache.
    pub fn open(dir: &Path, cache_mb: u64) -> Result<Store, StoreError> {
        create_private_dir(dir)?;
        let db = open_db(dir, cache_mb)?;
        write_owner(dir);
        let store = Store {
            events: db.open_tree("events")?,
            chunk_index: db.open_tree("chunk_index")?,
            checkpoints: db.open_tree("checkpoints")?,
            quarantine: db.open_tree("quarantine")?,
            pseudonyms: db.open_tree("pseudonyms")?,
            vault: db.open_tree("vault")?,
            meta: db.open_tree("meta")?,
            event_views: db.open_tree("event_views")?,
            alerts: db.open_tree("alerts")?,
            models: db.open_tree("models")?,
            intel_docs: db.open_tree("intel_docs")?,
            intel_index: db.open_tree("intel_index")?,
            actions: db.open_tree("actions")?,
            audit: db.open_tree("audit")?,
            explanations: db.open_tree("explanations")?,
            db,
            dir: dir.to_path_buf(),
            flushing: std::sync::Mutex::new(()),
        };
        store.check_schema()?;
        Ok(store)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Make everything written so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        let _one = self.flushing.lock().unwrap_or_else(|e| e.into_inner());
        self.db.flush()?;
        Ok(())
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        match self.meta.get("schema_version")? {
            None => {
                self.meta
                    .insert("schema_version", &SCHEMA_VERSION.to_be_bytes())?;
                // A new store: nothing has been through detection yet.
                self.set_detect_cursor(1)?;
            }
            Some(v) => {
                let found = <[u8; 4]>::try_from(v.as_ref())
                    .map(u32::from_be_bytes)
                    .map_err(|_| StoreError::Corrupt {
                        tree: "meta",
                        detail: "schema_version".into(),
                    })?;
                if found > SCHEMA_VERSION {
                    return Err(StoreError::TooNew {
                        dir: self.dir.clone(),
                        found,
                        supported: SCHEMA_VERSION,
                    });
                }
                // Older views lack fields (v1 the matched rules, v2 the source network); their
                // postcard encoding cannot be read as this version, and re-ingesting is
                // cheaper than a migration.
                if found < SCHEMA_VERSION {
                    return Err(StoreError::TooOld {
                        dir: self.dir.clone(),
                        found,
                        supported: SCHEMA_VERSION,
                    });
                }
            }
        }
        Ok(())
    }

    /// Record how privacy was set for a run; a store that ever held raw values says so forever.
    pub fn record_privacy(&self, enabled: bool) -> Result<(), StoreError> {
        if !enabled {
            let now = chrono::Utc::now().to_rfc3339();
            self.meta.insert("privacy_opt_out", now.as_bytes())?;
        }
        self.meta.insert(
            "privacy_last_run",
            if enabled { &b"on"[..] } else { &b"off"[..] },
        )?;
        Ok(())
    }

    /// When privacy was last switched off for this store, if ever.
    pub fn privacy_opt_out(&self) -> Result<Option<String>, StoreError> {
        Ok(self
            .meta
            .get("privacy_opt_out")?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// The first event id detection has not been through (`None` on a store from before the
    /// cursor existed). Written after the alerts it produced, so a process that dies between
    /// storing events and analysing them analyses them on its next start.
    pub fn detect_cursor(&self) -> Result<Option<u64>, StoreError> {
        Ok(self
            .meta
            .get(DETECT_CURSOR)?
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map(u64::from_be_bytes))
    }

    pub fn set_detect_cursor(&self, next_id: u64) -> Result<(), StoreError> {
        self.meta.insert(DETECT_CURSOR, &next_id.to_be_bytes())?;
        Ok(())
    }

    /// Where detection starts: the stored cursor, or after every stored event on a store
    /// that has none.
    pub fn detect_from(&self) -> Result<u64, StoreError> {
        let after_all = self.event_count()? + 1;
        Ok(self
            .detect_cursor()?
            .map_or(after_all, |c| c.min(after_all)))
    }

    /// A u64 counter in `meta`.
    pub fn meta_u64(&self, key: &str) -> Result<u64, StoreError> {
        Ok(self
            .meta
            .get(key)?
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0))
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.flush();
        let _ = std::fs::remove_file(self.dir.join(OWNER_FILE));
    }
}

/// Open sled, naming the owner when the data dir is locked. A store this process dropped a
/// moment ago can still be locked by sled's flusher thread, which lets go of it shortly after:
/// retry for a short while then, and only then.
fn open_db(dir: &Path, cache_mb: u64) -> Result<sled::Db, StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let opened = sled::Config::new()
            .path(dir.join("db"))
            .cache_capacity(cache_mb.max(1) * 1024 * 1024)
            .open();
        let err = match opened {
            Ok(db) => return Ok(db),
            Err(e) => e,
        };
        let locked = matches!(&err, sled::Error::Io(io)
            if io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("lock"));
        if !locked {
            return Err(StoreError::Open {
                dir: dir.to_path_buf(),
                source: err,
            });
        }
        let ours = owner_pid(dir).is_none_or(|pid| pid == std::process::id());
        if !ours || std::time::Instant::now() >= deadline {
            return Err(StoreError::Locked {
                dir: dir.to_path_buf(),
                owner: describe_owner(dir),
                hint: locked_hint(dir),
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The data dir holds pseudonym maps, the vault and the audit log: only its owner may read it.
/// An existing dir that others can read is used as it is, with a warning.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        // `recursive` applies the mode to the parents it creates only under the umask.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    } else if std::fs::metadata(dir)?.permissions().mode() & 0o077 != 0 {
        warn_readable_dir(dir);
    }
    Ok(())
}

fn warn_readable_dir(dir: &Path) {
    eprintln!(
        "warning: data dir {} is readable by other users; `chmod 700 {}` keeps pseudonym maps and the audit log private",
        crate::sanitize::visible(&dir.display().to_string()),
        crate::sanitize::visible(&dir.display().to_string())
    );
}

fn owner_pid(dir: &Path) -> Option<u32> {
    std::fs::read(dir.join(OWNER_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice::<Owner>(&b).ok())
        .map(|o| o.pid)
}

fn write_owner(dir: &Path) {
    let owner = Owner {
        pid: std::process::id(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        started: chrono::Utc::now().to_rfc3339(),
    };
    if let Ok(json) = serde_json::to_vec(&owner) {
        // The command line can name files and hosts: owner-only, like the rest of the dir.
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(dir.join(OWNER_FILE));
        if let Ok(mut f) = file {
            let _ = f.write_all(&json);
        }
    }
}

/// What to do about a locked store: an owner running `serve` answers on its control socket.
fn locked_hint(dir: &Path) -> String {
    let sock = dir.join(CONTROL_SOCKET);
    if sock.exists() {
        format!(
            "`alerts`, `actions`, `explain`, `audit` and `autosec console` go through its control socket by themselves; for the rest use the API on it: curl --unix-socket {} http://localhost/api/v1/threats (see README, HTTP API)",
            sock.display()
        )
    } else {
        "stop it or use another --data-dir".to_string()
    }
}

/// The owner's local API socket in the data dir (mode 0600).
pub const CONTROL_SOCKET: &str = "control.sock";

fn describe_owner(dir: &Path) -> String {
    std::fs::read(dir.join(OWNER_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice::<Owner>(&b).ok())
        .map(|o| {
            format!(
                "process {} (`{}`, started {})",
                o.pid,
                crate::sanitize::visible(&o.command),
                o.started
            )
        })
        .unwrap_or_else(|| "another process".to_string())
}
