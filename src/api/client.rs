//! A client for the owner's control socket: HTTP/1.1 over a Unix socket, on hyper (which
//! reqwest cannot do). CLI commands use it when another process owns the data dir, and an
//! attached console reads the event stream through it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// The socket of the process that owns a data dir.
#[derive(Debug, Clone)]
pub struct Control {
    path: PathBuf,
}

/// A refusal from the owner: the HTTP status and its `error` text.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Refused {
    pub status: StatusCode,
    pub message: String,
}

impl Control {
    /// The data dir's control socket, if its owner serves one.
    pub fn of(data_dir: &Path) -> Option<Control> {
        let path = data_dir.join(crate::store::CONTROL_SOCKET);
        path.exists().then_some(Control { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn send(&self, method: Method, uri: &str, body: Option<&Value>) -> Result<Incoming> {
        let stream = tokio::net::UnixStream::connect(&self.path)
            .await
            .with_context(|| {
                format!(
                    "cannot reach the owner's control socket {} (is it still running?)",
                    self.path.display()
                )
            })?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("control socket handshake")?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(hyper::header::HOST, "localhost");
        if body.is_some() {
            req = req.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let response = sender
            .send_request(req.body(Full::new(bytes))?)
            .await
            .context("control socket request")?;
        let status = response.status();
        if status.is_success() {
            return Ok(response.into_body());
        }
        let body = response.into_body().collect().await?.to_bytes();
        let message = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        Err(Refused { status, message }.into())
    }

    /// A request answered with JSON, read as `T`.
    pub async fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        uri: &str,
        body: Option<&Value>,
    ) -> Result<T> {
        let body = self.send(method, uri, body).await?;
        let bytes = body.collect().await?.to_bytes();
        serde_json::from_slice(&bytes).map_err(|e| anyhow!("the owner's answer to {uri}: {e}"))
    }

    pub async fn get(&self, uri: &str) -> Result<Value> {
        self.call(Method::GET, uri, None).await
    }

    /// A GET read straight into a type (no intermediate `Value` for large answers).
    pub async fn get_as<T: serde::de::DeserializeOwned>(&self, uri: &str) -> Result<T> {
        self.call(Method::GET, uri, None).await
    }

    pub async fn post(&self, uri: &str, body: &Value) -> Result<Value> {
        self.call(Method::POST, uri, Some(body)).await
    }

    /// Open the event stream; read it with [`SseReader`].
    pub async fn stream(&self, uri: &str) -> Result<SseReader> {
        Ok(SseReader {
            body: self.send(Method::GET, uri, None).await?,
            buf: Vec::new(),
        })
    }
}

/// Server-Sent Events off a response body: `(event name, data)` per message.
pub struct SseReader {
    body: Incoming,
    buf: Vec<u8>,
}

impl SseReader {
    /// The next message, or None when the stream ended.
    pub async fn next(&mut self) -> Result<Option<(String, String)>> {
        loop {
            if let Some(end) = find_blank_line(&self.buf) {
                let block: Vec<u8> = self.buf.drain(..end.1).collect();
                let text = String::from_utf8_lossy(&block[..end.0]).into_owned();
                if let Some(message) = parse_block(&text) {
                    return Ok(Some(message));
                }
                continue; // a keep-alive comment
            }
            match self.body.frame().await {
                None => return Ok(None),
                Some(frame) => {
                    if let Ok(data) = frame?.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }
}

/// Where the first message ends: (its length, length including the blank line).
fn find_blank_line(buf: &[u8]) -> Option<(usize, usize)> {
    let lf = buf
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| (i, i + 2));
    let crlf = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// One SSE block: `event:` names it (default `message`), `data:` lines join with newlines.
fn parse_block(block: &str) -> Option<(String, String)> {
    let mut event = String::from("message");
    let mut data: Vec<&str> = Vec::new();
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            event = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    (!data.is_empty()).then(|| (event, data.join("\n")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_blocks_parse_and_comments_are_skipped() {
        assert_eq!(
            parse_block("event: hello\ndata: {\"a\":1}"),
            Some(("hello".into(), "{\"a\":1}".into()))
        );
        assert_eq!(
            parse_block("data: one\ndata: two"),
            Some(("message".into(), "one\ntwo".into()))
        );
        assert_eq!(parse_block(": keep-alive"), None);
        assert_eq!(find_blank_line(b"data: x\n\nrest"), Some((7, 9)));
        assert_eq!(find_blank_line(b"data: x\r\n\r\n"), Some((7, 11)));
        assert_eq!(find_blank_line(b"data: x\n"), None);
    }
}
