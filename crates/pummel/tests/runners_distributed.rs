//! Runner journeys in a distributed run: the test file and the directory it imports from travel
//! with the plan to agents whose working directories hold none of it, for `--runner` and for a
//! scenario's `runner:` section alike; an agent not started with `--allow-runners` refuses them.
//! Agents whose runners name their steps, checks and metrics in different orders merge into one
//! result with each figure under its own name.
//!
//! One server, three agents (two that allow runners, one that does not, told apart by labels),
//! shared by the tests here. Needs `scripts/test-deps.d/50-runners.sh`.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use serde_json::Value;

use crate::accounting::CountingTarget;
use crate::cluster::{self, Agent, Server};
use crate::runners::{example, hits, needs};
use crate::util::{self, brief, u};

struct Shared {
    server: Server,
    _agents: Vec<Agent>,
    /// The agents' working directories, empty of any journey.
    _homes: Vec<tempfile::TempDir>,
}

static SHARED: OnceLock<Mutex<Shared>> = OnceLock::new();

/// A server whose admin allows runner journeys for the client "ci" (they run test code).
fn runner_server() -> Server {
    let server = Server::start(&[]);
    let data = server.data.to_str().expect("utf-8 path").to_owned();
    util::pummel(&[
        "server",
        "quota",
        "set",
        "ci",
        "--allow-runners",
        "--data-dir",
        &data,
    ])
    .expect_code(0);
    server
}

fn shared(python: &Path) -> MutexGuard<'static, Shared> {
    let cell = SHARED.get_or_init(|| {
        let server = runner_server();
        let python = python.display().to_string();
        let env = [("PUMMEL_PYTHON", python.as_str())];
        let mut homes = Vec::new();
        let mut agents = Vec::new();
        for (name, extra, order) in [
            (
                "r1",
                &["--allow-runners", "--label", "runners=yes"][..],
                "forward",
            ),
            (
                "r2",
                &["--allow-runners", "--label", "runners=yes"][..],
                "backward",
            ),
            ("plain", &["--label", "runners=no"][..], "forward"),
        ] {
            let home = tempfile::tempdir().expect("an agent's directory");
            // What order `test_ordered.py` meets its names in on this agent (its runner
            // processes inherit the agent's environment).
            let env = [env[0], ("JOURNEY_ORDER", order)];
            agents.push(server.agent_in(home.path(), name, extra, &env));
            homes.push(home);
        }
        Mutex::new(Shared {
            server,
            _agents: agents,
            _homes: homes,
        })
    });
    let guard = cell.lock().unwrap_or_else(PoisonError::into_inner);
    guard.server.wait_agents(&["r1", "r2", "plain"], "idle");
    guard
}

/// The client's journey directory: the marketplace example as a module, a test file that
/// imports it from beside itself and a helper from a package below it — an agent without them
/// could not load the test file.
fn journey(root: &Path) -> PathBuf {
    let dir = root.join("journey");
    let example = std::fs::read_to_string(example("test_market.py")).expect("the example");
    cluster::write(&dir, "market_journey.py", &example);
    cluster::write(
        &dir,
        "test_shipped.py",
        "\"\"\"The marketplace journey, imported from beside this file.\"\"\"\n\
         from market_journey import MarketTest\n\
         from support.where import SHIPPED\n\n\
         assert SHIPPED == \"beside the test\"\n\n\n\
         class ShippedTest(MarketTest):\n    pass\n",
    );
    cluster::write(&dir, "support/__init__.py", "");
    cluster::write(&dir, "support/where.py", "SHIPPED = \"beside the test\"\n");
    dir.join("test_shipped.py")
}

/// Each agent's part: both agents ran iterations, and their requests add up to the run's.
#[track_caller]
fn assert_both_agents_ran(r: &Value) {
    let agents = r["agents"].as_array().expect("an agents section");
    assert_eq!(agents.len(), 2, "{}", brief(r));
    assert!(
        agents.iter().all(|a| u(a, "/requests") > 0),
        "each agent ran its share: {agents:?}"
    );
    assert_eq!(
        agents.iter().map(|a| u(a, "/requests")).sum::<u64>(),
        u(r, "/requests"),
        "{}",
        brief(r)
    );
}

#[test]
fn a_python_journey_ships_with_its_directory_to_agents_that_lack_it() {
    let Some((python, _)) =
        needs("a_python_journey_ships_with_its_directory_to_agents_that_lack_it")
    else {
        return;
    };
    let _busy = util::busy();
    let shared = shared(&python);
    let target = CountingTarget::start();
    let client = tempfile::tempdir().unwrap();
    let test = journey(client.path());
    let entry = format!("{}:ShippedTest.test_journey", test.display());
    let env = format!("TARGET={}", target.base());
    let out = shared.server.client(&[
        "run",
        "--runner",
        "python",
        &entry,
        "--vus",
        "4",
        "--iterations",
        "16",
        "--runner-processes",
        "1",
        "-e",
        &env,
        "--label",
        "runners=yes",
        "--json",
    ]);
    let r = out.expect_code(0).json();
    assert_eq!(u(&r, "/iteration_counts/completed"), 16, "{}", brief(&r));
    assert_eq!(u(&r, "/iteration_counts/failed"), 0, "{}", brief(&r));
    assert_both_agents_ran(&r);
    // setUpClass (register, log in, publish: 3 requests) runs untimed once in each agent's one
    // runner process; everything else the target saw is a hit in the merged result.
    assert_eq!(
        target.served(),
        hits(&r) + 2 * 3,
        "the target's count against the merged hits\n{}",
        brief(&r)
    );
}

