//! What the user sees: the live progress line, and where results go (the
//! text summary itself is rendered by `pummel_report::summary`).

pub(crate) mod destinations;
pub(crate) mod live;
pub(crate) mod progress;
pub(crate) mod stderr;
