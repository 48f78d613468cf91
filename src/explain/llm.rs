//! Text generators behind one small interface: a local quantized GGUF model in candle
//! (llama or qwen2 architecture, tokenizer built from the GGUF's own metadata, ChatML, greedy decoding,
//! token budget, timeout, cancellation, streaming), and an OpenAI-compatible HTTP endpoint.
//! llm-chain is not used (README, "Why no llm-chain"): this and prompt.rs are the whole chain.

use std::path::Path;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use anyhow::{Context, Result, bail};
use candle_core::quantized::gguf_file;
use candle_core::quantized::tokenizer::TokenizerFromGguf;
use candle_core::{Device, Tensor};
use candle_transformers::generation::LogitsProcessor;
use candle_transformers::models::{quantized_llama, quantized_qwen2};

use super::prompt::Prompt;

/// Prompt tokens per forward pass while reading the prompt.
const PREFILL_CHUNK: usize = 64;

/// Limits for one generation.
pub struct Budget<'a> {
    pub max_tokens: usize,
    pub timeout: Duration,
    pub cancel: &'a CancellationToken,
}

#[derive(Debug, Clone)]
pub struct Output {
    pub text: String,
    pub tokens: usize,
    pub prompt_tokens: usize,
    pub first_token_seconds: f64,
    pub seconds: f64,
    /// Why it stopped: `end`, `budget`, `timeout`, `cancelled`.
    pub stop: &'static str,
}

pub trait Generator {
    /// `local:<file>` or `openai:<model>`.
    fn name(&self) -> String;
    /// Generate, calling `on_text` with each new piece as it is produced.
    fn generate(
        &mut self,
        prompt: &Prompt,
        budget: &Budget,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Output>;
}

/// The GGUF architectures candle runs for us; both take ChatML prompts.
enum Weights {
    /// SmolLM2 and other llama-architecture models.
    Llama(quantized_llama::ModelWeights),
    /// Qwen2 / Qwen2.5 models.
    Qwen2(quantized_qwen2::ModelWeights),
}

/// The GGUF's `general.architecture` (llama when absent), if candle runs it for us.
fn architecture(content: &gguf_file::Content) -> Result<String> {
    let arch = content
        .metadata
        .get("general.architecture")
        .and_then(|v| v.to_string().ok())
        .cloned()
        .unwrap_or_else(|| "llama".into());
    if !matches!(arch.as_str(), "llama" | "qwen2") {
        bail!("architecture {arch} is not supported (llama or qwen2)");
    }
    Ok(arch)
}

impl Weights {
    fn read(content: gguf_file::Content, file: &mut std::fs::File) -> Result<Weights> {
        let arch = architecture(&content)?;
        Ok(match arch.as_str() {
            "llama" => Weights::Llama(quantized_llama::ModelWeights::from_gguf(
                content,
                file,
                &Device::Cpu,
            )?),
            "qwen2" => Weights::Qwen2(quantized_qwen2::ModelWeights::from_gguf(
                content,
                file,
                &Device::Cpu,
            )?),
            other => bail!("architecture {other} is not supported (llama or qwen2)"),
        })
    }

    fn clear_kv_cache(&mut self) {
        match self {
            Weights::Llama(m) => m.clear_kv_cache(),
            Weights::Qwen2(m) => m.clear_kv_cache(),
        }
    }

