//! Redaction of whole events and of free text: structured fields by type, free text by pattern.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock};

use anyhow::Result;
use regex::Regex;
use serde_json::Value;

use super::{Kind, Pseudonymiser};
use crate::domain::SecurityEvent;
use crate::domain::{SOURCE_NETWORK, network_of};

mod span_cache;
mod text;

/// Metadata keys whose string values are account names (compared case-insensitively).
pub const USER_KEYS: &[&str] = &[
    "username",
    "user_name",
    "user",
    "target_user",
    "logname",
    "ruser",
    "rolesessionname",
    "newusername",
    "email",
    "user_email",
    "principal",
];

/// One pass finds every candidate: emails, IPv6, IPv4, and names after a user context
/// (`arn:…:user/`, `assumed-role/Role/`, `/home/`, `user=` …). Matches are classified after
/// the fact, which keeps the regex capture-free (DFA-fast).
static CANDIDATES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"arn:aws:iam::\d*:user/(?:[\w+=,.@-]+/)*[\w+=,.@-]+",
        r"|arn:aws:sts::\d*:assumed-role/[\w+=,.@-]+/[\w+=,.@-]+",
        r"|/(?:home|Users)/[\w.@+-]+",
        // `key=value` takes no space after `=`: PAM writes empty fields (`ruser= rhost=h`),
        // and the next key is not a name.
        r"|(?i:\b(?:user|username|user_name|logname|ruser|login)\s?(?:=|:\s?))[\w.@+-]+",
        r#"|(?i:"(?:user|username|user_name|user_id|userid|login|account|principal|email)"\s*:\s*")[^"\\]+"#,
        r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
        r"|(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?",
        r"|\b(?:\d{1,3}\.){3}\d{1,3}\b",
    ))
    .unwrap_or_else(|e| panic!("redaction regex is invalid: {e}"))
});

/// Applies a `Pseudonymiser` to events and text.
#[derive(Clone)]
pub struct Redactor {
    pseudo: Arc<Pseudonymiser>,
    keep_accounts: Arc<Vec<String>>,
    spans: Arc<span_cache::SpanCache>,
}

impl Redactor {
    /// A redactor over `store`'s pseudonym tables, sealed with `keys`.
    pub fn over_store(
        keys: super::VaultKeys,
        store: &crate::store::Store,
        cache_entries: usize,
        keep_accounts: Vec<String>,
    ) -> Self {
        Redactor::new(
            Arc::new(Pseudonymiser::new(keys, store, cache_entries)),
            keep_accounts,
        )
    }

    pub fn new(pseudo: Arc<Pseudonymiser>, keep_accounts: Vec<String>) -> Self {
        Redactor {
            pseudo,
            keep_accounts: Arc::new(keep_accounts),
            spans: Arc::default(),
        }
    }

    pub fn pseudonymiser(&self) -> &Pseudonymiser {
        &self.pseudo
    }

    /// Pseudonymise every field of `ev` that can hold PII, in place. Nothing from input is
    /// taken as one of our tokens: a value shaped like `IP_ADDRESS_1` or `USER_A` is
    /// pseudonymised like any other (so a forged token never resolves to someone's value).
    pub fn redact_event(&self, ev: &mut SecurityEvent) -> Result<()> {
        let mut named = Vec::new();
        collect_known_users(&ev.metadata, &mut named);
        // Only the redactor writes the network token: whatever the record carried is dropped.
        ev.metadata.remove(SOURCE_NETWORK);
        let fields = self.redact_fields(ev, named)?;
        self.map(&mut ev.metadata, &fields.known)?;
        if let Some(network) = fields.network {
            ev.metadata.insert(SOURCE_NETWORK.into(), network.into());
        }
        if let Some((raw, token)) = &fields.host {
            replace_host(&mut ev.metadata, raw, token);
        }
        Ok(())
    }

