//! A plan driven through pummel-core's public API alone, as an agent of a
//! distributed run drives it: the plan split into segments, each segment run
//! on its own, and what they measured merged. The merged counts must equal
//! those of the whole plan run as one segment against the same target.

use std::time::Duration;

use pummel_core::bench::{self, BenchPlan};
use pummel_core::http::{Bytes, Method, RequestSpec, TargetUrl};
use pummel_core::result::RunResult;
use pummel_core::{Measured, Segment, StopSignal};
use pummel_result::LatencyHistogram;
use pummel_target::{Target, TargetConfig};

const REQUESTS: u64 = 301;

fn plan(url: &str) -> BenchPlan {
    BenchPlan {
        request: RequestSpec {
            method: Method::GET,
            url: TargetUrl::parse(url).expect("a target URL"),
            headers: Vec::new(),
            body: Bytes::new(),
        },
        connections: 3,
        h2_streams: 1,
        requests: Some(REQUESTS),
        duration: None,
        rate: None,
        threads: 1,
        timeout: Duration::from_secs(10),
        http2: false,
        insecure: false,
        websocket: None,
        connect_filter: None,
        proxy: None,
    }
}

fn run(plan: &BenchPlan) -> Measured {
    bench::run(plan, &StopSignal::new(), |_| {}).expect("the bench runs")
}

/// The figures that must add up across segments.
#[derive(Debug, PartialEq)]
struct Counts {
    requests: u64,
    responses: u64,
    status: Vec<(String, u64)>,
    errors: u64,
    bytes_received: u64,
    bytes_sent: u64,
    histogram_samples: u64,
}

fn counts(result: &RunResult) -> Counts {
    Counts {
        requests: result.requests,
        responses: result.responses,
        status: result.status.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        errors: result.errors.values().sum(),
        bytes_received: result.bytes_received,
        bytes_sent: result.bytes_sent,
        histogram_samples: LatencyHistogram::from_base64(&result.histogram)
            .expect("the result's histogram decodes")
            .len(),
    }
}

fn sum(parts: &[Counts]) -> Counts {
    let mut status: std::collections::BTreeMap<String, u64> = Default::default();
    for p in parts {
        for (k, v) in &p.status {
            *status.entry(k.clone()).or_default() += v;
        }
    }
    Counts {
        requests: parts.iter().map(|p| p.requests).sum(),
        responses: parts.iter().map(|p| p.responses).sum(),
        status: status.into_iter().collect(),
        errors: parts.iter().map(|p| p.errors).sum(),
        bytes_received: parts.iter().map(|p| p.bytes_received).sum(),
        bytes_sent: parts.iter().map(|p| p.bytes_sent).sum(),
        histogram_samples: parts.iter().map(|p| p.histogram_samples).sum(),
    }
}

#[test]
fn three_segments_run_one_after_another_add_up_to_the_whole() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime for the target");
    let target = runtime
        .block_on(Target::start(TargetConfig::default()))
        .expect("start the target");
    let url = format!("http://{}/bytes/100", target.local_addr());
    let whole_plan = plan(&url);

    let served_before = target.requests_served();
    let whole = bench::result(&whole_plan, &run(&whole_plan.segment(Segment::WHOLE)));
    let served_whole = target.requests_served() - served_before;

    let parts: Vec<Counts> = Segment::all(3)
        .map(|segment| {
            let share = whole_plan.segment(segment);
            counts(&bench::result(&share, &run(&share)))
        })
        .collect();
    let served_parts = target.requests_served() - served_before - served_whole;

    let whole = counts(&whole);
    assert_eq!(whole.requests, REQUESTS);
    assert_eq!(whole.responses, REQUESTS);
    assert_eq!(
        sum(&parts),
        whole,
        "the segments' sum differs from the whole"
    );
    assert_eq!(
        served_whole, REQUESTS,
        "the target's own count of the whole run"
    );
    assert_eq!(
        served_parts, REQUESTS,
        "the target's own count of the segments"
    );
    // Shares differ by at most one request.
    let shares: Vec<u64> = parts.iter().map(|p| p.requests).collect();
    assert_eq!(shares, vec![101, 100, 100]);
}
