//! `autosec api-bench` (hidden): a load generator for the ingest endpoint — N connections
//! posting NDJSON batches as fast as answers come — reporting events/s, latency and status
//! codes. Written here because no HTTP load tool (oha, wrk) is installed on the build machine.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cli::ApiBenchArgs;

pub fn run(args: &ApiBenchArgs) -> Result<u8> {
    let token = match &args.token {
        Some(t) => t.clone(),
        None => std::env::var("AUTOSEC_API_TOKEN")
            .map_err(|_| anyhow::anyhow!("give --token or set AUTOSEC_API_TOKEN"))?,
    };
    let url = format!(
        "{}/api/v1/logs/ingest?source=bench",
        args.url.trim_end_matches('/')
    );
    let results = Arc::new(Mutex::new((
        Vec::<Duration>::new(),
        0u64,
        std::collections::BTreeMap::<u16, u64>::new(),
    )));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let mut threads = Vec::new();
    for c in 0..args.connections {
        let (url, token, results) = (url.clone(), token.clone(), results.clone());
        let batch = args.batch;
        threads.push(std::thread::spawn(move || {
            let http = reqwest::blocking::Client::new();
            let mut n = 0u64;
            while Instant::now() < deadline {
                let body = batch_body(c, n, batch);
                n += 1;
                let t = Instant::now();
                let status = match http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/x-ndjson")
                    .body(body)
                    .send()
                {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                };
                let took = t.elapsed();
                if let Ok(mut r) = results.lock() {
                    r.0.push(took);
                    if status == 200 {
                        r.1 += batch as u64;
                    }
                    *r.2.entry(status).or_default() += 1;
                }
                if status == 429 || status == 503 {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }));
    }
    for t in threads {
        let _ = t.join();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (mut lat, events, codes) = results
        .lock()
        .map(|r| r.clone())
        .map_err(|_| anyhow::anyhow!("poisoned"))?;
    lat.sort();
    let q = |p: f64| {
        lat.get(((lat.len().saturating_sub(1)) as f64 * p) as usize)
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
            * 1000.0
    };
    println!(
        "{} requests of {} events over {} connections in {elapsed:.1}s: {:.0} events/s acknowledged; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; status codes {codes:?}",
        lat.len(),
        args.batch,
        args.connections,
        events as f64 / elapsed,
        q(0.5),
        q(0.99),
        q(1.0)
    );
    Ok(0)
}

/// Realistic auth events (distinct per batch, so nothing is deduplicated away).
fn batch_body(conn: usize, n: u64, size: usize) -> String {
    let now = chrono::Utc::now().to_rfc3339();
    let mut s = String::with_capacity(size * 170);
    for i in 0..size {
        let ok = if i % 7 == 0 { "failed" } else { "success" };
        s.push_str(&format!(
            "{{\"timestamp\":\"{now}\",\"source_ip\":\"10.{}.{}.{}\",\"user_id\":\"user{}\",\"action\":\"login\",\"resource\":\"/api/login\",\"status\":\"{ok}\",\"metadata\":{{\"conn\":{conn},\"batch\":{n},\"i\":{i}}}}}\n",
            conn,
            (i / 250) % 250,
            i % 250,
            i % 400
        ));
    }
    s
}
