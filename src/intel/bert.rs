//! The embedding model's BERT forward pass with the word-piece table left on disk.
//!
//! candle's `BertModel` keeps every word-piece vector in memory: 30,522 × 384 floats, 47 MB,
//! half of all-MiniLM-L6-v2, while an alert query reads ~30 of them and a corpus batch a few
//! thousand. Here the rows a batch needs are read from the weights file (one read each, far
//! below the cost of the forward pass), and the rest is candle's own layers and encoder applied
//! in `BertModel::forward`'s order, so the vectors are the same to the bit (tested against it).

use std::path::Path;

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Embedding, LayerNorm, VarBuilder, embedding, layer_norm};
use candle_transformers::models::bert::{BertEncoder, Config};

use super::weights::LazySafetensors;

pub struct LeanBert {
    /// The weights file, for the word-piece rows.
    file: LazySafetensors,
    word_table: String,
    width: usize,
    positions: Embedding,
    token_types: Embedding,
    norm: LayerNorm,
    encoder: BertEncoder,
}

impl LeanBert {
    /// Everything but the word-piece table, read from `path` (a BERT safetensors file with or
    /// without the `bert.` prefix, as `BertModel::load` accepts).
    pub fn load(path: &Path, config: &Config, device: &Device) -> Result<LeanBert> {
        let file = LazySafetensors::open(path)?;
        let prefix = if file.contains_tensor("bert.embeddings.word_embeddings.weight") {
            "bert."
        } else {
            ""
        };
        let word_table = format!("{prefix}embeddings.word_embeddings.weight");
        let (rows, width) = file.table_shape(&word_table)?;
        if rows != config.vocab_size || width != config.hidden_size {
            candle_core::bail!(
                "{word_table}: {rows}x{width}, config says {}x{}",
                config.vocab_size,
                config.hidden_size
            );
        }
        let vb = VarBuilder::from_backend(
            Box::new(LazySafetensors::open(path)?),
            DType::F32,
            device.clone(),
        );
        let vb = if prefix.is_empty() { vb } else { vb.pp("bert") };
        let e = vb.pp("embeddings");
        Ok(LeanBert {
            positions: embedding(
                config.max_position_embeddings,
                width,
                e.pp("position_embeddings"),
            )?,
            token_types: embedding(config.type_vocab_size, width, e.pp("token_type_embeddings"))?,
            norm: layer_norm(width, config.layer_norm_eps, e.pp("LayerNorm"))?,
            encoder: BertEncoder::load(vb.pp("encoder"), config)?,
            file,
            word_table,
            width,
        })
    }

    /// Hidden states (rows, len, width) for token `ids` (rows, len), as `BertModel::forward`.
    pub fn forward(&self, ids: &Tensor, type_ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let (rows, len) = ids.dims2()?;
        let flat = ids.flatten_all()?.to_vec1::<u32>()?;
        let words = Tensor::from_vec(
            self.file.read_rows(&self.word_table, &flat)?,
            (rows, len, self.width),
            ids.device(),
        )?;
        let mut x = (&words + self.token_types.forward(type_ids)?)?;
        let positions: Vec<u32> = (0..len as u32).collect();
        let positions = Tensor::new(positions.as_slice(), ids.device())?;
        x = x.broadcast_add(&self.positions.forward(&positions)?)?;
        let x = self.norm.forward(&x)?;
        self.encoder.forward(&x, &extended_mask(mask, x.dtype())?)
    }
}

/// 0 where the mask is 1 and the dtype's minimum where it is 0, shaped (rows, 1, 1, len): the
/// additive attention mask `BertModel` builds.
fn extended_mask(mask: &Tensor, dtype: DType) -> Result<Tensor> {
    let mask = mask.unsqueeze(1)?.unsqueeze(1)?.to_dtype(dtype)?;
    (mask.ones_like()? - &mask)?.broadcast_mul(
        &Tensor::try_from(f32::MIN)?
            .to_device(mask.device())?
            .to_dtype(dtype)?,
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use candle_transformers::models::bert::BertModel;

    use super::*;

    fn tiny_config() -> Config {
        serde_json::from_value(serde_json::json!({
            "vocab_size": 40, "hidden_size": 8, "num_hidden_layers": 2,
            "num_attention_heads": 2, "intermediate_size": 16, "hidden_act": "gelu",
            "hidden_dropout_prob": 0.0, "max_position_embeddings": 16, "type_vocab_size": 2,
            "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
            "model_type": "bert"
        }))
        .expect("config")
    }

    /// A random tiny BERT written as safetensors, with `prefix` on every name.
    fn write_random_model(path: &Path, config: &Config, prefix: &str) {
        let dev = Device::Cpu;
        let map = candle_nn::VarMap::new();
        let vb = VarBuilder::from_varmap(&map, DType::F32, &dev);
        let vb = if prefix.is_empty() { vb } else { vb.pp("bert") };
        // Loading through a VarMap builder creates every tensor BertModel needs, randomly.
        BertModel::load(vb, config).expect("random model");
        let tensors: HashMap<String, Tensor> = map
            .data()
            .lock()
            .expect("varmap")
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect();
        candle_core::safetensors::save(&tensors, path).expect("save");
    }

    #[test]
    fn hidden_states_equal_candles_bert_model_bit_for_bit() {
        let config = tiny_config();
        let dev = Device::Cpu;
        for prefix in ["", "bert."] {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("model.safetensors");
            write_random_model(&path, &config, prefix);
            let whole = BertModel::load(
                VarBuilder::from_backend(
                    Box::new(LazySafetensors::open(&path).expect("open")),
                    DType::F32,
                    dev.clone(),
                ),
                &config,
            )
            .expect("whole model");
            let lean = LeanBert::load(&path, &config, &dev).expect("lean model");
            let ids = Tensor::new(&[[1u32, 7, 39, 0, 0], [2, 3, 5, 8, 13]], &dev).expect("ids");
            let mask = Tensor::new(&[[1u32, 1, 1, 0, 0], [1, 1, 1, 1, 1]], &dev).expect("mask");
            let types = ids.zeros_like().expect("types");
            let want = whole.forward(&ids, &types, Some(&mask)).expect("whole");
            let got = lean.forward(&ids, &types, &mask).expect("lean");
            let bits = |t: &Tensor| -> Vec<u32> {
                let v: Vec<f32> = t.flatten_all().and_then(|t| t.to_vec1()).expect("vec");
                v.iter().map(|f| f.to_bits()).collect()
            };
            assert_eq!(bits(&got), bits(&want), "prefix {prefix:?}");

            let out_of_vocabulary = Tensor::new(&[[40u32]], &dev).expect("ids");
            let one = Tensor::new(&[[1u32]], &dev).expect("mask");
            let err = lean
                .forward(
                    &out_of_vocabulary,
                    &out_of_vocabulary.zeros_like().expect("t"),
                    &one,
                )
                .expect_err("a token past the vocabulary is an error");
            assert!(err.to_string().contains("row 40 of 40"), "{err}");
        }
    }
}
