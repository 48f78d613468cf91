//! `autosec actions` and `autosec audit`, and the one place a Responder is put together.

use std::io::Write;
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use anyhow::{Context, Result, bail};

use crate::cli::{ActionsArgs, ActionsCommand, AuditCommand, ReportArgs};
use crate::config::Config;
use crate::domain::{Action, Rollback};
use crate::pipeline::open::build_responder;
use crate::respond::Responder;
use crate::respond::audit::Audit;

use crate::sanitize::visible;
use crate::store::Store;

/// The responder for `store`: sandbox unless both `[respond] mode = "live"` and `--live`.
/// Its mode notice goes to stderr.
pub fn open_responder<'a>(
    config: &'a Config,
    data_dir: &Path,
    store: &'a Store,
    live_flag: bool,
) -> Result<Responder<'a>> {
    let (responder, notice) = build_responder(config, data_dir, store, live_flag)?;
    if let Some(n) = notice {
        eprintln!("{n}");
    }
    Ok(responder)
}

pub(super) fn whoami(by: &Option<String>) -> String {
    by.clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into())
}

pub fn actions(config: &Config, data_dir: &Path, live: bool, args: &ActionsArgs) -> Result<u8> {
    let store = Store::open(data_dir, config.storage.cache_mb)?;
    let responder = open_responder(config, data_dir, &store, live)?;
    let now = chrono::Utc::now();
    responder.tick(now)?;
    let result = match &args.command {
        None => {
            list(&responder, args)?;
            None
        }
        Some(ActionsCommand::Show { id }) => {
            let Some(a) = responder.get(*id)? else {
                bail!("no action {id}");
            };
            show(&a, args.json)?;
            None
        }
        Some(ActionsCommand::Approve {
            id,
            reason,
            confirm_closed,
            by,
        }) => Some(responder.approve(*id, &whoami(by), reason.clone(), *confirm_closed, now)),
        Some(ActionsCommand::Reject { id, reason, by }) => {
            Some(responder.reject(*id, &whoami(by), reason.clone(), now))
        }
        Some(ActionsCommand::Rollback { id, by }) => {
            Some(responder.rollback(*id, &whoami(by), now))
        }
    };
    // A live run happens on the responder's worker: wait for it, so what is shown is its result.
    let settled = responder.settle()?;
    responder.audit().sync_head()?;
    store.flush()?;
    if let Some(result) = result {
        let mut action = result?;
        if let Some(done) = settled
            .into_iter()
            .find(|a| a.action_id == action.action_id)
        {
            action = done;
        }
        show(&action, args.json)?;
        if matches!(args.command, Some(ActionsCommand::Rollback { .. }))
            && action.state != crate::domain::ActionState::RolledBack
        {
            bail!(crate::respond::DecisionError::RollbackFailed(
                action.action_id
            ));
        }
    }
    Ok(0)
}

fn list(responder: &Responder, args: &ActionsArgs) -> Result<()> {
    let mut actions = responder.actions()?;
    if let Some(state) = args.state {
        actions.retain(|a| a.state == state);
    }
    print_list(responder.mode(), &actions, args.json)
}

/// The action table (or JSON lines) under the responder's mode.
pub(super) fn print_list(mode: &str, actions: &[Action], json: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        for a in actions {
            writeln!(out, "{}", serde_json::to_string(a)?)?;
        }
        return Ok(());
    }
    writeln!(out, "mode: {}", mode.to_uppercase())?;
    writeln!(
        out,
        "{:>5}  {:>5}  {:<6}  {:<19}  {:<24}  {:<16}  PREVIEW",
        "ID", "ALERT", "TIER", "ACTION", "TARGET", "STATE"
    )?;
    for a in actions {
        writeln!(
            out,
            "{:>5}  {:>5}  {:<6}  {:<19}  {:<24}  {:<16}  {}",
            a.action_id,
            a.alert_id,
            a.tier.as_str(),
            a.kind.as_str(),
            visible(&a.target.value()),
            a.state.as_str(),
            visible(&a.preview)
        )?;
    }
    Ok(())
}

