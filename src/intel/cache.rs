//! Passage vectors shared by every data dir of this user: one file in the user cache dir
//! (`directories`; `$AUTOSEC_CACHE_DIR` overrides). A new data dir reads the bundled corpus's
//! vectors from here instead of embedding it again (seconds to tens of seconds on 2 cores).
//!
//! Keys are `passage_key(model id, text)`: another model or an edited passage has another key,
//! so a stale vector is never read. The file is rewritten whole (temp file + rename) when new
//! vectors arrive, so a reader never sees half a write and two processes adding at once lose at
//! most the other's additions (re-embedded next time), never the file. A damaged tail ends the
//! read; what came before it is used.
//!
//! Hand-written rather than sled: a sled tree in a shared cache would be locked by whichever
//! process opened it first, and a second `autosec` on another data dir must not wait for it.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::index::PassageKey;

const MAGIC: &[u8; 8] = b"ASVEC01\n";
/// A vector longer than this is a damaged record, not a model output.
const MAX_DIMS: usize = 8192;
/// Records kept at most (about 1.6 KB each at 384 dims): imports beyond this are embedded
/// per data dir as before.
const MAX_RECORDS: usize = 200_000;

pub struct VectorCache {
    path: PathBuf,
}

impl VectorCache {
    /// The cache `intel.vector_cache` names: None when it is `off` (or there is no home).
    pub fn configured(setting: &str) -> Option<VectorCache> {
        match setting.trim() {
            "" => VectorCache::user(),
            "off" => None,
            dir => Some(VectorCache::at(Path::new(dir))),
        }
    }

    /// The user's cache file, or None when there is no home or cache directory.
    pub fn user() -> Option<VectorCache> {
        let dir = match std::env::var_os("AUTOSEC_CACHE_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => directories::ProjectDirs::from("dev", "autosec", "autosec")?
                .cache_dir()
                .to_path_buf(),
        };
        Some(VectorCache::at(&dir))
    }

    pub fn at(dir: &Path) -> VectorCache {
        VectorCache {
            path: dir.join("intel-vectors.bin"),
        }
    }

    /// The directory the cache file lives in (other shared caches sit beside it).
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// The cached vectors among `wanted`.
    pub fn load(&self, wanted: &HashSet<PassageKey>) -> HashMap<PassageKey, Vec<f32>> {
        let mut out = HashMap::new();
        self.read(|key, v| {
            if wanted.contains(&key) {
                out.insert(key, v);
            }
        });
        out
    }

    /// Add `fresh` to the file (kept: everything already there, up to `MAX_RECORDS`).
    pub fn add(&self, fresh: &[(PassageKey, Vec<f32>)]) -> std::io::Result<()> {
        if fresh.is_empty() {
            return Ok(());
        }
        let mut all: HashMap<PassageKey, Vec<f32>> = HashMap::new();
        self.read(|k, v| {
            all.insert(k, v);
        });
        for (k, v) in fresh {
            if all.len() >= MAX_RECORDS {
                break;
            }
            all.insert(*k, v.clone());
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        {
            let mut w = std::io::BufWriter::new(tmp.as_file_mut());
            w.write_all(MAGIC)?;
            for (k, v) in &all {
                w.write_all(k)?;
                w.write_all(&(v.len() as u32).to_le_bytes())?;
                for x in v {
                    w.write_all(&x.to_le_bytes())?;
                }
            }
            w.flush()?;
        }
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }

    /// Every whole record, in file order; stops at the first damaged one.
    fn read(&self, mut each: impl FnMut(PassageKey, Vec<f32>)) {
        let Ok(file) = std::fs::File::open(&self.path) else {
            return;
        };
        let mut r = std::io::BufReader::new(file);
        let mut magic = [0u8; 8];
        if r.read_exact(&mut magic).is_err() || &magic != MAGIC {
            return;
        }
        loop {
            let mut key = PassageKey::default();
            let mut dims = [0u8; 4];
            if r.read_exact(&mut key).is_err() || r.read_exact(&mut dims).is_err() {
                return;
            }
            let dims = u32::from_le_bytes(dims) as usize;
            if dims == 0 || dims > MAX_DIMS {
                return;
            }
            let mut bytes = vec![0u8; dims * 4];
            if r.read_exact(&mut bytes).is_err() {
                return;
            }
            let v: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            if v.iter().all(|x| x.is_finite()) {
                each(key, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_merge_and_a_damaged_tail() {
        let dir = tempfile::tempdir().unwrap();
        let cache = VectorCache::at(dir.path());
        let (a, b, c) = ([1u8; 16], [2u8; 16], [3u8; 16]);
        assert!(cache.load(&HashSet::from([a])).is_empty(), "no file yet");
        cache.add(&[(a, vec![0.5; 4]), (b, vec![0.25; 4])]).unwrap();
        cache.add(&[(c, vec![1.0; 4])]).unwrap();
        let got = cache.load(&HashSet::from([a, c]));
        assert_eq!(got.len(), 2, "earlier records are kept when more are added");
        assert_eq!(got[&c], vec![1.0; 4]);
        // Cut the file inside a record: the whole records before it are still read.
        let len = std::fs::metadata(&cache.path).unwrap().len();
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&cache.path)
            .unwrap();
        f.set_len(len - 3).unwrap();
        assert_eq!(cache.load(&HashSet::from([a, b, c])).len(), 2);
        std::fs::write(&cache.path, b"not a cache").unwrap();
        assert!(cache.load(&HashSet::from([a])).is_empty());
    }
}
