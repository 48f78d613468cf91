//! `autosec intel bench`: the retrieval figures README reports — embedding throughput (batch
//! 32), HNSW build time, search latency p50/p99 at k=5, and HNSW recall@10 against an exact
//! scan of the same vectors. A benchmark command, not a test: it asserts nothing.

use std::collections::HashSet;
use std::time::Instant;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::eval::rag::Query;
use crate::intel::{Intel, SearchOptions};

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub model: String,
    pub documents: usize,
    pub passages_indexed: usize,
    pub embed_sentences: usize,
    pub embed_sentences_per_s: f64,
    /// Short, alert-length sentences (the query set), batch 32.
    pub embed_short_sentences_per_s: f64,
    pub embed_query_ms_p50: f64,
    pub index_build_s: f64,
    pub ann_search_ms: Percentiles,
    pub exact_search_ms: Percentiles,
    pub full_search_ms: Percentiles,
    pub recall_queries: usize,
    pub hnsw_recall_at_10: f64,
}

#[derive(Debug, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p99: f64,
    pub samples: usize,
}

fn percentiles(mut ms: Vec<f64>) -> Percentiles {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    Percentiles {
        p50: at(0.5),
        p99: at(0.99),
        samples: ms.len(),
    }
}

pub fn run(intel: &Intel, queries: &[Query], sentences: usize) -> Result<BenchReport> {
    let Some(embedder) = intel.model().embedder() else {
        bail!("intel bench needs the embedding model (run models/fetch)");
    };
    // Embedding throughput over real corpus passages, batch 32.
    let passages: Vec<String> = intel
        .docs()
        .iter()
        .flat_map(|d| d.passages())
        .take(sentences)
        .collect();
    let texts: Vec<&str> = passages.iter().map(String::as_str).collect();
    let started = Instant::now();
    embedder.embed_all(&texts, |_| {})?;
    let embed_sentences_per_s = texts.len() as f64 / started.elapsed().as_secs_f64();

    let short: Vec<&str> = queries.iter().map(|q| q.query.as_str()).collect();
    let started = Instant::now();
    embedder.embed_all(&short, |_| {})?;
    let embed_short_sentences_per_s = short.len() as f64 / started.elapsed().as_secs_f64();

    // Query vectors: the query set, plus every document title (held-out phrasing).
    let mut query_texts: Vec<String> = queries.iter().map(|q| q.query.clone()).collect();
    query_texts.extend(intel.docs().iter().map(|d| d.title.clone()));
    let mut embed_ms = Vec::new();
    let mut vectors = Vec::with_capacity(query_texts.len());
    for q in &query_texts {
        let t = Instant::now();
        vectors.push(embedder.embed_one(q)?);
        embed_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let embed_query_ms_p50 = percentiles(embed_ms).p50;

    // Index build time: a fresh build of the current vectors (not installed).
    let build = intel
        .spawn_fresh_build()
        .ok_or_else(|| anyhow::anyhow!("no model"))?
        .join()
        .map_err(|_| anyhow::anyhow!("index build panicked"))?;
    let index_build_s = build.build_seconds;
    let passages_indexed = build.len();

    let (mut ann, mut exact, mut hits, mut total) = (Vec::new(), Vec::new(), 0usize, 0usize);
    for v in &vectors {
        let t = Instant::now();
        let found = intel.nearest_passages(v, 10);
        ann.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let truth = intel.exact_passages(v, 10);
        exact.push(t.elapsed().as_secs_f64() * 1e3);
        let truth: HashSet<_> = truth.into_iter().map(|(k, _)| k).collect();
        total += truth.len();
        hits += found.iter().filter(|(k, _)| truth.contains(k)).count();
    }

    // End to end, as `intel search -k 5` runs it: embed the query, HNSW + BM25, fuse.
    let mut full = Vec::new();
    for q in queries {
        let t = Instant::now();
        intel.search(
            &q.query,
            &SearchOptions {
                k: 5,
                ranking: None,
                kind: None,
            },
        )?;
        full.push(t.elapsed().as_secs_f64() * 1e3);
    }

    Ok(BenchReport {
        model: embedder.model_id().to_string(),
        documents: intel.docs().len(),
        passages_indexed,
        embed_sentences: texts.len(),
        embed_sentences_per_s,
        embed_short_sentences_per_s,
        embed_query_ms_p50,
        index_build_s,
        ann_search_ms: percentiles(ann),
        exact_search_ms: percentiles(exact),
        full_search_ms: percentiles(full),
        recall_queries: vectors.len(),
        hnsw_recall_at_10: hits as f64 / total.max(1) as f64,
    })
}

pub fn print(r: &BenchReport) {
    println!(
        "model {}; {} documents, {} passages in the HNSW index",
        r.model, r.documents, r.passages_indexed
    );
    println!(
        "embedding at batch 32: {:.1} corpus passages/s ({} passages, ~150 word pieces each), {:.1} short sentences/s (the query set); one query alone {:.1} ms (p50)",
        r.embed_sentences_per_s,
        r.embed_sentences,
        r.embed_short_sentences_per_s,
        r.embed_query_ms_p50
    );
    println!("index build: {:.2} s", r.index_build_s);
    let line = |name: &str, p: &Percentiles| {
        println!(
            "{name:<34} p50 {:>8.3} ms  p99 {:>8.3} ms  ({} samples)",
            p.p50, p.p99, p.samples
        );
    };
    line("vector search, HNSW (k=10)", &r.ann_search_ms);
    line("vector search, exact scan (k=10)", &r.exact_search_ms);
    line("intel search k=5 (embed + fuse)", &r.full_search_ms);
    println!(
        "HNSW recall@10 vs exact: {:.4} over {} queries",
        r.hnsw_recall_at_10, r.recall_queries
    );
}
