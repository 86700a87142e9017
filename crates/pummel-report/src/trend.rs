//! A trend over several results (Funkload's `--trend`): the key figures of
//! each run in the order given — oldest first — so a slow drift that no
//! single comparison flags becomes visible.

use std::fmt::Write;

use pummel_result::result::RunResult;

use crate::figures::{Figures, Metric, Scope};
use crate::{compare, format};

/// One run of a trend.
#[derive(Clone, Debug, PartialEq)]
pub struct TrendRun {
    /// How tables name it: the file's name.
    pub label: String,
    pub started_at: String,
    pub duration_s: f64,
    pub verdict: Option<String>,
    pub partial: bool,
    pub run: Figures,
    pub steps: Vec<Figures>,
}

/// Runs in the order given.
#[derive(Clone, Debug, PartialEq)]
pub struct Trend {
    pub runs: Vec<TrendRun>,
}

impl Trend {
    /// Step scopes in order of first appearance across the runs.
    pub fn step_scopes(&self) -> Vec<Scope> {
        let mut scopes: Vec<Scope> = Vec::new();
        for s in self.runs.iter().flat_map(|r| &r.steps) {
            if !scopes.contains(&s.scope) {
                scopes.push(s.scope.clone());
            }
        }
        scopes
    }

    /// The change of `metric` from the first run to the last, in percent.
    pub fn overall_change(&self, metric: Metric) -> Option<f64> {
        let (first, last) = (self.runs.first()?, self.runs.last()?);
        (self.runs.len() > 1)
            .then(|| compare::relative_pct(first.run.get(metric), last.run.get(metric)))
    }
}

/// Builds a trend from `(label, result)` pairs.
pub fn trend(results: &[(String, RunResult)], apdex_t_ms: f64) -> Trend {
    let runs = results
        .iter()
        .map(|(label, r)| TrendRun {
            label: label.clone(),
            started_at: r.started_at.clone(),
            duration_s: r.duration_s,
            verdict: r.verdict.clone(),
            partial: r.partial,
            run: Figures::of_run(r, apdex_t_ms),
            steps: r
                .steps
                .iter()
                .map(|s| Figures::of_step(s, apdex_t_ms))
                .collect(),
        })
        .collect();
    Trend { runs }
}

const COLUMNS: [Metric; 6] = [
    Metric::Rps,
    Metric::ErrorRate,
    Metric::P50,
    Metric::P95,
    Metric::P99,
    Metric::Max,
];

/// The trend as a terminal table, with the change from first to last.
pub fn render_text(t: &Trend) -> String {
    let mut out = String::new();
    let width = t
        .runs
        .iter()
        .map(|r| r.label.chars().count())
        .max()
        .unwrap_or(3)
        .max(3);
    let _ = write!(
        out,
        "{:>3}  {:<width$}  {:<20} {:>10}",
        "#", "run", "started", "requests"
    );
    for m in COLUMNS {
        let _ = write!(out, " {:>10}", m.title());
    }
    let _ = writeln!(out, "  verdict");
    for (i, r) in t.runs.iter().enumerate() {
        let _ = write!(
            out,
            "{:>3}  {:<width$}  {:<20} {:>10}",
            i + 1,
            r.label,
            r.started_at,
            format::count(r.run.requests)
        );
        for m in COLUMNS {
            let _ = write!(out, " {:>10}", m.show(r.run.get(m)));
        }
        let verdict = r.verdict.as_deref().unwrap_or("–");
        let _ = writeln!(
            out,
            "  {verdict}{}",
            if r.partial { " (partial)" } else { "" }
        );
    }
    if t.runs.len() > 1 {
        let _ = write!(
            out,
            "{:>3}  {:<width$}  {:<20} {:>10}",
            "", "first → last", "", ""
        );
        for m in COLUMNS {
            let shown = if m == Metric::ErrorRate {
                let (a, b) = (
                    t.runs[0].run.error_rate(),
                    t.runs[t.runs.len() - 1].run.error_rate(),
                );
                format!("{:+.2} pp", (b - a) * 100.0)
            } else {
                format::change(t.overall_change(m))
            };
            let _ = write!(out, " {shown:>10}");
        }
        let _ = writeln!(out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn runs_in_order_with_the_overall_change() {
        let a = testdata::bench();
        let mut b = a.clone();
        b.latency_ms.p95 *= 2.0;
        let t = trend(
            &[
                ("a.json".into(), a),
                ("b.json".into(), b),
                ("c.json".into(), testdata::scenario_run()),
            ],
            500.0,
        );
        assert_eq!(t.runs.len(), 3);
        assert_eq!(t.runs[1].label, "b.json");
        assert_eq!(t.step_scopes().len(), 3);
        let text = render_text(&t);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[2].contains("18.1 ms"), "{text}");
        assert!(lines[4].starts_with("     first → last"), "{text}");
        let one = trend(&[("a".into(), testdata::minimal())], 500.0);
        assert_eq!(one.overall_change(Metric::P95), None);
        assert_eq!(render_text(&one).lines().count(), 2);
    }
}
