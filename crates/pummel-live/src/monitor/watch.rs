//! One endpoint's state across the run's scrapes: the series kept from it
//! and how its scrapes went.

use std::collections::{BTreeMap, BTreeSet};

use pummel_result::{MonitorEndpoint, MonitorResult, MonitorSeries};

use super::scrape::Scraped;
use super::{text, MonitorTarget, INTERVAL, MAX_SERIES_PER_SELECTOR};

/// The shortest window, in seconds, a rate is taken over: half the scrape
/// interval. The end-of-run scrape may come a few milliseconds after the
/// last one; over 20 ms a counter's increase is mostly the rounding of its
/// value (node_exporter's CPU seconds move in hundredths) and of when each
/// scrape was read, so the rate is noise (0.6 CPU where the run had 0.03).
/// Such a scrape keeps its gauges but gives no rate point.
const MIN_RATE_WINDOW_S: f64 = INTERVAL.as_secs_f64() / 2.0;

/// A series' labels, as scraped.
type Labels = BTreeMap<String, String>;

/// One endpoint's state across scrapes.
pub(super) struct Watch {
    pub(super) target: MonitorTarget,
    pub(super) endpoint: MonitorEndpoint,
    /// Per spec, what is kept of it.
    kept: Vec<Kept>,
}

/// What one spec keeps.
#[derive(Default)]
struct Kept {
    /// The points of each series kept, by labels (one series, with no
    /// labels, when summed).
    points: BTreeMap<Labels, Vec<(f64, f64)>>,
    /// For a rate: each matched series' last raw value, `(t, value)`. Kept
    /// per scraped series even when they are summed into one, because a
    /// counter's resets are its own: the rate of a sum would take one
    /// series vanishing for a reset of them all.
    last: BTreeMap<Labels, (f64, f64)>,
    /// Whether any scrape had a series it matches.
    matched: bool,
    /// The most series one scrape matched past the limit. Not a sum over
    /// scrapes: the same series left out each second are the same series.
    dropped: u64,
}

impl Kept {
    /// The per-second increase of the counter `labels` since its last
    /// scrape, as PromQL's `rate` takes it: a counter that went down was
    /// reset and counted from zero. `None` for its first sample, and for a
    /// window shorter than [`MIN_RATE_WINDOW_S`], whose start then stays
    /// the start of the next window.
    fn rate(&mut self, labels: &Labels, t: f64, value: f64) -> Option<f64> {
        let Some(&(t0, v0)) = self.last.get(labels) else {
            self.last.insert(labels.clone(), (t, value));
            return None;
        };
        let dt = t - t0;
        if dt < MIN_RATE_WINDOW_S {
            return None;
        }
        self.last.insert(labels.clone(), (t, value));
        let delta = if value >= v0 { value - v0 } else { value };
        Some(delta / dt)
    }

    /// Forgets the last value of every series not in this scrape: a series
    /// that vanished is stale (PromQL marks it so), and should it come back
    /// its rate starts afresh rather than spanning the gap. It also keeps
    /// `last` to the series an endpoint has now.
    fn forget_vanished(&mut self, scraped: &[&text::ScrapedSample]) {
        let present: BTreeSet<&Labels> = scraped.iter().map(|s| &s.labels).collect();
        self.last.retain(|labels, _| present.contains(labels));
    }
}

impl Watch {
    pub(super) fn new(target: MonitorTarget) -> Watch {
        Watch {
            endpoint: MonitorEndpoint {
                url: target.url.as_str(),
                ..MonitorEndpoint::default()
            },
            kept: target.series.iter().map(|_| Kept::default()).collect(),
            target,
        }
    }

    /// One scrape, started `t` seconds into the run: its series kept, or
    /// its failure counted.
    pub(super) fn scraped(&mut self, t: f64, outcome: Result<Scraped, String>) {
        self.endpoint.scrapes += 1;
        if let Err(e) = outcome.and_then(|scraped| self.record(t, &scraped)) {
            self.endpoint.failed += 1;
            self.endpoint.last_error = Some(e);
        }
    }

