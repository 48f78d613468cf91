//! Syslog framing: PRI, RFC 3164 / RFC 5424 / ISO headers, structured data, timestamps.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use serde_json::Value;

use super::NO_HEADER;
use crate::domain::Metadata;
use crate::ingest::reject::{Reject, RejectKind};

// ---------------------------------------------------------------------------------------------
// Framing
// ---------------------------------------------------------------------------------------------

/// Header errors carry static text only: a reject must never echo the line (it may hold PII).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HeadErr {
    NotSyslog(&'static str),
    BadTimestamp(&'static str),
    MissingField(&'static str),
}

impl HeadErr {
    pub(super) fn into_reject(self) -> Reject {
        match self {
            HeadErr::NotSyslog(d) => Reject::new(RejectKind::NotSyslog, d),
            HeadErr::BadTimestamp(d) => Reject::new(RejectKind::BadTimestamp, d),
            HeadErr::MissingField(d) => Reject::new(RejectKind::MissingField, d),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Stamp {
    Bsd {
        month: u32,
        day: u32,
        time: NaiveTime,
    },
    Full(DateTime<Utc>),
}

/// The framing of one line, borrowed from it. Absent fields are empty strings.
#[derive(Debug)]
pub(super) struct Header<'a> {
    pub(super) pri: Option<u8>,
    pub(super) stamp: Stamp,
    pub(super) host: &'a str,
    pub(super) program: &'a str,
    pub(super) pid: &'a str,
    pub(super) msgid: &'a str,
    /// Raw RFC 5424 structured data, already validated.
    pub(super) sd: &'a str,
    pub(super) msg: &'a str,
}

pub(super) fn parse_header(line: &str) -> Result<Header<'_>, HeadErr> {
    let line = line.trim_end_matches(['\r', '\n']).trim_start();
    if line.trim_end().is_empty() {
        return Err(HeadErr::NotSyslog("empty line"));
    }
    let (pri, rest) = split_pri(line)?;
    let b = rest.as_bytes();
    let lead = b.iter().take(5).take_while(|c| c.is_ascii_digit()).count();
    match (lead, b.get(lead)) {
        (1..=3, Some(b' ')) if pri.is_some() => parse_5424(pri, rest.get(lead + 1..).unwrap_or("")),
        (4, Some(b'-')) => parse_iso(pri, rest),
        (0, _) => parse_3164(pri, rest),
        _ => Err(HeadErr::NotSyslog(NO_HEADER)),
    }
}

pub(super) fn split_pri(s: &str) -> Result<(Option<u8>, &str), HeadErr> {
    let Some(rest) = s.strip_prefix('<') else {
        return Ok((None, s));
    };
    let bad = HeadErr::NotSyslog("invalid PRI");
    let b = rest.as_bytes();
    let n = b.iter().take(4).take_while(|c| c.is_ascii_digit()).count();
    if !(1..=3).contains(&n) || b.get(n) != Some(&b'>') {
        return Err(bad);
    }
    let value = digits(b, 0, n).ok_or(bad)?;
    let pri = u8::try_from(value).ok().filter(|p| *p <= 191).ok_or(bad)?;
    Ok((Some(pri), rest.get(n + 1..).unwrap_or("")))
}

/// `Mmm dd hh:mm:ss HOST TAG: MSG` (RFC 3164).
pub(super) fn parse_3164(pri: Option<u8>, s: &str) -> Result<Header<'_>, HeadErr> {
    let b = s.as_bytes();
    let shape = HeadErr::NotSyslog(NO_HEADER);
    let month = b.get(..3).and_then(month_number).ok_or(shape)?;
    if b.get(3) != Some(&b' ') {
        return Err(shape);
    }
    let mut i = 4;
    if b.get(i) == Some(&b' ') {
        i += 1;
    }
    let day = if let Some(d) = digits(b, i, 2) {
        i += 2;
        d
    } else {
        let d = digits(b, i, 1).ok_or(shape)?;
        i += 1;
        d
    };
    if b.get(i) != Some(&b' ') {
        return Err(shape);
    }
    i += 1;
    let (hour, min, sec) = hms(b, i).ok_or(shape)?;
    i += 8;
    let nanos = parse_frac(b, &mut i).ok_or(shape)?;
    if b.get(i).is_some_and(|c| *c != b' ') {
        return Err(shape);
    }
    if day == 0 || day > max_day(month) {
        return Err(HeadErr::BadTimestamp("day out of range for month"));
    }
    let time =
        make_time(hour, min, sec, nanos).ok_or(HeadErr::BadTimestamp("time out of range"))?;
    let stamp = Stamp::Bsd { month, day, time };
    host_and_tag(pri, stamp, s.get(i..).unwrap_or(""))
}

/// `2024-03-10T06:25:01.123456+00:00 HOST TAG: MSG` (rsyslog / journald ISO form).
pub(super) fn parse_iso(pri: Option<u8>, s: &str) -> Result<Header<'_>, HeadErr> {
    let (t, end) = parse_rfc3339(s).map_err(|e| match e {
        TsErr::Shape => HeadErr::NotSyslog(NO_HEADER),
        TsErr::Value => HeadErr::BadTimestamp("impossible date or time"),
    })?;
    host_and_tag(pri, Stamp::Full(t), s.get(end..).unwrap_or(""))
}

/// After an RFC 3164 or ISO timestamp: ` HOSTNAME TAG MSG`, where the hostname may be missing
/// (some local writers omit it) and the tag may be missing.
pub(super) fn host_and_tag(
    pri: Option<u8>,
    stamp: Stamp,
    rest: &str,
) -> Result<Header<'_>, HeadErr> {
    let missing = HeadErr::NotSyslog("missing hostname");
    let s = rest
        .strip_prefix(' ')
        .ok_or(missing)?
        .trim_start_matches(' ');
    if s.is_empty() {
        return Err(missing);
    }
    let (first, after) = s.split_once(' ').unwrap_or((s, ""));
    let mut header = Header {
        pri,
        stamp,
        host: "",
        program: "",
        pid: "",
        msgid: "",
        sd: "",
        msg: "",
    };
    // Hostnames never end in ':', tags do: `Mar 10 06:25:01 sshd[42]: ...` has no hostname.
    if first.ends_with(':') {
        let (program, pid, msg) = split_tag(s);
        if !program.is_empty() {
            (header.program, header.pid, header.msg) = (program, pid, msg);
            return Ok(header);
        }
    }
    if !first.bytes().all(|c| c > b' ' && c != 0x7f) {
        return Err(HeadErr::NotSyslog("invalid hostname"));
    }
    header.host = first;
    (header.program, header.pid, header.msg) = split_tag(after.trim_start_matches(' '));
    Ok(header)
}

