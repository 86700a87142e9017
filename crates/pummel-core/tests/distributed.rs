//! A distributed run's engine side, through pummel-core's public API alone:
//! each "agent" is a thread that runs one segment of the plan
//! (`run::run_segment`, `bench::run_segment`) from one shared start
//! instant, and sends its per-second snapshots encoded as they would travel
//! over the wire; the "server" decodes them, merges them with the plan's
//! collector and builds the outcome (`run::finish`), with the global setup
//! and teardown run once, apart. What the merge says must equal what the
//! whole plan does, and what the target saw. (`snapshot_wire.rs` tests the
//! snapshots' encoding itself.)

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pummel_core::bench::{self, BenchPlan};
use pummel_core::http::{Bytes, Method, RequestSpec, TargetUrl};
use pummel_core::run::{self, Captures, RunOptions, RunOutcome};
use pummel_core::scenario::{self, LoadOptions, Plan};
use pummel_core::{Measured, Segment, SegmentOptions, StopSignal, WorkerReport};
use pummel_result::snapshot::IntervalSnapshot;
use pummel_result::{LatencyHistogram, RunMetrics};
use pummel_target::{Target, TargetConfig};

const AGENTS: u32 = 3;

/// The machine, as the tests of this file share it: the timing test runs
/// alone ([`quiet`]), the others side by side ([`busy`]), as in the
/// end-to-end suite.
static MACHINE: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn quiet() -> std::sync::RwLockWriteGuard<'static, ()> {
    MACHINE
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn busy() -> std::sync::RwLockReadGuard<'static, ()> {
    MACHINE
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A server on loopback that answers every request at once and records
/// when each one arrived and its path: what a distributed run's target saw.
/// `GET /setup` answers `{"token":"tok-42"}`, anything else `ok`.
struct Recorder {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Recorder {
    fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the recorder");
        let addr = listener.local_addr().expect("its address");
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared = log.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let log = shared.clone();
                std::thread::spawn(move || serve(stream, &log));
            }
        });
        Recorder { addr, log }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Takes what arrived so far.
    fn take(&self) -> Vec<(Instant, String)> {
        std::mem::take(&mut *self.log.lock().expect("the log"))
    }
}

