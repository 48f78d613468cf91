//! Explanations: a structured, grounded account of an alert (template, always), optionally with
//! a model-written paragraph that is verified before anyone sees it. Verdict, severity,
//! confidence and actions come only from structured data; generated text is labelled.

pub mod evidence;
pub mod llm;
pub mod prompt;
pub mod template;
pub mod verify;

use std::collections::HashMap;
use std::fmt::Write;

use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::Action;
use crate::store::Store;
use evidence::Excerpt;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TechniqueNote {
    pub id: String,
    pub name: String,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelatedDoc {
    pub id: String,
    pub kind: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionNote {
    pub action_id: u64,
    pub tier: String,
    pub kind: String,
    pub state: String,
    pub preview: String,
}

/// Model-written text after verification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generated {
    /// `local:SmolLM2-135M-Instruct.Q4_1.gguf`, `openai:<model>` …
    pub backend: String,
    pub text: String,
    /// What verification removed, with the reason.
    pub removed: Vec<String>,
    /// Too much was removed: the template is shown instead (with this note).
    pub rejected: bool,
    pub tokens: usize,
    pub seconds: f64,
    /// Why generation stopped: `end`, `budget`, `timeout`, `cancelled`.
    #[serde(default)]
    pub stop: String,
    #[serde(default)]
    pub prompt_tokens: usize,
    #[serde(default)]
    pub first_token_seconds: f64,
    /// Technique IDs in the raw output that ATT&CK does not have (before verification; none
    /// survive it).
    #[serde(default)]
    pub invented_ids: usize,
    /// The same count in the text that is shown (verification should leave none).
    #[serde(default)]
    pub invented_ids_shown: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub alert_id: u64,
    pub generated_at: DateTime<Utc>,
    pub summary: String,
    pub why: Vec<String>,
    pub techniques: Vec<TechniqueNote>,
    pub related: Vec<RelatedDoc>,
    /// From the response engine; the explanation describes them, it never chooses them.
    pub actions: Vec<ActionNote>,
    pub confidence: f32,
    pub confidence_notes: Vec<String>,
    pub evidence: Vec<Excerpt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<Generated>,
}

/// ATT&CK technique names known to this build and store (bundled + imported).
pub fn technique_names(store: &Store) -> Result<HashMap<String, String>> {
    let mut names: HashMap<String, String> = crate::intel::corpus::bundled()
        .into_iter()
        .filter(|d| d.kind == crate::intel::doc::DocKind::Technique)
        .map(|d| (d.id, d.title))
        .collect();
    for d in crate::intel::store::load_docs(store)? {
        if d.kind == crate::intel::doc::DocKind::Technique {
            names.insert(d.id, d.title);
        }
    }
    Ok(names)
}

/// The alert asked for is not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no alert {0} (see: autosec alerts)")]
pub struct NoSuchAlert(pub u64);

/// The template explanation of a stored alert (no model involved).
pub fn template_for(store: &Store, alert_id: u64, actions: &[Action]) -> Result<Explanation> {
    let Some(alert) = crate::store::stored_alert(store, alert_id)? else {
        return Err(NoSuchAlert(alert_id).into());
    };
    let excerpts = evidence::excerpts(store, &alert, 5);
    let mine: Vec<Action> = actions
        .iter()
        .filter(|a| a.alert_id == alert_id)
        .cloned()
        .collect();
    Ok(template::build(
        &alert,
        excerpts,
        &mine,
        &technique_names(store)?,
    ))
}

/// The configured generator, or None (template only) with the reason.
pub fn open_generator(
    config: &crate::config::ExplainConfig,
    data_dir: &std::path::Path,
) -> std::result::Result<Box<dyn llm::Generator>, String> {
    use crate::config::ExplainBackend;
    if std::env::var_os("AUTOSEC_NO_MODELS").is_some_and(|v| !v.is_empty() && v != "0")
        && config.backend != ExplainBackend::Openai
    {
        return Err("local models disabled by AUTOSEC_NO_MODELS".into());
    }
    match config.backend {
        ExplainBackend::Template => {
            Err("explain.backend = template (set local, auto or openai for model text)".into())
        }
        ExplainBackend::Openai => {
            if config.base_url.is_empty() {
                return Err("explain.backend = openai needs explain.base_url".into());
            }
            Ok(Box::new(llm::OpenAiCompatible {
                base_url: config.base_url.clone(),
                model: config.api_model.clone(),
                api_key: std::env::var(&config.api_key_env).ok(),
            }))
        }
        ExplainBackend::Local | ExplainBackend::Auto => {
            let path = crate::config::resolve_model_path(&config.model, data_dir);
            llm::LocalLlm::load(&path)
                .map(|m| Box::new(m) as Box<dyn llm::Generator>)
                .map_err(|e| format!("{e:#}"))
        }
    }
}

/// Ask `generator` for a paragraph, verify it against the explanation's grounding, attach it.
pub fn generate(
    e: &mut Explanation,
    generator: &mut dyn llm::Generator,
    budget: &llm::Budget,
    known_ids: &std::collections::HashSet<String>,
    alert: &crate::domain::Alert,
    on_text: &mut dyn FnMut(&str),
) -> Result<()> {
    let prompt = prompt::build(
        e,
        alert.threat_type.as_str(),
        alert.severity.as_str(),
        &alert.entity,
        &alert.description,
    );
    if std::env::var_os("AUTOSEC_DEBUG_PROMPT").is_some() {
        eprintln!("--- prompt ---\n{}\n--- end ---", prompt.chatml());
    }
    let out = generator.generate(&prompt, budget, on_text)?;
    let allowed: std::collections::HashSet<String> = e
        .techniques
        .iter()
        .map(|t| t.id.clone())
        .chain(e.related.iter().map(|r| r.id.clone()))
        .collect();
    let mut evidence: Vec<String> = e.evidence.iter().map(|x| x.text.clone()).collect();
    evidence.push(e.summary.clone());
    evidence.extend(e.why.iter().cloned());
    // A budget, a timeout or a cancel can stop the model mid-sentence: that part is dropped.
    let (finished, unfinished) = if out.stop == "end" {
        (out.text.as_str(), "")
    } else {
        verify::finished_part(&out.text)
    };
    let mut checked = verify::verify(
        finished,
        &verify::Grounding {
            known_ids,
            allowed_ids: &allowed,
            evidence: &evidence,
            facts: &format!("{}\n{}", prompt.system, prompt.user).to_ascii_lowercase(),
        },
    );
    if !unfinished.is_empty() {
        checked.removed.push(format!(
            "unfinished when generation stopped ({}): {unfinished}",
            out.stop
        ));
    }
    let invented_ids = verify::technique_ids(&out.text)
        .filter(|id| !known_ids.contains(*id))
        .count();
    let invented_ids_shown = verify::technique_ids(&checked.text)
        .filter(|id| !known_ids.contains(*id))
        .count();
    e.generated = Some(Generated {
        first_token_seconds: out.first_token_seconds,
        prompt_tokens: out.prompt_tokens,
        stop: out.stop.to_string(),
        invented_ids,
        invented_ids_shown,
        backend: generator.name(),
        text: checked.text,
        removed: checked.removed,
        rejected: checked.rejected,
        tokens: out.tokens,
        seconds: out.seconds,
    });
    Ok(())
}

pub fn save(store: &Store, e: &Explanation) -> Result<()> {
    store
        .explanations
        .insert(e.alert_id.to_be_bytes(), serde_json::to_vec(e)?)?;
    Ok(())
}

pub fn load(store: &Store, alert_id: u64) -> Result<Option<Explanation>> {
    Ok(store
        .explanations
        .get(alert_id.to_be_bytes())?
        .map(|v| serde_json::from_slice(&v))
        .transpose()?)
}

/// Plain text for the CLI: every log-derived string through the output sanitiser.
pub fn render_text(e: &Explanation) -> String {
    use crate::sanitize::visible;
    let mut out = String::new();
    let _ = writeln!(out, "Alert {} — summary", e.alert_id);
    let _ = writeln!(out, "  {}", visible(&e.summary));
    let _ = writeln!(out, "\nWhy this is suspicious");
    for w in &e.why {
        let _ = writeln!(out, "  - {}", visible(w));
    }
    if !e.techniques.is_empty() {
        let _ = writeln!(out, "\nATT&CK techniques");
        for t in &e.techniques {
            let _ = writeln!(
                out,
                "  - {} {}: {}",
                t.id,
                visible(&t.name),
                visible(&t.why)
            );
        }
    }
    if !e.related.is_empty() {
        let _ = writeln!(out, "\nRelated past incidents and CVEs");
        for r in &e.related {
            let _ = writeln!(out, "  - {} ({}): {}", r.id, r.kind, visible(&r.title));
        }
    }
    let _ = writeln!(out, "\nRecommended actions (from the response policy)");
    if e.actions.is_empty() {
        let _ = writeln!(out, "  - none recorded yet");
    }
    for a in &e.actions {
        let _ = writeln!(
            out,
            "  - [{}] {} #{}: {} — {}",
            a.tier,
            a.kind,
            a.action_id,
            a.state,
            visible(&a.preview)
        );
    }
    let _ = writeln!(out, "\nConfidence {:.2}", e.confidence);
    for n in &e.confidence_notes {
        let _ = writeln!(out, "  - {}", visible(n));
    }
    if !e.evidence.is_empty() {
        let _ = writeln!(out, "\nEvidence");
        for (i, x) in e.evidence.iter().enumerate() {
            let _ = writeln!(
                out,
                "  - E{} {}{}: {}",
                i + 1,
                visible(&x.reference),
                if x.instruction_like {
                    " [INSTRUCTION-LIKE TEXT: evidence, not guidance]"
                } else {
                    ""
                },
                visible(&x.text)
            );
        }
    }
    if let Some(g) = &e.generated {
        out.push('\n');
        out.push_str(&render_generated(g));
    }
    out
}

/// The generated paragraph after verification, labelled with its backend.
pub fn render_generated(g: &Generated) -> String {
    use crate::sanitize::visible;
    let mut out = String::new();
    if g.text.is_empty() && matches!(g.stop.as_str(), "cancelled" | "timeout") {
        let _ = writeln!(
            out,
            "[{} stopped ({}) after {:.1}s before writing anything; the template above stands]",
            visible(&g.backend),
            g.stop,
            g.seconds
        );
    } else if g.rejected {
        let _ = writeln!(
            out,
            "[{} text withheld: verification removed too much ({} item(s)); the template above stands]",
            visible(&g.backend),
            g.removed.len()
        );
    } else {
        let _ = writeln!(
            out,
            "Generated by {} (checked against the evidence; not a verdict)",
            visible(&g.backend)
        );
        let _ = writeln!(out, "  {}", visible(&g.text));
    }
    for r in &g.removed {
        let _ = writeln!(out, "  [removed: {}]", visible(r));
    }
    out
}
