//! Reading a result file back: the input of every report.
//!
//! The errors name the file and say what is wrong with it in words a user
//! can act on (not JSON at all, JSON but not a pummel result, a result from a
//! newer pummel), because the usual mistake is passing the wrong file.

use std::path::{Path, PathBuf};

use pummel_result::file::{read_file, FileError, MAX_RESULT_BYTES};
use pummel_result::result::{RunResult, SCHEMA_VERSION};
use pummel_result::LatencyHistogram;

/// A result file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Missing, unreadable, not a regular file (a device or a FIFO may
    /// never end), or larger than [`MAX_RESULT_BYTES`].
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: FileError },
    #[error("{} is not UTF-8 text, so not a result pummel wrote", path.display())]
    NotText { path: PathBuf },
    #[error("{} is not JSON: {source}", path.display())]
    NotJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{} is not a pummel result (no \"schema\" key); write one with --out FILE.json", path.display())]
    NotAResult { path: PathBuf },
    /// There is a `schema` key, but its value is not a version number.
    #[error(
        "{} has a \"schema\" that is {found}, not a version number (a result has e.g. \"schema\": 1)",
        path.display()
    )]
    BadSchema { path: PathBuf, found: String },
    #[error(
        "{} has result schema {found}, this pummel reads schema {SCHEMA_VERSION}: \
         it was written by a newer pummel",
        path.display()
    )]
    NewerSchema { path: PathBuf, found: u64 },
    #[error("{} is not a valid pummel result: {source}", path.display())]
    Invalid {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// The right shape, but a figure no run produces: a negative count or
    /// time, a histogram that does not decode. Reports built on it would
    /// show it, or quietly leave it out.
    #[error("{} is not a valid pummel result: {what}", path.display())]
    Figure { path: PathBuf, what: String },
}

/// Reads and checks a result file written by `pummel … --out FILE.json`.
pub fn read_result(path: &Path) -> Result<RunResult, ReadError> {
    let bytes = read_file(path, MAX_RESULT_BYTES).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| ReadError::NotText {
        path: path.to_path_buf(),
    })?;
    parse_result(&text, path)
}

/// Parses the text of a result file; `path` only names it in errors.
pub fn parse_result(text: &str, path: &Path) -> Result<RunResult, ReadError> {
    let path = || path.to_path_buf();
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|source| ReadError::NotJson {
            path: path(),
            source,
        })?;
    let schema = value.get("schema");
    match schema.map(|v| (v, v.as_u64())) {
        None => return Err(ReadError::NotAResult { path: path() }),
        Some((v, None)) => {
            return Err(ReadError::BadSchema {
                path: path(),
                found: describe_json(v),
            })
        }
        Some((_, Some(found))) if found > u64::from(SCHEMA_VERSION) => {
            return Err(ReadError::NewerSchema {
                path: path(),
                found,
            });
        }
        Some(_) => {}
    }
    if let Some(what) = negative_figure(&value, &mut String::new()) {
        return Err(ReadError::Figure { path: path(), what });
    }
    let result: RunResult = serde_json::from_value(value).map_err(|source| ReadError::Invalid {
        path: path(),
        source,
    })?;
    check_histograms(&result).map_err(|what| ReadError::Figure { path: path(), what })?;
    Ok(result)
}

/// The first negative number outside `config` (which echoes what was asked),
/// named by its place: every figure a run records is a count, a time, a
/// rate or a fraction.
fn negative_figure(v: &serde_json::Value, at: &mut String) -> Option<String> {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.as_f64().is_some_and(|f| f < 0.0) => Some(format!(
            "`{at}` is {n}: a result's figures are never negative"
        )),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let len = at.len();
            at.push_str(&format!("[{i}]"));
            let found = negative_figure(item, at);
            at.truncate(len);
            found
        }),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            if at.is_empty() && key == "config" {
                return None;
            }
            let len = at.len();
            if !at.is_empty() {
                at.push('.');
            }
            at.push_str(key);
            let found = negative_figure(item, at);
            at.truncate(len);
            found
        }),
        _ => None,
    }
}

