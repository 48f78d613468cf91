//! A CloudTrail record read as text, as Sigma rules see it: what
//! [`crate::detect::rules::SigmaEvent`] gives for the same record parsed into a tree (the
//! schema fields under the record's names, the rest of the record by dotted path, keyword
//! search over its strings), read off the text without building the tree.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use rsigma_eval::{Event, EventValue};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::{RawObject, object_of, str_of};
use crate::detect::rules::one_or_all;
use crate::domain::SecurityEvent;
use crate::ingest::cloudtrail::MAPPED;

/// How deep keyword search reads (as the tree reading does).
const KEYWORD_DEPTH: usize = 16;

pub(super) struct SigmaRecord<'r, 'a> {
    /// The event built from the record, before redaction.
    ev: &'r SecurityEvent,
    top: &'r RawObject<'a>,
    /// Identity type and MFA as the parser adds them to the metadata.
    user_type: Option<&'r str>,
    mfa: Option<bool>,
    /// Top-level objects read so far (the caller's first): rules ask for `userIdentity.…`
    /// again and again.
    objects: RefCell<Vec<(&'a str, RawObject<'a>)>>,
}

/// A metadata entry: one of the record's own, or one the parser added.
enum Entry<'a> {
    Raw(&'a RawValue),
    Added(EventValue<'a>),
}

impl<'r, 'a> SigmaRecord<'r, 'a> {
    pub fn new(
        ev: &'r SecurityEvent,
        top: &'r RawObject<'a>,
        user_type: Option<&'r str>,
        mfa: Option<bool>,
        objects: Vec<(&'a str, RawObject<'a>)>,
    ) -> Self {
        SigmaRecord {
            ev,
            top,
            user_type,
            mfa,
            objects: RefCell::new(objects),
        }
    }

    /// `lookup` of `rest` under the top-level entry `head`, its object read once.
    fn lookup_under(&self, head: &'a str, raw: &'a RawValue, rest: &[&str]) -> Vec<EventValue<'a>> {
        let mut found = Vec::new();
        if !raw.get().starts_with('{') {
            lookup(raw, rest, &mut found);
            return found;
        }
        let mut objects = self.objects.borrow_mut();
        let i = match objects.iter().position(|(k, _)| *k == head) {
            Some(i) => i,
            None => {
                let Some(object) = object_of(raw) else {
                    return found;
                };
                objects.push((head, object));
                objects.len() - 1
            }
        };
        lookup_in(&objects[i].1, rest, &mut found);
        found
    }
    /// The metadata entry `key` (the record's fields without those mapped onto the schema).
    fn entry(&self, key: &str) -> Option<Entry<'r>> {
        match key {
            "user_type" if self.user_type.is_some() => self
                .user_type
                .map(|t| Entry::Added(EventValue::Str(Cow::Borrowed(t)))),
            "mfa" if self.mfa.is_some() => self.mfa.map(|m| Entry::Added(EventValue::Bool(m))),
            k if MAPPED.contains(&k) => None,
            k => self.top.get(k).map(Entry::Raw),
        }
    }

    fn mapped(&self, name: &str) -> Option<EventValue<'r>> {
        let ev = self.ev;
        let text = |s: &'r str| Some(EventValue::Str(Cow::Borrowed(s)));
        match name {
            "eventName" => text(&ev.action),
            "sourceIPAddress" => ev.source_ip.as_deref().and_then(text),
            "eventID" => ev.origin.record_id.as_deref().and_then(text),
            "eventTime" => Some(EventValue::Str(Cow::Owned(
                ev.timestamp
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ))),
            _ => None,
        }
    }

    fn keyword_strings(&self) -> Vec<&'r str> {
        let mut out = vec![self.ev.action.as_str()];
        if let Some(ip) = self.ev.source_ip.as_deref() {
            out.push(ip);
        }
        if let Some(t) = self.user_type {
            out.push(t);
        }
        for (key, raw) in &self.top.0 {
            if !matches!(self.entry(key), Some(Entry::Raw(_))) {
                continue;
            }
            let mut de = serde_json::Deserializer::from_str(raw.get());
            let seed = Strings {
                depth: KEYWORD_DEPTH,
                out: &mut out,
            };
            // The text was read once already: it is valid JSON.
            let _ = seed.deserialize(&mut de);
        }
        out
    }
}

