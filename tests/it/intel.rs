//! Threat intel through the CLI, lexical (BM25) ranking: the harness disables local models
//! (AUTOSEC_NO_MODELS); the candle model path is tested in `intel_model.rs`.

use std::path::PathBuf;

use crate::common::{Env, assert_success};

fn run(env: &Env, args: &[&str]) -> (String, String) {
    let out = env.cmd().args(args).output().expect("run autosec");
    assert_success(&out);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn search_json(env: &Env, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["intel", "search", "--json"];
    all.extend_from_slice(args);
    let (stdout, _) = run(env, &all);
    serde_json::from_str(&stdout).expect("search JSON")
}

fn ids(outcome: &serde_json::Value) -> Vec<String> {
    outcome["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["id"].as_str().expect("id").to_string())
        .collect()
}

/// Shared real feeds; tests that need them say so and pass when they are absent.
fn shared(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping: {} not present", p.display());
        None
    }
}

#[test]
fn search_without_a_model_is_lexical_and_says_so() {
    let env = Env::new();
    let (text, stderr) = run(
        &env,
        &[
            "intel",
            "search",
            "many failed SSH passwords for root from one address",
        ],
    );
    assert!(
        text.starts_with("ranking: lexical fallback (BM25)"),
        "{text}"
    );
    assert!(stderr.contains("lexical fallback"), "{stderr}");
    let outcome = search_json(
        &env,
        &[
            "--kind",
            "technique",
            "many failed SSH passwords for root from one address",
        ],
    );
    assert_eq!(outcome["ranking"], "lexical");
    assert!(
        outcome["fallback"]
            .as_str()
            .is_some_and(|f| f.contains("no embedding model"))
    );
    assert_eq!(ids(&outcome)[0], "T1110.001");
}

#[test]
fn known_alert_descriptions_rank_their_technique_first() {
    let env = Env::new();
    let cases = [
        (
            "defense_evasion: StopLogging called on the organization trail",
            "T1562.008",
        ),
        (
            "the same password tried once against many different accounts, staying under the lockout threshold",
            "T1110.003",
        ),
        (
            "new line appended to authorized_keys of the deploy user",
            "T1098.004",
        ),
        (
            "CreateSnapshot of a production EBS volume by a user who never takes snapshots",
            "T1578.001",
        ),
        ("mapped to T1552.005, what should I check", "T1552.005"),
    ];
    for (query, expected) in cases {
        let got = ids(&search_json(
            &env,
            &["--kind", "technique", "-k", "3", query],
        ));
        assert_eq!(got[0], expected, "{query}: {got:?}");
    }
}

#[test]
fn eval_rag_lexical_on_the_shipped_queries() {
    let env = Env::new();
    let queries = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/intel/queries.jsonl");
    let (stdout, _) = run(
        &env,
        &["eval", "rag", queries.to_str().expect("utf-8"), "--json"],
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("report");
    let modes = report["modes"].as_array().expect("modes");
    assert_eq!(modes.len(), 1, "without a model only lexical ranking runs");
    let lexical = &modes[0];
    assert_eq!(lexical["ranking"], "lexical");
    assert!(lexical["queries"].as_u64().expect("n") >= 60);
    // Measured 0.917 (README); this guards against regressions in tokenising or fusion.
    assert!(
        lexical["hit_at_3"].as_f64().expect("h3") >= 0.88,
        "{lexical}"
    );
    assert!(lexical["mrr"].as_f64().expect("mrr") >= 0.75, "{lexical}");
}

#[test]
fn incidents_import_keeps_good_lines_and_reimport_replaces_the_source() {
    let env = Env::new();
    let feed = env.write(
        "past.jsonl",
        concat!(
            r#"{"id":"INC-2026-900","title":"Kerberoasting drill","summary":"Quokka exfiltration over DNS tunnels during the drill.","techniques":["T1048"]}"#,
            "\nnot json at all\n",
            r#"{"id":"INC-2026-901","title":"Second","summary":"Another report."}"#,
            "\n"
        ),
    );
    let (text, stderr) = run(&env, &["intel", "import", feed.to_str().expect("utf-8")]);
    assert!(
        text.contains("imported 2 incidents JSON lines documents"),
        "{text}"
    );
    assert!(stderr.contains("skipped: line 2:"), "{stderr}");
    let got = ids(&search_json(&env, &["quokka exfiltration"]));
    assert_eq!(got[0], "INC-2026-900");

    // The same file name again, now without INC-2026-900: it disappears.
    env.write(
        "past.jsonl",
        r#"{"id":"INC-2026-901","title":"Second","summary":"Another report."}"#,
    );
    run(&env, &["intel", "import", feed.to_str().expect("utf-8")]);
    let got = ids(&search_json(&env, &["quokka exfiltration"]));
    assert!(!got.contains(&"INC-2026-900".to_string()), "{got:?}");
    let (status, _) = run(&env, &["intel", "status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status).expect("status");
    let sources = status["sources"].as_array().expect("sources");
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0]["docs"], 1);
    assert_eq!(status["model_ready"], false);
}

#[test]
fn nvd_feed_is_partly_lexical_only_and_unknown_files_are_refused() {
    let env = Env::new();
    let feed = env.write(
        "nvdcve-2.0-test.json",
        r#"{"resultsPerPage":2,"format":"NVD_CVE","version":"2.0","vulnerabilities":[
          {"cve":{"id":"CVE-2099-0001","vulnStatus":"Analyzed","descriptions":[{"lang":"en","value":"Heap overflow in OpenSSH sshd zebrafinch parser."}]}},
          {"cve":{"id":"CVE-2099-0002","vulnStatus":"Analyzed","descriptions":[{"lang":"en","value":"Printer firmware zebrafinch bug."}]}}]}"#,
    );
    let (text, _) = run(&env, &["intel", "import", feed.to_str().expect("utf-8")]);
    assert!(text.contains("1 lexical-only"), "{text}");
    let got = ids(&search_json(&env, &["--kind", "cve", "zebrafinch"]));
    assert_eq!(
        got.len(),
        2,
        "lexical-only CVEs are still searchable: {got:?}"
    );
    let exact = ids(&search_json(&env, &["what is CVE-2099-0002"]));
    assert_eq!(exact[0], "CVE-2099-0002", "an exact ID mention wins");

    let junk = env.write("notes.txt", "just some notes\n");
    let out = env
        .cmd()
        .args(["intel", "import", junk.to_str().expect("utf-8")])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a recognised feed"), "{stderr}");
}

