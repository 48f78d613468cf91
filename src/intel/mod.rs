//! Threat-intel retrieval: the corpus (bundled + imported ATT&CK, KEV, NVD, incidents), MiniLM
//! embeddings with candle, an instant-distance HNSW persisted in sled, BM25, and hybrid ranking.
//! Without an embedding model everything works lexically and says so.

pub mod bert;
mod cache;
pub mod corpus;
pub mod doc;
pub mod embed;
pub mod import;
pub mod index;
pub mod index_cache;
pub mod lexical;
mod queries;
pub mod retrieve;
pub mod rule_passages;
pub mod store;
pub mod weights;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, RwLock};

use serde::Serialize;

use crate::config::{IntelConfig, Ranking};
use crate::store::{Store, StoreError};
use doc::IntelDoc;
use embed::{EmbedError, Embedder};
use index::{HnswParams, PassageKey, Snapshot};
use lexical::Lexical;

pub use retrieve::{Hit, SearchOptions, SearchOutcome};

#[derive(Debug, thiserror::Error)]
pub enum IntelError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Embed(#[from] EmbedError),
}

/// The embedding model, or why there is none (then retrieval is lexical).
#[derive(Clone)]
pub enum ModelState {
    Ready(Arc<Embedder>),
    Unavailable(String),
}

impl ModelState {
    /// Load the configured model; any failure becomes `Unavailable` with the reason.
    pub fn load(config: &IntelConfig, data_dir: &Path) -> ModelState {
        if std::env::var_os("AUTOSEC_NO_MODELS").is_some_and(|v| !v.is_empty() && v != "0") {
            return ModelState::Unavailable("local models disabled by AUTOSEC_NO_MODELS".into());
        }
        let dir = config.resolve_model_dir(data_dir);
        match Embedder::load(&dir, config.max_tokens) {
            Ok(e) => ModelState::Ready(Arc::new(e)),
            Err(e) => ModelState::Unavailable(e.to_string()),
        }
    }

    pub fn embedder(&self) -> Option<&Arc<Embedder>> {
        match self {
            ModelState::Ready(e) => Some(e),
            ModelState::Unavailable(_) => None,
        }
    }

    /// Whether the model's weights have been read by this process.
    pub fn weights_loaded(&self) -> bool {
        self.embedder().is_some_and(|e| e.weights_loaded())
    }
}

/// An installed HNSW snapshot and the embedded passages it does not contain (searched exactly).
struct Built {
    snapshot: Arc<Snapshot>,
    tail: Vec<PassageKey>,
}

/// The corpus, its indexes and the model, ready to search.
pub struct Intel {
    docs: Vec<IntelDoc>,
    lexical: Lexical,
    model: ModelState,
    config: IntelConfig,
    /// Each document's passage keys (none for lexical-only documents or without a model).
    doc_passages: Vec<Vec<PassageKey>>,
    /// Passage key → documents that contain that passage.
    passage_docs: HashMap<PassageKey, Vec<u32>>,
    /// Passage texts still to embed (key → text).
    pending: Vec<(PassageKey, String)>,
    vectors: HashMap<PassageKey, Vec<f32>>,
    built: RwLock<Option<Built>>,
    query_vectors: queries::QueryVectors,
}

/// For `autosec intel status`, the console and `/health`.
#[derive(Debug, Serialize)]
pub struct IntelStatus {
    pub model: String,
    pub model_ready: bool,
    pub ranking: Ranking,
    pub documents: BTreeMap<String, usize>,
    pub sources: Vec<store::SourceRecord>,
    pub passages: usize,
    pub embedded: usize,
    pub indexed: usize,
    pub exact_tail: usize,
    pub lexical_only_docs: usize,
}

