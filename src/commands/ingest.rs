//! `autosec ingest` and `autosec quarantine`.

use std::io::{IsTerminal, Write};
use std::path::Path;
use tokio_util::sync::CancellationToken;

use anyhow::{Context, Result};

use crate::cli::{IngestArgs, QuarantineArgs};
use crate::config::Config;
use crate::detect::{Detection, Mode};
use crate::ingest::IngestSummary;
use crate::ingest::{self, IngestOptions};
use crate::pipeline::open::open_engine;
use crate::privacy::Redactor;
use crate::sanitize::visible;
use crate::store::Store;

pub fn ingest(
    config: &Config,
    data_dir: &Path,
    privacy_flag: bool,
    live_flag: bool,
    args: &IngestArgs,
) -> Result<u8> {
    let privacy = privacy_flag && config.privacy.enabled;
    let zoned;
    let config = match &args.timezone {
        Some(zone) => {
            crate::config::parse_zone(zone).context("--timezone")?;
            let mut c = config.clone();
            c.ingest.timezone = zone.clone();
            zoned = c;
            &zoned
        }
        None => config,
    };
    let (store, redactor) = open_engine(config, data_dir, privacy)?;
    if !privacy {
        eprintln!(
            "warning: privacy is OFF: raw IPs, emails and usernames are stored (recorded in the store)"
        );
    }
    let cancel = CancellationToken::new();
    let flag = cancel.clone();
    // First Ctrl-C: stop reading, store what was read, print the summary. Second: exit now.
    let _ = ctrlc::set_handler(move || {
        if flag.is_cancelled() {
            std::process::exit(130);
        }
        flag.cancel();
    });
    let opts = IngestOptions {
        paths: args.paths.clone(),
        format: args.format.forced(),
        follow: args.follow,
        progress: !args.json && std::io::stdout().is_terminal() && std::io::stderr().is_terminal(),
        abort_after_events: args.abort_after_events,
        tap: None,
        backlog: None,
        external: None,
        detect_feed: None,
    };
    // Events stored by an earlier run that died before detecting them are analysed too.
    let first_new = store.detect_from()?;
    let started = std::time::Instant::now();
    let mut summary = if args.follow && config.detect.enabled {
        follow_with_detection(&store, redactor, config, &opts, cancel, first_new)?
    } else {
        let mut summary = ingest::run(&store, redactor, config, &opts, cancel)?;
        if config.detect.enabled && store.event_count()? >= first_new {
            let (_, d) = Detection::start(&store, &config.detect, first_new, Mode::Fused)?;
            summary.alerts = d.alerts;
            summary.detect_seconds = d.seconds;
        }
        summary
    };
    // Retrieval and response are independent (response never reads intel): they run side by
    // side. The text summary does not wait for retrieval: it is printed once response is
    // done, and a line follows when the alerts carry their matches. `--json` waits, so its
    // one object is complete.
    let store_ref = &store;
    std::thread::scope(|scope| -> Result<()> {
        let intel_job = (config.intel.attach_on_ingest && summary.alerts > 0).then(|| {
            scope.spawn(move || -> Result<(usize, String, f64, bool)> {
                let t = std::time::Instant::now();
                let intel = super::intel::open_ready(config, data_dir, store_ref)?;
                let n =
                    crate::intel::retrieve::attach_to_alerts(&intel, store_ref, config.intel.k)?;
                let ranking = intel.effective_ranking(None).as_str().to_string();
                let loaded = intel.model().weights_loaded();
                Ok((n, ranking, t.elapsed().as_secs_f64(), loaded))
            })
        });
        if config.respond.enabled && summary.alerts > 0 {
            let responder = super::actions::open_responder(config, data_dir, store_ref, live_flag)?;
            let ctx = crate::respond::Context {
                live_source: args.follow || args.respond_as_live,
                now: chrono::Utc::now(),
                assume_fresh: args.respond_as_live,
            };
            responder.tick(ctx.now)?;
            let mut actions = crate::respond::Summary::default();
            for alert in crate::store::stored_alerts(store_ref)? {
                responder.respond(&alert, &ctx, &mut actions)?;
            }
            actions.settled(&responder.settle()?);
            responder.audit().sync_head()?;
            summary.actions = actions.by_state;
            summary.auto_actions = actions.auto_state_changing;
            summary.respond_mode = responder.mode().to_string();
        }
        store_ref.flush()?;
        summary.seconds = started.elapsed().as_secs_f64();
        summary.events_per_sec = if summary.seconds > 0.0 {
            summary.events as f64 / summary.seconds
        } else {
            0.0
        };
        if !args.json {
            print!("{}", summary.render_text());
            if summary.rejected > 0 {
                println!("  see them with: autosec quarantine");
            }
            if intel_job.is_some() {
                println!(
                    "  intel: matching {} alert(s) to techniques, incidents and CVEs (they show in `autosec alerts` as they land)…",
                    summary.alerts
                );
            }
            std::io::Write::flush(&mut std::io::stdout())?;
        }
        if let Some(job) = intel_job {
            let (n, ranking, seconds, loaded) = job
                .join()
                .map_err(|_| anyhow::anyhow!("the retrieval thread panicked"))??;
            summary.intel_alerts = n;
            summary.intel_ranking = ranking;
            summary.intel_seconds = seconds;
            summary.intel_model_loaded = loaded;
            if !args.json {
                let cached = if summary.intel_ranking != "lexical" && !loaded {
                    "; every vector came from the cache, the model was not loaded"
                } else {
                    ""
                };
                println!(
                    "  intel: {n} alert(s) matched ({}) in {seconds:.2}s{cached}",
                    summary.intel_ranking
                );
            }
        }
        Ok(())
    })?;
    store.flush()?;
    if args.json {
        // The JSON object is complete: its time includes retrieval.
        summary.seconds = started.elapsed().as_secs_f64();
        summary.events_per_sec = if summary.seconds > 0.0 {
            summary.events as f64 / summary.seconds
        } else {
            0.0
        };
        println!("{}", serde_json::to_string(&summary)?);
    }
    // Exit 1 only when nothing could be read at all; a bad file among good ones is reported.
    Ok(if summary.files == 0 && !summary.file_errors.is_empty() {
        1
    } else {
        0
    })
}