    /// Keeps the series of one response; a response with no sample at all
    /// is an error.
    fn record(&mut self, t: f64, scraped: &Scraped) -> Result<(), String> {
        let (samples, _unparsed) = text::parse(&scraped.body);
        if samples.is_empty() {
            // A login page, a proxy's error page or an empty body answers
            // 200 and holds nothing to keep: a scrape that failed, rather
            // than a success that keeps no series.
            return Err(format!(
                "no Prometheus samples in the response ({}, {} bytes)",
                scraped.content_type.as_deref().unwrap_or("no Content-Type"),
                scraped.body.len()
            ));
        }
        for (spec, kept) in self.target.series.iter().zip(&mut self.kept) {
            let matching: Vec<&text::ScrapedSample> = samples
                .iter()
                .filter(|s| spec.selector.matches(&s.metric, &s.labels))
                .collect();
            kept.matched |= !matching.is_empty();
            if spec.rate {
                kept.forget_vanished(&matching);
            }
            if spec.sum {
                // PromQL's sum(rate(x)): each series' rate, then their sum.
                // A series without a rate yet (its first sample) adds
                // nothing, as in PromQL.
                let mut total = None;
                for s in &matching {
                    let value = if spec.rate {
                        kept.rate(&s.labels, t, s.value)
                    } else {
                        Some(s.value)
                    };
                    if let Some(v) = value {
                        *total.get_or_insert(0.0) += v;
                    }
                }
                if let Some(total) = total {
                    kept.points
                        .entry(Labels::new())
                        .or_default()
                        .push((t, total));
                }
                continue;
            }
            let mut dropped = 0;
            for s in matching {
                if !kept.points.contains_key(&s.labels)
                    && kept.points.len() >= MAX_SERIES_PER_SELECTOR
                {
                    dropped += 1;
                    continue;
                }
                let value = if spec.rate {
                    kept.rate(&s.labels, t, s.value)
                } else {
                    Some(s.value)
                };
                let points = kept.points.entry(s.labels.clone()).or_default();
                points.extend(value.map(|v| (t, v)));
            }
            kept.dropped = kept.dropped.max(dropped);
        }
        Ok(())
    }

