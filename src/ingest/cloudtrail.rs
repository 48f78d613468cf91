//! AWS CloudTrail records → events: identity, source address, API call, outcome, parameters.

use serde_json::{Map, Value};

use super::fields::parse_timestamp;
use super::{Reject, RejectKind};
use crate::domain::{Format, SecurityEvent, Status};

/// Top-level keys mapped onto the schema (the rest is kept in metadata).
pub(super) const MAPPED: &[&str] = &[
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
    let top = &obj;
    let (identity, params) = (top.object("userIdentity"), top.object("requestParameters"));
    let (mut ev, user_type, mfa) = build(&facts(&top, identity.as_ref(), params.as_ref()))?;
    ev.metadata = {
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
        obj
    };
    Ok(ev)
}

/// What the schema takes from a record, read off a `Value` tree here or off the record's own
/// text by [`super::cloudtrail_text`]: one set of rules for both readings.
#[derive(Default)]
pub(super) struct Facts<'a> {
    pub time: Option<&'a str>,
    pub name: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub event_id: Option<&'a str>,
    pub service: Option<&'a str>,
    pub error_code: Option<&'a str>,
    /// `responseElements[eventName]` (ConsoleLogin's and CheckMfa's outcome).
    pub outcome: Option<&'a str>,
    /// Present when `userIdentity` is an object.
    pub identity: Option<Identity<'a>>,
    pub bucket: Option<&'a str>,
    pub object_key: Option<&'a str>,
    /// `requestParameters` values of [`RESOURCE_PARAMS`], in its order.
    pub params: [Option<&'a str>; RESOURCE_PARAMS.len()],
    pub first_resource_arn: Option<&'a str>,
    /// `additionalEventData.MFAUsed`.
    pub mfa_used: Option<&'a str>,
    /// `userIdentity.sessionContext.attributes.mfaAuthenticated` (a string or a bool).
    pub mfa_authenticated: Option<bool>,
}

#[derive(Default)]
pub(super) struct Identity<'a> {
    pub kind: Option<&'a str>,
    pub user_name: Option<&'a str>,
    pub arn: Option<&'a str>,
    pub principal_id: Option<&'a str>,
    pub invoked_by: Option<&'a str>,
    pub account_id: Option<&'a str>,
}

/// Request parameters that name what was acted on, and the prefix each gets.
pub(super) const RESOURCE_PARAMS: [(&str, &str); 8] = [
    ("userName", "iam:user/"),
    ("roleName", "iam:role/"),
    ("groupName", "iam:group/"),
    ("policyArn", ""),
    ("name", "trail:"),
    ("trailName", "trail:"),
    ("functionName", "lambda:"),
    ("keyId", "kms:"),
];

/// A JSON object as the schema reads it: a `Value` map here, the record's own text in
/// [`super::cloudtrail_text`].
pub(super) trait Object<'a>: Sized {
    /// The string under `key` (None for anything else).
    fn text(&self, key: &str) -> Option<&'a str>;
    fn object(&self, key: &str) -> Option<Self>;
    /// The first element of the array under `key`, when it is an object.
    fn first_object(&self, key: &str) -> Option<Self>;
    /// A bool, or a string read as one (`"true"` in any case).
    fn flag(&self, key: &str) -> Option<bool>;
}

impl<'a> Object<'a> for &'a Map<String, Value> {
    fn text(&self, key: &str) -> Option<&'a str> {
        self.get(key).and_then(Value::as_str)
    }

    fn object(&self, key: &str) -> Option<Self> {
        self.get(key).and_then(Value::as_object)
    }

    fn first_object(&self, key: &str) -> Option<Self> {
        self.get(key)
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(Value::as_object)
    }

    fn flag(&self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Value::String(s) => Some(s.eq_ignore_ascii_case("true")),
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

/// A record's facts; `identity` and `params` are its `userIdentity` and `requestParameters`
/// objects (read by the caller, who may need them again).
pub(super) fn facts<'a, O: Object<'a>>(
    top: &O,
    identity: Option<&O>,
    params: Option<&O>,
) -> Facts<'a> {
    let name = top.text("eventName");
    let param = |k: &str| params.and_then(|p| p.text(k));
    Facts {
        time: top.text("eventTime"),
        name,
        ip: top.text("sourceIPAddress"),
        event_id: top.text("eventID"),
        service: top.text("eventSource"),
        error_code: top.text("errorCode"),
        outcome: name.and_then(|n| top.object("responseElements")?.text(n)),
        identity: identity.map(|id| Identity {
            kind: id.text("type"),
            user_name: id.text("userName"),
            arn: id.text("arn"),
            principal_id: id.text("principalId"),
            invoked_by: id.text("invokedBy"),
            account_id: id.text("accountId"),
        }),
        bucket: param("bucketName"),
        object_key: param("key"),
        params: RESOURCE_PARAMS.map(|(k, _)| param(k)),
        first_resource_arn: top.first_object("resources").and_then(|r| r.text("ARN")),
        mfa_used: top
            .object("additionalEventData")
            .and_then(|a| a.text("MFAUsed")),
        mfa_authenticated: identity
            .and_then(|u| u.object("sessionContext"))
            .and_then(|s| s.object("attributes"))
            .and_then(|a| a.flag("mfaAuthenticated")),
    }
}

