//! The append-only audit log: every proposal, decision, execution, failure, expiry and rollback
//! as a record in sled `audit`, chained by HMAC-SHA256 (key in the config dir, outside the data
//! dir) over the record and the previous record's MAC. The head (sequence + MAC) is also kept in
//! the config dir, so truncating the tail or rewriting the chain is detected too.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::privacy::VaultKeys;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// proposed, pending_approval, approved, rejected, sandboxed, executed, failed, expired,
    /// elapsed, rolled_back, suppressed.
    pub event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<u64>,
    /// `autosec` for the engine, else the person.
    pub actor: String,
    /// Pseudonymised description (previews, reasons, results).
    pub detail: String,
    /// HMAC of the real argv that ran, so it can be matched later without storing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argv_mac: Option<String>,
    pub prev: String,
    pub mac: String,
}

/// Where the chain ends, as last written outside sled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    pub seq: u64,
    pub mac: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct VerifyReport {
    pub records: u64,
    pub ok: bool,
    /// The first record (sequence number) that fails, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad: Option<(u64, String)>,
    pub head: Option<Head>,
}

pub struct Audit {
    keys: VaultKeys,
    tree: sled::Tree,
    head_path: PathBuf,
    last: Mutex<Head>,
    /// Why the chain no longer matches the head kept outside the store (records removed
    /// from its end, or rewritten): nothing more is appended, so actions stop.
    broken: Option<String>,
    /// The newest records appended by this process, for a live view (`take_recent`), so it
    /// is not read back from the tree after each step.
    recent: Mutex<VecDeque<AuditRecord>>,
}

/// Records `recent` keeps between two takes (a live view shows fewer).
const RECENT_KEPT: usize = 512;

/// What to append (the chain fields are filled in by `append`).
pub struct Entry<'a> {
    pub event: &'a str,
    pub action_id: Option<u64>,
    pub alert_id: Option<u64>,
    pub actor: &'a str,
    pub detail: String,
    pub argv_mac: Option<String>,
}

impl Audit {
    /// Open the chain in `tree`, keyed by `key_file` (created 0600 if absent); the head file
    /// lives next to the key, named after the data dir.
    pub fn open(tree: sled::Tree, key_file: &Path, data_dir: &Path) -> Result<Audit> {
        let keys = VaultKeys::load_or_create(key_file).context("audit key")?;
        let dir_id = {
            use sha2::{Digest, Sha256};
            let canonical = data_dir
                .canonicalize()
                .unwrap_or_else(|_| data_dir.to_path_buf());
            hex::encode(&Sha256::digest(canonical.to_string_lossy().as_bytes())[..8])
        };
        let head_path = key_file
            .parent()
            .unwrap_or(Path::new("."))
            .join(format!("audit-head-{dir_id}.json"));
        let last = match tree.last()? {
            Some((_, v)) => {
                let r: AuditRecord = serde_json::from_slice(&v).context("last audit record")?;
                Head {
                    seq: r.seq,
                    mac: r.mac,
                }
            }
            None => Head {
                seq: 0,
                mac: String::new(),
            },
        };
        let mut audit = Audit {
            keys,
            tree,
            head_path,
            last: Mutex::new(last),
            broken: None,
            recent: Mutex::new(VecDeque::new()),
        };
        audit.broken = audit.head_mismatch()?;
        Ok(audit)
    }

    /// Compare the head kept outside the store with the chain, before anything is appended:
    /// a data dir restored from an older copy would otherwise continue its chain and
    /// overwrite the head, and the truncation would never show.
    fn head_mismatch(&self) -> Result<Option<String>> {
        let Some(stored) = self.stored_head() else {
            return Ok(None);
        };
        let last = self.head();
        // An empty chain is a new store at a path that held another one (removed and made
        // again): its old head says nothing about this chain.
        if last.seq == 0 {
            return Ok(None);
        }
        if stored.seq > last.seq {
            return Ok(Some(format!(
                "the audit chain ends at record {} but its head outside the store ({}) says {}: records were removed from its end (an older data dir restored?)",
                last.seq,
                self.head_path.display(),
                stored.seq
            )));
        }
        let at_head = self
            .tree
            .get(stored.seq.to_be_bytes())?
            .and_then(|v| serde_json::from_slice::<AuditRecord>(&v).ok());
        if at_head.is_none_or(|r| r.mac != stored.mac) {
            return Ok(Some(format!(
                "audit record {} differs from the head kept outside the store ({}): the chain was rewritten",
                stored.seq,
                self.head_path.display()
            )));
        }
        Ok(None)
    }

