//! `pummel server --metrics-listen`: Debian's Prometheus scrapes the server while two distributed
//! runs go on at once; each run's series carry its `run` label, and what Prometheus stored for
//! each run equals that run's merged result once its lingering final figures were scraped; every
//! panel of the Grafana dashboard, its `run` variable set to one run, has data.

use std::path::Path;

use serde_json::Value;

use crate::accounting::CountingTarget;
use crate::cluster::{self, Agent, Server};
use crate::distributed::read_json;
use crate::live_metrics::{
    eventually_equals, every_dashboard_panel_has_data, free_port, have, now_s, prometheus, query,
    Daemon, PROMETHEUS,
};
use crate::util::{self, u};

/// A scenario of three checked and failing steps against `target`, `vus` for `duration`.
fn scenario(dir: &Path, name: &str, target: &CountingTarget, vus: u32, duration: &str) -> String {
    let path = cluster::write(
        dir,
        &format!("{name}.yaml"),
        &format!(
            "name: {name}\ntarget: {}\nload: {{ vus: {vus}, duration: {duration} }}\nscenarios:\n  - name: shop\n    steps:\n      - name: list\n        request: GET /api/apps?category=games\n        check: {{ status: 200 }}\n      - name: gone\n        request: GET http://127.0.0.1:{}/\n      - think: 20ms\n",
            target.base(),
            util::closed_port()
        ),
    );
    path.to_str().expect("utf-8 path").to_owned()
}

/// What Prometheus stored for `run` equals its result: requests per step, errors, checks,
/// latency counts, and the run's end.
#[track_caller]
fn prometheus_holds_the_run(prom: &Daemon, run: &str, result: &Value) {
    let sel = format!(r#"job="pummel",run="{run}""#);
    eventually_equals(
        prom,
        &format!("max_over_time(pummel_finished{{{sel}}}[5m])"),
        1,
    );
    eventually_equals(
        prom,
        &format!("sum(max_over_time(pummel_requests_total{{{sel}}}[5m]))"),
        u(result, "/requests"),
    );
    for step in result["steps"].as_array().expect("steps") {
        let name = format!("shop/{}", step["name"].as_str().expect("name"));
        eventually_equals(
            prom,
            &format!(r#"max_over_time(pummel_requests_total{{{sel},step="{name}"}}[5m])"#),
            u(step, "/requests"),
        );
    }
    eventually_equals(
        prom,
        &format!(r#"sum(max_over_time(pummel_errors_total{{{sel},kind="connect_refused"}}[5m]))"#),
        u(result, "/errors/connect_refused"),
    );
    eventually_equals(
        prom,
        &format!(r#"max_over_time(pummel_checks_total{{{sel},result="pass"}}[5m])"#),
        u(result, "/checks/passed"),
    );
    eventually_equals(
        prom,
        &format!("sum(max_over_time(pummel_request_duration_seconds_count{{{sel}}}[5m]))"),
        u(result, "/responses"),
    );
}

#[test]
fn the_server_publishes_each_runs_merged_figures_under_its_run_label() {
    if !have(PROMETHEUS) {
        util::skip_without(
            "the_server_publishes_each_runs_merged_figures_under_its_run_label",
            "Debian's prometheus is missing (scripts/install-test-deps)",
        );
        return;
    }
    let _busy = util::busy();
    let metrics_port = free_port();
    let prom = prometheus(metrics_port);
    let listen = format!("127.0.0.1:{metrics_port}");
    let server = Server::start(&["--metrics-listen", &listen, "--metrics-linger", "30s"]);
    let _agents: Vec<Agent> = ["m1", "m2", "m3"]
        .iter()
        .map(|n| server.agent(n, &[], &[]))
        .collect();
    server.wait_agents(&["m1", "m2", "m3"], "idle");
    // Prometheus finds its targets a few seconds after it starts: the runs begin once it has
    // scraped the server, so their live seconds are scraped too, not only their end.
    eventually_equals(&prom, r#"up{job="pummel"}"#, 1);
    let target = CountingTarget::start();
    let dir = tempfile::tempdir().unwrap();
    let started = now_s();
    // Two runs at once: one on two agents, one on the third.
    let a = scenario(dir.path(), "wide", &target, 4, "4s");
    let b = scenario(dir.path(), "narrow", &target, 2, "3s");
    let run_a = server
        .client(&["run", &a, "--agents", "2", "--detach"])
        .expect_code(0)
        .stdout
        .trim()
        .to_owned();
    let run_b = server
        .client(&["run", &b, "--agents", "1", "--detach"])
        .expect_code(0)
        .stdout
        .trim()
        .to_owned();
    for run in [&run_a, &run_b] {
        server.wait_run(run, &["finished"], std::time::Duration::from_secs(60));
    }
    let mut results = Vec::new();
    for run in [&run_a, &run_b] {
        let out = dir.path().join(format!("{run}.json"));
        server
            .client(&["result", run, "--out", out.to_str().unwrap()])
            .expect_code(0);
        results.push(read_json(&out));
    }
    for (run, result) in [(&run_a, &results[0]), (&run_b, &results[1])] {
        assert!(u(result, "/requests") > 10, "{run}: {result}");
        prometheus_holds_the_run(&prom, run, result);
    }
    // Every series the server published names its run: none lacks the label.
    let unlabelled = query(&prom, r#"pummel_requests_total{job="pummel",run=""}"#);
    assert!(unlabelled.is_empty(), "{unlabelled:?}");
    // The dashboard, set to one run, draws it.
    every_dashboard_panel_has_data(&prom, started, &run_a);
}
