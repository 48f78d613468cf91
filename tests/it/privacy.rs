//! Privacy is a promise: after an ingest with privacy on, no planted raw IP, email or username
//! appears in any file of the data dir, nor in any sled tree decoded through its codec.

use crate::common::{Env, files_under};
use autosec::store::{chunk_first_id, decode_chunk};

const RAW: &[&str] = &[
    "203.0.113.77",
    "2001:db8:77::5",
    "192.0.2.55",
    "198.51.100.201",
    "zelda.secret@example.org",
    "quentin",
    "mallory_x",
    "zeldauser",
    "ursula",
    "sessionvictor",
];

fn plant(env: &Env) {
    env.write(
        "in/auth.log",
        "Mar  5 06:25:01 web-1 sshd[811]: Failed password for quentin from 203.0.113.77 port 52144 ssh2\n\
         Mar  5 06:25:04 web-1 sshd[811]: Accepted password for quentin from 203.0.113.77 port 52144 ssh2\n\
         Mar  5 06:26:00 web-1 sudo:  quentin : TTY=pts/0 ; PWD=/home/quentin ; USER=root ; COMMAND=/bin/cat /etc/shadow\n\
         Mar  5 06:27:00 web-1 sshd[900]: Invalid user mallory_x from 2001:db8:77::5 port 4242\n\
         Mar  5 06:27:30 web-1 sshd[901]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.77  user=quentin\n\
         Mar 99 99:99:99 web-1 sshd[1]: Failed password for ursula from 198.51.100.201 port 1 ssh2\n",
    );
    env.write(
        "in/app.jsonl",
        "{\"timestamp\":\"2024-05-01T12:00:00Z\",\"source_ip\":\"198.51.100.201\",\"user_id\":\"zelda.secret@example.org\",\"action\":\"login\",\"status\":\"failed\",\"metadata\":{\"msg\":\"login for zelda.secret@example.org from 198.51.100.201\"}}\n\
         {\"@timestamp\":\"2024-05-01T12:00:01Z\",\"source\":{\"ip\":\"2001:db8:77::5\"},\"user\":{\"name\":\"zeldauser\"},\"event\":{\"action\":\"login\",\"outcome\":\"success\"}}\n\
         {\"timestamp\":\"2024-05-01T12:00:02Z\",\"user_id\":\"ursula\",\"source_ip\":\"203.0.113.77\",\n\
         not json but mentions zelda.secret@example.org and 192.0.2.55\n",
    );
    env.write(
        "in/ct.json",
        r#"{"Records":[{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAX","arn":"arn:aws:iam::111122223333:user/zeldauser","accountId":"111122223333","userName":"zeldauser"},"eventTime":"2024-05-01T12:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.55","requestParameters":{"userName":"mallory_x"},"responseElements":{"accessKey":{"userName":"mallory_x","status":"Active"}},"eventID":"11111111-2222-3333-4444-555555555555"},{"eventTime":"2024-05-01T12:00:01Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Admin/zelda.secret@example.org","principalId":"AROAX:zelda.secret@example.org"},"sourceIPAddress":"203.0.113.77","eventID":"e2"},{"eventTime":"2024-05-01T12:00:01Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/Dev/sessionvictor","principalId":"AROAEXAMPLE:sessionvictor","sessionContext":{"sessionIssuer":{"type":"Role","userName":"Dev"}}},"sourceIPAddress":"203.0.113.77","eventID":"e3"},{"eventTime":"2024-05-01T12:00:02Z","eventName":"GetObject","userIdentity":{"userName":"quentin"#,
    );
    env.write(
        "in/flows.csv",
        "Flow ID, Source IP, Source Port, Destination IP, Destination Port, Protocol, Timestamp, Flow Duration, Label\n\
         192.0.2.55-203.0.113.77-5555-22-6,192.0.2.55,5555,203.0.113.77,22,6,5/5/2024 10:00:00,1200,PortScan\n\
         192.0.2.55,too,few\n",
    );
}

