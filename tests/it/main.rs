//! Integration tests: one harness binary (one link, one process) driving the real `autosec`
//! binary and the library over real sled stores in temp dirs.

mod api;
mod common;
mod console;
mod control;
mod detect;
mod explain;
mod flows;
mod follow;
mod hostile;
mod ingest_cli;
mod intel;
mod intel_model;
mod layers;
mod nats;
mod privacy;
mod quarantine;
mod respond;
mod resume;
mod rules;
