//! The open model's schedule as the server sees it: request *k* of a rate *R* arrives at *k / R*,
//! however many worker threads share the schedule out, and a timed run lasts the time it was given.
//!
//! The arrival times are taken at the server: [`Recorder`] is a small HTTP/1.1 server that notes
//! the moment each request line arrives. These tests hold the machine exclusively
//! ([`util::quiet`]); the bounds allow for a noisy machine, yet a schedule shared out as smaller
//! rates (pairs of requests at once, twice the gap between pairs) falls far outside them.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use serde_json::Value;

use crate::util::{self, assert_within, brief, pummel, u, Target};

/// An HTTP/1.1 server on 127.0.0.1 that answers every request `200 ok` on a kept-alive
/// connection and records when each request line arrived. One thread per connection: the
/// request rates of these tests are low.
struct Recorder {
    port: u16,
    arrivals: Arc<Mutex<Vec<Instant>>>,
    closing: Arc<AtomicBool>,
}

impl Recorder {
    fn start() -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let closing = Arc::new(AtomicBool::new(false));
        {
            let arrivals = arrivals.clone();
            let closing = closing.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if closing.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let arrivals = arrivals.clone();
                    std::thread::spawn(move || serve(stream, &arrivals));
                }
            });
        }
        Recorder {
            port,
            arrivals,
            closing,
        }
    }

    /// `http://127.0.0.1:PORT/`.
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// When each request arrived, in milliseconds after the first, in order.
    fn arrivals_ms(&self) -> Vec<f64> {
        let mut at = self
            .arrivals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        at.sort();
        let first = at.first().copied();
        at.iter()
            .map(|t| first.map_or(0.0, |f| (*t - f).as_secs_f64() * 1000.0))
            .collect()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // Wake the accepting thread so that it sees the flag and ends.
        self.closing.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Serves one connection: each request is a request line and headers (the tests send no body).
fn serve(stream: TcpStream, arrivals: &Mutex<Vec<Instant>>) {
    let _ = stream.set_nodelay(true);
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let mut lines = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line.trim().is_empty() => continue,
            Ok(_) => {}
        }
        let arrived = Instant::now();
        arrivals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(arrived);
        loop {
            line.clear();
            match lines.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line.trim().is_empty() => break,
                Ok(_) => {}
            }
        }
        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok";
        if out.write_all(answer).is_err() {
            return;
        }
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// How many times a run whose arrivals miss their slots is tried. A busy machine (other builds
/// beside the tests) stalls a process for tens of milliseconds now and then, which delays the
/// requests of that moment; it does not do so on every try. A wrong schedule is wrong every time.
const ATTEMPTS: usize = 3;

/// Runs `attempt` until it succeeds, at most [`ATTEMPTS`] times; fails the test with every
/// attempt's complaint if none did.
#[track_caller]
fn on_some_attempt(mut attempt: impl FnMut() -> Result<(), String>) {
    let mut complaints = Vec::new();
    for _ in 0..ATTEMPTS {
        match attempt() {
            Ok(()) => {
                for c in &complaints {
                    eprintln!("retried after a miss (a busy machine?): {c}");
                }
                return;
            }
            Err(complaint) => complaints.push(complaint),
        }
    }
    panic!(
        "{ATTEMPTS} attempts missed the schedule:\n{}",
        complaints.join("\n")
    );
}

/// Whether `arrivals` (ms, in order) are `count` requests one every `period` ms: the median gap
/// within 2 ms (or 2 %) of the period, and each request on its slot ([`on_schedule`]).
fn evenly_spaced(
    what: &str,
    arrivals: &[f64],
    count: usize,
    period: f64,
    tolerance: f64,
) -> Result<(), String> {
    let gaps: Vec<f64> = arrivals.windows(2).map(|w| w[1] - w[0]).collect();
    if !gaps.is_empty() {
        let m = median(&gaps);
        if (m - period).abs() > (period * 0.02).max(2.0) {
            return Err(format!(
                "{what}: median gap {m:.2} ms, expected {period} ms; arrivals (ms): {}",
                show(arrivals)
            ));
        }
    }
    let slots: Vec<f64> = (0..count).map(|k| k as f64 * period).collect();
    on_schedule(what, arrivals, &slots, tolerance)
}

