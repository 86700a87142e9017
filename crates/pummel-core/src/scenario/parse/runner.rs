//! `runner:` — a journey written in another language (Python, Node) in
//! place of `scenarios`: its file, entry, kind, environment and processes.

use super::decoder::{Decoder, Fields};
use crate::limits::MAX_THREADS;
use crate::scenario::diagnostic::with_suggestion;
use crate::scenario::model::Scenario;
use crate::scenario::runner::{RunnerKind, RunnerSpec, DEFAULT_ITERATION_TIMEOUT};
use crate::scenario::yaml::{Kind, Node};

impl Decoder<'_> {
    /// The file's journey: a `runner` (and its one scenario), or its
    /// `scenarios`; what belongs to YAML journeys is refused beside a runner.
    pub(super) fn runner_or_scenarios(
        &mut self,
        f: &Fields<'_>,
    ) -> (Option<RunnerSpec>, Vec<Scenario>) {
        let Some(node) = f.get("runner") else {
            let scenarios = match f.get("scenarios") {
                Some(n) => self.decode_scenarios(n),
                None => {
                    self.err(f.span, "the file has no `scenarios`: add a list of scenarios, each with `name` and `steps` (or a `runner`)");
                    Vec::new()
                }
            };
            return (None, scenarios);
        };
        for key in [
            "scenarios",
            "setup",
            "teardown",
            "variables",
            "data",
            "defaults",
        ] {
            if f.has(key) {
                self.err(
                    f.key_span(key),
                    format!("`{key}` cannot go with `runner`: the runner's file is the journey"),
                );
            }
        }
        let runner = self.decode_runner(node);
        let scenarios = runner.iter().map(Scenario::for_runner).collect();
        (runner, scenarios)
    }

    pub(crate) fn decode_runner(&mut self, node: &Node) -> Option<RunnerSpec> {
        let f = self.fields(
            node,
            "`runner`",
            &[
                "file",
                "entry",
                "kind",
                "env",
                "processes",
                "iteration_timeout",
                "interpreter",
            ],
        )?;
        let Some(file_node) = f.get("file") else {
            self.missing(&f, f.span, "`runner` needs `file`: the test file to run");
            return None;
        };
        let file = self.string(file_node, "`runner.file`")?;
        let path = self.base_dir.join(&file);
        if !path.is_file() {
            self.err(
                file_node.span,
                format!("`runner.file`: no file at {}", path.display()),
            );
        }
        let kind = match f.get("kind") {
            Some(n) => {
                let text = self.string(n, "`runner.kind`")?;
                let Some(kind) = RunnerKind::parse(&text) else {
                    let message = with_suggestion(
                        format!("unknown runner kind `{text}` (kinds: python, node)"),
                        &text,
                        RunnerKind::NAMES,
                    );
                    self.err(n.span, message);
                    return None;
                };
                kind
            }
            None => {
                let Some(kind) = RunnerKind::from_extension(&path) else {
                    self.err(
                        file_node.span,
                        "`runner.file` is neither .py nor .mjs/.js: say which with `kind: python` or `kind: node`",
                    );
                    return None;
                };
                kind
            }
        };
        let entry = f
            .get("entry")
            .and_then(|n| self.string(n, "`runner.entry`"));
        let interpreter = f
            .get("interpreter")
            .and_then(|n| self.string(n, "`runner.interpreter`"));
        let env = f.get("env").map(|n| self.runner_env(n)).unwrap_or_default();
        let processes = f.get("processes").and_then(|n| self.processes(n));
        let iteration_timeout = f
            .get("iteration_timeout")
            .and_then(|n| self.positive_duration(n, "`runner.iteration_timeout`"))
            .unwrap_or(DEFAULT_ITERATION_TIMEOUT);
        Some(RunnerSpec {
            kind,
            file: path,
            entry,
            env,
            processes,
            iteration_timeout,
            interpreter,
        })
    }

    fn runner_env(&mut self, node: &Node) -> Vec<(String, String)> {
        let Some(entries) =
            self.map_entries(node, "`runner.env` must be a mapping of names to values")
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let (Some(name), Some(value)) = (
                self.scalar(k, "a `runner.env` name"),
                self.scalar(v, "a `runner.env` value"),
            ) else {
                continue;
            };
            if name.is_empty() || name.contains(['=', '\0']) || value.contains('\0') {
                self.err(
                    k.span,
                    format!("`runner.env`: `{name}` cannot be an environment variable"),
                );
                continue;
            }
            out.push((name, value));
        }
        out
    }

    fn processes(&mut self, node: &Node) -> Option<u32> {
        match node.kind {
            Kind::Int(n) if n >= 1 && n as u64 <= MAX_THREADS => Some(n as u32),
            _ => {
                self.err(
                    node.span,
                    format!("`runner.processes` must be a whole number from 1 to {MAX_THREADS}"),
                );
                None
            }
        }
    }
}
