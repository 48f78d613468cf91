//! Evaluation against labels: `eval detect` (and `eval rag` with the intel issue).

pub mod detect;
