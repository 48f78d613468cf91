//! Syslog messages → event fields: sshd, sudo, su and pam_unix classification.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::header::{Header, walk_sd};
use crate::domain::{Format, Metadata, SecurityEvent, Status};

const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

// ---------------------------------------------------------------------------------------------
// Event building and classification
// ---------------------------------------------------------------------------------------------

pub(super) fn nil_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

pub(super) fn build_event(timestamp: DateTime<Utc>, head: &Header<'_>) -> SecurityEvent {
    let host = nil_dash(head.host);
    let program = nil_dash(head.program);
    // The action is set last, so it is allocated once.
    let mut ev = SecurityEvent::new(timestamp, String::new(), Format::Syslog);
    let mut resource = String::with_capacity(host.len() + program.len() + 1);
    resource.push_str(host);
    resource.push('/');
    resource.push_str(program);
    ev.resource = resource;

    let md = &mut ev.metadata;
    put(md, "host", host);
    put(md, "program", program);
    let pid = if head.pid.is_empty() {
        Value::Null
    } else {
        number_or_string(head.pid)
    };
    md.insert("pid".to_owned(), pid);
    if let Some(pri) = head.pri {
        let (facility, severity) = (usize::from(pri >> 3), usize::from(pri & 7));
        if let Some(f) = FACILITIES.get(facility) {
            put(md, "facility", *f);
        }
        if let Some(s) = SEVERITIES.get(severity) {
            put(md, "severity", *s);
        }
    }
    if !head.msgid.is_empty() {
        put(md, "msgid", head.msgid);
    }
    if !head.sd.is_empty() {
        let mut sd = Metadata::new();
        if walk_sd(head.sd, Some(&mut sd)).is_some() {
            md.insert("sd".to_owned(), Value::Object(sd));
        }
    }
    put(md, "message", head.msg);

    classify(&mut ev, head.program, head.msg);
    if ev.action.is_empty() {
        ev.action.push_str("syslog");
    }
    ev
}

pub(super) fn put(md: &mut Metadata, key: &str, value: impl Into<Value>) {
    md.insert(key.to_owned(), value.into());
}

pub(super) fn number_or_string(s: &str) -> Value {
    match s.parse::<u64>() {
        Ok(n) => Value::from(n),
        Err(_) => Value::from(s),
    }
}

pub(super) fn non_empty(s: &str) -> Option<&str> {
    Some(s).filter(|s| !s.is_empty())
}

pub(super) fn is_ip(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
}

/// Records the outcome; `user` is the acting user.
pub(super) fn set(
    ev: &mut SecurityEvent,
    action: &'static str,
    status: Status,
    user: Option<&str>,
) {
    ev.action = action.to_owned();
    ev.status = status;
    if let Some(u) = user.and_then(non_empty) {
        ev.user_id = Some(u.to_owned());
    }
}

/// The remote end goes to `source_ip`: an IP, or a hostname (sshd `UseDNS`, PAM `rhost=`),
/// which privacy pseudonymises as a host (`HOST_n`) and which is never resolved. Either way
/// the source-address detectors see it; `remote_is_name` says it is not an address.
pub(super) fn set_remote(ev: &mut SecurityEvent, host: &str) {
    if is_ip(host) {
        ev.source_ip = Some(host.to_owned());
    } else if is_host_name(host) {
        ev.source_ip = Some(host.to_owned());
        put(&mut ev.metadata, "remote_is_name", true);
    }
}

/// Letters, digits, dots and dashes, with a dot or dash somewhere (PAM writes bare words
/// such as a tty name for local logins; those are not remote hosts).
fn is_host_name(s: &str) -> bool {
    s.len() <= 253
        && s.contains(['.', '-'])
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && s.bytes().any(|b| b.is_ascii_alphabetic())
}

pub(super) fn put_user(ev: &mut SecurityEvent, key: &'static str, user: &str) {
    if !user.is_empty() {
        put(&mut ev.metadata, key, user);
    }
}

