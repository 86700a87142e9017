//! Runner journeys in a distributed run: the test file and the directory it imports from travel
//! with the plan to agents whose working directories hold none of it, for `--runner` and for a
//! scenario's `runner:` section alike; an agent not started with `--allow-runners` refuses them.
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

fn shared(python: &Path) -> MutexGuard<'static, Shared> {
    let cell = SHARED.get_or_init(|| {
        let server = Server::start(&[]);
        // Runner journeys run test code: an admin allows them for the client "ci".
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
        let python = python.display().to_string();
        let env = [("PUMMEL_PYTHON", python.as_str())];
        let mut homes = Vec::new();
        let mut agents = Vec::new();
        for (name, extra) in [
            ("r1", &["--allow-runners", "--label", "runners=yes"][..]),
            ("r2", &["--allow-runners", "--label", "runners=yes"][..]),
            ("plain", &["--label", "runners=no"][..]),
        ] {
            let home = tempfile::tempdir().expect("an agent's directory");
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
