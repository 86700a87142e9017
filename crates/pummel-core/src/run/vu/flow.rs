//! Running flow-control steps for a virtual user: loops, `if`, and what a
//! failed request step's `on_error` makes of its failure. (Retries are
//! part of sending a request: see `Vu::request`.)

use std::rc::Rc;
use std::time::Instant;

use super::{Abort, Vu};
use crate::run::program::{IfOp, LoopOp, RequestOp};
use crate::run::worker_state::WorkerState;
use crate::scenario::flow::{OnError, Repeat};
use crate::scenario::template::Condition;

impl Vu {
    /// Runs a loop's body as many times as it says.
    pub(super) async fn run_loop(
        &mut self,
        shared: &Rc<WorkerState>,
        op: &LoopOp,
        first_scheduled: &mut Option<Instant>,
        honour_stop: bool,
    ) -> Result<(), Abort> {
        let stopping = |shared: &WorkerState| honour_stop && shared.stopping.get();
        match &op.repeat {
            Repeat::Count(n) => {
                for _ in 0..*n {
                    if stopping(shared) {
                        return Err(Abort::Stopping);
                    }
                    self.run_ops_inner(shared, &op.body, first_scheduled, honour_stop)
                        .await?;
                }
            }
            Repeat::While { condition, max } => {
                for _ in 0..*max {
                    if stopping(shared) {
                        return Err(Abort::Stopping);
                    }
                    if !self.holds(condition, "while")? {
                        break;
                    }
                    self.run_ops_inner(shared, &op.body, first_scheduled, honour_stop)
                        .await?;
                }
            }
            Repeat::List { items, var, .. } => {
                for item in items {
                    if stopping(shared) {
                        return Err(Abort::Stopping);
                    }
                    let value = item.render_to_string(&self.vars).map_err(|e| {
                        Abort::Iteration(format!("loop item `{}`: {}", item.source(), e.message))
                    })?;
                    self.vars.set(*var, &value);
                    self.run_ops_inner(shared, &op.body, first_scheduled, honour_stop)
                        .await?;
                }
            }
            Repeat::Feeder { feeder, name, .. } => {
                let plan = shared.program.plan.clone();
                // Bound by the validator; a plan without it never runs.
                let Some(feeder) = feeder.and_then(|i| plan.feeders.get(i).map(|f| (i, f))) else {
                    return Err(Abort::Iteration(format!(
                        "loop over `{name}`: no such data feeder"
                    )));
                };
                let (index, rows) = feeder;
                // The iteration's own row comes back after the loop.
                let drawn = self.vars.take_row(index);
                let mut outcome = Ok(());
                for i in 0..rows.len() {
                    if stopping(shared) {
                        outcome = Err(Abort::Stopping);
                        break;
                    }
                    let Some(row) = rows.row(i) else { break };
                    self.vars.put_row(index, Some(row.into()));
                    outcome = self
                        .run_ops_inner(shared, &op.body, first_scheduled, honour_stop)
                        .await;
                    if outcome.is_err() {
                        break;
                    }
                }
                self.vars.put_row(index, drawn);
                outcome?;
            }
        }
        Ok(())
    }

    /// Runs the branch of an `if` its condition picks.
    pub(super) async fn run_if(
        &mut self,
        shared: &Rc<WorkerState>,
        op: &IfOp,
        first_scheduled: &mut Option<Instant>,
        honour_stop: bool,
    ) -> Result<(), Abort> {
        let branch = if self.holds(&op.condition, "if")? {
            &op.then
        } else {
            &op.otherwise
        };
        self.run_ops_inner(shared, branch, first_scheduled, honour_stop)
            .await
    }

    /// Evaluates a condition; one that cannot be (a capture that found
    /// nothing, text where a number is needed) ends the iteration.
    fn holds(&self, condition: &Condition, keyword: &str) -> Result<bool, Abort> {
        condition.is_true(&self.vars).map_err(|e| {
            Abort::Iteration(format!(
                "`{keyword}: {}`: {}",
                condition.source(),
                e.message
            ))
        })
    }
}

/// What a request step's failure does to the rest of the iteration, by its
/// `on_error`.
pub(super) fn on_error(
    shared: &WorkerState,
    op: &RequestOp,
    outcome: Result<(), Abort>,
) -> Result<(), Abort> {
    let Err(Abort::Iteration(message)) = outcome else {
        return outcome;
    };
    match op.on_error {
        OnError::AbortIteration => Err(Abort::Iteration(message)),
        OnError::AbortVu => Err(Abort::Vu(message)),
        OnError::Continue => {
            // Counted already (the request's error or status); noted so a
            // failure the iteration went past is still seen in the summary.
            shared.note_failure(
                shared.program.layout.name(op.key),
                "failed (on_error: continue)",
                &message,
            );
            Ok(())
        }
    }
}