    /// Why appending is refused, if it is (see `broken`).
    pub fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }

    fn mac_of(&self, record: &AuditRecord) -> String {
        let mut unsigned = record.clone();
        unsigned.mac.clear();
        let bytes = serde_json::to_vec(&unsigned).unwrap_or_default();
        hex::encode(self.keys.mac(&bytes))
    }

    /// HMAC of an argv (NUL-separated), for `argv_mac`.
    pub fn argv_mac(&self, argv: &[String]) -> String {
        hex::encode(self.keys.mac(argv.join("\0").as_bytes()))
    }

    pub fn append(&self, entry: Entry) -> Result<AuditRecord> {
        if let Some(why) = &self.broken {
            anyhow::bail!("{why}; actions are stopped until `autosec audit verify` is looked into");
        }
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let mut record = AuditRecord {
            seq: last.seq + 1,
            at: Utc::now(),
            event: entry.event.to_string(),
            action_id: entry.action_id,
            alert_id: entry.alert_id,
            actor: entry.actor.to_string(),
            detail: entry.detail,
            argv_mac: entry.argv_mac,
            prev: last.mac.clone(),
            mac: String::new(),
        };
        record.mac = self.mac_of(&record);
        self.tree
            .insert(record.seq.to_be_bytes(), serde_json::to_vec(&record)?)?;
        *last = Head {
            seq: record.seq,
            mac: record.mac.clone(),
        };
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() == RECENT_KEPT {
            recent.pop_front();
        }
        recent.push_back(record.clone());
        Ok(record)
    }

    /// Records appended since the last take (the newest `RECENT_KEPT` of them), oldest first.
    pub fn take_recent(&self) -> Vec<AuditRecord> {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut *recent).into()
    }

    /// The newest `n` stored records, oldest first (what a live view starts from).
    pub fn newest(&self, n: usize) -> Result<Vec<AuditRecord>> {
        let mut out = self
            .tree
            .iter()
            .rev()
            .take(n)
            .map(|item| Ok(serde_json::from_slice(&item?.1)?))
            .collect::<Result<Vec<AuditRecord>>>()?;
        out.reverse();
        Ok(out)
    }

    /// The current head (sequence + MAC of the last record).
    pub fn head(&self) -> Head {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Write the head outside sled (atomically). Called after each batch of appends.
    pub fn sync_head(&self) -> Result<()> {
        let head = self.head();
        if head.seq == 0 || self.broken.is_some() {
            return Ok(());
        }
        let tmp = self.head_path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(&head)?)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &self.head_path)?;
        Ok(())
    }

    fn stored_head(&self) -> Option<Head> {
        let text = std::fs::read(&self.head_path).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Walk the chain: sequence numbers contiguous from 1, each `prev` the previous MAC, each
    /// MAC recomputed, and the stored head present in the chain with the same MAC.
    pub fn verify(&self) -> Result<VerifyReport> {
        let mut expected_seq = 1u64;
        let mut prev = String::new();
        let mut first_bad = None;
        let mut macs_at_head = None;
        let head = self.stored_head();
        for item in self.tree.iter() {
            let (key, value) = item?;
            let record: AuditRecord = match serde_json::from_slice(&value) {
                Ok(r) => r,
                Err(e) => {
                    first_bad = Some((expected_seq, format!("unreadable record: {e}")));
                    break;
                }
            };
            let key_seq = <[u8; 8]>::try_from(key.as_ref())
                .map(u64::from_be_bytes)
                .ok();
            let problem = if key_seq != Some(record.seq) {
                Some("record stored under another sequence number (moved or reordered)")
            } else if record.seq != expected_seq {
                Some("sequence gap (a record was deleted)")
            } else if record.prev != prev {
                Some("does not chain to the previous record (deleted, inserted or reordered)")
            } else if self.mac_of(&record) != record.mac {
                Some("MAC mismatch (the record was edited, or written with another key)")
            } else {
                None
            };
            if let Some(p) = problem {
                first_bad = Some((expected_seq, p.to_string()));
                break;
            }
            if head.as_ref().is_some_and(|h| h.seq == record.seq) {
                macs_at_head = Some(record.mac.clone());
            }
            prev = record.mac;
            expected_seq += 1;
        }
        let records = expected_seq - 1;
        if first_bad.is_none() && head.is_none() && records > 0 {
            first_bad = Some((
                records,
                format!(
                    "the head kept outside the store ({}) is missing: the end of the chain cannot be checked",
                    self.head_path.display()
                ),
            ));
        }
        if first_bad.is_none()
            && let Some(h) = &head
        {
            if h.seq > records {
                first_bad = Some((
                    records + 1,
                    format!(
                        "the chain ends at {records} but its head outside the store says {}: records were removed from the end",
                        h.seq
                    ),
                ));
            } else if macs_at_head.as_deref() != Some(h.mac.as_str()) {
                first_bad = Some((
                    h.seq,
                    "differs from the head kept outside the store: the chain was rewritten".into(),
                ));
            }
        }
        Ok(VerifyReport {
            records,
            ok: first_bad.is_none(),
            first_bad,
            head,
        })
    }

    pub fn records(&self) -> impl Iterator<Item = Result<AuditRecord>> + '_ {
        self.tree.iter().values().map(|v| {
            let v = v?;
            Ok(serde_json::from_slice(&v)?)
        })
    }
}
