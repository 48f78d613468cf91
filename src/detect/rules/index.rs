//! Rules of one logsource route, indexed by the CloudTrail `eventName` or the syslog `program`
//! they require.
//!
//! rsigma evaluates every rule of an engine on every record; most CloudTrail rules select on
//! a handful of event names, and most syslog rules on a program (`sudo`, `systemd`), so a
//! record need only meet the rules that name its own (plus the rules that name none).
//! Hand-written because rsigma 0.15 has no such index: it reads the rule's parsed condition
//! and keeps only what is certain (a positive selection, exact or `startswith`, without
//! wildcards, that every way of matching passes through); anything less certain puts the rule
//! among those evaluated on every record.

use std::collections::{HashMap, HashSet};

use rsigma_eval::Engine;
use rsigma_parser::{ConditionExpr, Detection, Modifier, Quantifier, SigmaRule, SigmaValue};

/// The field a product's rules are indexed by: CloudTrail's `eventName` (our `action`), a
/// syslog line's `program`.
pub fn indexed_field(product: Option<&str>) -> Option<&'static str> {
    match product {
        Some("aws") => Some("eventName"),
        Some("linux") => Some("program"),
        _ => None,
    }
}

/// One route's engines.
#[derive(Default)]
pub struct RouteEngines {
    /// Rules that can match any record of the route.
    pub any: Engine,
    /// Rules that can only match records with these values of the indexed field (lower-cased:
    /// Sigma compares strings case-insensitively by default).
    pub by_key: HashMap<String, Engine>,
    /// Rules that can only match records whose indexed field starts with one of these
    /// (`program|startswith: sshd` also takes `sshd-session`). Few: scanned in turn.
    pub by_prefix: Vec<(String, Engine)>,
}

#[cfg(test)]
thread_local! {
    /// Tests load a rule set with every rule in `any` to check the index changes no match.
    pub static UNINDEXED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A value the indexed field must have: equal to it, or starting with it (lower-cased).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Is(String),
    StartsWith(String),
}

impl RouteEngines {
    /// Add `rule` where it belongs; an error names what rsigma could not compile.
    pub fn add(&mut self, rule: &SigmaRule) -> Result<(), String> {
        #[cfg(test)]
        if UNINDEXED.with(std::cell::Cell::get) {
            return self.any.add_rule(rule).map_err(|e| e.to_string());
        }
        let field = indexed_field(rule.logsource.product.as_deref());
        match field.and_then(|f| required_values(rule, f)) {
            Some(keys) if !keys.is_empty() => {
                for key in keys {
                    let engine = match key {
                        Key::Is(value) => self.by_key.entry(value).or_default(),
                        Key::StartsWith(prefix) => {
                            let i = match self.by_prefix.iter().position(|(p, _)| *p == prefix) {
                                Some(i) => i,
                                None => {
                                    self.by_prefix.push((prefix, Engine::default()));
                                    self.by_prefix.len() - 1
                                }
                            };
                            &mut self.by_prefix[i].1
                        }
                    };
                    engine.add_rule(rule).map_err(|e| e.to_string())?;
                }
                Ok(())
            }
            _ => self.any.add_rule(rule).map_err(|e| e.to_string()),
        }
    }

    /// The engines a record with this value of the indexed field meets.
    pub fn for_event<'a>(&'a self, key: &str) -> impl Iterator<Item = &'a Engine> + 'a {
        let lower = if self.by_key.is_empty() && self.by_prefix.is_empty() {
            String::new()
        } else {
            key.to_ascii_lowercase()
        };
        let indexed = self.by_key.get(&lower);
        let prefixed = self
            .by_prefix
            .iter()
            .filter(move |(p, _)| lower.starts_with(p.as_str()))
            .map(|(_, e)| e);
        std::iter::once(&self.any).chain(indexed).chain(prefixed)
    }

    pub fn all_mut(&mut self) -> impl Iterator<Item = &mut Engine> {
        std::iter::once(&mut self.any)
            .chain(self.by_key.values_mut())
            .chain(self.by_prefix.iter_mut().map(|(_, e)| e))
    }
}

/// The values `field` must have for `rule` to match, or None when that is not certain.
pub fn required_values(rule: &SigmaRule, field: &str) -> Option<HashSet<Key>> {
    let d = &rule.detection;
    // Several conditions are alternatives: every one must require the field.
    union(d.conditions.iter().map(|c| condition(c, &d.named, field)))
}

fn condition(
    c: &ConditionExpr,
    named: &HashMap<String, Detection>,
    field: &str,
) -> Option<HashSet<Key>> {
    match c {
        ConditionExpr::Identifier(name) => detection(named.get(name)?, field),
        // Any one requirement among AND-ed parts is enough.
        ConditionExpr::And(parts) => parts.iter().find_map(|p| condition(p, named, field)),
        ConditionExpr::Or(parts) => union(parts.iter().map(|p| condition(p, named, field))),
        // `1 of selection_*`: one of the named detections matches, so their union is needed;
        // `all of …` needs every one, so any one detection's requirement will do.
        ConditionExpr::Selector {
            quantifier,
            pattern,
        } => {
            let mut chosen = named
                .iter()
                .filter(|(name, _)| pattern.matches_detection_name(name))
                .map(|(_, d)| detection(d, field));
            match quantifier {
                Quantifier::All => chosen.find_map(|r| r),
                Quantifier::Any | Quantifier::Count(1..) => union(chosen),
                Quantifier::Count(0) => None,
            }
        }
        _ => None,
    }
}

