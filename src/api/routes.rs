//! The handlers. Reads go to sled directly (safe beside the writer); decisions and
//! explanations go through the engine task, which owns the responder and the audit chain.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ApiState, Caller, error};
use crate::domain::{ActionState, AlertStatus, Format, Severity};
use crate::pipeline::{EngineCommand, Refusal};

pub async fn health(State(s): State<Arc<ApiState>>) -> Response {
    let events = s.store.event_count();
    let (status, idle, lag) = s.hub.with(|m| {
        let idle = m.last_stored.map(|t| t.elapsed().as_secs_f64());
        (m.status.clone(), idle, m.lag())
    });
    let ok = events.is_ok();
    let body = json!({
        "status": if ok { "ok" } else { "degraded" },
        "owner": s.owner,
        "storage": { "ok": ok, "events": events.unwrap_or(0) },
        "models": { "embedding": status.embedding, "llm": status.llm },
        "detection": status.detection,
        "respond": { "mode": if status.live { "live" } else { "sandbox" } },
        "privacy": status.privacy,
        "pipeline": { "seconds_since_last_stored": idle, "detection_lag_events": lag },
        "nats": s.metrics.bus.snapshot(),
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

pub async fn openapi() -> Response {
    Json(super::openapi::document()).into_response()
}

#[derive(Deserialize)]
pub struct IngestQuery {
    /// Force a format; default: detected from the body.
    format: Option<String>,
    /// Names the source in events' origin (default `http`).
    source: Option<String>,
}

pub async fn ingest(
    State(s): State<Arc<ApiState>>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<IngestQuery>,
    body: axum::body::Body,
) -> Response {
    let Some(handle) = s.ingest.clone() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "ingest is not enabled");
    };
    let format = match q.format.as_deref() {
        None | Some("auto") => None,
        Some(name) => match Format::parse(name) {
            Some(f) => Some(f),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("format {name:?}: use auto, cloudtrail, jsonl, syslog or csv"),
                );
            }
        },
    };
    let body = match tokio::time::timeout(s.timeout, axum::body::to_bytes(body, s.max_body)).await {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("cannot read the body (limit {} bytes): {e}", s.max_body),
            );
        }
        Err(_) => {
            let mut r = error(
                StatusCode::REQUEST_TIMEOUT,
                "the body did not arrive in time",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(5u64));
            return r;
        }
    };
    if body.is_empty() {
        return error(StatusCode::BAD_REQUEST, "empty body");
    }
    // Too many bodies in flight: say so at once rather than queue without bound.
    let Ok(_slot) = s.ingest_slots.try_acquire() else {
        let mut r = error(
            StatusCode::SERVICE_UNAVAILABLE,
            "ingest is busy: retry shortly",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(1u64));
        return r;
    };
    let source = format!(
        "http:{}",
        q.source
            .as_deref()
            .unwrap_or(caller.name.as_str())
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(64)
            .collect::<String>()
    );
    let result = tokio::task::spawn_blocking(move || handle.ingest(&source, &body, format)).await;
    match result {
        Ok(Ok(stored)) => {
            s.metrics
                .http_events
                .fetch_add(stored.events, std::sync::atomic::Ordering::Relaxed);
            s.metrics.http_rejected.fetch_add(
                stored.rejected.len() as u64,
                std::sync::atomic::Ordering::Relaxed,
            );
            let rejections: Vec<Value> = stored
                .rejected
                .iter()
                .take(100)
                .map(|(reason, detail, line)| {
                    json!({ "reason": reason, "detail": crate::sanitize::visible(detail), "line": line })
                })
                .collect();
            let mut answer = json!({
                "accepted": stored.events,
                "rejected": stored.rejected.len(),
                "rejections": rejections,
                "first_event_id": stored.first_id,
                "durable": true,
            });
            let Some(failure) = stored.failed else {
                return Json(answer).into_response();
            };
            // Part of the body is stored (durably) and the rest is not: say where it stopped,
            // so a client resends only the rest and nothing is stored twice.
            answer["error"] = json!(crate::sanitize::visible(&failure));
            answer["records_stored"] = json!(stored.records);
            answer["resend_from_record"] = json!(stored.records + 1);
            (StatusCode::SERVICE_UNAVAILABLE, Json(answer)).into_response()
        }
        Ok(Err(e)) if e.contains("writer") => error(StatusCode::SERVICE_UNAVAILABLE, e),
        Ok(Err(e)) => error(StatusCode::BAD_REQUEST, e),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("ingest task failed: {e}"),
        ),
    }
}

#[derive(Deserialize)]
pub struct ThreatQuery {
    status: Option<AlertStatus>,
    /// Minimum severity.
    severity: Option<Severity>,
    since: Option<DateTime<Utc>>,
    limit: Option<usize>,
    offset: Option<usize>,
    /// Evidence refs listed per alert (default 20).
    evidence: Option<usize>,
}

/// One listed alert: its evidence cut to what was asked for, and how many refs that left.
#[derive(Serialize)]
struct Listed {
    #[serde(flatten)]
    alert: crate::domain::Alert,
    evidence_listed: usize,
}

#[derive(Serialize)]
struct ThreatPage {
    total: usize,
    offset: usize,
    next_offset: Option<usize>,
    alerts: Vec<Listed>,
}

