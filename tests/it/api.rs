//! `autosec serve` over real HTTP on 127.0.0.1:0: auth and scopes, Host/Origin/content-type
//! refusals, body limits, bad bodies, ingest → alert → analyze → approve → rollback, metrics,
//! the OpenAPI document, and SIGTERM during ingest losing no acknowledged event.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::Env;

pub(crate) const TOKEN: &str = "main-token-for-tests";
pub(crate) const SHIPPER: &str = "shipper-token-ingest-only";

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base: String,
    pub(crate) http: reqwest::blocking::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start(env: &Env, extra_config: &str) -> Server {
    start_with(env, extra_config, &[])
}

/// The `[respond]` table of [`start`].
const RESPOND: &str = "[respond]\nrules = [{ threat = \"brute_force\", actions = [\"log_event\", \"rate_limit_ip\", \"block_ip\"] }]\n";

/// [`start`] with global flags before `serve` (e.g. `--no-privacy`).
pub(crate) fn start_with(env: &Env, extra_config: &str, flags: &[&str]) -> Server {
    start_configured(env, RESPOND, extra_config, flags)
}

/// [`start_with`] with its own `[respond]` table (it must set `rules`).
pub(crate) fn start_configured(
    env: &Env,
    respond: &str,
    extra_config: &str,
    flags: &[&str],
) -> Server {
    env.write("shipper.token", SHIPPER);
    env.write(
        "config/config.toml",
        format!(
            "{respond}\n[api]\nmax_body_bytes = 2000000\n\n[[api.tokens]]\nname = \"shipper\"\ntoken_file = \"{}\"\nscopes = [\"ingest\"]\n{extra_config}",
            env.path("shipper.token").display()
        ),
    );
    let mut child = env
        .cmd()
        .args(flags)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("AUTOSEC_API_TOKEN", TOKEN)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let base = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("serve did not start");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().expect("address").to_string();
        }
    };
    Server {
        child,
        base,
        http: reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client"),
    }
}

impl Server {
    pub(crate) fn get(&self, path: &str, token: Option<&str>) -> reqwest::blocking::Response {
        let mut r = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().expect("GET")
    }

    pub(crate) fn post(
        &self,
        path: &str,
        token: &str,
        ct: &str,
        body: impl Into<reqwest::blocking::Body>,
    ) -> reqwest::blocking::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .header("content-type", ct)
            .body(body)
            .send()
            .expect("POST")
    }

    pub(crate) fn json(&self, path: &str) -> Value {
        let r = self.get(path, Some(TOKEN));
        assert_eq!(r.status(), 200, "{path}");
        r.json().expect("json")
    }
}

pub(crate) fn brute_force_ndjson(n: usize) -> String {
    let now = chrono::Utc::now();
    (0..n)
        .map(|i| {
            let t = now - chrono::Duration::seconds((n - i) as i64 * 5);
            format!(
                "{{\"timestamp\":\"{}\",\"source_ip\":\"203.0.113.66\",\"user_id\":\"root\",\"action\":\"login\",\"resource\":\"sshd\",\"status\":\"failed\"}}\n",
                t.to_rfc3339()
            )
        })
        .collect()
}

