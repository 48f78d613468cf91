//! `autosec console-bench DATASET` (hidden): the console's input-to-screen latency while the
//! live pipeline ingests a generated dataset at a fixed rate. Headless (a 200x60
//! `TestBackend`), real pipeline, real driver: a key is stamped when it is sent and measured
//! when the driver next asks for input, which it does only after drawing the key's frame.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use anyhow::Result;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use futures::Stream;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use crate::app::state::AppState;
use crate::app::update::Msg;
use crate::app::{keymap::Keymap, theme::Theme};
use crate::cli::ConsoleBenchArgs;
use crate::config::Config;
use crate::pipeline::demo::Demo;
use crate::pipeline::{Pipeline, PipelineOptions};
use crate::pipeline::{PipelineEvent, StatusPart};
use crate::ui::driver::{self, Wiring};

/// Keys whose latency is recorded when the driver comes back for more input.
struct TimedKeys {
    rx: UnboundedReceiver<(Instant, Msg)>,
    pending: Option<Instant>,
    samples: Arc<Mutex<Vec<Duration>>>,
}

impl Stream for TimedKeys {
    type Item = Msg;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Msg>> {
        if let Some(sent) = self.pending.take()
            && let Ok(mut s) = self.samples.lock()
        {
            s.push(sent.elapsed());
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some((sent, msg))) => {
                self.pending = Some(sent);
                Poll::Ready(Some(msg))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

pub fn run(config: &Config, args: &ConsoleBenchArgs) -> Result<u8> {
    let tmp = tempfile::tempdir()?;
    let mut config = config.clone();
    config.key_dir = Some(tmp.path().to_path_buf());
    eprintln!("loading {} …", args.logs.display());
    let replay = Demo::from_dir(&args.logs)?.prepare(&tmp.path().join("logs"))?;
    let total = replay.total_events();
    let baseline = replay.sent_events;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let opts = PipelineOptions {
            data_dir: tmp.path().join("data"),
            paths: vec![tmp.path().join("logs").display().to_string()],
            format: None,
            privacy: true,
            live: false,
            demo: true,
            stream_lines: config.ui.stream_lines,
            intel_cache: None,
            http_ingest: false,
        };
        let mut pipeline = Pipeline::start(&config, opts)?;
        let mut state = AppState::new(
            Theme::shipped("dark").map_err(anyhow::Error::msg)?,
            vec!["dark".into()],
            Keymap::shipped("default").map_err(anyhow::Error::msg)?,
            pipeline.status.clone(),
            config.ui.stream_lines,
            chrono::Utc::now(),
        );
        let wiring = Wiring {
            commands: pipeline.commands(),
            user_themes: None,
            no_color: false,
            max_fps: config.ui.max_fps,
        };
        let cancel = pipeline.cancel_token();
        let rate = args.events_per_sec as f64;
        let written = replay.written_counter();
        // The driver reads a copy of the pipeline's events; the stored count is kept aside so
        // a sampler can put it next to what the load generator has written.
        let stored = Arc::new(AtomicU64::new(0));
        let (fwd_tx, mut forwarded) = unbounded_channel();
        let mut upstream = std::mem::replace(&mut pipeline.events, unbounded_channel().1);
        let counted = stored.clone();
        let detection_status = Arc::new(Mutex::new(String::new()));
        let last_status = detection_status.clone();
        let forwarder = tokio::spawn(async move {
            while let Some(ev) = upstream.recv().await {
                match &ev {
                    PipelineEvent::Stored { stored, .. } => {
                        counted.fetch_add(*stored, Ordering::Relaxed);
                    }
                    PipelineEvent::Totals { events, .. } => counted.store(*events, Ordering::Relaxed),
                    PipelineEvent::Status(StatusPart::Detection(text)) => {
                        if let Ok(mut s) = last_status.lock() {
                            s.clone_from(text);
                        }
                    }
                    _ => {}
                }
                if fwd_tx.send(ev).is_err() {
                    return;
                }
            }
        });
        let load = Arc::new(Mutex::new(Vec::new()));
        let load_log = load.clone();
        let (load_stored, load_written) = (stored.clone(), written.clone());
        let sampler = tokio::spawn(async move {
            let started = Instant::now();
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let sample = LoadSample {
                    at: started.elapsed().as_secs_f64(),
                    written: load_written.load(Ordering::Relaxed),
                    stored: load_stored.load(Ordering::Relaxed),
                };
                if let Ok(mut l) = load_log.lock() {
                    l.push(sample);
                }
            }
        });
        let replay_task = tokio::task::spawn_blocking(move || replay.run(rate, &cancel, |_, _| {}));

        let samples = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = unbounded_channel();
        let keys = TimedKeys {
            rx,
            pending: None,
            samples: samples.clone(),
        };
        let seconds = args.seconds;
        let rss_samples = Arc::new(Mutex::new(Vec::new()));
        let rss_log = rss_samples.clone();
        let sender = tokio::spawn(async move {
            let started = Instant::now();
            let mut i = 0u64;
            while started.elapsed() < Duration::from_secs(seconds) {
                tokio::time::sleep(Duration::from_millis(100)).await;
                // Moves that redraw the busiest view: the dashboard's queue and stream.
                let code = match i % 4 {
                    0 | 1 => KeyCode::Down,
                    2 => KeyCode::Tab,
                    _ => KeyCode::Up,
                };
                i += 1;
                if i.is_multiple_of(20)
                    && let Ok(mut r) = rss_log.lock()
                {
                    r.push(status_mb("VmRSS:"));
                }
                let key = Msg::Key(KeyEvent::new(code, KeyModifiers::NONE));
                if tx.send((Instant::now(), key)).is_err() {
                    return;
                }
            }
            let _ = tx.send((Instant::now(), Msg::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE))));
        });
        let started = Instant::now();
        let mut terminal = Terminal::new(TestBackend::new(200, 60))?;
        driver::drive(&mut terminal, &mut state, keys, &mut forwarded, &wiring).await?;
        let elapsed = started.elapsed().as_secs_f64();
        sampler.abort();
        forwarder.abort();
        let _ = sender.await;
        pipeline.cancel_token().cancel();
        pipeline.shutdown().await;
        let _ = replay_task.await;

