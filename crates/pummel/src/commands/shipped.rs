//! Plans as they travel to a server and its agents ([`PlanSpec`]): made on
//! the client from the command line, loaded on the server (to merge and
//! judge) and on each agent (to run) by the same code as a local run.
//!
//! A scenario travels as its text, the files it reads (by the relative
//! paths it names them with) and the `env.` values it uses, resolved on the
//! client: an agent never reads a file or an environment variable of its
//! own. A bench travels as its flags, parsed again by the same parser.
//!
//! A runner journey (`--runner`, or a scenario's `runner:` section) travels
//! with its test file's directory (`runner_files`), and with the runner's
//! command-line settings and `--env` values, which its processes see.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use clap::Parser as _;
use pummel_core::bench::BenchPlan;
use pummel_core::limits;
use pummel_core::run::RunOptions;
use pummel_core::scenario::{self, LoadOptions, Overrides, Plan};
use pummel_server::wire::PlanSpec;

use crate::cli::{BenchArgs, Cli, Command, RunArgs};
use crate::exit::Failure;

use super::runner_files;

/// A shipped plan, loaded.
pub(crate) enum Loaded {
    Scenario {
        plan: Arc<Plan>,
        insecure: bool,
        /// The data files, written out for the engine to read; removed
        /// when the plan is dropped.
        _files: Option<tempfile::TempDir>,
    },
    Bench(Box<BenchPlan>),
}

/// All the files one plan may ship, together.
const MAX_SHIPPED_BYTES: usize = 24 << 20;

/// The plan of `pummel run FILE --server …`; `plan` is the same plan as
/// loaded here, which says whether it runs a runner.
pub(super) fn scenario_spec(
    args: &RunArgs,
    options: &LoadOptions,
    plan: &Plan,
) -> Result<PlanSpec, Failure> {
    refuse_proxy_flag(args.proxy.as_deref())?;
    if args.runner.is_some() {
        return runner_spec(args, plan);
    }
    let text = limits::read_file(&args.file, limits::MAX_SCENARIO_BYTES)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", args.file.display())))?;
    let text = String::from_utf8(text)
        .map_err(|_| Failure::usage(format!("{} is not UTF-8 text", args.file.display())))?;
    let base = args.file.parent().unwrap_or(Path::new("."));
    let mut files = referenced_files(&text, base)?;
    if let Some(file) = plan.data_files().first() {
        // The runner's directory, beside the files the text names.
        let prefix = runner_files::relative_dir(base, file)?;
        let dir = file.parent().unwrap_or(Path::new("."));
        let used = files.values().map(|f| f.len() / 4 * 3).sum();
        let mut budget = runner_files::Budget {
            used,
            limit: MAX_SHIPPED_BYTES,
        };
        runner_files::gather(dir, &prefix, &mut files, &mut budget)?;
    }
    let env = referenced_env(&text, options);
    let mut overrides = common_overrides(args);
    if plan.runner().is_some() {
        overrides.extend(runner_overrides(args));
    }
    let file_name = args.file.file_name().map_or_else(
        || "scenario.yaml".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok(PlanSpec::Scenario {
        file_name,
        text,
        files,
        env,
        overrides,
    })
}

/// The plan of `pummel run --runner KIND FILE[:ENTRY] --server …`: no
/// scenario text; the test file (by its name, with its entry) and its
/// directory's files, and the flags that make the same runner plan again.
fn runner_spec(args: &RunArgs, plan: &Plan) -> Result<PlanSpec, Failure> {
    let (Some(kind), Some(runner)) = (&args.runner, plan.runner()) else {
        return Err(Failure::usage("--runner needs a test file"));
    };
    let dir = runner.file().parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let mut files = BTreeMap::new();
    let mut budget = runner_files::Budget {
        used: 0,
        limit: MAX_SHIPPED_BYTES,
    };
    runner_files::gather(dir, "", &mut files, &mut budget)?;
    // `tests/t.py:Class.method` → `t.py:Class.method`: the entry stays
    // with the file's name, as the agent's command line takes it.
    let file_name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Failure::usage(format!("{} names no file", args.file.display())))?;
    let mut overrides = common_overrides(args);
    overrides.extend(["--runner".to_owned(), kind.clone()]);
    overrides.extend(runner_overrides(args));
    Ok(PlanSpec::Scenario {
        file_name,
        text: String::new(),
        files,
        env: BTreeMap::new(),
        overrides,
    })
}

/// A runner's settings from the client's command line: its processes, its
/// iteration timeout and the `--env` values its processes see.
fn runner_overrides(args: &RunArgs) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(n) = args.runner_processes {
        out.extend(["--runner-processes".to_owned(), n.to_string()]);
    }
    if let Some(t) = args.iteration_timeout {
        out.extend([
            "--iteration-timeout".to_owned(),
            format!("{}ms", t.as_millis()),
        ]);
    }
    for (name, value) in &args.env {
        out.extend(["--env".to_owned(), format!("{name}={value}")]);
    }
    out
}

