//! What the user sees: the live progress line and the text summary.

pub mod format;
pub mod progress;
pub mod summary;
