//! Sigma rules: our embedded pack (`datasets/rules/`) plus the user's `[detect] rule_dirs`,
//! parsed and evaluated by rsigma, routed by logsource onto our records.
//!
//! Rules run in the ingest workers on the parsed record before redaction (so a rule that
//! names an address or account still matches), in memory only; only the ids of the rules
//! that matched travel on with the event. Detection turns them into alerts.

mod event;
mod index;
mod load;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;

pub use event::{SigmaEvent, linux_services, one_or_all, routes};
pub use load::{RuleFailure, RuleSource, rule_texts};

use super::detectors::{Ctx, Hit, Related};
use crate::config::DetectConfig;
use crate::domain::EventView;
use crate::domain::{Format, RuleRef, SecurityEvent, Severity, ThreatType};

/// What a loaded rule says about itself: shown with its alerts, and used to raise them.
#[derive(Debug, Clone, Serialize)]
pub struct RuleInfo {
    pub id: String,
    pub title: String,
    pub description: String,
    /// Sigma level: `informational`, `low`, `medium`, `high`, `critical`.
    pub level: String,
    pub tags: Vec<String>,
    /// ATT&CK technique ids from `attack.tNNNN[.NNN]` tags, upper-cased.
    pub techniques: Vec<String>,
    pub threat: ThreatType,
    pub falsepositives: Vec<String>,
    pub references: Vec<String>,
    pub product: String,
    pub service: Option<String>,
    /// The file it came from (`builtin:cloudtrail/x.yml` for the embedded pack).
    pub file: String,
}

impl RuleInfo {
    /// Alert severity; `None` for informational rules, which record a match but raise nothing.
    pub fn severity(&self) -> Option<Severity> {
        match self.level.as_str() {
            "informational" => None,
            "low" => Some(Severity::Low),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => Some(Severity::Medium),
        }
    }

    /// How strongly a match speaks for an attack, 0–1 (the alert's confidence uses it).
    pub fn strength(&self) -> f32 {
        match self.level.as_str() {
            "critical" => 1.0,
            "high" => 0.8,
            "medium" => 0.6,
            "low" => 0.4,
            _ => 0.2,
        }
    }

    pub fn to_ref(&self) -> RuleRef {
        RuleRef {
            id: self.id.clone(),
            title: self.title.clone(),
            level: self.level.clone(),
            references: self.references.clone(),
            falsepositives: self.falsepositives.clone(),
        }
    }
}

/// Rule sets already loaded, by (embedded pack on, rule dirs).
type RuleSetCache = HashMap<(bool, Vec<String>), Arc<RuleSet>>;

/// Loaded rules, one rsigma engine per logsource route.
pub struct RuleSet {
    rules: Vec<Arc<RuleInfo>>,
    by_id: HashMap<String, Arc<RuleInfo>>,
    engines: HashMap<(String, Option<String>), index::RouteEngines>,
    failed: Vec<RuleFailure>,
}

/// `autosec rules check`'s answer.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub loaded: usize,
    pub failed: Vec<RuleFailure>,
}

impl RuleSet {
    /// No rules at all (rules switched off).
    pub fn empty() -> RuleSet {
        RuleSet {
            rules: Vec::new(),
            by_id: HashMap::new(),
            engines: HashMap::new(),
            failed: Vec::new(),
        }
    }

    /// Load from these sources; a bad file or rule is reported and never stops the others.
    pub fn load(sources: &[RuleSource]) -> RuleSet {
        load::load(sources)
    }

    /// The rules `[detect]` asks for (the embedded pack when `rules` is on, plus every
    /// `rule_dirs` folder), loaded once per process and shared.
    pub fn shared(cfg: &DetectConfig) -> Arc<RuleSet> {
        static CACHE: OnceLock<Mutex<RuleSetCache>> = OnceLock::new();
        let key = (cfg.rules, cfg.rule_dirs.clone());
        let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
        let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .entry(key)
            .or_insert_with(|| Arc::new(RuleSet::load(&RuleSource::for_config(cfg))))
            .clone()
    }

    pub fn report(&self) -> LoadReport {
        LoadReport {
            loaded: self.rules.len(),
            failed: self.failed.clone(),
        }
    }

    pub fn rules(&self) -> &[Arc<RuleInfo>] {
        &self.rules
    }

    pub fn get(&self, id: &str) -> Option<&Arc<RuleInfo>> {
        self.by_id.get(id)
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Ids of the rules `ev` matches (the record as parsed, before redaction).
    pub fn matches(&self, ev: &SecurityEvent) -> Vec<String> {
        if self.engines.is_empty() {
            return Vec::new();
        }
        self.matches_with(ev, &SigmaEvent::new(ev))
    }

    /// The rules `sigma` (the record of `ev`, read some other way) matches; `ev` routes it.
    pub fn matches_with<E: rsigma_eval::Event>(
        &self,
        ev: &SecurityEvent,
        sigma: &E,
    ) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (product, service) in routes(ev) {
            let key = (product.to_string(), service.map(|s| s.into_owned()));
            let Some(route) = self.engines.get(&key) else {
                continue;
            };
            for m in route
                .for_event(index_key(ev))
                .flat_map(|engine| engine.evaluate(sigma))
            {
                if let Some(id) = m.header.rule_id
                    && !out.contains(&id)
                {
                    out.push(id);
                }
            }
        }
        out
    }
}

/// The value a record is looked up by in its route's index (see [`index::indexed_field`]):
/// CloudTrail's eventName is our action; a syslog line's program is in its metadata.
fn index_key(ev: &SecurityEvent) -> &str {
    match ev.format {
        Format::Syslog => event::program(ev),
        _ => &ev.action,
    }
}

