//! What an agent of a distributed run sends its server, and what the
//! server reads: interval snapshots and the metric layout, encoded exactly
//! and decoded with every bad input an error, never a panic; and the
//! layout, derived from the plan alone, is the same on every agent.

use std::time::Duration;

use pummel_core::run;
use pummel_core::scenario::{self, LoadOptions};
use pummel_result::snapshot::{IntervalSnapshot, MetricLayout, SnapshotError, MAX_SNAPSHOT_BYTES};
use pummel_result::stats::Stats;
use pummel_result::{ErrorKind, LatencyHistogram};

fn load(text: &str) -> std::sync::Arc<scenario::Plan> {
    match scenario::load_str_with("layout.yaml", text, &LoadOptions::from_process_env()) {
        Ok(plan) => std::sync::Arc::new(plan),
        Err(d) => panic!("the scenario loads: {d:?}"),
    }
}

fn busy_snapshot(layout: &MetricLayout) -> IntervalSnapshot {
    let mut s = IntervalSnapshot::empty(7, layout);
    let stats: &mut Stats = &mut s.stats[0];
    for ms in [1u64, 2, 3, 50, 900, 12_000] {
        stats.record_response(
            Duration::from_millis(ms),
            Some(Duration::from_micros(ms * 700)),
            if ms > 100 { 503 } else { 200 },
            100,
            20,
        );
    }
    stats.record_error(ErrorKind::Reset, 0, 20);
    stats.record_error(ErrorKind::ConnectTimeout, 0, 0);
    (stats.late, stats.dropped, stats.aborted) = (4, 5, 6);
    s.counters[0] = 11;
    s.gauges[1] = 3;
    s
}

#[test]
fn snapshots_round_trip_exactly_and_bad_ones_are_errors() {
    let layout = MetricLayout::new(vec!["a".into(), "b".into()], true)
        .with_counters(vec!["c".into()])
        .with_gauges(vec!["vus".into(), "sockets".into()]);
    let snapshot = busy_snapshot(&layout);
    let bytes = snapshot.encode();
    let back = IntervalSnapshot::decode(&bytes, &layout).expect("decodes");
    assert_eq!(back.index, 7);
    assert_eq!(
        (back.counters.clone(), back.gauges.clone()),
        (vec![11], vec![0, 3])
    );
    for (a, b) in snapshot.stats.iter().zip(&back.stats) {
        assert_eq!(a.latency.distribution(), b.latency.distribution());
        assert_eq!(a.latency.summary(), b.latency.summary());
        let (ua, ub) = (a.uncorrected.as_ref(), b.uncorrected.as_ref());
        assert_eq!(
            ua.map(LatencyHistogram::distribution),
            ub.map(LatencyHistogram::distribution)
        );
        assert_eq!(
            (a.responses, a.bytes_received, a.bytes_sent),
            (b.responses, b.bytes_received, b.bytes_sent)
        );
        assert_eq!(
            (a.late, a.dropped, a.aborted),
            (b.late, b.dropped, b.aborted)
        );
        assert_eq!(a.status, b.status);
        assert_eq!(a.errors, b.errors);
    }
    assert_eq!(back.stats[0].errors.get(ErrorKind::Reset), 1);
    assert_eq!(back.encode(), bytes, "encoding is stable");

    // The layout travels too, and reads back equal; a malformed one is refused.
    let text = serde_json::to_string(&layout).expect("json");
    assert_eq!(
        serde_json::from_str::<MetricLayout>(&text).expect("reads"),
        layout
    );
    let no_keys = text.replacen(r#""stats":["a","b"]"#, r#""stats":[]"#, 1);
    assert!(
        serde_json::from_str::<MetricLayout>(&no_keys).is_err(),
        "{no_keys}"
    );
    let short = text.replacen(r#""stats":["a","b"]"#, r#""stats":["a","b","c"]"#, 1);
    assert!(
        serde_json::from_str::<MetricLayout>(&short).is_err(),
        "{short}"
    );

    let invalid = |bytes: &[u8]| match IntervalSnapshot::decode(bytes, &layout) {
        Err(e @ SnapshotError::Invalid(_)) => e.to_string(),
        other => panic!("expected an invalid snapshot, got {other:?}"),
    };
    // Truncated, not JSON, a corrupt histogram, an unknown error kind.
    invalid(&bytes[..bytes.len() / 2]);
    invalid(b"\x00\x01garbage");
    let text = String::from_utf8(bytes.clone()).expect("utf-8");
    let histogram = back.stats[0].latency.to_base64();
    let corrupt = text.replacen(&histogram, &histogram[..histogram.len() - 8], 1);
    assert!(
        invalid(corrupt.as_bytes()).contains("histogram"),
        "{corrupt}"
    );
    let unknown = text.replacen("\"reset\"", "\"meltdown\"", 1);
    assert!(invalid(unknown.as_bytes()).contains("meltdown"));

    // Too large: refused before it is parsed.
    let huge = vec![b' '; MAX_SNAPSHOT_BYTES + 1];
    assert!(matches!(
        IntervalSnapshot::decode(&huge, &layout),
        Err(SnapshotError::TooLarge { .. })
    ));
    // Another layout's snapshot does not merge by key id.
    let other = MetricLayout::new(vec!["a".into()], true)
        .with_counters(vec!["c".into()])
        .with_gauges(vec!["vus".into(), "sockets".into()]);
    assert!(matches!(
        IntervalSnapshot::decode(&bytes, &other),
        Err(SnapshotError::Shape(_))
    ));
    let closed = MetricLayout::new(vec!["a".into(), "b".into()], false)
        .with_counters(vec!["c".into()])
        .with_gauges(vec!["vus".into(), "sockets".into()]);
    assert!(matches!(
        IntervalSnapshot::decode(&bytes, &closed),
        Err(SnapshotError::Shape(_))
    ));
}

#[test]
fn the_layout_comes_from_the_plan_alone() {
    let text = "name: layout\ntarget: http://127.0.0.1:9\nload: { vus: 2, iterations: 2 }\n\
                setup:\n  - request: GET /s\n\
                scenarios:\n  - name: a\n    steps:\n      - request: GET /a\n        check: { status: 200 }\n\
                \x20 - name: b\n    steps:\n      - request: GET /b\n";
    // Two loads of the same file (two agents) have equal layouts, key by key.
    let one = run::layout(&load(text));
    let two = run::layout(&load(text));
    assert_eq!(one, two);
    let wire = serde_json::to_string(&*one).expect("json");
    assert_eq!(
        serde_json::from_str::<MetricLayout>(&wire).expect("reads"),
        *two
    );
    assert!(
        one.len() >= 5,
        "steps and iterations are keys: {}",
        one.len()
    );
}
