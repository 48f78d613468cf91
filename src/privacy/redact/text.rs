//! Redaction of metadata kept as JSON text (the CloudTrail text path): the replacements the
//! tree walk of [`Redactor::redact_event`] makes, made on the text.
//!
//! Exact only for text without a backslash: each string's bytes between its quotes are then
//! its value, and a pass over the quoted spans sees what the tree walk sees. Callers keep
//! escaped records on the tree path. Hand-written because no crate redacts JSON text.

use std::fmt;

use anyhow::Result;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{Redactor, is_user_key, replace_words};
use crate::domain::{SOURCE_NETWORK, SecurityEvent};

impl Redactor {
    /// Redacts `ev`'s fields and its metadata `meta`, the text of a JSON object holding no
    /// backslash. `Ok(false)`: this record needs the tree walk (an account key holds a value
    /// the text pass would not find: one with a `/`, or one inside an array); `ev` and `meta`
    /// are then half done and must be dropped. The caller checks the result is still JSON
    /// (a name equal to a bare `true` or number would not leave it so).
    pub fn redact_metadata_text(&self, ev: &mut SecurityEvent, meta: &mut String) -> Result<bool> {
        let Some(names) = account_names(meta) else {
            return Ok(false);
        };
        let fields = self.redact_fields(ev, names)?;
        let mut out = self.patterns_in_strings(meta)?;
        for (user, finder) in &fields.known.0 {
            if finder.find(out.as_bytes()).is_some() {
                let token = self.account(user)?;
                if let Some(replaced) = replace_words(&out, user, &token) {
                    out = replaced;
                }
            }
        }
        if let Some((raw, token)) = &fields.host
            && let Some(replaced) = replace_words(&out, raw, token)
        {
            out = replaced;
        }
        if let Some(network) = fields.network {
            append_entry(&mut out, SOURCE_NETWORK, &network);
        }
        *meta = out;
        Ok(true)
    }

    /// The free-text patterns applied to each string of `text` (keys and values) on its own,
    /// as the tree walk applies them, behind the same quick reject. The quotes are found with
    /// memchr and each string goes through the reject alone: most strings hold none of the
    /// bytes a pattern needs, so the byte-at-a-time gate runs on few of them (a single pass
    /// feeding every byte to the gate measured slower).
    fn patterns_in_strings(&self, text: &str) -> Result<String> {
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len() + 32);
        let mut copied = 0;
        let mut i = 0;
        while let Some(open) = memchr::memchr(b'"', &bytes[i..]).map(|o| i + o) {
            let start = open + 1;
            let Some(end) = memchr::memchr(b'"', &bytes[start..]).map(|o| start + o) else {
                break;
            };
            let span = &text[start..end];
            if let std::borrow::Cow::Owned(redacted) = self.patterns_checked(span)? {
                out.push_str(&text[copied..start]);
                out.push_str(&redacted);
                copied = end;
            }
            i = end + 1;
        }
        out.push_str(&text[copied..]);
        Ok(out)
    }
}

/// `"key":"value"` added as the last entry of an object's text (ours, ending in its `}`).
fn append_entry(object: &mut String, key: &str, value: &str) {
    object.pop();
    if !object.ends_with('{') {
        object.push(',');
    }
    // Keys and tokens are ours: quoting them needs no escapes.
    for part in ["\"", key, "\":\"", value, "\"}"] {
        object.push_str(part);
    }
}

/// The names the tree walk would learn as accounts (strings under account keys reached
/// through objects alone, outside `sessionIssuer`, without a `/`), or None when a value it
/// would tokenise is not among them.
fn account_names(meta: &str) -> Option<Vec<String>> {
    let mut walk = Walk {
        names: Vec::new(),
        ok: true,
    };
    let mut de = serde_json::Deserializer::from_str(meta);
    let root = At {
        key: "",
        chain: true,
        root: true,
        walk: &mut walk,
    };
    root.deserialize(&mut de).ok()?;
    walk.ok.then_some(walk.names)
}

struct Walk {
    names: Vec<String>,
    ok: bool,
}

/// A value reached under `key` (`""` for a sessionIssuer's own fields); `chain`: every step
/// from the root was an object entry outside a sessionIssuer (where names are learnt).
struct At<'w> {
    key: &'w str,
    chain: bool,
    root: bool,
    walk: &'w mut Walk,
}

impl<'de, 'w> DeserializeSeed<'de> for At<'w>
where
    'de: 'w,
{
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de, 'w> Visitor<'de> for At<'w>
where
    'de: 'w,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<(), E> {
        if !is_user_key(self.key) || s.is_empty() {
            return Ok(());
        }
        if self.chain && !s.contains('/') {
            self.walk.names.push(s.to_string());
        } else {
            self.walk.ok = false;
        }
        Ok(())
    }

    fn visit_str<E>(self, s: &str) -> Result<(), E> {
        // Only an escaped string arrives here; the caller sent none.
        if is_user_key(self.key) && !s.is_empty() {
            self.walk.ok = false;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(At {
                key: self.key,
                chain: false,
                root: false,
                walk: &mut *self.walk,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let issuer = !self.root && self.key == "sessionIssuer";
        while let Some(key) = map.next_key::<&'de str>()? {
            map.next_value_seed(At {
                key: if issuer { "" } else { key },
                chain: self.chain && !issuer,
                root: false,
                walk: &mut *self.walk,
            })?;
        }
        Ok(())
    }

    crate::json_visit::skip_json_scalars!();
}
