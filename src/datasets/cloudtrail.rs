//! CloudTrail records: the event type, the identities that make calls, AWS-worded AccessDenied
//! errors, and rendering one record as AWS writes it (field order, types, tlsDetails).

use rand::Rng;

use super::clock::put_iso_secs;
use super::population::Population;
use super::util::{Put, Rng8, key_from, put_uuid};

/// Who made a call.
#[derive(Debug, Clone)]
pub(crate) enum Who {
    /// An IAM user; `console` = (session start, MFA) for console sessions, else long-term key.
    User {
        idx: usize,
        console: Option<(i64, bool)>,
    },
    /// An IAM user signing in (ConsoleLogin has no access key).
    UserLogin { idx: usize },
    /// A role session: role index, session index, session start.
    Role {
        idx: usize,
        session: usize,
        start: i64,
    },
    /// The account root; `console` as for users.
    Root { console: Option<(i64, bool)> },
    /// An AWS service acting on the account's behalf.
    Service(&'static str),
    /// A failed sign-in for a user name that does not exist.
    Hidden,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    ApiCall,
    ConsoleSignIn,
    ServiceEvent,
}

/// One CloudTrail record before rendering (eventID and requestID are drawn when written).
#[derive(Debug, Clone)]
pub(crate) struct CtEvent {
    pub who: Who,
    pub source: &'static str,
    pub name: &'static str,
    pub region: &'static str,
    pub ip: String,
    pub ua: String,
    pub req: Option<String>,
    pub resp: Option<String>,
    pub extra: Option<String>,
    pub resources: Option<String>,
    pub error: Option<(&'static str, String)>,
    pub read_only: bool,
    pub kind: Kind,
    pub data: bool,
    /// Host header, when not the service's regional endpoint (S3 virtual-hosted buckets).
    pub host: Option<String>,
}

fn is_read(name: &str) -> bool {
    [
        "Get",
        "List",
        "Describe",
        "Head",
        "Lookup",
        "Filter",
        "Decrypt",
        "GenerateDataKey",
        "Search",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

impl CtEvent {
    pub fn api(
        who: Who,
        source: &'static str,
        name: &'static str,
        region: &'static str,
        ip: &str,
        ua: &str,
    ) -> CtEvent {
        CtEvent {
            who,
            source,
            name,
            region,
            ip: ip.to_string(),
            ua: ua.to_string(),
            req: None,
            resp: None,
            extra: None,
            resources: None,
            error: None,
            read_only: is_read(name),
            kind: Kind::ApiCall,
            data: false,
            host: None,
        }
    }
    pub fn req(mut self, json: String) -> Self {
        self.req = Some(json);
        self
    }
    pub fn resp(mut self, json: String) -> Self {
        self.resp = Some(json);
        self
    }
    pub fn extra(mut self, json: String) -> Self {
        self.extra = Some(json);
        self
    }
    pub fn resources(mut self, json: String) -> Self {
        self.resources = Some(json);
        self
    }
    pub fn error(mut self, code: &'static str, msg: String) -> Self {
        self.error = Some((code, msg));
        self
    }
    pub fn data(mut self) -> Self {
        self.data = true;
        self
    }
    pub fn kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }
    pub fn host(mut self, host: String) -> Self {
        self.host = Some(host);
        self
    }
}

/// The ARN a principal is known by (used in AccessDenied messages and as a label entity).
pub(crate) fn principal_arn(pop: &Population, who: &Who) -> String {
    match who {
        Who::User { idx, .. } | Who::UserLogin { idx } => pop.iam_users[*idx].arn.clone(),
        Who::Role { idx, session, .. } => {
            let r = &pop.roles[*idx];
            format!(
                "arn:aws:sts::{}:assumed-role/{}/{}",
                pop.account, r.name, r.sessions[*session]
            )
        }
        Who::Root { .. } => format!("arn:aws:iam::{}:root", pop.account),
        Who::Service(s) => (*s).to_string(),
        Who::Hidden => "HIDDEN_DUE_TO_SECURITY_REASONS".to_string(),
    }
}

/// `(errorCode, errorMessage)` of an authorisation failure, worded per service as AWS does.
pub(crate) fn denied(
    pop: &Population,
    who: &Who,
    source: &str,
    name: &str,
) -> (&'static str, String) {
    let arn = principal_arn(pop, who);
    let svc = source.split('.').next().unwrap_or(source);
    let action = name.trim_end_matches(char::is_numeric);
    match svc {
        "s3" => ("AccessDenied", "Access Denied".to_string()),
        "ec2" => (
            "Client.UnauthorizedOperation",
            format!(
                "You are not authorized to perform this operation. User: {arn} is not authorized to perform: ec2:{action} because no identity-based policy allows the ec2:{action} action"
            ),
        ),
        "iam" => (
            "AccessDenied",
            format!(
                "User: {arn} is not authorized to perform: iam:{action} on resource: arn:aws:iam::{}:user/ because no identity-based policy allows the iam:{action} action",
                pop.account
            ),
        ),
        "lambda" | "kms" | "secretsmanager" | "logs" | "dynamodb" | "ecr" | "guardduty"
        | "organizations" => (
            "AccessDeniedException",
            format!(
                "User: {arn} is not authorized to perform: {svc}:{action} because no identity-based policy allows the {svc}:{action} action"
            ),
        ),
        _ => (
            "AccessDenied",
            format!(
                "User: {arn} is not authorized to perform: {svc}:{action} because no identity-based policy allows the {svc}:{action} action"
            ),
        ),
    }
}

fn put_session_context(o: &mut Vec<u8>, start: i64, mfa: bool) {
    o.s(",\"sessionContext\":{\"sessionIssuer\":{},\"webIdFederationData\":{},\"attributes\":{\"creationDate\":\"");
    put_iso_secs(o, start);
    o.s("\",\"mfaAuthenticated\":\"");
    o.s(if mfa { "true" } else { "false" });
    o.s("\"}}");
}

/// `{"type":"IAMUser","principalId":…,"arn":…,"accountId":…` — the part every IAM user
/// identity shares (the caller continues with `","…`).
fn put_iam_user_head(o: &mut Vec<u8>, principal_id: &str, arn: &str, account: &str) {
    o.s("{\"type\":\"IAMUser\",\"principalId\":\"");
    o.s(principal_id);
    o.s("\",\"arn\":\"");
    o.s(arn);
    o.s("\",\"accountId\":\"");
    o.s(account);
}

fn put_identity(o: &mut Vec<u8>, pop: &Population, who: &Who) {
    let acct = &pop.account;
    match who {
        Who::User { idx, console } => {
            let u = &pop.iam_users[*idx];
            put_iam_user_head(o, &u.principal_id, &u.arn, acct);
            o.s("\",\"accessKeyId\":\"");
            match console {
                Some((start, _)) => {
                    o.s("ASIA");
                    o.s(&key_from(*start as u64 ^ (*idx as u64) << 48));
                }
                None => o.s(&u.access_key),
            }
            o.s("\",\"userName\":\"");
            o.s(&u.name);
            o.push(b'"');
            if let Some((start, mfa)) = console {
                put_session_context(o, *start, *mfa);
            }
            o.push(b'}');
        }
        Who::UserLogin { idx } => {
            let u = &pop.iam_users[*idx];
            put_iam_user_head(o, &u.principal_id, &u.arn, acct);
            o.s("\",\"userName\":\"");
            o.s(&u.name);
            o.s("\"}");
        }
        Who::Role {
            idx,
            session,
            start,
        } => {
            let r = &pop.roles[*idx];
            let sess = &r.sessions[*session];
            o.s("{\"type\":\"AssumedRole\",\"principalId\":\"");
            o.s(&r.id);
            o.push(b':');
            o.s(sess);
            o.s("\",\"arn\":\"arn:aws:sts::");
            o.s(acct);
            o.s(":assumed-role/");
            o.s(r.name);
            o.push(b'/');
            o.s(sess);
            o.s("\",\"accountId\":\"");
            o.s(acct);
            o.s("\",\"accessKeyId\":\"ASIA");
            o.s(&key_from(
                *start as u64 ^ ((*idx as u64) << 40) ^ ((*session as u64) << 52),
            ));
            o.s("\",\"sessionContext\":{\"sessionIssuer\":{\"type\":\"Role\",\"principalId\":\"");
            o.s(&r.id);
            o.s("\",\"arn\":\"");
            o.s(&r.arn);
            o.s("\",\"accountId\":\"");
            o.s(acct);
            o.s("\",\"userName\":\"");
            o.s(r.name);
            o.s("\"},\"webIdFederationData\":{},\"attributes\":{\"creationDate\":\"");
            put_iso_secs(o, *start);
            o.s("\",\"mfaAuthenticated\":\"false\"}}}");
        }
        Who::Root { console } => {
            o.s("{\"type\":\"Root\",\"principalId\":\"");
            o.s(acct);
            o.s("\",\"arn\":\"arn:aws:iam::");
            o.s(acct);
            o.s(":root\",\"accountId\":\"");
            o.s(acct);
            o.s("\",\"accessKeyId\":\"");
            if let Some((start, _)) = console {
                o.s("ASIA");
                o.s(&key_from(*start as u64 ^ 0xdead));
            }
            o.push(b'"');
            if let Some((start, mfa)) = console {
                put_session_context(o, *start, *mfa);
            }
            o.push(b'}');
        }
        Who::Service(s) => {
            o.s("{\"type\":\"AWSService\",\"invokedBy\":\"");
            o.s(s);
            o.s("\"}");
        }
        Who::Hidden => {
            o.s("{\"type\":\"IAMUser\",\"principalId\":\"\",\"accountId\":\"");
            o.s(acct);
            o.s("\",\"accessKeyId\":\"\",\"userName\":\"HIDDEN_DUE_TO_SECURITY_REASONS\"}");
        }
    }
}

fn put_host(o: &mut Vec<u8>, ev: &CtEvent) {
    if let Some(h) = &ev.host {
        o.s(h);
        return;
    }
    let svc = ev.source.split('.').next().unwrap_or(ev.source);
    match svc {
        "iam" | "sts" | "organizations" | "cloudfront" => o.s(ev.source),
        _ => {
            o.s(svc);
            o.push(b'.');
            o.s(ev.region);
            o.s(".amazonaws.com");
        }
    }
}

/// Render one record; returns nothing but appends the eventID it drew to `id`.
pub(crate) fn render(
    o: &mut Vec<u8>,
    pop: &Population,
    rng: &mut Rng8,
    t: i64,
    ev: &CtEvent,
    id: &mut Vec<u8>,
) {
    o.s("{\"eventVersion\":\"1.08\",\"userIdentity\":");
    put_identity(o, pop, &ev.who);
    o.s(",\"eventTime\":\"");
    put_iso_secs(o, t);
    o.s("\",\"eventSource\":\"");
    o.s(ev.source);
    o.s("\",\"eventName\":\"");
    o.s(ev.name);
    o.s("\",\"awsRegion\":\"");
    o.s(ev.region);
    o.s("\",\"sourceIPAddress\":");
    o.js(&ev.ip);
    o.s(",\"userAgent\":");
    o.js(&ev.ua);
    if let Some((code, msg)) = &ev.error {
        if !code.is_empty() {
            o.s(",\"errorCode\":\"");
            o.s(code);
            o.push(b'"');
        }
        o.s(",\"errorMessage\":");
        o.js(msg);
    }
    o.s(",\"requestParameters\":");
    o.s(ev.req.as_deref().unwrap_or("null"));
    o.s(",\"responseElements\":");
    o.s(ev.resp.as_deref().unwrap_or("null"));
    if let Some(x) = &ev.extra {
        o.s(",\"additionalEventData\":");
        o.s(x);
    }
    if ev.kind != Kind::ConsoleSignIn {
        o.s(",\"requestID\":\"");
        if ev.source == "s3.amazonaws.com" {
            let n: u64 = rng.random();
            o.s(&format!("{n:016X}"));
        } else {
            put_uuid(o, rng);
        }
        o.push(b'"');
    }
    o.s(",\"eventID\":\"");
    id.clear();
    put_uuid(id, rng);
    o.extend_from_slice(id);
    o.s("\",\"readOnly\":");
    o.s(if ev.read_only { "true" } else { "false" });
    if let Some(r) = &ev.resources {
        o.s(",\"resources\":");
        o.s(r);
    }
    o.s(",\"eventType\":\"");
    o.s(match ev.kind {
        Kind::ApiCall => "AwsApiCall",
        Kind::ConsoleSignIn => "AwsConsoleSignIn",
        Kind::ServiceEvent => "AwsServiceEvent",
    });
    o.s("\",\"managementEvent\":");
    o.s(if ev.data { "false" } else { "true" });
    o.s(",\"recipientAccountId\":\"");
    o.s(&pop.account);
    o.s("\",\"eventCategory\":\"");
    o.s(if ev.data { "Data" } else { "Management" });
    o.push(b'"');
    let from_service = matches!(ev.who, Who::Service(_))
        || ev.ip.ends_with(".amazonaws.com")
        || ev.ip == "AWS Internal";
    if ev.kind == Kind::ApiCall && !from_service {
        o.s(",\"tlsDetails\":{\"tlsVersion\":\"");
        let tls13 = ev.ua.starts_with("aws-cli/2")
            || ev.ua.starts_with("Boto3")
            || ev.ua.starts_with("APN");
        o.s(if tls13 {
            "TLSv1.3\",\"cipherSuite\":\"TLS_AES_128_GCM_SHA256"
        } else {
            "TLSv1.2\",\"cipherSuite\":\"ECDHE-RSA-AES128-GCM-SHA256"
        });
        o.s("\",\"clientProvidedHostHeader\":\"");
        put_host(o, ev);
        o.s("\"}");
    }
    if matches!(
        ev.who,
        Who::User {
            console: Some(_),
            ..
        } | Who::Root { console: Some(_) }
    ) {
        o.s(",\"sessionCredentialFromConsole\":\"true\"");
    }
    o.push(b'}');
}
