//! AutoSec: an autonomous security analyst in a terminal. The engine (ingest, detection,
//! intel, explanation, response over sled) knows nothing about terminals; the CLI and the
//! ratatui console (`app` + `ui` over `pipeline`) are front ends over it.

pub mod api;
pub mod app;
pub mod bus;
pub mod cli;
pub mod commands;
pub mod config;
pub mod datasets;
pub mod detect;
pub mod domain;
pub mod eval;
pub mod explain;
pub mod ingest;
pub mod intel;
mod json_visit;
pub mod pipeline;
pub mod privacy;
pub mod report;
pub mod respond;
pub mod sanitize;
pub mod store;
pub mod ui;

pub use commands::run;
