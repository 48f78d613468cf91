//! `autosec intel import|search|status|bench` and the shared "open the intel engine" step.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{DocKindArg, IntelCommand};
use crate::config::Config;
use crate::intel::doc::DocKind;
use crate::intel::import::{self, EmbedPolicy};
use crate::intel::store::{SourceRecord, replace_source};
use crate::intel::{Intel, ModelState, SearchOptions};
use crate::sanitize::visible;
use crate::store::Store;

pub fn intel(config: &Config, data_dir: &Path, command: &IntelCommand) -> Result<u8> {
    let store = Store::open(data_dir, config.storage.cache_mb)?;
    match command {
        IntelCommand::Import { file, json } => import_feed(config, data_dir, &store, file, *json),
        IntelCommand::Search {
            text,
            k,
            ranking,
            kind,
            json,
        } => {
            let intel = open_ready(config, data_dir, &store)?;
            let query = text.join(" ");
            let outcome = intel.search(
                &query,
                &SearchOptions {
                    k: *k,
                    ranking: *ranking,
                    kind: kind.map(|k| match k {
                        DocKindArg::Technique => DocKind::Technique,
                        DocKindArg::Incident => DocKind::Incident,
                        DocKindArg::Cve => DocKind::Cve,
                    }),
                },
            )?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&outcome)?);
                return Ok(0);
            }
            let mut out = std::io::stdout().lock();
            match &outcome.fallback {
                Some(reason) => writeln!(out, "ranking: {reason}")?,
                None => writeln!(out, "ranking: {}", outcome.ranking.as_str())?,
            }
            for (i, h) in outcome.hits.iter().enumerate() {
                let parts = [
                    h.vector.map(|v| format!("vector {v:.3}")),
                    h.lexical.map(|l| format!("bm25 {l:.3}")),
                    h.id_match.then(|| "id match".to_string()),
                ];
                let why: Vec<String> = parts.into_iter().flatten().collect();
                writeln!(
                    out,
                    "{:>2}. {:<14} {:<9} {:.3}  {}  [{}; {}]",
                    i + 1,
                    h.id,
                    h.kind.as_str(),
                    h.score,
                    visible(&h.title),
                    h.source,
                    why.join(", ")
                )?;
                writeln!(out, "    {}", visible(&h.summary))?;
            }
            Ok(0)
        }
        IntelCommand::Status { json } => {
            let model = ModelState::load(&config.intel, data_dir);
            let intel = Intel::open(&store, &config.intel, model)?;
            let status = intel.status(&store)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&status)?);
                return Ok(0);
            }
            if status.model_ready {
                println!("embedding model: {}", status.model);
            } else {
                println!("embedding model: none: {}", status.model);
                println!("retrieval: lexical fallback (BM25)");
            }
            println!("ranking: {}", status.ranking.as_str());
            let docs: Vec<String> = status
                .documents
                .iter()
                .map(|(k, n)| format!("{n} {k}s"))
                .collect();
            println!(
                "documents: {} (bundled corpus + {} imported sources)",
                docs.join(", "),
                status.sources.len()
            );
            for s in &status.sources {
                println!(
                    "  {:<28} {:>7} docs  {} ({}, {})",
                    s.source,
                    s.docs,
                    s.format,
                    visible(&s.file),
                    s.imported_at.format("%Y-%m-%d %H:%M")
                );
            }
            println!(
                "passages: {} embedded of {}; HNSW holds {}, {} searched exactly; {} documents lexical-only",
                status.embedded,
                status.passages,
                status.indexed,
                status.exact_tail,
                status.lexical_only_docs
            );
            Ok(0)
        }
        IntelCommand::Bench {
            queries,
            sentences,
            json,
        } => {
            let intel = open_ready(config, data_dir, &store)?;
            let queries = crate::eval::rag::load_queries(queries)?;
            let report = super::intel_bench::run(&intel, &queries, *sentences)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                super::intel_bench::print(&report);
            }
            Ok(0)
        }
    }
}