/// `--vus`, `--duration`, … as the client gave them.
fn common_overrides(args: &RunArgs) -> Vec<String> {
    let mut overrides = Vec::new();
    if let Some(vus) = args.vus {
        overrides.extend(["--vus".to_owned(), vus.to_string()]);
    }
    if let Some(d) = args.duration {
        overrides.extend(["--duration".to_owned(), format!("{}ms", d.as_millis())]);
    }
    if let Some(rate) = args.rate {
        overrides.extend(["--rate".to_owned(), rate.to_string()]);
    }
    if let Some(i) = args.iterations {
        overrides.extend(["--iterations".to_owned(), i.to_string()]);
    }
    if args.insecure {
        overrides.push("--insecure".to_owned());
    }
    if let Some(target) = &args.target {
        overrides.extend(["--target".to_owned(), target.clone()]);
    }
    overrides
}

/// Relative paths in the scenario text that name files beside it: every
/// quoted or bare word that is the path of a readable file under `base`.
/// A word that happens to name a file ships that file too, which costs
/// bytes, never correctness.
fn referenced_files(text: &str, base: &Path) -> Result<BTreeMap<String, String>, Failure> {
    let mut files = BTreeMap::new();
    let mut total = 0usize;
    let words = text.split(|c: char| c.is_whitespace() || "\"',[]{}#".contains(c));
    for word in words {
        let relative = Path::new(word);
        let safe = !word.is_empty()
            && relative.is_relative()
            && relative
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !safe || files.contains_key(word) {
            continue;
        }
        let path = base.join(relative);
        if !path.is_file() {
            continue;
        }
        let bytes = limits::read_file(&path, limits::MAX_DATA_FILE_BYTES)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
        total += bytes.len();
        if total > MAX_SHIPPED_BYTES {
            return Err(Failure::usage(format!(
                "the files the scenario reads are more than {} MiB in all: too much to ship to agents",
                MAX_SHIPPED_BYTES >> 20
            )));
        }
        files.insert(
            word.to_owned(),
            base64::engine::general_purpose::STANDARD.encode(bytes),
        );
    }
    Ok(files)
}

/// The `env.NAME` values the text uses, as the client sees them: only those
/// travel, never the rest of the client's environment.
fn referenced_env(text: &str, options: &LoadOptions) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for (i, _) in text.match_indices("env.") {
        let name: String = text[i + 4..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if let Some(value) = options.env.get(&name) {
            env.insert(name, value.clone());
        }
    }
    env
}

/// The plan of `pummel bench URL --server …`: its flags.
/// `--proxy` names a proxy as this machine reaches it; agents elsewhere
/// may not. A scenario's `proxy:` travels with the file instead.
fn refuse_proxy_flag(proxy: Option<&str>) -> Result<(), Failure> {
    match proxy {
        None => Ok(()),
        Some(_) => Err(Failure::usage(
            "--proxy is for local runs: for a distributed run, write `proxy:` in the \
             scenario's `defaults` (it travels with the file to every agent)",
        )),
    }
}

pub(super) fn bench_spec(args: &BenchArgs) -> Result<PlanSpec, Failure> {
    refuse_proxy_flag(args.proxy.as_deref())?;
    let mut out = vec![args.url.clone()];
    out.extend(["--connections".to_owned(), args.connections.to_string()]);
    if let Some(n) = args.requests {
        out.extend(["--requests".to_owned(), n.to_string()]);
    }
    if let Some(d) = args.duration {
        out.extend(["--duration".to_owned(), format!("{}ms", d.as_millis())]);
    }
    if let Some(q) = args.rate {
        out.extend(["--rate".to_owned(), q.to_string()]);
    }
    if let Some(t) = args.threads {
        out.extend(["--threads".to_owned(), t.to_string()]);
    }
    out.extend(["--method".to_owned(), args.method.clone()]);
    for h in &args.headers {
        out.extend(["--header".to_owned(), h.clone()]);
    }
    let body = match (&args.body, &args.body_file) {
        (Some(b), _) => Some(b.clone()),
        (None, Some(path)) => {
            let bytes = limits::read_file(path, limits::MAX_DATA_FILE_BYTES).map_err(|e| {
                Failure::usage(format!("cannot read --body-file {}: {e}", path.display()))
            })?;
            Some(String::from_utf8(bytes).map_err(|_| {
                Failure::usage(
                    "a distributed bench ships its body as text: --body-file must be UTF-8",
                )
            })?)
        }
        (None, None) => None,
    };
    if let Some(body) = body {
        out.extend(["--body".to_owned(), body]);
    }
    out.extend([
        "--timeout".to_owned(),
        format!("{}ms", args.timeout.as_millis()),
    ]);
    if args.http2 {
        out.extend([
            "--http2".to_owned(),
            "--h2-streams".to_owned(),
            args.h2_streams.to_string(),
        ]);
    }
    if args.insecure {
        out.push("--insecure".to_owned());
    }
    Ok(PlanSpec::Bench { args: out })
}

