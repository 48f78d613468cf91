//! `autosec serve` and the control socket: the listeners around the router, and a shutdown
//! that finishes requests in flight and loses no acknowledged event.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};

use super::{ApiState, Hub, Metrics, Tokens, hub, owner_name, router};
use crate::config::Config;

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
    let code = runtime.block_on(async move {
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
        let (hub, mut fan_out) = hub::start(&mut pipeline, None);
        let bus = super::bus::start(config, &pipeline, &hub, metrics.bus.clone())?;
        let control =
            ControlSocket::start(config, &pipeline, hub.clone(), metrics.clone(), "serve")?;
        eprintln!(
            "autosec serve: control socket {} (mode 0600; no token)",
            control.path().display()
        );
        let state = Arc::new(ApiState::new(
            config,
            &pipeline,
            tokens,
            bound,
            metrics,
            hub.clone(),
        ));
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
        // The signal ends open event streams too, so both servers can finish their requests.
        let closing = hub.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            closing.close();
        });
        let stopping = hub.clone();
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { stopping.closing().await })
        .await?;
        control.finish().await?;
        eprintln!("autosec serve: stopping (storing what was read, flushing)");
        bus.stop().await;
        pipeline.shutdown().await;
        // Model work left behind by the shutdown still holds a sender: do not wait for it.
        if tokio::time::timeout(std::time::Duration::from_millis(100), &mut fan_out)
            .await
            .is_err()
        {
            fan_out.abort();
        }
        eprintln!("autosec serve: stopped");
        Ok(0)
    });
    // Dropping the runtime would wait for every blocking task, including that model work.
    let t = std::time::Instant::now();
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    if std::env::var_os("AUTOSEC_TRACE_QUIT").is_some() {
        eprintln!("quit: runtime down in {:?}", t.elapsed());
    }
    code
}

/// The owner's control socket, `DATA_DIR/control.sock` (DESIGN.md, "Process model"): the
/// same router as the HTTP API, for CLI commands and attached consoles. Mode 0600, so its
/// callers are this user: they act as `local:$USER` with every scope and no token.
pub struct ControlSocket {
    path: std::path::PathBuf,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl ControlSocket {
    /// Bind and serve until the hub closes.
    pub fn start(
        config: &Config,
        pipeline: &crate::pipeline::Pipeline,
        hub: Arc<Hub>,
        metrics: Arc<Metrics>,
        role: &str,
    ) -> Result<ControlSocket> {
        let path = pipeline.store.dir().join(crate::store::CONTROL_SOCKET);
        let listener = bind_socket(&path)?;
        let state = Arc::new(ApiState {
            local: true,
            owner: owner_name(role),
            ..ApiState::new(
                config,
                pipeline,
                Tokens::from_pairs(Vec::new()),
                SocketAddr::from(([127, 0, 0, 1], 0)),
                metrics,
                hub.clone(),
            )
        });
        let app = router(state, config.api.max_body_bytes);
        let server = tokio::spawn(
            axum::serve(listener, app.into_make_service())
                .with_graceful_shutdown(async move { hub.closing().await })
                .into_future(),
        );
        Ok(ControlSocket { path, server })
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Wait for the server to finish (after the hub closed) and remove the socket file.
    pub async fn finish(self) -> Result<()> {
        let served = self.server.await;
        let _ = std::fs::remove_file(&self.path);
        served??;
        Ok(())
    }
}

/// Bind the control socket, replacing a stale one, reachable by this user only: bound inside
/// a fresh 0700 directory, made 0600, then moved into place, so there is no moment when
/// another user could connect (a chmod after binding in place leaves one under a permissive
/// umask). Peers are checked again on every connection (`OwnerOnly`).
fn bind_socket(path: &std::path::Path) -> Result<OwnerOnly> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    // We own the store (its lock is held), so a socket file left here is stale.
    let _ = std::fs::remove_file(path);
    let parent = path.parent().unwrap_or(std::path::Path::new("."));
    let private = parent.join(format!(".control-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&private);
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&private)
        .with_context(|| format!("cannot create {}", private.display()))?;
    let staged = private.join("control.sock");
    let bound = tokio::net::UnixListener::bind(&staged)
        .with_context(|| format!("cannot bind the control socket {}", path.display()))
        .and_then(|l| {
            std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600))?;
            std::fs::rename(&staged, path)?;
            Ok(l)
        });
    let _ = std::fs::remove_dir_all(&private);
    let owner = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .context("cannot tell this process's user id")?;
    Ok(OwnerOnly {
        inner: bound?,
        owner,
    })
}

/// The control socket's listener: a connection from another user id is closed unanswered
/// (SO_PEERCRED), whatever the file's mode says.
struct OwnerOnly {
    inner: tokio::net::UnixListener,
    owner: u32,
}

impl axum::serve::Listener for OwnerOnly {
    type Io = tokio::net::UnixStream;
    type Addr = tokio::net::unix::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    if stream.peer_cred().is_ok_and(|c| c.uid() == self.owner) {
                        return (stream, addr);
                    }
                    eprintln!("control socket: refused a connection from another user");
                }
                // Out of descriptors and the like: wait a moment, as axum's own loop does.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
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