/// Whether `arrivals` (ms, in order) are one request per slot of `slots` (ms from the start):
/// none earlier than `tolerance` before its slot, at least 80 % of them (all, for fewer than ten)
/// no later than `tolerance` after it. The start is fitted as the median of
/// `arrival_k - slot_k`, so that a first request slowed by its connect does not shift the others.
///
/// The pacer sends a delayed request at once, so the next one may follow it closely: gaps alone
/// would flag a stall of the machine. Nothing makes a request early but a wrong schedule:
/// shares of a rate that each start at zero send bunches, most of their requests a slot or more
/// before their own.
fn on_schedule(what: &str, arrivals: &[f64], slots: &[f64], tolerance: f64) -> Result<(), String> {
    let shown = show(arrivals);
    if arrivals.len() != slots.len() {
        return Err(format!(
            "{what}: {} requests at the server, expected {} (ms): {shown}",
            arrivals.len(),
            slots.len()
        ));
    }
    let from_slot: Vec<f64> = arrivals.iter().zip(slots).map(|(a, s)| a - s).collect();
    let offset = median(&from_slot);
    let off: Vec<f64> = from_slot.iter().map(|d| d - offset).collect();
    if let Some((k, d)) = off.iter().enumerate().find(|(_, d)| **d < -tolerance) {
        return Err(format!(
            "{what}: request {k} arrived {:.2} ms before its slot; arrivals (ms): {shown}",
            -d
        ));
    }
    let late: Vec<String> = off
        .iter()
        .enumerate()
        .filter(|(_, d)| **d > tolerance)
        .map(|(k, d)| format!("{k} (+{d:.1} ms)"))
        .collect();
    let allowed = if slots.len() < 10 { 0 } else { slots.len() / 5 };
    if late.len() > allowed {
        return Err(format!(
            "{what}: {} requests more than {tolerance} ms after their slot: {}; arrivals (ms): \
             {shown}",
            late.len(),
            late.join(", ")
        ));
    }
    Ok(())
}

