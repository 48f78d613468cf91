//! The mapping from our parsed records onto the fields and logsources Sigma rules name.
//!
//! Hand-written because it is ours: no crate knows which of AutoSec's fields a Sigma
//! logsource means. The record is read in place (borrowed, before redaction) so that
//! evaluating every rule costs no copy of the event.

use std::borrow::Cow;

use rsigma_eval::{Event, EventValue};
use serde_json::Value;

use crate::domain::{Format, SecurityEvent};

/// Sigma `(product, service)` pairs an event belongs to; `None` service stands for rules
/// that name only the product.
pub fn routes(ev: &SecurityEvent) -> Vec<(&'static str, Option<Cow<'static, str>>)> {
    match ev.format {
        Format::Cloudtrail => vec![("aws", Some(Cow::Borrowed("cloudtrail"))), ("aws", None)],
        Format::Syslog => {
            let mut out = vec![("linux", None), ("linux", Some(Cow::Borrowed("syslog")))];
            for service in linux_services(program(ev)) {
                out.push(("linux", Some(service)));
            }
            out
        }
        Format::Jsonl | Format::Csv => Vec::new(),
    }
}

/// The program that wrote a syslog line ("" when the parser found none).
pub fn program(ev: &SecurityEvent) -> &str {
    ev.metadata
        .get("program")
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The Sigma `service` names a syslog program's lines answer to: its own name (lower case,
/// without a path), the shared `auth` service for login and account tools, and `cron`.
pub fn linux_services(program: &str) -> Vec<Cow<'static, str>> {
    let name = program
        .rsplit('/')
        .next()
        .unwrap_or(program)
        .to_ascii_lowercase();
    let mut out = Vec::with_capacity(2);
    // OpenSSH 9.8 split the per-connection process off as `sshd-session`: still sshd.
    let name = if name == "sshd-session" || name == "sshd-auth" {
        "sshd".to_string()
    } else {
        name
    };
    let auth = matches!(
        name.as_str(),
        "sshd"
            | "sudo"
            | "su"
            | "login"
            | "passwd"
            | "useradd"
            | "usermod"
            | "userdel"
            | "groupadd"
            | "groupdel"
            | "groupmod"
            | "gpasswd"
            | "chpasswd"
            | "chage"
            | "chsh"
            | "pam"
            | "systemd-logind"
            | "polkitd"
    );
    let cron = matches!(name.as_str(), "cron" | "crond" | "anacron" | "crontab");
    if cron {
        out.push(Cow::Borrowed("cron"));
    }
    if auth {
        out.push(Cow::Borrowed("auth"));
    }
    if !name.is_empty() && !cron {
        out.push(Cow::Owned(name));
    }
    out
}

/// A parsed record as Sigma sees it. CloudTrail: the record's own fields (the parser keeps
/// every field but the few it maps onto the schema, which are put back here). Syslog:
/// program, pid, host, message and what the auth parser found (`user`, `source_ip`, …).
pub struct SigmaEvent<'a> {
    ev: &'a SecurityEvent,
}

impl<'a> SigmaEvent<'a> {
    pub fn new(ev: &'a SecurityEvent) -> Self {
        SigmaEvent { ev }
    }

