//! Settings: embedded TOML defaults patched by the user's file; unknown keys are errors.

use std::path::{Path, PathBuf};

pub mod api;
pub mod bus;
mod detect;
mod explain;
mod intel;
mod respond;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

pub use detect::{DetectConfig, Network};
pub use explain::{ExplainBackend, ExplainConfig};
pub use intel::{IntelConfig, Ranking, resolve_model_path};
pub use respond::{ExecutionMode, ExecutorConfig, RespondConfig, Rule};

/// The shipped defaults, embedded so the binary works with no files around it.
pub const DEFAULTS: &str = include_str!("defaults.toml");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub privacy: PrivacyConfig,
    pub storage: StorageConfig,
    pub ingest: IngestConfig,
    pub detect: DetectConfig,
    pub intel: IntelConfig,
    pub respond: RespondConfig,
    pub explain: ExplainConfig,
    pub ui: UiConfig,
    pub api: api::ApiConfig,
    #[serde(default)]
    pub engine: bus::EngineConfig,
    #[serde(default)]
    pub output: bus::OutputConfig,
    /// Where the vault and audit keys live instead of the config dir (the demo keeps its
    /// throwaway keys in its temporary dir). Not a file setting.
    #[serde(skip)]
    pub key_dir: Option<PathBuf>,
}

/// The console's settings (`[ui]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiConfig {
    /// A theme under themes/ (`dark`, `light`, `high-contrast`, `16-colour`) or one of the
    /// user's in `<config dir>/themes/NAME.toml`.
    pub theme: String,
    /// `default` or `vim`; `<config dir>/keymap.toml` patches it.
    pub keymap: String,
    /// Lines the log stream keeps (a ring buffer: memory stays bounded whatever the rate).
    pub stream_lines: usize,
    /// Most frames drawn per second (redraws are coalesced).
    pub max_fps: u32,
    /// Events per second the demo replays at `--speed 1`.
    pub demo_events_per_sec: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    pub enabled: bool,
    pub keep_accounts: Vec<String>,
    pub key_file: String,
    pub cache_entries: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    pub cache_mb: u64,
    /// Events per chunk for a one-off `ingest` (throughput first).
    pub chunk_events: usize,
    /// Events per chunk while following sources (console, `serve`, `ingest --follow`):
    /// smaller chunks keep a long-running process's memory level (see defaults.toml).
    pub follow_chunk_events: usize,
}

impl StorageConfig {
    /// Events per chunk for a process that follows its sources (or not); at least 16.
    pub fn chunk_events_for(&self, follow: bool) -> usize {
        let n = if follow {
            self.follow_chunk_events
        } else {
            self.chunk_events
        };
        n.max(16)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    pub max_line_bytes: usize,
    /// Events dated more than this far ahead of this machine's clock are rejected as
    /// `bad_timestamp` (a future-dated event would keep an alert "fresh" forever).
    #[serde(default = "default_future_skew")]
    pub max_future_skew_hours: u64,
    /// A compressed file stops being read past this many MiB inflated (reported as that
    /// file's error; what was read before is kept).
    #[serde(default = "default_max_inflated")]
    pub max_inflated_mb: u64,
    pub workers: usize,
    pub follow_poll_ms: u64,
    /// The zone of timestamps written without one (CSV and JSON lines): `UTC` or an offset
    /// such as `-03:00`. `autosec ingest --timezone` sets it for one run.
    #[serde(default = "utc")]
    pub timezone: String,
    /// What the console (and `serve`) follow when no paths are given.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// JetStream streams consumed by `serve` and the console (`[[ingest.nats]]`).
    #[serde(default)]
    pub nats: Vec<bus::NatsSource>,
    pub mapping: FieldMapping,
}

/// One configured source (`[[ingest.sources]]`): a file, a directory or a glob, followed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub path: String,
    /// `auto` (default), `cloudtrail`, `syslog`, `jsonl` or `csv`.
    #[serde(default = "auto_format")]
    pub format: String,
    /// The zone of this source's timestamps written without one (see `ingest.timezone`).
    #[serde(default)]
    pub timezone: Option<String>,
}

