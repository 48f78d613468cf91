//! The real embedding model (models/all-MiniLM-L6-v2, installed by `models/fetch`, which
//! `.ci/run` runs). Without the model these tests say so and pass, unless
//! AUTOSEC_REQUIRE_MODELS=1 (set by CI), where a missing model is a failure.

use std::path::PathBuf;

use autosec::intel::embed::{Embedder, dot};

use crate::common::{Env, assert_success};

fn model_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2");
    if dir.join("model.safetensors").exists() {
        return Some(dir);
    }
    let required = std::env::var("AUTOSEC_REQUIRE_MODELS").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "AUTOSEC_REQUIRE_MODELS=1 but {} is missing (run models/fetch)",
        dir.display()
    );
    eprintln!("skipping: no model in {} (run models/fetch)", dir.display());
    None
}

#[test]
fn minilm_reproduces_the_reference_embeddings() {
    let Some(dir) = model_dir() else { return };
    let reference = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/embeddings/minilm-l6-v2-reference.json");
    let Ok(text) = std::fs::read_to_string(&reference) else {
        eprintln!("skipping: {} not present", reference.display());
        return;
    };
    let reference: serde_json::Value = serde_json::from_str(&text).expect("reference JSON");
    let sentences: Vec<&str> = reference["sentences"]
        .as_array()
        .expect("sentences")
        .iter()
        .map(|s| s.as_str().expect("sentence"))
        .collect();
    let expected: Vec<Vec<f32>> =
        serde_json::from_value(reference["embeddings"].clone()).expect("embeddings");
    let embedder = Embedder::load(&dir, 256).expect("model loads");
    assert_eq!(embedder.dim(), 384);
    // One batch (padded to the longest sentence) and one at a time must both match.
    let batch = embedder.embed_batch(&sentences).expect("embed batch");
    for (i, (got, want)) in batch.iter().zip(&expected).enumerate() {
        let norm = want.iter().map(|x| x * x).sum::<f32>().sqrt();
        let cosine = dot(got, want) / norm;
        assert!(cosine >= 0.999, "sentence {i}: cosine {cosine}");
        let single = embedder.embed_one(sentences[i]).expect("embed one");
        assert!(dot(&single, got) >= 0.9999, "padding changed sentence {i}");
    }
    // Related sentences are closer than unrelated ones.
    assert!(dot(&batch[0], &batch[1]) > dot(&batch[0], &batch[2]) + 0.2);
}

#[test]
fn hybrid_retrieval_persists_its_index_and_beats_the_target() {
    let Some(_) = model_dir() else { return };
    let env = Env::new();
    let run = |args: &[&str]| {
        let out = env
            .cmd()
            .env_remove("AUTOSEC_NO_MODELS")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .output()
            .expect("run autosec");
        assert_success(&out);
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // First use embeds the bundled corpus once and builds the HNSW index.
    let (stdout, stderr) = run(&[
        "intel",
        "search",
        "--json",
        "-k",
        "3",
        "--kind",
        "technique",
        "many failed ssh passwords for root from one address",
    ]);
    assert!(stderr.contains("embedding"), "{stderr}");
    assert!(stderr.contains("HNSW index of"), "{stderr}");
    let outcome: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(outcome["ranking"], "hybrid");
    assert_eq!(outcome["hits"][0]["id"], "T1110.001");
    assert!(outcome["hits"][0]["vector"].as_f64().expect("vector score") > 0.3);

    // A new data dir of the same user reads the corpus vectors from the user cache instead
    // of embedding them again (only its HNSW index is built).
    let other = Env::new();
    let out = other
        .cmd()
        .env_remove("AUTOSEC_NO_MODELS")
        .env("AUTOSEC_CACHE_DIR", env.path("cache"))
        .args(["intel", "status", "--json"])
        .output()
        .expect("run autosec");
    assert_success(&out);
    let stderr_other = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr_other.contains("embedding"), "{stderr_other}");
    let other_status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status");
    assert_eq!(other_status["embedded"], other_status["passages"]);

    // Second start: vectors and index come from sled, nothing is re-embedded or rebuilt.
    let (status, stderr) = run(&["intel", "status", "--json"]);
    assert!(!stderr.contains("embedding"), "{stderr}");
    let status: serde_json::Value = serde_json::from_str(&status).expect("status");
    assert_eq!(status["model_ready"], true);
    assert_eq!(status["indexed"], status["passages"]);
    assert_eq!(status["exact_tail"], 0);

    // An import embeds only the new passage (the rest come from the store).
    let feed = env.write(
        "past.jsonl",
        r#"{"id":"INC-2026-950","title":"Pangolin credential harvest","summary":"Phishing kit captured SSO passwords and session cookies of the finance team."}"#,
    );
    let (_, stderr) = run(&["intel", "import", feed.to_str().expect("utf-8")]);
    assert!(stderr.contains("embedding 1 passages"), "{stderr}");
    let (stdout, _) = run(&[
        "intel",
        "search",
        "--json",
        "--kind",
        "incident",
        "pangolin phishing kit stole sso session cookies",
    ]);
    let outcome: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(outcome["hits"][0]["id"], "INC-2026-950");

    new_documents_are_searched_exactly_until_the_rebuild(&env);

    let queries = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/intel/queries.jsonl");
    let (stdout, _) = run(&[
        "eval",
        "rag",
        queries.to_str().expect("utf-8"),
        "--json",
        "--ranking",
        "hybrid",
    ]);
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("report");
    let hybrid = &report["modes"][0];
    assert_eq!(hybrid["ranking"], "hybrid");
    assert!(hybrid["hit_at_3"].as_f64().expect("h3") >= 0.9, "{hybrid}");
}

