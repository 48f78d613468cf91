//! `[intel]`: the embedding model, ranking and index settings (README, "Threat intel").

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ranking {
    /// Vector similarity and BM25 blended (`vector_weight`), exact IDs boosted.
    Hybrid,
    /// Vector similarity only.
    Vector,
    /// BM25 only (also the fallback when no embedding model is installed).
    Lexical,
}

impl Ranking {
    pub fn as_str(self) -> &'static str {
        match self {
            Ranking::Hybrid => "hybrid",
            Ranking::Vector => "vector",
            Ranking::Lexical => "lexical",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntelConfig {
    pub model_dir: String,
    pub max_tokens: usize,
    pub ranking: Ranking,
    pub vector_weight: f32,
    /// Techniques of one family (a technique and its sub-techniques) ranked before every other
    /// family has had a place; 0 = no limit.
    #[serde(default)]
    pub family_cap: usize,
    pub k: usize,
    pub attach_on_ingest: bool,
    pub max_passages: usize,
    pub nvd_embed_keywords: Vec<String>,
    pub ef_construction: usize,
    pub ef_search: usize,
    /// Where passage vectors are shared between data dirs: empty = the user cache dir
    /// (`$AUTOSEC_CACHE_DIR` overrides), `off` = not shared, else a directory.
    #[serde(default)]
    pub vector_cache: String,
}

impl IntelConfig {
    /// The model directory: absolute as given; a relative path is tried against the working
    /// directory, then beside the executable and two levels up (`target/release/autosec` in a
    /// checkout), then in the data dir. The first that exists wins; else the first candidate.
    pub fn resolve_model_dir(&self, data_dir: &Path) -> PathBuf {
        resolve_model_path(&self.model_dir, data_dir)
    }
}

/// See `IntelConfig::resolve_model_dir`; shared with the explainer's model files.
pub fn resolve_model_path(configured: &str, data_dir: &Path) -> PathBuf {
    let path = PathBuf::from(configured);
    if path.is_absolute() {
        return path;
    }
    let mut candidates = vec![path.clone()];
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        candidates.push(dir.join(&path));
        if let Some(up) = dir.parent().and_then(Path::parent) {
            candidates.push(up.join(&path));
        }
    }
    candidates.push(data_dir.join(&path));
    candidates
        .iter()
        .find(|c| c.exists())
        .cloned()
        .unwrap_or(path)
}
