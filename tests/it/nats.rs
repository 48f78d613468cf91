//! NATS JetStream against real `nats-server` processes on loopback (`.ci/run` installs the
//! Debian package): a 3-node R3 cluster survives a kill -9 of the engine and of a node with
//! every event stored once; two engines share a partitioned subject space and one fleet
//! view; bad messages are quarantined and acknowledged.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream;
use serde_json::Value;

use crate::api::{Server, start_with, wait_for};
use crate::common::{Env, assert_success};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn server_binary() -> Option<&'static str> {
    ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

/// Whether nats-server is here. Without it a test says so and returns, except under
/// AUTOSEC_REQUIRE_NATS=1 (set by `.ci/run`, which installs it), where that is a failure.
fn nats_installed() -> bool {
    if server_binary().is_some() {
        return true;
    }
    let required = std::env::var("AUTOSEC_REQUIRE_NATS").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "AUTOSEC_REQUIRE_NATS=1 but nats-server is not installed (apt-get install nats-server)"
    );
    eprintln!("skipped: nats-server is not installed (apt-get install nats-server)");
    false
}

/// Local nats-server processes, one cluster (or one node).
pub(crate) struct Nats {
    nodes: Vec<Option<Child>>,
    ports: Vec<u16>,
    _dir: tempfile::TempDir,
}

/// Publishers name the host and the log: `logs.<host>.<log>`; the server maps it to
/// `logs.<partition>.<host>.<log>` by a hash of the host, so a host stays on one engine.
pub(crate) const PARTITIONS: &str =
    r#"mappings = { "logs.*.*": "logs.{{partition(2,1)}}.{{wildcard(1)}}.{{wildcard(2)}}" }"#;

impl Nats {
    pub(crate) fn start(n: usize, extra: &str) -> Nats {
        let dir = tempfile::tempdir().expect("tempdir");
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let routes: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let mut nodes = Vec::new();
        for i in 0..n {
            let cluster = if n > 1 {
                let others: Vec<String> = routes
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, p)| format!("\"nats-route://127.0.0.1:{p}\""))
                    .collect();
                format!(
                    "cluster {{ name: autosec-test, listen: \"127.0.0.1:{}\", routes: [{}] }}",
                    routes[i],
                    others.join(", ")
                )
            } else {
                String::new()
            };
            let conf = dir.path().join(format!("n{i}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "server_name: n{i}\nlisten: \"127.0.0.1:{}\"\njetstream {{ store_dir: \"{}\" }}\n{cluster}\n{extra}\n",
                    ports[i],
                    dir.path().join(format!("n{i}")).display()
                ),
            )
            .expect("write conf");
            let child = Command::new(server_binary().expect("nats-server"))
                .arg("-c")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start nats-server");
            nodes.push(Some(child));
        }
        let nats = Nats {
            nodes,
            ports,
            _dir: dir,
        };
        for p in &nats.ports {
            wait_for("nats-server to listen", || {
                std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok()
            });
        }
        nats
    }

    pub(crate) fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect()
    }

    pub(crate) fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Create the stream (retrying while the cluster elects its leaders) and publish every
/// `(subject, payload)`, waiting for each acknowledgement.
pub(crate) fn publish_all(urls: &[String], replicas: usize, messages: &[(String, Vec<u8>)]) {
    runtime().block_on(async {
        let addrs: Vec<async_nats::ServerAddr> =
            urls.iter().map(|u| u.parse().expect("url")).collect();
        let client = async_nats::connect(addrs).await.expect("connect");
        let js = jetstream::new(client);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let made = js
                .get_or_create_stream(jetstream::stream::Config {
                    name: "LOGS".into(),
                    subjects: vec!["logs.>".into()],
                    storage: jetstream::stream::StorageType::File,
                    num_replicas: replicas,
                    ..Default::default()
                })
                .await;
            match made {
                Ok(_) => break,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                Err(e) => panic!("stream not created: {e}"),
            }
        }
        let mut js = js;
        js.set_timeout(Duration::from_secs(30));
        // Each message carries an id, so a retry after a lost ack is stored once (the
        // server's duplicate window): a loaded CI machine can time out an ack.
        for (c, chunk) in messages.chunks(2000).enumerate() {
            let mut attempt = 0;
            loop {
                let mut acks = Vec::with_capacity(chunk.len());
                for (i, (subject, payload)) in chunk.iter().enumerate() {
                    let msg = jetstream::message::PublishMessage::build()
                        .payload(payload.clone().into())
                        .message_id(format!("{}", c * 2000 + i));
                    acks.push(js.send_publish(subject.clone(), msg).await);
                }
                let mut failed = false;
                for a in acks {
                    match a {
                        Ok(a) => failed |= a.await.is_err(),
                        Err(_) => failed = true,
                    }
                }
                attempt += 1;
                if !failed {
                    break;
                }
                assert!(attempt < 5, "publishing chunk {c} failed 5 times");
            }
        }
    });
}

