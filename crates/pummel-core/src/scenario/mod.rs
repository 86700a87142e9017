//! Scenario files: YAML user journeys, loaded into a validated [`Plan`].
//!
//! The path from text to plan:
//!
//! 1. `yaml` parses the text (serde-saphyr) into a tree of located nodes;
//!    a YAML syntax error stops here.
//! 2. `parse` decodes the tree into the model ([`model`], [`request`],
//!    [`check`], [`capture`], [`load_model`], [`threshold`]), compiling
//!    templates, JSONPaths and regexes and reading data files, and records
//!    every problem it meets rather than stopping at the first.
//! 3. `validate` binds the names in templates and checks what needs the
//!    whole file: names defined before use, environment variables set,
//!    threshold scopes, unique feeder sizes.
//!
//! The caller gets either a plan the engine can run without further checks,
//! or [`Diagnostics`]: every error, each with `file:line:column`, the line
//! and a caret. The file format is documented key by key in
//! `docs/scenarios.md`.
//!
//! At run time the engine uses the rest: [`template`] rendering through a
//! [`Context`], [`check`] and [`capture`] over a [`ResponseView`], a per-VU
//! [`CookieJar`], [`Feeder`] rows, [`WeightedPick`] for scenario choice and
//! [`LoadModel`] for the schedule.

pub(crate) mod capture;
pub(crate) mod check;
pub(crate) mod cookie;
pub(crate) mod css;
pub(crate) mod custom_metric;
mod demand;
pub(crate) mod diagnostic;
pub(crate) mod duration;
pub(crate) mod feeder;
pub(crate) mod flow;
pub(crate) mod load_model;
pub(crate) mod model;
pub(crate) mod multipart;
pub(crate) mod parallel;
mod parse;
pub(crate) mod pick;
mod references;
pub(crate) mod request;
pub(crate) mod response;
pub mod runner;
mod select;
pub(crate) mod tags;
mod target_template;
pub(crate) mod template;
pub(crate) mod threshold;
pub(crate) mod threshold_filter;
mod validate;
pub(crate) mod websocket;
mod yaml;

#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod limit_tests;
#[cfg(test)]
mod metric_tests;
#[cfg(test)]
mod parallel_tests;
#[cfg(test)]
mod request_option_tests;
#[cfg(test)]
mod tag_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use demand::Demand;
pub use diagnostic::{Diagnostic, Diagnostics, Span};
pub use load_model::{OverrideError, Overrides};
pub use model::{Plan, UnknownScenario};
pub use select::NothingTagged;

/// What loading needs besides the file.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// The environment `{{ env.NAME }}` reads: usually the process
    /// environment with the command line's `--env NAME=VALUE` pairs on top.
    pub env: HashMap<String, String>,
    /// Where relative data and body file paths start; by default the
    /// scenario file's directory (the current directory for `load_str`).
    pub base_dir: Option<PathBuf>,
    /// Replaces the file's `target` (`pummel run --target URL`); a file
    /// without one may then use relative URLs.
    pub target: Option<crate::http::TargetUrl>,
}

impl LoadOptions {
    /// The process environment, no base directory override. Variables
    /// whose name or value is not Unicode are left out (`std::env::vars`
    /// would panic on them).
    pub fn from_process_env() -> LoadOptions {
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        LoadOptions {
            env,
            base_dir: None,
            target: None,
        }
    }

    /// Adds (or replaces) an environment variable, as `--env K=V` does.
    pub fn with_env(mut self, key: impl Into<String>, value: impl Into<String>) -> LoadOptions {
        self.env.insert(key.into(), value.into());
        self
    }
}

/// Loads a scenario file with the process environment.
pub fn load(path: &Path) -> Result<Plan, Diagnostics> {
    load_with(path, &LoadOptions::from_process_env())
}

/// Loads a scenario file.
pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Plan, Diagnostics> {
    let name = path.display().to_string();
    let bytes = crate::limits::read_file(path, crate::limits::MAX_SCENARIO_BYTES)
        .map_err(|e| Diagnostics::whole_file(&name, format!("cannot read the file: {e}")))?;
    let text =
        String::from_utf8(bytes).map_err(|e| not_utf8(&name, e.as_bytes(), e.utf8_error()))?;
    let base = options
        .base_dir
        .clone()
        .unwrap_or_else(|| path.parent().map(Path::to_path_buf).unwrap_or_default());
    load_text(&name, &text, &base, options)
}

