//! A virtual user's variables: its captures and variables, the feeder rows
//! of its current iteration, its number and iteration count — what its
//! templates, checks and captures read and write.

use crate::scenario::capture::Capture;
use crate::scenario::feeder::{Feeder, FeederError};
use crate::scenario::model::Plan;
use crate::scenario::response::ResponseView;
use crate::scenario::template::{Context, VarId};

use super::render::{RenderError, StepPart};

/// The values a VU's templates see.
pub(super) struct Variables {
    /// 1-based across the whole run (0 is the global setup's VU).
    pub(super) id: u64,
    /// 0-based within this worker's segment (unique feeders use it).
    pub(super) index: usize,
    pub(super) iteration: u64,
    /// The status of the last response in this iteration (0: no response).
    pub(super) status: Option<u16>,
    values: Vec<Option<String>>,
    rows: Vec<Option<Box<[String]>>>,
}

impl Context for Variables {
    fn var(&self, id: VarId) -> Option<&str> {
        self.values.get(id.index()).and_then(|v| v.as_deref())
    }
    fn field(&self, feeder: usize, column: usize) -> Option<&str> {
        self.rows
            .get(feeder)?
            .as_ref()?
            .get(column)
            .map(String::as_str)
    }
    fn vu(&self) -> u64 {
        self.id
    }
    fn iteration(&self) -> u64 {
        self.iteration
    }
    fn status(&self) -> Option<u16> {
        self.status
    }
}

impl Variables {
    pub(super) fn new(id: u64, index: usize, initial: &[Option<String>], feeders: usize) -> Self {
        Variables {
            id,
            index,
            iteration: 0,
            status: None,
            values: initial.to_vec(),
            rows: vec![None; feeders],
        }
    }

    /// Evaluates the plan's variables for this VU, in order.
    pub(super) fn init(&mut self, plan: &Plan) -> Result<(), RenderError> {
        for v in &plan.variables {
            let value = v
                .value
                .render_to_string(self)
                .map_err(|e| RenderError::template(StepPart::Variable(v.name.clone()), e))?;
            self.values[v.var.index()] = Some(value);
        }
        Ok(())
    }

    /// Draws this iteration's feeder rows.
    pub(super) fn draw_rows(&mut self, feeders: &[Feeder]) -> Result<(), FeederError> {
        for (i, feeder) in feeders.iter().enumerate() {
            let row = feeder.draw(self.index)?;
            self.rows[i] = Some(row.into());
        }
        Ok(())
    }

    /// Takes a feeder's current row out (a loop over the feeder puts it back).
    pub(super) fn take_row(&mut self, feeder: usize) -> Option<Box<[String]>> {
        self.rows.get_mut(feeder).and_then(Option::take)
    }

    /// Makes `row` the feeder's current row.
    pub(super) fn put_row(&mut self, feeder: usize, row: Option<Box<[String]>>) {
        if let Some(slot) = self.rows.get_mut(feeder) {
            *slot = row;
        }
    }

    /// Sets a variable (a capture), reusing its buffer.
    pub(super) fn set(&mut self, var: VarId, value: &str) {
        match &mut self.values[var.index()] {
            Some(existing) => {
                existing.clear();
                existing.push_str(value);
            }
            slot @ None => *slot = Some(value.to_owned()),
        }
    }

    /// Runs a step's captures on `view`; the message for the first required
    /// capture that found nothing, if any (the others still run).
    pub(super) fn capture(
        &mut self,
        captures: &[Capture],
        view: &ResponseView<'_>,
        scratch: &mut String,
    ) -> Option<String> {
        let mut missing = None;
        for capture in captures {
            scratch.clear();
            if capture.source.extract_into(view, scratch) {
                self.set(capture.var, scratch);
            } else if !capture.optional && missing.is_none() {
                missing = Some(format!(
                    "capture `{}` ({}) found nothing",
                    capture.name,
                    capture.source.describe()
                ));
            }
        }
        missing
    }

    /// The values, for sharing the global setup's captures.
    pub(super) fn into_values(self) -> Vec<Option<String>> {
        self.values
    }
}
