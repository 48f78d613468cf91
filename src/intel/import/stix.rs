//! MITRE ATT&CK STIX 2.1 bundle → technique documents: attack-patterns (sub-techniques too),
//! tactics from kill-chain phases, detection text (the old `x_mitre_detection` field or the
//! v18 detection strategies and their analytics), mitigations through `mitigates`
//! relationships, procedure examples through `uses` relationships (groups, campaigns, and
//! software that runs on a platform AutoSec watches). Revoked and deprecated objects are skipped.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;

use super::Parsed;
use crate::intel::doc::{DocKind, IntelDoc, Section};

#[derive(Deserialize)]
struct Bundle {
    objects: Vec<Object>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Object {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    name: String,
    description: String,
    revoked: bool,
    x_mitre_deprecated: bool,
    x_mitre_detection: String,
    x_mitre_platforms: Vec<String>,
    kill_chain_phases: Vec<Phase>,
    external_references: Vec<ExternalRef>,
    relationship_type: String,
    source_ref: String,
    target_ref: String,
    x_mitre_analytic_refs: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Phase {
    kill_chain_name: String,
    phase_name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ExternalRef {
    source_name: String,
    external_id: String,
    url: String,
}

impl Object {
    fn attack_ref(&self) -> Option<&ExternalRef> {
        self.external_references
            .iter()
            .find(|r| r.source_name == "mitre-attack" && !r.external_id.is_empty())
    }

    fn live(&self) -> bool {
        !self.revoked && !self.x_mitre_deprecated
    }
}

/// Longest text kept per section: long descriptions add little beyond their opening, and these
/// limits give a technique about four embedded passages (two of description, one of detection,
/// one of mitigations).
const MAX_SECTION_CHARS: usize = 1_400;
const MAX_NOTE_CHARS: usize = 700;
/// Longest text kept per procedure example (they average ~200 characters).
const MAX_PROCEDURE_CHARS: usize = 400;

static CITATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\s*\(Citation:[^)]*\)").expect("citation regex"));
static LINK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[([^\]]+)\]\([^)]*\)").expect("link regex"));
static MARKUP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"</?code>|\s+").expect("markup regex"));

/// ATT&CK prose without citations, Markdown links and code tags, cut at a sentence end.
fn clean(text: &str) -> String {
    let text = CITATION.replace_all(text, "");
    let text = LINK.replace_all(&text, "$1");
    let text = MARKUP.replace_all(&text, |c: &regex::Captures| {
        if c[0].starts_with('<') { "" } else { " " }.to_string()
    });
    truncate_at_sentence(text.trim(), MAX_SECTION_CHARS)
}

fn truncate_at_sentence(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    match text[..cut].rfind(". ") {
        Some(i) if i > max / 2 => text[..=i].to_string(),
        _ => format!("{}…", &text[..cut]),
    }
}