#[test]
fn a_runner_section_ships_its_test_directory_under_the_scenario() {
    let Some((python, _)) = needs("a_runner_section_ships_its_test_directory_under_the_scenario")
    else {
        return;
    };
    let _busy = util::busy();
    let shared = shared(&python);
    let target = CountingTarget::start();
    let client = tempfile::tempdir().unwrap();
    journey(client.path());
    let scenario = cluster::write(
        client.path(),
        "browse.yaml",
        "load: { vus: 4, iterations: 12 }\n\
         runner:\n  file: journey/test_shipped.py\n  entry: ShippedTest.test_browse\n  \
         processes: 1\n",
    );
    let env = format!("TARGET={}", target.base());
    let out = shared.server.client(&[
        "run",
        scenario.to_str().unwrap(),
        "-e",
        &env,
        "--label",
        "runners=yes",
        "--json",
    ]);
    let r = out.expect_code(0).json();
    assert_eq!(u(&r, "/iteration_counts/completed"), 12, "{}", brief(&r));
    assert_eq!(u(&r, "/iteration_counts/failed"), 0, "{}", brief(&r));
    assert_both_agents_ran(&r);
    assert_eq!(
        target.served(),
        hits(&r) + 2 * 3,
        "the target's count against the merged hits\n{}",
        brief(&r)
    );
}

#[test]
fn an_agent_without_allow_runners_refuses_a_runner_journey() {
    let Some((python, _)) = needs("an_agent_without_allow_runners_refuses_a_runner_journey") else {
        return;
    };
    let _busy = util::busy();
    let shared = shared(&python);
    let target = CountingTarget::start();
    let client = tempfile::tempdir().unwrap();
    let test = journey(client.path());
    let entry = format!("{}:ShippedTest.test_browse", test.display());
    let env = format!("TARGET={}", target.base());
    let out = shared.server.client(&[
        "run",
        "--runner",
        "python",
        &entry,
        "--vus",
        "1",
        "--iterations",
        "2",
        "-e",
        &env,
        "--label",
        "runners=no",
    ]);
    let out = out.expect_code(2);
    assert!(
        out.stderr.contains("agent plain")
            && out.stderr.contains("does not run python runner journeys")
            && out.stderr.contains("--allow-runners"),
        "the agent, the reason and the remedy are named: {}",
        out.context()
    );
    assert_eq!(target.served(), 0, "nothing ran");
    // The same agent still runs what it allows.
    let out = shared.server.client(&[
        "bench",
        &target.url("/"),
        "-n",
        "20",
        "--label",
        "runners=no",
        "--json",
    ]);
    assert_eq!(u(&out.expect_code(0).json(), "/requests"), 20);
}

/// A journey that names three steps, their checks and custom metrics in the order the agent's
/// `JOURNEY_ORDER` says: r1 meets them alpha, beta, gamma; r2 gamma, beta, alpha. Each step sends
/// a different number of requests, so a figure merged under another step's name shows.
const ORDERED: &str = r#""""Steps met in an order each agent chooses."""
import os

import pummel

TARGET = os.environ["TARGET"].rstrip("/")
STEPS = [("alpha", 1), ("beta", 2), ("gamma", 3)]
if os.environ.get("JOURNEY_ORDER") == "backward":
    STEPS.reverse()


class OrderedTest(pummel.TestCase):
    def test_ordered(self):
        for name, requests in STEPS:
            with self.step(name):
                for _ in range(requests):
                    r = self.session.get(TARGET + "/" + name)
                    self.check(r.status_code < 500, "answered " + name)
            self.metric("sent " + name, requests)
            self.metric("size " + name, 10 * requests, kind="trend")
"#;

