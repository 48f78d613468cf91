//! AutoSec: an autonomous security analyst in a terminal. The engine (ingest → store, with
//! detection, explanation and response to come) knows nothing about terminals; the CLI is one
//! front end over it.

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
pub mod privacy;
pub mod report;
pub mod respond;
pub mod sanitize;
pub mod store;

pub use commands::run;
