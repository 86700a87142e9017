//! Requests and iterations under way, so that the end of a run cuts them
//! without losing them.
//!
//! A run stops (its deadline, Ctrl-C, a threshold that aborts) by dropping
//! the futures of its users' iterations wherever they are. A request on the
//! wire at that moment reached the target all the same, and an iteration
//! half done was started: each is counted, as cut. A guard made when the
//! request or iteration starts does that: settled when it finishes, it
//! counts it cut if it is dropped unsettled, whichever way the drop came, so
//! each one is counted exactly once.

use std::time::Instant;

use super::program::ScenarioOps;
use super::worker_state::WorkerState;
use crate::metrics::KeyId;
use crate::pacer::is_late;

/// A request being sent, or waiting for its response.
pub(super) struct RequestInFlight<'a> {
    shared: &'a WorkerState,
    key: KeyId,
    settled: bool,
}

impl<'a> RequestInFlight<'a> {
    /// A request of step `key` about to go out.
    pub(super) fn start(shared: &'a WorkerState, key: KeyId) -> RequestInFlight<'a> {
        RequestInFlight {
            shared,
            key,
            settled: false,
        }
    }

    /// The request finished (with a response or an error) and was recorded.
    pub(super) fn settle(mut self) {
        self.settled = true;
    }
}

impl Drop for RequestInFlight<'_> {
    fn drop(&mut self) {
        if !self.settled {
            let mut recorder = self.shared.recorder.borrow_mut();
            recorder.stats(self.key, Instant::now()).aborted += 1;
        }
    }
}

/// An iteration that has started: its scenario drawn and, in an open
/// model, its scheduled slot taken.
pub(super) struct IterationInFlight<'a> {
    shared: &'a WorkerState,
    scenario: usize,
    settled: bool,
}

impl<'a> IterationInFlight<'a> {
    /// Starts an iteration of a scenario drawn by weight; `scheduled` is
    /// its slot's moment in an open model (an iteration that starts late is
    /// counted late as it starts, however it ends).
    pub(super) fn start(
        shared: &'a WorkerState,
        scheduled: Option<Instant>,
    ) -> IterationInFlight<'a> {
        let scenario = match &shared.next_in_order {
            // Weights are all 1 then: pick k is scenario k mod n.
            Some(next) => {
                let k = next.get();
                next.set(k + 1);
                shared.pick.pick_with(k)
            }
            None => shared.pick.pick(),
        };
        let now = Instant::now();
        if scheduled.is_some_and(|at| is_late(at, now)) {
            let key = shared.program.scenarios[scenario].iteration_key;
            shared.recorder.borrow_mut().stats(key, now).late += 1;
        }
        IterationInFlight {
            shared,
            scenario,
            settled: false,
        }
    }

    /// The index of the iteration's scenario.
    pub(super) fn scenario(&self) -> usize {
        self.scenario
    }

    /// The iteration ran every step.
    pub(super) fn completed(self) {
        let counter = self.ops().completed_counter;
        self.settle(counter);
    }

    /// An error stopped the iteration (a request failed, a capture found
    /// nothing, the feeder ran dry).
    pub(super) fn failed(self) {
        let counter = self.ops().aborted_counter;
        self.settle(counter);
    }

    fn ops(&self) -> &ScenarioOps {
        &self.shared.program.scenarios[self.scenario]
    }

    fn settle(mut self, counter: crate::metrics::CounterId) {
        self.settled = true;
        self.shared
            .recorder
            .borrow_mut()
            .count(counter, 1, Instant::now());
    }
}

impl Drop for IterationInFlight<'_> {
    fn drop(&mut self) {
        if !self.settled {
            let key = self.ops().iteration_key;
            let mut recorder = self.shared.recorder.borrow_mut();
            recorder.stats(key, Instant::now()).aborted += 1;
        }
    }
}