/// `--follow`: the pipeline tails in a thread while this one runs detection over whatever it
/// stored, about once a second, with one engine state (windows, forest) throughout.
fn follow_with_detection(
    store: &Store,
    redactor: Option<Redactor>,
    config: &Config,
    opts: &IngestOptions,
    cancel: CancellationToken,
    first_new: u64,
) -> Result<IngestSummary> {
    let (feed_tx, mut feed) = crate::detect::feed::channel();
    let opts = IngestOptions {
        detect_feed: Some(feed_tx),
        ..opts.clone()
    };
    std::thread::scope(|scope| {
        let pipeline = scope.spawn(|| ingest::run(store, redactor, config, &opts, cancel));
        let mut detection: Option<Detection> = None;
        let mut seconds = 0.0;
        loop {
            let done = pipeline.is_finished();
            let t = std::time::Instant::now();
            match detection.as_mut() {
                None if store.event_count()? >= first_new => {
                    feed.discard();
                    detection =
                        Some(Detection::start(store, &config.detect, first_new, Mode::Fused)?.0);
                }
                None => feed.discard(),
                Some(d) => {
                    d.step_bounded(store, u64::MAX, Some(&mut feed))?;
                }
            }
            seconds += t.elapsed().as_secs_f64();
            if done {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1000));
        }
        let mut summary = pipeline
            .join()
            .map_err(|_| anyhow::anyhow!("ingest thread panicked"))??;
        // Whatever the pipeline stored after the last step.
        if let Some(d) = detection.as_mut() {
            d.step(store)?;
        } else if store.event_count()? >= first_new {
            detection = Some(Detection::start(store, &config.detect, first_new, Mode::Fused)?.0);
        }
        summary.alerts = detection.map_or(0, |d| d.alerts().len());
        summary.detect_seconds = seconds;
        Ok(summary)
    })
}

pub fn quarantine(config: &Config, data_dir: &Path, args: &QuarantineArgs) -> Result<u8> {
    let store = Store::open(data_dir, config.storage.cache_mb)?;
    let entries: Vec<_> = store.iter_quarantine().collect::<Result<_, _>>()?;
    let skip = entries.len().saturating_sub(args.limit);
    let mut out = std::io::stdout().lock();
    for q in &entries[skip..] {
        if args.json {
            writeln!(out, "{}", serde_json::to_string(q)?)?;
        } else {
            let at = match (q.line, q.offset) {
                (Some(line), _) => format!("line {line}"),
                (None, offset) => format!("byte {offset}"),
            };
            writeln!(
                out,
                "{} {}:{} {} — {}\n    {}",
                q.at,
                visible(&q.source),
                at,
                q.kind,
                visible(&q.detail),
                visible(&q.excerpt)
            )?;
        }
    }
    if !args.json {
        writeln!(out, "{} quarantined record(s) in total", entries.len())?;
    }
    Ok(0)
}
