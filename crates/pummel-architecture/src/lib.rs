//! Reads the workspace's library crates as source (with `syn`) to check the
//! architecture that ARCHITECTURE.md describes: the public items of each crate
//! (its API boundary), the module graph (one-way between siblings) and the size
//! of source files. The checks themselves are the tests in `tests/`.

mod api;
mod modules;

pub use api::public_items;
pub use modules::{sibling_cycles, CrateSource, Module};
