//! Load per scenario: for each scenario with its own `load`, its VUs and
//! iterations started over time (the run's timeline mixes every model's).

use pummel_result::result::{RunResult, ScenarioTimelinePoint};

use crate::format;
use crate::html::page::{render, Cell, Col, Table};
use crate::markup::escape;

const COLS: [Col<'static>; 4] = [
    Col::Text("from"),
    Col::Num("VUs (peak)"),
    Col::Num("iterations started"),
    Col::Num("per second"),
];

/// Rows a scenario's table keeps: a longer run is shown in equal spans of
/// several seconds, so an hour stays readable.
const MAX_ROWS: usize = 60;

/// The section's HTML, or `None` when no scenario has its own load.
pub(super) fn section(r: &RunResult) -> Option<String> {
    let mut html = String::new();
    for s in r.scenarios.iter().filter(|s| !s.timeline.is_empty()) {
        html.push_str(&format!(
            "<h3>{}</h3><p>{} iterations, {} dropped.</p>",
            escape(&s.name),
            format::count(s.iterations),
            format::count(s.dropped)
        ));
        html.push_str(&render(&Table::new(
            "scenario-load",
            &COLS,
            rows(&s.timeline),
        )));
    }
    (!html.is_empty()).then_some(html)
}

/// One row per span of seconds: the peak of the VUs, the sum of the
/// iterations started, their rate over the span.
fn rows(timeline: &[ScenarioTimelinePoint]) -> Vec<Vec<Cell>> {
    let span = timeline.len().div_ceil(MAX_ROWS).max(1);
    timeline
        .chunks(span)
        .map(|points| {
            let started: u64 = points.iter().map(|p| p.started).sum();
            let vus = points.iter().map(|p| p.vus).max().unwrap_or(0);
            let seconds = points.len() as f64;
            [
                format!("{} s", points[0].t),
                format::count(vus),
                format::count(started),
                format::rate(started as f64 / seconds),
            ]
            .map(Cell::Text)
            .into()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(t: u32, vus: u64, started: u64) -> ScenarioTimelinePoint {
        ScenarioTimelinePoint {
            t,
            vus,
            started,
            rate: started as f64,
        }
    }

    #[test]
    fn a_long_timeline_is_shown_in_spans_of_seconds() {
        let timeline: Vec<ScenarioTimelinePoint> =
            (0..120).map(|t| point(t, u64::from(t % 7), 2)).collect();
        let rows = rows(&timeline);
        assert_eq!(rows.len(), 60);
        let Cell::Text(started) = &rows[0][2] else {
            panic!("a text cell")
        };
        assert_eq!(started, "4");
        let short = rows_len(&timeline[..10]);
        assert_eq!(short, 10);
    }

    fn rows_len(t: &[ScenarioTimelinePoint]) -> usize {
        rows(t).len()
    }
}
