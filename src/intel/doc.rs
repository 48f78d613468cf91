//! Intel documents (ATT&CK techniques, past incidents, CVE notes) and how they are cut into
//! passages for embedding and flattened for lexical search.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    Technique,
    Incident,
    Cve,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Technique => "technique",
            DocKind::Incident => "incident",
            DocKind::Cve => "cve",
        }
    }
}

/// A titled block of a document's text ("Detection", "In CloudTrail" …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub heading: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntelDoc {
    /// `T1110.001`, `INC-2025-014`, `CVE-2024-6387`.
    pub id: String,
    pub kind: DocKind,
    /// Where it came from: `bundled`, `attack`, `kev`, `nvd`, `incidents`.
    pub source: String,
    pub title: String,
    #[serde(default)]
    pub tactics: Vec<String>,
    /// ATT&CK technique IDs this document is about (a technique lists itself).
    #[serde(default)]
    pub techniques: Vec<String>,
    pub sections: Vec<Section>,
    /// False for bulk documents kept lexical-only (e.g. NVD CVEs not in KEV).
    #[serde(default = "yes")]
    pub embed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A technique's family: `T1098.001` → `T1098`.
pub fn technique_family(id: &str) -> &str {
    id.split('.').next().unwrap_or(id)
}

fn yes() -> bool {
    true
}

/// Characters per embedded passage: MiniLM reads ~256 word pieces, about 1,000 characters of
/// English; shorter passages keep each vector about one aspect of the document.
const PASSAGE_CHARS: usize = 700;

impl IntelDoc {
    /// `T1110.001 Password Guessing`: the line every passage starts with.
    pub fn heading(&self) -> String {
        format!("{} {}", self.id, self.title)
    }

    /// Texts to embed: the heading followed by consecutive sections packed up to
    /// `PASSAGE_CHARS`; a long section is split at sentence ends.
    pub fn passages(&self) -> Vec<String> {
        let heading = if self.tactics.is_empty() {
            self.heading()
        } else {
            format!("{} ({})", self.heading(), self.tactics.join(", "))
        };
        let mut out = Vec::new();
        let mut current = String::new();
        for piece in self
            .sections
            .iter()
            .flat_map(|s| split_sentences(&s.text, PASSAGE_CHARS))
        {
            if !current.is_empty() && current.len() + piece.len() > PASSAGE_CHARS {
                out.push(format!("{heading}. {current}"));
                current.clear();
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(piece);
        }
        if !current.is_empty() || out.is_empty() {
            out.push(format!("{heading}. {current}"));
        }
        out
    }

    /// Everything searchable, for BM25: the title counts twice.
    pub fn lexical_text(&self) -> String {
        let mut text = format!("{} {} {} ", self.id, self.title, self.title);
        text.push_str(&self.tactics.join(" "));
        text.push(' ');
        text.push_str(&self.techniques.join(" "));
        for s in &self.sections {
            text.push(' ');
            text.push_str(&s.text);
        }
        text
    }

    /// The first section's text, for listings.
    pub fn summary(&self) -> &str {
        self.sections.first().map_or("", |s| s.text.as_str())
    }
}

/// Pieces of `text` no longer than `max` characters where possible, cut after `. `.
fn split_sentences(text: &str, max: usize) -> Vec<&str> {
    let text = text.trim();
    if text.len() <= max {
        return if text.is_empty() { vec![] } else { vec![text] };
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut last_cut = 0;
    for (i, _) in text.match_indices(". ") {
        let end = i + 1;
        if end - start > max && last_cut > start {
            out.push(text[start..last_cut].trim());
            start = last_cut;
        }
        last_cut = end;
    }
    if text.len() - start > max && last_cut > start {
        out.push(text[start..last_cut].trim());
        start = last_cut;
    }
    out.push(text[start..].trim());
    out.retain(|s| !s.is_empty());
    out
}

/// Is `s` an ATT&CK technique ID (`T1234` or `T1234.001`)?
pub fn is_technique_id(s: &str) -> bool {
    let b = s.as_bytes();
    let base =
        b.len() >= 5 && (b[0] == b'T' || b[0] == b't') && b[1..5].iter().all(u8::is_ascii_digit);
    match b.len() {
        5 => base,
        9 => base && b[5] == b'.' && b[6..9].iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(sections: &[&str]) -> IntelDoc {
        IntelDoc {
            id: "T1110.001".into(),
            kind: DocKind::Technique,
            source: "bundled".into(),
            title: "Password Guessing".into(),
            tactics: vec!["credential-access".into()],
            techniques: vec!["T1110.001".into()],
            sections: sections
                .iter()
                .map(|t| Section {
                    heading: "s".into(),
                    text: t.to_string(),
                })
                .collect(),
            embed: true,
            url: None,
        }
    }

    #[test]
    fn short_sections_share_one_passage_with_the_heading() {
        let p = doc(&["Guessing passwords.", "Many failures."]).passages();
        assert_eq!(
            p,
            ["T1110.001 Password Guessing (credential-access). Guessing passwords. Many failures."]
        );
    }

    #[test]
    fn long_text_is_split_at_sentence_ends() {
        let sentence = "An attacker tries one more password against the same account. ";
        let long = sentence.repeat(30);
        let p = doc(&[&long]).passages();
        assert!(p.len() >= 3, "{}", p.len());
        for passage in &p {
            assert!(passage.starts_with("T1110.001 Password Guessing"));
            assert!(passage.len() <= PASSAGE_CHARS + 80, "{}", passage.len());
            assert!(passage.trim_end().ends_with('.'));
        }
    }

    #[test]
    fn technique_ids() {
        for ok in ["T1110", "T1110.001", "t1098"] {
            assert!(is_technique_id(ok), "{ok}");
        }
        for bad in ["T111", "T1110.1", "X1110", "T1110.0011", "CVE-2024-6387"] {
            assert!(!is_technique_id(bad), "{bad}");
        }
    }
}
