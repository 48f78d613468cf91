//! Technique passages from our own Sigma rule pack: what each rule watches in the logs (its
//! title, description, and the CloudTrail event names or log phrases it matches), added to the
//! techniques its tags name.
//!
//! Rule authors, and alerts raised by rules, describe a technique by the call they see
//! ("CreateLoginProfile", "StopLogging", "RDS master password change"); ATT&CK describes it by the
//! goal. The pack (`datasets/rules`, written by us) is where the two meet. The rules are read
//! here as plain YAML rather than through the detection layer, which the retrieval layer may not
//! import.

use std::collections::HashMap;

use include_dir::{Dir, include_dir};
use yaml_serde::Value;

use super::doc::{DocKind, IntelDoc, Section};

static PACK: [Dir<'static>; 2] = [
    include_dir!("$CARGO_MANIFEST_DIR/datasets/rules/cloudtrail"),
    include_dir!("$CARGO_MANIFEST_DIR/datasets/rules/linux"),
];

/// Heading of the added section.
pub const HEADING: &str = "Seen in logs";

/// Most rules quoted per technique (the first by file name): keeps a passage near the
/// embedder's window.
const MAX_RULES: usize = 6;

/// What one rule says about the logs.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleNote {
    pub title: String,
    pub description: String,
    /// `T1110.001` …, from the rule's `attack.tNNNN` tags.
    pub techniques: Vec<String>,
    /// Event names and log phrases the rule matches.
    pub evidence: Vec<String>,
}

impl RuleNote {
    /// A Sigma rule's note; None when the text is not YAML or the rule has no technique tag.
    pub fn parse(text: &str) -> Option<RuleNote> {
        let rule: Value = yaml_serde::from_str(text).ok()?;
        let field = |k: &str| rule.get(k).and_then(Value::as_str).unwrap_or("").trim();
        let techniques: Vec<String> = rule
            .get("tags")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|t| t.strip_prefix("attack.t"))
            .filter(|t| t.starts_with(|c: char| c.is_ascii_digit()))
            .map(|t| format!("T{}", t.to_ascii_uppercase()))
            .collect();
        if techniques.is_empty() {
            return None;
        }
        let mut evidence = Vec::new();
        if let Some(detection) = rule.get("detection") {
            collect_evidence(detection, &mut evidence);
        }
        evidence.dedup();
        Some(RuleNote {
            title: field("title").to_string(),
            description: field("description")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            techniques,
            evidence,
        })
    }

    /// Title, description and what the rule matches, as one passage.
    pub fn text(&self) -> String {
        let mut out = format!("{}: {}", self.title, self.description);
        if !self.evidence.is_empty() {
            out.push_str(&format!(" Matches {}.", self.evidence.join(", ")));
        }
        out
    }
}

/// Values of `eventName`, `message` and `program` conditions anywhere under `v`; filter
/// selections are included too (they name the near misses, which share the vocabulary).
fn collect_evidence(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Mapping(map) => {
            for (key, value) in map {
                let key = key.as_str().unwrap_or("");
                let field = key.split('|').next().unwrap_or("");
                if matches!(field, "eventName" | "message" | "program") {
                    strings(value, out);
                } else {
                    collect_evidence(value, out);
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|i| collect_evidence(i, out)),
        _ => {}
    }
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if !s.trim().is_empty() && !out.contains(s) => out.push(s.clone()),
        Value::Sequence(items) => items.iter().for_each(|i| strings(i, out)),
        _ => {}
    }
}

/// Every rule of the pack with its technique tags, in file-name order.
fn notes() -> Vec<RuleNote> {
    let mut files: Vec<(&str, &str)> = PACK
        .iter()
        .flat_map(|dir| dir.files())
        .filter_map(|f| Some((f.path().to_str()?, f.contents_utf8()?)))
        .collect();
    files.sort_unstable();
    files
        .iter()
        .filter_map(|(_, text)| RuleNote::parse(text))
        .collect()
}

/// Add a "Seen in logs" section to every technique document a pack rule is tagged with.
pub fn enrich(docs: &mut [IntelDoc]) {
    let mut by_technique: HashMap<String, Vec<String>> = HashMap::new();
    for note in notes() {
        for t in &note.techniques {
            let texts = by_technique.entry(t.clone()).or_default();
            if texts.len() < MAX_RULES {
                texts.push(note.text());
            }
        }
    }
    for doc in docs.iter_mut().filter(|d| d.kind == DocKind::Technique) {
        if doc.sections.iter().any(|s| s.heading == HEADING) {
            continue;
        }
        if let Some(texts) = by_technique.get(&doc.id.to_ascii_uppercase()) {
            doc.sections.push(Section {
                heading: HEADING.to_string(),
                text: texts.join(" "),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pack_rule_is_read_with_its_techniques_and_evidence() {
        let notes = notes();
        assert!(notes.len() >= 200, "{}", notes.len());
        let profile = notes
            .iter()
            .find(|n| n.title == "Console Password Set for Another IAM User")
            .expect("the login-profile rule");
        assert!(profile.techniques.contains(&"T1098.001".to_string()));
        assert!(profile.evidence.contains(&"CreateLoginProfile".to_string()));
        assert!(
            profile
                .text()
                .contains("Matches CreateLoginProfile, UpdateLoginProfile.")
        );
        let sudo = notes
            .iter()
            .find(|n| n.title == "sudo Refused: User Not Allowed")
            .expect("the sudo rule");
        assert!(sudo.evidence.contains(&"user NOT in sudoers".to_string()));
    }

    #[test]
    fn techniques_get_one_section_and_other_documents_none() {
        let doc = |id: &str, kind| IntelDoc {
            id: id.into(),
            kind,
            source: "test".into(),
            title: "t".into(),
            tactics: Vec::new(),
            techniques: vec![id.into()],
            sections: Vec::new(),
            embed: true,
            url: None,
        };
        let mut docs = vec![
            doc("T1098.001", DocKind::Technique),
            doc("T9999", DocKind::Technique),
            doc("INC-1", DocKind::Incident),
        ];
        enrich(&mut docs);
        enrich(&mut docs);
        assert_eq!(docs[0].sections.len(), 1);
        assert!(docs[0].sections[0].text.contains("CreateAccessKey"));
        assert!(docs[1].sections.is_empty() && docs[2].sections.is_empty());
    }
}