/// Splits `prog[pid]: msg` / `prog: msg` / `prog[pid] msg`; without a tag the whole text is the
/// message and program and pid are empty.
pub(super) fn split_tag(s: &str) -> (&str, &str, &str) {
    let untagged = ("", "", s);
    let b = s.as_bytes();
    let n = b
        .iter()
        .position(|&c| c == b' ' || c == b'[' || c == b':')
        .unwrap_or(b.len());
    let (Some(program), Some(after)) = (s.get(..n), s.get(n..)) else {
        return untagged;
    };
    if program.is_empty() {
        return untagged;
    }
    let (pid, rest) = if let Some(inner) = after.strip_prefix('[') {
        let Some((pid, rest)) = inner.split_once(']') else {
            return untagged;
        };
        if pid.contains(' ') {
            return untagged;
        }
        (pid, rest.strip_prefix(':').unwrap_or(rest))
    } else if let Some(rest) = after.strip_prefix(':') {
        ("", rest)
    } else {
        return untagged;
    };
    if rest.is_empty() {
        (program, pid, "")
    } else if let Some(msg) = rest.strip_prefix(' ') {
        (program, pid, msg)
    } else {
        untagged
    }
}

/// `<PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]`; `s` starts
/// after `VERSION `.
pub(super) fn parse_5424(pri: Option<u8>, s: &str) -> Result<Header<'_>, HeadErr> {
    let malformed = HeadErr::NotSyslog("malformed RFC 5424 header");
    let (ts, rest) = s.split_once(' ').ok_or(malformed)?;
    if ts == "-" {
        return Err(HeadErr::MissingField("RFC 5424 timestamp is nil"));
    }
    let t = match parse_rfc3339(ts) {
        Ok((t, end)) if end == ts.len() => t,
        Ok(_) | Err(TsErr::Shape) => {
            return Err(HeadErr::BadTimestamp("unrecognised RFC 5424 timestamp"));
        }
        Err(TsErr::Value) => return Err(HeadErr::BadTimestamp("impossible date or time")),
    };
    let mut fields = [""; 4];
    let mut rest = rest;
    for field in &mut fields {
        let (value, next) = rest.split_once(' ').ok_or(malformed)?;
        if value.is_empty() {
            return Err(malformed);
        }
        *field = if value == "-" { "" } else { value };
        rest = next;
    }
    let [host, program, pid, msgid] = fields;
    let (sd, after) = split_sd(rest)?;
    let msg = if after.is_empty() {
        ""
    } else {
        after.strip_prefix(' ').ok_or(malformed)?
    };
    Ok(Header {
        pri,
        stamp: Stamp::Full(t),
        host,
        program,
        pid,
        msgid,
        sd,
        msg: msg.strip_prefix('\u{feff}').unwrap_or(msg),
    })
}

