//! What `--http-debug` asks of a run: which exchanges to show, and where
//! their text goes (the front end prints it; the engine never does).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// Which requests `--http-debug` shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebugMode {
    /// The first VU's first iteration, headers only.
    Headers,
    /// The first VU's first iteration, with bodies (cut to 2 KiB).
    Full,
    /// Every failed request (an error, a status of 400 or more, or a failed
    /// check), with bodies, up to [`MAX_SHOWN`] of them.
    Failures,
}

/// Exchanges shown in one run at most, so a failing run under load cannot
/// flood the terminal.
pub const MAX_SHOWN: u32 = 100;

/// `--http-debug`: the mode and the sink that receives each exchange's text.
#[derive(Clone)]
pub struct HttpDebug {
    pub(crate) mode: DebugMode,
    pub(crate) sink: Arc<dyn Fn(&str) + Send + Sync>,
    shown: Arc<AtomicU32>,
}

impl HttpDebug {
    pub fn new(mode: DebugMode, sink: Arc<dyn Fn(&str) + Send + Sync>) -> HttpDebug {
        HttpDebug {
            mode,
            sink,
            shown: Arc::new(AtomicU32::new(0)),
        }
    }

    /// Counts one exchange shown; false once [`MAX_SHOWN`] were (the one
    /// past the limit says so).
    pub(crate) fn take_one(&self) -> bool {
        let n = self.shown.fetch_add(1, Ordering::Relaxed);
        if n == MAX_SHOWN {
            (self.sink)(&format!(
                "--- (--http-debug shows at most {MAX_SHOWN} exchanges; the rest are not shown)\n"
            ));
        }
        n < MAX_SHOWN
    }
}

impl std::fmt::Debug for HttpDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpDebug")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}
