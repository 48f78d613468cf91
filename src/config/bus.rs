//! `[[ingest.nats]]`, `[output.nats]` and `[engine]`: the NATS JetStream bus.

use serde::{Deserialize, Serialize};

/// One server URL or a cluster's list (the client fails over between them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Urls {
    One(String),
    Many(Vec<String>),
}

impl Urls {
    pub fn list(&self) -> Vec<String> {
        match self {
            Urls::One(u) => u.split(',').map(|s| s.trim().to_string()).collect(),
            Urls::Many(v) => v.clone(),
        }
    }
}

/// Credentials, always by file: a secret never sits in the configuration itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// A `.creds` file (JWT + nkey seed).
    #[serde(default)]
    pub creds_file: Option<String>,
    /// A file holding a token.
    #[serde(default)]
    pub token_file: Option<String>,
    /// A file holding an nkey seed (`SU…`).
    #[serde(default)]
    pub nkey_file: Option<String>,
    /// A user name, with its password in `password_file`.
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub password_file: Option<String>,
}

/// A JetStream stream this engine consumes (`[[ingest.nats]]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSource {
    pub url: Urls,
    pub stream: String,
    /// This engine's share: one durable pull consumer per subject filter.
    pub subjects: Vec<String>,
    /// The subjects the stream captures when this engine has to create it (default: the
    /// share; with partitioned subjects set the whole space, e.g. `logs.>`).
    #[serde(default)]
    pub stream_subjects: Vec<String>,
    /// Replicas of a stream this engine creates (3 on a 3-node cluster).
    #[serde(default = "one")]
    pub replicas: usize,
    pub durable: String,
    /// `auto` (per message) or a format forced on every message.
    #[serde(default = "auto")]
    pub format: String,
    /// Most messages pulled at once (a pull is stored before the next is asked for).
    #[serde(default = "batch")]
    pub batch: usize,
    #[serde(flatten)]
    pub credentials: Credentials,
}

/// `[output.nats]`: alerts and actions published, decisions answered.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsOutput {
    pub url: Urls,
    #[serde(default = "prefix")]
    pub subject_prefix: String,
    /// Decide only on requests the server vouches for: analysts in their own account import
    /// `<prefix>.control.*` with `share: true`, so the server writes who asked
    /// (`Nats-Request-Info`), recorded as `nats:ACCOUNT/USER`; other decisions are refused.
    #[serde(default)]
    pub require_attested: bool,
    #[serde(flatten)]
    pub credentials: Credentials,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    #[serde(default)]
    pub nats: Option<NatsOutput>,
}

/// `[engine]`: this engine's name on the bus.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfig {
    /// Empty: the machine's host name.
    #[serde(default)]
    pub id: String,
}

impl EngineConfig {
    /// The id used in subjects: letters, digits, `-` and `_` only (a `.` or `*` would change
    /// which subjects it names).
    pub fn resolved_id(&self) -> String {
        let raw = if self.id.is_empty() {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .or_else(|_| std::fs::read_to_string("/etc/hostname"))
                .unwrap_or_else(|_| "autosec".into())
        } else {
            self.id.clone()
        };
        let id: String = raw
            .trim()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if id.is_empty() { "autosec".into() } else { id }
    }
}

fn one() -> usize {
    1
}

fn auto() -> String {
    "auto".into()
}

fn batch() -> usize {
    1024
}

fn prefix() -> String {
    "autosec".into()
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn nats_settings_parse_and_typos_are_errors() {
        let ok = Config::from_patch(
            "[[ingest.nats]]\nurl = [\"nats://a:4222\", \"nats://b:4222\"]\nstream = \"LOGS\"\nsubjects = [\"logs.0.>\"]\ndurable = \"e\"\ntoken_file = \"/run/t\"\n\n[output.nats]\nurl = \"nats://a:4222\"\nuser = \"engine\"\npassword_file = \"/run/p\"\nrequire_attested = true\n",
            "test",
        )
        .expect("valid");
        let src = &ok.ingest.nats[0];
        assert_eq!(src.url.list().len(), 2);
        assert_eq!(src.credentials.token_file.as_deref(), Some("/run/t"));
        let out = ok.output.nats.expect("output");
        assert!(out.require_attested);
        assert_eq!(out.credentials.user.as_deref(), Some("engine"));
        let typo = Config::from_patch(
            "[[ingest.nats]]\nurl = \"nats://a:4222\"\nstream = \"LOGS\"\nsubject = [\"logs.>\"]\nsubjects = [\"logs.>\"]\ndurable = \"e\"\n",
            "test",
        );
        assert!(typo.is_err(), "an unknown key is an error");
        let inline = Config::from_patch(
            "[output.nats]\nurl = \"nats://a:4222\"\npassword = \"secret\"\n",
            "test",
        );
        assert!(inline.is_err(), "no inline secrets");
    }
}
