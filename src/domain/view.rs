//! `EventView`: the compact projection of an event that detection needs, computed once in the
//! ingest workers and stored beside each chunk (so detection replays without decoding events).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Format, SecurityEvent, Status, flow};

/// What kind of activity an event is, for the detectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// An authentication attempt (sshd, PAM, app login, ConsoleLogin).
    Login,
    Sudo,
    Su,
    /// A cloud API call.
    ApiCall,
    /// A network flow record.
    Flow,
    Other,
}

/// The fields detection reads, with pseudonyms (built after redaction).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    /// Filled in from the chunk key when read back.
    #[serde(skip)]
    pub id: u64,
    /// Milliseconds since the Unix epoch.
    pub ts: i64,
    pub line: Option<u64>,
    pub record_id: Option<String>,
    pub ip: Option<String>,
    /// The source's network (IPv4 /24, IPv6 /48): a keyed pseudonym with privacy on, so a
    /// new address in a VPN pool or a DHCP range the account already uses is not "new".
    #[serde(default)]
    pub network: Option<String>,
    pub user: Option<String>,
    pub action: String,
    pub resource: String,
    pub status: Status,
    pub format: Format,
    pub kind: EventKind,
    pub agent: Option<String>,
    pub region: Option<String>,
    /// CloudTrail eventSource (`iam.amazonaws.com`).
    pub service: Option<String>,
    /// CloudTrail errorCode.
    pub error: Option<String>,
    /// CloudTrail identity type (`Root`, `IAMUser`, `AssumedRole` …).
    pub user_type: Option<String>,
    pub mfa: Option<bool>,
    /// The account acted upon: IAM `userName` parameter, sudo/su target.
    pub target: Option<String>,
    /// An IAM change that grants administrator rights (policy ARN or inline document).
    pub admin_grant: bool,
    /// A trail/logging change that reduces what is recorded.
    pub weakens_logging: bool,
    pub bucket: Option<String>,
    /// sshd: the account does not exist.
    pub invalid_user: bool,
    /// How many attempts this one record stands for (sudo "3 incorrect password attempts",
    /// rsyslog "message repeated N times").
    pub attempts: u32,
    /// Flows: destination address and port, and the numeric flow features.
    pub dst: Option<String>,
    pub dst_port: Option<u32>,
    pub flow: Vec<f32>,
    /// Ids of the Sigma rules the raw record matched.
    pub rules: Vec<String>,
}

