//! A failing target is a counted error of a named kind, and the run goes on (exit 0).

use crate::util::{self, assert_consistent, brief, closed_port, errors, pummel, u, Target};

#[test]
fn refused_connections_are_counted_and_the_run_finishes() {
    let url = format!("http://127.0.0.1:{}/", closed_port());
    let out = pummel(&["bench", "-n", "20", "-c", "2", "--json", &url]).expect_code(0);
    let r = out.json();
    assert_consistent(&r);
    assert_eq!(u(&r, "/errors/connect_refused"), 20, "{}", brief(&r));
    assert_eq!(errors(&r).len(), 1, "only refusals\n{}", brief(&r));
    assert_eq!(u(&r, "/requests"), 20, "{}", brief(&r));
    assert_eq!(u(&r, "/responses"), 0, "{}", brief(&r));
    assert_eq!(u(&r, "/bytes_received"), 0, "{}", brief(&r));
    assert!(
        out.elapsed.as_secs() < 20,
        "refusals are quick\n{}",
        out.context()
    );

    // The text summary names the kind.
    let out = pummel(&["bench", "-n", "5", "-c", "1", &url]).expect_code(0);
    assert!(out.stdout.contains("connect_refused"), "{}", out.context());
}

#[test]
fn slow_responses_time_out_and_the_run_finishes() {
    let _machine = util::busy();
    let target = Target::start();
    let out = pummel(&[
        "bench",
        "-n",
        "4",
        "-c",
        "2",
        "--timeout",
        "200ms",
        "--json",
        &target.url("/delay/5000"),
    ])
    .expect_code(0);
    let r = out.json();
    assert_consistent(&r);
    assert_eq!(u(&r, "/errors/timeout"), 4, "{}", brief(&r));
    assert_eq!(u(&r, "/responses"), 0, "{}", brief(&r));
    // Two rounds of 200 ms, not the 5 s the target would take.
    assert!(
        out.elapsed.as_secs_f64() < 4.0,
        "timeouts are enforced\n{}",
        out.context()
    );
}
