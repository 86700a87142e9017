//! The global setup and teardown: steps run once, as VU 0, on the calling
//! thread, outside the load (before it and after it).

use std::sync::Arc;
use std::time::Instant;

use super::program::Op;
use super::vu::{Abort, RenderError, Vu};
use super::worker_state::{WorkerPlan, WorkerState};
use crate::metrics::{MetricLayout, Recorder, WorkerMessage};
use crate::scenario::feeder::FeederError;

/// Why the global setup or teardown failed.
#[derive(Debug, thiserror::Error)]
pub enum GlobalStepsError {
    /// No runtime to run the steps on.
    #[error("cannot start a runtime: {0}")]
    Runtime(std::io::Error),
    /// One of the plan's `variables` did not render.
    #[error(transparent)]
    Variables(#[from] RenderError),
    /// A data feeder had no row for VU 0.
    #[error(transparent)]
    Feeder(#[from] FeederError),
    /// A step failed (the message is the iteration's abort message).
    #[error("{0}")]
    Step(String),
}

/// Runs global setup or teardown steps once, as VU 0, on the calling
/// thread. Returns the variables afterwards (the setup's captures) and what
/// the steps measured; an aborted step is an error.
pub(super) fn run_global_steps(
    plan: &WorkerPlan,
    ops: &[Op],
    layout: Arc<MetricLayout>,
) -> Result<(Vec<Option<String>>, Vec<WorkerMessage>), GlobalStepsError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(GlobalStepsError::Runtime)?;
    let local = tokio::task::LocalSet::new();
    let (sink, inbox) = std::sync::mpsc::channel();
    let vars = local.block_on(&runtime, async {
        let recorder = Recorder::new(0, Instant::now(), layout, sink);
        let shared = WorkerState::new(plan, recorder, u64::MAX);
        let mut vu = Vu::new(0, 0, &shared);
        vu.init_variables(&shared)?;
        vu.draw_rows(&shared)?;
        let outcome = vu.run_ops_despite_stop(&shared, ops).await;
        vu.close(&shared);
        shared.recorder.borrow_mut().finish(shared.report());
        match outcome {
            Err(Abort::Iteration(message) | Abort::Vu(message)) => {
                Err(GlobalStepsError::Step(message))
            }
            _ => Ok(vu.into_vars()),
        }
    })?;
    Ok((vars, inbox.try_iter().collect()))
}
