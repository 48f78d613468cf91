//! NVD CVE JSON 2.0 feed → CVE documents. A full feed is ~300k CVEs, hours of embedding on two
//! cores, so only KEV-listed CVEs and those matching `intel.nvd_embed_keywords` are embedded;
//! the rest are searchable lexically (BM25) only, and the import says how many.

use std::collections::HashSet;

use serde::Deserialize;

use super::Parsed;
use crate::intel::doc::{DocKind, IntelDoc, Section};

#[derive(Deserialize)]
struct Feed {
    vulnerabilities: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    cve: Cve,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Cve {
    id: String,
    published: String,
    vuln_status: String,
    descriptions: Vec<LangText>,
    metrics: Metrics,
    weaknesses: Vec<Weakness>,
    cisa_exploit_add: Option<String>,
    cisa_vulnerability_name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LangText {
    lang: String,
    value: String,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Metrics {
    cvss_metric_v40: Vec<Metric>,
    cvss_metric_v31: Vec<Metric>,
    cvss_metric_v30: Vec<Metric>,
    cvss_metric_v2: Vec<Metric>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Metric {
    cvss_data: CvssData,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct CvssData {
    version: String,
    base_score: f32,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Weakness {
    description: Vec<LangText>,
}

impl Metrics {
    fn best(&self) -> Option<&CvssData> {
        [
            &self.cvss_metric_v40,
            &self.cvss_metric_v31,
            &self.cvss_metric_v30,
            &self.cvss_metric_v2,
        ]
        .into_iter()
        .find_map(|m| m.first())
        .map(|m| &m.cvss_data)
    }
}

/// Which CVEs get vectors: those in `kev_ids` or flagged by NVD as KEV-listed, and those whose
/// description mentions a keyword (lower-case).
pub struct EmbedPolicy<'a> {
    pub kev_ids: &'a HashSet<String>,
    pub keywords: &'a [String],
}

pub fn parse(bytes: &[u8], policy: &EmbedPolicy) -> anyhow::Result<Parsed> {
    let feed: Feed = serde_json::from_slice(bytes)
        .map_err(|e| anyhow::anyhow!("not an NVD CVE JSON 2.0 feed: {e}"))?;
    let mut parsed = Parsed {
        source: "nvd".into(),
        ..Parsed::default()
    };
    let mut rejected = 0usize;
    for Item { cve } in feed.vulnerabilities {
        if cve.id.is_empty() {
            parsed.skipped.push("item without cve.id".into());
            continue;
        }
        if cve.vuln_status.eq_ignore_ascii_case("rejected") {
            rejected += 1;
            continue;
        }
        let description = cve
            .descriptions
            .iter()
            .find(|d| d.lang == "en")
            .or(cve.descriptions.first())
            .map_or("", |d| d.value.as_str());
        let lower = description.to_lowercase();
        let in_kev = cve.cisa_exploit_add.is_some() || policy.kev_ids.contains(&cve.id);
        let embed = in_kev || policy.keywords.iter().any(|k| lower.contains(k.as_str()));
        let mut facts = String::new();
        if let Some(score) = cve.metrics.best() {
            facts.push_str(&format!(
                "CVSS {} base score {:.1}. ",
                score.version, score.base_score
            ));
        }
        if !cve.published.is_empty() {
            facts.push_str(&format!(
                "Published {}. ",
                cve.published.get(..10).unwrap_or(&cve.published)
            ));
        }
        if in_kev {
            facts.push_str("Listed in CISA KEV (exploited in the wild). ");
        }
        let cwes: Vec<&str> = cve
            .weaknesses
            .iter()
            .flat_map(|w| &w.description)
            .map(|d| d.value.as_str())
            .filter(|v| v.starts_with("CWE-"))
            .collect();
        if !cwes.is_empty() {
            facts.push_str(&format!("Weakness: {}. ", cwes.join(", ")));
        }
        let title = cve
            .cisa_vulnerability_name
            .clone()
            .unwrap_or_else(|| first_sentence(description));
        parsed.docs.push(IntelDoc {
            url: Some(format!("https://nvd.nist.gov/vuln/detail/{}", cve.id)),
            id: cve.id,
            kind: DocKind::Cve,
            source: "nvd".into(),
            title,
            tactics: Vec::new(),
            techniques: Vec::new(),
            sections: vec![Section {
                heading: "Summary".into(),
                text: format!("{facts}{description}"),
            }],
            embed,
        });
    }
    let embedded = parsed.docs.iter().filter(|d| d.embed).count();
    parsed.notes.push(format!(
        "{embedded} CVEs embedded (KEV-listed or matching intel.nvd_embed_keywords); {} lexical-only (BM25); {rejected} rejected CVEs skipped",
        parsed.docs.len() - embedded
    ));
    Ok(parsed)
}

/// A title for CVEs without one: the description's first sentence, at most 100 characters.
fn first_sentence(text: &str) -> String {
    let end = text.find(". ").map_or(text.len(), |i| i + 1);
    let mut s = &text[..end];
    if s.len() > 100 {
        let mut cut = 100;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s = &s[..cut];
    }
    s.trim().to_string()
}