    /// What was kept, and what was not: series dropped past the limit, and
    /// named series that never matched (said only if some scrape succeeded,
    /// since a series cannot be missing from scrapes that all failed).
    pub(super) fn into_result(mut self, result: &mut MonitorResult) {
        let url = self.endpoint.url.clone();
        let any_succeeded = self.endpoint.scrapes > self.endpoint.failed;
        for (spec, kept) in self.target.series.iter().zip(self.kept) {
            self.endpoint.series_dropped += kept.dropped;
            if !kept.matched && !spec.optional && any_succeeded {
                self.endpoint.unmatched.push(spec.expression());
            }
            for (labels, points) in kept.points {
                result.series.push(MonitorSeries {
                    endpoint: url.clone(),
                    selector: spec.selector.text.clone(),
                    name: spec.name.clone().unwrap_or_else(|| {
                        if spec.sum || labels.is_empty() {
                            spec.expression()
                        } else {
                            let l: Vec<String> =
                                labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
                            format!("{} {{{}}}", spec.selector.metric, l.join(","))
                        }
                    }),
                    metric: spec.selector.metric.clone(),
                    labels,
                    rate: spec.rate,
                    sum: spec.sum,
                    points,
                });
            }
        }
        result.endpoints.push(self.endpoint);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{EndpointUrl, SeriesSpec};

    fn watch(series: &[&str]) -> Watch {
        Watch::new(MonitorTarget {
            url: EndpointUrl::parse("http://127.0.0.1:1/metrics").unwrap(),
            series: series
                .iter()
                .map(|s| SeriesSpec::parse(s).unwrap())
                .collect(),
        })
    }

    /// A scrape that read `body` as the text format.
    fn ok(body: &str) -> Result<Scraped, String> {
        Ok(Scraped {
            body: body.to_owned(),
            content_type: Some("text/plain".to_owned()),
        })
    }

    fn points(w: Watch) -> Vec<Vec<(f64, f64)>> {
        let mut r = MonitorResult::default();
        w.into_result(&mut r);
        r.series.into_iter().map(|s| s.points).collect()
    }

    #[test]
    fn a_sum_of_rates_is_the_sum_of_each_series_rate() {
        // Two counters growing 100/s each; `b` vanishes after the second
        // scrape. PromQL's sum(rate(…)) then gives 100/s: `a`'s rate alone.
        // The rate of the sum would see the sum fall by 5 000 100 and take
        // it for a reset, a rate of 1 000 200/s.
        let mut w = watch(&["sum(rate(c))", "rate(c)"]);
        w.scraped(0.0, ok("c{k=\"a\"} 1000000\nc{k=\"b\"} 5000000\n"));
        w.scraped(1.0, ok("c{k=\"a\"} 1000100\nc{k=\"b\"} 5000100\n"));
        w.scraped(2.0, ok("c{k=\"a\"} 1000200\n"));
        // `a` reset on its own: only its increase since the reset counts.
        w.scraped(3.0, ok("c{k=\"a\"} 40\nc{k=\"b\"} 5000300\n"));
        w.scraped(4.0, ok("c{k=\"a\"} 140\nc{k=\"b\"} 5000400\n"));
        assert_eq!(
            points(w),
            vec![
                vec![(1.0, 200.0), (2.0, 100.0), (3.0, 40.0), (4.0, 200.0)],
                // rate(c): per series; `b`'s rate starts afresh on its return
                // rather than spanning the scrape it was absent from.
                vec![(1.0, 100.0), (2.0, 100.0), (3.0, 40.0), (4.0, 100.0)],
                vec![(1.0, 100.0), (4.0, 100.0)],
            ]
        );
    }

    #[test]
    fn a_response_without_samples_is_a_failed_scrape() {
        let mut w = watch(&["up"]);
        w.scraped(0.0, ok("up 1\n"));
        let page = "<!doctype html><html><body><h1>Login</h1></body></html>";
        w.scraped(
            1.0,
            Ok(Scraped {
                body: page.to_owned(),
                content_type: Some("text/html".to_owned()),
            }),
        );
        w.scraped(2.0, ok(""));
        let mut r = MonitorResult::default();
        w.into_result(&mut r);
        let e = &r.endpoints[0];
        assert_eq!((e.scrapes, e.failed), (3, 2), "{e:?}");
        assert_eq!(
            e.last_error.as_deref(),
            Some("no Prometheus samples in the response (text/plain, 0 bytes)")
        );
        assert_eq!(r.series[0].points, vec![(0.0, 1.0)]);
        let mut w = watch(&["up"]);
        w.scraped(
            0.0,
            Ok(Scraped {
                body: page.to_owned(),
                content_type: Some("text/html".to_owned()),
            }),
        );
        let mut r = MonitorResult::default();
        w.into_result(&mut r);
        assert_eq!(
            r.endpoints[0].last_error.as_deref(),
            Some("no Prometheus samples in the response (text/html, 55 bytes)")
        );
    }

    #[test]
    fn named_series_that_never_matched_are_reported_but_missing_defaults_are_not() {
        // Three named series, then the defaults, which this endpoint lacks.
        let named = ["up", "sum(rate(typo_total))", "nope{a=\"b\"}"];
        let mut w = Watch::new(MonitorTarget {
            url: EndpointUrl::parse("http://127.0.0.1:1/metrics").unwrap(),
            series: named
                .iter()
                .map(|s| SeriesSpec::parse(s).unwrap())
                .chain(SeriesSpec::defaults())
                .collect(),
        });
        w.scraped(0.0, ok("up 1\nnope{a=\"c\"} 2\n"));
        w.scraped(1.0, Err("timed out after 800 ms".to_owned()));
        let mut r = MonitorResult::default();
        w.into_result(&mut r);
        assert_eq!(
            r.endpoints[0].unmatched,
            ["sum(rate(typo_total))", "nope{a=\"b\"}"]
        );
        // Every scrape failed: nothing can be said of the series.
        let mut w = watch(&["typo_total"]);
        w.scraped(0.0, Err("cannot connect".to_owned()));
        let mut r = MonitorResult::default();
        w.into_result(&mut r);
        assert!(r.endpoints[0].unmatched.is_empty());
    }

    #[test]
    fn series_past_the_limit_are_counted_once_not_once_a_scrape() {
        let mut w = watch(&["g", "sum(g)"]);
        let body: String = (0..MAX_SERIES_PER_SELECTOR + 6)
            .map(|i| format!("g{{id=\"{i}\"}} {i}\n"))
            .collect();
        for t in 0..3 {
            w.scraped(f64::from(t), ok(&body));
        }
        let mut r = MonitorResult::default();
        w.into_result(&mut r);
        assert_eq!(r.endpoints[0].series_dropped, 6);
        assert_eq!(r.series.len(), MAX_SERIES_PER_SELECTOR + 1);
        // The sum is one series, of every series matched.
        let n = (MAX_SERIES_PER_SELECTOR + 6) as f64;
        let total = n * (n - 1.0) / 2.0;
        assert_eq!(r.series[MAX_SERIES_PER_SELECTOR].points[0], (0.0, total));
    }

    #[test]
    fn a_scrape_soon_after_the_last_gives_gauges_but_no_rate() {
        let mut w = watch(&["rate(c)", "sum(rate(c))", "g"]);
        w.scraped(0.0, ok("c 0\ng 1\n"));
        w.scraped(1.0, ok("c 100\ng 2\n"));
        // The end-of-run scrape, 20 ms on: 3 more is not 150/s.
        w.scraped(1.02, ok("c 103\ng 3\n"));
        assert_eq!(
            points(w),
            vec![
                vec![(1.0, 100.0)],
                vec![(1.0, 100.0)],
                vec![(0.0, 1.0), (1.0, 2.0), (1.02, 3.0)],
            ]
        );
        // Mid-run, the next rate spans from the last scrape it used.
        let mut w = watch(&["rate(c)"]);
        w.scraped(0.0, ok("c 0\n"));
        w.scraped(0.3, ok("c 40\n"));
        w.scraped(1.0, ok("c 100\n"));
        assert_eq!(points(w), vec![vec![(1.0, 100.0)]]);
    }

    #[test]
    fn rates_survive_counter_resets_and_sums_add_up() {
        let spec = |text: &str| SeriesSpec::parse(text).unwrap();
        let mut w = Watch::new(MonitorTarget {
            url: EndpointUrl::parse("http://127.0.0.1:1/metrics").unwrap(),
            series: vec![spec("sum(rate(c))"), spec("g{k!=\"b\"}")],
        });
        w.scraped(
            0.0,
            ok("c{k=\"a\"} 10\nc{k=\"b\"} 10\ng{k=\"a\"} 1\ng{k=\"b\"} 2\n"),
        );
        w.scraped(2.0, ok("c{k=\"a\"} 14\nc{k=\"b\"} 10\ng{k=\"a\"} 3\n"));
        w.scraped(3.0, ok("c{k=\"a\"} 1\nc{k=\"b\"} 1\n"));
        let mut r = MonitorResult::default();
        w.into_result(&mut r);
        assert_eq!(r.series.len(), 2);
        assert_eq!(r.series[0].points, vec![(2.0, 2.0), (3.0, 2.0)]);
        assert_eq!(r.series[1].points, vec![(0.0, 1.0), (2.0, 3.0)]);
        assert_eq!(r.series[1].labels["k"], "a");
    }
}
