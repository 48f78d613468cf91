//! `autosec serve`: the engine headless, with the HTTP API on axum. The same pipeline as the
//! console (ingest of the configured sources, detection, RAG, explanations, response) plus
//! bodies POSTed to `/api/v1/logs/ingest`, stored through the one writer and acknowledged
//! once durable.

mod auth;
pub mod bus;
pub mod client;
mod detail;
pub mod hub;
mod metrics;
pub mod openapi;
pub mod remote;
mod routes;
mod serve;
pub mod stream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use auth::{Caller, RateLimiter, Tokens};
pub use hub::Hub;
pub use metrics::Metrics;
pub use serve::{ControlSocket, serve};

use crate::config::Config;
use crate::config::api::Scope;
use crate::pipeline::{Commands, IngestHandle};
use crate::store::Store;

/// What every handler shares.
pub struct ApiState {
    pub store: Arc<Store>,
    pub commands: Commands,
    pub ingest: Option<IngestHandle>,
    pub tokens: Tokens,
    pub hosts: Vec<String>,
    pub limiter: RateLimiter,
    pub ingest_slots: tokio::sync::Semaphore,
    pub metrics: Arc<Metrics>,
    /// The events and their mirror (status, alerts, actions, totals).
    pub hub: Arc<Hub>,
    /// Who owns the data dir (this process), as attached consoles show it.
    pub owner: String,
    /// The audit chain's key (for `GET /api/v1/audit?verify=true`).
    pub audit_key: Option<std::path::PathBuf>,
    pub timeout: Duration,
    /// Largest request body (`api.max_body_bytes`).
    pub max_body: usize,
    /// The control socket: reachable only by the data dir's owner (mode 0600), so its
    /// callers act as `local:$USER` with every scope and no token.
    pub local: bool,
}

impl ApiState {
    pub fn new(
        config: &Config,
        pipeline: &crate::pipeline::Pipeline,
        tokens: Tokens,
        bound: SocketAddr,
        metrics: Arc<Metrics>,
        hub: Arc<Hub>,
    ) -> ApiState {
        ApiState {
            store: pipeline.store.clone(),
            commands: pipeline.commands(),
            ingest: pipeline.ingest.clone(),
            tokens,
            hosts: auth::allowed_hosts(&config.api, bound),
            limiter: RateLimiter::new(config.api.requests_per_second, config.api.burst),
            ingest_slots: tokio::sync::Semaphore::new(config.api.max_concurrent_ingest.max(1)),
            metrics,
            hub,
            owner: owner_name("serve"),
            audit_key: config.audit_key_file().ok(),
            timeout: Duration::from_secs(config.api.request_timeout_secs.max(1)),
            max_body: config.api.max_body_bytes,
            local: false,
        }
    }
}

/// This process as attached consoles name it: `pid 123 (autosec serve)`.
pub fn owner_name(role: &str) -> String {
    format!("pid {} (autosec {role})", std::process::id())
}

/// The routes, each with the scope it needs (None: open). The OpenAPI test walks this list.
pub const ROUTES: [(Method, &str, Option<Scope>); 18] = [
    (Method::GET, "/health", None),
    (Method::GET, "/api/v1/openapi.json", None),
    (Method::POST, "/api/v1/logs/ingest", Some(Scope::Ingest)),
    (Method::GET, "/api/v1/threats", Some(Scope::Read)),
    (Method::GET, "/api/v1/threats/{id}", Some(Scope::Read)),
    (
        Method::GET,
        "/api/v1/threats/{id}/timeline",
        Some(Scope::Read),
    ),
    (
        Method::POST,
        "/api/v1/threats/{id}/ack",
        Some(Scope::Approve),
    ),
    (
        Method::POST,
        "/api/v1/threats/{id}/close",
        Some(Scope::Approve),
    ),
    (Method::POST, "/api/v1/analyze", Some(Scope::Read)),
    (Method::GET, "/api/v1/events/{id}", Some(Scope::Read)),
    (Method::GET, "/api/v1/actions", Some(Scope::Read)),
    (Method::GET, "/api/v1/actions/{id}", Some(Scope::Read)),
    (
        Method::POST,
        "/api/v1/actions/{id}/approve",
        Some(Scope::Approve),
    ),
    (
        Method::POST,
        "/api/v1/actions/{id}/reject",
        Some(Scope::Approve),
    ),
    (
        Method::POST,
        "/api/v1/actions/{id}/rollback",
        Some(Scope::Approve),
    ),
    (Method::GET, "/api/v1/audit", Some(Scope::Read)),
    (Method::GET, "/api/v1/stream", Some(Scope::Read)),
    (Method::GET, "/metrics", Some(Scope::Read)),
];