impl EventView {
    pub fn from_event(ev: &SecurityEvent) -> EventView {
        let md = &ev.metadata;
        let text = |k: &str| md.get(k).and_then(Value::as_str).map(str::to_string);
        let params = md.get("requestParameters");
        let param = |k: &str| {
            params
                .and_then(|p| p.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let kind = kind_of(ev);
        // A client closing its own connection before authenticating is no attempt.
        let attempts = if md.get("client_closed").is_some() {
            0
        } else {
            md.get("failed_attempts")
                .or_else(|| md.get("repeat"))
                .and_then(Value::as_u64)
                .map_or(1, |n| n.clamp(1, 1000) as u32)
        };
        let (dst, dst_port, flow) = if kind == EventKind::Flow {
            flow_fields(ev)
        } else {
            (None, None, Vec::new())
        };
        EventView {
            id: ev.id,
            ts: ev.timestamp.timestamp_millis(),
            line: ev.origin.line,
            record_id: ev.origin.record_id.clone(),
            ip: ev.source_ip.clone(),
            network: network_of_source(ev),
            user: ev.user_id.clone(),
            action: ev.action.clone(),
            resource: ev.resource.clone(),
            status: ev.status,
            format: ev.format,
            kind,
            agent: text("userAgent")
                .or_else(|| text("user_agent"))
                .or_else(|| {
                    md.get("user_agent")
                        .and_then(|u| u.get("original"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                }),
            region: text("awsRegion").or_else(|| text("country")),
            service: text("eventSource"),
            error: text("errorCode"),
            user_type: text("user_type"),
            mfa: md.get("mfa").and_then(Value::as_bool),
            target: param("userName").or_else(|| text("target_user")),
            admin_grant: grants_admin(&ev.action, params),
            weakens_logging: weakens_logging(&ev.action, params),
            bucket: param("bucketName"),
            invalid_user: md
                .get("invalid_user")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            attempts,
            dst,
            dst_port,
            flow,
            rules: ev.rules.clone(),
        }
    }

    pub fn failed(&self) -> bool {
        matches!(self.status, Status::Failed | Status::Denied)
    }

    /// An sshd line that counts against its source the way fail2ban's and CrowdSec's ssh
    /// brute-force defaults count: a failed password/key, `Invalid user`, too many attempts,
    /// a refused user, a pre-auth disconnect by sshd. Not counted: a client closing its own
    /// connection (zero attempts; fail2ban's no-failure), and the `pam_unix(sshd:auth)`
    /// line that repeats a failed password (fail2ban's sshd jail does not read it). Old sshd
    /// builds (`sshd(pam_unix)`) log only the PAM line, so there it is the attempt.
    pub fn ssh_failure_signal(&self) -> bool {
        if self.format != Format::Syslog
            || !self.failed()
            || self.ip.is_none()
            || self.attempts == 0
        {
            return false;
        }
        let Some((_, program)) = self.resource.rsplit_once('/') else {
            return false;
        };
        match self.action.as_str() {
            "auth_failure" => program.starts_with("sshd("),
            _ => program == "sshd" || program.starts_with("sshd(") || program.starts_with("sshd-"),
        }
    }
}

/// Metadata key of the network pseudonym the redactor sets.
pub const SOURCE_NETWORK: &str = "source_network";

/// Every top-level metadata key [`EventView::from_event`] reads for a CloudTrail or JSON
/// event (syslog and flow keys aside): an event whose metadata is kept as text carries these
/// alone as a map. Keep in step with `from_event`; the CloudTrail text path's tests compare
/// the two views over a generated week.
pub const VIEW_METADATA_KEYS: &[&str] = &[
    "userAgent",
    "user_agent",
    "awsRegion",
    "country",
    "eventSource",
    "errorCode",
    "user_type",
    "mfa",
    "requestParameters",
    "target_user",
    "invalid_user",
    "client_closed",
    "failed_attempts",
    "repeat",
    SOURCE_NETWORK,
];

/// The network (`a.b.c.0/24`, or the /48 of an IPv6 address) of a raw address; None for
/// anything that is not an address.
pub fn network_of(ip: &str) -> Option<String> {
    match ip.trim().parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            Some(format!("{a}.{b}.{c}.0/24"))
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            Some(format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]))
        }
    }
}

/// A raw address gives its own network; a pseudonymised one the redactor's network token
/// (read only then: the redactor always overwrites the key, so input cannot forge it).
fn network_of_source(ev: &SecurityEvent) -> Option<String> {
    let ip = ev.source_ip.as_deref()?;
    network_of(ip).or_else(|| {
        ip.starts_with("IP_ADDRESS_")
            .then(|| {
                ev.metadata
                    .get(SOURCE_NETWORK)?
                    .as_str()
                    .map(str::to_string)
            })
            .flatten()
    })
}