pub(super) fn classify(ev: &mut SecurityEvent, program: &str, msg: &str) {
    let msg = match unwrap_repeat(msg) {
        Some((count, inner)) => {
            put(&mut ev.metadata, "repeat", count);
            inner
        }
        None => msg,
    };
    if let Some(rest) = msg.strip_prefix("pam_unix(")
        && classify_pam(ev, rest)
    {
        return;
    }
    // Older PAM names itself in the program: `sshd(pam_unix)[pid]: authentication failure; …`.
    if let Some(service) = program.strip_suffix("(pam_unix)")
        && classify_pam(ev, &format!("{service}): {msg}"))
    {
        return;
    }
    if program == "sshd" || program.starts_with("sshd-") {
        classify_sshd(ev, msg);
    } else if program == "sudo" {
        classify_sudo(ev, msg);
    } else if program == "su" {
        classify_su(ev, msg);
    }
}

/// rsyslog's `message repeated 3 times: [ inner]`.
pub(super) fn unwrap_repeat(msg: &str) -> Option<(u64, &str)> {
    let rest = msg.strip_prefix("message repeated ")?;
    let (count, rest) = rest.split_once(' ')?;
    let count = count.parse().ok()?;
    let inner = rest.strip_prefix("times: [")?;
    let inner = inner.strip_suffix(']').unwrap_or(inner);
    Some((count, inner.trim_start()))
}

// --- sshd -------------------------------------------------------------------------------------

/// A peer address as sshd prints it: `HOST[ port N]`, with what follows.
#[derive(Debug, Clone, Copy)]
pub(super) struct Addr<'a> {
    host: &'a str,
    port: Option<u16>,
    rest: &'a str,
}

/// ` port N` at the start of `s`.
pub(super) fn port_prefix(s: &str) -> Option<(u16, &str)> {
    let p = s.strip_prefix(" port ")?;
    let n = p.bytes().take_while(u8::is_ascii_digit).count();
    Some((p.get(..n)?.parse().ok()?, p.get(n..)?))
}

/// `HOST[ port N]...` with HOST the first token; valid when there is a port or HOST is an IP.
pub(super) fn addr_at_start(s: &str) -> Option<Addr<'_>> {
    let end = s.find(' ').unwrap_or(s.len());
    let host = s.get(..end)?;
    let after = s.get(end..)?;
    let (port, rest) = match port_prefix(after) {
        Some((port, rest)) => (Some(port), rest),
        None => (None, after),
    };
    (!host.is_empty() && (port.is_some() || is_ip(host))).then_some(Addr { host, port, rest })
}

/// `USER from HOST port N...`, searching from the right: invalid usernames are chosen by the
/// client and may themselves contain " from ".
pub(super) fn split_user_from(s: &str) -> Option<(&str, Addr<'_>)> {
    s.rmatch_indices(" from ").find_map(|(idx, _)| {
        let addr = addr_at_start(s.get(idx + 6..)?)?;
        Some((s.get(..idx)?, addr))
    })
}

/// `[USER ]HOST port N...` (HOST is the last token before ` port N`), or `[USER ]IP`.
pub(super) fn split_user_host(s: &str) -> Option<(&str, Addr<'_>)> {
    for (idx, _) in s.rmatch_indices(" port ") {
        let (Some(before), Some(after)) = (s.get(..idx), s.get(idx..)) else {
            continue;
        };
        let Some((port, rest)) = port_prefix(after) else {
            continue;
        };
        let (user, host) = before.rsplit_once(' ').unwrap_or(("", before));
        if !host.is_empty() {
            let port = Some(port);
            return Some((user, Addr { host, port, rest }));
        }
    }
    let (user, host) = s.rsplit_once(' ').unwrap_or(("", s));
    is_ip(host).then_some((
        user,
        Addr {
            host,
            port: None,
            rest: "",
        },
    ))
}

pub(super) fn put_addr(ev: &mut SecurityEvent, addr: &Addr<'_>) {
    set_remote(ev, addr.host);
    if let Some(port) = addr.port {
        put(&mut ev.metadata, "port", port);
    }
}

/// Strips `invalid user ` (or OpenSSH's old `illegal user `).
pub(super) fn strip_invalid(user: &str) -> (&str, bool) {
    match user
        .strip_prefix("invalid user ")
        .or_else(|| user.strip_prefix("illegal user "))
    {
        Some(u) => (u, true),
        None => (user, false),
    }
}

