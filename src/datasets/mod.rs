//! TEMPORARY compile placeholder, replaced by the real generator before commit.
use chrono::{DateTime, Utc};
use std::path::PathBuf;
pub struct GenerateOptions {
    pub out: PathBuf,
    pub events: u64,
    pub seed: u64,
    pub start: DateTime<Utc>,
    pub days: u32,
    pub attacks_per_scenario: u32,
    pub benign_only: bool,
}
pub struct GenerateSummary {
    pub files: Vec<(PathBuf, u64)>,
    pub events: u64,
    pub attack_events: u64,
    pub labels: u64,
    pub bytes: u64,
}
pub fn generate(_opts: &GenerateOptions) -> anyhow::Result<GenerateSummary> {
    anyhow::bail!("placeholder")
}