fn serve(mut stream: TcpStream, log: &Mutex<Vec<(Instant, String)>>) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let arrived = Instant::now();
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            buf.drain(..end + 4);
            let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
            let body = if path == "/setup" {
                r#"{"token":"tok-42"}"#
            } else {
                "ok"
            };
            log.lock().expect("the log").push((arrived, path));
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            if stream.write_all(response.as_bytes()).is_err() {
                return;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn load(text: &str, base_dir: Option<std::path::PathBuf>) -> Arc<Plan> {
    let options = LoadOptions {
        base_dir,
        ..LoadOptions::from_process_env()
    };
    match scenario::load_str_with("distributed.yaml", text, &options) {
        Ok(plan) => Arc::new(plan),
        Err(d) => panic!("the scenario loads: {d:?}"),
    }
}

fn options(threads: u64) -> RunOptions {
    RunOptions {
        threads,
        insecure: false,
        http_debug: None,
        connect_filter: None,
        proxy: None,
    }
}

/// One agent's part of a run: its snapshots as they went over the wire
/// (encoded), and what its own engine measured.
struct AgentRun {
    wire: Vec<Vec<u8>>,
    measured: Measured,
}

/// The shared start: far enough ahead for every agent to set up.
fn start_soon() -> Instant {
    Instant::now() + Duration::from_millis(300)
}

/// Runs every segment of `plan` at once, each on its own thread with
/// `threads` workers, from `start`, every VU starting with `captures`.
fn run_agents(
    plan: &Arc<Plan>,
    threads: u64,
    start: Instant,
    captures: &Captures,
) -> Vec<AgentRun> {
    std::thread::scope(|scope| {
        let agents: Vec<_> = Segment::all(AGENTS)
            .map(|segment| {
                scope.spawn(move || {
                    let mut wire = Vec::new();
                    let measured = run::run_segment(
                        plan.clone(),
                        &options(threads),
                        &SegmentOptions {
                            segment,
                            start_at: Some(start),
                        },
                        captures,
                        &StopSignal::new(),
                        &mut |snapshot| wire.push(snapshot.encode()),
                        |_| {},
                    )
                    .expect("the segment runs");
                    AgentRun { wire, measured }
                })
            })
            .collect();
        agents
            .into_iter()
            .map(|a| a.join().expect("the agent thread"))
            .collect()
    })
}

/// The server's side: every agent's snapshots decoded against the plan's
/// layout and merged, the agents' seconds interleaved as they would arrive.
fn merge(plan: &Arc<Plan>, agents: &[AgentRun]) -> Measured {
    let layout = run::layout(plan);
    let mut collector = run::collector(plan, agents.len());
    let longest = agents.iter().map(|a| a.wire.len()).max().unwrap_or(0);
    for second in 0..longest {
        for (source, agent) in agents.iter().enumerate() {
            if let Some(bytes) = agent.wire.get(second) {
                let snapshot = IntervalSnapshot::decode(bytes, &layout).expect("a snapshot");
                collector.accept(source, snapshot);
            }
        }
    }
    for source in 0..agents.len() {
        collector.source_finished(source);
    }
    let elapsed = agents
        .iter()
        .map(|a| a.measured.elapsed)
        .max()
        .unwrap_or_default();
    Measured {
        metrics: collector.finish(elapsed),
        reports: agents
            .iter()
            .flat_map(|a| a.measured.reports.clone())
            .collect::<Vec<WorkerReport>>(),
        elapsed,
        started_at: agents[0].measured.started_at,
        partial: false,
    }
}

/// Every sample the agents recorded, in one histogram: their own totals
/// (not what went over the wire), merged.
fn all_samples(agents: &[AgentRun]) -> LatencyHistogram {
    let mut all = LatencyHistogram::new();
    for agent in agents {
        all.merge(&agent.measured.metrics.combined().latency);
    }
    all
}

fn requests(metrics: &RunMetrics) -> u64 {
    metrics.combined().requests()
}

#[test]
fn three_segments_from_one_start_merge_into_the_whole() {
    let _machine = busy();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime for the target");
    let target = runtime
        .block_on(Target::start(TargetConfig::default()))
        .expect("start the target");
    let plan = load(
        &format!(
            "name: distributed\ntarget: http://{}\nload: {{ vus: 6, iterations: 90 }}\n\
             scenarios:\n  - name: mixed\n    steps:\n      - request: GET /\n\
             \x20     - request: GET /status/404\n      - request: GET /delay/1\n",
            target.local_addr()
        ),
        None,
    );

    let served_before = target.requests_served();
    let agents = run_agents(&plan, 2, start_soon(), &Captures::new());
    let served = target.requests_served() - served_before;
    let merged = merge(&plan, &agents);
    let outcome = run::finish(plan.clone(), &options(2), merged, &[], &[]);
    let result = &outcome.result;

    // The agents' shares of the 90 iterations add up exactly.
    let shares: Vec<u64> = agents
        .iter()
        .map(|a| requests(&a.measured.metrics))
        .collect();
    assert_eq!(shares, vec![90, 90, 90], "30 iterations of 3 requests each");
    assert_eq!(result.requests, 270);
    assert_eq!(result.requests, shares.iter().sum::<u64>());
    assert_eq!(served, 270, "the target's own count");
    let status: Vec<(&str, u64)> = result
        .status
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(status, vec![("200", 180), ("404", 90)]);
    let counts = result.iteration_counts.as_ref().expect("iteration counts");
    assert_eq!((counts.completed, counts.failed, counts.cut), (90, 0, 0));
    assert!(outcome.fatal.is_none());

    // Percentiles of the merge are those of one histogram of every sample.
    let merged = LatencyHistogram::from_base64(&result.histogram).expect("the histogram");
    let all = all_samples(&agents);
    assert_eq!(merged.len(), 270);
    assert_eq!(merged.distribution(), all.distribution());
    assert_eq!(result.latency_ms, all.summary());

    // The same plan run whole, locally: the same counts.
    let whole = run::run(plan, &options(2), &StopSignal::new(), |_| {}).expect("the whole run");
    assert_eq!(whole.result.requests, result.requests);
    assert_eq!(whole.result.status, result.status);
    assert_eq!(whole.result.iteration_counts, result.iteration_counts);
    assert_eq!(
        whole
            .result
            .steps
            .iter()
            .map(|s| s.requests)
            .collect::<Vec<_>>(),
        result.steps.iter().map(|s| s.requests).collect::<Vec<_>>()
    );
}

/// Gaps between consecutive arrivals, in ms.
fn gaps_ms(arrivals: &[Instant]) -> Vec<f64> {
    arrivals
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64() * 1000.0)
        .collect()
}