pub(super) fn classify_sshd(ev: &mut SecurityEvent, msg: &str) -> bool {
    // sshd logs some outcomes at error level with this prefix (`error: Received disconnect
    // from … Auth fail [preauth]`).
    let msg = msg.strip_prefix("error: ").unwrap_or(msg);
    let msg = match msg.strip_suffix("[preauth]") {
        Some(m) => {
            put(&mut ev.metadata, "preauth", true);
            m.trim_end()
        }
        None => msg,
    };
    if let Some(rest) = msg.strip_prefix("Accepted ") {
        return sshd_auth(ev, rest, Status::Success);
    }
    if let Some(rest) = msg.strip_prefix("Failed ") {
        return sshd_auth(ev, rest, Status::Failed);
    }
    if let Some(rest) = msg
        .strip_prefix("Invalid user ")
        .or_else(|| msg.strip_prefix("Illegal user "))
    {
        let (user, addr) = split_user_from(rest).unwrap_or((
            rest,
            Addr {
                host: "",
                port: None,
                rest: "",
            },
        ));
        sshd_invalid_user(ev, user);
        put_addr(ev, &addr);
        return true;
    }
    if let Some(user) = msg.strip_prefix("input_userauth_request: invalid user ") {
        sshd_invalid_user(ev, user);
        return true;
    }
    if let Some(rest) = msg.strip_prefix("maximum authentication attempts exceeded for ") {
        let Some((user, addr)) = split_user_from(rest) else {
            return false;
        };
        let (user, invalid) = strip_invalid(user);
        set(ev, "login", Status::Failed, Some(user));
        put_addr(ev, &addr);
        put(&mut ev.metadata, "max_auth_exceeded", true);
        if invalid {
            put(&mut ev.metadata, "invalid_user", true);
        }
        return true;
    }
    if let Some(rest) = msg.strip_prefix("Disconnected from ") {
        return sshd_closed(ev, rest, true);
    }
    if let Some(rest) = msg
        .strip_prefix("Connection closed by ")
        .or_else(|| msg.strip_prefix("Connection reset by "))
    {
        return sshd_closed(ev, rest, false);
    }
    if let Some(rest) = msg.strip_prefix("Disconnecting ") {
        return sshd_closed(ev, rest, true);
    }
    if let Some(rest) = msg.strip_prefix("Received disconnect from ") {
        return sshd_received_disconnect(ev, rest);
    }
    if let Some(rest) = msg.strip_prefix("PAM ") {
        // `PAM 2 more authentication failures; logname= uid=0 ... rhost=... user=root`
        let Some((count, rest)) = rest.split_once(" more authentication failure") else {
            return false;
        };
        let (Ok(count), Some((_, fields))) = (count.parse::<u64>(), rest.split_once("; ")) else {
            return false;
        };
        put(&mut ev.metadata, "pam_service", "sshd");
        put(&mut ev.metadata, "failed_attempts", count);
        pam_auth_failure(ev, "sshd", fields);
        return true;
    }
    false
}

pub(super) fn sshd_invalid_user(ev: &mut SecurityEvent, user: &str) {
    set(ev, "login", Status::Failed, Some(user));
    put(&mut ev.metadata, "invalid_user", true);
    put(&mut ev.metadata, "stage", "invalid_user");
}

/// `METHOD for [invalid user ]USER from HOST port N ssh2[: KEYTYPE FINGERPRINT ...]`
pub(super) fn sshd_auth(ev: &mut SecurityEvent, rest: &str, status: Status) -> bool {
    let Some((method, rest)) = rest.split_once(" for ") else {
        return false;
    };
    if method.is_empty() || method.contains(' ') {
        return false;
    }
    let Some((user, addr)) = split_user_from(rest) else {
        return false;
    };
    let (user, invalid) = strip_invalid(user);
    set(ev, "login", status, Some(user));
    put_addr(ev, &addr);
    let md = &mut ev.metadata;
    put(md, "auth_method", method);
    if invalid {
        put(md, "invalid_user", true);
    }
    if let Some((_, key)) = addr.rest.split_once(": ") {
        let mut parts = key.split(' ');
        if let (Some(kind), Some(fingerprint)) = (parts.next(), parts.next())
            && !kind.is_empty()
            && !fingerprint.is_empty()
        {
            put(md, "key_type", kind);
            put(md, "key_fingerprint", fingerprint);
        }
    }
    true
}