pub(super) fn split_sd(s: &str) -> Result<(&str, &str), HeadErr> {
    let bad = HeadErr::NotSyslog("malformed RFC 5424 structured data");
    if let Some(after) = s.strip_prefix('-') {
        return if after.is_empty() || after.starts_with(' ') {
            Ok(("", after))
        } else {
            Err(bad)
        };
    }
    if !s.starts_with('[') {
        return Err(bad);
    }
    let end = walk_sd(s, None).ok_or(bad)?;
    match (s.get(..end), s.get(end..)) {
        (Some(sd), Some(after)) if after.is_empty() || after.starts_with(' ') => Ok((sd, after)),
        _ => Err(bad),
    }
}

/// Walks `[id k="v" ...][id2 ...]`, returning the byte length consumed, and fills `out` with
/// `{id: {k: v}}` when given (validation alone needs no allocation).
pub(super) fn walk_sd(s: &str, mut out: Option<&mut Metadata>) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        i += 1;
        let id_start = i;
        while let Some(&c) = b.get(i) {
            match c {
                b' ' | b']' => break,
                b'=' | b'"' => return None,
                _ => i += 1,
            }
        }
        let id = s.get(id_start..i).filter(|id| !id.is_empty())?;
        let mut params = out.as_ref().map(|_| Metadata::new());
        loop {
            match b.get(i)? {
                b']' => {
                    i += 1;
                    break;
                }
                b' ' => i += 1,
                _ => return None,
            }
            let name_start = i;
            while let Some(&c) = b.get(i) {
                match c {
                    b'=' => break,
                    b' ' | b']' | b'"' => return None,
                    _ => i += 1,
                }
            }
            let name = s.get(name_start..i).filter(|n| !n.is_empty())?;
            if b.get(i + 1) != Some(&b'"') {
                return None;
            }
            i += 2;
            let mut value = params.as_ref().map(|_| String::new());
            let mut seg = i;
            loop {
                match b.get(i)? {
                    b'"' => break,
                    b'\\' => match b.get(i + 1) {
                        Some(&e @ (b'"' | b'\\' | b']')) => {
                            if let Some(v) = value.as_mut() {
                                v.push_str(s.get(seg..i)?);
                                v.push(char::from(e));
                            }
                            i += 2;
                            seg = i;
                        }
                        // RFC 5424: any other backslash is an ordinary character.
                        _ => i += 1,
                    },
                    _ => i += 1,
                }
            }
            if let (Some(p), Some(mut v)) = (params.as_mut(), value) {
                v.push_str(s.get(seg..i)?);
                p.insert(name.to_owned(), Value::String(v));
            }
            i += 1;
        }
        if let (Some(o), Some(p)) = (out.as_deref_mut(), params) {
            o.insert(id.to_owned(), Value::Object(p));
        }
    }
    Some(i)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TsErr {
    /// Not shaped like a timestamp.
    Shape,
    /// Shaped like one, but the date or time does not exist.
    Value,
}

