//! One endpoint's state across the run's scrapes: the series kept from it
//! and how its scrapes went.

use std::collections::BTreeMap;

use pummel_result::{MonitorEndpoint, MonitorResult, MonitorSeries};

use super::{text, MonitorTarget, MAX_SERIES_PER_SELECTOR};

/// One endpoint's state across scrapes.
pub(super) struct Watch {
    pub(super) target: MonitorTarget,
    pub(super) endpoint: MonitorEndpoint,
    /// Per spec: its series by labels (one key, empty, when summed).
    series: Vec<BTreeMap<BTreeMap<String, String>, Tracked>>,
}

/// One kept series: its points and, for a rate, the last raw value.
#[derive(Default)]
struct Tracked {
    points: Vec<(f64, f64)>,
    last: Option<(f64, f64)>,
}

impl Tracked {
    fn observe(&mut self, t: f64, value: f64, rate: bool) {
        if !rate {
            self.points.push((t, value));
            return;
        }
        if let Some((t0, v0)) = self.last {
            let dt = t - t0;
            if dt > 0.0 {
                // A counter that went down was reset: it counted from zero.
                let delta = if value >= v0 { value - v0 } else { value };
                self.points.push((t, delta / dt));
            }
        }
        self.last = Some((t, value));
    }
}

impl Watch {
    pub(super) fn new(target: MonitorTarget) -> Watch {
        Watch {
            endpoint: MonitorEndpoint {
                url: target.url.as_str(),
                ..MonitorEndpoint::default()
            },
            series: target.series.iter().map(|_| BTreeMap::new()).collect(),
            target,
        }
    }

    pub(super) fn record(&mut self, t: f64, body: &str) {
        let (samples, _unparsed) = text::parse(body);
        for (spec, kept) in self.target.series.iter().zip(&mut self.series) {
            let matching = samples
                .iter()
                .filter(|s| spec.selector.matches(&s.metric, &s.labels));
            if spec.sum {
                let mut any = false;
                let total: f64 = matching.inspect(|_| any = true).map(|s| s.value).sum();
                if any {
                    kept.entry(BTreeMap::new())
                        .or_default()
                        .observe(t, total, spec.rate);
                }
                continue;
            }
            for s in matching {
                if !kept.contains_key(&s.labels) && kept.len() >= MAX_SERIES_PER_SELECTOR {
                    self.endpoint.series_dropped += 1;
                    continue;
                }
                kept.entry(s.labels.clone())
                    .or_default()
                    .observe(t, s.value, spec.rate);
            }
        }
    }

    pub(super) fn into_result(self, result: &mut MonitorResult) {
        let url = self.endpoint.url.clone();
        for (spec, kept) in self.target.series.iter().zip(self.series) {
            for (labels, tracked) in kept {
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
                    points: tracked.points,
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

    #[test]
    fn rates_survive_counter_resets_and_sums_add_up() {
        let spec = |text: &str| SeriesSpec::parse(text).unwrap();
        let mut w = Watch::new(MonitorTarget {
            url: EndpointUrl::parse("http://127.0.0.1:1/metrics").unwrap(),
            series: vec![spec("sum(rate(c))"), spec("g{k!=\"b\"}")],
        });
        w.record(
            0.0,
            "c{k=\"a\"} 10\nc{k=\"b\"} 10\ng{k=\"a\"} 1\ng{k=\"b\"} 2\n",
        );
        w.record(2.0, "c{k=\"a\"} 14\nc{k=\"b\"} 10\ng{k=\"a\"} 3\n");
        w.record(3.0, "c{k=\"a\"} 1\nc{k=\"b\"} 1\n");
        let mut r = MonitorResult::default();
        w.into_result(&mut r);
        assert_eq!(r.series.len(), 2);
        assert_eq!(r.series[0].points, vec![(2.0, 2.0), (3.0, 2.0)]);
        assert_eq!(r.series[1].points, vec![(0.0, 1.0), (2.0, 3.0)]);
        assert_eq!(r.series[1].labels["k"], "a");
    }
}