/// After `Disconnected from ` / `Connection closed by ` / `Connection reset by ` /
/// `Disconnecting `: `[authenticating user|invalid user|user] [USER ]HOST port N[: reason]`.
/// A pre-auth disconnect. `counted`: sshd ended it (`Disconnected from`, `Disconnecting`), a
/// failure as fail2ban and CrowdSec count it. A client that closed the connection itself
/// (`Connection closed by authenticating user … [preauth]`, what a person who mistyped and
/// pressed Ctrl-C leaves) did not authenticate either, but it is no attempt: fail2ban's
/// default `normal` mode marks it no-failure. It is marked `client_closed` (zero attempts).
pub(super) fn sshd_closed(ev: &mut SecurityEvent, rest: &str, counted: bool) -> bool {
    enum Who {
        Authenticating,
        Invalid,
        Session,
        Nobody,
    }
    let (who, body) = if let Some(b) = rest.strip_prefix("authenticating user ") {
        (Who::Authenticating, b)
    } else if let Some(b) = rest.strip_prefix("invalid user ") {
        (Who::Invalid, b)
    } else if let Some(b) = rest.strip_prefix("user ") {
        (Who::Session, b)
    } else {
        (Who::Nobody, rest)
    };
    let Some((user, addr)) = split_user_host(body) else {
        return false;
    };
    if !counted && !matches!(who, Who::Session | Who::Nobody) {
        put(&mut ev.metadata, "client_closed", true);
    }
    match who {
        Who::Authenticating => set(ev, "ssh_disconnect", Status::Failed, Some(user)),
        Who::Invalid => {
            set(ev, "ssh_disconnect", Status::Failed, Some(user));
            put(&mut ev.metadata, "invalid_user", true);
        }
        Who::Session => set(ev, "logout", Status::Success, Some(user)),
        Who::Nobody if user.is_empty() => set(ev, "ssh_disconnect", Status::Unknown, None),
        Who::Nobody => return false,
    }
    put_addr(ev, &addr);
    true
}

/// `HOST port N:CODE: reason` or the older `HOST: CODE: reason`. The reason is chosen by the
/// client, so the address is read from the left.
pub(super) fn sshd_received_disconnect(ev: &mut SecurityEvent, rest: &str) -> bool {
    let addr = match addr_at_start(rest) {
        Some(a) => a,
        None => {
            let Some((host, tail)) = rest.split_once(' ') else {
                return false;
            };
            let Some(host) = host.strip_suffix(':').filter(|h| is_ip(h)) else {
                return false;
            };
            Addr {
                host,
                port: None,
                rest: tail,
            }
        }
    };
    // The client's reason says whether authentication failed (`Auth fail`, `Too many
    // authentication failures`): fail2ban counts those. It is the client's word, so it can
    // only make the line count against the client's own address.
    let reason = addr.rest.to_ascii_lowercase();
    let failed = reason.contains("auth fail") || reason.contains("authentication failures");
    let status = if failed {
        Status::Failed
    } else {
        Status::Unknown
    };
    set(ev, "ssh_disconnect", status, None);
    put_addr(ev, &addr);
    let code = addr.rest.trim_start_matches([':', ' ']);
    let n = code.bytes().take_while(u8::is_ascii_digit).count();
    if let Some(Ok(code)) = code.get(..n).map(str::parse::<u64>) {
        put(&mut ev.metadata, "disconnect_code", code);
    }
    true
}

// --- pam_unix ---------------------------------------------------------------------------------

/// PAM services whose session lines name the invoking user after `by`.
pub(super) fn is_switch_service(service: &str) -> bool {
    matches!(
        service,
        "su" | "su-l" | "sudo" | "sudo-i" | "runuser" | "runuser-l"
    )
}

