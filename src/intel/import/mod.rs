//! `autosec intel import FILE`: detect the feed's format from its content, parse it into
//! documents. Storing, embedding and indexing are the caller's (intel::Intel::import).

mod kev;
mod nvd;
mod stix;

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, bail};

pub use nvd::EmbedPolicy;

use super::corpus::{IncidentRow, parse_lines};
use super::doc::IntelDoc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFormat {
    AttackStix,
    Kev,
    Nvd,
    Incidents,
}

impl FeedFormat {
    pub fn describe(self) -> &'static str {
        match self {
            FeedFormat::AttackStix => "MITRE ATT&CK STIX 2.1 bundle",
            FeedFormat::Kev => "CISA KEV catalog",
            FeedFormat::Nvd => "NVD CVE JSON 2.0 feed",
            FeedFormat::Incidents => "incidents JSON lines",
        }
    }
}

/// What a feed turned into.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The source these documents replace on re-import (`attack`, `kev`, `nvd:<file>` …).
    pub source: String,
    pub docs: Vec<IntelDoc>,
    /// Records that were skipped, with the reason.
    pub skipped: Vec<String>,
    /// Facts worth printing (versions, what was left lexical-only …).
    pub notes: Vec<String>,
}

/// Read a feed, gunzipping it when it starts with the gzip magic.
pub fn read_feed(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 6);
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .with_context(|| format!("{} is not valid gzip", path.display()))?;
        return Ok(out);
    }
    Ok(raw)
}

/// Recognise a feed from its first 64 KiB.
pub fn detect(bytes: &[u8]) -> Option<FeedFormat> {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(64 * 1024)]);
    let compact: String = head.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.starts_with('{') && compact.contains("\"type\":\"bundle\"") {
        return Some(FeedFormat::AttackStix);
    }
    if compact.contains("\"catalogVersion\"") || compact.contains("\"cveID\"") {
        return Some(FeedFormat::Kev);
    }
    if compact.contains("\"NVD_CVE\"") || compact.contains("\"vulnerabilities\":[{\"cve\"") {
        return Some(FeedFormat::Nvd);
    }
    let first_line = head.lines().find(|l| !l.trim().is_empty())?;
    let row: serde_json::Value = serde_json::from_str(first_line).ok()?;
    (row.get("id").is_some() && row.get("title").is_some() && row.get("summary").is_some())
        .then_some(FeedFormat::Incidents)
}

/// Parse `bytes` (from `file_name`) as `format`.
pub fn parse(
    format: FeedFormat,
    bytes: &[u8],
    file_name: &str,
    nvd_policy: &EmbedPolicy,
) -> Result<Parsed> {
    let mut parsed = match format {
        FeedFormat::AttackStix => stix::parse(bytes)?,
        FeedFormat::Kev => kev::parse(bytes)?,
        FeedFormat::Nvd => {
            let mut p = nvd::parse(bytes, nvd_policy)?;
            // Yearly NVD feeds are separate files: each replaces only itself.
            p.source = format!("nvd:{file_name}");
            p
        }
        FeedFormat::Incidents => parse_incidents(bytes, file_name)?,
    };
    for d in &mut parsed.docs {
        d.source.clone_from(&parsed.source);
    }
    let mut seen = HashSet::new();
    let before = parsed.docs.len();
    parsed.docs.retain(|d| seen.insert(d.id.clone()));
    if parsed.docs.len() < before {
        parsed.skipped.push(format!(
            "{} duplicate ids (first kept)",
            before - parsed.docs.len()
        ));
    }
    if parsed.docs.is_empty() {
        bail!(
            "{file_name}: no documents found in this {}",
            format.describe()
        );
    }
    Ok(parsed)
}