/// An auth.log: sshd logins of `hosts` hosts, and on each host one source guessing root's
/// password 30 times in a few minutes; dated over the last hours (RFC 3164: no year).
pub(crate) fn auth_lines(n: usize, hosts: usize) -> Vec<(String, String)> {
    let start = chrono::Local::now() - chrono::Duration::hours(3);
    let span = 2.5 * 3600.0 / n as f64;
    (0..n)
        .map(|i| {
            let t = start + chrono::Duration::milliseconds((i as f64 * span * 1000.0) as i64);
            let stamp = t.format("%b %e %H:%M:%S");
            let h = i % hosts;
            let host = format!("web{h:02}");
            // The burst: 30 consecutive lines of host h near the middle of its share.
            let burst = (n / 2..n / 2 + 30 * hosts).contains(&i);
            let line = if burst {
                format!(
                    "{stamp} {host} sshd[{}]: Failed password for root from 198.51.100.{} port {} ssh2",
                    1000 + i % 5000,
                    10 + h,
                    40000 + i % 20000
                )
            } else {
                format!(
                    "{stamp} {host} sshd[{}]: Accepted publickey for deploy from 10.1.{}.{} port {} ssh2",
                    1000 + i % 5000,
                    h,
                    1 + i % 200,
                    40000 + i % 20000
                )
            };
            (host, line)
        })
        .collect()
}

/// A durable consumer's (messages not yet delivered, deliveries not yet acknowledged).
fn consumer_backlog(urls: &[String], durable: &str) -> (u64, usize) {
    runtime().block_on(async {
        let client = async_nats::connect(urls[0].as_str())
            .await
            .expect("connect");
        let js = jetstream::new(client);
        let stream = js.get_stream("LOGS").await.expect("stream");
        let mut consumer: jetstream::consumer::PullConsumer =
            stream.get_consumer(durable).await.expect("consumer");
        let info = consumer.info().await.expect("info");
        (info.num_pending, info.num_ack_pending)
    })
}

