//! Parser tests from realistic samples, and never-panic properties.

use super::*;
use crate::domain::{Format, Status};
use chrono::TimeZone;
use proptest::prelude::*;
use serde_json::Value;
use serde_json::json;

fn reference() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 15, 12, 0, 0).unwrap()
}

fn parse(line: &str) -> SecurityEvent {
    SyslogParser::new(reference())
        .parse(line)
        .unwrap_or_else(|e| panic!("rejected {line:?}: {e}"))
}

fn reject(line: &str) -> Reject {
    match SyslogParser::new(reference()).parse(line) {
        Ok(ev) => panic!("accepted {line:?}: {ev:?}"),
        Err(e) => e,
    }
}

fn md<'a>(ev: &'a SecurityEvent, key: &str) -> &'a Value {
    ev.metadata.get(key).unwrap_or(&Value::Null)
}

fn sshd(msg: &str) -> SecurityEvent {
    parse(&format!("Mar 10 06:25:01 web-1 sshd[4242]: {msg}"))
}

fn ts(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

// --- framing ---

#[test]
fn rfc3164_basic() {
    let ev = parse("<38>Mar 10 06:25:01 web-1 cron[123]: (root) CMD (run-parts /etc/cron.hourly)");
    assert_eq!(ev.timestamp, ts(2024, 3, 10, 6, 25, 1));
    assert_eq!(ev.format, Format::Syslog);
    assert_eq!(ev.id, 0);
    assert_eq!(ev.origin, Default::default());
    assert_eq!(ev.action, "syslog");
    assert_eq!(ev.status, Status::Unknown);
    assert_eq!(ev.resource, "web-1/cron");
    assert_eq!(md(&ev, "host"), "web-1");
    assert_eq!(md(&ev, "program"), "cron");
    assert_eq!(md(&ev, "pid"), 123);
    assert_eq!(md(&ev, "facility"), "auth");
    assert_eq!(md(&ev, "severity"), "info");
    assert_eq!(
        md(&ev, "message"),
        "(root) CMD (run-parts /etc/cron.hourly)"
    );
}

#[test]
fn rfc3164_variants() {
    let ev = parse("Jan  5 00:00:09 db kernel: [ 12.345] eth0: link up\r");
    assert_eq!(ev.timestamp, ts(2024, 1, 5, 0, 0, 9));
    assert_eq!(md(&ev, "pid"), &Value::Null);
    assert_eq!(md(&ev, "program"), "kernel");
    assert_eq!(md(&ev, "message"), "[ 12.345] eth0: link up");
    assert!(ev.metadata.get("facility").is_none());

    let ev = parse("Jan 5 00:00:09.250 db systemd[1]: Started Session 5.");
    assert_eq!(ev.timestamp.timestamp_subsec_millis(), 250);

    // No hostname: the first token is a tag.
    let ev = parse("Mar 10 06:25:01 sshd[77]: Server listening on 0.0.0.0 port 22.");
    assert_eq!(md(&ev, "host"), "-");
    assert_eq!(md(&ev, "program"), "sshd");
    assert_eq!(ev.resource, "-/sshd");

    // No tag at all.
    let ev = parse("Mar 10 06:25:01 web-1 last message repeated 5 times");
    assert_eq!(md(&ev, "program"), "-");
    assert_eq!(md(&ev, "message"), "last message repeated 5 times");

    // Non-numeric pid is kept as a string; empty message is fine.
    let ev = parse("<13>Mar 10 06:25:01 web-1 app[main]:");
    assert_eq!(md(&ev, "pid"), "main");
    assert_eq!(md(&ev, "message"), "");
    assert_eq!(md(&ev, "facility"), "user");
    assert_eq!(md(&ev, "severity"), "notice");
}

#[test]
fn iso_form() {
    let ev = parse(
        "2024-03-10T06:25:01.123456+00:00 web-1 sshd[900]: Accepted password for alice from 203.0.113.5 port 52144 ssh2",
    );
    assert_eq!(
        ev.timestamp,
        ts(2024, 3, 10, 6, 25, 1) + TimeDelta::microseconds(123_456)
    );
    assert_eq!(ev.action, "login");
    assert_eq!(ev.resource, "web-1/sshd");

    let ev = parse(
        "2024-03-10T08:25:01+02:00 web-1 CRON[5]: pam_unix(cron:session): session closed for user root",
    );
    assert_eq!(ev.timestamp, ts(2024, 3, 10, 6, 25, 1));
    assert_eq!(ev.action, "session_close");
    assert_eq!(ev.user_id.as_deref(), Some("root"));

    let ev = parse("<86>2024-03-10T06:25:01Z web-1 su[5]: (to root) alice on pts/0");
    assert_eq!(md(&ev, "facility"), "authpriv");
    assert_eq!(ev.action, "su");

    // journald short-iso: offset without a colon.
    let ev =
        parse("2024-03-10T01:25:01-0500 web-1 systemd-logind[1]: New session 3 of user alice.");
    assert_eq!(ev.timestamp, ts(2024, 3, 10, 6, 25, 1));
}

#[test]
fn rfc5424_structured_data() {
    let line = r#"<165>1 2024-03-10T06:25:01.5Z web-1 myapp 8710 ID47 [exampleSDID@32473 iut="3" eventSource="Application" note="a \"quoted\" \\ back\]slash"][meta seq="1"] ﻿An application event"#;
    let ev = parse(line);
    assert_eq!(
        ev.timestamp,
        ts(2024, 3, 10, 6, 25, 1) + TimeDelta::milliseconds(500)
    );
    assert_eq!(md(&ev, "host"), "web-1");
    assert_eq!(md(&ev, "program"), "myapp");
    assert_eq!(md(&ev, "pid"), 8710);
    assert_eq!(md(&ev, "msgid"), "ID47");
    assert_eq!(md(&ev, "facility"), "local4");
    assert_eq!(md(&ev, "severity"), "notice");
    assert_eq!(md(&ev, "message"), "An application event");
    assert_eq!(
        md(&ev, "sd"),
        &json!({
            "exampleSDID@32473": {"iut": "3", "eventSource": "Application",
                                  "note": "a \"quoted\" \\ back]slash"},
            "meta": {"seq": "1"}
        })
    );
}

#[test]
fn rfc5424_nil_values() {
    let ev = parse("<34>1 2024-03-10T06:25:01+01:00 - - - - -");
    assert_eq!(ev.timestamp, ts(2024, 3, 10, 5, 25, 1));
    assert_eq!(md(&ev, "host"), "-");
    assert_eq!(md(&ev, "program"), "-");
    assert_eq!(md(&ev, "pid"), &Value::Null);
    assert_eq!(md(&ev, "message"), "");
    assert!(ev.metadata.get("msgid").is_none());
    assert!(ev.metadata.get("sd").is_none());

    let ev = parse(
        "<38>1 2024-03-10T06:25:01Z web-1 sshd 99 - - Failed password for root from 198.51.100.7 port 22 ssh2",
    );
    assert_eq!(ev.action, "login");
    assert_eq!(ev.status, Status::Failed);
    assert_eq!(ev.resource, "web-1/sshd");

    // A backslash before an ordinary character stays.
    let ev = parse(r#"<34>1 2024-03-10T06:25:01Z h a - - [x@1 p="c:\dir"]"#);
    assert_eq!(md(&ev, "sd"), &json!({"x@1": {"p": "c:\\dir"}}));
}

#[test]
fn rfc5424_rejects() {
    assert_eq!(
        reject("<34>1 - host app - - - msg").kind,
        RejectKind::MissingField
    );
    assert_eq!(
        reject("<34>1 2024-02-30T06:25:01Z host app - - - msg").kind,
        RejectKind::BadTimestamp
    );
    assert_eq!(
        reject("<34>1 yesterday host app - - - msg").kind,
        RejectKind::BadTimestamp
    );
    assert_eq!(
        reject("<34>1 2024-03-10T06:25:01Z host app - - [broken").kind,
        RejectKind::NotSyslog
    );
    assert_eq!(
        reject(r#"<34>1 2024-03-10T06:25:01Z host app - - [id k="v]"#).kind,
        RejectKind::NotSyslog
    );
    assert_eq!(
        reject("<34>1 2024-03-10T06:25:01Z host app -").kind,
        RejectKind::NotSyslog
    );
    assert_eq!(
        reject("1 2024-03-10T06:25:01Z host app - - - no pri").kind,
        RejectKind::NotSyslog
    );
}

#[test]
fn rejects() {
    for line in [
        "",
        "   \t ",
        "\r",
        "hello world",
        "{\"eventName\":\"ConsoleLogin\"}",
        "2024-03-10T06:25:01Z,203.0.113.5,login",
        "2024-03-10 06:25:01 web-1 app: msg",
        "\u{0}\u{1}\u{2}\u{fffd}\u{fffd}ELF\u{7f}",
        "Mar 10 06:25:01",
        "Mar 10 06:25 web-1 sshd: x",
        "Mar 10 06:25:01 \u{1}\u{2} sshd: x",
        "<999>Mar 10 06:25:01 web-1 sshd: x",
        "<12Mar 10 06:25:01 web-1 sshd: x",
        "Foo 10 06:25:01 web-1 sshd: x",
    ] {
        let r = reject(line);
        assert_eq!(r.kind, RejectKind::NotSyslog, "{line:?}");
        assert!(!looks_like_syslog(line), "{line:?}");
    }
    for line in [
        "Feb 30 06:25:01 web-1 sshd[1]: Accepted password for alice from 203.0.113.5 port 1 ssh2",
        "Mar 10 25:00:00 web-1 sshd[1]: x",
        "Mar 10 06:61:00 web-1 sshd[1]: x",
        "Mar  0 06:00:00 web-1 sshd[1]: x",
        "2024-13-10T06:25:01Z web-1 sshd[1]: x",
        "2024-03-10T24:25:01Z web-1 sshd[1]: x",
    ] {
        let r = reject(line);
        assert_eq!(r.kind, RejectKind::BadTimestamp, "{line:?}");
        assert!(looks_like_syslog(line), "{line:?}");
    }
}

#[test]
fn reject_detail_has_no_content() {
    for line in [
        "secret-user-alice 203.0.113.5 hello",
        "Feb 30 06:25:01 secret-host sshd[1]: Accepted password for alice",
        "<34>1 2024-03-10T06:25:01Z secret-host app - - [alice",
    ] {
        let r = reject(line);
        for word in ["alice", "secret", "203.0.113.5"] {
            assert!(!r.detail.contains(word), "{}", r.detail);
        }
    }
}

#[test]
fn looks_like_syslog_accepts_forms() {
    assert!(looks_like_syslog("Mar 10 06:25:01 web-1 sshd[1]: x"));
    assert!(looks_like_syslog("<86>Jan  5 06:25:01 web-1 su: x"));
    assert!(looks_like_syslog(
        "<34>1 2024-03-10T06:25:01Z host app - - - msg"
    ));
    assert!(looks_like_syslog(
        "2024-03-10T06:25:01.123456+00:00 host prog[1]: msg"
    ));
    assert!(looks_like_syslog("<34>1 - host app - - - nil timestamp"));
}

#[test]
fn leap_second() {
    let ev = parse("2016-12-31T23:59:60Z web-1 ntpd[1]: leap");
    assert_eq!(
        ev.timestamp.timestamp(),
        ts(2016, 12, 31, 23, 59, 59).timestamp()
    );
}

// --- year inference ---

#[test]
fn year_from_reference() {
    let mut p = SyslogParser::new(ts(2024, 6, 15, 12, 0, 0));
    let ev = p.parse("Mar 10 06:25:01 h x: y").unwrap();
    assert_eq!(ev.timestamp, ts(2024, 3, 10, 6, 25, 1));
    // A day of clock skew is tolerated ...
    let mut p = SyslogParser::new(ts(2024, 6, 15, 12, 0, 0));
    let ev = p.parse("Jun 16 06:00:00 h x: y").unwrap();
    assert_eq!(ev.timestamp, ts(2024, 6, 16, 6, 0, 0));
    // ... but later than that is last year.
    let mut p = SyslogParser::new(ts(2024, 6, 15, 12, 0, 0));
    let ev = p.parse("Jun 17 06:00:00 h x: y").unwrap();
    assert_eq!(ev.timestamp, ts(2023, 6, 17, 6, 0, 0));
}

#[test]
fn december_lines_with_january_reference() {
    let mut p = SyslogParser::new(ts(2025, 1, 3, 9, 0, 0));
    let ev = p.parse("Dec 28 22:10:00 h sshd[1]: x").unwrap();
    assert_eq!(ev.timestamp, ts(2024, 12, 28, 22, 10, 0));
}

#[test]
fn new_year_rollover_within_file() {
    let mut p = SyslogParser::new(ts(2025, 1, 1, 0, 30, 0));
    let years: Vec<_> = [
        "Dec 31 23:59:58 h x: a",
        "Dec 31 23:59:59 h x: b",
        "Jan  1 00:00:01 h x: c",
        "Jan  1 00:10:00 h x: d",
        // Out of order by a few seconds: stays in the same year.
        "Jan  1 00:09:55 h x: e",
        // Beyond reference + 1 day: never in the future, so it falls back a year.
        "Jan  3 00:00:00 h x: f",
    ]
    .iter()
    .map(|l| p.parse(l).unwrap().timestamp.year())
    .collect();
    assert_eq!(years, [2024, 2024, 2025, 2025, 2025, 2024]);
}

#[test]
fn rollover_uses_state() {
    // Reference long after the log: Dec -> Jan must go forward, not back a year.
    let mut p = SyslogParser::new(ts(2025, 3, 1, 0, 0, 0));
    assert_eq!(
        p.parse("Apr  2 10:00:00 h x: a").unwrap().timestamp,
        ts(2024, 4, 2, 10, 0, 0)
    );
    assert_eq!(
        p.parse("Dec 31 10:00:00 h x: a").unwrap().timestamp,
        ts(2024, 12, 31, 10, 0, 0)
    );
    assert_eq!(
        p.parse("Jan  1 10:00:00 h x: a").unwrap().timestamp,
        ts(2025, 1, 1, 10, 0, 0)
    );
}

#[test]
fn feb_29_finds_a_leap_year() {
    let mut p = SyslogParser::new(ts(2025, 6, 1, 0, 0, 0));
    let ev = p.parse("Feb 29 10:00:00 h x: a").unwrap();
    assert_eq!(ev.timestamp, ts(2024, 2, 29, 10, 0, 0));
}

#[test]
fn extreme_reference_does_not_panic() {
    for r in [
        DateTime::<Utc>::MIN_UTC,
        DateTime::<Utc>::MAX_UTC,
        DateTime::<Utc>::UNIX_EPOCH,
    ] {
        let mut p = SyslogParser::new(r);
        let _ = p.parse("Dec 31 23:59:59 h x: a");
        let _ = p.parse("Jan  1 00:00:00 h x: a");
        let _ = p.parse("Feb 29 00:00:00 h x: a");
    }
}

// --- sshd ---

#[test]
fn sshd_accepted_password() {
    let ev = sshd("Accepted password for alice from 203.0.113.5 port 52144 ssh2");
    assert_eq!(ev.action, "login");
    assert_eq!(ev.status, Status::Success);
    assert_eq!(ev.user_id.as_deref(), Some("alice"));
    assert_eq!(ev.source_ip.as_deref(), Some("203.0.113.5"));
    assert_eq!(ev.resource, "web-1/sshd");
    assert_eq!(md(&ev, "auth_method"), "password");
    assert_eq!(md(&ev, "port"), 52144);
    assert_eq!(md(&ev, "pid"), 4242);
}

#[test]
fn sshd_accepted_publickey() {
    let ev = sshd(
        "Accepted publickey for alice from 203.0.113.5 port 52144 ssh2: ED25519 SHA256:kVJ0u3hB3vKyk0Jv9Xl2m0cG3w3gQ3Yh8pQ2bT4Yx1s",
    );
    assert_eq!(ev.status, Status::Success);
    assert_eq!(md(&ev, "auth_method"), "publickey");
    assert_eq!(md(&ev, "key_type"), "ED25519");
    assert_eq!(
        md(&ev, "key_fingerprint"),
        "SHA256:kVJ0u3hB3vKyk0Jv9Xl2m0cG3w3gQ3Yh8pQ2bT4Yx1s"
    );

    let ev = parse(
        "Mar 10 06:25:01 web-1 sshd-session[7]: Accepted publickey for git from 2001:db8::42 port 40022 ssh2: RSA-CERT SHA256:abc ID ci (serial 3) CA RSA SHA256:def",
    );
    assert_eq!(ev.source_ip.as_deref(), Some("2001:db8::42"));
    assert_eq!(md(&ev, "key_type"), "RSA-CERT");
    assert_eq!(md(&ev, "key_fingerprint"), "SHA256:abc");
    assert_eq!(ev.resource, "web-1/sshd-session");
}

#[test]
fn sshd_accepted_keyboard_interactive() {
    let ev = sshd("Accepted keyboard-interactive/pam for bob from 203.0.113.9 port 6000 ssh2");
    assert_eq!(md(&ev, "auth_method"), "keyboard-interactive/pam");
    assert_eq!(ev.user_id.as_deref(), Some("bob"));
}

#[test]
fn sshd_failed() {
    let ev = sshd("Failed password for alice from 203.0.113.5 port 52144 ssh2");
    assert_eq!((ev.action.as_str(), ev.status), ("login", Status::Failed));
    assert!(ev.metadata.get("invalid_user").is_none());

    let ev = sshd("Failed password for invalid user admin from 198.51.100.7 port 4242 ssh2");
    assert_eq!((ev.action.as_str(), ev.status), ("login", Status::Failed));
    assert_eq!(ev.user_id.as_deref(), Some("admin"));
    assert_eq!(md(&ev, "invalid_user"), true);
    assert_eq!(ev.source_ip.as_deref(), Some("198.51.100.7"));

    let ev = sshd("Failed publickey for root from 198.51.100.7 port 4242 ssh2: RSA SHA256:xyz");
    assert_eq!(md(&ev, "auth_method"), "publickey");
    assert_eq!(md(&ev, "key_fingerprint"), "SHA256:xyz");

    let ev = sshd("Failed none for invalid user  from 198.51.100.7 port 4242 ssh2");
    assert_eq!(ev.user_id, None);
    assert_eq!(md(&ev, "invalid_user"), true);

    // UseDNS: a hostname instead of an address.
    // The source detectors see it; privacy pseudonymises it as a host; nothing resolves it.
    let ev = sshd("Failed password for root from scanner.example.net port 4242 ssh2");
    assert_eq!(ev.source_ip.as_deref(), Some("scanner.example.net"));
    assert_eq!(md(&ev, "remote_is_name"), true);
    assert!(ev.metadata.get("rhost").is_none());
}

#[test]
fn old_pam_names_itself_in_the_program() {
    let ev = parse(
        "Jun 15 02:04:59 combo sshd(pam_unix)[20882]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=220-135-151-1.hinet-ip.hinet.net  user=root",
    );
    assert_eq!(ev.action, "auth_failure");
    assert_eq!(ev.status, Status::Failed);
    assert_eq!(ev.user_id.as_deref(), Some("root"));
    assert_eq!(
        ev.source_ip.as_deref(),
        Some("220-135-151-1.hinet-ip.hinet.net")
    );
    assert_eq!(md(&ev, "pam_service"), "sshd");
}

#[test]
fn sshd_invalid_user() {
    let ev = sshd("Invalid user admin from 198.51.100.7 port 4242");
    assert_eq!((ev.action.as_str(), ev.status), ("login", Status::Failed));
    assert_eq!(ev.user_id.as_deref(), Some("admin"));
    assert_eq!(ev.source_ip.as_deref(), Some("198.51.100.7"));
    assert_eq!(md(&ev, "invalid_user"), true);
    assert_eq!(md(&ev, "stage"), "invalid_user");
    assert_eq!(md(&ev, "port"), 4242);

    // Old format without a port.
    let ev = sshd("Invalid user oracle from 198.51.100.8");
    assert_eq!(ev.source_ip.as_deref(), Some("198.51.100.8"));

    let ev = sshd("input_userauth_request: invalid user test [preauth]");
    assert_eq!(ev.user_id.as_deref(), Some("test"));
    assert_eq!(md(&ev, "preauth"), true);
}

#[test]
fn sshd_spoofed_username_does_not_move_the_address() {
    let ev = sshd("Invalid user x from 10.0.0.1 port 1 from 198.51.100.7 port 4242");
    assert_eq!(ev.source_ip.as_deref(), Some("198.51.100.7"));
    assert_eq!(ev.user_id.as_deref(), Some("x from 10.0.0.1 port 1"));
    let ev = sshd(
        "Failed password for invalid user a from 10.0.0.1 port 1 from 198.51.100.7 port 4242 ssh2",
    );
    assert_eq!(ev.source_ip.as_deref(), Some("198.51.100.7"));
}

#[test]
fn sshd_preauth_disconnects() {
    // sshd ending the connection is an attempt; the client closing it is not (fail2ban's
    // default mode marks that no-failure), though it did not authenticate either.
    for (msg, client_closed) in [
        (
            "Disconnected from authenticating user root 198.51.100.7 port 4242 [preauth]",
            false,
        ),
        (
            "Connection closed by authenticating user root 198.51.100.7 port 4242 [preauth]",
            true,
        ),
    ] {
        let ev = sshd(msg);
        assert_eq!(
            (ev.action.as_str(), ev.status),
            ("ssh_disconnect", Status::Failed),
            "{msg}"
        );
        assert_eq!(
            ev.metadata.get("client_closed").is_some(),
            client_closed,
            "{msg}"
        );
        let view = crate::domain::EventView::from_event(&ev);
        assert_eq!(view.ssh_failure_signal(), !client_closed, "{msg}");
        assert_eq!(ev.user_id.as_deref(), Some("root"));
        assert_eq!(ev.source_ip.as_deref(), Some("198.51.100.7"));
        assert_eq!(md(&ev, "preauth"), true);
        assert_eq!(md(&ev, "port"), 4242);
    }
    for msg in [
        "Disconnected from invalid user admin 198.51.100.7 port 4242 [preauth]",
        "Connection closed by invalid user admin 198.51.100.7 port 4242 [preauth]",
        "Connection reset by invalid user admin 198.51.100.7 port 4242 [preauth]",
    ] {
        let ev = sshd(msg);
        assert_eq!(
            (ev.action.as_str(), ev.status),
            ("ssh_disconnect", Status::Failed),
            "{msg}"
        );
        assert_eq!(ev.user_id.as_deref(), Some("admin"));
        assert_eq!(md(&ev, "invalid_user"), true);
    }
    let ev = sshd(
        "Disconnecting authenticating user root 198.51.100.7 port 4242: Too many authentication failures [preauth]",
    );
    assert_eq!(
        (ev.action.as_str(), ev.status),
        ("ssh_disconnect", Status::Failed)
    );
    assert_eq!(ev.source_ip.as_deref(), Some("198.51.100.7"));

    let ev = sshd("Connection closed by 198.51.100.7 port 4242 [preauth]");
    assert_eq!(
        (ev.action.as_str(), ev.status),
        ("ssh_disconnect", Status::Unknown)
    );
    assert_eq!(ev.source_ip.as_deref(), Some("198.51.100.7"));
    assert_eq!(ev.user_id, None);
    assert_eq!(md(&ev, "preauth"), true);

    let ev = sshd("Connection closed by 2001:db8::7 port 22 [preauth]");
    assert_eq!(ev.source_ip.as_deref(), Some("2001:db8::7"));
    let ev = sshd("Connection closed by 198.51.100.7 [preauth]");
    assert_eq!(ev.source_ip.as_deref(), Some("198.51.100.7"));
}

#[test]
fn sshd_logout() {
    let ev = sshd("Disconnected from user alice 203.0.113.5 port 52144");
    assert_eq!((ev.action.as_str(), ev.status), ("logout", Status::Success));
    assert_eq!(ev.user_id.as_deref(), Some("alice"));
    assert_eq!(ev.source_ip.as_deref(), Some("203.0.113.5"));
    assert!(ev.metadata.get("preauth").is_none());
}

#[test]
fn sshd_max_auth() {
    let ev = sshd(
        "error: maximum authentication attempts exceeded for root from 198.51.100.7 port 4242 ssh2 [preauth]",
    );
    assert_eq!((ev.action.as_str(), ev.status), ("login", Status::Failed));
    assert_eq!(ev.user_id.as_deref(), Some("root"));
    assert_eq!(md(&ev, "max_auth_exceeded"), true);
    assert_eq!(md(&ev, "preauth"), true);
    let ev = sshd(
        "error: maximum authentication attempts exceeded for invalid user x from 198.51.100.7 port 4242 ssh2 [preauth]",
    );
    assert_eq!(ev.user_id.as_deref(), Some("x"));
    assert_eq!(md(&ev, "invalid_user"), true);
}

#[test]
fn sshd_received_disconnect() {
    let ev = sshd("Received disconnect from 198.51.100.7 port 4242:11: Bye Bye [preauth]");
    assert_eq!(ev.action, "ssh_disconnect");
    assert_eq!(ev.source_ip.as_deref(), Some("198.51.100.7"));
    assert_eq!(md(&ev, "port"), 4242);
    assert_eq!(md(&ev, "disconnect_code"), 11);
    let ev = sshd("Received disconnect from 198.51.100.7: 11: Bye Bye");
    assert_eq!(ev.source_ip.as_deref(), Some("198.51.100.7"));
    assert_eq!(md(&ev, "disconnect_code"), 11);
    // The reason is client text: it cannot move the address.
    let ev = sshd("Received disconnect from 198.51.100.7 port 4242:11: 10.0.0.1 port 5 [preauth]");
    assert_eq!(ev.source_ip.as_deref(), Some("198.51.100.7"));
    assert_eq!(ev.status, Status::Unknown);
    // An authentication failure the client reports, logged at error level (loghub's
    // OpenSSH sample): a failure of that source, as fail2ban counts it.
    let ev = sshd(
        "error: Received disconnect from 195.154.37.122: 3: com.jcraft.jsch.JSchException: Auth fail [preauth]",
    );
    assert_eq!(ev.action, "ssh_disconnect");
    assert_eq!(ev.status, Status::Failed);
    assert_eq!(ev.source_ip.as_deref(), Some("195.154.37.122"));
}

#[test]
fn sshd_pam() {
    let ev = sshd(
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.7  user=root",
    );
    assert_eq!(
        (ev.action.as_str(), ev.status),
        ("auth_failure", Status::Failed)
    );
    assert_eq!(ev.user_id.as_deref(), Some("root"));
    assert_eq!(ev.source_ip.as_deref(), Some("198.51.100.7"));
    assert_eq!(md(&ev, "pam_service"), "sshd");
    assert_eq!(md(&ev, "uid"), 0);
    assert_eq!(md(&ev, "tty"), "ssh");
    assert!(ev.metadata.get("ruser").is_none());

    let ev = sshd(
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=host-7.example.net",
    );
    assert_eq!(ev.user_id, None);
    assert_eq!(ev.source_ip.as_deref(), Some("host-7.example.net"));
    assert!(ev.metadata.get("rhost").is_none());

    let ev = sshd("pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)");
    assert_eq!(
        (ev.action.as_str(), ev.status),
        ("session_open", Status::Success)
    );
    assert_eq!(ev.user_id.as_deref(), Some("alice"));
    assert!(ev.metadata.get("target_user").is_none());

    let ev = sshd("pam_unix(sshd:session): session closed for user alice");
    assert_eq!(
        (ev.action.as_str(), ev.status),
        ("session_close", Status::Success)
    );
    assert_eq!(ev.user_id.as_deref(), Some("alice"));

    let ev = sshd(
        "PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.7  user=root",
    );
    assert_eq!(ev.action, "auth_failure");
    assert_eq!(md(&ev, "failed_attempts"), 2);
    assert_eq!(ev.source_ip.as_deref(), Some("198.51.100.7"));

    let ev = sshd("pam_unix(sshd:auth): check pass; user unknown");
    assert_eq!(
        (ev.action.as_str(), ev.status),
        ("auth_failure", Status::Failed)
    );
}

#[test]
fn repeated_message() {
    let ev =
        sshd("message repeated 3 times: [ Failed password for root from 1.2.3.4 port 22 ssh2]");
    assert_eq!((ev.action.as_str(), ev.status), ("login", Status::Failed));
    assert_eq!(ev.user_id.as_deref(), Some("root"));
    assert_eq!(ev.source_ip.as_deref(), Some("1.2.3.4"));
    assert_eq!(md(&ev, "repeat"), 3);
    assert_eq!(
        md(&ev, "message"),
        "message repeated 3 times: [ Failed password for root from 1.2.3.4 port 22 ssh2]"
    );
}

#[test]
fn sshd_unrecognised_is_generic() {
    let ev = sshd("Server listening on :: port 22.");
    assert_eq!((ev.action.as_str(), ev.status), ("syslog", Status::Unknown));
    assert_eq!(ev.source_ip, None);
    let ev = sshd("Connection closed by some thing 1.2.3.4 port 22");
    assert_eq!(ev.action, "syslog");
    let ev = sshd("Accepted password for alice");
    assert_eq!(ev.action, "syslog");
}

// --- sudo ---

fn sudo(msg: &str) -> SecurityEvent {
    parse(&format!("Mar 10 06:25:01 web-1 sudo: {msg}"))
}

#[test]
fn sudo_success() {
    let ev = sudo(
        "   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx",
    );
    assert_eq!((ev.action.as_str(), ev.status), ("sudo", Status::Success));
    assert_eq!(ev.user_id.as_deref(), Some("alice"));
    assert_eq!(ev.resource, "web-1/sudo");
    assert_eq!(md(&ev, "target_user"), "root");
    assert_eq!(md(&ev, "command"), "/usr/bin/systemctl restart nginx");
    assert_eq!(md(&ev, "tty"), "pts/0");
    assert_eq!(md(&ev, "pwd"), "/home/alice");
    assert!(ev.metadata.get("reason").is_none());

    let ev = sudo(
        "alice : TTY=pts/1 ; PWD=/ ; USER=root ; ENV=A=1 ; COMMAND=/bin/sh -c echo a ; echo b",
    );
    assert_eq!(md(&ev, "command"), "/bin/sh -c echo a ; echo b");
}

#[test]
fn sudo_failures() {
    let ev = sudo(
        "alice : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash",
    );
    assert_eq!((ev.action.as_str(), ev.status), ("sudo", Status::Failed));
    assert_eq!(md(&ev, "failed_attempts"), 3);
    assert_eq!(md(&ev, "command"), "/bin/bash");

    let ev = sudo(
        "mallory : user NOT in sudoers ; TTY=pts/2 ; PWD=/tmp ; USER=root ; COMMAND=/bin/cat /etc/shadow",
    );
    assert_eq!((ev.action.as_str(), ev.status), ("sudo", Status::Denied));
    assert_eq!(ev.user_id.as_deref(), Some("mallory"));
    assert_eq!(md(&ev, "reason"), "not_in_sudoers");

    let ev = sudo(
        "alice : a password is required ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id",
    );
    assert_eq!((ev.action.as_str(), ev.status), ("sudo", Status::Failed));

    let ev =
        sudo("bob : command not allowed ; TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/rm -rf /");
    assert_eq!(ev.status, Status::Denied);
}

#[test]
fn sudo_pam() {
    let ev = sudo(
        "pam_unix(sudo:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=alice",
    );
    assert_eq!(
        (ev.action.as_str(), ev.status),
        ("auth_failure", Status::Failed)
    );
    assert_eq!(ev.user_id.as_deref(), Some("alice"));
    assert_eq!(md(&ev, "pam_service"), "sudo");
    assert_eq!(md(&ev, "logname"), "alice");
    assert_eq!(md(&ev, "ruser"), "alice");
    assert_eq!(md(&ev, "uid"), 1000);
    assert_eq!(ev.source_ip, None);
    assert!(ev.metadata.get("rhost").is_none());

    let ev = sudo("pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)");
    assert_eq!(
        (ev.action.as_str(), ev.status),
        ("session_open", Status::Success)
    );
    assert_eq!(ev.user_id.as_deref(), Some("alice"));
    assert_eq!(md(&ev, "target_user"), "root");

    let ev = sudo("pam_unix(sudo:session): session closed for user root");
    assert_eq!(ev.action, "session_close");
    assert_eq!(ev.user_id, None);
    assert_eq!(md(&ev, "target_user"), "root");
}

#[test]
fn sudo_unrecognised_is_generic() {
    let ev = sudo("unable to resolve host web-1: Name or service not known");
    assert_eq!((ev.action.as_str(), ev.status), ("syslog", Status::Unknown));
}

// --- su ---

fn su(msg: &str) -> SecurityEvent {
    parse(&format!("Mar 10 06:25:01 web-1 su[3131]: {msg}"))
}

#[test]
fn su_lines() {
    let ev = su("(to root) alice on pts/0");
    assert_eq!((ev.action.as_str(), ev.status), ("su", Status::Success));
    assert_eq!(ev.user_id.as_deref(), Some("alice"));
    assert_eq!(md(&ev, "target_user"), "root");
    assert_eq!(md(&ev, "tty"), "pts/0");

    let ev = su("FAILED SU (to root) alice on pts/0");
    assert_eq!((ev.action.as_str(), ev.status), ("su", Status::Failed));
    assert_eq!(ev.user_id.as_deref(), Some("alice"));

    let ev = su("Successful su for root by alice");
    assert_eq!((ev.action.as_str(), ev.status), ("su", Status::Success));
    assert_eq!(ev.user_id.as_deref(), Some("alice"));
    assert_eq!(md(&ev, "target_user"), "root");

    let ev = su("FAILED su for root by alice");
    assert_eq!((ev.action.as_str(), ev.status), ("su", Status::Failed));

    let ev = su("+ pts/3 alice:root");
    assert_eq!((ev.action.as_str(), ev.status), ("su", Status::Success));
    assert_eq!(md(&ev, "target_user"), "root");
}

#[test]
fn su_pam() {
    let ev = su(
        "pam_unix(su:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=root",
    );
    assert_eq!(
        (ev.action.as_str(), ev.status),
        ("auth_failure", Status::Failed)
    );
    assert_eq!(ev.user_id.as_deref(), Some("alice"));
    assert_eq!(md(&ev, "target_user"), "root");
    assert_eq!(md(&ev, "pam_service"), "su");

    let ev = su("pam_unix(su-l:session): session opened for user root(uid=0) by alice(uid=1000)");
    assert_eq!(
        (ev.action.as_str(), ev.status),
        ("session_open", Status::Success)
    );
    assert_eq!(ev.user_id.as_deref(), Some("alice"));
    assert_eq!(md(&ev, "target_user"), "root");
}

#[test]
fn usernames_only_under_user_keys() {
    // Every metadata string value equal to a username must sit under an allowed key.
    let lines = [
        "Mar 10 06:25:01 web-1 sudo: alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/id",
        "Mar 10 06:25:01 web-1 su[1]: pam_unix(su:auth): authentication failure; logname=alice uid=1000 euid=0 tty=/dev/pts/0 ruser=alice rhost=  user=root",
        "Mar 10 06:25:01 web-1 login[1]: pam_unix(login:session): session opened for user carol(uid=1001) by LOGIN(uid=0)",
    ];
    for line in lines {
        let ev = parse(line);
        for (k, v) in &ev.metadata {
            if ["alice", "root", "carol", "LOGIN"].contains(&v.as_str().unwrap_or("")) {
                assert!(
                    ["target_user", "logname", "ruser"].contains(&k.as_str()),
                    "{k} in {line}"
                );
            }
        }
    }
}

#[test]
fn other_programs_are_generic() {
    let ev =
        parse("Mar 10 06:25:01 web-1 CRON[99]: (root) CMD (command -v debian-sa1 > /dev/null)");
    assert_eq!((ev.action.as_str(), ev.status), ("syslog", Status::Unknown));
    // A program named like sshd only by prefix is not sshd.
    let ev =
        parse("Mar 10 06:25:01 web-1 sshdx[1]: Accepted password for a from 1.2.3.4 port 1 ssh2");
    assert_eq!(ev.action, "syslog");
}

// --- robustness ---

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_on_arbitrary(line in any::<String>()) {
        let mut p = SyslogParser::new(reference());
        let _ = p.parse(&line);
        let _ = looks_like_syslog(&line);
    }

    #[test]
    fn never_panics_after_prefix(
        prefix in prop::sample::select(vec![
            "Mar 10 06:25:01 web-1 sshd[1]: ",
            "Mar 10 06:25:01 web-1 sudo: ",
            "Mar 10 06:25:01 web-1 su[1]: ",
            "<38>Feb 29 23:59:60 h sshd-session[x]: ",
            "2024-03-10T06:25:01.123456+00:00 web-1 sshd[9]: ",
            "<165>1 2024-03-10T06:25:01Z host app 1 ID ",
            "<165>1 2024-03-10T06:25:01Z host app 1 ID [a b=\"",
            "Mar 10 06:25:01 web-1 sshd[1]: Accepted ",
            "Mar 10 06:25:01 web-1 sshd[1]: Disconnected from ",
            "Mar 10 06:25:01 web-1 sshd[1]: Received disconnect from ",
            "Mar 10 06:25:01 web-1 sshd[1]: pam_unix(",
            "Mar 10 06:25:01 web-1 sudo: pam_unix(sudo:session): session opened for user ",
            "Mar 10 06:25:01 web-1 sshd[1]: message repeated 2 times: [ ",
            "Mar 10 06:25:01 web-1 su: (to ",
            "<",
            "Dec ",
            "2024-",
        ]),
        tail in any::<String>(),
        tokens in prop::collection::vec(prop::sample::select(vec![
            " ", "from ", " port ", "22", ":", "[", "]", "\"", "\\", "=", " ; ", " : ",
            "invalid user ", "user ", "1.2.3.4", "::1", "é", "\u{feff}", "[preauth]", "(", ")",
            " by ", "COMMAND=", "user=", "rhost=", "\r",
        ]), 0..12),
    ) {
        let line = format!("{prefix}{}{tail}", tokens.concat());
        let mut p = SyslogParser::new(reference());
        let _ = p.parse(&line);
        let _ = looks_like_syslog(&line);
        // Cut at every char boundary as well: truncated lines must not panic either.
        for (i, _) in line.char_indices() {
            if let Some(cut) = line.get(..i) {
                let _ = p.parse(cut);
            }
        }
    }
}
