//! JSON lines → events: the seed's schema, ECS-like names, any object via the field mapping.

use chrono::FixedOffset;
use serde_json::{Map, Value};

use super::fields::{as_text, lookup, status_value, timestamp_value};
use super::{Reject, RejectKind, cloudtrail};
use crate::config::FieldMapping;
use crate::domain::{Format, SecurityEvent};

/// Parse one line. CloudTrail-shaped objects are routed to the CloudTrail mapping.
pub fn parse(
    bytes: &[u8],
    mapping: &FieldMapping,
    zone: Option<FixedOffset>,
) -> Result<SecurityEvent, Reject> {
    let value: Value = serde_json::from_slice(bytes).map_err(cloudtrail::json_reject(bytes))?;
    let Value::Object(obj) = value else {
        return Err(Reject::new(
            RejectKind::MalformedJson,
            "JSON line is not an object",
        ));
    };
    if cloudtrail::is_cloudtrail(&obj) {
        return cloudtrail::from_object(obj);
    }
    from_object(obj, mapping, Format::Jsonl, zone)
}

/// Map an object through `mapping`; fields used for the schema are removed from metadata
/// (top-level keys only), everything else is kept. A nested `metadata` object is flattened in.
pub fn from_object(
    mut obj: Map<String, Value>,
    mapping: &FieldMapping,
    format: Format,
    zone: Option<FixedOffset>,
) -> Result<SecurityEvent, Reject> {
    let (ts_value, ts_key) = lookup(&obj, &mapping.timestamp).ok_or_else(|| {
        Reject::new(
            RejectKind::MissingField,
            format!(
                "no timestamp field (tried {})",
                mapping.timestamp.join(", ")
            ),
        )
    })?;
    let timestamp = timestamp_value(ts_value, zone).ok_or_else(|| {
        Reject::new(
            RejectKind::BadTimestamp,
            format!("`{ts_key}` is not a recognised time"),
        )
    })?;
    let mut used = vec![ts_key];
    let mut text_of = |names: &[String]| -> Option<String> {
        let (v, key) = lookup(&obj, names)?;
        let text = as_text(v)?;
        used.push(key);
        Some(text)
    };
    let source_ip = text_of(&mapping.source_ip);
    let user_id = text_of(&mapping.user);
    let action = text_of(&mapping.action);
    let resource = text_of(&mapping.resource);
    let status = lookup(&obj, &mapping.status).map(|(v, key)| {
        used.push(key);
        status_value(v)
    });
    let mut ev = SecurityEvent::new(
        timestamp,
        action.unwrap_or_else(|| "event".to_string()),
        format,
    );
    ev.source_ip = source_ip.filter(|s| !s.is_empty());
    ev.user_id = user_id.filter(|s| !s.is_empty());
    ev.resource = resource.unwrap_or_default();
    ev.status = status.unwrap_or_default();
    for key in &used {
        // Only top-level keys are removed; a dotted key that walked into an object keeps the
        // object (it usually holds more than the one field).
        if obj.get(key.as_str()).is_some_and(|v| !v.is_object()) {
            obj.remove(key.as_str());
        }
    }
    if let Some(Value::Object(inner)) = obj.remove("metadata") {
        ev.metadata.extend(inner);
    }
    ev.metadata.extend(obj);
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::domain::Status;

    fn mapping() -> FieldMapping {
        Config::defaults().unwrap().ingest.mapping
    }

    #[test]
    fn seed_schema() {
        let line = br#"{"timestamp":"2024-05-01T12:00:00Z","source_ip":"10.1.2.3","user_id":"alice@company.com","action":"login","resource":"/api/login","status":"failed","metadata":{"user_agent":"curl/8"}}"#;
        let ev = parse(line, &mapping(), None).unwrap();
        assert_eq!(ev.action, "login");
        assert_eq!(ev.status, Status::Failed);
        assert_eq!(ev.source_ip.as_deref(), Some("10.1.2.3"));
        assert_eq!(ev.user_id.as_deref(), Some("alice@company.com"));
        assert_eq!(ev.resource, "/api/login");
        assert_eq!(ev.metadata["user_agent"], "curl/8");
        assert!(!ev.metadata.contains_key("timestamp"));
    }

    #[test]
    fn ecs_names() {
        let line = br#"{"@timestamp":"2024-05-01T12:00:00.5Z","source":{"ip":"2001:db8::2"},"user":{"name":"bob"},"event":{"action":"user_login","outcome":"failure"},"url":{"path":"/admin"}}"#;
        let ev = parse(line, &mapping(), None).unwrap();
        assert_eq!(ev.action, "user_login");
        assert_eq!(ev.status, Status::Failed);
        assert_eq!(ev.source_ip.as_deref(), Some("2001:db8::2"));
        assert_eq!(ev.user_id.as_deref(), Some("bob"));
        assert_eq!(ev.resource, "/admin");
    }

    #[test]
    fn custom_mapping_and_rejects() {
        let mut m = mapping();
        m.timestamp = vec!["when".into()];
        let ev = parse(br#"{"when": 1714564800, "act": "x"}"#, &m, None).unwrap();
        assert_eq!(ev.timestamp.to_rfc3339(), "2024-05-01T12:00:00+00:00");
        assert_eq!(
            parse(br#"{"act": "x"}"#, &m, None).unwrap_err().kind,
            RejectKind::MissingField
        );
        assert_eq!(
            parse(br#"{"when": "later"}"#, &m, None).unwrap_err().kind,
            RejectKind::BadTimestamp
        );
        assert_eq!(
            parse(br#"[1,2]"#, &m, None).unwrap_err().kind,
            RejectKind::MalformedJson
        );
        assert_eq!(
            parse(br#"{"when": 1714564800, "#, &m, None)
                .unwrap_err()
                .kind,
            RejectKind::Truncated
        );
    }

    #[test]
    fn cloudtrail_lines_are_routed() {
        let line = br#"{"eventTime":"2024-05-01T12:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"abc"}"#;
        let ev = parse(line, &mapping(), None).unwrap();
        assert_eq!(ev.format, Format::Cloudtrail);
        assert_eq!(ev.origin.record_id.as_deref(), Some("abc"));
    }
}
