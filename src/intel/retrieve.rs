//! Ranking: BM25, vector similarity (HNSW snapshot + exact scan of newer passages) or both
//! blended, with exact ID mentions boosted; and retrieval for alerts, whose queries are built
//! from the alert's own (pseudonymised) fields with identifiers stripped.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::doc::{DocKind, is_technique_id};
use super::index::{self, PassageKey};
use super::{Intel, IntelError};
use crate::config::Ranking;
use crate::domain::{Alert, AlertIntel, IntelMatch};

/// Lexical and vector candidates considered before fusion.
const CANDIDATES: usize = 100;
/// Added to a document whose ID the query names (`T1098.004`, `CVE-2024-6387`).
const ID_BOOST: f32 = 1.0;

#[derive(Debug, Clone)]
pub struct SearchOptions {
    pub k: usize,
    /// None: the configured ranking.
    pub ranking: Option<Ranking>,
    pub kind: Option<DocKind>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub id: String,
    pub kind: DocKind,
    pub title: String,
    pub source: String,
    pub score: f32,
    /// Best cosine similarity of the query to one of the document's passages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector: Option<f32>,
    /// BM25 score divided by the best BM25 score of this query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lexical: Option<f32>,
    pub id_match: bool,
    pub tactics: Vec<String>,
    pub techniques: Vec<String>,
    pub summary: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchOutcome {
    pub ranking: Ranking,
    /// Why the ranking is not the configured one (no model …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    pub hits: Vec<Hit>,
}

#[derive(Default, Clone, Copy)]
struct Candidate {
    vector: Option<f32>,
    bm25: Option<f32>,
}

static QUERY_IDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(T\d{4}(?:\.\d{3})?|CVE-\d{4}-\d{4,7}|INC-\d{4}-\d{3,})\b").expect("ids")
});

/// IDs the query names, upper-cased.
fn query_ids(query: &str) -> HashSet<String> {
    QUERY_IDS
        .find_iter(query)
        .map(|m| m.as_str().to_ascii_uppercase())
        .collect()
}