/// `rest` follows `pam_unix(`: `SERVICE:TYPE): body`.
pub(super) fn classify_pam(ev: &mut SecurityEvent, rest: &str) -> bool {
    let Some((inner, body)) = rest.split_once("): ") else {
        return false;
    };
    let service = inner.split_once(':').map_or(inner, |(s, _)| s);
    put(&mut ev.metadata, "pam_service", service);
    let su_like = matches!(service, "su" | "su-l" | "runuser" | "runuser-l");

    if let Some(fields) = body.strip_prefix("authentication failure; ") {
        pam_auth_failure(ev, service, fields);
    } else if body.starts_with("check pass; user unknown") {
        set(ev, "auth_failure", Status::Failed, None);
    } else if let Some(user) = body.strip_prefix("auth could not identify password for [") {
        let user = user.strip_suffix(']').unwrap_or(user);
        set(ev, "auth_failure", Status::Failed, None);
        if su_like {
            put_user(ev, "target_user", user);
        } else if let Some(u) = non_empty(user) {
            ev.user_id = Some(u.to_owned());
        }
    } else if let Some(rest) = body.strip_prefix("session opened for user ") {
        // `alice(uid=1000) by (uid=0)`, `root(uid=0) by alice(uid=1000)`, old: `root by (uid=0)`
        let end = rest.find(['(', ' ']).unwrap_or(rest.len());
        let user = rest.get(..end).unwrap_or("");
        let by = rest.split_once(" by ").map_or("", |(_, b)| {
            let end = b.find(['(', ' ']).unwrap_or(b.len());
            b.get(..end).unwrap_or("")
        });
        if is_switch_service(service) && !by.is_empty() {
            set(ev, "session_open", Status::Success, Some(by));
            put_user(ev, "target_user", user);
        } else {
            set(ev, "session_open", Status::Success, Some(user));
            put_user(ev, "logname", by);
        }
    } else if let Some(user) = body.strip_prefix("session closed for user ") {
        let user = user.trim_end();
        if is_switch_service(service) {
            // Only the target is logged here; the invoking user is unknown.
            set(ev, "session_close", Status::Success, None);
            put_user(ev, "target_user", user);
        } else {
            set(ev, "session_close", Status::Success, Some(user));
        }
    } else {
        return false;
    }
    true
}

/// `logname=X uid=N euid=N tty=T ruser=Y rhost=H  user=Z` (user last: it may contain spaces).
pub(super) fn pam_auth_failure(ev: &mut SecurityEvent, service: &str, fields: &str) {
    let (fields, user) = match fields.strip_prefix("user=") {
        Some(u) => ("", u),
        None => fields.split_once(" user=").unwrap_or((fields, "")),
    };
    let user = user.trim();
    let (mut logname, mut ruser, mut rhost) = ("", "", "");
    for token in fields.split_ascii_whitespace() {
        let Some((key, value)) = token.split_once('=') else {
            continue;
        };
        match key {
            "logname" => logname = value,
            "ruser" => ruser = value,
            "rhost" => rhost = value,
            "uid" | "euid" if !value.is_empty() => {
                put(&mut ev.metadata, key, number_or_string(value));
            }
            "tty" if !value.is_empty() => put(&mut ev.metadata, "tty", value),
            _ => {}
        }
    }
    if matches!(service, "su" | "su-l" | "runuser" | "runuser-l") {
        // su authenticates the target account; the person trying is ruser (or the login name).
        let actor = non_empty(ruser).or(non_empty(logname));
        set(ev, "auth_failure", Status::Failed, actor);
        put_user(ev, "target_user", user);
    } else {
        set(ev, "auth_failure", Status::Failed, Some(user));
    }
    put_user(ev, "logname", logname);
    put_user(ev, "ruser", ruser);
    set_remote(ev, rhost);
}

// --- sudo -------------------------------------------------------------------------------------