pub fn parse(bytes: &[u8]) -> anyhow::Result<Parsed> {
    let bundle: Bundle =
        serde_json::from_slice(bytes).map_err(|e| anyhow::anyhow!("not a STIX 2.1 bundle: {e}"))?;
    let by_id: HashMap<&str, &Object> = bundle.objects.iter().map(|o| (o.id.as_str(), o)).collect();

    let mut mitigations: HashMap<&str, Vec<String>> = HashMap::new();
    let mut detections: HashMap<&str, Vec<String>> = HashMap::new();
    // Procedure examples name the concrete act ("disabled CloudTrail logging", "queried the
    // instance metadata service") in the words rule authors and analysts use, where the
    // technique's description names the goal.
    let mut procedures: HashMap<&str, Vec<String>> = HashMap::new();
    for rel in bundle
        .objects
        .iter()
        .filter(|o| o.kind == "relationship" && o.live())
    {
        let Some(source) = by_id.get(rel.source_ref.as_str()).filter(|o| o.live()) else {
            continue;
        };
        match (rel.relationship_type.as_str(), source.kind.as_str()) {
            ("mitigates", "course-of-action") => {
                let id = source.attack_ref().map_or("", |r| r.external_id.as_str());
                let how = clean(&rel.description);
                let line = if how.is_empty() {
                    format!("{id} {}.", source.name)
                } else {
                    format!("{id} {}: {how}", source.name)
                };
                mitigations.entry(&rel.target_ref).or_default().push(line);
            }
            ("detects", "x-mitre-detection-strategy") => {
                let mut text = format!("{}.", source.name);
                for analytic in source
                    .x_mitre_analytic_refs
                    .iter()
                    .filter_map(|r| by_id.get(r.as_str()))
                    .filter(|a| relevant_platform(&a.x_mitre_platforms))
                {
                    text.push(' ');
                    text.push_str(&clean(&analytic.description));
                }
                detections.entry(&rel.target_ref).or_default().push(text);
            }
            ("uses", "intrusion-set" | "campaign" | "malware" | "tool")
                if relevant_platform(&source.x_mitre_platforms) =>
            {
                let text = truncate_at_sentence(&clean(&rel.description), MAX_PROCEDURE_CHARS);
                if !text.is_empty() {
                    procedures.entry(&rel.target_ref).or_default().push(text);
                }
            }
            _ => {}
        }
    }

    let mut parsed = Parsed::default();
    let (mut revoked, mut deprecated) = (0usize, 0usize);
    for o in bundle.objects.iter().filter(|o| o.kind == "attack-pattern") {
        if o.revoked {
            revoked += 1;
            continue;
        }
        if o.x_mitre_deprecated {
            deprecated += 1;
            continue;
        }
        let Some(reference) = o.attack_ref() else {
            continue;
        };
        let tactics: Vec<String> = o
            .kill_chain_phases
            .iter()
            .filter(|p| p.kill_chain_name == "mitre-attack")
            .map(|p| p.phase_name.clone())
            .collect();
        let mut sections = vec![Section {
            heading: "Description".into(),
            text: clean(&o.description),
        }];
        if !o.x_mitre_platforms.is_empty() {
            sections.push(Section {
                heading: "Platforms".into(),
                text: format!("Platforms: {}.", o.x_mitre_platforms.join(", ")),
            });
        }
        let detection = if o.x_mitre_detection.is_empty() {
            detections
                .get(o.id.as_str())
                .map(|d| d.join(" "))
                .unwrap_or_default()
        } else {
            o.x_mitre_detection.clone()
        };
        if !detection.trim().is_empty() {
            sections.push(Section {
                heading: "Detection".into(),
                text: truncate_at_sentence(&clean(&detection), MAX_NOTE_CHARS),
            });
        }
        if let Some(m) = mitigations.get(o.id.as_str()) {
            sections.push(Section {
                heading: "Mitigations".into(),
                text: truncate_at_sentence(&m.join(" "), MAX_NOTE_CHARS),
            });
        }
        if let Some(examples) = procedures.get(o.id.as_str()) {
            sections.push(Section {
                heading: "Procedure examples".into(),
                text: examples.join(" "),
            });
        }
        let id = reference.external_id.clone();
        parsed.docs.push(IntelDoc {
            techniques: vec![id.clone()],
            id,
            kind: DocKind::Technique,
            source: "attack".into(),
            title: o.name.clone(),
            tactics,
            sections,
            embed: true,
            url: (!reference.url.is_empty()).then(|| reference.url.clone()),
        });
    }
    parsed.docs.sort_by(|a, b| a.id.cmp(&b.id));
    parsed.source = "attack".into();
    parsed.notes.push(format!(
        "skipped {revoked} revoked and {deprecated} deprecated attack-patterns"
    ));
    Ok(parsed)
}

