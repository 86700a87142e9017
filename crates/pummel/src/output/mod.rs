//! What the user sees: the live progress line and the text summary, and
//! where results go.

pub(crate) mod destinations;
pub(crate) mod format;
pub(crate) mod progress;
pub(crate) mod summary;