/// The event a record's facts make (metadata left empty), its identity type and whether MFA
/// was used.
pub(super) fn build(
    f: &Facts<'_>,
) -> Result<(SecurityEvent, Option<String>, Option<bool>), Reject> {
    let time_text = f.time.ok_or_else(|| {
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
    let name = f.name.ok_or_else(|| {
        Reject::new(
            RejectKind::MissingField,
            "CloudTrail record has no eventName",
        )
    })?;
    let mut ev = SecurityEvent::new(timestamp, name, Format::Cloudtrail);
    ev.source_ip = f.ip.map(str::to_string);
    ev.origin.record_id = f.event_id.map(str::to_string);
    ev.status = status(f, name);
    ev.resource = resource(f);
    let mut user_type = None;
    if let Some(identity) = &f.identity {
        ev.user_id = principal(identity);
        user_type = identity.kind.map(str::to_string);
    }
    let mfa = f
        .mfa_used
        .map(|v| v.eq_ignore_ascii_case("yes"))
        .or(f.mfa_authenticated);
    Ok((ev, user_type, mfa))
}

/// The acting principal as a name.
fn principal(id: &Identity<'_>) -> Option<String> {
    let text = |v: Option<&str>| v.map(str::to_string);
    let arn_tail = || {
        id.arn
            .and_then(|a| a.rsplit_once(':').map(|(_, t)| t.to_string()))
    };
    match id.kind {
        Some("Root") => Some("root".to_string()),
        Some("IAMUser")
        | Some("IdentityCenterUser")
        | Some("SAMLUser")
        | Some("WebIdentityUser") => text(id.user_name)
            .or_else(|| arn_tail().map(|t| t.rsplit('/').next().unwrap_or(&t).to_string())),
        // arn:aws:sts::123:assumed-role/Role/session → Role/session
        Some("AssumedRole") => arn_tail()
            .and_then(|t| t.strip_prefix("assumed-role/").map(str::to_string))
            .or_else(|| text(id.principal_id)),
        Some("FederatedUser") => {
            arn_tail().map(|t| t.trim_start_matches("federated-user/").to_string())
        }
        Some("AWSService") => text(id.invoked_by),
        Some("AWSAccount") => text(id.account_id),
        _ => text(id.user_name).or_else(|| text(id.principal_id)),
    }
}

fn status(f: &Facts<'_>, action: &str) -> Status {
    if let Some(code) = f.error_code {
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
    if (action == "ConsoleLogin" || action == "CheckMfa")
        && f.outcome.unwrap_or("").eq_ignore_ascii_case("failure")
    {
        return Status::Failed;
    }
    Status::Success
}

/// What was acted on: an S3 object, an IAM entity, a trail, else the service.
fn resource(f: &Facts<'_>) -> String {
    if let Some(bucket) = f.bucket {
        return match f.object_key {
            Some(key) => format!("s3://{bucket}/{key}"),
            None => format!("s3://{bucket}"),
        };
    }
    for ((_, prefix), value) in RESOURCE_PARAMS.iter().zip(f.params) {
        if let Some(v) = value {
            return format!("{prefix}{v}");
        }
    }
    if let Some(arn) = f.first_resource_arn {
        return arn.to_string();
    }
    f.service.unwrap_or("aws").to_string()
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