impl Intel {
    /// Load the bundled corpus, imported documents, stored vectors and the HNSW snapshot.
    pub fn open(
        store: &Store,
        config: &IntelConfig,
        model: ModelState,
    ) -> Result<Intel, IntelError> {
        let mut docs = corpus::bundled();
        docs.extend(store::load_docs(store)?);
        rule_passages::enrich(&mut docs);
        let lexical = Lexical::build(&docs);
        let mut intel = Intel {
            doc_passages: vec![Vec::new(); docs.len()],
            docs,
            lexical,
            model,
            config: config.clone(),
            passage_docs: HashMap::new(),
            pending: Vec::new(),
            vectors: HashMap::new(),
            built: RwLock::new(None),
            query_vectors: Default::default(),
        };
        if let Some(embedder) = intel.model.embedder().cloned() {
            intel.map_passages(embedder.model_id());
            intel.vectors = store::load_vectors(store, intel.passage_docs.keys().copied())?;
            // What this data dir lacks, another may have embedded: the user's cache.
            let missing: HashSet<PassageKey> = intel
                .pending
                .iter()
                .map(|(k, _)| *k)
                .filter(|k| !intel.vectors.contains_key(k))
                .collect();
            if !missing.is_empty()
                && let Some(cache) = cache::VectorCache::configured(&intel.config.vector_cache)
            {
                let cached = cache.load(&missing);
                if !cached.is_empty() {
                    store::save_vectors(store, cached.iter())?;
                    intel.vectors.extend(cached);
                }
            }
            intel
                .pending
                .retain(|(k, _)| !intel.vectors.contains_key(k));
            if let Some(snapshot) = store::load_snapshot(store)?
                && snapshot.model_id == embedder.model_id()
            {
                intel.install(Arc::new(snapshot));
            }
        }
        Ok(intel)
    }

    fn map_passages(&mut self, model_id: &str) {
        let mut seen = HashSet::new();
        for (i, d) in self.docs.iter().enumerate() {
            if !d.embed {
                continue;
            }
            for text in d
                .passages()
                .into_iter()
                .take(self.config.max_passages.max(1))
            {
                let key = index::passage_key(model_id, &text);
                self.doc_passages[i].push(key);
                self.passage_docs.entry(key).or_default().push(i as u32);
                if seen.insert(key) {
                    self.pending.push((key, text));
                }
            }
        }
    }

    pub fn docs(&self) -> &[IntelDoc] {
        &self.docs
    }

    pub fn model(&self) -> &ModelState {
        &self.model
    }

    /// The ranking actually used: the configured one, or lexical without a model.
    pub fn effective_ranking(&self, wanted: Option<Ranking>) -> Ranking {
        match self.model {
            ModelState::Ready(_) => wanted.unwrap_or(self.config.ranking),
            ModelState::Unavailable(_) => Ranking::Lexical,
        }
    }

    /// Passages that have no vector yet.
    pub fn pending_passages(&self) -> usize {
        self.pending.len()
    }

    /// Embed every pending passage (batched), store the vectors; `progress(done, total)`.
    pub fn embed_pending(
        &mut self,
        store: &Store,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<usize, IntelError> {
        let Some(embedder) = self.model.embedder().cloned() else {
            return Ok(0);
        };
        let total = self.pending.len();
        let pending = std::mem::take(&mut self.pending);
        let mut done = 0;
        // Store every few batches so an interrupted import keeps what it embedded.
        for chunk in pending.chunks(embed::BATCH * 8) {
            let texts: Vec<&str> = chunk.iter().map(|(_, t)| t.as_str()).collect();
            let embedded = embedder.embed_all(&texts, |n| {
                done += n;
                progress(done, total);
            });
            let vectors = match embedded {
                Ok(v) => v,
                // Weights that cannot be read (read on first use): no model, lexical ranking,
                // and the reason in `intel status` and every search.
                Err(e @ embed::EmbedError::Load { .. }) => {
                    self.model = ModelState::Unavailable(e.to_string());
                    return Ok(done);
                }
                Err(e) => return Err(e.into()),
            };
            let fresh: Vec<(PassageKey, Vec<f32>)> =
                chunk.iter().map(|(k, _)| *k).zip(vectors).collect();
            store::save_vectors(store, fresh.iter().map(|(k, v)| (k, v)))?;
            // Shared with the user's other data dirs; a cache that cannot be written only
            // costs the next new data dir an embedding.
            if let Some(cache) = cache::VectorCache::configured(&self.config.vector_cache) {
                let _ = cache.add(&fresh);
            }
            self.vectors.extend(fresh);
        }
        if let Some(built) = self
            .built
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            let indexed = built.snapshot.keys();
            built.tail = self.live_keys().filter(|k| !indexed.contains(k)).collect();
        }
        Ok(total)
    }