pub async fn threats(State(s): State<Arc<ApiState>>, Query(q): Query<ThreatQuery>) -> Response {
    let store = s.store.clone();
    // Reading, filtering and encoding run on the blocking pool: a page with every evidence ref
    // is tens of MB and must not hold up an async worker.
    let page = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
        let mut matching: Vec<_> = crate::store::stored_alerts(&store)?
            .into_iter()
            .filter(|a| q.status.is_none_or(|st| a.status == st))
            .filter(|a| q.severity.is_none_or(|sev| a.severity >= sev))
            .filter(|a| q.since.is_none_or(|t| a.last_seen >= t))
            .collect();
        matching.sort_by_key(|a| std::cmp::Reverse(a.alert_id));
        let total = matching.len();
        let limit = q.limit.unwrap_or(100).clamp(1, 1000);
        let offset = q.offset.unwrap_or(0);
        let listed = q.evidence.unwrap_or(20).min(100_000);
        let alerts: Vec<Listed> = matching
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|mut alert| {
                alert.evidence.truncate(listed);
                let evidence_listed = alert.evidence.len();
                Listed {
                    alert,
                    evidence_listed,
                }
            })
            .collect();
        let next_offset = (offset + alerts.len() < total).then_some(offset + alerts.len());
        Ok(serde_json::to_vec(&ThreatPage {
            total,
            offset,
            next_offset,
            alerts,
        })?)
    })
    .await;
    match page {
        Ok(Ok(body)) => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[derive(Deserialize)]
pub struct AnalyzeBody {
    alert_id: u64,
    #[serde(default)]
    regenerate: bool,
}

#[derive(Deserialize)]
pub struct AnalyzeQuery {
    /// Wait up to this many seconds for the model's text.
    wait: Option<u64>,
}

pub async fn analyze(
    State(s): State<Arc<ApiState>>,
    Query(q): Query<AnalyzeQuery>,
    body: Bytes,
) -> Response {
    let req: AnalyzeBody = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("expected {{\"alert_id\": N}}: {e}"),
            );
        }
    };
    let reply = s
        .commands
        .ask(EngineCommand::Explain {
            alert_id: req.alert_id,
            regenerate: req.regenerate,
        })
        .await;
    let mut explanation = match reply {
        Ok(Ok(v)) => v,
        Ok(Err(e @ Refusal::NoAlert(_))) => return error(StatusCode::NOT_FOUND, e.to_string()),
        Ok(Err(e)) => return error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    };
    let wait = Duration::from_secs(q.wait.unwrap_or(0).min(120));
    let started = Instant::now();
    while explanation.get("generated").is_none_or(Value::is_null) && started.elapsed() < wait {
        tokio::time::sleep(Duration::from_millis(250)).await;
        if let Ok(Some(e)) = crate::explain::load(&s.store, req.alert_id)
            && e.generated.is_some()
        {
            explanation = serde_json::to_value(&e).unwrap_or(explanation);
        }
    }
    let llm = s.hub.with(|m| m.status.llm.clone());
    let model = if explanation.get("generated").is_some_and(|g| !g.is_null()) {
        "done"
    } else if llm.starts_with("template") {
        "unavailable"
    } else {
        "pending"
    };
    Json(json!({ "explanation": explanation, "model": { "backend": llm, "status": model } }))
        .into_response()
}

#[derive(Deserialize)]
pub struct ActionQuery {
    state: Option<ActionState>,
}

pub async fn actions(State(s): State<Arc<ApiState>>, Query(q): Query<ActionQuery>) -> Response {
    match super::read(&s, crate::respond::stored_actions).await {
        Ok(list) => {
            let list: Vec<_> = list
                .into_iter()
                .filter(|a| q.state.is_none_or(|st| a.state == st))
                .collect();
            Json(json!({ "total": list.len(), "actions": list })).into_response()
        }
        Err(r) => r,
    }
}

#[derive(Deserialize, Default)]
pub struct DecisionBody {
    reason: Option<String>,
    #[serde(default)]
    confirm_closed: bool,
    /// Who decided, as the CLI's `--by` or the console's operator names them. Honoured only
    /// on the control socket (its callers are the owner's user); a token's name otherwise.
    by: Option<String>,
}

pub async fn decide(
    State(s): State<Arc<ApiState>>,
    Extension(caller): Extension<Caller>,
    Path((id, decision)): Path<(u64, String)>,
    body: Bytes,
) -> Response {
    let req: DecisionBody = match super::optional_body(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad decision body: {e}")),
    };
    let by = match req.by.filter(|b| s.local && !b.trim().is_empty()) {
        Some(b) => crate::sanitize::visible(b.trim())
            .chars()
            .take(64)
            .collect(),
        None => caller.name.clone(),
    };
    let cmd = match decision.as_str() {
        "approve" => EngineCommand::Approve {
            action_id: id,
            by,
            reason: req.reason,
            confirm_closed: req.confirm_closed,
        },
        "reject" => EngineCommand::Reject {
            action_id: id,
            by,
            reason: req.reason,
        },
        "rollback" => EngineCommand::Rollback { action_id: id, by },
        _ => {
            return error(
                StatusCode::NOT_FOUND,
                "decisions: approve, reject, rollback",
            );
        }
    };
    match s.commands.ask(cmd).await {
        Ok(Ok(action)) => Json(action).into_response(),
        Ok(Err(e @ Refusal::NoAction(_))) => error(StatusCode::NOT_FOUND, e.to_string()),
        Ok(Err(e)) => error(StatusCode::CONFLICT, e.to_string()),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

pub async fn metrics(State(s): State<Arc<ApiState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(&s.hub),
    )
        .into_response()
}