    /// The schema fields the parsers moved out of the record, under the record's names.
    fn mapped(&self, name: &str) -> Option<EventValue<'a>> {
        let ev = self.ev;
        let text = |s: &'a str| Some(EventValue::Str(Cow::Borrowed(s)));
        match (ev.format, name) {
            (Format::Cloudtrail, "eventName") => text(&ev.action),
            (Format::Cloudtrail, "sourceIPAddress") => ev.source_ip.as_deref().and_then(text),
            (Format::Cloudtrail, "eventID") => ev.origin.record_id.as_deref().and_then(text),
            (Format::Cloudtrail, "eventTime") => Some(EventValue::Str(Cow::Owned(
                ev.timestamp
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ))),
            (Format::Syslog, "user") => ev.user_id.as_deref().and_then(text),
            (Format::Syslog, "source_ip") => ev.source_ip.as_deref().and_then(text),
            (Format::Syslog, "action") => text(&ev.action),
            (Format::Syslog, "status") => text(status_name(ev)),
            _ => None,
        }
    }

    /// Strings keyword searches look at: a syslog line's message (what the program wrote),
    /// or every string of a CloudTrail record.
    fn keyword_strings(&self) -> Vec<&'a str> {
        let ev = self.ev;
        let mut out = Vec::new();
        match ev.format {
            Format::Syslog => {
                if let Some(m) = ev.metadata.get("message").and_then(Value::as_str) {
                    out.push(m);
                }
            }
            _ => {
                out.push(ev.action.as_str());
                if let Some(ip) = ev.source_ip.as_deref() {
                    out.push(ip);
                }
                for v in ev.metadata.values() {
                    strings_in(v, &mut out, 16);
                }
            }
        }
        out
    }
}

fn status_name(ev: &SecurityEvent) -> &'static str {
    match ev.status {
        crate::domain::Status::Success => "success",
        crate::domain::Status::Failed => "failed",
        crate::domain::Status::Denied => "denied",
        crate::domain::Status::Unknown => "unknown",
    }
}

fn strings_in<'a>(v: &'a Value, out: &mut Vec<&'a str>, depth: usize) {
    if depth == 0 {
        return;
    }
    match v {
        Value::String(s) => out.push(s),
        Value::Array(a) => a.iter().for_each(|x| strings_in(x, out, depth - 1)),
        Value::Object(m) => m.values().for_each(|x| strings_in(x, out, depth - 1)),
        _ => {}
    }
}

/// What a dotted path's lookup found: nothing, its one value, or all of them (a path through
/// arrays finds one per element).
pub fn one_or_all(mut found: Vec<EventValue<'_>>) -> Option<EventValue<'_>> {
    match found.len() {
        0 => None,
        1 => found.pop(),
        _ => Some(EventValue::Array(found)),
    }
}

/// Follow a dotted path (`requestParameters.bucketName`) through objects; an array on the
/// way is searched element by element (Sigma's "any element" reading).
fn lookup<'a>(v: &'a Value, path: &[&str], out: &mut Vec<EventValue<'a>>) {
    let Some((head, rest)) = path.split_first() else {
        out.push(EventValue::from(v));
        return;
    };
    match v {
        Value::Object(m) => {
            // A literal key with dots wins over the nested reading.
            let joined = path.join(".");
            if path.len() > 1
                && let Some(x) = m.get(&joined)
            {
                out.push(EventValue::from(x));
                return;
            }
            if let Some(x) = m.get(*head) {
                lookup(x, rest, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|x| lookup(x, path, out)),
        _ => {}
    }
}

impl Event for SigmaEvent<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        if let Some(v) = self.mapped(path) {
            return Some(v);
        }
        let md = &self.ev.metadata;
        if let Some(v) = md.get(path) {
            return Some(EventValue::from(v));
        }
        let parts: Vec<&str> = path.split('.').collect();
        let (head, rest) = parts.split_first()?;
        if rest.is_empty() {
            return None;
        }
        let mut found = Vec::new();
        lookup(md.get(*head)?, rest, &mut found);
        one_or_all(found)
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        self.keyword_strings().into_iter().any(pred)
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        self.keyword_strings()
            .into_iter()
            .map(Cow::Borrowed)
            .collect()
    }

    fn to_json(&self) -> Value {
        let mut obj = self.ev.metadata.clone();
        for key in match self.ev.format {
            Format::Cloudtrail => &["eventName", "sourceIPAddress", "eventID", "eventTime"][..],
            Format::Syslog => &["user", "source_ip", "action", "status"][..],
            _ => &[][..],
        } {
            if let Some(v) = self.mapped(key) {
                obj.insert((*key).to_string(), v.to_json());
            }
        }
        Value::Object(obj)
    }
}
