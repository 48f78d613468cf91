//! `SecurityEvent`: the one schema every log format is normalised into (DESIGN.md, "unified schema").

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Free-form, format-specific fields (CloudTrail requestParameters, sshd auth method, CSV flow
/// features …). Keys sort, so stored events are byte-for-byte reproducible.
pub type Metadata = serde_json::Map<String, serde_json::Value>;

/// Outcome of the logged operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Success,
    Failed,
    /// Authorisation refused (CloudTrail AccessDenied, sudo "not in sudoers").
    Denied,
    #[default]
    Unknown,
}

/// The log format an event was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Cloudtrail,
    Syslog,
    Jsonl,
    Csv,
}

impl Format {
    /// `cloudtrail`, `syslog`, `jsonl` (or `json`), `csv`.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "cloudtrail" => Some(Format::Cloudtrail),
            "syslog" => Some(Format::Syslog),
            "jsonl" | "json" => Some(Format::Jsonl),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Cloudtrail => "cloudtrail",
            Format::Syslog => "syslog",
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an event came from, precise enough for anyone to find the original record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Origin {
    /// File path (as given on the command line, made absolute) or stream name (`stdin`).
    pub source: String,
    /// 1-based line in the source (line-oriented formats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The record's own id (CloudTrail eventID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
}

/// One normalised security event. `source_ip` and `user_id` hold pseudonyms when privacy is on.
/// Serialised by hand (below): `metadata_text`, when set, is written as the metadata.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SecurityEvent {
    /// Monotonic id assigned by the store (0 until stored). Not written inside stored chunks:
    /// it is the chunk's key plus the event's position.
    #[serde(default)]
    pub id: u64,
    pub timestamp: DateTime<Utc>,
    #[serde(default)]
    pub source_ip: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    /// "login", "sudo", "api_call" … or the CloudTrail eventName.
    pub action: String,
    pub resource: String,
    pub status: Status,
    #[serde(default)]
    pub metadata: Metadata,
    /// The whole metadata as JSON text, set only by the ingest path that keeps a CloudTrail
    /// record's own JSON (no tree is built, so the record is copied, not re-serialised). When
    /// set, it is what gets stored and `metadata` holds only the fields the detection view
    /// reads ([`crate::domain::VIEW_METADATA_KEYS`]). Never read from input: stored events
    /// come back with it unset and their full `metadata`.
    #[serde(skip)]
    pub metadata_text: Option<MetadataText>,
    pub origin: Origin,
    pub format: Format,
    /// Ids of the Sigma rules the raw record matched (evaluated before redaction). Set by
    /// the ingest workers only: no parser reads it from input.
    #[serde(default)]
    pub rules: Vec<String>,
}

impl SecurityEvent {
    /// A new event with empty optional fields; parsers fill in what their format has.
    pub fn new(timestamp: DateTime<Utc>, action: impl Into<String>, format: Format) -> Self {
        SecurityEvent {
            id: 0,
            timestamp,
            source_ip: None,
            user_id: None,
            action: action.into(),
            resource: String::new(),
            status: Status::Unknown,
            metadata: Metadata::new(),
            metadata_text: None,
            origin: Origin::default(),
            format,
            rules: Vec::new(),
        }
    }
}

/// A metadata object kept as JSON text (compared by its text).
#[derive(Debug, Clone)]
pub struct MetadataText(pub Box<serde_json::value::RawValue>);

impl PartialEq for MetadataText {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

/// The derived form, field for field, except that `metadata_text` stands in for `metadata`
/// when set. Hand-written because serde cannot pick a field's value from a sibling.
impl Serialize for SecurityEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = serializer.serialize_struct("SecurityEvent", 11)?;
        if self.id == 0 {
            st.skip_field("id")?;
        } else {
            st.serialize_field("id", &self.id)?;
        }
        st.serialize_field("timestamp", &self.timestamp)?;
        match &self.source_ip {
            Some(ip) => st.serialize_field("source_ip", ip)?,
            None => st.skip_field("source_ip")?,
        }
        match &self.user_id {
            Some(user) => st.serialize_field("user_id", user)?,
            None => st.skip_field("user_id")?,
        }
        st.serialize_field("action", &self.action)?;
        st.serialize_field("resource", &self.resource)?;
        st.serialize_field("status", &self.status)?;
        match &self.metadata_text {
            Some(text) => st.serialize_field("metadata", &text.0)?,
            None => st.serialize_field("metadata", &self.metadata)?,
        }
        st.serialize_field("origin", &self.origin)?;
        st.serialize_field("format", &self.format)?;
        if self.rules.is_empty() {
            st.skip_field("rules")?;
        } else {
            st.serialize_field("rules", &self.rules)?;
        }
        st.end()
    }
}

/// A reference to an original record: by line, or by the record's own id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EventRef {
    /// Shared: an alert keeps up to `detect.max_evidence` refs, nearly all to a few files, and
    /// a copy of the path in each was most of the live engine's memory growth.
    pub source: std::sync::Arc<str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
}