    /// Redacts the schema fields of `ev` (account, source, resource, action, record id) and
    /// says what the metadata needs: the event's known account names (the account and
    /// `metadata_names`, the names found under account keys), the network token to add, and
    /// a hostname source to replace wherever the record repeats it.
    fn redact_fields(
        &self,
        ev: &mut SecurityEvent,
        metadata_names: Vec<String>,
    ) -> Result<FieldsRedacted> {
        // CloudTrail's `Role/session` principals keep the role's name; anywhere else a slash
        // is part of the account (`alice/admin@EXAMPLE.COM` is one Kerberos principal).
        let role_session = ev.format == crate::domain::Format::Cloudtrail;
        let mut known: Vec<String> = metadata_names;
        if let Some(user) = ev.user_id.take() {
            if !self.is_kept(&user) {
                known.push(user.clone());
                // `Role/session`: the session name alone shows up too (principalId `AROA…:name`).
                if role_session && let Some((_, session)) = user.rsplit_once('/') {
                    known.push(session.to_string());
                }
            }
            ev.user_id = Some(self.account_of(&user, role_session)?);
        }
        known.retain(|u| !self.is_kept(u) && !u.is_empty());
        known.sort_unstable();
        known.dedup();
        let known = Known::new(&known);
        let mut host = None;
        let network = ev
            .source_ip
            .as_deref()
            .and_then(network_of)
            .map(|net| self.pseudo.network(&net).to_string());
        if let Some(ip) = ev.source_ip.take() {
            let token = self.address(&ip)?;
            // A hostname (PAM's rhost, sshd with UseDNS) is not found by the text patterns:
            // replace it wherever the record repeats it.
            if token.starts_with("HOST_") && ip.len() >= 3 {
                host = Some((ip, token.clone()));
            }
            ev.source_ip = Some(token);
        }
        if let Cow::Owned(s) = self.text_known(&ev.resource, &known)? {
            ev.resource = s;
        }
        if let Cow::Owned(s) = self.text_known(&ev.action, &known)? {
            ev.action = s;
        }
        if let Some(rid) = &ev.origin.record_id
            && let Cow::Owned(s) = self.text_known(rid, &known)?
        {
            ev.origin.record_id = Some(s);
        }
        Ok(FieldsRedacted {
            known,
            network,
            host,
        })
    }

    /// An account name (username, email, ARN, or `Role/session`) as a token.
    pub fn account(&self, raw: &str) -> Result<String> {
        self.account_of(raw, true)
    }

    /// `role_session`: read `X/Y` as a cloud role and its session (the role stays readable).
    fn account_of(&self, raw: &str, role_session: bool) -> Result<String> {
        if raw.is_empty() || self.is_kept(raw) {
            return Ok(raw.to_string());
        }
        if raw.starts_with("arn:") {
            return Ok(self.text(raw, &[])?.into_owned());
        }
        if role_session && let Some((role, session)) = raw.split_once('/') {
            return Ok(format!("{}/{}", role, self.account_of(session, false)?));
        }
        if looks_like_email(raw) {
            return Ok(self.pseudo.token(Kind::Email, raw)?.to_string());
        }
        Ok(self.pseudo.token(Kind::User, raw)?.to_string())
    }