    fn forward(&mut self, input: &Tensor, position: usize) -> candle_core::Result<Tensor> {
        match self {
            Weights::Llama(m) => m.forward(input, position),
            Weights::Qwen2(m) => m.forward(input, position),
        }
    }
}

pub struct LocalLlm {
    model: Weights,
    tokenizer: tokenizers::Tokenizer,
    end_of_turn: Option<u32>,
    name: String,
    pub load_seconds: f64,
}

impl LocalLlm {
    pub fn load(path: &Path) -> Result<LocalLlm> {
        let started = Instant::now();
        let mut file = std::fs::File::open(path)
            .with_context(|| format!("no local LLM at {} (run models/fetch)", path.display()))?;
        let content = gguf_file::Content::read(&mut file)
            .with_context(|| format!("{} is not a GGUF file", path.display()))?;
        architecture(&content).with_context(|| path.display().to_string())?;
        let tokenizer = tokenizers::Tokenizer::from_gguf(&content).with_context(|| {
            format!(
                "{}: no usable tokenizer in the GGUF metadata",
                path.display()
            )
        })?;
        let model = Weights::read(content, &mut file)
            .with_context(|| format!("{}: cannot load the model", path.display()))?;
        let end_of_turn = tokenizer
            .token_to_id("<|im_end|>")
            .or_else(|| tokenizer.token_to_id("<|endoftext|>"));
        Ok(LocalLlm {
            model,
            tokenizer,
            end_of_turn,
            name: format!(
                "local:{}",
                path.file_name()
                    .map_or("model".into(), |n| n.to_string_lossy())
            ),
            load_seconds: started.elapsed().as_secs_f64(),
        })
    }
}

impl Generator for LocalLlm {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn generate(
        &mut self,
        prompt: &Prompt,
        budget: &Budget,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Output> {
        let started = Instant::now();
        self.model.clear_kv_cache();
        let chatml = prompt.chatml();
        let prompt_ids = self
            .tokenizer
            .encode(chatml.as_str(), false)
            .map_err(|e| anyhow::anyhow!("tokenizer: {e}"))?
            .get_ids()
            .to_vec();
        let device = Device::Cpu;
        // Greedy: the same alert gives the same text.
        let mut sampler = LogitsProcessor::new(0, None, None);
        let mut generated: Vec<u32> = Vec::new();
        let mut shown = 0usize;
        let mut first_token_seconds = 0.0;
        // Prefill in chunks: candle's quantized matmuls are much faster on short inputs than on
        // one long one (measured: 1,846 tokens in one pass took 74 s on 2 cores).
        let (head, last) = prompt_ids.split_at(prompt_ids.len().saturating_sub(1));
        let mut position = 0usize;
        for chunk in head.chunks(PREFILL_CHUNK) {
            if budget.cancel.is_cancelled() || started.elapsed() > budget.timeout {
                break;
            }
            let input = Tensor::new(chunk, &device)?.unsqueeze(0)?;
            self.model.forward(&input, position)?;
            position += chunk.len();
        }
        let mut input = Tensor::new(last, &device)?.unsqueeze(0)?;
        let mut stop = "budget";
        while generated.len() < budget.max_tokens {
            if budget.cancel.is_cancelled() {
                stop = "cancelled";
                break;
            }
            if started.elapsed() > budget.timeout {
                stop = "timeout";
                break;
            }
            let logits = self.model.forward(&input, position)?.squeeze(0)?;
            position += input.dims2()?.1;
            let recent = &generated[generated.len().saturating_sub(64)..];
            let logits = candle_transformers::utils::apply_repeat_penalty(&logits, 1.15, recent)?;
            let next = sampler.sample(&logits)?;
            if generated.is_empty() {
                first_token_seconds = started.elapsed().as_secs_f64();
            }
            if Some(next) == self.end_of_turn {
                stop = "end";
                break;
            }
            generated.push(next);
            let text = self
                .tokenizer
                .decode(&generated, true)
                .map_err(|e| anyhow::anyhow!("tokenizer: {e}"))?;
            if text.len() > shown && text.is_char_boundary(shown) {
                on_text(&text[shown..]);
                shown = text.len();
            }
            input = Tensor::new(&[next], &device)?.unsqueeze(0)?;
        }
        let text = self
            .tokenizer
            .decode(&generated, true)
            .map_err(|e| anyhow::anyhow!("tokenizer: {e}"))?;
        Ok(Output {
            text,
            prompt_tokens: prompt_ids.len(),
            tokens: generated.len(),
            first_token_seconds,
            seconds: started.elapsed().as_secs_f64(),
            stop,
        })
    }
}

/// An OpenAI-compatible chat-completions endpoint (llama.cpp server, Ollama, vLLM, hosted).
pub struct OpenAiCompatible {
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
}

impl Generator for OpenAiCompatible {
    fn name(&self) -> String {
        format!("openai:{}", self.model)
    }

    fn generate(
        &mut self,
        prompt: &Prompt,
        budget: &Budget,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Output> {
        let started = Instant::now();
        if budget.cancel.is_cancelled() {
            bail!("cancelled");
        }
        let client = reqwest::blocking::Client::builder()
            .timeout(budget.timeout)
            .build()?;
        let url = format!("{}/chat/completions", self.base_url.trim_end_matches('/'));
        let mut request = client.post(&url).json(&serde_json::json!({
            "model": self.model,
            "messages": [
                {"role": "system", "content": prompt.system},
                {"role": "user", "content": prompt.user},
            ],
            "max_tokens": budget.max_tokens,
            "temperature": 0.0,
            "stream": false,
        }));
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().with_context(|| format!("POST {url}"))?;
        let status = response.status();
        if !status.is_success() {
            bail!("POST {url}: HTTP {status}");
        }
        let body: serde_json::Value = response.json().context("response is not JSON")?;
        let text = body["choices"][0]["message"]["content"]
            .as_str()
            .context("response has no choices[0].message.content")?
            .to_string();
        let tokens = body["usage"]["completion_tokens"]
            .as_u64()
            .map_or_else(|| text.split_whitespace().count(), |n| n as usize);
        on_text(&text);
        let seconds = started.elapsed().as_secs_f64();
        Ok(Output {
            text,
            prompt_tokens: body["usage"]["prompt_tokens"].as_u64().unwrap_or(0) as usize,
            tokens,
            first_token_seconds: seconds,
            seconds,
            stop: "end",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::quantized::gguf_file::Value;

    fn gguf_with(arch: Option<&str>) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        let value = arch.map(|a| Value::String(a.into()));
        let metadata: Vec<(&str, &Value)> =
            value.iter().map(|v| ("general.architecture", v)).collect();
        gguf_file::write(&mut file.reopen().expect("reopen"), &metadata, &[]).expect("write");
        file
    }

    #[test]
    fn unsupported_architectures_are_named_before_anything_is_read() {
        let e = LocalLlm::load(gguf_with(Some("gemma3")).path())
            .err()
            .expect("gemma3 is not run");
        assert!(
            format!("{e:#}").contains("architecture gemma3 is not supported (llama or qwen2)"),
            "{e:#}"
        );
        // llama and qwen2 pass the check and fail later, on the missing tokenizer.
        for arch in [Some("qwen2"), Some("llama"), None] {
            let e = LocalLlm::load(gguf_with(arch).path())
                .err()
                .expect("no tokenizer");
            assert!(format!("{e:#}").contains("no usable tokenizer"), "{e:#}");
        }
    }
}
