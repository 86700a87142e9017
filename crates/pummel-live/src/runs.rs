//! Many runs' figures at once, for a server that coordinates several runs
//! (`pummel server --metrics-listen`): each run publishes its merged figures
//! under its id, and every series it becomes carries a `run` label (the run
//! id, first among its labels), so a dashboard selects one run with
//! `{run="…"}` and a sum over runs stays a sum of counters. A finished run's
//! last figures — its result's — stay for a linger time, so the last seconds
//! are scraped, and then leave: the endpoint does not grow with history.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::figures::LiveFigures;
use crate::series::{families, Family};

/// The label that tells runs apart.
pub const RUN_LABEL: &str = "run";

#[derive(Debug)]
struct Entry {
    figures: Arc<LiveFigures>,
    /// When a finished run's series leave the endpoint.
    until: Option<Instant>,
}

/// Each run's figures last published, shared between the coordinator and
/// the endpoint.
#[derive(Clone, Debug, Default)]
pub struct PublishedRuns(Arc<Mutex<BTreeMap<String, Entry>>>);

impl PublishedRuns {
    pub fn new() -> PublishedRuns {
        PublishedRuns::default()
    }

    fn entries(&self) -> MutexGuard<'_, BTreeMap<String, Entry>> {
        // A poisoned lock only means a scrape panicked mid-read; entries
        // are replaced whole, never edited in place.
        let mut entries = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        entries.retain(|_, e| e.until.is_none_or(|until| until > now));
        entries
    }

    /// Replaces what scrapes see of `run` while it goes on.
    pub fn publish(&self, run: &str, figures: LiveFigures) {
        let mut entries = self.entries();
        // A run already finished keeps its final figures: a late second
        // merged after the result must not replace them.
        if entries.get(run).is_some_and(|e| e.until.is_some()) {
            return;
        }
        entries.insert(
            run.to_owned(),
            Entry {
                figures: Arc::new(figures),
                until: None,
            },
        );
    }

    /// `run` has ended: its final figures, kept for `linger`.
    pub fn finish(&self, run: &str, figures: LiveFigures, linger: Duration) {
        self.entries().insert(
            run.to_owned(),
            Entry {
                figures: Arc::new(figures),
                until: Some(Instant::now() + linger),
            },
        );
    }

    /// The runs whose series the endpoint shows now.
    pub fn runs(&self) -> Vec<String> {
        self.entries().keys().cloned().collect()
    }

    /// Every run's families, each sample labelled with its run.
    pub fn families(&self) -> Vec<Family> {
        let runs: Vec<(String, Arc<LiveFigures>)> = self
            .entries()
            .iter()
            .map(|(run, e)| (run.clone(), e.figures.clone()))
            .collect();
        labelled_families(runs.iter().map(|(run, f)| (run.as_str(), f.as_ref())))
    }
}

/// The families of several runs' figures, merged by name (each family's
/// help and type once), every sample labelled `run="ID"`.
pub fn labelled_families<'a>(
    runs: impl IntoIterator<Item = (&'a str, &'a LiveFigures)>,
) -> Vec<Family> {
    let mut out: Vec<Family> = Vec::new();
    for (run, figures) in runs {
        for mut family in families(figures) {
            for sample in &mut family.samples {
                sample.labels.insert(0, (RUN_LABEL, run.to_owned()));
            }
            match out.iter_mut().find(|f| f.name == family.name) {
                Some(known) => known.samples.append(&mut family.samples),
                None => out.push(family),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exposition::{render, Format};
    use crate::figures::StepFigures;

    fn figures(requests: u64) -> LiveFigures {
        LiveFigures {
            steps: vec![StepFigures {
                name: "s/get".to_owned(),
                requests,
                status: vec![(200, requests)],
                errors: Vec::new(),
                buckets: vec![requests; crate::figures::BUCKETS_S.len()],
                latency_count: requests,
                latency_sum_s: 0.001 * requests as f64,
            }],
            elapsed_s: 1.0,
            ..LiveFigures::default()
        }
    }

    #[test]
    fn every_series_names_its_run_and_each_family_appears_once() {
        let runs = PublishedRuns::new();
        runs.publish("r1", figures(10));
        runs.publish("r2", figures(7));
        let text = render(&runs.families(), Format::Text);
        assert!(
            text.contains(r#"pummel_requests_total{run="r1",step="s/get"} 10"#),
            "{text}"
        );
        assert!(
            text.contains(r#"pummel_requests_total{run="r2",step="s/get"} 7"#),
            "{text}"
        );
        assert_eq!(text.matches("# TYPE pummel_requests_total").count(), 1);
        assert!(
            text.lines()
                .filter(|l| !l.starts_with('#') && !l.is_empty())
                .all(|l| l.contains("run=\"r")),
            "{text}"
        );
    }

    #[test]
    fn a_finished_run_keeps_its_final_figures_then_leaves() {
        let runs = PublishedRuns::new();
        runs.publish("r1", figures(3));
        runs.finish("r1", figures(5), Duration::from_secs(60));
        runs.publish("r1", figures(4));
        let text = render(&runs.families(), Format::Text);
        assert!(text.contains(r#"{run="r1",step="s/get"} 5"#), "{text}");
        runs.finish("r2", figures(1), Duration::ZERO);
        assert_eq!(runs.runs(), ["r1"]);
    }
}
