//! AWS CloudTrail records → events: identity, source address, API call, outcome, parameters.

use serde_json::{Map, Value};

use super::fields::parse_timestamp;
use super::{Reject, RejectKind};
use crate::domain::{Format, SecurityEvent, Status};

/// Top-level keys mapped onto the schema (the rest is kept in metadata).
const MAPPED: &[&str] = &[
    "eventTime",
    "eventName",
    "sourceIPAddress",
    "eventID",
    "eventVersion",
];

/// Parse one record's bytes (an element of `Records`, or one line of JSON).
pub fn parse(bytes: &[u8]) -> Result<SecurityEvent, Reject> {
    let value: Value = serde_json::from_slice(bytes).map_err(json_reject(bytes))?;
    match value {
        Value::Object(map) => from_object(map),
        _ => Err(Reject::new(
            RejectKind::MalformedJson,
            "CloudTrail record is not a JSON object",
        )),
    }
}

/// A serde_json error as a reject: invalid UTF-8 and truncation get their own kinds.
pub fn json_reject(bytes: &[u8]) -> impl Fn(serde_json::Error) -> Reject + '_ {
    move |e| {
        if std::str::from_utf8(bytes).is_err() {
            Reject::new(RejectKind::InvalidUtf8, "record is not valid UTF-8")
        } else if e.is_eof() {
            Reject::new(
                RejectKind::Truncated,
                format!("JSON ends early (line {}, column {})", e.line(), e.column()),
            )
        } else {
            Reject::new(
                RejectKind::MalformedJson,
                format!("invalid JSON at line {}, column {}", e.line(), e.column()),
            )
        }
    }
}

/// True if a JSON object has CloudTrail's shape (used to route JSON lines).
pub fn is_cloudtrail(obj: &Map<String, Value>) -> bool {
    obj.contains_key("eventSource")
        && obj.contains_key("eventName")
        && obj.contains_key("eventTime")
}

pub fn from_object(mut obj: Map<String, Value>) -> Result<SecurityEvent, Reject> {
    let time_text = obj
        .get("eventTime")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Reject::new(
                RejectKind::MissingField,
                "CloudTrail record has no eventTime",
            )
        })?;
    let timestamp = parse_timestamp(time_text).ok_or_else(|| {
        Reject::new(
            RejectKind::BadTimestamp,
            "eventTime is not an ISO 8601 time",
        )
    })?;
    let name = obj
        .get("eventName")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Reject::new(
                RejectKind::MissingField,
                "CloudTrail record has no eventName",
            )
        })?
        .to_string();
    let mut ev = SecurityEvent::new(timestamp, name, Format::Cloudtrail);
    ev.source_ip = obj
        .get("sourceIPAddress")
        .and_then(Value::as_str)
        .map(str::to_string);
    ev.origin.record_id = obj
        .get("eventID")
        .and_then(Value::as_str)
        .map(str::to_string);
    ev.status = status(&obj, &ev.action);
    ev.resource = resource(&obj);
    let mut user_type = None;
    if let Some(identity) = obj.get("userIdentity").and_then(Value::as_object) {
        let (user, kind) = principal(identity);
        ev.user_id = user;
        user_type = kind;
    }
    let mfa = mfa_used(&obj);
    for key in MAPPED {
        obj.remove(*key);
    }
    // The record's own map becomes the metadata (moving it, not re-inserting ~20 entries).
    if let Some(kind) = user_type {
        obj.insert("user_type".into(), Value::String(kind));
    }
    if let Some(mfa) = mfa {
        obj.insert("mfa".into(), Value::Bool(mfa));
    }
    ev.metadata = obj;
    Ok(ev)
}

/// The acting principal as a name, and its identity type.
fn principal(id: &Map<String, Value>) -> (Option<String>, Option<String>) {
    let kind = id.get("type").and_then(Value::as_str).map(str::to_string);
    let text = |k: &str| id.get(k).and_then(Value::as_str).map(str::to_string);
    let arn_tail = || text("arn").and_then(|a| a.rsplit_once(':').map(|(_, t)| t.to_string()));
    let user = match kind.as_deref() {
        Some("Root") => Some("root".to_string()),
        Some("IAMUser")
        | Some("IdentityCenterUser")
        | Some("SAMLUser")
        | Some("WebIdentityUser") => text("userName")
            .or_else(|| arn_tail().map(|t| t.rsplit('/').next().unwrap_or(&t).to_string())),
        // arn:aws:sts::123:assumed-role/Role/session → Role/session
        Some("AssumedRole") => arn_tail()
            .and_then(|t| t.strip_prefix("assumed-role/").map(str::to_string))
            .or_else(|| text("principalId")),
        Some("FederatedUser") => {
            arn_tail().map(|t| t.trim_start_matches("federated-user/").to_string())
        }
        Some("AWSService") => text("invokedBy"),
        Some("AWSAccount") => text("accountId"),
        _ => text("userName").or_else(|| text("principalId")),
    };
    (user, kind)
}

fn status(obj: &Map<String, Value>, action: &str) -> Status {
    if let Some(code) = obj.get("errorCode").and_then(Value::as_str) {
        let lower = code.to_ascii_lowercase();
        return if lower.contains("accessdenied")
            || lower.contains("unauthorized")
            || lower.contains("forbidden")
        {
            Status::Denied
        } else {
            Status::Failed
        };
    }
    if action == "ConsoleLogin" || action == "CheckMfa" {
        let outcome = obj
            .get("responseElements")
            .and_then(|r| r.get(action))
            .and_then(Value::as_str)
            .unwrap_or("");
        if outcome.eq_ignore_ascii_case("failure") {
            return Status::Failed;
        }
    }
    Status::Success
}

