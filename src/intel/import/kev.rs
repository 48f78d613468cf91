//! CISA Known Exploited Vulnerabilities catalog (JSON) → CVE documents, all embedded.

use serde::Deserialize;

use super::Parsed;
use crate::intel::doc::{DocKind, IntelDoc, Section};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Catalog {
    #[serde(default)]
    catalog_version: String,
    vulnerabilities: Vec<Entry>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Entry {
    #[serde(rename = "cveID")]
    cve_id: String,
    vendor_project: String,
    product: String,
    vulnerability_name: String,
    date_added: String,
    short_description: String,
    required_action: String,
    known_ransomware_campaign_use: String,
    cwes: Vec<String>,
}

pub fn parse(bytes: &[u8]) -> anyhow::Result<Parsed> {
    let catalog: Catalog = serde_json::from_slice(bytes)
        .map_err(|e| anyhow::anyhow!("not a CISA KEV catalog: {e}"))?;
    let mut parsed = Parsed {
        source: "kev".into(),
        ..Parsed::default()
    };
    for e in catalog.vulnerabilities {
        if e.cve_id.is_empty() {
            parsed.skipped.push("entry without cveID".into());
            continue;
        }
        let mut summary = format!(
            "{} {}. {} Added to the CISA KEV catalog on {} (exploited in the wild).",
            e.vendor_project, e.product, e.short_description, e.date_added
        );
        if e.known_ransomware_campaign_use
            .eq_ignore_ascii_case("known")
        {
            summary.push_str(" Known to be used in ransomware campaigns.");
        }
        if !e.cwes.is_empty() {
            summary.push_str(&format!(" Weakness: {}.", e.cwes.join(", ")));
        }
        let mut sections = vec![Section {
            heading: "Summary".into(),
            text: summary,
        }];
        if !e.required_action.is_empty() {
            sections.push(Section {
                heading: "Required action".into(),
                text: e.required_action,
            });
        }
        parsed.docs.push(IntelDoc {
            url: Some(format!("https://nvd.nist.gov/vuln/detail/{}", e.cve_id)),
            id: e.cve_id,
            kind: DocKind::Cve,
            source: "kev".into(),
            title: e.vulnerability_name,
            tactics: Vec::new(),
            techniques: Vec::new(),
            sections,
            embed: true,
        });
    }
    if !catalog.catalog_version.is_empty() {
        parsed
            .notes
            .push(format!("catalog version {}", catalog.catalog_version));
    }
    Ok(parsed)
}