impl Event for SigmaRecord<'_, '_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        if let Some(v) = self.mapped(path) {
            return Some(v);
        }
        match self.entry(path) {
            Some(Entry::Raw(raw)) => return Some(value_of(raw)),
            Some(Entry::Added(v)) => return Some(v),
            None => {}
        }
        let parts: Vec<&str> = path.split('.').collect();
        let (head, rest) = parts.split_first()?;
        if rest.is_empty() {
            return None;
        }
        let Entry::Raw(_) = self.entry(head)? else {
            return None;
        };
        // The same entry, borrowed for as long as the record (the object cache keeps it).
        let (key, raw) = *self.top.0.iter().rev().find(|(k, _)| k == head)?;
        one_or_all(self.lookup_under(key, raw, rest))
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
        let mut obj = serde_json::Map::new();
        for (key, raw) in &self.top.0 {
            if let Some(Entry::Raw(_)) = self.entry(key) {
                obj.insert(
                    (*key).to_string(),
                    serde_json::from_str(raw.get()).unwrap_or(Value::Null),
                );
            }
        }
        if let Some(t) = self.user_type {
            obj.insert("user_type".into(), t.into());
        }
        if let Some(m) = self.mfa {
            obj.insert("mfa".into(), m.into());
        }
        for key in ["eventName", "sourceIPAddress", "eventID", "eventTime"] {
            if let Some(v) = self.mapped(key) {
                obj.insert(key.to_string(), v.to_json());
            }
        }
        Value::Object(obj)
    }
}

/// Follow a dotted path through objects, searching arrays element by element (a literal key
/// with dots wins over the nested reading), as the tree reading does.
fn lookup<'a>(raw: &'a RawValue, path: &[&str], out: &mut Vec<EventValue<'a>>) {
    if path.is_empty() {
        out.push(value_of(raw));
        return;
    }
    match raw.get().as_bytes().first() {
        Some(b'{') => {
            if let Some(object) = object_of(raw) {
                lookup_in(&object, path, out);
            }
        }
        Some(b'[') => {
            for item in serde_json::from_str::<Vec<&RawValue>>(raw.get()).unwrap_or_default() {
                lookup(item, path, out);
            }
        }
        _ => {}
    }
}

/// [`lookup`] of a non-empty `path` in an object already read.
fn lookup_in<'a>(object: &RawObject<'a>, path: &[&str], out: &mut Vec<EventValue<'a>>) {
    let Some((head, rest)) = path.split_first() else {
        return;
    };
    let joined = path.join(".");
    if path.len() > 1
        && let Some(x) = object.get(&joined)
    {
        out.push(value_of(x));
        return;
    }
    if let Some(x) = object.get(head) {
        lookup(x, rest, out);
    }
}

/// A value as rsigma's own conversion from a tree gives it.
fn value_of(raw: &RawValue) -> EventValue<'_> {
    match raw.get().as_bytes().first() {
        Some(b'"') => EventValue::Str(Cow::Borrowed(str_of(raw).unwrap_or(""))),
        Some(b'{') => EventValue::Map(
            object_of(raw)
                .map(|o| {
                    o.0.into_iter()
                        .map(|(k, v)| (Cow::Borrowed(k), value_of(v)))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        Some(b'[') => EventValue::Array(
            serde_json::from_str::<Vec<&RawValue>>(raw.get())
                .unwrap_or_default()
                .into_iter()
                .map(value_of)
                .collect(),
        ),
        _ => match serde_json::from_str::<Value>(raw.get()) {
            Ok(Value::Bool(b)) => EventValue::Bool(b),
            Ok(Value::Number(n)) => match n.as_i64() {
                Some(i) => EventValue::Int(i),
                None => EventValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            _ => EventValue::Null,
        },
    }
}

/// Collects the string values (not keys) of a JSON value down to `depth` levels.
struct Strings<'o, 'a> {
    depth: usize,
    out: &'o mut Vec<&'a str>,
}

impl<'de: 'a, 'a> DeserializeSeed<'de> for Strings<'_, 'a> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for Strings<'_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<(), E> {
        if self.depth > 0 {
            self.out.push(s);
        }
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let depth = self.depth.saturating_sub(1);
        while seq
            .next_element_seed(Strings {
                depth,
                out: &mut *self.out,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let depth = self.depth.saturating_sub(1);
        while map.next_key::<serde::de::IgnoredAny>()?.is_some() {
            map.next_value_seed(Strings {
                depth,
                out: &mut *self.out,
            })?;
        }
        Ok(())
    }

    crate::json_visit::skip_json_scalars!();
}