fn kind_of(ev: &SecurityEvent) -> EventKind {
    let action = ev.action.to_ascii_lowercase();
    match ev.format {
        Format::Csv if ev.action == "flow" => EventKind::Flow,
        Format::Cloudtrail if ev.action == "ConsoleLogin" => EventKind::Login,
        Format::Cloudtrail => EventKind::ApiCall,
        // One sshd password attempt logs twice ("pam_unix(sshd:auth): authentication failure"
        // and "Failed password"), and "Invalid user" precedes the attempt itself: only the
        // sshd outcome lines count as attempts. PAM failures of sudo/su are theirs.
        Format::Syslog => {
            let md = &ev.metadata;
            let pam = md.get("pam_service").and_then(Value::as_str).unwrap_or("");
            match action.as_str() {
                "login" if md.get("stage").and_then(Value::as_str) == Some("invalid_user") => {
                    EventKind::Other
                }
                "login" => EventKind::Login,
                "auth_failure" if pam == "sudo" => EventKind::Sudo,
                "auth_failure" if pam == "su" || pam == "su-l" => EventKind::Su,
                "auth_failure" if pam == "sshd" => EventKind::Other,
                "auth_failure" => EventKind::Login,
                "sudo" => EventKind::Sudo,
                "su" => EventKind::Su,
                _ => EventKind::Other,
            }
        }
        _ if ["login", "logon", "signin", "sign_in", "authenticat"]
            .iter()
            .any(|w| action.contains(w))
            && !action.contains("logout") =>
        {
            EventKind::Login
        }
        _ => EventKind::Other,
    }
}

/// Attaching an administrator policy, or an inline policy allowing every action.
fn grants_admin(action: &str, params: Option<&Value>) -> bool {
    let Some(p) = params else { return false };
    match action {
        "AttachUserPolicy" | "AttachRolePolicy" | "AttachGroupPolicy" => p
            .get("policyArn")
            .and_then(Value::as_str)
            .is_some_and(|arn| {
                arn.ends_with("/AdministratorAccess") || arn.ends_with("/IAMFullAccess")
            }),
        "PutUserPolicy" | "PutRolePolicy" | "PutGroupPolicy" | "CreatePolicyVersion" => {
            let doc = p.get("policyDocument").map(|d| match d {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            doc.is_some_and(|d| {
                let compact: String = d.chars().filter(|c| !c.is_whitespace()).collect();
                compact.contains("\"Action\":\"*\"")
                    || compact.contains("\"Action\":[\"*\"")
                    || compact.contains("\"iam:*\"")
            })
        }
        _ => false,
    }
}

/// Stopping or deleting a trail, or changing it so that less is recorded.
fn weakens_logging(action: &str, params: Option<&Value>) -> bool {
    match action {
        "StopLogging" | "DeleteTrail" | "DeleteEventDataStore" | "StopEventDataStoreIngestion" => {
            true
        }
        "PutEventSelectors"
        | "PutAdvancedEventSelectors"
        | "UpdateTrail"
        | "UpdateEventDataStore" => {
            let p = params.map(Value::to_string).unwrap_or_default();
            let compact: String = p.chars().filter(|c| !c.is_whitespace()).collect();
            compact.contains("\"IncludeManagementEvents\":false")
                || compact.contains("\"includeManagementEvents\":false")
                || compact.contains("\"ReadWriteType\":\"ReadOnly\"")
                || compact.contains("\"readWriteType\":\"ReadOnly\"")
                || compact.contains("ExcludeManagementEventSources")
                || compact.contains("excludeManagementEventSources")
                || compact.contains("\"enableLogFileValidation\":false")
                || compact.contains("\"isMultiRegionTrail\":false")
                || compact.contains("\"EnableLogFileValidation\":false")
                || compact.contains("\"IsMultiRegionTrail\":false")
                || compact.contains("\"includeGlobalServiceEvents\":false")
                || compact.contains("\"IncludeGlobalServiceEvents\":false")
        }
        _ => false,
    }
}

/// Destination, port and the named features of a flow row (`domain::flow`).
fn flow_fields(ev: &SecurityEvent) -> (Option<String>, Option<u32>, Vec<f32>) {
    // The CSV parser wrote the destination into `resource` (`addr:port`).
    let (addr, port) = match ev.resource.rsplit_once(':') {
        Some((a, p)) => (a, p.parse().ok()),
        None => (ev.resource.as_str(), None),
    };
    let dst = Some(addr.to_string()).filter(|a| !a.is_empty());
    let port = port.or_else(|| flow::port(&ev.metadata, flow::DST_PORT));
    (dst, port, flow::features(&ev.metadata))
}
