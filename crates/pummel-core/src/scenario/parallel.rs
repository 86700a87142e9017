//! `parallel:`: request steps sent at once, as a browser loads a page's
//! assets (k6's `http.batch`).
//!
//! (The step itself, `Parallel`, is in the model, which holds steps.)
//!
//! What a batch means, decided once here and documented in
//! docs/scenarios.md:
//!
//! - every request of the batch is rendered with the variables as they were
//!   before it, and they are sent together over several connections of the
//!   virtual user: at most `connections` per origin (6 unless set, as
//!   browsers do), a request waiting for a free connection of its origin
//!   when there are more; HTTP/2 requests share one connection per origin
//!   as streams instead;
//! - each request is a step of its own in the metrics (by its name), inside
//!   a group named after the batch; the batch's own latency, the time until
//!   its slowest request ended, is kept beside the group's roll-up;
//! - captures of the batch's requests are available to the steps after the
//!   batch, not to each other; checks judge each response as it is;
//! - a failure (an error, a failed check, a capture that found nothing) in
//!   one request cancels none of the others; once all have ended, the most
//!   severe `on_error` of the failed ones (the request's own, else the
//!   batch's, else the defaults') says what happens next;
//! - in an open model, a batch that starts the iteration counts every
//!   request's latency, and its own, from the iteration's scheduled start.

use super::flow::OnError;

/// Connections per origin a batch opens unless it says otherwise: what
/// browsers allow themselves for HTTP/1.1.
pub(crate) const DEFAULT_CONNECTIONS: u32 = 6;

/// The most connections per origin a batch may be given.
pub(crate) const MAX_CONNECTIONS: u32 = 256;

/// The most requests one batch may hold.
pub(crate) const MAX_REQUESTS: usize = 1_000;

impl OnError {
    /// How far a failure reaches: a batch takes the furthest of its failed
    /// requests'.
    pub(crate) fn severity(self) -> u8 {
        match self {
            OnError::Continue => 0,
            OnError::AbortIteration => 1,
            OnError::AbortVu => 2,
        }
    }
}