/// What was acted on: an S3 object, an IAM entity, a trail, else the service.
fn resource(obj: &Map<String, Value>) -> String {
    let service = obj
        .get("eventSource")
        .and_then(Value::as_str)
        .unwrap_or("aws");
    let params = obj.get("requestParameters").and_then(Value::as_object);
    let param = |k: &str| params.and_then(|p| p.get(k)).and_then(Value::as_str);
    if let Some(bucket) = param("bucketName") {
        return match param("key") {
            Some(key) => format!("s3://{bucket}/{key}"),
            None => format!("s3://{bucket}"),
        };
    }
    for (key, prefix) in [
        ("userName", "iam:user/"),
        ("roleName", "iam:role/"),
        ("groupName", "iam:group/"),
        ("policyArn", ""),
        ("name", "trail:"),
        ("trailName", "trail:"),
        ("functionName", "lambda:"),
        ("keyId", "kms:"),
    ] {
        if let Some(v) = param(key) {
            return format!("{prefix}{v}");
        }
    }
    if let Some(arn) = obj
        .get("resources")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(|r| r.get("ARN"))
        .and_then(Value::as_str)
    {
        return arn.to_string();
    }
    service.to_string()
}

/// Whether MFA was used: ConsoleLogin's additionalEventData, or the session's attributes.
fn mfa_used(obj: &Map<String, Value>) -> Option<bool> {
    if let Some(v) = obj
        .get("additionalEventData")
        .and_then(|a| a.get("MFAUsed"))
        .and_then(Value::as_str)
    {
        return Some(v.eq_ignore_ascii_case("yes"));
    }
    obj.get("userIdentity")
        .and_then(|u| u.get("sessionContext"))
        .and_then(|s| s.get("attributes"))
        .and_then(|a| a.get("mfaAuthenticated"))
        .and_then(|m| match m {
            Value::String(s) => Some(s.eq_ignore_ascii_case("true")),
            Value::Bool(b) => Some(*b),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ATTACH: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"alice"},"eventTime":"2024-05-01T12:00:00Z","eventSource":"iam.amazonaws.com","eventName":"AttachUserPolicy","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.10","userAgent":"aws-cli/2.15.0","requestParameters":{"userName":"bob","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"},"responseElements":null,"requestID":"r1","eventID":"e1","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#;

    #[test]
    fn iam_user_call() {
        let ev = parse(ATTACH.as_bytes()).unwrap();
        assert_eq!(ev.action, "AttachUserPolicy");
        assert_eq!(ev.user_id.as_deref(), Some("alice"));
        assert_eq!(ev.source_ip.as_deref(), Some("203.0.113.10"));
        assert_eq!(ev.status, Status::Success);
        assert_eq!(ev.resource, "iam:user/bob");
        assert_eq!(ev.origin.record_id.as_deref(), Some("e1"));
        assert_eq!(ev.metadata["user_type"], "IAMUser");
        assert_eq!(
            ev.metadata["requestParameters"]["policyArn"],
            "arn:aws:iam::aws:policy/AdministratorAccess"
        );
        assert!(!ev.metadata.contains_key("eventTime"));
    }

    #[test]
    fn assumed_role_denied() {
        let rec = r#"{"eventTime":"2024-05-01T12:00:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/Dev/carol","sessionContext":{"attributes":{"mfaAuthenticated":"false"}}},"errorCode":"AccessDenied","sourceIPAddress":"198.51.100.1"}"#;
        let ev = parse(rec.as_bytes()).unwrap();
        assert_eq!(ev.user_id.as_deref(), Some("Dev/carol"));
        assert_eq!(ev.status, Status::Denied);
        assert_eq!(ev.metadata["mfa"], false);
    }

    #[test]
    fn root_console_login_failure() {
        let rec = r#"{"eventTime":"2024-05-01T12:00:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","userIdentity":{"type":"Root","arn":"arn:aws:iam::1:root"},"responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MFAUsed":"No"},"sourceIPAddress":"198.51.100.1"}"#;
        let ev = parse(rec.as_bytes()).unwrap();
        assert_eq!(ev.user_id.as_deref(), Some("root"));
        assert_eq!(ev.status, Status::Failed);
        assert_eq!(ev.metadata["mfa"], false);
    }

    #[test]
    fn rejects() {
        assert_eq!(
            parse(b"{\"eventName\":\"X\"}").unwrap_err().kind,
            RejectKind::MissingField
        );
        assert_eq!(
            parse(b"{\"eventTime\":\"soon\",\"eventName\":\"X\"}")
                .unwrap_err()
                .kind,
            RejectKind::BadTimestamp
        );
        assert_eq!(
            parse(b"{\"eventTime\":").unwrap_err().kind,
            RejectKind::Truncated
        );
        assert_eq!(parse(b"[1]").unwrap_err().kind, RejectKind::MalformedJson);
        assert_eq!(
            parse(b"{\"a\":\"\xff\"}").unwrap_err().kind,
            RejectKind::InvalidUtf8
        );
    }
}