pub(super) fn show(a: &Action, json: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(a)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "action {} ({} {}) for alert {}: {} on {} {}",
        a.action_id,
        a.tier.as_str(),
        a.kind.as_str(),
        a.alert_id,
        a.state.as_str(),
        a.target.kind(),
        visible(&a.target.value())
    )?;
    writeln!(out, "  why: {}", visible(&a.state_reason))?;
    writeln!(out, "  runs: {}", visible(&a.preview))?;
    match &a.rollback {
        Rollback::Inverse { preview, .. } => writeln!(out, "  rollback: {}", visible(preview))?,
        Rollback::None { reason } => writeln!(out, "  rollback: none ({})", visible(reason))?,
    }
    if let Some(d) = &a.decision {
        writeln!(
            out,
            "  {} by {} at {}{}",
            if d.approved { "approved" } else { "rejected" },
            visible(&d.by),
            d.at.format("%Y-%m-%d %H:%M:%S UTC"),
            d.reason
                .as_ref()
                .map_or(String::new(), |r| format!(": {}", visible(r)))
        )?;
    }
    if let Some(end) = a.expires_at {
        writeln!(
            out,
            "  ends by itself at {}",
            end.format("%Y-%m-%d %H:%M:%S UTC")
        )?;
    }
    if let Some(deadline) = a.approval_deadline {
        writeln!(
            out,
            "  approval expires at {}",
            deadline.format("%Y-%m-%d %H:%M:%S UTC")
        )?;
    }
    Ok(())
}

pub fn audit(config: &Config, data_dir: &Path, command: &AuditCommand) -> Result<u8> {
    let store = Store::open(data_dir, config.storage.cache_mb)?;
    let audit = Audit::open(store.audit.clone(), &config.audit_key_file()?, data_dir)?;
    match command {
        AuditCommand::Verify { json } => print_verify(&audit.verify()?, *json),
        AuditCommand::Export { out } => {
            let mut sink = export_sink(out.as_deref())?;
            for record in audit.records() {
                writeln!(sink, "{}", serde_json::to_string(&record?)?)?;
            }
            sink.flush()?;
            Ok(0)
        }
    }
}

/// Where `audit export` writes: the file, or stdout.
pub(super) fn export_sink(out: Option<&Path>) -> Result<Box<dyn Write>> {
    Ok(match out {
        Some(p) => Box::new(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => Box::new(std::io::stdout().lock()),
    })
}

/// `audit verify`'s report; exit 1 when the chain is broken.
pub(super) fn print_verify(report: &crate::respond::audit::VerifyReport, json: bool) -> Result<u8> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else if let Some((seq, why)) = &report.first_bad {
        println!(
            "audit chain BROKEN at record {seq}: {why} ({} records readable)",
            report.records
        );
    } else {
        println!(
            "audit chain OK: {} records, head {} {}",
            report.records,
            report.head.as_ref().map_or(0, |h| h.seq),
            report.head.as_ref().map_or("", |h| h.mac.as_str())
        );
    }
    Ok(if report.ok { 0 } else { 1 })
}

pub fn report(config: &Config, data_dir: &Path, args: &ReportArgs) -> Result<u8> {
    let since = args
        .since
        .as_deref()
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|e| anyhow::anyhow!("--since {t:?} is not an RFC 3339 time: {e}"))
        })
        .transpose()?;
    let store = Store::open(data_dir, config.storage.cache_mb)?;
    let responder = open_responder(config, data_dir, &store, false)?;
    let mut alerts = crate::store::stored_alerts(&store)?;
    alerts.retain(|a| {
        args.alert.is_none_or(|id| a.alert_id == id) && since.is_none_or(|t| a.last_seen >= t)
    });
    if let Some(id) = args.alert
        && alerts.is_empty()
    {
        bail!("no alert {id}");
    }
    let ids: std::collections::HashSet<u64> = alerts.iter().map(|a| a.alert_id).collect();
    let mut actions = responder.actions()?;
    actions.retain(|a| ids.contains(&a.alert_id));
    let input = crate::report::ReportInput {
        generated_at: chrono::Utc::now(),
        data_dir: data_dir.display().to_string(),
        privacy: store.privacy_opt_out()?.is_none(),
        mode: responder.mode(),
        alerts,
        actions,
        audit: responder.audit().verify()?,
        head: responder.audit().head(),
        since,
    };
    let md_path = args.out.with_extension("md");
    let html_path = args.out.with_extension("html");
    use anyhow::Context as _;
    std::fs::write(&md_path, crate::report::markdown(&input))
        .with_context(|| format!("cannot write {}", md_path.display()))?;
    std::fs::write(&html_path, crate::report::html(&input))
        .with_context(|| format!("cannot write {}", html_path.display()))?;
    println!(
        "wrote {} and {} ({} alerts, {} actions; audit {})",
        md_path.display(),
        html_path.display(),
        input.alerts.len(),
        input.actions.len(),
        if input.audit.ok { "OK" } else { "BROKEN" }
    );
    Ok(0)
}