/// 60 arrivals a second over three segments must reach the target as one
/// schedule (slot k at k · 16.7 ms), not as three schedules of 20/s, which
/// would send requests in threes every 50 ms.
///
/// A request never arrives before its slot, however busy the machine (a
/// busy machine only makes it late), so the k-th arrival is never before
/// slot k: three schedules of 20/s would put the second and third arrivals
/// of every 50 ms at its start, 16.7 and 33.3 ms early. That is the strict
/// check; the spacing (median gap) is checked loosely, as late requests
/// bunch on a loaded machine.
fn assert_evenly_spaced(arrivals: &mut [Instant], start: Instant, what: &str) {
    arrivals.sort();
    assert!(
        (114..=120).contains(&arrivals.len()),
        "{what}: {} arrivals of 120 scheduled",
        arrivals.len()
    );
    for (k, at) in arrivals.iter().enumerate() {
        let slot = start + Duration::from_secs_f64(k as f64 / 60.0);
        assert!(
            *at + Duration::from_millis(1) >= slot,
            "{what}: arrival {k} at {:.1} ms, before its slot at {:.1} ms: not one schedule",
            (at.saturating_duration_since(start)).as_secs_f64() * 1000.0,
            (slot - start).as_secs_f64() * 1000.0
        );
    }
    assert!(
        arrivals[0] - start < Duration::from_millis(100),
        "{what}: the first request {:?} after the start",
        arrivals[0] - start
    );
    let mut gaps = gaps_ms(arrivals);
    gaps.sort_by(f64::total_cmp);
    let median = gaps[gaps.len() / 2];
    assert!(
        (10.0..=23.0).contains(&median),
        "{what}: median gap {median:.2} ms, not 16.7"
    );
}