impl IngestConfig {
    /// The zone naive timestamps are read in (None: UTC).
    pub fn naive_zone(&self) -> Result<Option<chrono::FixedOffset>> {
        parse_zone(&self.timezone)
    }
}

/// `UTC`/`Z` or a fixed offset (`+03:00`, `-0300`).
pub fn parse_zone(text: &str) -> Result<Option<chrono::FixedOffset>> {
    let t = text.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("utc") || t == "Z" {
        return Ok(None);
    }
    let probe = format!("2000-01-01T00:00:00{t}");
    chrono::DateTime::parse_from_str(&probe, "%Y-%m-%dT%H:%M:%S%z")
        .map(|d| Some(*d.offset()))
        .map_err(|_| {
            anyhow::anyhow!(
                "timezone {t:?}: use UTC or a fixed offset such as -03:00 (named zones are not read)"
            )
        })
}

fn utc() -> String {
    "UTC".into()
}

fn default_max_inflated() -> u64 {
    4096
}

fn default_future_skew() -> u64 {
    24
}

fn auto_format() -> String {
    "auto".into()
}

/// Candidate field names per schema field, tried in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    pub timestamp: Vec<String>,
    pub source_ip: Vec<String>,
    pub user: Vec<String>,
    pub action: Vec<String>,
    pub resource: Vec<String>,
    pub status: Vec<String>,
}

impl Config {
    /// The embedded defaults alone.
    pub fn defaults() -> Result<Config> {
        toml::from_str(DEFAULTS).context("embedded defaults.toml is invalid")
    }

    /// Defaults patched by `user_toml` (a partial file); `origin` names it in errors.
    pub fn from_patch(user_toml: &str, origin: &str) -> Result<Config> {
        let mut base: toml::Table = toml::from_str(DEFAULTS).context("embedded defaults.toml")?;
        let patch: toml::Table = toml::from_str(user_toml)
            .map_err(|e| anyhow::anyhow!("{origin}: {}", e.to_string().trim_end()))?;
        merge(&mut base, patch);
        let merged = toml::to_string(&base)?;
        let config = toml::from_str::<Config>(&merged)
            .map_err(|e| anyhow::anyhow!("{origin}: {}", locate(user_toml, &merged, &e)))?;
        config
            .ingest
            .naive_zone()
            .with_context(|| format!("{origin}: ingest.timezone"))?;
        for s in &config.ingest.sources {
            if let Some(zone) = &s.timezone {
                parse_zone(zone)
                    .with_context(|| format!("{origin}: [[ingest.sources]] {}", s.path))?;
            }
        }
        Ok(config)
    }

    /// Load: `--config FILE` if given (must exist), else `config.toml` in the config dir if present.
    pub fn load(explicit: Option<&Path>) -> Result<Config> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => Some(config_dir()?.join("config.toml")).filter(|p| p.exists()),
        };
        match path {
            Some(p) => {
                let text = std::fs::read_to_string(&p)
                    .with_context(|| format!("cannot read config file {}", p.display()))?;
                Config::from_patch(&text, &p.display().to_string())
            }
            None => Config::defaults(),
        }
    }

    /// The audit chain's MAC key: `audit.key` in the config dir (outside the data dir, so
    /// whoever can edit the store cannot re-sign the chain).
    pub fn audit_key_file(&self) -> Result<PathBuf> {
        match &self.key_dir {
            Some(dir) => Ok(dir.join("audit.key")),
            None => Ok(config_dir()?.join("audit.key")),
        }
    }

    /// The vault key path: `privacy.key_file`, or `vault.key` in the config dir.
    pub fn key_file(&self) -> Result<PathBuf> {
        if let Some(dir) = &self.key_dir {
            Ok(dir.join("vault.key"))
        } else if self.privacy.key_file.is_empty() {
            Ok(config_dir()?.join("vault.key"))
        } else {
            Ok(PathBuf::from(&self.privacy.key_file))
        }
    }
}

