//! The console's application layer: state, the pure reducer, `:` commands, and the driver
//! that connects terminal, pipeline and renderer.

mod apply;
pub mod command;
pub mod driver;
#[doc(hidden)]
pub mod fixture;
pub mod state;
pub mod update;

pub use state::AppState;
pub use update::{Effect, Msg, update};