/// `wait_for` with room for a 200k-message run on 2 loaded cores.
fn wait_long(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn health(s: &Server) -> Value {
    s.get("/health", None).json().expect("health json")
}

fn stored(s: &Server) -> u64 {
    health(s)["storage"]["events"].as_u64().unwrap_or(0)
}

fn nats_source(urls: &[String], subjects: &str, durable: &str, replicas: usize) -> String {
    let urls: Vec<String> = urls.iter().map(|u| format!("\"{u}\"")).collect();
    format!(
        "\n[[ingest.nats]]\nurl = [{}]\nstream = \"LOGS\"\nsubjects = [{subjects}]\nstream_subjects = [\"logs.>\"]\ndurable = \"{durable}\"\nreplicas = {replicas}\nbatch = 2000\n",
        urls.join(", ")
    )
}

/// Every stored event's (source, line): with NATS the line is the stream sequence.
fn stored_refs(env: &Env) -> Vec<(String, u64)> {
    env.events()
        .into_iter()
        .map(|e| (e.origin.source, e.origin.line.expect("sequence")))
        .collect()
}

/// `autosec alerts --json` brute-force entities with their event counts, sorted.
fn brute_force_alerts(env: &Env) -> Vec<(String, u64)> {
    let out = env
        .cmd()
        .args(["--no-privacy", "alerts", "--json"])
        .output()
        .expect("alerts");
    assert_success(&out);
    let mut found: Vec<(String, u64)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|a| a["threat_type"] == "brute_force")
        .map(|a| {
            (
                a["entity"].as_str().unwrap_or_default().to_string(),
                a["event_count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    found.sort();
    found
}

#[test]
fn cluster_survives_engine_and_node_kills_with_every_event_stored_once() {
    if !nats_installed() {
        return;
    }
    const N: usize = 200_000;
    let mut nats = Nats::start(3, "");
    let urls = nats.urls();
    let lines = auth_lines(N, 10);
    let messages: Vec<(String, Vec<u8>)> = lines
        .iter()
        .map(|(host, line)| (format!("logs.{host}.auth"), line.clone().into_bytes()))
        .collect();
    publish_all(&urls, 3, &messages);

    let env = Env::new();
    let config = nats_source(&urls, "\"logs.>\"", "engine-a", 3);
    let mut engine = start_engine(&env, &config);
    wait_long("half the events stored", || {
        stored(&engine) >= (N / 2) as u64
    });
    // kill -9: no flush, no goodbye.
    let _ = engine.child.kill();
    let _ = engine.child.wait();
    let after_kill = env_events_quick(&env);
    assert!(
        after_kill < N as u64,
        "killed before the end ({after_kill})"
    );
    nats.kill(0);
    let engine = start_engine(&env, &config);
    wait_long("every event stored", || stored(&engine) >= N as u64);
    let mut last_health = Value::Null;
    let drained = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_long("the consumer to drain", || {
            last_health = health(&engine);
            last_health["nats"]["pending_messages"] == 0
                && last_health["pipeline"]["detection_lag_events"] == 0
        })
    }));
    assert!(drained.is_ok(), "not drained; last health: {last_health}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(stored(&engine), N as u64, "no event stored twice");
    drop(engine);

    let refs = stored_refs(&env);
    assert_eq!(refs.len(), N);
    let mut seqs: Vec<u64> = refs.iter().map(|(_, s)| *s).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), N, "every stream sequence stored once");
    assert_eq!((seqs[0], seqs[N - 1]), (1, N as u64));

    // The same lines from a file give the same brute-force alerts.
    let file_env = Env::new();
    let body: String = lines.iter().map(|(_, l)| format!("{l}\n")).collect();
    let path = file_env.write("auth.log", body);
    let out = file_env
        .cmd()
        .args(["--no-privacy", "ingest", "--json"])
        .arg(&path)
        .output()
        .expect("ingest");
    assert_success(&out);
    let from_file = brute_force_alerts(&file_env);
    assert_eq!(from_file.len(), 10, "{from_file:?}");
    assert_eq!(brute_force_alerts(&env), from_file);
}

/// Stored events counted by opening the store (the engine is down).
fn env_events_quick(env: &Env) -> u64 {
    env.store().event_count().expect("count")
}

/// An engine without privacy: the comparisons name raw addresses (pseudonym numbers
/// depend on which worker met an address first).
fn start_engine(env: &Env, nats_config: &str) -> Server {
    start_with(env, nats_config, &["--no-privacy"])
}

fn output(urls: &[String], engine: &str) -> String {
    format!(
        "\n[engine]\nid = \"{engine}\"\n\n[output.nats]\nurl = \"{}\"\n",
        urls[0]
    )
}

/// `autosec fleet --json ARGS…` against the bus.
fn fleet(env: &Env, url: &str, args: &[&str]) -> Value {
    let out = env
        .cmd()
        .args(["fleet", "--nats", url, "--json"])
        .args(args)
        .output()
        .expect("fleet");
    assert_success(&out);
    serde_json::from_slice(&out.stdout).expect("fleet json")
}