        let mut lat: Vec<Duration> = samples.lock().map(|s| s.clone()).unwrap_or_default();
        lat.sort();
        let q = |p: f64| lat.get(((lat.len().saturating_sub(1)) as f64 * p) as usize).copied().unwrap_or_default();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let rss = status_mb("VmHWM:");
        let rss_mb: Vec<u64> = rss_samples.lock().map(|r| r.clone()).unwrap_or_default();
        let samples: Vec<String> = rss_mb.iter().map(u64::to_string).collect();
        let live = state.metrics.events_total.saturating_sub(baseline);
        println!(
            "console under load: {} keys over {:.0}s; stored {} events after the {baseline}-event baseline: {:.0} ev/s of {} offered/s (dataset {total})",
            lat.len(),
            elapsed,
            live,
            live as f64 / elapsed,
            args.events_per_sec
        );
        println!(
            "input-to-screen latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            ms(q(0.5)),
            ms(q(0.99)),
            ms(q(1.0))
        );
        println!(
            "stream buffer {} lines (cap {}), {} alerts, {} actions, peak RSS {rss} MB (the load generator reads the dataset from disk as it goes)",
            state.stream.lines.len(),
            state.stream.capacity,
            state.alerts.len(),
            state.actions.len()
        );
        println!("RSS every 2 s (MB): {}", samples.join(" "));
        if let Ok(status) = detection_status.lock() {
            println!("detection: {status}");
        }
        // Flat means no growth once start-up (models, the forest's baseline) is behind.
        if let (Some(from), Some(last)) = (rss_mb.get(rss_mb.len() / 4), rss_mb.last()) {
            let peak = rss_mb[rss_mb.len() / 4..].iter().max().copied().unwrap_or(*last);
            println!(
                "RSS after the first quarter: {from} MB, peak {peak} MB, at the end {last} MB ({:+} MB)",
                *last as i64 - *from as i64
            );
        }
        // The start-up backlog (the baseline) drains during the first half: the second half
        // is where growth would be a leak rather than queues emptying.
        if let Some(half) = rss_mb.get(rss_mb.len() / 2) {
            let tail = &rss_mb[rss_mb.len() / 2..];
            let (lo, hi) = (tail.iter().min(), tail.iter().max());
            if let (Some(lo), Some(hi), Some(last)) = (lo, hi, rss_mb.last()) {
                println!(
                    "RSS over the second half: {half} MB at its start, {lo}–{hi} MB, {last} MB at the end ({:+} MB)",
                    *last as i64 - *half as i64
                );
            }
        }
        let load = load.lock().map(|l| l.clone()).unwrap_or_default();
        // Written but not yet stored: steady means the pipeline keeps up (what is left is
        // its latency), rising means it falls behind.
        let backlog: Vec<String> = load
            .iter()
            .step_by(2)
            .map(|s| format!("{:.0}", s.written.saturating_sub(s.stored) as f64 / 1000.0))
            .collect();
        println!("backlog every 2 s (k events): {}", backlog.join(" "));
        if let Some(steady) = steady_rates(&load) {
            println!(
                "steady state (second {:.0} to {:.0}): offered {:.0} ev/s, stored {:.0} ev/s; at the end {} written events not yet stored",
                steady.from, steady.to, steady.offered, steady.stored, steady.backlog
            );
        }
        Ok(0)
    })
}

/// What the load generator had written and the pipeline had stored, once a second.
#[derive(Debug, Clone, Copy)]
struct LoadSample {
    at: f64,
    written: u64,
    stored: u64,
}

struct Steady {
    from: f64,
    to: f64,
    offered: f64,
    stored: f64,
    backlog: u64,
}

/// Rates between the first quarter of the run (start-up and the baseline backlog behind it)
/// and the last sample: what the pipeline sustains, apart from a constant in-flight lag.
fn steady_rates(load: &[LoadSample]) -> Option<Steady> {
    let last = load.last()?;
    let first = load.iter().find(|s| s.at >= last.at / 4.0)?;
    let span = last.at - first.at;
    (span > 0.0).then(|| Steady {
        from: first.at,
        to: last.at,
        offered: last.written.saturating_sub(first.written) as f64 / span,
        stored: last.stored.saturating_sub(first.stored) as f64 / span,
        backlog: last.written.saturating_sub(last.stored),
    })
}

/// A memory figure of this process from /proc/self/status (Linux), in MB; 0 when unknown.
fn status_mb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}