pub fn router(state: Arc<ApiState>, max_body: usize) -> Router {
    Router::new()
        .route("/health", get(routes::health))
        .route("/api/v1/openapi.json", get(routes::openapi))
        .route(INGEST_PATH, post(routes::ingest))
        .route("/api/v1/threats", get(routes::threats))
        .route("/api/v1/threats/{id}", get(detail::threat))
        .route("/api/v1/threats/{id}/timeline", get(detail::timeline))
        .route("/api/v1/threats/{id}/{op}", post(detail::triage))
        .route("/api/v1/analyze", post(routes::analyze))
        .route("/api/v1/events/{id}", get(detail::event))
        .route("/api/v1/actions", get(routes::actions))
        .route("/api/v1/actions/{id}", get(detail::action))
        .route("/api/v1/actions/{id}/{decision}", post(routes::decide))
        .route("/api/v1/audit", get(detail::audit))
        .route("/api/v1/stream", get(stream::stream))
        .route("/metrics", get(routes::metrics))
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// A JSON error body with a status.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "error": crate::sanitize::visible(&message.into()) });
    (status, axum::Json(body)).into_response()
}

fn scope_of(method: &Method, path: &str) -> Option<Option<Scope>> {
    ROUTES.iter().find_map(|(m, pattern, scope)| {
        (m == method && matches_pattern(pattern, path)).then_some(*scope)
    })
}

fn matches_pattern(pattern: &str, path: &str) -> bool {
    let (p, q): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    p.len() == q.len()
        && p.iter()
            .zip(&q)
            .all(|(a, b)| (a.starts_with('{') && !b.is_empty()) || a == b)
}

/// Every request: Host and Origin, rate limit, then the token and its scope, content type on
/// writes, and a time limit. Handlers see only requests that passed.
async fn guard(State(state): State<Arc<ApiState>>, mut req: Request, next: Next) -> Response {
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !state.local && !state.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return error(
            StatusCode::MISDIRECTED_REQUEST,
            format!("unexpected Host {host:?}"),
        );
    }
    if headers.contains_key(header::ORIGIN) {
        return error(
            StatusCode::FORBIDDEN,
            "requests from browsers (with an Origin header) are refused",
        );
    }
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    // The control socket's one caller is the owner's own user: no rate limit there.
    if !state.local
        && let Err(retry) = state.limiter.take(client)
    {
        state.metrics.count_limited();
        let mut r = error(StatusCode::TOO_MANY_REQUESTS, "rate limit: slow down");
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry));
        return r;
    }
    let method = req.method().clone();
    let Some(scope) = scope_of(&method, req.uri().path()) else {
        return error(
            StatusCode::NOT_FOUND,
            "no such endpoint (see /api/v1/openapi.json)",
        );
    };
    if state.local {
        let user = std::env::var("USER").unwrap_or_else(|_| "user".into());
        req.extensions_mut().insert(Caller {
            name: format!("local:{user}"),
            scopes: vec![Scope::Ingest, Scope::Read, Scope::Approve],
        });
    } else if let Some(scope) = scope {
        let token = bearer(req.headers());
        let Some(caller) = token.and_then(|t| state.tokens.check(t)).cloned() else {
            let mut r = error(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        };
        if !caller.scopes.contains(&scope) {
            return error(
                StatusCode::FORBIDDEN,
                format!("this token lacks the {scope:?} scope").to_lowercase(),
            );
        }
        req.extensions_mut().insert(caller);
    }
    if method == Method::POST && !json_content(req.headers()) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "POST bodies must be application/json or application/x-ndjson",
        );
    }
    // Ingest times out only while its body is read (in the handler): once the write has
    // started, the answer must say what was stored, so no timeout may answer for it.
    if method == Method::POST && req.uri().path() == INGEST_PATH {
        return next.run(req).await;
    }
    match tokio::time::timeout(state.timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            let mut r = error(StatusCode::SERVICE_UNAVAILABLE, "the request timed out");
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(5u64));
            r
        }
    }
}

/// The ingest endpoint (its timeout is its own: see `guard`).
pub const INGEST_PATH: &str = "/api/v1/logs/ingest";

/// Run a store read on the blocking pool; errors become 500s.
pub(crate) async fn read<T: Send + 'static>(
    s: &Arc<ApiState>,
    f: impl FnOnce(&crate::store::Store) -> anyhow::Result<T> + Send + 'static,
) -> Result<T, Response> {
    let store = s.store.clone();
    match tokio::task::spawn_blocking(move || f(&store)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}"))),
        Err(e) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

/// A JSON body that may be left out: empty (or only whitespace) means the defaults.
fn optional_body<T: Default + serde::de::DeserializeOwned>(
    body: &[u8],
) -> Result<T, serde_json::Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        serde_json::from_slice(body)
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn json_content(headers: &HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "application/json" | "application/x-ndjson" | "application/jsonl" | "application/ndjson"
    )
}
