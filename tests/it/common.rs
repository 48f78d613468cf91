//! Helpers: run the binary with an isolated config dir, open a finished store.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use autosec::domain::SecurityEvent;
use autosec::store::Store;

pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn data(&self) -> PathBuf {
        self.path("data")
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
        p
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_autosec"));
        c.env("AUTOSEC_CONFIG_DIR", self.path("config"));
        // The shared vector cache is per test: a test that embeds must see it happen.
        c.env("AUTOSEC_CACHE_DIR", self.path("cache"));
        // Lexical retrieval: model tests are separate (tests/it/intel_model.rs sets this off).
        c.env("AUTOSEC_NO_MODELS", "1");
        c.arg("--data-dir").arg(self.data());
        c
    }

    /// `autosec ingest --json ARGS…`, asserting success; returns the summary.
    pub fn ingest(&self, args: &[&str]) -> serde_json::Value {
        let out = self
            .cmd()
            .arg("ingest")
            .arg("--json")
            .args(args)
            .output()
            .expect("run autosec");
        assert_success(&out);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "summary is not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// `autosec --config FILE ingest --json ARGS…` with `config` (TOML) written to FILE.
    pub fn ingest_with_config(&self, config: &str, args: &[&str]) -> Output {
        let file = self.write("config/test.toml", config);
        self.cmd()
            .arg("--config")
            .arg(file)
            .args(["ingest", "--json"])
            .args(args)
            .output()
            .expect("run autosec")
    }

    pub fn store(&self) -> Store {
        Store::open(&self.data(), 8).expect("open store")
    }

    pub fn events(&self) -> Vec<SecurityEvent> {
        let store = self.store();
        store
            .iter_events()
            .collect::<Result<Vec<_>, _>>()
            .expect("decode events")
    }
}

pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "autosec failed ({:?})\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// `n` sshd password failures for root from one address, 10 s apart (a brute-force alert).
pub fn failed_root_logins(n: usize) -> String {
    let mut log = String::new();
    for i in 0..n {
        log.push_str(&format!(
            "Mar 10 12:{:02}:{:02} bastion sshd[4242]: Failed password for root from 203.0.113.9 port {} ssh2\n",
            i / 6,
            (i * 10) % 60,
            40000 + i
        ));
    }
    log
}

/// `n` JSON lines in the seed schema with distinct line contents.
pub fn jsonl_lines(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "{{\"timestamp\":\"2024-05-01T12:{:02}:{:02}Z\",\"source_ip\":\"10.0.{}.{}\",\"user_id\":\"user{}\",\"action\":\"login\",\"status\":\"{}\",\"metadata\":{{\"seq\":{i}}}}}\n",
            (i / 60) % 60,
            i % 60,
            (i / 250) % 250,
            i % 250,
            i % 97,
            if i % 5 == 0 { "failed" } else { "success" }
        ));
    }
    s
}

/// A one-thread HTTP/1.1 server on loopback: answers every request with `200` and `body`
/// (JSON), and keeps each request as "headers\n\nbody". For webhook and LLM-endpoint tests.
pub fn loopback_http(
    body: String,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let (mut length, mut head) = (0usize, String::new());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut request = vec![0u8; length];
            let _ = reader.read_exact(&mut request);
            kept.lock()
                .expect("lock")
                .push(format!("{head}\n{}", String::from_utf8_lossy(&request)));
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (addr, seen)
}