fn show(arrivals: &[f64]) -> String {
    arrivals
        .iter()
        .map(|t| format!("{t:.1}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A scenario file in a fresh temporary directory (kept alive by the returned guard).
fn scenario_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rate.yaml");
    std::fs::write(&path, text).expect("write scenario file");
    (dir, path)
}

fn one_get(target: &str, load: &str) -> String {
    format!(
        "target: {target}\nload: {load}\nscenarios:\n  - name: arrivals\n    steps:\n      - request: GET /\n"
    )
}

/// 50 requests a second for 1 s are 50 requests 20 ms apart at the server, on 1, 2 or 4 worker
/// threads: each thread sends every 2nd (or 4th) request of the one schedule, not a schedule of
/// its own at half (a quarter of) the rate, which would send them in bunches.
#[test]
fn bench_requests_arrive_on_one_schedule_whatever_the_threads() {
    let _machine = util::quiet();
    for threads in ["1", "2", "4"] {
        on_some_attempt(|| {
            let server = Recorder::start();
            let r = pummel(&[
                "bench",
                "-q",
                "50",
                "-z",
                "1s",
                "-c",
                "8",
                "--threads",
                threads,
                "--json",
                &server.url(),
            ])
            .json_ok();
            // A stall of the machine at the end may leave the last request in flight at the
            // deadline, cut: a miss like any other.
            if u(&r, "/requests") != 50 {
                return Err(format!("requests != 50: {}", brief(&r)));
            }
            evenly_spaced(
                &format!("bench -q 50 --threads {threads}"),
                &server.arrivals_ms(),
                50,
                20.0,
                8.0,
            )
        });
    }
}

/// The same for a scenario's open model, on 1, 2 or 4 worker threads.
#[test]
fn scenario_iterations_arrive_on_one_schedule_whatever_the_threads() {
    let _machine = util::quiet();
    for threads in ["1", "2", "4"] {
        on_some_attempt(|| {
            let server = Recorder::start();
            let base = server.url();
            let (_dir, file) = scenario_file(&one_get(
                base.trim_end_matches('/'),
                "{ rate: 50, duration: 1s, max_vus: 8 }",
            ));
            let file = file.to_str().expect("utf-8 path");
            let r = pummel(&["run", file, "--json", "--threads", threads]).json_ok();
            // A stall of the machine at the end may leave the last request in flight at the
            // deadline, cut: a miss like any other.
            if u(&r, "/requests") != 50 {
                return Err(format!("requests != 50: {}", brief(&r)));
            }
            evenly_spaced(
                &format!("rate: 50 --threads {threads}"),
                &server.arrivals_ms(),
                50,
                20.0,
                8.0,
            )
        });
    }
}

/// Half a request a second for 5 s: three requests, at 0, 2 and 4 s (not two at 0 and two at 4,
/// as two threads each with a rate of 0.25 would send), in a run that lasted 5 s.
#[test]
fn a_slow_rate_is_spaced_as_the_rate_says() {
    let _machine = util::quiet();
    let server = Recorder::start();
    let base = server.url();
    let (_dir, file) = scenario_file(&one_get(
        base.trim_end_matches('/'),
        "{ rate: 0.5, duration: 5s, max_vus: 4 }",
    ));
    let file = file.to_str().expect("utf-8 path");
    let r = pummel(&["run", file, "--json", "--threads", "2"]).json_ok();
    let arrivals = server.arrivals_ms();
    let spaced = evenly_spaced("rate: 0.5 --threads 2", &arrivals, 3, 2000.0, 50.0);
    assert_eq!(spaced, Ok(()));
    assert_within(&r, "/duration_s", 4.99, 5.2);
}

/// A ramping rate, 0 to 40 a second over 2 s, on 2 threads: 40 iterations, the k-th when the
/// integral of the rate (10·t² per second²) reaches k, at √(k/10) s. Two threads each ramping to
/// 20 a second would start theirs in pairs, at √(k/5) s.
#[test]
fn a_ramping_rate_arrives_on_one_schedule() {
    let _machine = util::quiet();
    let slots: Vec<f64> = (0..40)
        .map(|k| (f64::from(k) / 10.0).sqrt() * 1000.0)
        .collect();
    on_some_attempt(|| {
        let server = Recorder::start();
        let base = server.url();
        let (_dir, file) = scenario_file(&one_get(
            base.trim_end_matches('/'),
            "{ start_rate: 0, rate_stages: [{ duration: 2s, target: 40 }], max_vus: 8 }",
        ));
        let file = file.to_str().expect("utf-8 path");
        let r = pummel(&["run", file, "--json", "--threads", "2"]).json_ok();
        assert_within(&r, "/duration_s", 1.99, 2.15);
        on_schedule(
            "rate_stages 0 → 40/s over 2 s, --threads 2",
            &server.arrivals_ms(),
            &slots,
            8.0,
        )
    });
}

/// A timed open-model run lasted the time it was given: its duration is not the moment its last
/// scheduled request was answered (1.8 s here, and 1.6 s with a share of the schedule per thread),
/// and its rate is the rate it was asked for.
#[test]
fn a_timed_rate_bench_lasts_its_duration() {
    let _machine = util::quiet();
    let target = Target::start();
    let r = pummel(&["bench", "-q", "5", "-z", "2s", "--json", &target.url("/")]).json_ok();
    assert_eq!(u(&r, "/requests"), 10, "{}", brief(&r));
    assert_within(&r, "/duration_s", 1.99, 2.15);
    assert_within(&r, "/rps", 4.65, 5.03);
    // Ended by its count, an open-model run lasts as long as its schedule (20 requests at 10/s:
    // 2 s), or until its last answer if that comes later.
    let r = pummel(&["bench", "-q", "10", "-n", "20", "--json", &target.url("/")]).json_ok();
    assert_eq!(u(&r, "/requests"), 20, "{}", brief(&r));
    assert_within(&r, "/duration_s", 1.99, 2.15);
}

/// The same for a scenario with `--rate 20 -z 1s`: 20 iterations in 1 s, not in 0.9 s.
#[test]
fn a_timed_rate_scenario_lasts_its_duration() {
    let _machine = util::quiet();
    let target = Target::start();
    let (_dir, file) = scenario_file(&one_get(
        target.url("/").trim_end_matches('/'),
        "{ vus: 1, duration: 5s }",
    ));
    let file = file.to_str().expect("utf-8 path");
    let r: Value = pummel(&["run", file, "--json", "--rate", "20", "-z", "1s"]).json_ok();
    assert_eq!(u(&r, "/requests"), 20, "{}", brief(&r));
    assert_within(&r, "/duration_s", 0.99, 1.1);
    assert_within(&r, "/rps", 18.2, 20.2);
}
