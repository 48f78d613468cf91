//! The console's application layer: state, the pure reducer, `:` commands, and the driver
//! that connects terminal, pipeline and renderer.

mod apply;
pub mod command;
#[doc(hidden)]
pub mod fixture;
pub mod highlight;
pub mod keymap;
pub mod state;
pub mod theme;
pub mod update;

pub use state::AppState;
pub use update::{Effect, Msg, update};