#[test]
fn an_open_model_over_three_segments_is_one_schedule() {
    let _machine = quiet();
    let recorder = Recorder::start();
    let plan = load(
        &format!(
            "name: open\ntarget: {}\nload: {{ rate: 60, duration: 2s, max_vus: 30 }}\n\
             scenarios:\n  - name: tick\n    steps:\n      - request: GET /tick/{{{{ vu }}}}\n",
            recorder.url()
        ),
        None,
    );
    let start = start_soon();
    let agents = run_agents(&plan, 2, start, &Captures::new());
    let log = recorder.take();
    let mut arrivals: Vec<Instant> = log.iter().map(|(at, _)| *at).collect();
    assert_evenly_spaced(&mut arrivals, start, "scenario");

    // Slot k of the schedule is agent k mod 3's: each agent's first
    // request is its offset into the one schedule (0, 16.7, 33.3 ms).
    for (k, agent) in agents.iter().enumerate() {
        let first = log
            .iter()
            .filter(|(_, path)| {
                let vu: u32 = path
                    .rsplit('/')
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                // VU ids are numbered across all 6 thread segments of the
                // whole; thread segment s belongs to agent s mod 3.
                (vu - 1) % (AGENTS * 2) % AGENTS == k as u32
            })
            .map(|(at, _)| *at)
            .min()
            .expect("the agent sent requests");
        let offset = (first - start).as_secs_f64() * 1000.0;
        let due = k as f64 * 1000.0 / 60.0;
        eprintln!(
            "agent {k}: first request {:.3} ms after its first slot",
            offset - due
        );
        assert!(
            offset >= due - 1.0 && offset < due + 100.0,
            "agent {k}: first request at {offset:.1} ms, its first slot at {due:.1} ms"
        );
        assert_eq!(requests(&agent.measured.metrics), 40, "agent {k}'s share");
    }

    // The same for a bench: three segments of one 60/s schedule.
    let bench_plan = BenchPlan {
        request: RequestSpec {
            method: Method::GET,
            url: TargetUrl::parse(&format!("{}/bench", recorder.url())).expect("a URL"),
            headers: Vec::new(),
            body: Bytes::new(),
        },
        connections: 6,
        h2_streams: 1,
        requests: None,
        duration: Some(Duration::from_secs(2)),
        rate: Some(60.0),
        threads: 2,
        timeout: Duration::from_secs(5),
        http2: false,
        insecure: false,
        websocket: None,
        connect_filter: None,
        proxy: None,
    };
    let start = start_soon();
    let measured: Vec<Measured> = std::thread::scope(|scope| {
        let handles: Vec<_> = Segment::all(AGENTS)
            .map(|segment| {
                let plan = &bench_plan;
                scope.spawn(move || {
                    let part = SegmentOptions {
                        segment,
                        start_at: Some(start),
                    };
                    bench::run_segment(plan, &part, &StopSignal::new(), None, |_| {})
                        .expect("the bench segment runs")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("agent"))
            .collect()
    });
    let mut arrivals: Vec<Instant> = recorder.take().iter().map(|(at, _)| *at).collect();
    assert_evenly_spaced(&mut arrivals, start, "bench");
    let shares: Vec<u64> = measured.iter().map(|m| requests(&m.metrics)).collect();
    assert_eq!(shares, vec![40, 40, 40]);
}

#[test]
fn unique_feeder_rows_go_to_one_segment_each() {
    let _machine = busy();
    let recorder = Recorder::start();
    let dir = std::env::temp_dir().join(format!("pummel-distributed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a data directory");
    let rows: Vec<String> = (0..30).map(|i| format!("row{i:02}")).collect();
    std::fs::write(dir.join("users.csv"), format!("id\n{}\n", rows.join("\n"))).expect("write");
    let plan = load(
        &format!(
            "name: rows\ntarget: {}\ndata:\n  users: {{ file: users.csv, mode: unique }}\n\
             load: {{ vus: 30, iterations: 60 }}\n\
             scenarios:\n  - name: use\n    steps:\n      - request: GET /row/{{{{ users.id }}}}/{{{{ vu }}}}\n",
            recorder.url()
        ),
        Some(dir.clone()),
    );
    // Three agents of two threads each: six segments of five rows.
    let agents = run_agents(&plan, 2, start_soon(), &Captures::new());
    let _ = std::fs::remove_dir_all(&dir);
    let log = recorder.take();
    assert_eq!(log.len(), 60, "every iteration's request arrived");
    assert!(agents
        .iter()
        .all(|a| a.measured.reports.iter().all(|r| r.fatal.is_none())));

    let mut vu_of_row: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    let mut rows_of_agent: Vec<BTreeSet<String>> = vec![BTreeSet::new(); AGENTS as usize];
    for (_, path) in &log {
        let mut parts = path.trim_start_matches("/row/").split('/');
        let row = parts.next().expect("a row").to_owned();
        let vu: u32 = parts.next().and_then(|v| v.parse().ok()).expect("a VU id");
        assert!(rows.contains(&row), "{row} is not a row of the file");
        rows_of_agent[((vu - 1) % (AGENTS * 2) % AGENTS) as usize].insert(row.clone());
        vu_of_row.entry(row).or_default().insert(vu);
    }
    for (row, vus) in &vu_of_row {
        assert_eq!(vus.len(), 1, "row {row} went to VUs {vus:?}");
    }
    let used: usize = rows_of_agent.iter().map(BTreeSet::len).sum();
    let union: BTreeSet<&String> = rows_of_agent.iter().flatten().collect();
    assert_eq!(
        used,
        union.len(),
        "a row used by two agents: {rows_of_agent:?}"
    );
    assert_eq!(union.len(), vu_of_row.len());
    // Each agent draws from its own rows: agent a's threads hold the blocks
    // of whole-plan segments a and a + 3 (five rows each).
    for (a, agent_rows) in rows_of_agent.iter().enumerate() {
        let own: BTreeSet<String> = [a, a + 3]
            .iter()
            .flat_map(|s| rows[s * 5..s * 5 + 5].iter().cloned())
            .collect();
        assert!(agent_rows.is_subset(&own), "agent {a}: {agent_rows:?}");
        assert!(!agent_rows.is_empty(), "agent {a} used no row");
    }
}

#[test]
fn setup_runs_once_its_captures_reach_every_segment_and_teardown_runs_once() {
    let _machine = busy();
    let recorder = Recorder::start();
    let plan = load(
        &format!(
            "name: global\ntarget: {}\nload: {{ vus: 3, iterations: 9 }}\n\
             setup:\n  - name: log in\n    request: GET /setup\n    capture:\n      token: {{ jsonpath: \"$.token\" }}\n\
             teardown:\n  - name: log out\n    request: GET /teardown/{{{{ token }}}}\n\
             scenarios:\n  - name: use\n    steps:\n      - request: GET /use/{{{{ token }}}}\n",
            recorder.url()
        ),
        None,
    );
    let stop = StopSignal::new();
    let setup = run::global_setup(plan.clone(), &options(1), &stop).expect("the setup");
    assert_eq!(
        setup.captures.get("token").map(String::as_str),
        Some("tok-42")
    );
    // The captures travel as JSON.
    let shipped: Captures =
        serde_json::from_str(&serde_json::to_string(&setup.captures).expect("json")).expect("json");

    let start = start_soon();
    let agents = run_agents(&plan, 1, start, &shipped);
    // A closed model's VUs wait for the start too.
    let load: Vec<(Instant, String)> = recorder.take();
    assert!(
        load.iter()
            .all(|(at, path)| path == "/setup" || *at >= start),
        "a request before the start"
    );
    let teardown =
        run::global_teardown(plan.clone(), &options(1), &shipped, &stop).expect("the teardown");
    let outcome: RunOutcome = run::finish(
        plan.clone(),
        &options(1),
        merge(&plan, &agents),
        &[setup.measured, teardown.measured],
        &[],
    );

    let paths: Vec<String> = load
        .into_iter()
        .chain(recorder.take())
        .map(|(_, p)| p)
        .collect();
    let count = |p: &str| paths.iter().filter(|q| *q == p).count();
    assert_eq!(count("/setup"), 1, "{paths:?}");
    assert_eq!(count("/teardown/tok-42"), 1, "{paths:?}");
    assert_eq!(
        count("/use/tok-42"),
        9,
        "every VU of every segment had the token: {paths:?}"
    );
    assert_eq!(paths.len(), 11);
    // The global steps count in the totals, as in a local run.
    assert_eq!(outcome.result.requests, 11);
    let local = run::run(plan.clone(), &options(1), &stop, |_| {}).expect("a local run");
    assert_eq!(local.result.requests, outcome.result.requests);
    assert_eq!(recorder.take().len(), 11);

    // Captures of another plan are refused before any load.
    let mut wrong = Captures::new();
    wrong.insert("nope".into(), "x".into());
    let e = run::run_segment(
        plan,
        &options(1),
        &SegmentOptions::default(),
        &wrong,
        &stop,
        &mut |_| {},
        |_| {},
    )
    .expect_err("unknown captures");
    assert!(e.to_string().contains("\"nope\""), "{e}");
}

#[test]
fn a_segment_with_nothing_to_run_is_refused_before_any_load() {
    let plan = load(
        "name: small\ntarget: http://127.0.0.1:9\nload: { vus: 2, iterations: 90 }\n\
         scenarios:\n  - name: a\n    steps:\n      - request: GET /a\n",
        None,
    );
    let part = |index| SegmentOptions {
        segment: Segment { index, count: 3 },
        start_at: None,
    };
    let run_part = |index| {
        run::run_segment(
            plan.clone(),
            &options(1),
            &part(index),
            &Captures::new(),
            &StopSignal::new(),
            &mut |_| {},
            |_| {},
        )
    };
    let e = run_part(2).expect_err("two VUs cannot make three segments");
    assert!(e.to_string().contains("no virtual user"), "{e}");
    let e = run_part(3).expect_err("segment 3 of 3 is not one");
    assert!(e.to_string().contains("segment 3/3"), "{e}");

    let bench_plan = BenchPlan {
        request: RequestSpec {
            method: Method::GET,
            url: TargetUrl::parse("http://127.0.0.1:9/").expect("a URL"),
            headers: Vec::new(),
            body: Bytes::new(),
        },
        connections: 2,
        h2_streams: 1,
        requests: Some(100),
        duration: None,
        rate: None,
        threads: 1,
        timeout: Duration::from_secs(1),
        http2: false,
        insecure: false,
        websocket: None,
        connect_filter: None,
        proxy: None,
    };
    let e = bench::run_segment(&bench_plan, &part(2), &StopSignal::new(), None, |_| {})
        .expect_err("two connections cannot make three segments");
    assert!(e.to_string().contains("no connection"), "{e}");
}

/// The spacing check itself: it passes one schedule with requests late by
/// up to 12 ms, and fails three schedules of a third of the rate each.
#[test]
fn the_spacing_check_tells_one_schedule_from_three() {
    let start = Instant::now();
    let mut one: Vec<Instant> = (0..120u64)
        .map(|k| {
            start + Duration::from_secs_f64(k as f64 / 60.0) + Duration::from_millis(k * 7 % 13)
        })
        .collect();
    assert_evenly_spaced(&mut one, start, "one schedule");
    let mut three: Vec<Instant> = (0..120u64)
        .map(|k| start + Duration::from_secs_f64((k / 3) as f64 / 20.0) + Duration::from_millis(2))
        .collect();
    let caught = std::panic::catch_unwind(move || assert_evenly_spaced(&mut three, start, "three"));
    assert!(
        caught.is_err(),
        "three schedules of 20/s passed for one of 60/s"
    );
}

/// Offsets from `start` of what the recorder saw, sorted, in ms.
fn offsets_ms(log: &[(Instant, String)], start: Instant) -> Vec<f64> {
    let mut offsets: Vec<f64> = log
        .iter()
        .map(|(at, _)| at.saturating_duration_since(start).as_secs_f64() * 1000.0)
        .collect();
    offsets.sort_by(f64::total_cmp);
    offsets
}

/// Poisson arrivals are random, but drawn from the plan's seed: three
/// segments of one seed send the very schedule the whole plan sends (the
/// same number of arrivals, each at its moment), not three schedules.
#[test]
fn poisson_arrivals_over_three_segments_are_the_whole_plans_schedule() {
    let _machine = quiet();
    let recorder = Recorder::start();
    let mut plan = Arc::unwrap_or_clone(load(
        &format!(
            "name: poisson\ntarget: {}\nload: {{ rate: 60, duration: 2s, max_vus: 30, arrivals: poisson }}\n\
             scenarios:\n  - name: tick\n    steps:\n      - request: GET /tick\n",
            recorder.url()
        ),
        None,
    ));
    plan.set_seed(20_261_202);
    let plan = Arc::new(plan);

    let start = start_soon();
    let whole = run::run_segment(
        plan.clone(),
        &options(2),
        &SegmentOptions {
            segment: Segment::WHOLE,
            start_at: Some(start),
        },
        &Captures::new(),
        &StopSignal::new(),
        &mut |_| {},
        |_| {},
    )
    .expect("the whole plan runs");
    let whole_offsets = offsets_ms(&recorder.take(), start);

    let start = start_soon();
    let agents = run_agents(&plan, 2, start, &Captures::new());
    let parts_offsets = offsets_ms(&recorder.take(), start);
    let outcome = run::finish(plan.clone(), &options(2), merge(&plan, &agents), &[], &[]);

    let scheduled = outcome
        .result
        .iteration_counts
        .as_ref()
        .and_then(|c| c.scheduled);
    let whole_scheduled = requests(&whole.metrics);
    assert_eq!(parts_offsets.len(), whole_offsets.len(), "arrivals");
    assert_eq!(scheduled, Some(whole_offsets.len() as u64));
    assert_eq!(requests(&whole.metrics), whole_scheduled);
    // Arrival by arrival, the segments' schedule is the whole's: each
    // request is late by a little in both runs, never by a Poisson gap.
    let mut diffs: Vec<f64> = whole_offsets
        .iter()
        .zip(&parts_offsets)
        .map(|(a, b)| (a - b).abs())
        .collect();
    diffs.sort_by(f64::total_cmp);
    let median = diffs[diffs.len() / 2];
    assert!(
        median < 4.0,
        "median difference {median:.2} ms: not one schedule"
    );
}

/// A segment stopped while it waits for its start ends at once, having sent
/// nothing.
#[test]
fn a_segment_stopped_before_its_start_sends_nothing() {
    let _machine = busy();
    let recorder = Recorder::start();
    let plan = load(
        &format!(
            "name: early\ntarget: {}\nload: {{ vus: 2, duration: 5s }}\n\
             scenarios:\n  - name: a\n    steps:\n      - request: GET /a\n",
            recorder.url()
        ),
        None,
    );
    let stop = StopSignal::new();
    let called = Instant::now();
    let measured = std::thread::scope(|scope| {
        let agent = scope.spawn(|| {
            run::run_segment(
                plan.clone(),
                &options(2),
                &SegmentOptions {
                    segment: Segment::new(1, 2),
                    start_at: Some(called + Duration::from_secs(30)),
                },
                &Captures::new(),
                &stop,
                &mut |_| {},
                |_| {},
            )
        });
        // Not a synchronisation: the outcome must be the same whenever the
        // stop comes before the start; a moment's pause only makes it most
        // likely to come while the workers wait.
        std::thread::sleep(Duration::from_millis(100));
        stop.stop();
        agent.join().expect("the agent thread")
    })
    .expect("the segment ends");
    assert!(
        called.elapsed() < Duration::from_secs(10),
        "the segment waited for its start despite the stop"
    );
    assert!(measured.partial);
    assert_eq!(requests(&measured.metrics), 0);
    assert!(recorder.take().is_empty());
}