/// How a rule match becomes an alert. Single-event rules name actions that admins, helpdesks,
/// pipelines and internet scanners also cause every day, so a match alone is a signal
/// (Elastic's building-block rules, Splunk's risk events), not an alert:
/// - `critical` rules always alert at their level;
/// - `medium` and `high` rules alert at their level when the context corroborates the match
///   (see [`Corroboration::of`]); uncorroborated, they stay signals (on the development
///   profile, uncorroborated `high` matches made low alerts that were all false);
/// - `low` rules, and rules on failed logins (T1110: one failure is what every internet
///   scanner causes), alert only with a named detector firing on the same event (brute force
///   keeps fail2ban's counting).
///
/// Signals stay on the event (its JSON and `autosec rules test` show them) and in the
/// evidence of any alert the entity raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corroboration {
    /// A named detector fired on the event.
    Strong,
    /// The actor acts from a source new to it and to the organisation while it has a
    /// baseline (a day of history: on a new install, or for a new hire, every source is new),
    /// or the forest finds the event unusual.
    Context,
    None,
}

impl Corroboration {
    /// What the context says about the event a rule matched.
    pub fn of(ctx: &Ctx, detector_fired: bool) -> Corroboration {
        let new_source = ctx.recent_new_ip && ctx.ip_new_to_org && ctx.has_baseline();
        if detector_fired {
            Corroboration::Strong
        } else if new_source || ctx.forest_unusual {
            Corroboration::Context
        } else {
            Corroboration::None
        }
    }
}

/// The alert severity of a match of `info` in this context; None: a signal only.
fn gated_severity(info: &RuleInfo, corroboration: Corroboration) -> Option<Severity> {
    let level = info.severity()?;
    let login_failure = info.threat == ThreatType::BruteForce;
    match (corroboration, level) {
        (_, Severity::Critical) | (Corroboration::Strong, _) => Some(level),
        _ if login_failure || level == Severity::Low => None,
        (Corroboration::Context, _) => Some(level),
        (Corroboration::None, _) => None,
    }
}

/// Hits for the rules `v` matched, gated by [`Corroboration`] (informational rules raise
/// none). `hits` holds the named detectors' hits on the same event. The entity is who acted:
/// the principal of a cloud call, the remote address of a login line, else the account, else
/// the host that logged it.
pub fn rule_hits(rules: &RuleSet, v: &EventView, ctx: &Ctx, hits: &mut Vec<Hit>) {
    if v.rules.is_empty() {
        return;
    }
    let corroboration = Corroboration::of(ctx, !hits.is_empty());
    // A match that rides on a named detector's hit joins that detector's alert (its entity and
    // threat) rather than opening one of its own: a spray over 20 accounts is one alert that
    // names the rule, not 20 per-account rule alerts beside it.
    let carrier = hits.first().map(|h| (h.entity.clone(), h.threat));
    for id in &v.rules {
        let Some(info) = rules.get(id) else { continue };
        let Some(severity) = gated_severity(info, corroboration) else {
            continue;
        };
        let host = || v.resource.split('/').next().map(str::to_string);
        let entity = match v.format {
            Format::Cloudtrail => v.user.clone().or_else(|| v.ip.clone()),
            _ => v.ip.clone().or_else(|| v.user.clone()).or_else(host),
        };
        let Some(entity) = entity.filter(|e| !e.is_empty()) else {
            continue;
        };
        let (entity, threat, strength) = match &carrier {
            // Strength 0: the detector's summary stays the alert's description.
            Some((entity, threat)) => (entity.clone(), *threat, 0.0),
            None => (entity, info.threat, info.strength()),
        };
        hits.push(Hit {
            detector: "sigma",
            threat,
            summary: format!(
                "Sigma rule \"{}\" ({}) matched {} by {entity}",
                info.title, info.level, v.action
            ),
            entity,
            techniques: &[],
            strength,
            severity,
            related: Related::None,
            rule: Some(info.clone()),
        });
    }
}

/// The ATT&CK technique ids among Sigma tags (`attack.t1562.008` → `T1562.008`).
pub fn techniques_of(tags: &[String]) -> Vec<String> {
    tags.iter()
        .filter_map(|t| t.strip_prefix("attack.t"))
        .filter(|rest| rest.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(|rest| format!("T{}", rest.to_ascii_uppercase()))
        .collect()
}

/// The threat type an alert from this rule is grouped under: brute force and valid-account
/// techniques by their ids, otherwise the first ATT&CK tactic tag.
pub fn threat_of(tags: &[String], techniques: &[String]) -> ThreatType {
    if techniques.iter().any(|t| t.starts_with("T1110")) {
        return ThreatType::BruteForce;
    }
    for tag in tags {
        let threat = match tag.strip_prefix("attack.").unwrap_or("") {
            "defense-evasion" | "defense-impairment" => ThreatType::DefenseEvasion,
            "persistence" => ThreatType::Persistence,
            "privilege-escalation" => ThreatType::PrivilegeEscalation,
            "discovery" | "reconnaissance" => ThreatType::Discovery,
            "exfiltration" | "collection" => ThreatType::Exfiltration,
            "credential-access" => ThreatType::CredentialAccess,
            "execution" => ThreatType::Execution,
            "impact" | "resource-development" => ThreatType::Impact,
            "initial-access" | "lateral-movement" => ThreatType::SuspiciousLogin,
            "command-and-control" => ThreatType::NetworkAnomaly,
            _ => continue,
        };
        return threat;
    }
    if techniques.iter().any(|t| t.starts_with("T1078")) {
        return ThreatType::SuspiciousLogin;
    }
    ThreatType::Anomaly
}

#[cfg(test)]
mod tests;
