//! Format detection from a file's first bytes (after decompression) and, weakly, its name.

use std::path::Path;

use serde_json::Value;

use super::syslog::looks_like_syslog;
use crate::domain::Format;

/// How a source is framed and parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// `{"Records": [...]}` documents, streamed record by record.
    CloudTrailDocument,
    /// One JSON object per line (CloudTrail-shaped objects are recognised per line).
    JsonLines,
    Syslog,
    Csv,
}

impl SourceKind {
    pub fn format(self) -> Format {
        match self {
            SourceKind::CloudTrailDocument => Format::Cloudtrail,
            SourceKind::JsonLines => Format::Jsonl,
            SourceKind::Syslog => Format::Syslog,
            SourceKind::Csv => Format::Csv,
        }
    }

    pub fn is_line_based(self) -> bool {
        !matches!(self, SourceKind::CloudTrailDocument)
    }
}

/// Detect the kind from `head` (the first KiBs), honouring a forced `format`.
pub fn detect(head: &[u8], path: &Path, forced: Option<Format>) -> Option<SourceKind> {
    // The head is a whole read buffer (up to a MiB): validate it the fast way, and pay for
    // the lossy walk only when it is not valid UTF-8.
    let text = match std::str::from_utf8(head) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(head),
    };
    let body = text.trim_start_matches('\u{feff}').trim_start();
    let is_document = body.starts_with('{') && is_records_document(body);
    match forced {
        Some(Format::Cloudtrail) => {
            return Some(if is_document {
                SourceKind::CloudTrailDocument
            } else {
                SourceKind::JsonLines
            });
        }
        Some(Format::Jsonl) => return Some(SourceKind::JsonLines),
        Some(Format::Syslog) => return Some(SourceKind::Syslog),
        Some(Format::Csv) => return Some(SourceKind::Csv),
        None => {}
    }
    if body.is_empty() {
        return None;
    }
    if is_document {
        return Some(SourceKind::CloudTrailDocument);
    }
    let first_line = body.lines().next().unwrap_or("");
    if first_line.starts_with('{') {
        return Some(SourceKind::JsonLines);
    }
    let syslog_lines = body
        .lines()
        .take(5)
        .filter(|l| looks_like_syslog(l))
        .count();
    if syslog_lines > 0 && looks_like_syslog(first_line) {
        return Some(SourceKind::Syslog);
    }
    let ext_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if ext_csv || looks_like_csv(body) {
        return Some(SourceKind::Csv);
    }
    None
}

/// The first object's first key is `Records` (AWS's delivery format), or a complete first
/// line parses to an object holding a `Records` array.
fn is_records_document(body: &str) -> bool {
    let after_brace = body[1..].trim_start();
    if after_brace.starts_with("\"Records\"") {
        return true;
    }
    let first_line = body.lines().next().unwrap_or("");
    matches!(serde_json::from_str::<Value>(first_line), Ok(Value::Object(o)) if o.get("Records").is_some_and(Value::is_array))
}

/// A header and rows with the same number of commas (at least two columns).
fn looks_like_csv(body: &str) -> bool {
    let mut lines = body.lines().filter(|l| !l.trim().is_empty());
    let Some(header) = lines.next() else {
        return false;
    };
    let columns = header.matches(',').count();
    if columns == 0 {
        return false;
    }
    let rows: Vec<_> = lines.take(5).collect();
    // The last sampled row may be cut off by the sample size.
    !rows.is_empty()
        && rows
            .iter()
            .take(rows.len().saturating_sub(1).max(1))
            .all(|r| r.matches(',').count() == columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str, name: &str) -> Option<SourceKind> {
        detect(s.as_bytes(), Path::new(name), None)
    }

    #[test]
    fn detects_each_format() {
        assert_eq!(
            d("{\"Records\":[{\"eventTime\":1}]}", "x.json"),
            Some(SourceKind::CloudTrailDocument)
        );
        assert_eq!(
            d("\u{feff}{\n  \"Records\": [\n", "x.json"),
            Some(SourceKind::CloudTrailDocument)
        );
        assert_eq!(
            d("{\"a\":1}\n{\"b\":2}\n", "x"),
            Some(SourceKind::JsonLines)
        );
        assert_eq!(
            d(
                "Mar  5 06:25:01 web-1 sshd[1]: Accepted publickey for a from 1.2.3.4 port 1 ssh2\n",
                "auth.log"
            ),
            Some(SourceKind::Syslog)
        );
        assert_eq!(d("a,b,c\n1,2,3\n4,5,6\n", "flows"), Some(SourceKind::Csv));
        assert_eq!(d("\x00\x01\x02garbage", "blob.bin"), None);
        assert_eq!(d("", "empty.log"), None);
    }

    #[test]
    fn forced_format_wins() {
        let f = detect(b"hello", Path::new("x"), Some(Format::Syslog));
        assert_eq!(f, Some(SourceKind::Syslog));
    }
}