fn detection(d: &Detection, field: &str) -> Option<HashSet<Key>> {
    match d {
        Detection::AllOf(items) => items.iter().find_map(|item| {
            if item.field.name.as_deref() != Some(field) || item.values.is_empty() {
                return None;
            }
            let key: fn(String) -> Key = match item.field.modifiers.as_slice() {
                [] => Key::Is,
                [Modifier::StartsWith] => Key::StartsWith,
                _ => return None,
            };
            item.values
                .iter()
                .map(|v| match v {
                    SigmaValue::String(s) => s.as_plain().map(|p| key(p.to_ascii_lowercase())),
                    _ => None,
                })
                .collect()
        }),
        Detection::AnyOf(parts) => union(parts.iter().map(|p| detection(p, field))),
        _ => None,
    }
}

/// The union of alternatives' requirements; None when any alternative has none.
fn union(alternatives: impl Iterator<Item = Option<HashSet<Key>>>) -> Option<HashSet<Key>> {
    let mut out = HashSet::new();
    let mut any = false;
    for alt in alternatives {
        out.extend(alt?);
        any = true;
    }
    any.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(yaml: &str) -> SigmaRule {
        let mut c = rsigma_parser::parse_sigma_yaml(yaml).expect("yaml");
        c.rules.remove(0)
    }

    fn keys(values: &[&str]) -> HashSet<Key> {
        values.iter().map(|v| Key::Is(v.to_string())).collect()
    }

    const HEAD: &str = "title: t\nlogsource:\n  product: aws\n  service: cloudtrail\n";

    #[test]
    fn a_positive_exact_selection_indexes_the_rule() {
        let r = rule(&format!(
            "{HEAD}detection:\n  sel:\n    eventSource: cloudtrail.amazonaws.com\n    eventName:\n      - StopLogging\n      - DeleteTrail\n  filter:\n    errorCode|exists: true\n  condition: sel and not filter\n"
        ));
        let names = required_values(&r, "eventName").expect("indexed");
        assert_eq!(names, keys(&["stoplogging", "deletetrail"]));
    }

    #[test]
    fn anything_uncertain_is_evaluated_on_every_record() {
        for detection in [
            // A wildcard.
            "  sel:\n    eventName: Delete*\n  condition: sel\n",
            // A modifier.
            "  sel:\n    eventName|contains: Trail\n  condition: sel\n",
            // An alternative that does not name an event.
            "  a:\n    eventName: StopLogging\n  b:\n    userAgent: x\n  condition: a or b\n",
            // Only inside a negation.
            "  a:\n    eventName: StopLogging\n  condition: not a\n",
            // No event name at all.
            "  a:\n    userAgent: x\n  condition: a\n",
        ] {
            let r = rule(&format!("{HEAD}detection:\n{detection}"));
            assert_eq!(required_values(&r, "eventName"), None, "{detection}");
        }
    }

    #[test]
    fn selectors_over_named_detections() {
        let linux = "title: t\nlogsource:\n  product: linux\n  service: syslog\n";
        let any_of = rule(&format!(
            "{linux}detection:\n  selection_a:\n    program: sudo\n  selection_b:\n    program: pkexec\n    message|contains: x\n  filter:\n    status: failed\n  condition: 1 of selection_* and not filter\n"
        ));
        assert_eq!(
            required_values(&any_of, "program"),
            Some(keys(&["sudo", "pkexec"]))
        );
        // One selection without a program: the rule can match any line.
        let open = rule(&format!(
            "{linux}detection:\n  selection_a:\n    program: sudo\n  selection_b:\n    message|contains: x\n  condition: 1 of selection_*\n"
        ));
        assert_eq!(required_values(&open, "program"), None);
        let all_of = rule(&format!(
            "{linux}detection:\n  sel_a:\n    program: sudo\n  sel_b:\n    message|contains: x\n  condition: all of sel_*\n"
        ));
        assert_eq!(required_values(&all_of, "program"), Some(keys(&["sudo"])));
    }

    #[test]
    fn a_prefix_indexes_the_rule_for_every_program_it_starts() {
        let linux = "title: t\nlogsource:\n  product: linux\n  service: syslog\n";
        let r = rule(&format!(
            "{linux}detection:\n  selection:\n    program|startswith: sshd\n    message|startswith: 'Accepted '\n  condition: selection\n"
        ));
        assert_eq!(
            required_values(&r, "program"),
            Some(HashSet::from([Key::StartsWith("sshd".into())]))
        );
        let mut engines = RouteEngines::default();
        engines.add(&r).expect("add");
        assert_eq!(engines.for_event("sshd-session").count(), 2);
        assert_eq!(engines.for_event("SSHD").count(), 2);
        assert_eq!(engines.for_event("sudo").count(), 1);
    }

    #[test]
    fn alternatives_that_all_name_events_index_their_union() {
        let r = rule(&format!(
            "{HEAD}detection:\n  a:\n    eventName: StopLogging\n  b:\n    eventName: DeleteTrail\n  condition: a or b\n"
        ));
        assert_eq!(required_values(&r, "eventName").map(|s| s.len()), Some(2));
    }
}
