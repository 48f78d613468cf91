//! Evaluation against labels: `eval detect` and `eval rag`.

pub mod detect;
pub mod rag;