/// `YYYY-MM-DDThh:mm:ss[.frac][Z|±hh:mm|±hhmm]`, followed by a space or the end; a missing
/// offset means UTC. Returns the time and the length consumed.
pub(super) fn parse_rfc3339(s: &str) -> Result<(DateTime<Utc>, usize), TsErr> {
    let b = s.as_bytes();
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let year = digits(b, 0, 4).ok_or(TsErr::Shape)?;
    let month = digits(b, 5, 2).ok_or(TsErr::Shape)?;
    let day = digits(b, 8, 2).ok_or(TsErr::Shape)?;
    if !at(4, b'-') || !at(7, b'-') || !(at(10, b'T') || at(10, b't')) {
        return Err(TsErr::Shape);
    }
    let (hour, min, sec) = hms(b, 11).ok_or(TsErr::Shape)?;
    let mut i = 19;
    let nanos = parse_frac(b, &mut i).ok_or(TsErr::Shape)?;
    let offset = match b.get(i) {
        Some(b'Z' | b'z') => {
            i += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits(b, i + 1, 2).ok_or(TsErr::Shape)?;
            let mut j = i + 3;
            if at(j, b':') {
                j += 1;
            }
            let om = digits(b, j, 2).ok_or(TsErr::Shape)?;
            i = j + 2;
            if oh > 23 || om > 59 {
                return Err(TsErr::Value);
            }
            let secs = i64::from(oh * 3600 + om * 60);
            if sign == b'-' { -secs } else { secs }
        }
        _ => 0,
    };
    if b.get(i).is_some_and(|c| *c != b' ') {
        return Err(TsErr::Shape);
    }
    let year = i32::try_from(year).map_err(|_| TsErr::Value)?;
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or(TsErr::Value)?;
    let time = make_time(hour, min, sec, nanos).ok_or(TsErr::Value)?;
    let utc = date
        .and_time(time)
        .checked_sub_signed(TimeDelta::seconds(offset))
        .ok_or(TsErr::Value)?
        .and_utc();
    Ok((utc, i))
}

/// Exactly `len` ASCII digits at `at`.
pub(super) fn digits(b: &[u8], at: usize, len: usize) -> Option<u32> {
    let slice = b.get(at..at.checked_add(len)?)?;
    slice.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit()
            .then(|| acc.saturating_mul(10).saturating_add(u32::from(c - b'0')))
    })
}

/// `hh:mm:ss` at `at` (shape only).
pub(super) fn hms(b: &[u8], at: usize) -> Option<(u32, u32, u32)> {
    if b.get(at + 2) != Some(&b':') || b.get(at + 5) != Some(&b':') {
        return None;
    }
    Some((
        digits(b, at, 2)?,
        digits(b, at + 3, 2)?,
        digits(b, at + 6, 2)?,
    ))
}

/// Optional `.digits` at `*i` as nanoseconds (digits past the ninth are dropped); `None` for a
/// dot without digits.
pub(super) fn parse_frac(b: &[u8], i: &mut usize) -> Option<u32> {
    if b.get(*i) != Some(&b'.') {
        return Some(0);
    }
    let start = *i + 1;
    let mut j = start;
    let mut nanos = 0u32;
    while let Some(&c) = b.get(j).filter(|c| c.is_ascii_digit()) {
        if j - start < 9 {
            nanos = nanos * 10 + u32::from(c - b'0');
        }
        j += 1;
    }
    let n = j - start;
    if n == 0 {
        return None;
    }
    for _ in n..9 {
        nanos *= 10;
    }
    *i = j;
    Some(nanos)
}

/// A time of day; second 60 is a leap second, which chrono spells as 59 plus a second of nanos.
pub(super) fn make_time(hour: u32, min: u32, sec: u32, nanos: u32) -> Option<NaiveTime> {
    if sec == 60 {
        NaiveTime::from_hms_nano_opt(hour, min, 59, nanos.checked_add(1_000_000_000)?)
    } else {
        NaiveTime::from_hms_nano_opt(hour, min, sec, nanos)
    }
}

pub(super) fn month_number(m: &[u8]) -> Option<u32> {
    let &[a, b, c] = m else {
        return None;
    };
    let n = match [
        a.to_ascii_lowercase(),
        b.to_ascii_lowercase(),
        c.to_ascii_lowercase(),
    ] {
        [b'j', b'a', b'n'] => 1,
        [b'f', b'e', b'b'] => 2,
        [b'm', b'a', b'r'] => 3,
        [b'a', b'p', b'r'] => 4,
        [b'm', b'a', b'y'] => 5,
        [b'j', b'u', b'n'] => 6,
        [b'j', b'u', b'l'] => 7,
        [b'a', b'u', b'g'] => 8,
        [b's', b'e', b'p'] => 9,
        [b'o', b'c', b't'] => 10,
        [b'n', b'o', b'v'] => 11,
        [b'd', b'e', b'c'] => 12,
        _ => return None,
    };
    Some(n)
}

/// Longest month length in any year (Feb 29 exists in leap years; the year comes later).
pub(super) fn max_day(month: u32) -> u32 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}