    fn live_keys(&self) -> impl Iterator<Item = PassageKey> + '_ {
        self.vectors.keys().copied()
    }

    /// Passages with a vector that the installed snapshot lacks, or stale ones it still has.
    pub fn index_is_stale(&self) -> bool {
        let guard = self.built.read().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            None => !self.vectors.is_empty(),
            Some(b) => !b.tail.is_empty() || b.snapshot.len() != self.vectors.len(),
        }
    }

    /// Build a new HNSW snapshot of the current vectors on a background thread (or read the
    /// same one from the user's index cache). Searches keep using the old snapshot plus an
    /// exact scan of newer passages until `install` is called.
    pub fn spawn_rebuild(&self) -> Option<std::thread::JoinHandle<Snapshot>> {
        self.spawn_build(true)
    }

    /// As [`Intel::spawn_rebuild`], always building (what the retrieval benchmark times).
    pub fn spawn_fresh_build(&self) -> Option<std::thread::JoinHandle<Snapshot>> {
        self.spawn_build(false)
    }

    fn spawn_build(&self, use_cache: bool) -> Option<std::thread::JoinHandle<Snapshot>> {
        let embedder = self.model.embedder()?;
        let model_id = embedder.model_id().to_string();
        let points: Vec<(PassageKey, Vec<f32>)> =
            self.vectors.iter().map(|(k, v)| (*k, v.clone())).collect();
        let params = HnswParams {
            ef_construction: self.config.ef_construction,
            ef_search: self.config.ef_search,
        };
        let shared = cache::VectorCache::configured(&self.config.vector_cache)
            .filter(|_| use_cache)
            .map(|c| index_cache::IndexCache::at(c.dir()));
        Some(std::thread::spawn(move || {
            let keys: Vec<PassageKey> = points.iter().map(|(k, _)| *k).collect();
            let digest = index_cache::IndexCache::digest(&model_id, params, &keys);
            if let Some(mut cached) = shared
                .as_ref()
                .and_then(|c| c.load(&digest, &model_id, &keys))
            {
                cached.from_cache = true;
                return cached;
            }
            let snapshot = Snapshot::build(&model_id, points, params);
            // A cache that cannot be written only costs the next new data dir a build.
            if let Some(c) = &shared {
                let _ = c.save(&digest, &snapshot);
            }
            snapshot
        }))
    }

    /// Persist a snapshot, make searches use it, and drop vectors no document uses any more.
    pub fn save_and_install(&self, store: &Store, snapshot: Snapshot) -> Result<(), IntelError> {
        store::save_snapshot(store, &snapshot)?;
        store::prune_vectors(store, &self.passage_docs)?;
        self.install(Arc::new(snapshot));
        Ok(())
    }

    fn install(&self, snapshot: Arc<Snapshot>) {
        let indexed = snapshot.keys();
        let tail = self.live_keys().filter(|k| !indexed.contains(k)).collect();
        *self.built.write().unwrap_or_else(|p| p.into_inner()) = Some(Built { snapshot, tail });
    }

    pub fn status(&self, store: &Store) -> Result<IntelStatus, IntelError> {
        let mut documents = BTreeMap::new();
        for d in &self.docs {
            *documents.entry(d.kind.as_str().to_string()).or_insert(0) += 1;
        }
        let guard = self.built.read().unwrap_or_else(|p| p.into_inner());
        let (indexed, exact_tail) = guard.as_ref().map_or((0, self.vectors.len()), |b| {
            (b.snapshot.len(), b.tail.len())
        });
        let (model, model_ready) = match &self.model {
            ModelState::Ready(e) => (e.model_id().to_string(), true),
            ModelState::Unavailable(reason) => (reason.clone(), false),
        };
        Ok(IntelStatus {
            model,
            model_ready,
            ranking: self.effective_ranking(None),
            documents,
            sources: store::sources(store)?,
            passages: self.passage_docs.len(),
            embedded: self.vectors.len(),
            indexed,
            exact_tail,
            lexical_only_docs: self.docs.iter().filter(|d| !d.embed).count(),
        })
    }
}
