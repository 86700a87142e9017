//! Exit codes, which users script around (the same as k6's where they overlap).

/// The run finished (whatever the target answered).
pub(crate) const SUCCESS: i32 = 0;
/// The run could not go on: a run-time failure (cannot write a file, …).
pub(crate) const RUNTIME_FAILURE: i32 = 1;
/// Bad flags, a bad URL, an unknown host, an invalid scenario file.
pub(crate) const USAGE: i32 = 2;
/// A scenario run finished and one of its thresholds failed.
pub(crate) const THRESHOLDS_FAILED: i32 = 99;
/// The run was interrupted (Ctrl-C); what was measured was still written.
pub(crate) const INTERRUPTED: i32 = 130;

/// A command that failed, with the code to exit with.
#[derive(Debug)]
pub(crate) struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub(crate) fn usage(message: impl Into<String>) -> Failure {
        Failure {
            code: USAGE,
            message: message.into(),
        }
    }

    pub(crate) fn runtime(message: impl Into<String>) -> Failure {
        Failure {
            code: RUNTIME_FAILURE,
            message: message.into(),
        }
    }
}
