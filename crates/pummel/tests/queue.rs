//! The server's store on both backends and its job queue, end to end: a real `pummel server`
//! (its store in SQLite, then in a real PostgreSQL from `postgres`), real agents and the client
//! commands, against a counting target. Every test body runs once per backend.

use crate::accounting::CountingTarget;
use crate::cluster::{poll, Agent, Server, SETTLE};
use crate::distributed::{read_json, run_id};
use crate::util::{self, u};

/// Runs `body` with the store in SQLite, then in a fresh PostgreSQL database (skipped, outside
/// CI, when PostgreSQL is not installed).
fn on_both_backends(test: &str, body: impl Fn(Option<&str>)) {
    body(None);
    if let Some(url) = crate::postgres::database(test) {
        body(Some(&url));
    }
}

#[test]
fn the_store_keeps_runs_across_a_kill_on_both_backends() {
    on_both_backends(
        "the_store_keeps_runs_across_a_kill_on_both_backends",
        |db| {
            let _busy = util::busy();
            let mut server = Server::start_on(db, &[]);
            let _agents: Vec<Agent> = ["k1", "k2"]
                .iter()
                .map(|n| server.agent(n, &[], &[]))
                .collect();
            server.wait_agents(&["k1", "k2"], "idle");
            let target = CountingTarget::start();
            // A whole run: merged exactly, kept with its result.
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("r.json");
            let out = server.client(&[
                "bench",
                &target.url("/"),
                "-n",
                "400",
                "-c",
                "4",
                "--agents",
                "2",
                "--out",
                file.to_str().unwrap(),
            ]);
            out.expect_code(0);
            assert_eq!(u(&read_json(&file), "/requests"), 400, "{db:?}");
            assert_eq!(target.served(), 400);
            // A run in flight when the server is killed: interrupted, with what it measured.
            let out = server.client(&[
                "bench",
                &target.url("/"),
                "-q",
                "40",
                "-z",
                "5s",
                "-c",
                "2",
                "--detach",
            ]);
            let run = run_id(&out.expect_code(0));
            server.wait_run(&run, &["running"], SETTLE);
            assert!(poll(SETTLE, || target.served() > 440));
            server.restart();
            server.wait_run(&run, &["interrupted"], SETTLE);
            server.wait_agents(&["k1", "k2"], "idle");
            let kept = poll(SETTLE, || {
                server
                    .client(&["result", &run, "--out", file.to_str().unwrap()])
                    .code
                    == Some(0)
                    && u(&read_json(&file), "/requests") + u(&read_json(&file), "/requests_cut")
                        == target.served() - 400
            });
            assert!(
                kept,
                "{db:?}: {} of {}",
                read_json(&file)["requests"],
                target.served() - 400
            );
            assert_eq!(read_json(&file)["partial"], true);
        },
    );
}
