//! The bundled corpus (datasets/intel/, compiled into the binary) and the JSON-lines row
//! formats it is written in; incidents JSONL imports use the same incident rows.

use serde::Deserialize;

use super::doc::{DocKind, IntelDoc, Section};

const TECHNIQUES: &str = include_str!("../../datasets/intel/techniques.jsonl");
const INCIDENTS: &str = include_str!("../../datasets/intel/incidents.jsonl");
const CVES: &str = include_str!("../../datasets/intel/cves.jsonl");

pub const BUNDLED: &str = "bundled";

/// A technique as written in `techniques.jsonl`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TechniqueRow {
    id: String,
    name: String,
    tactics: Vec<String>,
    summary: String,
    cloudtrail: String,
    authlog: String,
    detection: String,
    mitigation: String,
}

/// A past incident report (`incidents.jsonl`, and `autosec intel import` of incidents JSONL).
#[derive(Debug, Deserialize)]
pub struct IncidentRow {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub techniques: Vec<String>,
    pub summary: String,
    #[serde(default)]
    pub evidence: String,
    #[serde(default)]
    pub response: String,
    #[serde(default)]
    pub outcome: String,
}

/// A CVE note (`cves.jsonl`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CveRow {
    id: String,
    title: String,
    product: String,
    #[serde(default)]
    published: String,
    #[serde(default)]
    cvss: Option<f32>,
    #[serde(default)]
    kev: bool,
    #[serde(default)]
    techniques: Vec<String>,
    summary: String,
    detection: String,
    mitigation: String,
}

fn section(heading: &str, text: impl Into<String>) -> Option<Section> {
    let text = text.into();
    (!text.trim().is_empty()).then(|| Section {
        heading: heading.to_string(),
        text,
    })
}

impl TechniqueRow {
    fn into_doc(self) -> IntelDoc {
        IntelDoc {
            techniques: vec![self.id.clone()],
            sections: [
                section("Summary", self.summary),
                section("In CloudTrail", self.cloudtrail),
                section("In auth.log", self.authlog),
                section("Detection", self.detection),
                section("Mitigation", self.mitigation),
            ]
            .into_iter()
            .flatten()
            .collect(),
            id: self.id,
            kind: DocKind::Technique,
            source: BUNDLED.into(),
            title: self.name,
            tactics: self.tactics,
            embed: true,
            url: None,
        }
    }
}

impl IncidentRow {
    pub fn into_doc(self, source: &str) -> IntelDoc {
        let mut title = self.title;
        if !self.date.is_empty() {
            title = format!("{title} ({})", self.date);
        }
        let summary = if self.severity.is_empty() {
            self.summary
        } else {
            format!("Severity {}. {}", self.severity, self.summary)
        };
        IntelDoc {
            id: self.id,
            kind: DocKind::Incident,
            source: source.into(),
            title,
            tactics: Vec::new(),
            techniques: self.techniques,
            sections: [
                section("What happened", summary),
                section("Evidence", self.evidence),
                section("Response", self.response),
                section("Outcome", self.outcome),
            ]
            .into_iter()
            .flatten()
            .collect(),
            embed: true,
            url: None,
        }
    }
}

impl CveRow {
    fn into_doc(self) -> IntelDoc {
        let mut facts = format!("{}.", self.product);
        if let Some(cvss) = self.cvss {
            facts.push_str(&format!(" CVSS {cvss:.1}."));
        }
        if !self.published.is_empty() {
            facts.push_str(&format!(" Published {}.", self.published));
        }
        if self.kev {
            facts.push_str(" Listed in CISA KEV (exploited in the wild).");
        }
        IntelDoc {
            id: self.id,
            kind: DocKind::Cve,
            source: BUNDLED.into(),
            title: self.title,
            tactics: Vec::new(),
            techniques: self.techniques,
            sections: [
                section("Summary", format!("{facts} {}", self.summary)),
                section("Detection", self.detection),
                section("Mitigation", self.mitigation),
            ]
            .into_iter()
            .flatten()
            .collect(),
            embed: true,
            url: None,
        }
    }
}

/// Parse JSON lines into rows; a bad line is reported (1-based line number and reason) and
/// skipped, never the whole file.
pub fn parse_lines<T: serde::de::DeserializeOwned>(text: &str) -> (Vec<T>, Vec<(usize, String)>) {
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(row) => rows.push(row),
            Err(e) => errors.push((i + 1, e.to_string())),
        }
    }
    (rows, errors)
}

/// The corpus compiled into the binary: techniques, incidents and CVE notes.
pub fn bundled() -> Vec<IntelDoc> {
    let (techniques, e1) = parse_lines::<TechniqueRow>(TECHNIQUES);
    let (incidents, e2) = parse_lines::<IncidentRow>(INCIDENTS);
    let (cves, e3) = parse_lines::<CveRow>(CVES);
    // The files are checked by a unit test, so a bad line cannot ship.
    debug_assert!(e1.is_empty() && e2.is_empty() && e3.is_empty());
    techniques
        .into_iter()
        .map(TechniqueRow::into_doc)
        .chain(incidents.into_iter().map(|r| r.into_doc(BUNDLED)))
        .chain(cves.into_iter().map(CveRow::into_doc))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::intel::doc::is_technique_id;

    #[test]
    fn bundled_files_parse_without_errors() {
        assert!(parse_lines::<TechniqueRow>(TECHNIQUES).1.is_empty());
        assert!(parse_lines::<IncidentRow>(INCIDENTS).1.is_empty());
        assert!(parse_lines::<CveRow>(CVES).1.is_empty());
    }

    #[test]
    fn bundled_corpus_meets_the_issue_minimums() {
        let docs = bundled();
        let count = |k| docs.iter().filter(|d| d.kind == k).count();
        assert!(count(DocKind::Technique) >= 80);
        assert!(count(DocKind::Incident) >= 25);
        assert!(count(DocKind::Cve) >= 5);
        let ids: HashSet<_> = docs.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids.len(), docs.len(), "duplicate ids");
        for d in &docs {
            assert!(!d.sections.is_empty(), "{}", d.id);
            for t in &d.techniques {
                assert!(is_technique_id(t), "{}: {t}", d.id);
            }
        }
    }

    #[test]
    fn a_bad_line_is_reported_and_the_rest_kept() {
        let text = "{\"id\":\"INC-1\",\"title\":\"a\",\"summary\":\"s\"}\nnot json\n\n{\"id\":\"INC-2\",\"title\":\"b\",\"summary\":\"t\"}\n";
        let (rows, errors) = parse_lines::<IncidentRow>(text);
        assert_eq!(rows.len(), 2);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, 2);
    }
}