pub fn explain(
    config: &Config,
    data_dir: &Path,
    alert_id: u64,
    json: bool,
    regenerate: bool,
) -> Result<u8> {
    let store = Store::open(data_dir, config.storage.cache_mb)?;
    if !regenerate && let Some(e) = crate::explain::load(&store, alert_id)? {
        if json {
            println!("{}", serde_json::to_string_pretty(&e)?);
        } else {
            print!("{}", crate::explain::render_text(&e));
        }
        return Ok(0);
    }
    let responder = open_responder(config, data_dir, &store, false)?;
    let mut e = crate::explain::template_for(&store, alert_id, &responder.actions()?)?;
    // The grounded template first, at once; the model's paragraph streams behind it.
    if !json {
        print!("{}", crate::explain::render_text(&e));
    }
    match crate::explain::open_generator(&config.explain, data_dir) {
        Err(reason) => {
            if !json {
                println!(
                    "
[template only: {}]",
                    visible(&reason)
                );
            }
        }
        Ok(mut generator) => {
            let alert = crate::store::stored_alert(&store, alert_id)?
                .ok_or_else(|| anyhow::anyhow!("no alert {alert_id}"))?;
            // Ctrl-C stops the model (the partial text is still verified and stored); a second
            // Ctrl-C exits at once.
            let cancel = CancellationToken::new();
            let flag = cancel.clone();
            let _ = ctrlc::set_handler(move || {
                if flag.is_cancelled() {
                    std::process::exit(130);
                }
                flag.cancel();
            });
            let budget = crate::explain::llm::Budget {
                max_tokens: config.explain.max_tokens,
                timeout: Duration::from_secs(config.explain.timeout_secs),
                cancel: &cancel,
            };
            if !json {
                println!(
                    "
{} is writing (unverified draft, streamed):",
                    generator.name()
                );
            }
            let known: std::collections::HashSet<String> = crate::explain::technique_names(&store)?
                .into_keys()
                .collect();
            let mut out = std::io::stdout();
            crate::explain::generate(
                &mut e,
                generator.as_mut(),
                &budget,
                &known,
                &alert,
                &mut |piece| {
                    if !json {
                        let _ = write!(out, "{}", visible(piece));
                        let _ = out.flush();
                    }
                },
            )?;
            if !json && let Some(g) = &e.generated {
                print_generated(g);
            }
        }
    }
    crate::explain::save(&store, &e)?;
    store.flush()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&e)?);
    }
    Ok(0)
}

/// The model's text after verification, below its streamed draft.
pub(super) fn print_generated(g: &crate::explain::Generated) {
    println!(
        "\n\nAfter verification ({} tokens in {:.1}s):",
        g.tokens, g.seconds
    );
    print!("{}", crate::explain::render_generated(g));
}

