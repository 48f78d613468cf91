//! `autosec eval rag QUERIES`: hit@1, hit@3 and MRR of technique retrieval against a JSON-lines
//! file of `{"query": "…", "expected": ["T1110.001", …]}` (a hit is any expected ID).

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::config::Ranking;
use crate::intel::doc::DocKind;
use crate::intel::rule_passages::RuleNote;
use crate::intel::{Intel, SearchOptions};

/// Depth searched per query; MRR counts a first hit within it.
const DEPTH: usize = 10;

#[derive(Debug, Clone, Deserialize)]
pub struct Query {
    pub query: String,
    pub expected: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ModeReport {
    pub ranking: Ranking,
    /// Queries scored: those whose expected techniques exist in the corpus.
    pub queries: usize,
    /// Queries left out because no expected technique (nor its family) is in the corpus
    /// (rules tagged with techniques newer than the imported ATT&CK release).
    pub unanswerable: usize,
    pub hit_at_1: f64,
    pub hit_at_3: f64,
    /// A hit on the expected technique's family (its parent or a sibling sub-technique) in
    /// the top 3: right behaviour, another level of detail.
    pub family_hit_at_3: f64,
    pub mrr: f64,
    /// Queries with no expected ID in the top 3.
    pub misses: Vec<Miss>,
}

#[derive(Debug, Serialize)]
pub struct Miss {
    pub query: String,
    pub expected: Vec<String>,
    pub got: Vec<String>,
    /// 1-based rank of the first expected ID within the top 10, if any.
    pub rank: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct RagReport {
    pub documents: usize,
    pub techniques: usize,
    pub model: String,
    pub modes: Vec<ModeReport>,
}

pub fn load_queries(path: &Path) -> Result<Vec<Query>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read queries file {}", path.display()))?;
    let (queries, errors) = crate::intel::corpus::parse_lines::<Query>(&text);
    if let Some((line, e)) = errors.first() {
        bail!("{}:{line}: not a query line: {e}", path.display());
    }
    if queries.is_empty() {
        bail!("{}: no queries", path.display());
    }
    Ok(queries)
}

/// Queries from the Sigma rules under `path` (a folder, searched recursively, or one file): a
/// rule's title and description, expecting its technique tags. Files that are not tagged rules
/// are counted, not fatal.
pub fn sigma_queries(path: &Path) -> Result<(Vec<Query>, usize)> {
    let mut skipped = 0;
    let mut queries = Vec::new();
    for (_, text) in crate::detect::rules::rule_texts(path) {
        match text.ok().and_then(|text| RuleNote::parse(&text)) {
            Some(note) => queries.push(Query {
                query: format!("{} {}", note.title, note.description),
                expected: note.techniques,
            }),
            None => skipped += 1,
        }
    }
    if queries.is_empty() {
        bail!(
            "{}: no Sigma rule with an ATT&CK technique tag",
            path.display()
        );
    }
    Ok((queries, skipped))
}

/// Score `rankings` (those the model allows) on `queries`.
pub fn run(intel: &Intel, queries: &[Query], rankings: &[Ranking]) -> Result<RagReport> {
    let family = |id: &str| crate::intel::doc::technique_family(id).to_ascii_uppercase();
    let known: std::collections::HashSet<String> = intel
        .docs()
        .iter()
        .filter(|d| d.kind == DocKind::Technique)
        .map(|d| family(&d.id))
        .collect();
    let (queries, unanswerable): (Vec<&Query>, Vec<&Query>) = queries
        .iter()
        .partition(|q| q.expected.iter().any(|e| known.contains(&family(e))));
    if queries.is_empty() {
        bail!("no query expects a technique the corpus holds");
    }
    let mut modes = Vec::new();
    for &ranking in rankings {
        if intel.effective_ranking(Some(ranking)) != ranking {
            continue;
        }
        let (mut h1, mut h3, mut f3, mut rr) = (0usize, 0usize, 0usize, 0.0f64);
        let mut misses = Vec::new();
        for q in &queries {
            let outcome = intel.search(
                &q.query,
                &SearchOptions {
                    k: DEPTH,
                    ranking: Some(ranking),
                    kind: Some(DocKind::Technique),
                },
            )?;
            let ids: Vec<String> = outcome.hits.into_iter().map(|h| h.id).collect();
            let rank = ids
                .iter()
                .position(|id| q.expected.iter().any(|e| e.eq_ignore_ascii_case(id)))
                .map(|p| p + 1);
            if rank == Some(1) {
                h1 += 1;
            }
            if ids
                .iter()
                .take(3)
                .any(|id| q.expected.iter().any(|e| family(e) == family(id)))
            {
                f3 += 1;
            }
            if rank.is_some_and(|r| r <= 3) {
                h3 += 1;
            } else {
                misses.push(Miss {
                    query: q.query.clone(),
                    expected: q.expected.clone(),
                    got: ids.iter().take(3).cloned().collect(),
                    rank,
                });
            }
            rr += rank.map_or(0.0, |r| 1.0 / r as f64);
        }
        let n = queries.len() as f64;
        modes.push(ModeReport {
            ranking,
            queries: queries.len(),
            unanswerable: unanswerable.len(),
            hit_at_1: h1 as f64 / n,
            hit_at_3: h3 as f64 / n,
            family_hit_at_3: f3 as f64 / n,
            mrr: rr / n,
            misses,
        });
    }
    let model = match intel.model() {
        crate::intel::ModelState::Ready(e) => e.model_id().to_string(),
        crate::intel::ModelState::Unavailable(reason) => format!("none ({reason})"),
    };
    Ok(RagReport {
        documents: intel.docs().len(),
        techniques: {
            let mut ids: Vec<&str> = intel
                .docs()
                .iter()
                .filter(|d| d.kind == DocKind::Technique)
                .map(|d| d.id.as_str())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids.len()
        },
        model,
        modes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigma_rules_become_queries_and_other_files_are_counted() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("cloud")).expect("mkdir");
        std::fs::write(
            dir.path().join("cloud/guardrail.yml"),
            "title: Guardrail Removed\ndescription: |\n  A model guardrail\n  was deleted.\ndetection:\n  sel:\n    eventName: DeleteGuardrail\n  condition: sel\ntags:\n  - attack.defense-evasion\n  - attack.t1562.001\n",
        )
        .expect("write");
        std::fs::write(
            dir.path().join("untagged.yaml"),
            "title: x\ndetection: {}\n",
        )
        .expect("write");
        std::fs::write(dir.path().join("bad.yml"), b"title: [\xff").expect("write");
        let (queries, skipped) = sigma_queries(dir.path()).expect("queries");
        assert_eq!(queries.len(), 1);
        assert_eq!(
            queries[0].query,
            "Guardrail Removed A model guardrail was deleted."
        );
        assert_eq!(queries[0].expected, ["T1562.001"]);
        assert_eq!(skipped, 2);
        let empty = tempfile::tempdir().expect("tempdir");
        assert!(sigma_queries(empty.path()).is_err());
    }
}
