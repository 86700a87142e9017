//! The system under test, as the monitor saw it: one chart per series kept
//! (all the series one selector matched on one chart), on the run's own
//! seconds, so the cursor that shows a latency spike shows the target's
//! CPU or memory in the same second. Failed scrapes are said, with why;
//! so are named series that matched nothing and series past the limit.

use std::collections::BTreeMap;

use pummel_result::result::RunResult;
use pummel_result::{MonitorEndpoint, MonitorResult, MonitorSeries};

use crate::html::chart::{color, Chart, Series, Unit, YAxis};
use crate::html::page::{note, render, Grid, Page};

use super::over_time::charted;

/// The section's HTML, or `None` when the run had no monitor.
pub(super) fn section(page: &mut Page, r: &RunResult) -> Option<String> {
    let monitor = r.monitor.as_ref()?;
    let timeline = charted(&r.timeline);
    let seconds: Vec<f64> = timeline.iter().map(|p| f64::from(p.t)).collect();
    let mut html = String::new();
    for e in &monitor.endpoints {
        html.push_str(&note(&endpoint_note(e)));
    }
    if seconds.is_empty() {
        return Some(html);
    }
    let mut figures = Vec::new();
    for (i, ((endpoint, selector), series)) in groups(monitor).into_iter().enumerate() {
        let mut chart = Chart::over_time(
            &format!("chart-monitor-{i}"),
            seconds.clone(),
            YAxis::new(&y_label(series[0]), Unit::Count),
        );
        for (s, c) in series.iter().zip(color::CYCLE.iter().cycle()) {
            chart = chart.series(Series::new(&s.name, c, per_second(s, &seconds)));
        }
        let title = series[0].name.clone();
        let caption = format!(
            "{selector}{} from {endpoint}, each second",
            if series[0].rate {
                " (rate per second)"
            } else {
                ""
            }
        );
        figures.push(page.chart(chart, &title, &caption));
    }
    html.push_str(&render(&Grid { figures }));
    Some(html)
}

/// How an endpoint's scrapes went: failures with the last reason, named
/// series that matched nothing, series past the limit not kept.
fn endpoint_note(e: &MonitorEndpoint) -> String {
    let mut text = if e.failed == 0 {
        format!("{}: {} scrapes, none failed.", e.url, e.scrapes)
    } else {
        format!(
            "{}: {} of {} scrapes failed (last: {}).",
            e.url,
            e.failed,
            e.scrapes,
            e.last_error.as_deref().unwrap_or("unknown")
        )
    };
    if !e.unmatched.is_empty() {
        text.push_str(&format!(" No series matched {}.", e.unmatched.join(", ")));
    }
    if e.series_dropped > 0 {
        text.push_str(&format!(
            " {} series past the limit per selector were not kept.",
            e.series_dropped
        ));
    }
    text
}

/// Series by endpoint and selector, in the order they were kept.
fn groups(monitor: &MonitorResult) -> Vec<((String, String), Vec<&MonitorSeries>)> {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut by: BTreeMap<(String, String), Vec<&MonitorSeries>> = BTreeMap::new();
    for s in monitor.series.iter().filter(|s| !s.points.is_empty()) {
        let key = (s.endpoint.clone(), s.selector.clone());
        if !by.contains_key(&key) {
            order.push(key.clone());
        }
        by.entry(key).or_default().push(s);
    }
    order
        .into_iter()
        .filter_map(|k| by.remove(&k).map(|v| (k, v)))
        .collect()
}

fn y_label(s: &MonitorSeries) -> String {
    let unit = if s.metric.ends_with("_bytes") {
        "bytes"
    } else if s.metric.ends_with("_seconds_total") && s.rate {
        "seconds/s"
    } else {
        "value"
    };
    unit.to_owned()
}

/// The series on the run's seconds: each second gets the last value scraped
/// within it; a second without a scrape is a gap.
fn per_second(s: &MonitorSeries, seconds: &[f64]) -> Vec<Option<f64>> {
    let mut values = vec![None; seconds.len()];
    for (t, v) in &s.points {
        if !v.is_finite() || *t < 0.0 {
            continue;
        }
        let second = t.floor() as usize;
        // The final scrape lands just after the last whole second: it
        // belongs to it.
        let slot = second.min(seconds.len().saturating_sub(1));
        if let Some(cell) = values.get_mut(slot) {
            *cell = Some(*v);
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_says_what_matched_nothing_and_what_was_not_kept() {
        let e = MonitorEndpoint {
            url: "http://h:9100/metrics".to_owned(),
            scrapes: 6,
            failed: 1,
            last_error: Some("timed out after 800 ms".to_owned()),
            series_dropped: 12,
            unmatched: vec!["node_laod1".to_owned(), "sum(rate(x_total))".to_owned()],
        };
        assert_eq!(
            endpoint_note(&e),
            "http://h:9100/metrics: 1 of 6 scrapes failed (last: timed out after 800 ms). \
             No series matched node_laod1, sum(rate(x_total)). \
             12 series past the limit per selector were not kept."
        );
        let quiet = MonitorEndpoint {
            url: "http://h:9100/metrics".to_owned(),
            scrapes: 6,
            ..MonitorEndpoint::default()
        };
        assert_eq!(
            endpoint_note(&quiet),
            "http://h:9100/metrics: 6 scrapes, none failed."
        );
    }

    #[test]
    fn points_land_on_the_runs_seconds() {
        let s = MonitorSeries {
            points: vec![(0.01, 1.0), (1.002, 2.0), (3.5, 4.0), (9.0, 5.0)],
            ..MonitorSeries::default()
        };
        assert_eq!(
            per_second(&s, &[0.0, 1.0, 2.0, 3.0, 4.0]),
            vec![Some(1.0), Some(2.0), None, Some(4.0), Some(5.0)]
        );
    }
}
