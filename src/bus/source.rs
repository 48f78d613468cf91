//! A JetStream consumer feeding the engine's one writer.
//!
//! Exactly-once storage over at-least-once delivery: each batch's events and the stream
//! sequence they reach are one sled transaction (the checkpoint), and messages are
//! acknowledged only once that is durable. At every (re)start the durable consumer is
//! created afresh at the checkpoint + 1, so the store, not the server's ack state, says where
//! to resume; a delivery at or below the checkpoint is a redelivery and is only acked.
//! One engine owns a durable name: two engines sharing one would each store its half.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use async_nats::jetstream::{self, consumer, stream};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::BusStats;
use crate::config::bus::NatsSource;
use crate::domain::Format;
use crate::ingest::messages::Message;
use crate::pipeline::IngestHandle;
use crate::store::Store;

/// How long to wait for a message before looking at the consumer's backlog again.
const PULL_WAIT: Duration = Duration::from_millis(500);
/// How long a pull waits to fill up once its first message has come.
const LINGER: Duration = Duration::from_millis(20);
/// Threads one pull is parsed on (the machine has 2 cores; the writer and detection share them).
const PARSERS: usize = 2;
/// Pause before a consumer session starts again after an error.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// The checkpoint key of a stream's durable consumer.
pub fn checkpoint_key(stream: &str, durable: &str) -> Vec<u8> {
    format!("nats\0{stream}\0{durable}").into_bytes()
}

/// The stream position stored for a consumer (0: nothing stored yet).
pub fn stored_position(store: &Store, stream: &str, durable: &str) -> Result<u64> {
    Ok(store
        .checkpoint(&checkpoint_key(stream, durable))?
        .map_or(0, |c| c.records))
}

/// One consumer: a subject filter of a configured source.
#[derive(Debug, Clone)]
struct Share {
    source: NatsSource,
    filter: String,
    durable: String,
    format: Option<Format>,
}

/// Check the `[[ingest.nats]]` sources and split them into one consumer per subject filter.
fn shares(sources: &[NatsSource]) -> Result<Vec<Share>> {
    let mut out = Vec::new();
    for s in sources {
        let format =
            match s.format.as_str() {
                "auto" => None,
                f => Some(Format::parse(f).with_context(|| {
                    format!("[[ingest.nats]] {}: unknown format {f:?}", s.stream)
                })?),
            };
        if s.subjects.is_empty() {
            bail!("[[ingest.nats]] {}: subjects is empty", s.stream);
        }
        if s.batch == 0 {
            bail!("[[ingest.nats]] {}: batch must be at least 1", s.stream);
        }
        for (i, filter) in s.subjects.iter().enumerate() {
            let durable = if s.subjects.len() == 1 {
                s.durable.clone()
            } else {
                format!("{}-{i}", s.durable)
            };
            out.push(Share {
                source: s.clone(),
                filter: filter.clone(),
                durable,
                format,
            });
        }
    }
    Ok(out)
}

/// Start a consumer task per subject filter of every configured source.
pub fn start(
    sources: &[NatsSource],
    handle: IngestHandle,
    store: Arc<Store>,
    stats: Arc<BusStats>,
    cancel: CancellationToken,
) -> Result<Vec<tokio::task::JoinHandle<()>>> {
    let shares = shares(sources)?;
    Ok(shares
        .into_iter()
        .map(|share| {
            let (handle, store, stats, cancel) =
                (handle.clone(), store.clone(), stats.clone(), cancel.clone());
            tokio::spawn(async move { consume(share, handle, store, stats, cancel).await })
        })
        .collect())
}

