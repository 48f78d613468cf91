//! The NATS JetStream bus: engines consume a share of a log stream (`source`), publish their
//! alerts and actions and answer decisions (`publish`); a console reads every engine's
//! queue off the bus (`fleet`). async-nats is the client; nats-server does the distribution.

pub mod fleet;
pub mod publish;
pub mod remote;
pub mod source;

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};

use crate::config::bus::{Credentials, Urls};

/// Connect to a server or a cluster (the client fails over between the URLs and keeps
/// reconnecting); credentials come from files only.
pub async fn connect(urls: &Urls, creds: &Credentials, name: &str) -> Result<async_nats::Client> {
    let mut opts = async_nats::ConnectOptions::new()
        .name(name)
        .retry_on_initial_connect()
        .connection_timeout(std::time::Duration::from_secs(2));
    if let Some(path) = &creds.creds_file {
        opts = opts
            .credentials_file(path)
            .await
            .with_context(|| format!("cannot read creds_file {path}"))?;
    }
    if let Some(path) = &creds.token_file {
        let token = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read token_file {path}"))?;
        opts = opts.token(token.trim().to_string());
    }
    if let Some(path) = &creds.nkey_file {
        let seed = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read nkey_file {path}"))?;
        opts = opts.nkey(seed.trim().to_string());
    }
    match (&creds.user, &creds.password_file) {
        (Some(user), Some(path)) => {
            let password = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read password_file {path}"))?;
            opts = opts.user_and_password(user.clone(), password.trim().to_string());
        }
        (None, None) => {}
        _ => anyhow::bail!("NATS credentials: user and password_file go together"),
    }
    let addrs = urls
        .list()
        .iter()
        .map(|u| u.parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .context("bad NATS url")?;
    opts.connect(addrs)
        .await
        .with_context(|| format!("cannot connect to NATS at {}", urls.list().join(",")))
}

/// What the bus consumers report to `/health` and `/metrics`.
#[derive(Debug, Default)]
pub struct BusStats {
    /// Messages the server holds for this engine's consumers and has not delivered yet.
    pub pending: AtomicU64,
    /// Messages stored (or quarantined) and acknowledged.
    pub messages: AtomicU64,
    /// Deliveries of messages already stored (recognised by the checkpoint and acknowledged).
    pub redelivered: AtomicU64,
    /// Consumer sessions started again after an error (server lost, leader moved …).
    pub restarts: AtomicU64,
}

impl BusStats {
    pub fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "pending_messages": self.pending.load(Ordering::Relaxed),
            "messages": self.messages.load(Ordering::Relaxed),
            "redelivered": self.redelivered.load(Ordering::Relaxed),
            "restarts": self.restarts.load(Ordering::Relaxed),
        })
    }
}