fn progress_bar(total: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// Open the intel engine, embed passages that have no vector yet and (re)build the HNSW
/// snapshot on a background thread when it is stale, with progress on stderr.
pub fn open_ready(config: &Config, data_dir: &Path, store: &Store) -> Result<Intel> {
    let model = ModelState::load(&config.intel, data_dir);
    if let ModelState::Unavailable(reason) = &model {
        eprintln!("intel: lexical fallback (BM25): {reason}");
    }
    let mut intel = Intel::open(store, &config.intel, model)?;
    let pending = intel.pending_passages();
    if pending > 0 {
        eprintln!("intel: embedding {pending} passages (once; vectors are kept in the store)");
        let bar = progress_bar(pending, "embedding");
        intel.embed_pending(store, |done, _| bar.set_position(done as u64))?;
        bar.finish_and_clear();
    }
    if intel.index_is_stale()
        && let Some(handle) = intel.spawn_rebuild()
    {
        let spinner = ProgressBar::new_spinner();
        spinner.set_message("building the HNSW index in the background");
        while !handle.is_finished() {
            spinner.tick();
            std::thread::sleep(Duration::from_millis(80));
        }
        spinner.finish_and_clear();
        let snapshot = handle
            .join()
            .map_err(|_| anyhow::anyhow!("the index build thread panicked"))?;
        if snapshot.from_cache {
            eprintln!(
                "intel: HNSW index of {} passages read from the user's cache",
                snapshot.len()
            );
        } else {
            eprintln!(
                "intel: HNSW index of {} passages built in {:.1}s",
                snapshot.len(),
                snapshot.build_seconds
            );
        }
        intel.save_and_install(store, snapshot)?;
    }
    Ok(intel)
}

fn import_feed(
    config: &Config,
    data_dir: &Path,
    store: &Store,
    file: &Path,
    json: bool,
) -> Result<u8> {
    let started = Instant::now();
    let bytes = import::read_feed(file)?;
    let Some(format) = import::detect(&bytes) else {
        anyhow::bail!(
            "{}: not a recognised feed (ATT&CK STIX 2.1 bundle, CISA KEV JSON, NVD CVE JSON 2.0, or incidents JSON lines)",
            file.display()
        );
    };
    let file_name = file
        .file_name()
        .map_or_else(|| "feed".into(), |n| n.to_string_lossy().into_owned());
    eprintln!(
        "intel: {} is a {} ({:.1} MB)",
        file.display(),
        format.describe(),
        bytes.len() as f64 / 1e6
    );
    // KEV-listed CVEs already in the store are embedded when an NVD feed mentions them.
    let kev_ids = crate::intel::store::load_docs(store)?
        .into_iter()
        .filter(|d| d.source == "kev")
        .map(|d| d.id)
        .collect();
    let policy = EmbedPolicy {
        kev_ids: &kev_ids,
        keywords: &config.intel.nvd_embed_keywords,
    };
    let parsed = import::parse(format, &bytes, &file_name, &policy)?;
    drop(bytes);
    let lexical_only = parsed.docs.iter().filter(|d| !d.embed).count();
    let record = SourceRecord {
        source: parsed.source.clone(),
        format: format.describe().to_string(),
        file: file.display().to_string(),
        imported_at: chrono::Utc::now(),
        docs: parsed.docs.len(),
        lexical_only,
    };
    let replaced = replace_source(store, &record, &parsed.docs)?;
    store.flush()?;
    let parse_seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "intel: {} documents from source {} ({} replaced), parsed in {parse_seconds:.1}s",
        parsed.docs.len(),
        parsed.source,
        replaced
    );
    for note in &parsed.notes {
        eprintln!("intel: {note}");
    }
    for s in parsed.skipped.iter().take(10) {
        eprintln!("intel: skipped: {}", visible(s));
    }
    let embed_started = Instant::now();
    let intel = open_ready(config, data_dir, store)?;
    store.flush()?;
    let status = intel.status(store)?;
    let summary = serde_json::json!({
        "file": file.display().to_string(),
        "format": format.describe(),
        "source": parsed.source,
        "documents": parsed.docs.len(),
        "replaced": replaced,
        "lexical_only": lexical_only,
        "skipped": parsed.skipped.len(),
        "notes": parsed.notes,
        "parse_seconds": parse_seconds,
        "embed_and_index_seconds": embed_started.elapsed().as_secs_f64(),
        "model": status.model,
        "model_ready": status.model_ready,
        "passages_embedded": status.embedded,
        "indexed": status.indexed,
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "imported {} {} documents as source {} ({} skipped{}); {:.1}s parse, {:.1}s embed + index; retrieval: {}",
            parsed.docs.len(),
            format.describe(),
            parsed.source,
            parsed.skipped.len(),
            if lexical_only > 0 {
                format!(", {lexical_only} lexical-only")
            } else {
                String::new()
            },
            parse_seconds,
            embed_started.elapsed().as_secs_f64(),
            if status.model_ready {
                "hybrid (MiniLM + BM25)"
            } else {
                "lexical fallback (BM25), no embedding model"
            }
        );
    }
    Ok(0)
}
