//! Built HNSW snapshots shared by every data dir of this user, beside the vector cache: a new
//! data dir over the same passages reads the graph instead of building it again (about a
//! second on 2 cores for the bundled corpus, most of a small file's first ingest).
//!
//! A snapshot is filed under a digest of what determines it: the model, the build parameters
//! and the passage keys (a key is a digest of model and text, so the vectors are fixed by it).
//! Files are written whole (temp file + rename); one that does not decode, or whose passages
//! differ from the digest's, is ignored and rebuilt. Only the newest few are kept.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::index::{HnswParams, PassageKey, Snapshot};

/// Snapshot files kept (one per distinct corpus: the bundled one, plus a few imports).
const KEEP: usize = 4;
const PREFIX: &str = "intel-index-";

pub struct IndexCache {
    dir: PathBuf,
}

impl IndexCache {
    pub fn at(dir: &Path) -> IndexCache {
        IndexCache {
            dir: dir.to_path_buf(),
        }
    }

    /// The digest a snapshot of `keys` by `model_id` with `params` is filed under.
    pub fn digest(model_id: &str, params: HnswParams, keys: &[PassageKey]) -> String {
        let mut sorted = keys.to_vec();
        sorted.sort_unstable();
        let mut h = Sha256::new();
        h.update(model_id.as_bytes());
        h.update([0]);
        h.update((params.ef_construction as u64).to_le_bytes());
        h.update((params.ef_search as u64).to_le_bytes());
        for k in &sorted {
            h.update(k);
        }
        h.finalize()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn path(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{PREFIX}{digest}.bin"))
    }

    /// The snapshot filed under `digest`, if it decodes and indexes exactly `keys`.
    pub fn load(&self, digest: &str, model_id: &str, keys: &[PassageKey]) -> Option<Snapshot> {
        let bytes = std::fs::read(self.path(digest)).ok()?;
        let snapshot = Snapshot::from_bytes(&bytes).ok()?;
        let indexed = snapshot.keys();
        let same = snapshot.model_id == model_id
            && indexed.len() == keys.len()
            && keys.iter().all(|k| indexed.contains(k));
        same.then_some(snapshot)
    }

    /// File `snapshot` under `digest`, then drop all but the newest `KEEP` snapshots.
    pub fn save(&self, digest: &str, snapshot: &Snapshot) -> std::io::Result<()> {
        let bytes = snapshot.to_bytes().map_err(std::io::Error::other)?;
        std::fs::create_dir_all(&self.dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        std::io::Write::write_all(tmp.as_file_mut(), &bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(self.path(digest)).map_err(|e| e.error)?;
        self.prune();
        Ok(())
    }

    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(PREFIX))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        files.sort_by_key(|f| std::cmp::Reverse(f.0));
        for (_, path) in files.into_iter().skip(KEEP) {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(n: u8) -> Vec<(PassageKey, Vec<f32>)> {
        (0..n)
            .map(|i| {
                let mut v = vec![0.0f32; 16];
                v[usize::from(i) % 16] = 1.0;
                ([i; 16], v)
            })
            .collect()
    }

    #[test]
    fn a_snapshot_is_read_back_only_for_the_same_passages_and_model() {
        let dir = tempfile::tempdir().unwrap();
        let cache = IndexCache::at(dir.path());
        let params = HnswParams {
            ef_construction: 40,
            ef_search: 40,
        };
        let pts = points(12);
        let keys: Vec<PassageKey> = pts.iter().map(|(k, _)| *k).collect();
        let digest = IndexCache::digest("m", params, &keys);
        assert!(cache.load(&digest, "m", &keys).is_none(), "empty cache");
        let built = Snapshot::build("m", pts.clone(), params);
        cache.save(&digest, &built).unwrap();
        let got = cache.load(&digest, "m", &keys).expect("cached");
        assert_eq!(got.len(), 12);
        assert_eq!(got.search(&pts[3].1, 1)[0].0, keys[3]);
        // Another model, or other passages, have another digest; a file under the wrong
        // digest is not taken for them.
        assert_ne!(IndexCache::digest("other", params, &keys), digest);
        assert_ne!(IndexCache::digest("m", params, &keys[..11]), digest);
        assert!(cache.load(&digest, "other", &keys).is_none());
        assert!(cache.load(&digest, "m", &keys[..11]).is_none());
        // A damaged file is ignored.
        std::fs::write(cache.path(&digest), b"garbage").unwrap();
        assert!(cache.load(&digest, "m", &keys).is_none());
    }

    #[test]
    fn only_the_newest_snapshots_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let cache = IndexCache::at(dir.path());
        let params = HnswParams {
            ef_construction: 20,
            ef_search: 20,
        };
        let built = Snapshot::build("m", points(4), params);
        for i in 0..KEEP + 2 {
            cache.save(&format!("d{i}"), &built).unwrap();
        }
        let kept = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(kept, KEEP);
    }
}