#[test]
fn no_raw_pii_anywhere_in_the_data_dir() {
    let env = Env::new();
    plant(&env);
    let summary = env.ingest(&[env.path("in").to_str().expect("utf8")]);
    assert!(
        summary["events"].as_u64().expect("events") >= 10,
        "{summary}"
    );
    assert!(
        summary["rejected"].as_u64().expect("rejected") >= 4,
        "{summary}"
    );
    let printed = summary.to_string();
    for raw in RAW {
        assert!(!printed.contains(raw), "summary shows {raw}: {printed}");
    }

    // 1. Raw bytes of every file sled wrote.
    for file in files_under(&env.data()) {
        let bytes = std::fs::read(&file).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        for raw in RAW {
            assert!(!text.contains(raw), "{raw} found in {}", file.display());
        }
    }

    // 2. Every tree, decoded (event chunks are compressed, so raw bytes alone prove little).
    let store = env.store();
    let mut decoded_events = 0;
    for name in store.db.tree_names() {
        let tree = store.db.open_tree(&name).expect("tree");
        for item in tree.iter() {
            let (k, v) = item.expect("item");
            let mut texts = vec![String::from_utf8_lossy(&k).into_owned()];
            if name.as_ref() == b"events" {
                for ev in decode_chunk(chunk_first_id(&k).expect("key"), &v).expect("chunk") {
                    decoded_events += 1;
                    texts.push(serde_json::to_string(&ev).expect("json"));
                }
            } else {
                texts.push(String::from_utf8_lossy(&v).into_owned());
            }
            for text in &texts {
                for raw in RAW {
                    assert!(
                        !text.contains(raw),
                        "{raw} found in tree {:?}: {text}",
                        String::from_utf8_lossy(&name)
                    );
                }
            }
        }
    }
    assert_eq!(decoded_events as u64, store.event_count().expect("count"));
    drop(store);

    // Role names are not people: readable, and the same in the ARN and user_id.
    let events = env.events();
    let role = events
        .iter()
        .find(|e| e.origin.record_id.as_deref() == Some("e3"))
        .expect("e3");
    let role_user = role.user_id.clone().unwrap_or_default();
    assert!(role_user.starts_with("Dev/USER_"), "{role_user}");
    let arn = role.metadata["userIdentity"]["arn"]
        .as_str()
        .unwrap_or_default();
    assert!(arn.ends_with(&format!("assumed-role/{role_user}")), "{arn}");

    // Tokens are consistent: the same IP got the same token in every format.
    let ip_tokens: std::collections::BTreeSet<_> = events
        .iter()
        .filter(|e| {
            serde_json::to_string(&e.metadata)
                .unwrap_or_default()
                .contains("52144")
                || e.action == "CreateAccessKey"
        })
        .filter_map(|e| e.source_ip.clone())
        .collect();
    assert!(
        ip_tokens.iter().all(|t| t.starts_with("IP_ADDRESS_")),
        "{ip_tokens:?}"
    );
    let emails: Vec<_> = events
        .iter()
        .filter_map(|e| e.user_id.clone())
        .filter(|u| u.contains("***@"))
        .collect();
    assert!(
        emails.iter().all(|u| u.ends_with("***@example.org")),
        "{emails:?}"
    );

    let quarantine = env.cmd().arg("quarantine").output().expect("quarantine");
    let shown = String::from_utf8_lossy(&quarantine.stdout);
    for raw in RAW {
        assert!(
            !shown.contains(raw),
            "quarantine listing shows {raw}: {shown}"
        );
    }
}

#[test]
fn pseudonyms_survive_restarts_and_vault_resolves() {
    let env = Env::new();
    env.write("a.jsonl", "{\"timestamp\":\"2024-05-01T12:00:00Z\",\"source_ip\":\"203.0.113.77\",\"user_id\":\"quentin\",\"action\":\"login\"}\n");
    env.write("b.jsonl", "{\"timestamp\":\"2024-05-01T12:00:01Z\",\"source_ip\":\"192.0.2.55\",\"user_id\":\"ursula\",\"action\":\"login\"}\n{\"timestamp\":\"2024-05-01T12:00:02Z\",\"source_ip\":\"203.0.113.77\",\"user_id\":\"quentin\",\"action\":\"login\"}\n");
    env.ingest(&[env.path("a.jsonl").to_str().expect("utf8")]);
    env.ingest(&[env.path("b.jsonl").to_str().expect("utf8")]);
    let events = env.events();
    let ips: Vec<_> = events
        .iter()
        .map(|e| e.source_ip.clone().unwrap_or_default())
        .collect();
    assert_eq!(ips, ["IP_ADDRESS_1", "IP_ADDRESS_2", "IP_ADDRESS_1"]);
    let users: Vec<_> = events
        .iter()
        .map(|e| e.user_id.clone().unwrap_or_default())
        .collect();
    assert_eq!(users, ["USER_A", "USER_B", "USER_A"]);

    let config = autosec::config::Config::defaults().expect("defaults");
    let store = env.store();
    let keys =
        autosec::privacy::VaultKeys::load_or_create(&env.path("config/vault.key")).expect("key");
    let pseudo = autosec::privacy::Pseudonymiser::new(keys, &store, config.privacy.cache_entries);
    assert_eq!(
        pseudo.resolve("IP_ADDRESS_2").expect("resolve").as_deref(),
        Some("192.0.2.55")
    );
    assert_eq!(
        pseudo.resolve("USER_A").expect("resolve").as_deref(),
        Some("quentin")
    );
}

#[test]
fn no_privacy_is_explicit_and_recorded() {
    let env = Env::new();
    env.write("a.jsonl", "{\"timestamp\":\"2024-05-01T12:00:00Z\",\"source_ip\":\"203.0.113.77\",\"user_id\":\"quentin\",\"action\":\"login\"}\n");
    let out = env
        .cmd()
        .args(["--no-privacy", "ingest", "--json"])
        .arg(env.path("a.jsonl"))
        .output()
        .expect("run");
    crate::common::assert_success(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("privacy is OFF"));
    let events = env.events();
    assert_eq!(events[0].source_ip.as_deref(), Some("203.0.113.77"));
    assert!(env.store().privacy_opt_out().expect("meta").is_some());
}
