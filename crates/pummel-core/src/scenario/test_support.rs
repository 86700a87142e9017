//! What the loader's tests share: loading a file's text as `t.yaml`, and
//! finding an error at its line and column. Each test module writes its own
//! files and options; how a diagnostic is looked for, and what a missing one
//! shows, is written once, here.

use std::path::PathBuf;

use super::{load_str_with, LoadOptions, Plan};

/// An error's place and message: `(line, column, message)`.
pub(crate) type Located = (u32, u32, String);

/// The loader's test files (`tests/fixtures`): data feeders, bodies.
pub(crate) fn fixtures() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

/// Loads `text` as `t.yaml`: the plan, or every error with its place.
pub(crate) fn load(text: &str, options: &LoadOptions) -> Result<Plan, Vec<Located>> {
    load_str_with("t.yaml", text, options).map_err(|d| {
        d.iter()
            .map(|d| (d.line, d.column, d.message.clone()))
            .collect()
    })
}

/// The plan of a file that must load; its diagnostics, rendered, when not.
#[track_caller]
pub(crate) fn load_ok(text: &str, options: &LoadOptions) -> Plan {
    match load_str_with("t.yaml", text, options) {
        Ok(plan) => plan,
        Err(d) => panic!("expected a plan, got:\n{d}"),
    }
}

/// Every error of a file that must not load.
#[track_caller]
pub(crate) fn errors(text: &str, options: &LoadOptions) -> Vec<Located> {
    match load(text, options) {
        Ok(_) => panic!("expected errors, the file loaded:\n{text}"),
        Err(all) => all,
    }
}

/// Asserts that one of `all` is at `line:column` with a message containing
/// `needle`; when none is, shows every error there was.
#[track_caller]
pub(crate) fn assert_error(all: &[Located], line: u32, column: u32, needle: &str) {
    assert!(
        all.iter()
            .any(|(l, c, m)| *l == line && *c == column && m.contains(needle)),
        "no error at {line}:{column} containing {needle:?}; got:\n{}",
        all.iter()
            .map(|(l, c, m)| format!("  {l}:{c}: {m}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
