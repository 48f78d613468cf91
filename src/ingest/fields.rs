//! Field helpers shared by the JSON and CSV parsers: timestamps, status words, mapped lookups.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value};

use crate::domain::Status;

/// Parse the timestamp shapes security logs use: RFC 3339, ISO without zone (UTC), epoch
/// seconds/milliseconds/microseconds, and CICIDS-style `d/m/Y H:M[:S]`.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    parse_timestamp_in(s, None)
}

/// As [`parse_timestamp`], reading times written without a zone in `zone` (UTC when None):
/// flow exports and application logs often write the local time of the machine.
pub fn parse_timestamp_in(s: &str, zone: Option<FixedOffset>) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') && !s.is_empty() {
        return s.parse::<f64>().ok().and_then(epoch);
    }
    const NAIVE: &[&str] = &[
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f %z",
        "%d/%m/%Y %H:%M:%S",
        "%d/%m/%Y %H:%M",
        "%d/%m/%Y %I:%M:%S %p",
        "%Y/%m/%d %H:%M:%S",
        "%d/%b/%Y:%H:%M:%S %z",
    ];
    for fmt in NAIVE {
        if fmt.ends_with("%z") {
            if let Ok(t) = DateTime::parse_from_str(s, fmt) {
                return Some(t.with_timezone(&Utc));
            }
        } else if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return match zone {
                Some(z) => z.from_local_datetime(&t).single().map(|t| t.to_utc()),
                None => Some(Utc.from_utc_datetime(&t)),
            };
        }
    }
    None
}

/// Epoch number → time; the magnitude tells seconds, milliseconds or microseconds.
pub fn epoch(n: f64) -> Option<DateTime<Utc>> {
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    let micros = if n < 1e11 {
        n * 1e6
    } else if n < 1e14 {
        n * 1e3
    } else {
        n
    };
    DateTime::from_timestamp_micros(micros as i64)
}

/// A timestamp from a JSON value (string or number).
pub fn timestamp_value(v: &Value, zone: Option<FixedOffset>) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => parse_timestamp_in(s, zone),
        Value::Number(n) => n.as_f64().and_then(epoch),
        _ => None,
    }
}

/// Map outcome words and HTTP codes onto `Status`.
pub fn status_word(s: &str) -> Status {
    let lower = s.trim().to_ascii_lowercase();
    if let Ok(code) = lower.parse::<u16>() {
        return status_code(code);
    }
    match lower.as_str() {
        "success" | "succeeded" | "successful" | "ok" | "allow" | "allowed" | "accepted"
        | "true" | "pass" => Status::Success,
        "failure" | "failed" | "fail" | "error" | "invalid" | "rejected" | "false" | "timeout" => {
            Status::Failed
        }
        "denied" | "deny" | "blocked" | "forbidden" | "unauthorized" | "accessdenied" | "drop" => {
            Status::Denied
        }
        _ => Status::Unknown,
    }
}

pub fn status_code(code: u16) -> Status {
    match code {
        200..=399 => Status::Success,
        401 | 403 => Status::Denied,
        400..=599 => Status::Failed,
        _ => Status::Unknown,
    }
}

pub fn status_value(v: &Value) -> Status {
    match v {
        Value::String(s) => status_word(s),
        Value::Number(n) => n
            .as_u64()
            .and_then(|c| u16::try_from(c).ok())
            .map(status_code)
            .unwrap_or_default(),
        Value::Bool(true) => Status::Success,
        Value::Bool(false) => Status::Failed,
        _ => Status::Unknown,
    }
}

/// Find the first of `names` in `obj`: an exact key, a dotted path into nested objects
/// (`source.ip`), or a case-insensitive key. Returns the key that matched (top-level) too.
pub fn lookup<'a>(obj: &'a Map<String, Value>, names: &[String]) -> Option<(&'a Value, String)> {
    for name in names {
        if let Some(v) = obj.get(name.as_str()) {
            return Some((v, name.clone()));
        }
        if name.contains('.') {
            let mut parts = name.split('.');
            let first = parts.next()?;
            let mut cur = obj.get(first);
            for p in parts {
                cur = cur.and_then(|c| c.as_object()).and_then(|o| o.get(p));
            }
            if let Some(v) = cur.filter(|v| !v.is_null()) {
                return Some((v, name.clone()));
            }
        }
    }
    for name in names {
        if let Some((k, v)) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            return Some((v, k.clone()));
        }
    }
    None
}

/// A value as display text (strings as is, scalars printed).
pub fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        let a = parse_timestamp("2024-05-01T12:00:00Z").unwrap();
        assert_eq!(parse_timestamp("2024-05-01 12:00:00").unwrap(), a);
        assert_eq!(parse_timestamp("1714564800").unwrap(), a);
        assert_eq!(parse_timestamp("1714564800000").unwrap(), a);
        assert_eq!(parse_timestamp("01/05/2024 12:00:00").unwrap(), a);
        assert_eq!(parse_timestamp("01/05/2024 12:00").unwrap(), a);
        assert!(parse_timestamp("yesterday").is_none());
        assert!(parse_timestamp("2024-02-30T00:00:00Z").is_none());
    }

    #[test]
    fn statuses() {
        assert_eq!(status_word("FAILURE"), Status::Failed);
        assert_eq!(status_word("403"), Status::Denied);
        assert_eq!(status_word("204"), Status::Success);
        assert_eq!(status_value(&Value::Bool(false)), Status::Failed);
    }

    #[test]
    fn dotted_lookup() {
        let v: Value = serde_json::json!({"source": {"ip": "1.2.3.4"}, "User.Name": "x"});
        let obj = v.as_object().unwrap();
        let (found, key) = lookup(obj, &["source.ip".to_string()]).unwrap();
        assert_eq!(found, "1.2.3.4");
        assert_eq!(key, "source.ip");
        assert_eq!(lookup(obj, &["user.name".to_string()]).unwrap().0, "x");
    }
}
