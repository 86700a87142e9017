//! What the user sees: the live progress line and the text summary.

pub(crate) mod format;
pub(crate) mod progress;
pub(crate) mod summary;