#[test]
fn two_engines_split_the_subjects_and_share_one_queue() {
    if !nats_installed() {
        return;
    }
    const N: usize = 20_000;
    let nats = Nats::start(1, PARTITIONS);
    let urls = nats.urls();
    let lines = auth_lines(N, 10);
    let messages: Vec<(String, Vec<u8>)> = lines
        .iter()
        .map(|(host, line)| (format!("logs.{host}.auth"), line.clone().into_bytes()))
        .collect();
    publish_all(&urls, 1, &messages);

    let (env_a, env_b) = (Env::new(), Env::new());
    let a = start_engine(
        &env_a,
        &(nats_source(&urls, "\"logs.0.>\"", "engine-a", 1) + &output(&urls, "a")),
    );
    let b = start_engine(
        &env_b,
        &(nats_source(&urls, "\"logs.1.>\"", "engine-b", 1) + &output(&urls, "b")),
    );
    wait_long("both shares stored", || stored(&a) + stored(&b) == N as u64);
    for s in [&a, &b] {
        wait_long("detection to catch up", || {
            let h = health(s);
            h["nats"]["pending_messages"] == 0 && h["pipeline"]["detection_lag_events"] == 0
        });
    }
    assert!(stored(&a) > 0 && stored(&b) > 0, "both engines got a share");

    // The fleet sees both engines' alerts before the stores are inspected (engines up).
    let view = fleet(&env_a, &urls[0], &[]);
    assert_eq!(view["engines"], serde_json::json!(["a", "b"]), "{view}");
    let owners: std::collections::BTreeSet<&str> = view["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .filter(|a| a["alert"]["threat_type"] == "brute_force")
        .filter_map(|a| a["engine"].as_str())
        .collect();
    assert_eq!(owners.len(), 2, "brute force seen on both engines: {view}");
    let pending = view["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|a| a["engine"] == "b" && a["action"]["state"] == "pending_approval")
        .unwrap_or_else(|| panic!("a RED action waits on b: {view}"))
        .clone();
    let id = pending["action"]["action_id"].as_u64().expect("id");
    let answer = fleet(
        &env_a,
        &urls[0],
        &["approve", &id.to_string(), "--engine", "b", "--as", "alice"],
    );
    assert_eq!(answer["state"], "sandboxed", "{answer}");
    assert_eq!(answer["decision"]["by"], "nats:alice", "{answer}");
    let on_b = b.json(&format!("/api/v1/actions/{id}"));
    assert_eq!(on_b["state"], "sandboxed", "the owner has it: {on_b}");

    // The console over the fleet: one queue with both engines' alerts (the reducer and a
    // drawn frame), and a rejection from it lands on the engine that owns the action.
    let a_pending = view["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|x| x["engine"] == "a" && x["action"]["state"] == "pending_approval")
        .unwrap_or_else(|| panic!("a RED action waits on a: {view}"))["action"]["action_id"]
        .as_u64()
        .expect("id");
    let screen = fleet_console_rejects(&urls[0], "a", a_pending);
    assert!(screen.contains("[a]") && screen.contains("[b]"), "{screen}");
    let on_a = a.json(&format!("/api/v1/actions/{a_pending}"));
    assert_eq!(on_a["state"], "rejected", "{on_a}");
    assert_eq!(on_a["decision"]["by"], "nats:fleet-tester", "{on_a}");
    drop((a, b));

    // Together the stores hold every message once, and a host's lines sit on one engine.
    let (ra, rb) = (stored_refs(&env_a), stored_refs(&env_b));
    let mut seqs: Vec<u64> = ra.iter().chain(&rb).map(|(_, s)| *s).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), N);
    assert_eq!(ra.len() + rb.len(), N);
    let hosts = |env: &Env| -> std::collections::BTreeSet<String> {
        env.events()
            .into_iter()
            .map(|e| e.resource.split('/').next().unwrap_or_default().to_string())
            .collect()
    };
    let (ha, hb) = (hosts(&env_a), hosts(&env_b));
    assert!(
        ha.is_disjoint(&hb),
        "each host on one engine: {ha:?} {hb:?}"
    );
    assert_eq!(ha.len() + hb.len(), 10, "{ha:?} {hb:?}");
}

#[test]
fn bad_messages_are_quarantined_and_acknowledged() {
    if !nats_installed() {
        return;
    }
    let nats = Nats::start(1, "");
    let urls = nats.urls();
    let good = auth_lines(3, 1);
    let mut messages: Vec<(String, Vec<u8>)> = good
        .iter()
        .map(|(_, l)| ("logs.web00.auth".to_string(), l.clone().into_bytes()))
        .collect();
    // Broken gzip, binary junk, a format nobody can tell, a bad record among good NDJSON.
    messages.push(("logs.web00.auth".into(), vec![0x1f, 0x8b, 0x08, 0x00, 0xff]));
    messages.push(("logs.web00.auth".into(), vec![0, 159, 146, 150, 0, 1, 2]));
    messages.push(("logs.web00.app".into(), b"%%% no format here %%%".to_vec()));
    messages.push((
        "logs.web00.app".into(),
        b"{\"timestamp\":\"2026-12-01T10:00:00Z\",\"action\":\"login\",\"status\":\"failed\",\"source_ip\":\"203.0.113.9\"}\n{not json\n".to_vec(),
    ));
    publish_all(&urls, 1, &messages);
    let env = Env::new();
    let s = start_engine(&env, &nats_source(&urls, "\"logs.>\"", "engine-q", 1));
    wait_for("every message handled", || {
        health(&s)["nats"]["messages"].as_u64() == Some(messages.len() as u64)
    });
    assert_eq!(stored(&s), 4, "three auth lines and one JSON record");
    drop(s);
    assert_eq!(
        consumer_backlog(&urls, "engine-q"),
        (0, 0),
        "nothing left undelivered or unacknowledged"
    );
    let out = env
        .cmd()
        .args(["--no-privacy", "quarantine", "--json"])
        .output()
        .expect("quarantine");
    assert_success(&out);
    let rejects: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let by_seq: Vec<(u64, String, String)> = rejects
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap_or(0),
                r["source"].as_str().unwrap_or_default().to_string(),
                r["kind"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(by_seq.len(), 4, "{rejects:?}");
    assert!(
        by_seq.contains(&(
            4,
            "nats:LOGS/logs.web00.auth".into(),
            "unknown_format".into()
        )),
        "{by_seq:?}"
    );
    assert!(by_seq.iter().any(|(seq, _, _)| *seq == 5), "{by_seq:?}");
    assert!(
        by_seq.contains(&(
            6,
            "nats:LOGS/logs.web00.app".into(),
            "unknown_format".into()
        )),
        "{by_seq:?}"
    );
    assert!(
        by_seq.contains(&(
            7,
            "nats:LOGS/logs.web00.app".into(),
            "malformed_json".into()
        )),
        "{by_seq:?}"
    );

    // Acknowledged: a restarted engine finds nothing new and stores nothing again.
    let s = start_engine(&env, &nats_source(&urls, "\"logs.>\"", "engine-q", 1));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(stored(&s), 4);
    assert_eq!(
        health(&s)["nats"]["messages"],
        0,
        "nothing redelivered as new"
    );
}

/// Attach the fleet console, fold what arrives into the console's state, reject engine
/// `engine`'s action `action_id` through it; returns the drawn alert queue.
fn fleet_console_rejects(url: &str, engine: &str, action_id: u64) -> String {
    use autosec::app::keymap::Keymap;
    use autosec::app::state::AppState;
    use autosec::app::theme::Theme;
    use autosec::app::update::{Msg, update};
    use autosec::pipeline::EngineCommand;
    runtime().block_on(async {
        let mut fleet =
            autosec::bus::remote::FleetPipeline::attach(url, "autosec", Duration::from_secs(1))
                .await
                .expect("attach to the fleet");
        assert_eq!(fleet.status.sources, ["a", "b"]);
        let mut state = AppState::new(
            Theme::shipped("dark").expect("theme"),
            vec!["dark".into()],
            Keymap::shipped("default").expect("keymap"),
            fleet.status.clone(),
            100,
            chrono::Utc::now(),
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, fleet.events.recv()).await {
            update(&mut state, Msg::Pipeline(ev));
        }
        let local = state
            .actions
            .iter()
            .find(|x| {
                x.state == autosec::domain::ActionState::PendingApproval
                    && state.alerts.iter().any(|al| {
                        al.alert_id == x.alert_id
                            && al.description.starts_with(&format!("[{engine}] "))
                    })
            })
            .map(|x| x.action_id);
        let local =
            local.unwrap_or_else(|| panic!("engine {engine}'s pending action in the console"));
        let reply = fleet
            .commands()
            .ask(EngineCommand::Reject {
                action_id: local,
                by: "fleet-tester".into(),
                reason: Some("seen from the fleet".into()),
            })
            .await
            .expect("engine reachable")
            .expect("rejected");
        assert_eq!(reply["action_id"], action_id, "the owner's own id: {reply}");
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 40)).expect("terminal");
        crate::console::screen(&mut terminal, &state)
    })
}