/// Loads a shipped plan; `threads` is this machine's worker threads.
pub(crate) fn load(spec: &PlanSpec, threads: Option<u64>) -> Result<Loaded, String> {
    match spec {
        PlanSpec::Bench { args } => {
            let argv = ["pummel", "bench"]
                .into_iter()
                .map(str::to_owned)
                .chain(args.iter().cloned());
            let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
            let Command::Bench(mut bench) = cli.command else {
                return Err("not a bench".to_owned());
            };
            bench.threads = threads.or(bench.threads);
            super::resolve::bench_plan(&bench)
                .map(|plan| Loaded::Bench(Box::new(plan)))
                .map_err(|f| f.message)
        }
        PlanSpec::Scenario {
            file_name,
            text,
            files,
            env,
            overrides,
        } => {
            let argv = ["pummel", "run", file_name.as_str()]
                .into_iter()
                .map(str::to_owned)
                .chain(overrides.iter().cloned());
            let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
            let Command::Run(args) = cli.command else {
                return Err("not a scenario run".to_owned());
            };
            let dir = if files.is_empty() {
                None
            } else {
                Some(write_files(files)?)
            };
            if args.runner.is_some() {
                return load_runner(&args, dir);
            }
            let target = match &args.target {
                Some(url) => Some(
                    pummel_core::http::TargetUrl::parse(url)
                        .map_err(|e| format!("--target: {e}"))?,
                ),
                None => None,
            };
            let options = LoadOptions {
                env: env.clone().into_iter().collect(),
                base_dir: dir.as_ref().map(|d| d.path().to_path_buf()),
                target,
            };
            let mut plan =
                scenario::load_str_with(file_name, text, &options).map_err(|d| d.to_string())?;
            plan.apply_overrides(&Overrides {
                vus: args.vus,
                duration: args.duration,
                rate: args.rate,
                iterations: args.iterations,
            })
            .map_err(|e| e.to_string())?;
            super::resolve::runner_settings(&mut plan, &args).map_err(|f| f.message)?;
            Ok(Loaded::Scenario {
                plan: Arc::new(plan),
                insecure: args.insecure,
                _files: dir,
            })
        }
    }
}

/// A shipped `--runner` plan: its test file among the files written out,
/// loaded by the same code as a local run's.
fn load_runner(args: &RunArgs, dir: Option<tempfile::TempDir>) -> Result<Loaded, String> {
    let Some(dir) = dir else {
        return Err("a runner plan arrived without its test file".to_owned());
    };
    let target = dir.path().join(&args.file);
    let overrides = Overrides {
        vus: args.vus,
        duration: args.duration,
        rate: args.rate,
        iterations: args.iterations,
    };
    let kind = args.runner.clone().unwrap_or_default();
    let mut plan =
        super::resolve::runner_plan(&target, &kind, &overrides).map_err(|f| f.message)?;
    super::resolve::runner_settings(&mut plan, args).map_err(|f| f.message)?;
    Ok(Loaded::Scenario {
        plan: Arc::new(plan),
        insecure: args.insecure,
        _files: Some(dir),
    })
}

/// Writes shipped files under a fresh directory, at their relative paths.
fn write_files(files: &BTreeMap<String, String>) -> Result<tempfile::TempDir, String> {
    let dir = tempfile::tempdir()
        .map_err(|e| format!("cannot make a directory for the data files: {e}"))?;
    for (name, content) in files {
        let relative = Path::new(name);
        if !relative
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
        {
            return Err(format!(
                "refusing to write a shipped file outside its directory: {name:?}"
            ));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(content)
            .map_err(|e| format!("shipped file {name:?} is malformed: {e}"))?;
        let path = dir.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot write {name:?}: {e}"))?;
        }
        std::fs::write(&path, bytes).map_err(|e| format!("cannot write {name:?}: {e}"))?;
    }
    Ok(dir)
}

/// Options of a scenario segment on this machine: an agent has no terminal
/// to trace requests to, so `--http-debug` stays a local-run option.
pub(crate) fn run_options(
    insecure: bool,
    threads: u64,
    connect_filter: Option<pummel_core::http::ConnectFilter>,
) -> RunOptions {
    RunOptions {
        threads,
        insecure,
        http_debug: None,
        connect_filter,
        proxy: None,
    }
}