impl Intel {
    /// Rank the corpus for `query`.
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<SearchOutcome, IntelError> {
        let mut ranking = self.effective_ranking(opts.ranking);
        let mut fallback = match &self.model {
            super::ModelState::Unavailable(reason) => Some(format!(
                "lexical fallback (BM25): no embedding model ({reason})"
            )),
            super::ModelState::Ready(_) => None,
        };
        // Weights that cannot be read (they are read on first use) leave lexical ranking.
        let vector = match self
            .model
            .embedder()
            .filter(|_| ranking != Ranking::Lexical)
        {
            Some(embedder) => match self.query_vector(embedder, query) {
                Ok(q) => Some(q),
                Err(e @ super::embed::EmbedError::Load { .. }) => {
                    fallback = Some(format!("lexical fallback (BM25): {e}"));
                    ranking = Ranking::Lexical;
                    None
                }
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        let mut candidates: HashMap<usize, Candidate> = HashMap::new();
        if ranking != Ranking::Vector {
            for (doc, score) in self.lexical.search(query, CANDIDATES) {
                candidates.entry(doc).or_default().bm25 = Some(score);
            }
        }
        if let Some(q) = vector {
            for (key, sim) in self.nearest_passages(&q, CANDIDATES) {
                for &doc in self.passage_docs.get(&key).into_iter().flatten() {
                    let c = candidates.entry(doc as usize).or_default();
                    c.vector = Some(c.vector.map_or(sim, |v| v.max(sim)));
                }
            }
            // Lexical candidates the vector search did not reach get their exact similarity.
            for (&doc, c) in candidates.iter_mut() {
                if c.vector.is_none() {
                    c.vector = self.doc_similarity(doc, &q);
                }
            }
        }
        let best_bm25 = candidates
            .values()
            .filter_map(|c| c.bm25)
            .fold(0.0f32, f32::max);
        let ids = query_ids(query);
        let weight = self.config.vector_weight.clamp(0.0, 1.0);
        let mut scored: Vec<Hit> = candidates
            .into_iter()
            .filter(|(doc, _)| opts.kind.is_none_or(|k| self.docs[*doc].kind == k))
            .map(|(doc, c)| {
                let d = &self.docs[doc];
                let lexical = c
                    .bm25
                    .map(|s| if best_bm25 > 0.0 { s / best_bm25 } else { 0.0 });
                let base = match ranking {
                    Ranking::Lexical => lexical.unwrap_or(0.0),
                    Ranking::Vector => c.vector.unwrap_or(0.0),
                    Ranking::Hybrid => {
                        weight * c.vector.unwrap_or(0.0) + (1.0 - weight) * lexical.unwrap_or(0.0)
                    }
                };
                let id_match = ids.contains(&d.id.to_ascii_uppercase());
                Hit {
                    id: d.id.clone(),
                    kind: d.kind,
                    title: d.title.clone(),
                    source: d.source.clone(),
                    score: base + if id_match { ID_BOOST } else { 0.0 },
                    vector: c.vector,
                    lexical,
                    id_match,
                    tactics: d.tactics.clone(),
                    techniques: d.techniques.clone(),
                    summary: summary_of(d.summary()),
                }
            })
            .collect();
        scored.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        // The same ID from two sources (bundled and imported ATT&CK): keep the better one.
        let mut seen = HashSet::new();
        scored.retain(|h| seen.insert(h.id.clone()));
        if self.config.family_cap > 0 {
            spread_families(&mut scored, self.config.family_cap);
        }
        scored.truncate(opts.k);
        Ok(SearchOutcome {
            ranking,
            fallback,
            hits: scored,
        })
    }

    /// Nearest passages: the HNSW snapshot's answer merged with an exact scan of passages
    /// embedded after it was built; passages no live document uses are dropped.
    pub fn nearest_passages(&self, query: &[f32], n: usize) -> Vec<(PassageKey, f32)> {
        let guard = self.built.read().unwrap_or_else(|p| p.into_inner());
        let mut found = match guard.as_ref() {
            Some(built) => {
                let mut found = built.snapshot.search(query, n);
                let tail = built
                    .tail
                    .iter()
                    .filter_map(|k| self.vectors.get(k).map(|v| (k, v.as_slice())));
                found.extend(index::exact(query, tail, n));
                found
            }
            None => index::exact(
                query,
                self.vectors.iter().map(|(k, v)| (k, v.as_slice())),
                n,
            ),
        };
        found.retain(|(k, _)| self.passage_docs.contains_key(k));
        found.sort_by(|a, b| b.1.total_cmp(&a.1));
        found.truncate(n);
        found
    }

    /// Exact top-`n` passages over every vector (the ground truth for HNSW recall).
    pub fn exact_passages(&self, query: &[f32], n: usize) -> Vec<(PassageKey, f32)> {
        index::exact(
            query,
            self.vectors.iter().map(|(k, v)| (k, v.as_slice())),
            n,
        )
    }

    fn doc_similarity(&self, doc: usize, query: &[f32]) -> Option<f32> {
        self.doc_passages[doc]
            .iter()
            .filter_map(|k| self.vectors.get(k))
            .map(|v| super::embed::dot(query, v))
            .reduce(f32::max)
    }

    /// Techniques, incidents and CVEs for an alert; the query never contains raw PII. One
    /// ranking over every kind, so scores compare: up to `k` techniques, 2 incidents, and a CVE
    /// only when it scores at least half as well as the best technique (most alerts have none).
    pub fn retrieve_for_alert(&self, alert: &Alert, k: usize) -> Result<AlertIntel, IntelError> {
        let query = alert_query(alert);
        let outcome = self.search(
            &query,
            &SearchOptions {
                k: CANDIDATES,
                ranking: None,
                kind: None,
            },
        )?;
        let base = |h: &Hit| h.score - if h.id_match { ID_BOOST } else { 0.0 };
        let best_technique = outcome
            .hits
            .iter()
            .filter(|h| h.kind == DocKind::Technique)
            .map(base)
            .fold(0.0f32, f32::max);
        let mut taken: HashMap<DocKind, usize> = HashMap::new();
        let mut matches = Vec::new();
        for h in outcome.hits {
            let limit = match h.kind {
                DocKind::Technique => k,
                DocKind::Incident => 2,
                DocKind::Cve if base(&h) >= 0.5 * best_technique => 1,
                DocKind::Cve => 0,
            };
            let n = taken.entry(h.kind).or_default();
            if *n >= limit {
                continue;
            }
            *n += 1;
            matches.push(IntelMatch {
                id: h.id,
                kind: h.kind.as_str().to_string(),
                title: h.title,
                source: h.source,
                score: h.score,
            });
        }
        // Techniques first, then incidents, then CVEs; each best first (the sort is stable).
        matches.sort_by_key(|m| match m.kind.as_str() {
            "technique" => 0,
            "incident" => 1,
            _ => 2,
        });
        Ok(AlertIntel {
            ranking: outcome.ranking.as_str().to_string(),
            query,
            matches,
            retrieved_at: chrono::Utc::now(),
        })
    }
}

/// Retrieve for every stored alert whose intel is missing or was built from a different query
/// (the alert grew since); returns how many were updated.
pub fn attach_to_alerts(
    intel: &Intel,
    store: &crate::store::Store,
    k: usize,
) -> Result<usize, IntelError> {
    let mut updated = 0;
    // Alerts of one kind share a query (identifiers and counts are left out of it): each
    // distinct query is embedded (or read from the user's cache) and retrieved once per run.
    let todo: Vec<(Alert, String)> = crate::store::stored_alerts(store)?
        .into_iter()
        .map(|alert| {
            let query = alert_query(&alert);
            (alert, query)
        })
        .filter(|(alert, query)| alert.intel.as_ref().is_none_or(|i| &i.query != query))
        .collect();
    let distinct: Vec<String> = todo
        .iter()
        .map(|(_, q)| q.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    intel.prepare_queries(&distinct)?;
    let mut done: HashMap<String, AlertIntel> = HashMap::new();
    for (alert, query) in todo {
        let found = match done.get(&query) {
            Some(found) => found.clone(),
            None => {
                let found = intel.retrieve_for_alert(&alert, k)?;
                done.insert(query, found.clone());
                found
            }
        };
        crate::store::update_alert(store, alert.alert_id, |a| a.intel = Some(found.clone()))?;
        updated += 1;
    }
    Ok(updated)
}

/// Stable reorder: at most `cap` techniques of one family before every other family has had
/// its turn; the rest follow in their order.
fn spread_families(hits: &mut Vec<Hit>, cap: usize) {
    let mut per_family: HashMap<String, usize> = HashMap::new();
    let (mut first, mut later) = (Vec::with_capacity(hits.len()), Vec::new());
    for h in hits.drain(..) {
        if h.kind != DocKind::Technique {
            first.push(h);
            continue;
        }
        let n = per_family
            .entry(super::doc::technique_family(&h.id).to_string())
            .or_default();
        *n += 1;
        if *n <= cap {
            first.push(h)
        } else {
            later.push(h)
        }
    }
    first.extend(later);
    *hits = first;
}

fn summary_of(text: &str) -> String {
    const MAX: usize = 240;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut cut = MAX;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &text[..cut])
}

static IDENTIFIERS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)\b(?:IP_ADDRESS_\d+|USER_[A-Z]+|HOST_\d+|NETWORK_[0-9a-f]+)\b",
        r"|\S+@\S+",
        r"|\b\d{1,3}(?:\.\d{1,3}){3}\b",
        r"|\b[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}\b",
        r"|\barn:aws:\S+",
        // Object keys and other URLs name one object, never a kind of activity.
        r"|\b[a-z][a-z0-9+.-]*://\S+",
    ))
    .expect("identifier regex")
});