#[test]
fn kev_catalog_import_and_exact_cve_lookup() {
    let Some(kev) = shared("kev/known_exploited_vulnerabilities.json") else {
        return;
    };
    let env = Env::new();
    let (text, _) = run(&env, &["intel", "import", kev.to_str().expect("utf-8")]);
    assert!(
        text.contains("CISA KEV catalog documents as source kev"),
        "{text}"
    );
    let got = search_json(
        &env,
        &[
            "-k",
            "3",
            "exploitation of CVE-2021-44228 in a java service",
        ],
    );
    assert_eq!(ids(&got)[0], "CVE-2021-44228");
    assert_eq!(got["hits"][0]["id_match"], true);
    // Re-import: same count, one source.
    run(&env, &["intel", "import", kev.to_str().expect("utf-8")]);
    let (status, _) = run(&env, &["intel", "status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status).expect("status");
    assert_eq!(status["sources"].as_array().expect("sources").len(), 1);
    assert!(status["sources"][0]["docs"].as_u64().expect("docs") > 1000);
}

#[test]
fn attack_stix_import_replaces_and_extends_the_technique_set() {
    let Some(stix) = shared("attack/enterprise-attack.json") else {
        return;
    };
    let env = Env::new();
    let (text, stderr) = run(
        &env,
        &["intel", "import", stix.to_str().expect("utf-8"), "--json"],
    );
    let summary: serde_json::Value = serde_json::from_str(&text).expect("summary");
    let documents = summary["documents"].as_u64().expect("documents");
    assert!((600..900).contains(&documents), "{documents}");
    assert!(stderr.contains("revoked"), "{stderr}");
    // A technique only the full import has, ranked by its own words.
    let got = ids(&search_json(
        &env,
        &[
            "--kind",
            "technique",
            "-k",
            "3",
            "Kerberoasting service ticket",
        ],
    ));
    assert_eq!(got[0], "T1558.003", "{got:?}");
    // Sub-technique IDs and tactics survive; revoked patterns do not.
    let hit = search_json(&env, &["-k", "1", "T1098.004"]);
    assert_eq!(hit["hits"][0]["id"], "T1098.004");
    let eval = {
        let queries =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/intel/queries.jsonl");
        let (stdout, _) = run(
            &env,
            &["eval", "rag", queries.to_str().expect("utf-8"), "--json"],
        );
        serde_json::from_str::<serde_json::Value>(&stdout).expect("report")
    };
    assert!(eval["techniques"].as_u64().expect("n") >= 600);
    assert!(
        eval["modes"][0]["hit_at_3"].as_f64().expect("h3") >= 0.8,
        "{eval}"
    );
}

#[test]
fn alerts_get_intel_from_a_query_without_identifiers() {
    let env = Env::new();
    let log = crate::common::failed_root_logins(30);
    let path = env.write("auth.log", log);
    let summary = env.ingest(&[path.to_str().expect("utf-8")]);
    assert!(
        summary["alerts"].as_u64().expect("alerts") >= 1,
        "{summary}"
    );
    assert!(
        summary["intel_alerts"].as_u64().expect("intel") >= 1,
        "{summary}"
    );
    assert_eq!(summary["intel_ranking"], "lexical");
    // The text summary comes before retrieval's result, which follows on its own line.
    let text_env = Env::new();
    let text_log = text_env.write("auth.log", std::fs::read(&path).expect("log"));
    let (text, _) = run(&text_env, &["ingest", text_log.to_str().expect("utf-8")]);
    let summary_at = text.find("detection:").expect("summary");
    let pending_at = text.find("intel: matching").expect("pending line");
    let done_at = text.find("alert(s) matched (lexical)").expect("done line");
    assert!(summary_at < pending_at && pending_at < done_at, "{text}");
    let (lines, _) = run(&env, &["alerts", "--json"]);
    let alert: serde_json::Value =
        serde_json::from_str(lines.lines().next().expect("an alert")).expect("alert JSON");
    let intel = &alert["intel"];
    let query = intel["query"].as_str().expect("query");
    assert!(
        !query.contains("203.0.113.9") && !query.contains("IP_ADDRESS"),
        "{query}"
    );
    let matches = intel["matches"].as_array().expect("matches");
    let techniques: Vec<&str> = matches
        .iter()
        .filter(|m| m["kind"] == "technique")
        .map(|m| m["id"].as_str().expect("id"))
        .collect();
    // The alert's own techniques (named in the query) lead: brute force and SSH.
    let own: Vec<&str> = alert["matched_techniques"]
        .as_array()
        .expect("techniques")
        .iter()
        .map(|t| t.as_str().expect("id"))
        .collect();
    assert!(own.contains(&"T1110.001"), "{own:?}");
    for t in &own {
        assert!(
            techniques[..own.len()].contains(t),
            "{t} not first: {techniques:?}"
        );
    }
    assert!(
        matches.iter().any(|m| m["kind"] == "incident"),
        "{matches:?}"
    );
}