#[test]
fn decisions_over_nats_take_the_server_s_word_for_who_asked() {
    if !nats_installed() {
        return;
    }
    // Engines sit in their own account, may not publish on the control subjects themselves,
    // and export the control service; analysts import it with `share`, so the server writes
    // who asked into Nats-Request-Info (overwriting a forged one). OTHERS import without
    // `share`: the server names their account only.
    let accounts = r#"accounts {
  ENGINES { users = [{user: engine, password: "engine-pw", permissions: {publish: {deny: ["autosec.control.>"]}}}], exports = [{service: "autosec.control.*"}] }
  ANALYSTS { users = [{user: alice, password: "alice-pw"}], imports = [{service: {account: ENGINES, subject: "autosec.control.*"}, share: true}] }
  OTHERS { users = [{user: bob, password: "bob-pw"}], imports = [{service: {account: ENGINES, subject: "autosec.control.*"}}] }
}"#;
    let nats = Nats::start(1, accounts);
    let port = nats.ports[0];
    let env = Env::new();
    let password = env.write("engine.password", "engine-pw\n");
    let s = start_with(
        &env,
        &format!(
            "\n[engine]\nid = \"a\"\n\n[output.nats]\nurl = \"nats://127.0.0.1:{port}\"\nuser = \"engine\"\npassword_file = \"{}\"\nrequire_attested = true\n",
            password.display()
        ),
        &[],
    );
    let posted = s.post(
        "/api/v1/logs/ingest",
        crate::api::SHIPPER,
        "application/x-ndjson",
        crate::api::brute_force_ndjson(40),
    );
    assert_eq!(posted.status(), 200);
    let mut id = 0;
    wait_for("a RED action waiting", || {
        let list = s.json("/api/v1/actions?state=pending_approval");
        match list["actions"].as_array().and_then(|a| a.first()) {
            Some(a) => {
                id = a["action_id"].as_u64().expect("id");
                true
            }
            None => false,
        }
    });
    let ask = |user: &'static str, op: &'static str| {
        runtime().block_on(async move {
            let client = async_nats::ConnectOptions::with_user_and_password(
                user.into(),
                format!("{user}-pw"),
            )
            .connect(format!("127.0.0.1:{port}"))
            .await
            .expect("connect");
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(
                "Nats-Request-Info",
                r#"{"acc":"ANALYSTS","user":"mallory"}"#,
            );
            let body = serde_json::json!({"op": op, "action_id": id, "by": "mallory"});
            let answer = client
                .request_with_headers("autosec.control.a", headers, body.to_string().into())
                .await
                .expect("an answer");
            serde_json::from_slice::<Value>(&answer.payload).expect("json")
        })
    };
    let from_bob = ask("bob", "reject");
    assert!(
        from_bob["error"]
            .as_str()
            .is_some_and(|e| e.contains("attest")),
        "no user vouched for: refused, forged header or not: {from_bob}"
    );
    let from_alice = ask("alice", "approve");
    assert_eq!(
        from_alice["ok"]["decision"]["by"], "nats:ANALYSTS/alice",
        "the server's word, not the forged header's: {from_alice}"
    );
    let on_engine = s.json(&format!("/api/v1/actions/{id}"));
    assert_eq!(
        on_engine["decision"]["by"], "nats:ANALYSTS/alice",
        "{on_engine}"
    );
}
