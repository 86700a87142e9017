//! A journey written in another language: which runner runs it (Python,
//! Node), which file and entry, with which environment. `pummel run
//! --runner` and a scenario file's `runner:` section both make one; the
//! engine's `run::runner` starts the processes that run it.

use std::path::PathBuf;
use std::time::Duration;

/// How long an iteration may take before it counts as hung (its VU is
/// replaced) when neither the file nor the command line says.
pub const DEFAULT_ITERATION_TIMEOUT: Duration = Duration::from_secs(60);

/// The languages a runner speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunnerKind {
    /// `clients/python`: a `pummel.TestCase` method, VUs as threads.
    Python,
    /// `clients/js`: an exported test function, VUs as async tasks.
    Node,
}

impl RunnerKind {
    /// The names `--runner` and `runner.kind` accept.
    pub const NAMES: [&'static str; 2] = ["python", "node"];

    /// Parses `python` or `node`.
    pub fn parse(text: &str) -> Option<RunnerKind> {
        match text {
            "python" => Some(RunnerKind::Python),
            "node" => Some(RunnerKind::Node),
            _ => None,
        }
    }

    /// What results and messages call it.
    pub fn as_str(self) -> &'static str {
        match self {
            RunnerKind::Python => "python",
            RunnerKind::Node => "node",
        }
    }

    /// The kind a file's extension implies (`.py`, `.mjs`/`.js`/`.cjs`).
    pub(crate) fn from_extension(file: &std::path::Path) -> Option<RunnerKind> {
        match file.extension()?.to_str()? {
            "py" => Some(RunnerKind::Python),
            "mjs" | "js" | "cjs" => Some(RunnerKind::Node),
            _ => None,
        }
    }

    /// The environment variable that names the interpreter, and the
    /// interpreter used when it is unset.
    pub(crate) fn interpreter_var(self) -> (&'static str, &'static str) {
        match self {
            RunnerKind::Python => ("PUMMEL_PYTHON", "python3"),
            RunnerKind::Node => ("PUMMEL_NODE", "node"),
        }
    }
}

/// A journey in another language, as the plan carries it.
#[derive(Clone, Debug)]
pub struct RunnerSpec {
    pub(crate) kind: RunnerKind,
    /// The test file, as it will be opened (relative to the working
    /// directory, or absolute).
    pub(crate) file: PathBuf,
    /// `Class.method` (Python) or an exported function's name (JS); `None`:
    /// the file's only test, or its default export.
    pub(crate) entry: Option<String>,
    /// Extra environment for the runner processes (`runner.env`, `--env`).
    pub(crate) env: Vec<(String, String)>,
    /// Runner processes; `None`: one per worker thread (one per core).
    pub(crate) processes: Option<u32>,
    pub(crate) iteration_timeout: Duration,
    /// The interpreter, when the file names one (else the kind's variable
    /// or default).
    pub(crate) interpreter: Option<String>,
}

impl RunnerSpec {
    /// A runner from the command line: `FILE[:ENTRY]` under `kind`.
    pub fn from_command_line(kind: RunnerKind, target: &str) -> RunnerSpec {
        let (file, entry) = split_entry(target);
        RunnerSpec {
            kind,
            file: PathBuf::from(file),
            entry: entry.map(str::to_owned),
            env: Vec::new(),
            processes: None,
            iteration_timeout: DEFAULT_ITERATION_TIMEOUT,
            interpreter: None,
        }
    }

    /// The scenario name its iterations are counted under: the entry, or
    /// the file's name.
    pub(crate) fn scenario_name(&self) -> String {
        match &self.entry {
            Some(e) => e.clone(),
            None => self
                .file
                .file_name()
                .map_or_else(|| "runner".to_owned(), |n| n.to_string_lossy().into_owned()),
        }
    }

    /// The program and arguments that start one runner process.
    pub(crate) fn command(&self) -> (String, Vec<String>) {
        let (var, default) = self.kind.interpreter_var();
        let program = self
            .interpreter
            .clone()
            .or_else(|| std::env::var(var).ok().filter(|v| !v.is_empty()))
            .unwrap_or_else(|| default.to_owned());
        let file = self.file.to_string_lossy().into_owned();
        let entry = self.entry.clone().unwrap_or_default();
        let args = match self.kind {
            RunnerKind::Python => vec!["-m".into(), "pummel.runner".into(), file, entry],
            // The client resolves from the working directory's
            // node_modules, as `npm install ./clients/js` put it there.
            RunnerKind::Node => vec![
                "--input-type=module".into(),
                "-e".into(),
                "import { main } from 'pummel/runner'; await main();".into(),
                "--".into(),
                file,
                entry,
            ],
        };
        (program, args)
    }

    /// Sets the number of runner processes.
    pub fn set_processes(&mut self, n: u32) {
        self.processes = Some(n);
    }

    /// Sets how long an iteration may run before it counts as hung.
    pub fn set_iteration_timeout(&mut self, timeout: Duration) {
        self.iteration_timeout = timeout;
    }

    /// Adds environment variables for the runner processes.
    pub fn add_env(&mut self, env: impl IntoIterator<Item = (String, String)>) {
        self.env.extend(env);
    }

    /// The kind of runner.
    pub fn kind(&self) -> RunnerKind {
        self.kind
    }

    /// The test file.
    pub fn file(&self) -> &std::path::Path {
        &self.file
    }
}

/// `tests/t.py:Class.method` → (`tests/t.py`, `Class.method`). A colon
/// followed by a path separator or a drive letter's backslash is part of
/// the path, not an entry.
fn split_entry(target: &str) -> (&str, Option<&str>) {
    match target.rsplit_once(':') {
        Some((file, entry))
            if !file.is_empty() && !entry.is_empty() && !entry.contains(['/', '\\']) =>
        {
            (file, Some(entry))
        }
        _ => (target, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_split_from_files() {
        assert_eq!(
            split_entry("tests/test_market.py:MarketTest.test_buy"),
            ("tests/test_market.py", Some("MarketTest.test_buy"))
        );
        assert_eq!(split_entry("market.test.mjs"), ("market.test.mjs", None));
        assert_eq!(split_entry("C:\\t\\m.mjs"), ("C:\\t\\m.mjs", None));
        assert_eq!(split_entry("m.mjs:"), ("m.mjs:", None));
    }

    #[test]
    fn scenario_names_come_from_the_entry_or_the_file() {
        let with = RunnerSpec::from_command_line(RunnerKind::Python, "a/t.py:T.test_x");
        assert_eq!(with.scenario_name(), "T.test_x");
        let without = RunnerSpec::from_command_line(RunnerKind::Node, "a/m.test.mjs");
        assert_eq!(without.scenario_name(), "m.test.mjs");
    }
}