/// `USER : [REASON ; ]TTY=t ; PWD=p ; USER=u ; [GROUP=g ; ][ENV=... ; ]COMMAND=c`
pub(super) fn classify_sudo(ev: &mut SecurityEvent, msg: &str) -> bool {
    let Some((user, rest)) = msg.trim_start().split_once(" : ") else {
        return false;
    };
    if user.is_empty() || user.contains(' ') {
        return false;
    }
    let mut status = Status::Success;
    let mut reason: Option<&'static str> = None;
    let mut attempts = None;
    let (mut tty, mut pwd, mut target, mut command) = (None, None, None, None);
    let mut seen_field = false;
    let mut rest = rest;
    loop {
        if let Some(cmd) = rest.strip_prefix("COMMAND=") {
            // The command is last and may itself contain " ; ".
            command = Some(cmd);
            seen_field = true;
            break;
        }
        let (segment, next) = rest.split_once(" ; ").unwrap_or((rest, ""));
        match segment.split_once('=') {
            Some((key, value))
                if !key.is_empty() && key.bytes().all(|c| c.is_ascii_uppercase()) =>
            {
                seen_field = true;
                match key {
                    "TTY" => tty = Some(value),
                    "PWD" => pwd = Some(value),
                    "USER" => target = Some(value),
                    _ => {}
                }
            }
            _ if !seen_field => {
                let (s, r) = sudo_reason(segment, &mut attempts);
                status = s;
                reason = Some(r);
            }
            _ => {}
        }
        if next.is_empty() {
            break;
        }
        rest = next;
    }
    if !seen_field {
        return false;
    }
    set(ev, "sudo", status, Some(user));
    let md = &mut ev.metadata;
    if let Some(t) = target.and_then(non_empty) {
        put(md, "target_user", t);
    }
    if let Some(c) = command {
        put(md, "command", c);
    }
    if let Some(t) = tty {
        put(md, "tty", t);
    }
    if let Some(p) = pwd {
        put(md, "pwd", p);
    }
    if let Some(n) = attempts {
        put(md, "failed_attempts", n);
    }
    if let Some(r) = reason {
        put(md, "reason", r);
    }
    true
}

/// Maps sudo's failure reason to a status and a fixed label (never the free text).
pub(super) fn sudo_reason(segment: &str, attempts: &mut Option<u64>) -> (Status, &'static str) {
    if segment.contains("incorrect password attempt") {
        *attempts = segment
            .split(' ')
            .next()
            .and_then(|n| n.parse::<u64>().ok());
        (Status::Failed, "incorrect_password")
    } else if segment.contains("NOT in sudoers") {
        (Status::Denied, "not_in_sudoers")
    } else if segment.contains("NOT allowed") || segment.contains("not allowed") {
        (Status::Denied, "command_not_allowed")
    } else if segment.contains("NOT authorized") || segment.contains("not authorized") {
        (Status::Denied, "not_authorized")
    } else if segment.contains("password is required") {
        (Status::Failed, "password_required")
    } else {
        (Status::Failed, "other")
    }
}

// --- su ---------------------------------------------------------------------------------------

pub(super) fn classify_su(ev: &mut SecurityEvent, msg: &str) -> bool {
    // `(to root) alice on pts/0`, `FAILED SU (to root) alice on pts/0`
    let (status, rest) = match msg.strip_prefix("FAILED SU ") {
        Some(r) => (Status::Failed, r),
        None => (Status::Success, msg),
    };
    if let Some(rest) = rest.strip_prefix("(to ") {
        let Some((target, rest)) = rest.split_once(") ") else {
            return false;
        };
        let (user, tty) = rest.rsplit_once(" on ").unwrap_or((rest, ""));
        set(ev, "su", status, Some(user));
        put_user(ev, "target_user", target);
        if !tty.is_empty() {
            put(&mut ev.metadata, "tty", tty);
        }
        return true;
    }
    // `Successful su for root by alice`, `FAILED su for root by alice`
    let (status, rest) = if let Some(r) = msg.strip_prefix("Successful su for ") {
        (Status::Success, r)
    } else if let Some(r) = msg.strip_prefix("FAILED su for ") {
        (Status::Failed, r)
    } else {
        return su_sulog(ev, msg);
    };
    let Some((target, user)) = rest.split_once(" by ") else {
        return false;
    };
    set(ev, "su", status, Some(user));
    put_user(ev, "target_user", target);
    true
}

/// Old sulog style: `+ pts/0 alice:root` (success) or `- pts/0 alice:root` (failure).
pub(super) fn su_sulog(ev: &mut SecurityEvent, msg: &str) -> bool {
    let (status, rest) = if let Some(r) = msg.strip_prefix("+ ") {
        (Status::Success, r)
    } else if let Some(r) = msg.strip_prefix("- ") {
        (Status::Failed, r)
    } else {
        return false;
    };
    let Some((tty, users)) = rest.split_once(' ') else {
        return false;
    };
    let Some((user, target)) = users.split_once(':') else {
        return false;
    };
    set(ev, "su", status, Some(user));
    put_user(ev, "target_user", target);
    put(&mut ev.metadata, "tty", tty);
    true
}