/// Affected resources a query takes: the first, in sorted order, of the distinct ones that are
/// left once identifiers are dropped.
const QUERY_RESOURCES: usize = 5;

/// The retrieval query for an alert: threat type, detectors, technique IDs, description and
/// affected resources, with addresses, accounts, pseudonyms, object keys, generated ids and
/// bare counts removed. They carry no meaning for retrieval, raw values must never leave the
/// alert even with privacy off, and without them alerts of one kind share one query (one
/// embedding, from the user's cache after the first time) and an alert that grows keeps it.
pub fn alert_query(alert: &Alert) -> String {
    let mut parts = vec![alert.threat_type.as_str().replace('_', " ")];
    parts.extend(alert.detectors.iter().map(|d| d.replace('_', " ")));
    parts.extend(
        alert
            .matched_techniques
            .iter()
            .filter(|t| is_technique_id(t))
            .cloned(),
    );
    parts.push(generic_words(&alert.description));
    // Sorted: the order resources joined the alert in does not make a new query.
    let resources: BTreeSet<String> = alert
        .affected_resources
        .iter()
        .map(|r| generic_words(r))
        .filter(|w| !w.is_empty())
        .collect();
    parts.extend(resources.into_iter().take(QUERY_RESOURCES));
    parts.retain(|p| !p.is_empty());
    parts.join(". ")
}

