//! Rules of one logsource route, indexed by the CloudTrail `eventName` they require.
//!
//! rsigma evaluates every rule of an engine on every record; most CloudTrail rules select on
//! a handful of event names, so a record need only meet the rules that name its own (plus the
//! rules that name none). Hand-written because rsigma 0.15 has no such index: it reads the
//! rule's parsed condition and keeps only what is certain (a positive selection, with no
//! modifier and no wildcard, that every way of matching passes through); anything less
//! certain puts the rule among those evaluated on every record.

use std::collections::{HashMap, HashSet};

use rsigma_eval::Engine;
use rsigma_parser::{ConditionExpr, Detection, SigmaRule, SigmaValue};

/// The field the index is keyed by (CloudTrail's `eventName`, our `action`).
const INDEXED_FIELD: &str = "eventName";

/// One route's engines.
#[derive(Default)]
pub struct RouteEngines {
    /// Rules that can match any record of the route.
    pub any: Engine,
    /// Rules that can only match these event names (lower-cased: Sigma compares strings
    /// case-insensitively by default).
    pub by_event_name: HashMap<String, Engine>,
}

impl RouteEngines {
    /// Add `rule` where it belongs; an error names what rsigma could not compile.
    pub fn add(&mut self, rule: &SigmaRule) -> Result<(), String> {
        let cloudtrail = rule.logsource.product.as_deref() == Some("aws");
        match required_values(rule, INDEXED_FIELD).filter(|_| cloudtrail) {
            Some(names) if !names.is_empty() => {
                for name in names {
                    self.by_event_name
                        .entry(name)
                        .or_default()
                        .add_rule(rule)
                        .map_err(|e| e.to_string())?;
                }
                Ok(())
            }
            _ => self.any.add_rule(rule).map_err(|e| e.to_string()),
        }
    }

    /// The engines a record with this event name meets.
    pub fn for_event<'a>(&'a self, event_name: &str) -> impl Iterator<Item = &'a Engine> + 'a {
        let indexed = if self.by_event_name.is_empty() {
            None
        } else {
            self.by_event_name.get(&event_name.to_ascii_lowercase())
        };
        std::iter::once(&self.any).chain(indexed)
    }

    pub fn all_mut(&mut self) -> impl Iterator<Item = &mut Engine> {
        std::iter::once(&mut self.any).chain(self.by_event_name.values_mut())
    }
}

/// The values `field` must equal for `rule` to match, or None when that is not certain.
pub fn required_values(rule: &SigmaRule, field: &str) -> Option<HashSet<String>> {
    let d = &rule.detection;
    // Several conditions are alternatives: every one must require the field.
    union(d.conditions.iter().map(|c| condition(c, &d.named, field)))
}

fn condition(
    c: &ConditionExpr,
    named: &HashMap<String, Detection>,
    field: &str,
) -> Option<HashSet<String>> {
    match c {
        ConditionExpr::Identifier(name) => detection(named.get(name)?, field),
        // Any one requirement among AND-ed parts is enough.
        ConditionExpr::And(parts) => parts.iter().find_map(|p| condition(p, named, field)),
        ConditionExpr::Or(parts) => union(parts.iter().map(|p| condition(p, named, field))),
        _ => None,
    }
}

fn detection(d: &Detection, field: &str) -> Option<HashSet<String>> {
    match d {
        Detection::AllOf(items) => items.iter().find_map(|item| {
            let exact =
                item.field.name.as_deref() == Some(field) && item.field.modifiers.is_empty();
            if !exact || item.values.is_empty() {
                return None;
            }
            item.values
                .iter()
                .map(|v| match v {
                    SigmaValue::String(s) => s.as_plain().map(|p| p.to_ascii_lowercase()),
                    _ => None,
                })
                .collect()
        }),
        Detection::AnyOf(parts) => union(parts.iter().map(|p| detection(p, field))),
        _ => None,
    }
}

/// The union of alternatives' requirements; None when any alternative has none.
fn union(alternatives: impl Iterator<Item = Option<HashSet<String>>>) -> Option<HashSet<String>> {
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

    const HEAD: &str = "title: t\nlogsource:\n  product: aws\n  service: cloudtrail\n";

    #[test]
    fn a_positive_exact_selection_indexes_the_rule() {
        let r = rule(&format!(
            "{HEAD}detection:\n  sel:\n    eventSource: cloudtrail.amazonaws.com\n    eventName:\n      - StopLogging\n      - DeleteTrail\n  filter:\n    errorCode|exists: true\n  condition: sel and not filter\n"
        ));
        let names = required_values(&r, "eventName").expect("indexed");
        assert_eq!(
            names,
            HashSet::from(["stoplogging".to_string(), "deletetrail".to_string()])
        );
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
    fn alternatives_that_all_name_events_index_their_union() {
        let r = rule(&format!(
            "{HEAD}detection:\n  a:\n    eventName: StopLogging\n  b:\n    eventName: DeleteTrail\n  condition: a or b\n"
        ));
        assert_eq!(required_values(&r, "eventName").map(|s| s.len()), Some(2));
    }
}