    /// A source address: IPs become `IP_ADDRESS_n`; AWS service names stay; other hosts `HOST_n`.
    pub fn address(&self, raw: &str) -> Result<String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Ok(trimmed.to_string());
        }
        if trimmed.parse::<IpAddr>().is_ok() {
            return Ok(self.pseudo.token(Kind::Ip, trimmed)?.to_string());
        }
        if is_service_name(trimmed) {
            return Ok(trimmed.to_string());
        }
        Ok(self.pseudo.token(Kind::Host, trimmed)?.to_string())
    }

    /// Redact free text: IPs, emails, names in user contexts, and each of `known` users.
    pub fn text<'a>(&self, s: &'a str, known: &[String]) -> Result<Cow<'a, str>> {
        self.text_known(s, &Known::new(known))
    }

    fn text_known<'a>(&self, s: &'a str, known: &Known) -> Result<Cow<'a, str>> {
        let mut out = self.patterns_checked(s)?;
        for (user, finder) in &known.0 {
            if finder.find(out.as_bytes()).is_some() {
                let token = self.account(user)?;
                if let Some(replaced) = replace_words(&out, user, &token) {
                    out = Cow::Owned(replaced);
                }
            }
        }
        Ok(out)
    }

    /// Redaction for a record that failed to parse: no structure says where names are, so on
    /// top of the free-text patterns, words after `for`/`user`/`by` and any word already known
    /// as an account are replaced too.
    pub fn quarantine_text(&self, s: &str) -> Result<String> {
        let base = self.text(s, &[])?.into_owned();
        let mut out = String::with_capacity(base.len());
        let mut after_trigger = false;
        for piece in base.split_inclusive(char::is_whitespace) {
            let word = piece.trim_end();
            let trail = &piece[word.len()..];
            let core = word.trim_matches(|c: char| {
                !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'))
            });
            let replace = !core.is_empty()
                && !self.is_kept(core)
                && !core.bytes().all(|b| b.is_ascii_digit())
                && (after_trigger
                    || self.pseudo.existing(Kind::User, core)?.is_some()
                    || self.pseudo.existing(Kind::Email, core)?.is_some());
            if replace {
                out.push_str(&word.replacen(core, &self.account(core)?, 1));
            } else {
                out.push_str(word);
            }
            out.push_str(trail);
            after_trigger = matches!(core.to_ascii_lowercase().as_str(), "for" | "user" | "by");
        }
        Ok(out)
    }

    fn patterns<'a>(&self, s: &'a str) -> Result<Cow<'a, str>> {
        let mut out = String::new();
        let mut last = 0;
        for m in CANDIDATES.find_iter(s) {
            if let Some(replacement) = self.classify(m.as_str())? {
                out.push_str(&s[last..m.start()]);
                out.push_str(&replacement);
                last = m.end();
            }
        }
        if last == 0 {
            return Ok(Cow::Borrowed(s));
        }
        out.push_str(&s[last..]);
        Ok(Cow::Owned(out))
    }

    /// What a candidate match becomes, or None to leave it (timestamps, versions, tokens).
    fn classify(&self, m: &str) -> Result<Option<String>> {
        if let Some(idx) = user_context_split(m) {
            let (prefix, name) = m.split_at(idx);
            if name.is_empty() || self.is_kept(name) {
                return Ok(None);
            }
            return Ok(Some(format!("{prefix}{}", self.account_of(name, false)?)));
        }
        if m.contains('@') {
            return Ok(Some(self.pseudo.token(Kind::Email, m)?.to_string()));
        }
        if m.parse::<IpAddr>().is_ok() {
            return Ok(Some(self.pseudo.token(Kind::Ip, m)?.to_string()));
        }
        Ok(None)
    }

    fn value(&self, key: &str, value: &mut Value, known: &Known) -> Result<()> {
        match value {
            Value::String(s) => {
                if is_user_key(key) {
                    *s = self.account_of(s, false)?;
                } else if let Cow::Owned(r) = self.text_known(s, known)? {
                    *s = r;
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.value(key, item, known)?;
                }
            }
            // A role (CloudTrail's sessionIssuer) is not a person: its `userName` is the role's
            // name and stays readable; its text is still scanned.
            Value::Object(map) if key == "sessionIssuer" => {
                for (_, v) in map.iter_mut() {
                    self.value("", v, known)?;
                }
            }
            Value::Object(map) => self.map(map, known)?,
            _ => {}
        }
        Ok(())
    }

    /// Values by their keys, and the keys themselves: a JSON key is input too
    /// (`{"10.20.30.40": 1}`). The map is rebuilt only when a key changes.
    fn map(&self, map: &mut serde_json::Map<String, Value>, known: &Known) -> Result<()> {
        for (k, v) in map.iter_mut() {
            self.value(k, v, known)?;
        }
        let mut renamed = false;
        for k in map.keys() {
            if let Cow::Owned(_) = self.text_known(k, known)? {
                renamed = true;
                break;
            }
        }
        if renamed {
            let old = std::mem::take(map);
            for (k, v) in old {
                let key = self.text_known(&k, known)?.into_owned();
                map.insert(key, v);
            }
        }
        Ok(())
    }

    fn is_kept(&self, name: &str) -> bool {
        self.keep_accounts.iter().any(|k| k == name)
    }
}

/// What redacting an event's schema fields leaves for its metadata.
struct FieldsRedacted {
    known: Known,
    network: Option<String>,
    host: Option<(String, String)>,
}

