//! `[explain]`: which backend writes the generated paragraph (README, "Explanations").

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExplainBackend {
    /// The local model when it is installed, else the template alone.
    Auto,
    Template,
    Local,
    Openai,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainConfig {
    pub backend: ExplainBackend,
    /// GGUF file (llama architecture, e.g. SmolLM2); resolved like `intel.model_dir`.
    pub model: String,
    pub max_tokens: usize,
    pub timeout_secs: u64,
    /// OpenAI-compatible endpoint, e.g. `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    pub api_model: String,
    /// Environment variable holding the API key (never stored in the config).
    pub api_key_env: String,
}