/// `text` without identifiers, counts and words that name one instance.
fn generic_words(text: &str) -> String {
    IDENTIFIERS
        .replace_all(text, " ")
        .split_whitespace()
        .filter(|t| {
            !t.chars()
                .all(|c| c.is_ascii_digit() || ".,:;()%/".contains(c))
                && !names_an_instance(t)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A word that names one thing rather than a kind of thing: a path segment that is a number,
/// or has a digit together with a separator (`1b30c006-03559.gz`, `i-0abc12`,
/// `2024-05-06T01:35`) or in a long run (a key id). `/api/v1/auth/login` is a kind of request
/// and stays; ATT&CK, CVE and incident IDs stay too: retrieval matches them exactly.
fn names_an_instance(word: &str) -> bool {
    let w = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '/');
    if QUERY_IDS.is_match(w) {
        return false;
    }
    w.split('/').any(|seg| {
        let digits = seg.bytes().filter(u8::is_ascii_digit).count();
        digits > 0 && (digits == seg.len() || seg.len() > 10 || seg.contains(['-', '_', '.', ':']))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn download_alert(description: &str, resources: &[&str]) -> Alert {
        let mut a = crate::app::fixture::alert(1);
        a.threat_type = crate::domain::ThreatType::Exfiltration;
        a.description = description.to_string();
        a.detectors = vec!["storage_mass_download".into()];
        a.matched_techniques = vec!["T1530".into()];
        a.affected_resources = resources.iter().map(|r| r.to_string()).collect();
        a
    }

    #[test]
    fn alerts_of_one_kind_share_a_query_whatever_objects_they_name() {
        let mut a = download_alert(
            "USER_A downloaded 1843 objects in 5 min from company-ml-training (previous peak 120)",
            &[
                "s3://company-ml-training/models/7/1c409db3-06295.parquet",
                "company-ml-training",
                "s3://company-ml-training/datasets/23/a7242629-41938.png",
            ],
        );
        let b = download_alert(
            "USER_C downloaded 907 objects in 12 min from company-ml-training (previous peak 88)",
            &[
                "s3://company-ml-training/datasets/2/1293f7c0-38270.png",
                "company-db-backups",
                "i-0abc12345def",
                "company-ml-training",
            ],
        );
        a.affected_resources.push("company-db-backups".into());
        assert_eq!(alert_query(&a), alert_query(&b));
        let q = alert_query(&a);
        assert!(
            q.contains("T1530") && q.contains("company-ml-training"),
            "{q}"
        );
        assert!(
            !q.contains("s3://") && !q.contains("1843") && !q.contains("USER_"),
            "{q}"
        );
    }

    #[test]
    fn instance_words_go_and_ids_and_names_stay() {
        for w in [
            "1c409db3-06295.parquet",
            "i-0abc12345def",
            "2024-05-06T01:35",
            "AKIA1234567890AB",
            "/customers/21/",
        ] {
            assert!(names_an_instance(w), "{w}");
        }
        for w in [
            "T1098.004",
            "CVE-2024-6387.",
            "INC-2025-014",
            "S3",
            "EC2",
            "sha256",
            "/etc/shadow",
            "AdministratorAccess",
            "/api/v1/auth/login",
        ] {
            assert!(!names_an_instance(w), "{w}");
        }
    }

    #[test]
    fn query_ids_are_found_case_insensitively() {
        let ids = query_ids("mapped to t1098.004 and CVE-2024-6387, see INC-2025-014");
        assert!(ids.contains("T1098.004"));
        assert!(ids.contains("CVE-2024-6387"));
        assert!(ids.contains("INC-2025-014"));
    }

    #[test]
    fn a_third_technique_of_one_family_waits_for_the_other_families() {
        let hit = |id: &str, kind| Hit {
            id: id.into(),
            kind,
            title: String::new(),
            source: "test".into(),
            score: 0.0,
            vector: None,
            lexical: None,
            id_match: false,
            tactics: Vec::new(),
            techniques: Vec::new(),
            summary: String::new(),
        };
        let ranked = || {
            vec![
                hit("T1098", DocKind::Technique),
                hit("T1098.001", DocKind::Technique),
                hit("INC-1", DocKind::Incident),
                hit("T1098.003", DocKind::Technique),
                hit("T1136.003", DocKind::Technique),
                hit("T1098.004", DocKind::Technique),
                hit("T1078", DocKind::Technique),
            ]
        };
        let order = |cap| {
            let mut hits = ranked();
            spread_families(&mut hits, cap);
            hits.into_iter().map(|h| h.id).collect::<Vec<_>>()
        };
        assert_eq!(
            order(2),
            [
                "T1098",
                "T1098.001",
                "INC-1",
                "T1136.003",
                "T1078",
                "T1098.003",
                "T1098.004"
            ]
        );
        assert_eq!(
            order(1),
            [
                "T1098",
                "INC-1",
                "T1136.003",
                "T1078",
                "T1098.001",
                "T1098.003",
                "T1098.004"
            ]
        );
    }
}
