//! `[api]`: the HTTP API's listen address, tokens and scopes, and limits.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    pub listen: String,
    pub token_file: String,
    pub scopes: Vec<Scope>,
    /// Further tokens (`[[api.tokens]]`), each with its own file and scopes.
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
    pub allowed_hosts: Vec<String>,
    pub max_body_bytes: usize,
    pub requests_per_second: u32,
    pub burst: u32,
    pub request_timeout_secs: u64,
    pub max_concurrent_ingest: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Recorded as the actor of its decisions (`api:NAME`).
    pub name: String,
    pub token_file: String,
    pub scopes: Vec<Scope>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Ingest,
    Read,
    Approve,
}
