//! What the user sees while a run goes: the live progress line. The text
//! summary at its end is `pummel_report::summary`.

pub(crate) mod progress;