/// Run sessions until cancelled; a failed session (server gone, leader moving, timeout)
/// starts again from the stored checkpoint.
async fn consume(
    share: Share,
    handle: IngestHandle,
    store: Arc<Store>,
    stats: Arc<BusStats>,
    cancel: CancellationToken,
) {
    let mut client = None;
    loop {
        let outcome = tokio::select! {
            _ = cancel.cancelled() => return,
            r = session(&share, &handle, &store, &stats, &cancel, &mut client) => r,
        };
        match outcome {
            Ok(()) => return,
            Err(e) => {
                stats.restarts.fetch_add(1, Ordering::Relaxed);
                eprintln!(
                    "autosec: NATS consumer {} on {}: {e:#} (starting again from the checkpoint)",
                    share.durable, share.source.stream
                );
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(RETRY_AFTER) => {}
        }
    }
}

async fn session(
    share: &Share,
    handle: &IngestHandle,
    store: &Store,
    stats: &BusStats,
    cancel: &CancellationToken,
    client: &mut Option<async_nats::Client>,
) -> Result<()> {
    let nats = match client {
        Some(c) => c.clone(),
        None => {
            let c = super::connect(
                &share.source.url,
                &share.source.credentials,
                &format!("autosec consumer {}", share.durable),
            )
            .await?;
            *client = Some(c.clone());
            c
        }
    };
    let js = jetstream::new(nats);
    let src = &share.source;
    let subjects = if src.stream_subjects.is_empty() {
        src.subjects.clone()
    } else {
        src.stream_subjects.clone()
    };
    let stream = js
        .get_or_create_stream(stream::Config {
            name: src.stream.clone(),
            subjects,
            storage: stream::StorageType::File,
            num_replicas: src.replicas.max(1),
            ..Default::default()
        })
        .await
        .with_context(|| format!("stream {}", src.stream))?;
    let key = checkpoint_key(&src.stream, &share.durable);
    let mut last = stored_position(store, &src.stream, &share.durable)?;
    // The store says where to resume: whatever the server remembers of this consumer goes.
    match stream.delete_consumer(&share.durable).await {
        Ok(_) => {}
        Err(e) if not_found(&e) => {}
        Err(e) => return Err(e).context("removing the previous consumer"),
    }
    let consumer = stream
        .create_consumer(consumer::pull::Config {
            durable_name: Some(share.durable.clone()),
            filter_subject: share.filter.clone(),
            deliver_policy: if last == 0 {
                consumer::DeliverPolicy::All
            } else {
                consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: last + 1,
                }
            },
            ack_policy: consumer::AckPolicy::All,
            ack_wait: Duration::from_secs(30),
            max_ack_pending: i64::try_from(src.batch * 4).unwrap_or(i64::MAX),
            ..Default::default()
        })
        .await
        .context("creating the durable consumer")?;
    // A continuous pull: the client asks for the next messages while a pull is being
    // stored (bounded by `max_ack_pending`), so fetching and storing overlap.
    let mut pulled = consumer
        .stream()
        .max_messages_per_batch(src.batch)
        .heartbeat(Duration::from_secs(5))
        .messages()
        .await
        .context("pull stream")?;
    while !cancel.is_cancelled() {
        let first = match tokio::time::timeout(PULL_WAIT, pulled.next()).await {
            Ok(Some(m)) => m.map_err(|e| anyhow::anyhow!("pull: {e}"))?,
            Ok(None) => bail!("the pull stream ended"),
            Err(_) => {
                let mut probe = consumer.clone();
                let info = probe.info().await.context("consumer info")?;
                stats.pending.store(info.num_pending, Ordering::Relaxed);
                continue;
            }
        };
        let mut delivered = vec![first];
        // More, up to a batch, for at most LINGER: each stored pull costs a flush, so a
        // backlog is taken in big pulls and a trickle is not held back for long.
        let until = tokio::time::Instant::now() + LINGER;
        while delivered.len() < src.batch {
            match tokio::time::timeout_at(until, pulled.next()).await {
                Ok(Some(m)) => delivered.push(m.map_err(|e| anyhow::anyhow!("pull: {e}"))?),
                Ok(None) => bail!("the pull stream ended"),
                Err(_) => break,
            }
        }
        let newest = delivered.last().context("empty pull")?;
        let (pending, _) = position(newest)?;
        let mut fresh = Vec::with_capacity(delivered.len());
        for m in &delivered {
            let (_, seq) = position(m)?;
            if seq <= last {
                stats.redelivered.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            fresh.push(Message {
                subject: m.subject.to_string(),
                seq,
                payload: m.payload.to_vec(),
            });
        }
        if let Some(top) = fresh.last().map(|m| m.seq) {
            let count = fresh.len() as u64;
            let t = std::time::Instant::now();
            store_in_order(handle, &src.stream, &key, fresh, share.format).await?;
            if std::env::var_os("AUTOSEC_TRACE_BUS").is_some() {
                // AUTOSEC_TRACE_BUS=1: pull sizes and their parse + store time.
                eprintln!("bus: {count} messages stored in {:?}", t.elapsed());
            }
            last = top;
            stats.messages.fetch_add(count, Ordering::Relaxed);
        }
        // Durable now: one ack covers the pull (AckPolicy::All).
        newest
            .ack()
            .await
            .map_err(|e| anyhow::anyhow!("ack: {e}"))?;
        stats.pending.store(pending, Ordering::Relaxed);
    }
    Ok(())
}

/// Parse a pull's messages on up to `PARSERS` threads (parsing, Sigma rules and redaction
/// are the costly part), then store the runs in stream order with their checkpoints.
async fn store_in_order(
    handle: &IngestHandle,
    stream: &str,
    key: &[u8],
    mut messages: Vec<Message>,
    format: Option<Format>,
) -> Result<()> {
    let part = messages.len().div_ceil(PARSERS).max(1);
    let mut parts = Vec::new();
    while !messages.is_empty() {
        let rest = messages.split_off(part.min(messages.len()));
        parts.push(std::mem::replace(&mut messages, rest));
    }
    let parsing: Vec<_> = parts
        .into_iter()
        .map(|part| {
            let (h, stream) = (handle.clone(), stream.to_string());
            tokio::task::spawn_blocking(move || h.parse_messages(&stream, &part, format))
        })
        .collect();
    let mut runs = Vec::new();
    for p in parsing {
        runs.extend(
            p.await?
                .map_err(|e| anyhow::anyhow!("parsing messages: {e}"))?,
        );
    }
    let (h, key) = (handle.clone(), key.to_vec());
    tokio::task::spawn_blocking(move || h.store_runs(&key, runs))
        .await?
        .map_err(|e| anyhow::anyhow!("storing messages: {e}"))?;
    Ok(())
}

/// The consumer did not exist (a first start).
fn not_found(e: &stream::ConsumerError) -> bool {
    matches!(
        e.kind(),
        stream::ConsumerErrorKind::JetStream(j)
            if j.error_code() == jetstream::ErrorCode::CONSUMER_NOT_FOUND
    )
}

/// A delivery's (pending count, stream sequence).
fn position(m: &jetstream::Message) -> Result<(u64, u64)> {
    let info = m.info().map_err(|e| anyhow::anyhow!("message info: {e}"))?;
    Ok((info.pending, info.stream_sequence))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::bus::{Credentials, Urls};

    fn source(subjects: &[&str], format: &str) -> NatsSource {
        NatsSource {
            url: Urls::One("nats://127.0.0.1:4222".into()),
            stream: "LOGS".into(),
            subjects: subjects.iter().map(|s| s.to_string()).collect(),
            stream_subjects: Vec::new(),
            replicas: 1,
            durable: "autosec".into(),
            format: format.into(),
            batch: 16,
            credentials: Credentials::default(),
        }
    }

    #[test]
    fn one_consumer_per_subject_filter() {
        let one = shares(&[source(&["logs.>"], "auto")]).expect("shares");
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].durable, "autosec");
        assert_eq!(one[0].format, None);
        let two = shares(&[source(&["logs.0.>", "logs.1.>"], "syslog")]).expect("shares");
        let names: Vec<_> = two.iter().map(|s| s.durable.as_str()).collect();
        assert_eq!(names, ["autosec-0", "autosec-1"]);
        assert_eq!(two[1].format, Some(Format::Syslog));
    }

    #[test]
    fn bad_sources_are_errors() {
        assert!(shares(&[source(&["logs.>"], "xml")]).is_err());
        assert!(shares(&[source(&[], "auto")]).is_err());
    }
}