pub(crate) fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn auth_scopes_and_refusals() {
    let env = Env::new();
    let s = start(&env, "");
    assert_eq!(s.get("/health", None).status(), 200, "health is open");
    let doc: Value = s.get("/api/v1/openapi.json", None).json().expect("doc");
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/logs/ingest"]["post"].is_object());
    assert_eq!(s.get("/api/v1/threats", None).status(), 401);
    assert_eq!(s.get("/api/v1/threats", Some("wrong")).status(), 401);
    assert_eq!(
        s.get("/api/v1/threats", Some(SHIPPER)).status(),
        403,
        "ingest-only token reads nothing"
    );
    assert_eq!(s.get("/metrics", Some(TOKEN)).status(), 200);
    // The event stream over TCP: a token with the read scope, then `hello` first.
    assert_eq!(s.get("/api/v1/stream", None).status(), 401);
    assert_eq!(s.get("/api/v1/stream", Some(SHIPPER)).status(), 403);
    let mut stream = s.get("/api/v1/stream", Some(TOKEN));
    assert_eq!(stream.status(), 200);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .is_ok_and(|ct| ct.starts_with("text/event-stream"))
    );
    let mut first = [0u8; 64];
    let n = std::io::Read::read(&mut stream, &mut first).expect("read");
    let head = String::from_utf8_lossy(&first[..n]);
    assert!(head.starts_with("event: hello"), "{head}");
    drop(stream);
    assert_eq!(
        s.post(
            "/api/v1/actions/1/approve",
            SHIPPER,
            "application/json",
            "{}"
        )
        .status(),
        403,
        "ingest-only token decides nothing"
    );
    let browser = s
        .http
        .get(format!("{}/api/v1/threats", s.base))
        .bearer_auth(TOKEN)
        .header("origin", "https://evil.example")
        .send()
        .expect("send");
    assert_eq!(browser.status(), 403, "requests from browsers are refused");
    let rebinding = s
        .http
        .get(format!("{}/health", s.base))
        .header("host", "evil.example:8080")
        .send()
        .expect("send");
    assert_eq!(rebinding.status(), 421, "unexpected Host is refused");
    let r = s.post("/api/v1/logs/ingest", TOKEN, "text/plain", "x");
    assert_eq!(r.status(), 415);
    // An oversized body gets 413 and the server drops that connection before reading the
    // rest: send it on a connection of its own so the shared pool is not handed a closed one.
    let lone = reqwest::blocking::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let big = lone
        .post(format!("{}/api/v1/logs/ingest", s.base))
        .bearer_auth(TOKEN)
        .header("content-type", "application/x-ndjson")
        .body("x".repeat(3_000_000))
        .send()
        .expect("POST");
    assert_eq!(big.status(), 413);
    assert_eq!(s.get("/api/v1/nothing", Some(TOKEN)).status(), 404);
}

#[test]
fn bad_bodies_get_a_clear_400_and_bad_records_are_counted_with_reasons() {
    let env = Env::new();
    let s = start(&env, "");
    let r = s.post(
        "/api/v1/logs/ingest",
        SHIPPER,
        "application/json",
        vec![0x1f, 0x8b, 1, 2, 3],
    );
    assert_eq!(r.status(), 400);
    let e: Value = r.json().expect("json");
    assert!(e["error"].as_str().expect("error").contains("gzip"), "{e}");
    let r = s.post(
        "/api/v1/logs/ingest",
        SHIPPER,
        "application/json",
        "[{\"a\": 1},",
    );
    assert_eq!(r.status(), 400);
    let mut body = brute_force_ndjson(5);
    body.push_str("{\"timestamp\": not json\n");
    let r = s.post("/api/v1/logs/ingest", SHIPPER, "application/x-ndjson", body);
    assert_eq!(r.status(), 200);
    let v: Value = r.json().expect("json");
    assert_eq!(v["accepted"], 5, "{v}");
    assert_eq!(v["rejected"], 1, "{v}");
    assert_eq!(v["rejections"][0]["reason"], "malformed_json", "{v}");
    assert_eq!(v["durable"], true);
    // A JSON array, a single object, a CloudTrail document, gzip.
    let arr = "[{\"timestamp\":\"2026-01-01T00:00:00Z\",\"action\":\"x\",\"user_id\":\"u\"},{\"timestamp\":\"2026-01-01T00:00:01Z\",\"action\":\"y\",\"user_id\":\"u\"}]";
    let v: Value = s
        .post("/api/v1/logs/ingest", SHIPPER, "application/json", arr)
        .json()
        .expect("json");
    assert_eq!(v["accepted"], 2, "{v}");
    let ct = "{\"Records\":[{\"eventVersion\":\"1.08\",\"eventTime\":\"2026-01-01T00:00:00Z\",\"eventSource\":\"iam.amazonaws.com\",\"eventName\":\"ListUsers\",\"awsRegion\":\"us-east-1\",\"sourceIPAddress\":\"198.51.100.7\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"alice\"},\"eventID\":\"e-1\"}]}";
    let v: Value = s
        .post("/api/v1/logs/ingest", SHIPPER, "application/json", ct)
        .json()
        .expect("json");
    assert_eq!(v["accepted"], 1, "{v}");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, brute_force_ndjson(3).as_bytes()).expect("gzip");
    let v: Value = s
        .post(
            "/api/v1/logs/ingest",
            SHIPPER,
            "application/x-ndjson",
            gz.finish().expect("gzip"),
        )
        .json()
        .expect("json");
    assert_eq!(v["accepted"], 3, "{v}");
    let metrics = s.get("/metrics", Some(TOKEN)).text().expect("text");
    assert!(
        metrics.contains("autosec_http_events_ingested_total 11"),
        "{metrics}"
    );
}

