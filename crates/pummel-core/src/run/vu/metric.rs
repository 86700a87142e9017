//! Feeding a custom metric: the `metric:` step's value rendered for the VU
//! into its scratch buffer and added to the worker's recorder — no lock, and
//! no allocation once the buffer has grown to the value's size.

use std::time::Instant;

use super::Vu;
use crate::run::program::{MetricOp, MetricSink};
use crate::run::worker_state::WorkerState;
use crate::scenario::custom_metric::to_units;

impl Vu {
    pub(super) fn feed_metric(&mut self, shared: &WorkerState, op: &MetricOp) {
        self.scratch.clear();
        let rendered = op.step.value.render(&self.vars, &mut self.scratch);
        let units = match &rendered {
            Ok(()) => to_units(&self.scratch),
            Err(_) => None,
        };
        let now = Instant::now();
        let Some(units) = units else {
            shared.recorder.borrow_mut().count(op.invalid, 1, now);
            let why = match rendered {
                Ok(()) => format!("{:?} is not a non-negative number", self.scratch),
                Err(e) => e.to_string(),
            };
            shared.note_failure(&op.step.name, "metric value", &why);
            return;
        };
        let mut recorder = shared.recorder.borrow_mut();
        match op.sink {
            MetricSink::Counter(id) => recorder.count(id, units, now),
            MetricSink::Gauge(id) => recorder.set_gauge(id, units, now),
            MetricSink::Trend(key) => recorder.stats(key, now).latency.record_us(units),
        }
    }
}
