//! The runs' live metrics (`pummel server --metrics-listen`): after each
//! snapshot merged, the run's figures so far, from the live collector's
//! totals; at the end, the result's own figures, so the counters a scraper
//! last sees are the result's counts exactly.

use pummel_live::LiveFigures;
use pummel_result::RunResult;

use super::runs::ActiveRun;
use super::Hub;

/// A run's figures from its live merge: every closed second so far.
fn live_figures(run: &ActiveRun) -> Option<LiveFigures> {
    let last = run.live.timeline().last()?;
    Some(LiveFigures::from_totals(
        run.live.layout(),
        run.live.totals(),
        run.live.counters(),
        &last.gauges,
        f64::from(last.t) + last.duration_s,
    ))
}

impl Hub {
    /// Publishes the run's merged figures so far.
    pub(super) fn publish_live(&self, run_id: &str) {
        let Some(metrics) = &self.config.metrics else {
            return;
        };
        if let Some(figures) = self.runs.get(run_id).and_then(live_figures) {
            metrics.runs.publish(run_id, figures);
        }
    }

    /// Publishes the run's final figures: its result's, or (a run that
    /// ended without one) its live merge's, marked finished.
    pub(super) fn publish_final(&self, run: &ActiveRun, result: &serde_json::Value) {
        let Some(metrics) = &self.config.metrics else {
            return;
        };
        let figures = serde_json::from_value::<RunResult>(result.clone())
            .ok()
            .map(|r| LiveFigures::from_result(&r))
            .or_else(|| {
                live_figures(run).map(|mut f| {
                    f.finished = true;
                    f
                })
            });
        if let Some(figures) = figures {
            metrics.runs.finish(&run.id, figures, metrics.linger);
        }
    }
}