#[test]
fn ingest_alert_analyze_approve_rollback_through_the_api() {
    let env = Env::new();
    let s = start(&env, "");
    let v: Value = s
        .post(
            "/api/v1/logs/ingest",
            SHIPPER,
            "application/x-ndjson",
            brute_force_ndjson(40),
        )
        .json()
        .expect("json");
    assert_eq!(v["accepted"], 40, "{v}");
    let mut alert_id = 0;
    wait_for("a brute-force alert", || {
        let t = s.json("/api/v1/threats?severity=low");
        match t["alerts"]
            .as_array()
            .and_then(|a| a.iter().find(|a| a["threat_type"] == "brute_force"))
        {
            Some(a) => {
                alert_id = a["alert_id"].as_u64().expect("id");
                // Privacy: pseudonyms only.
                assert!(!t.to_string().contains("203.0.113.66"), "{t}");
                true
            }
            None => false,
        }
    });
    let r = s.post(
        "/api/v1/analyze",
        TOKEN,
        "application/json",
        format!("{{\"alert_id\": {alert_id}}}"),
    );
    assert_eq!(r.status(), 200);
    let a: Value = r.json().expect("json");
    assert_eq!(a["explanation"]["alert_id"], alert_id);
    assert!(
        a["explanation"]["summary"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{a}"
    );
    assert_eq!(
        a["model"]["status"], "unavailable",
        "AUTOSEC_NO_MODELS: template only; {a}"
    );
    assert_eq!(
        s.post(
            "/api/v1/analyze",
            TOKEN,
            "application/json",
            "{\"alert_id\": 999999}"
        )
        .status(),
        404
    );
    let mut block = Value::Null;
    wait_for("a pending block_ip", || {
        let list = s.json("/api/v1/actions?state=pending_approval");
        block = list["actions"]
            .as_array()
            .and_then(|l| l.iter().find(|x| x["kind"] == "block_ip"))
            .cloned()
            .unwrap_or(Value::Null);
        !block.is_null()
    });
    let id = block["action_id"].as_u64().expect("id");
    let r = s.post(
        &format!("/api/v1/actions/{id}/approve"),
        TOKEN,
        "application/json",
        "{\"reason\": \"seen it\"}",
    );
    assert_eq!(r.status(), 200);
    let approved: Value = r.json().expect("json");
    assert_eq!(approved["state"], "sandboxed", "{approved}");
    assert_eq!(approved["decision"]["by"], "api");
    let again = s.post(
        &format!("/api/v1/actions/{id}/approve"),
        TOKEN,
        "application/json",
        "",
    );
    assert_eq!(
        again.status(),
        409,
        "a decided action is not approved twice"
    );
    let r = s.post(
        &format!("/api/v1/actions/{id}/rollback"),
        TOKEN,
        "application/json",
        "",
    );
    assert_eq!(r.status(), 200);
    let rolled: Value = r.json().expect("json");
    assert_eq!(rolled["state"], "rolled_back", "{rolled}");
    assert_eq!(
        s.post(
            "/api/v1/actions/999999/reject",
            TOKEN,
            "application/json",
            ""
        )
        .status(),
        404
    );
    let metrics = s.get("/metrics", Some(TOKEN)).text().expect("text");
    assert!(
        metrics.contains("autosec_actions{state=\"rolled_back\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("autosec_alerts{severity="), "{metrics}");
    let health: Value = s.get("/health", None).json().expect("json");
    assert_eq!(health["status"], "ok");
    assert!(
        health["storage"]["events"]
            .as_u64()
            .is_some_and(|n| n >= 40),
        "{health}"
    );
}

#[cfg(unix)]
#[test]
fn sigterm_during_ingest_loses_no_acknowledged_event() {
    let env = Env::new();
    let s = start(&env, "");
    let base = s.base.clone();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut senders = Vec::new();
    for k in 0..2 {
        let (base, accepted) = (base.clone(), accepted.clone());
        senders.push(std::thread::spawn(move || {
            let http = reqwest::blocking::Client::new();
            for i in 0..200 {
                let body: String = (0..500)
                    .map(|j| format!("{{\"timestamp\":\"2026-01-01T00:00:00Z\",\"action\":\"a{k}-{i}-{j}\",\"user_id\":\"u{j}\"}}\n"))
                    .collect();
                match http
                    .post(format!("{base}/api/v1/logs/ingest"))
                    .bearer_auth(TOKEN)
                    .header("content-type", "application/x-ndjson")
                    .body(body)
                    .send()
                {
                    Ok(r) if r.status() == 200 => {
                        let v: Value = r.json().expect("json");
                        accepted.fetch_add(v["accepted"].as_u64().expect("n"), std::sync::atomic::Ordering::SeqCst);
                    }
                    _ => return,
                }
            }
        }));
    }
    wait_for("some acknowledged bodies", || {
        accepted.load(std::sync::atomic::Ordering::SeqCst) >= 5_000
    });
    let pid = s.child.id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(status.success());
    for t in senders {
        let _ = t.join();
    }
    let mut s = s;
    let exit = s.child.wait().expect("wait");
    assert!(exit.success(), "serve exits cleanly on SIGTERM: {exit:?}");
    let acked = accepted.load(std::sync::atomic::Ordering::SeqCst);
    let store = autosec::store::Store::open(&env.data(), 8).expect("store");
    let stored = store.event_count().expect("count");
    assert!(stored >= acked, "stored {stored} < acknowledged {acked}");
}

#[cfg(unix)]
#[test]
fn the_control_socket_serves_the_same_api_to_the_owner() {
    use std::io::{Read, Write};
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let s = start(&env, "");
    let sock = env.data().join("control.sock");
    let mode = std::fs::metadata(&sock)
        .expect("socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let ask = |req: &str| -> String {
        let mut c = std::os::unix::net::UnixStream::connect(&sock).expect("connect");
        c.write_all(req.as_bytes()).expect("write");
        let mut out = String::new();
        c.read_to_string(&mut out).expect("read");
        out
    };
    // No token needed: only the data dir's owner can open the socket.
    let r = ask("GET /api/v1/threats HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(r.contains("\"total\""), "{r}");
    let body = brute_force_ndjson(2);
    let r = ask(&format!(
        "POST /api/v1/logs/ingest HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    assert!(
        r.starts_with("HTTP/1.1 200") && r.contains("\"accepted\":2"),
        "{r}"
    );
    // Every documented route is routed (a missing one would be axum's bare 404).
    for (method, path, _) in autosec::api::ROUTES {
        let path = path.replace("{id}", "999999");
        if path == "/api/v1/stream" {
            continue; // never ends: tests/it/control.rs reads it
        }
        let r = s
            .http
            .request(method.clone(), format!("{}{path}", s.base))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body("{\"alert_id\": 999999}")
            .send()
            .expect("send");
        let status = r.status();
        let text = r.text().unwrap_or_default();
        assert!(
            status != 404 || text.contains("999999"),
            "{method} {path}: {status} {text}"
        );
    }
}