/// `explain-bench`: the explanation figures README reports (a benchmark, not a test).
pub fn explain_bench(
    config: &Config,
    data_dir: &Path,
    limit: usize,
    out_file: Option<&Path>,
) -> Result<u8> {
    let store = Store::open(data_dir, config.storage.cache_mb)?;
    let responder = open_responder(config, data_dir, &store, false)?;
    let actions = responder.actions()?;
    let alerts: Vec<_> = crate::store::stored_alerts(&store)?
        .into_iter()
        .take(limit)
        .collect();
    let known: std::collections::HashSet<String> = crate::explain::technique_names(&store)?
        .into_keys()
        .collect();
    let started = std::time::Instant::now();
    let mut generator = crate::explain::open_generator(&config.explain, data_dir).ok();
    let load_seconds = started.elapsed().as_secs_f64();
    let mut template_ms = Vec::new();
    let (mut passed, mut rejected, mut sentences_removed, mut invented) = (0, 0, 0, 0);
    let mut invented_shown = 0;
    // Sentences the model wrote, and those a reader sees (in a paragraph that was not rejected).
    let (mut sentences_generated, mut sentences_kept) = (0usize, 0usize);
    let mut texts = Vec::new();
    let (mut tokens, mut gen_seconds, mut ttft) = (0usize, 0.0f64, Vec::new());
    // Reading the prompt and writing the answer run at very different rates: kept apart.
    let (mut prompt_tokens, mut decode_seconds) = (0usize, 0.0f64);
    let cancel = CancellationToken::new();
    for alert in &alerts {
        let t = std::time::Instant::now();
        let mut e = crate::explain::template_for(&store, alert.alert_id, &actions)?;
        template_ms.push(t.elapsed().as_secs_f64() * 1e3);
        if let Some(g) = generator.as_mut() {
            let budget = crate::explain::llm::Budget {
                max_tokens: config.explain.max_tokens,
                timeout: Duration::from_secs(config.explain.timeout_secs),
                cancel: &cancel,
            };
            crate::explain::generate(&mut e, g.as_mut(), &budget, &known, alert, &mut |_| {})?;
            if let Some(out) = &e.generated {
                if out.rejected {
                    rejected += 1;
                } else {
                    passed += 1;
                }
                sentences_removed += out.removed.len();
                let kept = crate::explain::verify::sentence_count(&out.text);
                sentences_generated += kept + out.removed.len();
                if !out.rejected {
                    sentences_kept += kept;
                }
                texts.push(serde_json::json!({
                    "alert_id": alert.alert_id,
                    "threat": alert.threat_type,
                    "shown": !out.rejected,
                    "text": out.text,
                    "removed": out.removed,
                }));
                invented += out.invented_ids;
                invented_shown += out.invented_ids_shown;
                tokens += out.tokens;
                gen_seconds += out.seconds;
                prompt_tokens += out.prompt_tokens;
                decode_seconds += out.seconds - out.first_token_seconds;
                ttft.push(out.first_token_seconds);
                eprintln!(
                    "alert {}: prompt {} tokens, first token {:.1}s; {} tokens in {:.1}s, {} removed{}",
                    alert.alert_id,
                    out.prompt_tokens,
                    out.first_token_seconds,
                    out.tokens,
                    out.seconds,
                    out.removed.len(),
                    if out.rejected { ", REJECTED" } else { "" }
                );
            }
        }
        crate::explain::save(&store, &e)?;
    }
    store.flush()?;
    template_ms.sort_by(f64::total_cmp);
    ttft.sort_by(f64::total_cmp);
    let pct = |v: &[f64], q: f64| {
        if v.is_empty() {
            0.0
        } else {
            v[((v.len() - 1) as f64 * q).round() as usize]
        }
    };
    let report = serde_json::json!({
        "alerts": alerts.len(),
        "backend": generator.as_ref().map(|g| g.name()),
        "template_ms_p50": pct(&template_ms, 0.5),
        "template_ms_max": template_ms.last().copied().unwrap_or(0.0),
        "generator_load_seconds": load_seconds,
        "first_token_seconds_p50": pct(&ttft, 0.5),
        "tokens": tokens,
        "tokens_per_second": if gen_seconds > 0.0 { tokens as f64 / gen_seconds } else { 0.0 },
        "prompt_tokens_per_second": if ttft.is_empty() { 0.0 } else { prompt_tokens as f64 / ttft.iter().sum::<f64>() },
        "decode_tokens_per_second": if decode_seconds > 0.0 { tokens as f64 / decode_seconds } else { 0.0 },
        "generation_seconds_mean": if ttft.is_empty() { 0.0 } else { gen_seconds / ttft.len() as f64 },
        "passed_verification": passed,
        "rejected": rejected,
        "sentences_removed": sentences_removed,
        "sentences_generated": sentences_generated,
        "sentences_kept_and_shown": sentences_kept,
        "invented_ids_before_verification": invented,
        "invented_ids_after_verification": invented_shown,
    });
    if let Some(path) = out_file {
        let lines: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
        std::fs::write(path, lines.join("\n") + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(0)
}
