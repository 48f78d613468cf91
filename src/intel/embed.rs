//! Sentence embeddings with candle: a BERT sentence-transformer (all-MiniLM-L6-v2 by default),
//! mean-pooled over the attention mask and L2-normalised, like sentence-transformers does.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::bert::LeanBert;
use candle_core::{DType, Device, Tensor};
use candle_transformers::models::bert::Config as BertConfig;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// Sentences per forward pass. A pass holds its batch's attention scores at once (batch × 12
/// heads × tokens²): embedding the bundled corpus 32 at a time peaked at 842 MB and took 32.6 s
/// on 2 cores, 8 at a time 343 MB and 28.6 s (`ingest` of OpenSSH_2k on an empty cache).
pub const BATCH: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error(
        "no embedding model in {dir}: {missing} is missing (run `models/fetch`, see models/README.md)"
    )]
    Missing { dir: PathBuf, missing: &'static str },
    #[error("embedding model in {dir} cannot be loaded: {detail}")]
    Load { dir: PathBuf, detail: String },
    #[error("embedding failed: {0}")]
    Run(String),
}

fn run_err(e: impl std::fmt::Display) -> EmbedError {
    EmbedError::Run(e.to_string())
}

/// A sentence-transformer. Cheap to share behind an `Arc`; `embed` takes `&self`. Opening
/// reads only the config and the tokenizer; the weights (91 MB for MiniLM) are read on the
/// first embedding, so a run whose passage and query vectors all come from the user's cache
/// never holds them.
pub struct Embedder {
    dir: PathBuf,
    tokenizer: Tokenizer,
    config: BertConfig,
    model: OnceLock<Result<LeanBert, String>>,
    device: Device,
    dim: usize,
    /// Identifies the weights, so cached vectors of another model are never mixed in.
    model_id: String,
}

impl Embedder {
    /// Open the model in `dir` (`config.json`, `tokenizer.json`, `model.safetensors`).
    pub fn load(dir: &Path, max_tokens: usize) -> Result<Embedder, EmbedError> {
        for file in ["config.json", "tokenizer.json", "model.safetensors"] {
            if !dir.join(file).is_file() {
                return Err(EmbedError::Missing {
                    dir: dir.to_path_buf(),
                    missing: file,
                });
            }
        }
        let load_err = |detail: String| EmbedError::Load {
            dir: dir.to_path_buf(),
            detail,
        };
        let config_text = std::fs::read_to_string(dir.join("config.json"))
            .map_err(|e| load_err(format!("config.json: {e}")))?;
        let config: BertConfig = serde_json::from_str(&config_text)
            .map_err(|e| load_err(format!("config.json: {e}")))?;
        let dim = config.hidden_size;

        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| load_err(format!("tokenizer.json: {e}")))?;
        // The shipped tokenizer pads every input to 128 tokens; padding each batch to its
        // longest member gives the same vectors (the mask excludes padding) at a fraction of
        // the compute for short alert descriptions.
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..PaddingParams::default()
        }));
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..TruncationParams::default()
            }))
            .map_err(|e| load_err(format!("tokenizer truncation: {e}")))?;

        let weights_len = std::fs::metadata(dir.join("model.safetensors")).map_or(0, |m| m.len());
        let name = dir
            .file_name()
            .map_or_else(|| "model".to_string(), |n| n.to_string_lossy().into_owned());
        Ok(Embedder {
            dir: dir.to_path_buf(),
            tokenizer,
            config,
            model: OnceLock::new(),
            device: Device::Cpu,
            dim,
            model_id: format!("{name}:{dim}:{weights_len}"),
        })
    }

    /// The weights, read on first use (tensor by tensor, see `weights`: the whole-file loader
    /// held them twice; the word-piece table stays on disk, see `bert`). A file that cannot be
    /// read stays an error for this process.
    fn model(&self) -> Result<&LeanBert, EmbedError> {
        let loaded = self.model.get_or_init(|| {
            let path = self.dir.join("model.safetensors");
            LeanBert::load(&path, &self.config, &self.device)
                .map_err(|e| format!("model.safetensors: {e}"))
        });
        loaded.as_ref().map_err(|detail| EmbedError::Load {
            dir: self.dir.clone(),
            detail: detail.clone(),
        })
    }

    /// Whether the weights have been read (tests and figures).
    pub fn weights_loaded(&self) -> bool {
        self.model.get().is_some_and(Result::is_ok)
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Embed one text.
    pub fn embed_one(&self, text: &str) -> Result<Vec<f32>, EmbedError> {
        let mut out = self.embed_batch(&[text])?;
        out.pop().ok_or_else(|| run_err("empty output"))
    }

    /// Embed many texts, `BATCH` at a time, grouped by length so each batch pads little.
    /// Output order follows input order.
    pub fn embed_all(
        &self,
        texts: &[&str],
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        let mut out = vec![Vec::new(); texts.len()];
        for group in order.chunks(BATCH) {
            let batch: Vec<&str> = group.iter().map(|&i| texts[i]).collect();
            for (&i, vector) in group.iter().zip(self.embed_batch(&batch)?) {
                out[i] = vector;
            }
            progress(group.len());
        }
        Ok(out)
    }

    /// One forward pass over `texts` (callers keep batches small).
    pub fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(run_err)?;
        let rows = encodings.len();
        let len = encodings.first().map_or(0, |e| e.get_ids().len());
        let mut ids = Vec::with_capacity(rows * len);
        let mut mask = Vec::with_capacity(rows * len);
        for encoding in &encodings {
            ids.extend_from_slice(encoding.get_ids());
            mask.extend_from_slice(encoding.get_attention_mask());
        }
        let ids = Tensor::from_vec(ids, (rows, len), &self.device).map_err(run_err)?;
        let mask = Tensor::from_vec(mask, (rows, len), &self.device).map_err(run_err)?;
        let type_ids = ids.zeros_like().map_err(run_err)?;
        let hidden = self
            .model()?
            .forward(&ids, &type_ids, &mask)
            .map_err(run_err)?;
        let pooled = mean_pool(&hidden, &mask).map_err(run_err)?;
        let normalised = l2_normalise(&pooled).map_err(run_err)?;
        normalised.to_vec2::<f32>().map_err(run_err)
    }
}

/// Mean of the token vectors where the attention mask is 1: `hidden` is (rows, len, dim).
fn mean_pool(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
    let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
    summed.broadcast_div(&counts)
}

fn l2_normalise(v: &Tensor) -> candle_core::Result<Tensor> {
    let norm = v.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
    v.broadcast_div(&norm)
}

/// Cosine similarity of two L2-normalised vectors (their dot product).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