/// Every histogram decodes: the reports recompute percentiles and charts
/// from them, and would otherwise leave them out without a word.
fn check_histograms(r: &RunResult) -> Result<(), String> {
    let decode = |at: String, encoded: &str| {
        LatencyHistogram::from_base64(encoded)
            .map(drop)
            .map_err(|e| format!("`{at}` does not decode: {e}"))
    };
    decode("histogram".into(), &r.histogram)?;
    if let Some(open) = &r.open_model {
        decode(
            "open_model.uncorrected_histogram".into(),
            &open.uncorrected_histogram,
        )?;
    }
    for (i, step) in r.steps.iter().enumerate() {
        decode(format!("steps[{i}].histogram"), &step.histogram)?;
    }
    Ok(())
}

/// A JSON value as a message names it: `the string "1"`, `-1`, `null`.
fn describe_json(v: &serde_json::Value) -> String {
    let mut text = v.to_string();
    if text.len() > 40 {
        text = format!("{}…", text.chars().take(40).collect::<String>());
    }
    match v {
        serde_json::Value::String(_) => format!("the string {text}"),
        serde_json::Value::Number(_) => format!("the number {text}"),
        serde_json::Value::Array(_) => "an array".to_owned(),
        serde_json::Value::Object(_) => "an object".to_owned(),
        serde_json::Value::Bool(_) | serde_json::Value::Null => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        parse_result(text, Path::new("r.json"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        assert!(
            err("not json").starts_with("r.json is not JSON"),
            "{}",
            err("not json")
        );
        assert!(err("{\"a\": 1}").contains("not a pummel result"));
        assert!(err("{\"schema\": 7}").contains("newer pummel"));
        let string = err("{\"schema\": \"1\"}");
        assert!(
            string.contains("\"schema\" that is the string \"1\""),
            "{string}"
        );
        assert!(err("{\"schema\": 1}").starts_with("r.json is not a valid pummel result"));
        let missing = read_result(Path::new("/nonexistent/r.json"))
            .unwrap_err()
            .to_string();
        assert!(
            missing.starts_with("cannot read /nonexistent/r.json"),
            "{missing}"
        );
        // Endless: refused at once, not read until memory runs out.
        let zero = read_result(Path::new("/dev/zero")).unwrap_err().to_string();
        assert!(
            zero.contains("cannot read /dev/zero: not a regular file (it is a device)"),
            "{zero}"
        );
    }

    /// Figures no run produces are refused, named by their place, instead
    /// of shown (a negative duration) or silently dropped (a histogram that
    /// does not decode: its charts and percentiles left out).
    #[test]
    fn impossible_figures_are_named() {
        let good = serde_json::to_value(crate::testdata::scenario_run()).unwrap();
        let with = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = good.clone();
            f(&mut v);
            err(&v.to_string())
        };
        let e = with(&|v| v["duration_s"] = (-1.0).into());
        assert!(
            e.contains("`duration_s` is -1.0: a result's figures are never negative"),
            "{e}"
        );
        let e = with(&|v| v["steps"][0]["latency_ms"]["p95"] = (-3).into());
        assert!(e.contains("`steps[0].latency_ms.p95` is -3"), "{e}");
        let e = with(&|v| v["histogram"] = "!!!!".into());
        assert!(e.contains("`histogram` does not decode"), "{e}");
        let e = with(&|v| v["steps"][0]["histogram"] = "".into());
        assert!(e.contains("`steps[0].histogram` does not decode"), "{e}");
        // What was asked is echoed, not measured: not judged.
        let mut v = good.clone();
        v["config"] = serde_json::json!({ "odd": -1 });
        assert!(parse_result(&v.to_string(), Path::new("r.json")).is_ok());
    }

    #[test]
    fn reads_a_result() {
        let text = serde_json::to_string(&crate::testdata::bench()).unwrap();
        let r = parse_result(&text, Path::new("b.json")).unwrap();
        assert_eq!(r.kind, "bench");
    }
}