/// In-process, on the store the CLI left: a document added after the HNSW snapshot is found by
/// the exact scan, and found again once a background rebuild is installed.
fn new_documents_are_searched_exactly_until_the_rebuild(env: &Env) {
    use autosec::intel::doc::{DocKind, IntelDoc, Section};
    use autosec::intel::store::{SourceRecord, replace_source};
    use autosec::intel::{Intel, ModelState, SearchOptions};

    let mut config = autosec::config::Config::defaults().expect("defaults");
    // In-process: this test's own vector cache, not the user's (another run may have filled it).
    config.intel.vector_cache = env.path("inproc-cache").display().to_string();
    let model_dir = model_dir().expect("model");
    let model = ModelState::Ready(std::sync::Arc::new(
        Embedder::load(&model_dir, config.intel.max_tokens).expect("model loads"),
    ));
    let store = env.store();
    let doc = IntelDoc {
        id: "INC-2026-951".into(),
        kind: DocKind::Incident,
        source: "incidents:late.jsonl".into(),
        title: "Axolotl cryptominer on build runners".into(),
        tactics: vec![],
        techniques: vec!["T1496.001".into()],
        sections: vec![Section {
            heading: "What happened".into(),
            text: "A cryptocurrency miner ran on the CI build runners for two days.".into(),
        }],
        embed: true,
        url: None,
    };
    let record = SourceRecord {
        source: doc.source.clone(),
        format: "incidents JSON lines".into(),
        file: "late.jsonl".into(),
        imported_at: chrono::Utc::now(),
        docs: 1,
        lexical_only: 0,
    };
    replace_source(&store, &record, std::slice::from_ref(&doc)).expect("store doc");
    let mut intel = Intel::open(&store, &config.intel, model).expect("open");
    assert_eq!(
        intel.pending_passages(),
        1,
        "only the new passage needs a vector"
    );
    intel.embed_pending(&store, |_, _| {}).expect("embed");
    assert!(intel.index_is_stale());
    let opts = SearchOptions {
        k: 1,
        ranking: Some(autosec::config::Ranking::Vector),
        kind: Some(DocKind::Incident),
    };
    let query = "crypto mining on continuous integration machines";
    let before = intel.search(query, &opts).expect("search");
    assert_eq!(before.hits[0].id, "INC-2026-951", "exact scan of the tail");
    let snapshot = intel.spawn_rebuild().expect("model").join().expect("build");
    intel.save_and_install(&store, snapshot).expect("install");
    assert!(!intel.index_is_stale());
    let after = intel.search(query, &opts).expect("search");
    assert_eq!(
        after.hits[0].id, "INC-2026-951",
        "now from the HNSW snapshot"
    );
}

#[test]
fn a_new_data_dir_reuses_the_users_index_and_query_vectors_without_the_weights() {
    let Some(_) = model_dir() else { return };
    let log = crate::common::failed_root_logins(30);
    let cache = Env::new();
    let ingest = |env: &Env| {
        let path = env.write("auth.log", &log);
        let out = env
            .cmd()
            .env_remove("AUTOSEC_NO_MODELS")
            .env("AUTOSEC_CACHE_DIR", cache.path("cache"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["ingest", "--json", path.to_str().expect("utf-8")])
            .output()
            .expect("run autosec");
        assert_success(&out);
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("summary");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let alerts = crate::common::Env::cmd(env)
            .args(["alerts", "--json"])
            .output()
            .expect("alerts");
        (
            summary,
            stderr,
            String::from_utf8_lossy(&alerts.stdout).into_owned(),
        )
    };
    // The first data dir on this (empty) cache embeds and builds, and reads the weights.
    let (first, stderr, first_alerts) = ingest(&Env::new());
    assert_eq!(first["intel_ranking"], "hybrid", "{first}");
    assert_eq!(first["intel_model_loaded"], true, "{first}");
    assert!(stderr.contains("built in"), "{stderr}");
    // The next one reads the index and the query vectors from the cache: same matches, and
    // the weights are never read.
    let (second, stderr, second_alerts) = ingest(&Env::new());
    assert_eq!(second["intel_ranking"], "hybrid", "{second}");
    assert_eq!(second["intel_model_loaded"], false, "{second}");
    assert!(stderr.contains("read from the user's cache"), "{stderr}");
    let matches = |text: &str| -> Vec<serde_json::Value> {
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|a| a["intel"]["matches"].clone())
            .collect()
    };
    assert!(!matches(&first_alerts).is_empty());
    assert_eq!(matches(&first_alerts), matches(&second_alerts));
}

#[test]
fn weights_that_cannot_be_read_leave_lexical_ranking_with_the_reason() {
    let Some(dir) = model_dir() else { return };
    let env = Env::new();
    let broken = env.path("broken-model");
    std::fs::create_dir_all(&broken).expect("mkdir");
    for file in ["config.json", "tokenizer.json"] {
        std::fs::copy(dir.join(file), broken.join(file)).expect("copy");
    }
    std::fs::write(broken.join("model.safetensors"), b"not safetensors").expect("write");
    let config = env.write(
        "broken.toml",
        format!(
            "[intel]\nmodel_dir = {:?}\n",
            broken.to_str().expect("utf-8")
        ),
    );
    let out = env
        .cmd()
        .env_remove("AUTOSEC_NO_MODELS")
        .arg("--config")
        .arg(&config)
        .args(["intel", "search", "--json", "failed ssh passwords for root"])
        .output()
        .expect("run autosec");
    assert_success(&out);
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(outcome["ranking"], "lexical", "{outcome}");
    let reason = outcome["fallback"].as_str().expect("a reason");
    assert!(reason.contains("cannot be loaded"), "{reason}");
    assert!(!outcome["hits"].as_array().expect("hits").is_empty());
}
