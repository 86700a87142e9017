//! Why a virtual user's iteration ended before its last step.

/// Why a VU's iteration stopped before its last step.
#[derive(Debug)]
pub(in crate::run) enum Abort {
    /// A request failed or a required capture found nothing: later steps
    /// would act on missing data.
    Iteration(String),
    /// A step with `on_error: abort_vu` failed: the virtual user ends.
    Vu(String),
    /// The run is stopping.
    Stopping,
}