/// Rewrite an error found in the merged config so it points at the user's file: the section
/// and key come from the merged text, the line number from the user's text.
fn locate(user_toml: &str, merged: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim().to_string();
    let Some(span) = err.span() else {
        return message;
    };
    let line_start = merged[..span.start.min(merged.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = merged[line_start..].lines().next().unwrap_or("");
    let key = line.split('=').next().unwrap_or("").trim().to_string();
    let section = merged[..line_start]
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('['))
        .map(|l| l.trim().trim_matches(['[', ']']).trim().to_string())
        .unwrap_or_default();
    let mut current = String::new();
    let mut fallback = None;
    for (n, l) in user_toml.lines().enumerate() {
        let t = l.trim();
        if t.starts_with('[') {
            current = t.trim_matches(['[', ']']).trim().to_string();
            continue;
        }
        let k = t.split('=').next().unwrap_or("").trim();
        if !key.is_empty() && k == key {
            if current == section {
                return format!("line {}: `{section}.{key}`: {message}", n + 1);
            }
            fallback.get_or_insert(n + 1);
        }
    }
    match fallback {
        Some(n) => format!("line {n}: `{key}`: {message}"),
        None if key.is_empty() => message,
        None => format!("`{section}.{key}`: {message}"),
    }
}

/// Deep-merge `patch` into `base`: tables merge key by key, everything else replaces.
fn merge(base: &mut toml::Table, patch: toml::Table) {
    for (key, value) in patch {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(p)) => merge(b, p),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}

/// The config dir: `$AUTOSEC_CONFIG_DIR`, else the platform's (e.g. `~/.config/autosec`).
pub fn config_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("AUTOSEC_CONFIG_DIR") {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("dev", "autosec", "autosec")
        .map(|d| d.config_dir().to_path_buf())
        .context("cannot determine a config directory (no home directory?); set AUTOSEC_CONFIG_DIR")
}

/// The default data dir: `$AUTOSEC_DATA_DIR`, else the platform's (e.g. `~/.local/share/autosec`).
pub fn default_data_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("AUTOSEC_DATA_DIR") {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("dev", "autosec", "autosec")
        .map(|d| d.data_dir().to_path_buf())
        .context("cannot determine a data directory (no home directory?); use --data-dir")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse() {
        let c = Config::defaults().unwrap();
        assert!(c.privacy.enabled);
        assert_eq!(c.storage.chunk_events, 512);
        assert_eq!(c.storage.follow_chunk_events, 128);
    }

    #[test]
    fn partial_patch_overrides_one_key() {
        let c = Config::from_patch("[storage]\ncache_mb = 8\n", "test.toml").unwrap();
        assert_eq!(c.storage.cache_mb, 8);
        assert_eq!(c.storage.chunk_events, 512);
        assert!(c.privacy.enabled);
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let err = Config::from_patch("[privacy]\nenabled = true\ncolour = 3\n", "my.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("my.toml"), "{err}");
        assert!(err.contains("colour"), "{err}");
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn bad_type_is_an_error() {
        let err = Config::from_patch("[storage]\ncache_mb = \"big\"\n", "my.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("cache_mb") || err.contains("line 2"), "{err}");
    }
}

#[cfg(test)]
mod locate_tests {
    use super::*;

    #[test]
    fn repeated_key_names_resolve_to_the_right_section() {
        let user =
            "[detect.brute_force]\nmin_failures = 5\n\n[detect.sudo]\nmin_failures = \"many\"\n";
        let err = Config::from_patch(user, "u.toml").unwrap_err().to_string();
        assert!(err.contains("line 5"), "{err}");
        assert!(err.contains("detect.sudo.min_failures"), "{err}");
    }
}
