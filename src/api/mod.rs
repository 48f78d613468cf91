//! `autosec serve`: the engine headless, with the HTTP API on axum. The same pipeline as the
//! console (ingest of the configured sources, detection, RAG, explanations, response) plus
//! bodies POSTed to `/api/v1/logs/ingest`, stored through the one writer and acknowledged
//! once durable.

mod auth;
mod metrics;
pub mod openapi;
mod routes;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use auth::{Caller, RateLimiter, Tokens};
pub use metrics::Metrics;

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
    pub timeout: Duration,
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
            timeout: Duration::from_secs(config.api.request_timeout_secs.max(1)),
            local: false,
        }
    }
}

/// The routes, each with the scope it needs (None: open). The OpenAPI test walks this list.
pub const ROUTES: [(Method, &str, Option<Scope>); 10] = [
    (Method::GET, "/health", None),
    (Method::GET, "/api/v1/openapi.json", None),
    (Method::POST, "/api/v1/logs/ingest", Some(Scope::Ingest)),
    (Method::GET, "/api/v1/threats", Some(Scope::Read)),
    (Method::POST, "/api/v1/analyze", Some(Scope::Read)),
    (Method::GET, "/api/v1/actions", Some(Scope::Read)),
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
    (Method::GET, "/metrics", Some(Scope::Read)),
];

pub fn router(state: Arc<ApiState>, max_body: usize) -> Router {
    Router::new()
        .route("/health", get(routes::health))
        .route("/api/v1/openapi.json", get(routes::openapi))
        .route("/api/v1/logs/ingest", post(routes::ingest))
        .route("/api/v1/threats", get(routes::threats))
        .route("/api/v1/analyze", post(routes::analyze))
        .route("/api/v1/actions", get(routes::actions))
        .route("/api/v1/actions/{id}/{decision}", post(routes::decide))
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
    if let Err(retry) = state.limiter.take(client) {
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

/// `autosec serve`: run until SIGTERM or Ctrl-C, then stop accepting, finish in-flight
/// requests, stop the pipeline (which stores what it read) and flush.
pub fn serve(
    config: &Config,
    data_dir: &std::path::Path,
    privacy: bool,
    live: bool,
    listen: Option<&str>,
) -> Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let addr: SocketAddr = listen
            .unwrap_or(&config.api.listen)
            .parse()
            .with_context(|| {
                format!(
                    "--listen {:?} is not an address:port",
                    listen.unwrap_or(&config.api.listen)
                )
            })?;
        let config_dir = crate::config::config_dir()?;
        let tokens = Tokens::load(&config.api, &config_dir)?;
        let paths: Vec<String> = config
            .ingest
            .sources
            .iter()
            .map(|s| s.path.clone())
            .collect();
        let mut pipeline = crate::pipeline::Pipeline::start(
            config,
            crate::pipeline::PipelineOptions {
                data_dir: data_dir.to_path_buf(),
                paths,
                format: None,
                privacy,
                live,
                demo: false,
                stream_lines: 1,
                intel_cache: None,
                http_ingest: true,
            },
        )?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let bound = listener.local_addr()?;
        let metrics = Arc::new(Metrics::default());
        let events = std::mem::replace(
            &mut pipeline.events,
            tokio::sync::mpsc::unbounded_channel().1,
        );
        let consumer = tokio::spawn(metrics::consume(events, metrics.clone()));
        let local_state = Arc::new(ApiState {
            local: true,
            ..ApiState::new(
                config,
                &pipeline,
                Tokens::from_pairs(Vec::new()),
                bound,
                metrics.clone(),
            )
        });
        let state = Arc::new(ApiState::new(config, &pipeline, tokens, bound, metrics));
        let socket = data_dir.join(crate::store::CONTROL_SOCKET);
        let uds = bind_socket(&socket)?;
        eprintln!(
            "autosec serve: control socket {} (mode 0600; no token)",
            socket.display()
        );
        eprintln!(
            "autosec serve: listening on http://{bound} (token: {}; see /api/v1/openapi.json)",
            if std::env::var_os("AUTOSEC_API_TOKEN").is_some() {
                "AUTOSEC_API_TOKEN".to_string()
            } else if config.api.token_file.is_empty() {
                config_dir.join("api.token").display().to_string()
            } else {
                config.api.token_file.clone()
            }
        );
        let app = router(state, config.api.max_body_bytes);
        let local_app = router(local_state, config.api.max_body_bytes);
        // One signal stops both listeners; each finishes its requests in flight.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop_tx.send(true);
        });
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let tcp = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(stopped(stop_rx.clone()));
        let unix = axum::serve(uds, local_app.into_make_service())
            .with_graceful_shutdown(stopped(stop_rx));
        let (a, b) = tokio::join!(tcp, unix);
        let _ = std::fs::remove_file(&socket);
        a?;
        b?;
        eprintln!("autosec serve: stopping (storing what was read, flushing)");
        pipeline.shutdown().await;
        consumer.abort();
        Ok(0)
    })
}

/// Bind the control socket, replacing a stale one, readable by this user only.
fn bind_socket(path: &std::path::Path) -> Result<tokio::net::UnixListener> {
    // We own the store (its lock is held), so a socket file left here is stale.
    let _ = std::fs::remove_file(path);
    let listener = tokio::net::UnixListener::bind(path)
        .with_context(|| format!("cannot bind the control socket {}", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