/// An event's known account names, each with its searcher built once: every string of the
/// event is searched for every name.
struct Known(Vec<(String, memchr::memmem::Finder<'static>)>);

impl Known {
    fn new(names: &[String]) -> Known {
        Known(
            names
                .iter()
                .map(|n| {
                    (
                        n.clone(),
                        memchr::memmem::Finder::new(n.as_bytes()).into_owned(),
                    )
                })
                .collect(),
        )
    }
}

fn is_user_key(key: &str) -> bool {
    USER_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
}

fn collect_known_users(map: &serde_json::Map<String, Value>, out: &mut Vec<String>) {
    for (k, v) in map {
        match v {
            Value::String(s) if is_user_key(k) && !s.contains('/') => out.push(s.clone()),
            Value::Object(inner) if k != "sessionIssuer" => collect_known_users(inner, out),
            _ => {}
        }
    }
}

/// Byte index where the name starts if `m` is a user-context match, else None.
/// Replace a raw hostname in every string of `md` (keys included).
fn replace_host(md: &mut serde_json::Map<String, Value>, raw: &str, token: &str) {
    fn walk(v: &mut Value, raw: &str, token: &str) {
        match v {
            Value::String(s) => {
                if let Some(r) = replace_words(s, raw, token) {
                    *s = r;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| walk(i, raw, token)),
            Value::Object(map) => replace_host(map, raw, token),
            _ => {}
        }
    }
    if md.keys().any(|k| k.contains(raw)) {
        let old = std::mem::take(md);
        for (k, v) in old {
            let k = replace_words(&k, raw, token).unwrap_or(k);
            md.insert(k, v);
        }
    }
    for v in md.values_mut() {
        walk(v, raw, token);
    }
}

fn user_context_split(m: &str) -> Option<usize> {
    if m.starts_with('"') {
        // "userName": "value — the name starts after the quote that opens the value.
        let colon = m.find(':')?;
        return m[colon..].find('"').map(|q| colon + q + 1);
    }
    if m.starts_with("arn:aws:") || m.starts_with("/home/") || m.starts_with("/Users/") {
        return m.rfind('/').map(|i| i + 1);
    }
    let lower = m.get(..m.len().min(10))?.to_ascii_lowercase();
    if ["user", "login", "logname", "ruser"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        let sep = m.find(['=', ':'])?;
        let rest = &m[sep + 1..];
        let skip = rest.len() - rest.trim_start().len();
        return Some(sep + 1 + skip);
    }
    None
}

/// The whole quick reject: the trigger scan, then the gate (the span cache runs them apart).
#[cfg(test)]
fn might_hold_pii(s: &str) -> bool {
    let bytes = s.as_bytes();
    has_trigger(bytes) && gate_says_pii(bytes)
}

/// Quick reject, one pass over the bytes (after [`has_trigger`]): an IPv4 needs four dotted
/// groups of 1–3 digits (versions like `2.15.0` do not have them); an IPv6 seven colons or a
/// `::` (anything else does not parse as one, so times like `23:52:47` skip the regex); an
/// email an `@`; a user context a `/`, `=`, `:` or `"` plus a telling word. Most metadata
/// strings (service names, agents, ids, times) fail all of these and skip the regex.
fn gate_says_pii(bytes: &[u8]) -> bool {
    let mut gate = Gate::default();
    bytes.iter().any(|&b| gate.feed(b)) || gate.verdict(bytes)
}

/// The bytes one of the shapes [`Gate`] looks for needs: most strings hold none.
const TRIGGER_BYTES: [u8; 6] = *b".:@/=\"";

/// [`TRIGGER_BYTES`] as a table, for the short-string scan.
const TRIGGERS: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < TRIGGER_BYTES.len() {
        t[TRIGGER_BYTES[i] as usize] = true;
        i += 1;
    }
    t
};

/// Whether `bytes` holds a trigger byte: a table lookup per byte for short strings (keys and
/// most values, where setting up a SIMD search cost more than the scan), memchr beyond.
fn has_trigger(bytes: &[u8]) -> bool {
    if bytes.len() < 48 {
        return bytes.iter().any(|&b| TRIGGERS[b as usize]);
    }
    let [a, b, c, d, e, f] = TRIGGER_BYTES;
    memchr::memchr3(a, b, c, bytes).is_some() || memchr::memchr3(d, e, f, bytes).is_some()
}

/// The quick reject's state over one string, fed a byte at a time.
#[derive(Default)]
struct Gate {
    colons: u32,
    seps: u32,
    /// Digits in the current group, and dotted groups in a row before it.
    group: u32,
    dotted: u32,
    prev: u8,
}

impl Gate {
    /// True as soon as the string may hold PII, whatever follows.
    #[inline]
    fn feed(&mut self, b: u8) -> bool {
        match b {
            b'0'..=b'9' => self.group += 1,
            b'.' if (1..=3).contains(&self.group) => {
                if self.dotted >= 3 {
                    return true;
                }
                self.dotted += 1;
                self.group = 0;
            }
            _ => {
                if self.dotted >= 3 && self.group >= 1 {
                    return true;
                }
                (self.group, self.dotted) = (0, 0);
                match b {
                    b'@' => return true,
                    b':' if self.prev == b':' => return true,
                    b':' => self.colons += 1,
                    b'/' | b'=' | b'"' => self.seps += 1,
                    _ => {}
                }
            }
        }
        self.prev = b;
        false
    }

    /// At the end of the string `s` (every byte fed, none answered true).
    fn verdict(&self, s: &[u8]) -> bool {
        (self.dotted >= 3 && self.group >= 1)
            || self.colons >= 7
            || (self.seps + self.colons > 0 && has_user_word(s))
    }
}

/// `user`, `login`, `logname` or `/home/` anywhere, in any case (checked only where the first byte fits,
/// which is what keeps this off the profile).
fn has_user_word(hay: &[u8]) -> bool {
    let starts = |i: usize, w: &[u8]| {
        hay.get(i..i + w.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(w))
    };
    hay.iter()
        .enumerate()
        .any(|(i, &b)| match b.to_ascii_lowercase() {
            b'u' => starts(i, b"user"),
            b'l' => starts(i, b"login") || starts(i, b"logname"),
            b'/' => starts(i, b"/home/"),
            _ => false,
        })
}

fn looks_like_email(s: &str) -> bool {
    match s.rsplit_once('@') {
        Some((local, domain)) => !local.is_empty() && domain.contains('.') && !s.contains(' '),
        None => false,
    }
}

/// AWS's own callers appear as sourceIPAddress (`s3.amazonaws.com`, `AWS Internal`): not PII.
fn is_service_name(s: &str) -> bool {
    s.ends_with(".amazonaws.com") || s == "AWS Internal" || s.ends_with(".aws.internal")
}

/// Replace whole-word occurrences of `word` (bounded by non-name characters).
fn replace_words(s: &str, word: &str, token: &str) -> Option<String> {
    let is_name = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@');
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    let mut changed = false;
    for (idx, _) in s.match_indices(word) {
        if idx < last {
            continue;
        }
        let before_ok = s[..idx].chars().next_back().is_none_or(|c| !is_name(c));
        let end = idx + word.len();
        let after_ok = s[end..].chars().next().is_none_or(|c| {
            !is_name(c) || (c == '.' && !s[end + 1..].starts_with(char::is_alphanumeric))
        });
        if before_ok && after_ok {
            out.push_str(&s[last..idx]);
            out.push_str(token);
            last = end;
            changed = true;
        }
    }
    if !changed {
        return None;
    }
    out.push_str(&s[last..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Format, SecurityEvent};
    use crate::privacy::VaultKeys;

    fn redactor() -> (tempfile::TempDir, Redactor) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path(), 8).unwrap();
        let p = Pseudonymiser::new(VaultKeys::from_master(&[9; 32]), &store, 100);
        (dir, Redactor::new(Arc::new(p), vec!["root".into()]))
    }

    #[test]
    fn free_text_ips_emails_and_contexts() {
        let (_d, r) = redactor();
        let s = "Failed password for alice from 203.0.113.7 port 22 ssh2; mail bob@corp.io; \
                 arn:aws:iam::123456789012:user/ops/carol /home/dave user=erin at 12:30:45 v1.2.3";
        let out = r.text(s, &["alice".to_string()]).unwrap();
        for raw in [
            "alice",
            "203.0.113.7",
            "bob@corp.io",
            "carol",
            "dave",
            "erin",
        ] {
            assert!(!out.contains(raw), "{raw} leaked: {out}");
        }
        assert!(out.contains("12:30:45"), "{out}");
        assert!(out.contains("v1.2.3"), "{out}");
        assert!(
            out.contains("arn:aws:iam::123456789012:user/ops/USER_"),
            "{out}"
        );
        assert!(out.contains("user1***@corp.io"), "{out}");
    }

    #[test]
    fn ipv6_and_kept_accounts() {
        let (_d, r) = redactor();
        let out = r.text("from 2001:db8::1 port 22 user=root", &[]).unwrap();
        assert!(!out.contains("2001:db8::1"), "{out}");
        assert!(out.contains("user=root"), "{out}");
    }

    #[test]
    fn json_user_fields_and_quarantine_words() {
        let (_d, r) = redactor();
        let out = r.text(r#"{"userName": "henry", "x": 1}"#, &[]).unwrap();
        assert!(!out.contains("henry"), "{out}");
        let known = r.account("ivan").unwrap();
        let q = r
            .quarantine_text("garbage Failed password for judy from x; ivan did it")
            .unwrap();
        assert!(!q.contains("judy") && !q.contains("ivan"), "{q}");
        assert!(q.contains(&known), "{q}");
        assert!(q.contains("garbage Failed password for USER_"), "{q}");
    }

    #[test]
    fn times_and_plain_values_skip_the_patterns() {
        for plain in [
            "2024-05-05T23:52:47Z",
            "12:30:45",
            "s3.amazonaws.com",
            "a:b:c",
        ] {
            assert!(!might_hold_pii(plain), "{plain}");
        }
        for pii in [
            "fe80::1",
            "1:2:3:4:5:6:7:8",
            "Login: bob",
            "x@y.io",
            "/HOME/carol",
            "logname=dave",
        ] {
            assert!(might_hold_pii(pii), "{pii}");
        }
    }

    #[test]
    fn words_only_replaced_whole() {
        assert_eq!(
            replace_words("al alice al.", "al", "X").as_deref(),
            Some("X alice X.")
        );
        assert_eq!(replace_words("alice", "al", "X"), None);
    }

    #[test]
    fn event_fields_and_metadata() {
        let (_d, r) = redactor();
        let mut ev = SecurityEvent::new(chrono::Utc::now(), "login", Format::Jsonl);
        ev.user_id = Some("frank@company.com".into());
        ev.source_ip = Some("198.51.100.4".into());
        ev.resource = "/home/frank/.ssh".into();
        ev.metadata.insert(
            "message".into(),
            "login by frank@company.com from 198.51.100.4".into(),
        );
        ev.metadata.insert(
            "requestParameters".into(),
            serde_json::json!({"userName": "gina"}),
        );
        r.redact_event(&mut ev).unwrap();
        let text = serde_json::to_string(&ev).unwrap();
        for raw in ["frank", "198.51.100.4", "gina"] {
            assert!(!text.contains(raw), "{raw} leaked: {text}");
        }
        assert_eq!(ev.user_id.as_deref(), Some("user1***@company.com"));
        assert_eq!(ev.source_ip.as_deref(), Some("IP_ADDRESS_1"));
    }

    #[test]
    fn the_trigger_scan_finds_each_byte_in_short_and_long_strings() {
        for pad in [0, 10, 47, 60, 200] {
            let filler = "a".repeat(pad);
            assert!(!has_trigger(
                format!("{filler}DescribeInstances").as_bytes()
            ));
            for t in [".", ":", "@", "/", "=", "\"", "é."] {
                assert!(has_trigger(format!("{filler}{t}x").as_bytes()), "{pad} {t}");
                assert!(has_trigger(format!("{t}{filler}").as_bytes()), "{pad} {t}");
            }
        }
    }

    #[test]
    fn the_source_network_is_a_keyed_token_and_input_cannot_forge_it() {
        let (_d, r) = redactor();
        let network = |ip: &str, forged: Option<&str>| {
            let mut ev = SecurityEvent::new(chrono::Utc::now(), "login", Format::Jsonl);
            ev.source_ip = Some(ip.into());
            if let Some(f) = forged {
                ev.metadata.insert(SOURCE_NETWORK.into(), f.into());
            }
            r.redact_event(&mut ev).unwrap();
            let view = crate::domain::EventView::from_event(&ev);
            assert_eq!(
                view.network.as_deref(),
                ev.metadata.get(SOURCE_NETWORK).and_then(Value::as_str)
            );
            view.network
        };
        let a = network("198.51.100.4", None).expect("a network");
        assert!(a.starts_with("NETWORK_") && !a.contains("198.51"), "{a}");
        assert_eq!(network("198.51.100.200", None).as_deref(), Some(a.as_str()));
        assert_ne!(network("198.51.101.4", None).as_deref(), Some(a.as_str()));
        // A record carrying the key itself: replaced by the real network's token.
        let forged = network("203.0.113.9", Some(a.as_str())).expect("a network");
        assert_ne!(forged, a);
        // A hostname has no network, and a forged one is dropped.
        assert_eq!(network("scanner.example.net", Some(a.as_str())), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        /// The quick reject never skips a string the patterns would change: any IPv6 or
        /// IPv4 address, inside any text, passes it.
        #[test]
        fn prefilter_passes_every_address(
            groups in proptest::prelude::any::<[u16; 8]>(),
            v4 in proptest::prelude::any::<[u8; 4]>(),
            text in "[a-z0-9 :.,=/-]{0,12}",
        ) {
            let (_d, r) = redactor();
            let v6 = std::net::Ipv6Addr::from(groups).to_string();
            let v4 = std::net::Ipv4Addr::from(v4).to_string();
            for s in [format!("{text}{v6} {text}"), format!("{text}{v4}{text}")] {
                let changed = matches!(r.patterns(&s).unwrap(), Cow::Owned(_));
                proptest::prop_assert!(!changed || might_hold_pii(&s), "skipped: {}", s);
            }
        }

        /// Addresses and emails never survive redaction, whether they sit in a JSON value or
        /// in a key, at any depth.
        #[test]
        fn json_keys_and_values_never_keep_addresses_or_emails(
            a in 1u8..=223, b in 0u8..=255, c in 0u8..=255, d in 1u8..=254,
            name in "[a-z]{3,8}", nested in proptest::bool::ANY,
        ) {
            let (_d, r) = redactor();
            let ip = format!("{a}.{b}.{c}.{d}");
            let email = format!("{name}.k@example.org");
            let inner = serde_json::json!({ ip.clone(): 1, email.clone(): ip.clone() });
            let params = if nested { serde_json::json!({ "x": inner }) } else { inner };
            let mut ev = SecurityEvent::new(chrono::Utc::now(), "api_call", Format::Jsonl);
            ev.metadata.insert("requestParameters".into(), params);
            r.redact_event(&mut ev).unwrap();
            let text = serde_json::to_string(&ev).unwrap();
            proptest::prop_assert!(!text.contains(&ip), "{} kept: {}", ip, text);
            proptest::prop_assert!(!text.contains(&email), "{} kept: {}", email, text);
        }

        /// An account with slashes (Kerberos `user/instance@REALM`, a path-like name) is one
        /// account outside CloudTrail: no part of it is kept.
        #[test]
        fn slashed_accounts_are_redacted_whole(
            user in "[a-z]{4,8}", instance in "[a-z]{3,6}", realm in "[A-Z]{3,8}",
        ) {
            let (_d, r) = redactor();
            let raw = format!("{user}/{instance}@{realm}.COM");
            let mut ev = SecurityEvent::new(chrono::Utc::now(), "login", Format::Jsonl);
            ev.user_id = Some(raw.clone());
            r.redact_event(&mut ev).unwrap();
            let stored = ev.user_id.clone().unwrap_or_default();
            proptest::prop_assert!(!stored.contains(&user), "{} kept: {}", user, stored);
            let text = serde_json::to_string(&ev).unwrap();
            proptest::prop_assert!(!text.contains(&format!("{user}/")), "{} kept: {}", user, text);
        }
    }
}
