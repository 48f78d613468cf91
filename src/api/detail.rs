//! One object by id (an alert with its explanation, its timeline, an event, an action), alert
//! triage (acknowledge, close) and the audit chain. What the CLI and an attached console need
//! beyond the list endpoints.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiState, error};
use crate::domain::CloseReason;
use crate::pipeline::EngineCommand;

/// Evidence refs listed with one alert (the timeline resolves them).
const EVIDENCE_LISTED: usize = 1000;

/// `GET /api/v1/threats/{id}`: the alert (first evidence refs) and its stored explanation.
pub async fn threat(State(s): State<Arc<ApiState>>, Path(id): Path<u64>) -> Response {
    let found = super::read(&s, move |store| {
        let alert = crate::store::stored_alert(store, id)?;
        let explanation = crate::explain::load(store, id)?;
        Ok(alert.map(|a| (a, explanation)))
    })
    .await;
    match found {
        Err(r) => r,
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no alert {id}")),
        Ok(Some((mut alert, explanation))) => {
            let refs = alert.evidence.len();
            alert.evidence.truncate(EVIDENCE_LISTED);
            let mut v = serde_json::to_value(&alert).unwrap_or_default();
            v["evidence_listed"] = json!(refs.min(EVIDENCE_LISTED));
            Json(json!({ "alert": v, "explanation": explanation })).into_response()
        }
    }
}

/// `GET /api/v1/threats/{id}/timeline`: evidence counts over time and the first events.
pub async fn timeline(State(s): State<Arc<ApiState>>, Path(id): Path<u64>) -> Response {
    match super::read(&s, move |store| crate::pipeline::timeline_of(store, id)).await {
        Err(r) => r,
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no alert {id}")),
        Ok(Some(t)) => Json(t).into_response(),
    }
}

#[derive(Deserialize, Default)]
pub struct TriageBody {
    reason: Option<CloseReason>,
}

/// `POST /api/v1/threats/{id}/ack|close`: through the engine, which tells every console.
pub async fn triage(
    State(s): State<Arc<ApiState>>,
    Path((id, op)): Path<(u64, String)>,
    body: Bytes,
) -> Response {
    let req: TriageBody = match super::optional_body(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "expected {{\"reason\": \"true_positive|false_positive|benign|duplicate\"}}: {e}"
                ),
            );
        }
    };
    let cmd = match (op.as_str(), req.reason) {
        ("ack", _) => EngineCommand::Acknowledge { alert_id: id },
        ("close", Some(reason)) => EngineCommand::Close {
            alert_id: id,
            reason,
        },
        ("close", None) => {
            return error(
                StatusCode::BAD_REQUEST,
                "closing needs a reason: true_positive, false_positive, benign or duplicate",
            );
        }
        _ => return error(StatusCode::NOT_FOUND, "alert operations: ack, close"),
    };
    match s.commands.ask(cmd).await {
        Ok(Ok(alert)) => Json(alert).into_response(),
        Ok(Err(e @ crate::pipeline::Refusal::NoAlert(_))) => {
            error(StatusCode::NOT_FOUND, e.to_string())
        }
        Ok(Err(e)) => error(StatusCode::CONFLICT, e.to_string()),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// `GET /api/v1/events/{id}`: one stored event (pseudonymised when privacy is on).
pub async fn event(State(s): State<Arc<ApiState>>, Path(id): Path<u64>) -> Response {
    match super::read(&s, move |store| Ok(store.event_by_id(id)?)).await {
        Err(r) => r,
        Ok(None) => error(StatusCode::NOT_FOUND, format!("event {id} is not stored")),
        Ok(Some(e)) => Json(e).into_response(),
    }
}

/// `GET /api/v1/actions/{id}`.
pub async fn action(State(s): State<Arc<ApiState>>, Path(id): Path<u64>) -> Response {
    match super::read(&s, move |store| crate::respond::stored_action(store, id)).await {
        Err(r) => r,
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no action {id}")),
        Ok(Some(a)) => Json(a).into_response(),
    }
}

#[derive(Deserialize)]
pub struct AuditQuery {
    /// Records after this sequence number (paging).
    after: Option<u64>,
    limit: Option<usize>,
    /// Check the whole chain's MACs too.
    #[serde(default)]
    verify: bool,
}

/// `GET /api/v1/audit`: records in order, paged by sequence number, and the chain check.
pub async fn audit(State(s): State<Arc<ApiState>>, Query(q): Query<AuditQuery>) -> Response {
    let Some(key) = s.audit_key.clone() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the audit key file is not configured",
        );
    };
    let limit = q.limit.unwrap_or(1000).clamp(1, 10_000);
    let after = q.after.unwrap_or(0);
    let listed = super::read(&s, move |store| {
        let audit = crate::respond::audit::Audit::open(store.audit.clone(), &key, store.dir())?;
        let report = if q.verify {
            Some(audit.verify()?)
        } else {
            None
        };
        let mut records = Vec::new();
        for item in store.audit.range((after + 1).to_be_bytes()..).take(limit) {
            let (_, v) = item?;
            records.push(serde_json::from_slice::<Value>(&v)?);
        }
        Ok((records, report))
    })
    .await;
    match listed {
        Err(r) => r,
        Ok((records, report)) => {
            let next = (records.len() == limit)
                .then(|| records.last().and_then(|r| r["seq"].as_u64()))
                .flatten();
            Json(json!({ "records": records, "next_after": next, "verify": report }))
                .into_response()
        }
    }
}