/// The error for a file that is not UTF-8, at the line and column of its
/// first bad byte (as every other error is located; a byte offset is not
/// something an editor can jump to).
fn not_utf8(name: &str, bytes: &[u8], e: std::str::Utf8Error) -> Diagnostics {
    let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
    let valid = std::str::from_utf8(valid).unwrap_or_default();
    let line_start = valid.rfind('\n').map_or(0, |i| i + 1);
    let line = valid.get(line_start..).unwrap_or_default();
    let span = Span::new(
        valid.matches('\n').count() as u32 + 1,
        line.chars().count() as u32 + 1,
        1,
    );
    let byte = bytes.get(e.valid_up_to()).copied().unwrap_or_default();
    Diagnostics::at(
        name,
        span,
        line.trim_end_matches('\r').to_owned(),
        format!(
            "the file is not UTF-8 text: byte 0x{byte:02x} cannot start or continue a character"
        ),
    )
}

/// Loads scenario text with the process environment; `name` is what
/// messages call the file.
pub fn load_str(name: &str, text: &str) -> Result<Plan, Diagnostics> {
    load_str_with(name, text, &LoadOptions::from_process_env())
}

/// Loads scenario text; relative paths start at `options.base_dir` or the
/// current directory.
pub fn load_str_with(name: &str, text: &str, options: &LoadOptions) -> Result<Plan, Diagnostics> {
    let base = options.base_dir.clone().unwrap_or_default();
    load_text(name, text, &base, options)
}

/// Stack for the loading thread: parsing recurses once per nesting level
/// (bounded by the YAML depth budget), and a debug build's frames are
/// large. Only the pages touched are ever committed.
const LOADER_STACK: usize = 64 << 20;

/// Loads on a thread of its own, so a deeply nested file cannot overflow
/// the caller's stack, whatever thread that is.
fn load_text(
    name: &str,
    text: &str,
    base_dir: &Path,
    options: &LoadOptions,
) -> Result<Plan, Diagnostics> {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("scenario-loader".into())
            .stack_size(LOADER_STACK)
            .spawn_scoped(scope, || load_here(name, text, base_dir, options));
        match worker {
            Ok(handle) => handle.join().unwrap_or_else(|_| {
                Err(Diagnostics::whole_file(
                    name,
                    "internal error while loading (this is a bug in pummel)",
                ))
            }),
            // No thread to be had: load here, within the caller's stack.
            Err(_) => load_here(name, text, base_dir, options),
        }
    })
}

fn load_here(
    name: &str,
    text: &str,
    base_dir: &Path,
    options: &LoadOptions,
) -> Result<Plan, Diagnostics> {
    let env = &options.env;
    let text_for_spans = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let root = match yaml::parse(text_for_spans) {
        Ok(root) => root,
        Err((span, message)) => {
            let mut problems = diagnostic::Problems::default();
            problems.push(span, message);
            return Err(problems.into_diagnostics(name, text_for_spans));
        }
    };
    let mut decoder = parse::Decoder::new(text_for_spans, base_dir);
    decoder.target_overridden = options.target.is_some();
    decoder.env.clone_from(env);
    let decoded = decoder.decode_plan(&root, name);
    let mut problems = std::mem::take(&mut decoder.problems);
    let Some((mut plan, mut info)) = decoded else {
        return Err(problems.into_diagnostics(name, text_for_spans));
    };
    if let Some(target) = &options.target {
        // The command line's target wins; the file's is not even resolved
        // (its environment variables need not be set).
        plan.target = Some(target.clone());
    } else if let Some((template, span)) = info.target_template.take() {
        plan.target = target_template::resolve(template, span, env, &mut problems);
    }
    validate::validate(&mut plan, &info, env, &mut problems);
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(problems.into_diagnostics(name, text_for_spans))
    }
}

/// The commented example `pummel init` writes.
pub fn init_template() -> &'static str {
    include_str!("init.yaml")
}
