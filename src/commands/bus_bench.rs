//! `autosec bus-bench` (hidden): publishes a log file's lines to JetStream, one message per
//! line on `<prefix>.<host>.auth`, at a fixed rate or as fast as acknowledgements come, and
//! samples the engines' `/health` until they have stored every line: end-to-end events/s
//! (publisher included) and the consumers' lag over the run.

use std::io::BufRead;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use async_nats::jetstream;

use crate::cli::BusBenchArgs;

/// Acknowledgements awaited together (the publisher's window).
const WINDOW: usize = 2000;

pub fn run(args: &BusBenchArgs) -> Result<u8> {
    let lines: Vec<(String, Vec<u8>)> = std::io::BufReader::new(
        std::fs::File::open(&args.file).with_context(|| args.file.display().to_string())?,
    )
    .lines()
    .map_while(Result::ok)
    .map(|l| {
        let host = l
            .split_whitespace()
            .nth(3)
            .unwrap_or("unknown")
            .replace(['.', '*', '>'], "_");
        (format!("{}.{host}.auth", args.prefix), l.into_bytes())
    })
    .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(bench(args, lines))
}

async fn bench(args: &BusBenchArgs, lines: Vec<(String, Vec<u8>)>) -> Result<u8> {
    let http = reqwest::Client::new();
    let base = stored_sum(&http, &args.health).await.0;
    let client = async_nats::connect(args.nats.as_str()).await?;
    let js = jetstream::new(client);
    // As an engine would create it (the drain measurement publishes before any engine runs).
    js.get_or_create_stream(jetstream::stream::Config {
        name: "LOGS".into(),
        subjects: vec![format!("{}.>", args.prefix)],
        storage: jetstream::stream::StorageType::File,
        ..Default::default()
    })
    .await?;
    let total = lines.len() as u64;
    let expect = base + args.expect.unwrap_or(total);
    let started = Instant::now();
    let publisher = tokio::spawn(publish(js, lines, args.rate));
    let mut lag = Vec::new();
    let mut published_at = None;
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (stored, pending) = stored_sum(&http, &args.health).await;
        lag.push(pending);
        if published_at.is_none() && publisher.is_finished() {
            published_at = Some(started.elapsed());
        }
        if stored >= expect || started.elapsed() > Duration::from_secs(600) {
            break;
        }
    }
    let publish_secs = publisher.await??;
    let secs = started.elapsed().as_secs_f64();
    lag.sort_unstable();
    let q = |p: f64| {
        lag.get(((lag.len() - 1) as f64 * p) as usize)
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{}",
        serde_json::json!({
            "lines": total,
            "offered_per_sec": args.rate,
            "published_per_sec": (total as f64 / publish_secs).round(),
            "stored_per_sec_end_to_end": (total as f64 / secs).round(),
            "seconds": (secs * 100.0).round() / 100.0,
            "engines": args.health.len(),
            "pending_messages_p50": q(0.5),
            "pending_messages_p95": q(0.95),
            "pending_messages_max": q(1.0),
        })
    );
    Ok(0)
}

/// Publish every line, keeping up to `WINDOW` acknowledgements outstanding; with a rate,
/// pace by the clock. Returns the seconds publishing took.
async fn publish(js: jetstream::Context, lines: Vec<(String, Vec<u8>)>, rate: u64) -> Result<f64> {
    let started = Instant::now();
    for (i, chunk) in lines.chunks(WINDOW).enumerate() {
        let mut acks = Vec::with_capacity(chunk.len());
        for (j, (subject, body)) in chunk.iter().enumerate() {
            if rate > 0 {
                let n = (i * WINDOW + j) as f64;
                let due = started + Duration::from_secs_f64(n / rate as f64);
                tokio::time::sleep_until(due.into()).await;
            }
            acks.push(js.publish(subject.clone(), body.clone().into()).await?);
        }
        for a in acks {
            a.await?;
        }
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Summed stored events and NATS pending messages over the engines.
async fn stored_sum(http: &reqwest::Client, health: &[String]) -> (u64, u64) {
    let mut out = (0, 0);
    for url in health {
        if let Ok(r) = http.get(url).send().await
            && let Ok(v) = r.json::<serde_json::Value>().await
        {
            out.0 += v["storage"]["events"].as_u64().unwrap_or(0);
            out.1 += v["nats"]["pending_messages"].as_u64().unwrap_or(0);
        }
    }
    out
}