/// Analytics for the platforms AutoSec watches (an analytic with no platform list counts).
fn relevant_platform(platforms: &[String]) -> bool {
    platforms.is_empty()
        || platforms.iter().any(|p| {
            matches!(
                p.as_str(),
                "Linux" | "IaaS" | "Identity Provider" | "SaaS" | "Containers" | "Office Suite"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_removes_citations_and_links() {
        let t = "Adversaries guess passwords.(Citation: X 2020) See [Brute Force](https://attack.mitre.org/techniques/T1110) and <code>sshd</code>.";
        assert_eq!(
            clean(t),
            "Adversaries guess passwords. See Brute Force and sshd."
        );
    }

    #[test]
    fn tiny_bundle_keeps_live_patterns_with_tactics_detection_mitigations_and_procedures() {
        let bundle = r#"{"type":"bundle","objects":[
          {"type":"attack-pattern","id":"attack-pattern--1","name":"Password Guessing","description":"Guessing.","kill_chain_phases":[{"kill_chain_name":"mitre-attack","phase_name":"credential-access"}],"external_references":[{"source_name":"mitre-attack","external_id":"T1110.001","url":"https://attack.mitre.org/techniques/T1110/001"}],"x_mitre_platforms":["Linux"]},
          {"type":"attack-pattern","id":"attack-pattern--2","name":"Old","revoked":true,"external_references":[{"source_name":"mitre-attack","external_id":"T9999"}]},
          {"type":"attack-pattern","id":"attack-pattern--3","name":"Older","x_mitre_deprecated":true,"external_references":[{"source_name":"mitre-attack","external_id":"T9998"}]},
          {"type":"course-of-action","id":"course-of-action--1","name":"Multi-factor Authentication","external_references":[{"source_name":"mitre-attack","external_id":"M1032"}]},
          {"type":"relationship","id":"relationship--1","relationship_type":"mitigates","source_ref":"course-of-action--1","target_ref":"attack-pattern--1","description":"Require MFA."},
          {"type":"x-mitre-analytic","id":"x-mitre-analytic--1","description":"Count sshd failures per source.","x_mitre_platforms":["Linux"]},
          {"type":"x-mitre-analytic","id":"x-mitre-analytic--2","description":"Windows only.","x_mitre_platforms":["Windows"]},
          {"type":"x-mitre-detection-strategy","id":"x-mitre-detection-strategy--1","name":"Repeated failures","x_mitre_analytic_refs":["x-mitre-analytic--1","x-mitre-analytic--2"]},
          {"type":"relationship","id":"relationship--2","relationship_type":"detects","source_ref":"x-mitre-detection-strategy--1","target_ref":"attack-pattern--1"},
          {"type":"intrusion-set","id":"intrusion-set--1","name":"Group One"},
          {"type":"malware","id":"malware--1","name":"WinOnly","x_mitre_platforms":["Windows"]},
          {"type":"tool","id":"tool--1","name":"Sprayer","x_mitre_platforms":["Linux","Windows"]},
          {"type":"relationship","id":"relationship--3","relationship_type":"uses","source_ref":"intrusion-set--1","target_ref":"attack-pattern--1","description":"[Group One](https://attack.mitre.org/groups/G9) guessed SSH passwords.(Citation: Report)"},
          {"type":"relationship","id":"relationship--4","relationship_type":"uses","source_ref":"malware--1","target_ref":"attack-pattern--1","description":"WinOnly guesses RDP passwords."},
          {"type":"relationship","id":"relationship--5","relationship_type":"uses","source_ref":"tool--1","target_ref":"attack-pattern--1","description":"Sprayer tries one password on many accounts."},
          {"type":"relationship","id":"relationship--6","relationship_type":"uses","source_ref":"intrusion-set--1","target_ref":"attack-pattern--1","description":"Revoked use.","revoked":true}
        ]}"#;
        let parsed = parse(bundle.as_bytes()).expect("parses");
        assert_eq!(parsed.docs.len(), 1);
        let d = &parsed.docs[0];
        assert_eq!(d.id, "T1110.001");
        assert_eq!(d.tactics, ["credential-access"]);
        let text = d.lexical_text();
        assert!(text.contains("Count sshd failures per source."), "{text}");
        assert!(!text.contains("Windows only"), "{text}");
        assert!(text.contains("M1032 Multi-factor Authentication: Require MFA."));
        let procedures = d
            .sections
            .iter()
            .find(|s| s.heading == "Procedure examples")
            .expect("procedure examples");
        assert_eq!(
            procedures.text,
            "Group One guessed SSH passwords. Sprayer tries one password on many accounts."
        );
        assert!(parsed.notes[0].contains("1 revoked and 1 deprecated"));
    }
}