fn parse_incidents(bytes: &[u8], file_name: &str) -> Result<Parsed> {
    let text = String::from_utf8_lossy(bytes);
    let (rows, errors) = parse_lines::<IncidentRow>(&text);
    let source = format!("incidents:{file_name}");
    Ok(Parsed {
        docs: rows.into_iter().map(|r| r.into_doc(&source)).collect(),
        skipped: errors
            .into_iter()
            .map(|(line, e)| format!("line {line}: {e}"))
            .collect(),
        notes: Vec::new(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_detected_from_content() {
        assert_eq!(
            detect(br#"{"type": "bundle", "id": "bundle--1", "objects": []}"#),
            Some(FeedFormat::AttackStix)
        );
        assert_eq!(
            detect(
                br#"{"title":"CISA Catalog","catalogVersion":"2025.08.25","vulnerabilities":[]}"#
            ),
            Some(FeedFormat::Kev)
        );
        assert_eq!(
            detect(
                br#"{"resultsPerPage":1,"format":"NVD_CVE","version":"2.0","vulnerabilities":[]}"#
            ),
            Some(FeedFormat::Nvd)
        );
        assert_eq!(
            detect(b"{\"id\":\"INC-1\",\"title\":\"t\",\"summary\":\"s\"}\n"),
            Some(FeedFormat::Incidents)
        );
        assert_eq!(detect(b"hello world"), None);
        assert_eq!(detect(b"{\"Records\":[]}"), None);
    }

    #[test]
    fn nvd_feed_embeds_only_kev_and_keyword_matches() {
        let feed = br#"{"format":"NVD_CVE","version":"2.0","vulnerabilities":[
          {"cve":{"id":"CVE-2024-6387","published":"2024-07-01T13:15:10.000","vulnStatus":"Analyzed","descriptions":[{"lang":"en","value":"A signal handler race condition was found in OpenSSH's server (sshd)."}],"metrics":{"cvssMetricV31":[{"cvssData":{"version":"3.1","baseScore":8.1}}]}}},
          {"cve":{"id":"CVE-2024-0001","vulnStatus":"Analyzed","descriptions":[{"lang":"en","value":"A bug in a printer driver."}]}},
          {"cve":{"id":"CVE-2021-4034","vulnStatus":"Analyzed","descriptions":[{"lang":"en","value":"Local privilege escalation in a setuid tool."}]}},
          {"cve":{"id":"CVE-2024-0002","vulnStatus":"Rejected","descriptions":[{"lang":"en","value":"Rejected."}]}}
        ]}"#;
        let kev: HashSet<String> = ["CVE-2021-4034".to_string()].into();
        let keywords = vec!["openssh".to_string()];
        let policy = EmbedPolicy {
            kev_ids: &kev,
            keywords: &keywords,
        };
        let p = parse(FeedFormat::Nvd, feed, "nvdcve-2.0-2024.json", &policy).expect("parses");
        assert_eq!(p.source, "nvd:nvdcve-2.0-2024.json");
        let embed: Vec<(&str, bool)> = p.docs.iter().map(|d| (d.id.as_str(), d.embed)).collect();
        assert_eq!(
            embed,
            [
                ("CVE-2024-6387", true),
                ("CVE-2024-0001", false),
                ("CVE-2021-4034", true)
            ]
        );
        assert!(p.docs[0].lexical_text().contains("base score 8.1"));
        assert!(p.notes[0].contains("2 CVEs embedded"), "{:?}", p.notes);
        assert!(p.notes[0].contains("1 lexical-only"), "{:?}", p.notes);
    }

    #[test]
    fn incidents_keep_good_lines_and_report_bad_ones() {
        let text = b"{\"id\":\"INC-9\",\"title\":\"Spray\",\"summary\":\"s\",\"techniques\":[\"T1110.003\"]}\n{broken\n";
        let policy = EmbedPolicy {
            kev_ids: &HashSet::new(),
            keywords: &[],
        };
        let p = parse(FeedFormat::Incidents, text, "past.jsonl", &policy).expect("parses");
        assert_eq!(p.docs.len(), 1);
        assert_eq!(p.docs[0].source, "incidents:past.jsonl");
        assert_eq!(p.skipped.len(), 1);
        assert!(p.skipped[0].starts_with("line 2:"));
    }
}