#[test]
fn agents_that_name_a_runner_journey_in_different_orders_merge_by_name() {
    let Some((python, _)) =
        needs("agents_that_name_a_runner_journey_in_different_orders_merge_by_name")
    else {
        return;
    };
    let _busy = util::busy();
    let shared = shared(&python);
    let target = CountingTarget::start();
    let client = tempfile::tempdir().unwrap();
    let test = cluster::write(client.path(), "test_ordered.py", ORDERED);
    let entry = format!("{}:OrderedTest.test_ordered", test.display());
    let env = format!("TARGET={}", target.base());
    let out = shared.server.client(&[
        "run",
        "--runner",
        "python",
        &entry,
        "--vus",
        "2",
        "--iterations",
        "10",
        "--runner-processes",
        "1",
        "-e",
        &env,
        "--label",
        "runners=yes",
        "--json",
    ]);
    let r = out.expect_code(0).json();
    assert_eq!(u(&r, "/iteration_counts/completed"), 10, "{}", brief(&r));
    assert_both_agents_ran(&r);
    assert_eq!(target.served(), hits(&r), "{}", brief(&r));
    let steps = r["steps"].as_array().expect("steps");
    for (name, requests) in [("alpha", 1), ("beta", 2), ("gamma", 3)] {
        let step = steps
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("step {name} in {}", brief(&r)));
        assert_eq!(u(step, "/requests"), 10 * requests, "{name}: {step}");
        let label = format!("answered {name}");
        let check = step["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["label"] == label.as_str()))
            .unwrap_or_else(|| panic!("check {label:?} of {step}"));
        assert_eq!(u(check, "/passed"), 10 * requests, "{label}: {check}");
        let metric = |name: &str| {
            r["runner"]["metrics"]
                .as_array()
                .and_then(|m| m.iter().find(|m| m["name"] == name))
                .cloned()
                .unwrap_or_else(|| panic!("metric {name:?} in {}", r["runner"]))
        };
        let sent = metric(&format!("sent {name}"));
        assert_eq!(
            sent["value"].as_f64(),
            Some(10.0 * requests as f64),
            "{sent}"
        );
        // Every value of a trend is the same: min and max are it, within the histogram's
        // precision; another step's values merged in would move one of them by 10 or more.
        let size = metric(&format!("size {name}"));
        let want = 10.0 * requests as f64;
        for end in ["min", "max"] {
            let got = size["trend"][end].as_f64().unwrap_or(f64::NAN);
            assert!((got - want).abs() < 0.5, "{end} of size {name}: {size}");
        }
    }
}

/// `pummel jobs show JOB --json` as the client sees it.
fn job(server: &Server, id: &str) -> Value {
    let out = server.client(&["jobs", "show", id, "--json"]);
    serde_json::from_str(&out.stdout).unwrap_or(Value::Null)
}

#[test]
fn a_queued_runner_journey_waits_for_an_agent_that_runs_runners() {
    let Some((python, _)) = needs("a_queued_runner_journey_waits_for_an_agent_that_runs_runners")
    else {
        return;
    };
    let _busy = util::busy();
    let server = runner_server();
    let python = python.display().to_string();
    let env = [("PUMMEL_PYTHON", python.as_str())];
    let homes = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let _plain = server.agent_in(homes[0].path(), "plain", &[], &env);
    server.wait_agents(&["plain"], "idle");
    let target = CountingTarget::start();
    let client = tempfile::tempdir().unwrap();
    let test = journey(client.path());
    let entry = format!("{}:ShippedTest.test_browse", test.display());
    let target_env = format!("TARGET={}", target.base());
    // Only "plain" is free, and it would refuse a runner journey: the job waits.
    let queued = server
        .client(&[
            "run",
            "--runner",
            "python",
            &entry,
            "--vus",
            "1",
            "--iterations",
            "2",
            "--runner-processes",
            "1",
            "-e",
            &target_env,
            "--queue",
            "--detach",
        ])
        .expect_code(0);
    let journey_job = queued.stdout.trim().to_owned();
    // A plain job queued after it starts on "plain", which the head cannot use, and passes...
    let bench = server
        .client(&["bench", &target.url("/"), "-n", "10", "--queue", "--json"])
        .expect_code(0);
    assert_eq!(u(&bench.json(), "/requests"), 10);
    // ...while the runner journey still waits, first in line, not refused by "plain".
    let waiting = job(&server, &journey_job);
    assert_eq!(
        (waiting["state"].as_str(), waiting["position"].as_u64()),
        (Some("queued"), Some(1)),
        "{waiting}"
    );
    // An agent that runs runner journeys joins: the journey runs there and passes.
    let _runner = server.agent_in(homes[1].path(), "runs", &["--allow-runners"], &env);
    let mut last = Value::Null;
    let passed = cluster::poll(cluster::SETTLE, || {
        last = job(&server, &journey_job);
        last["state"] == "passed"
    });
    assert!(passed, "{last}");
    // `pummel agents --json` says which agent can run what.
    let capable = |name: &str| {
        server
            .agents()
            .into_iter()
            .find(|a| a["name"] == name)
            .is_some_and(|a| a["capabilities"].to_string().contains("\"runners\""))
    };
    assert!(
        capable("runs") && !capable("plain"),
        "{:?}",
        server.agents()
    );
    let run = last["run"].as_str().unwrap_or_default().to_owned();
    let result = server
        .client(&["result", &run, "--out", "-"])
        .expect_code(0)
        .json();
    let agents: Vec<&str> = result["agents"]
        .as_array()
        .map(|a| a.iter().filter_map(|a| a["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(agents, ["runs"], "{}", brief(&result));
    assert_eq!(
        u(&result, "/iteration_counts/completed"),
        2,
        "{}",
        brief(&result)
    );
}
