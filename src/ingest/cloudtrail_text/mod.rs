//! The CloudTrail text path: a record read in place and kept as its own JSON text.
//!
//! The tree path ([`super::cloudtrail::parse`]) builds a `serde_json::Value` tree of every
//! record, walks it to redact, and serialises it again to store it: most of a worker's time
//! per record. Here the schema's few fields are read straight from the record's text, the
//! rest of the record is copied as text, redacted as text, and stored as it came.
//!
//! Taken only where it gives what the tree path gives (its tests compare the two over a
//! generated week); anything else goes down the tree path, which also writes every reject:
//! - a backslash anywhere (an escape could hide an address or a name from a text pass);
//! - a record whose redaction needs the tree (see [`Redactor::redact_metadata_text`]), or
//!   whose redacted text is no longer JSON.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::cloudtrail::{Facts, MAPPED, Object, build, facts};
use crate::detect::rules::RuleSet;
use crate::domain::{MetadataText, SOURCE_NETWORK, SecurityEvent, VIEW_METADATA_KEYS};
use crate::privacy::Redactor;
use sigma::SigmaRecord;

mod sigma;
#[cfg(test)]
mod tests;

/// The event of one record by the text path (Sigma rules evaluated on the raw record, then
/// redacted when `redactor` is given), or None for the tree path.
pub fn parse(
    bytes: &[u8],
    rules: &RuleSet,
    redactor: Option<&Redactor>,
) -> anyhow::Result<Option<SecurityEvent>> {
    if memchr::memchr(b'\\', bytes).is_some() {
        return Ok(None);
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Ok(None);
    };
    let Ok(top) = serde_json::from_str::<RawObject>(text) else {
        return Ok(None);
    };
    let objects = shared_objects(&top);
    let Ok((mut ev, user_type, mfa)) = build(&record_facts(&top, &objects)) else {
        return Ok(None);
    };
    let sigma = SigmaRecord::new(&ev, &top, user_type.as_deref(), mfa, objects);
    let matched = rules.matches_with(&ev, &sigma);
    ev.rules = matched;
    let mut meta = String::with_capacity(text.len() + 48);
    meta.push('{');
    for (key, value) in &top.0 {
        let replaced = match *key {
            "user_type" => user_type.is_some(),
            "mfa" => mfa.is_some(),
            // Only the redactor writes the network token.
            SOURCE_NETWORK => redactor.is_some(),
            k => MAPPED.contains(&k),
        };
        if !replaced {
            push_entry(&mut meta, key, value.get());
        }
    }
    if let Some(kind) = &user_type {
        push_entry(&mut meta, "user_type", &format!("\"{kind}\""));
    }
    if let Some(mfa) = mfa {
        push_entry(&mut meta, "mfa", if mfa { "true" } else { "false" });
    }
    meta.push('}');
    if let Some(r) = redactor
        && !r.redact_metadata_text(&mut ev, &mut meta)?
    {
        return Ok(None);
    }
    let Ok((kept, view)) = kept_metadata(meta) else {
        return Ok(None);
    };
    ev.metadata = view;
    ev.metadata_text = Some(MetadataText(kept));
    Ok(Some(ev))
}

/// `"key":value` after the entries already in `object` (text without escapes).
fn push_entry(object: &mut String, key: &str, value: &str) {
    if !object.ends_with('{') {
        object.push(',');
    }
    object.push('"');
    object.push_str(key);
    object.push_str("\":");
    object.push_str(value);
}

/// The metadata as stored, and the fields the detection view reads, from one parse of
/// `meta` (which checks that the redacted text is still JSON). The stored text is the parsed
/// entries written back: the same text when nothing needed escaping, which is checked, so
/// `RawValue::from_string`'s second full parse runs only when it differs.
fn kept_metadata(meta: String) -> serde_json::Result<(Box<RawValue>, Map<String, Value>)> {
    let object: RawObject = serde_json::from_str(&meta)?;
    let view = view_fields(&object)?;
    let kept = match serde_json::value::to_raw_value(&object) {
        Ok(written) if written.get() == meta => written,
        _ => RawValue::from_string(meta)?,
    };
    Ok((kept, view))
}

/// The metadata fields the detection view reads, as a map.
fn view_fields(object: &RawObject) -> serde_json::Result<Map<String, Value>> {
    let mut out = Map::new();
    for key in VIEW_METADATA_KEYS {
        if let Some(raw) = object.get(key) {
            out.insert((*key).to_string(), serde_json::from_str(raw.get())?);
        }
    }
    Ok(out)
}

/// The schema's facts of a record: its top level and its shared objects.
fn record_facts<'a>(top: &RawObject<'a>, objects: &[(&'a str, RawObject<'a>)]) -> Facts<'a> {
    let find = |key: &str| objects.iter().find(|(k, _)| *k == key).map(|(_, o)| o);
    facts(top, find("userIdentity"), find("requestParameters"))
}

/// The objects both the schema and the rules read (each read once).
fn shared_objects<'a>(top: &RawObject<'a>) -> Vec<(&'a str, RawObject<'a>)> {
    ["userIdentity", "requestParameters"]
        .into_iter()
        .filter_map(|key| Some((key, top.get(key).and_then(object_of)?)))
        .collect()
}

impl<'a> Object<'a> for RawObject<'a> {
    fn text(&self, key: &str) -> Option<&'a str> {
        self.get(key).and_then(str_of)
    }

    fn object(&self, key: &str) -> Option<Self> {
        self.get(key).and_then(object_of)
    }

    fn first_object(&self, key: &str) -> Option<Self> {
        self.get(key).and_then(first_element).and_then(object_of)
    }

    fn flag(&self, key: &str) -> Option<bool> {
        let raw = self.get(key)?;
        match raw.get() {
            "true" => Some(true),
            "false" => Some(false),
            _ => str_of(raw).map(|s| s.eq_ignore_ascii_case("true")),
        }
    }
}

/// A JSON string's value: the bytes between its quotes (the record holds no escapes).
fn str_of(raw: &RawValue) -> Option<&str> {
    raw.get().strip_prefix('"')?.strip_suffix('"')
}

fn object_of(raw: &RawValue) -> Option<RawObject<'_>> {
    if !raw.get().starts_with('{') {
        return None;
    }
    serde_json::from_str(raw.get()).ok()
}

fn first_element(raw: &RawValue) -> Option<&RawValue> {
    if !raw.get().starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<&RawValue>>(raw.get())
        .ok()?
        .first()
        .copied()
}

/// A JSON object's entries in order, each value left as its text.
struct RawObject<'a>(Vec<(&'a str, &'a RawValue)>);

impl<'a> RawObject<'a> {
    /// The last entry of `key`, as a map built from the object would hold it.
    fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }
}

/// Written back entry by entry, each value as its own text.
impl Serialize for RawObject<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = RawObject<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(24));
                while let Some(entry) = map.next_entry::<&'de str, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(RawObject(entries))
            }
        }
        de.deserialize_map(Entries)
    }
}
