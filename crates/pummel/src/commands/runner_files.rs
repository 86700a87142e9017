//! What a runner journey ships to agents: the test file's whole directory
//! (and the directories below it), because a test module imports what lies
//! beside it — helpers, page objects, fixtures — and the agent has none of
//! it. What never belongs to a journey is left out: hidden entries
//! (`.git`, `.venv`), `node_modules`, `__pycache__` and Python virtual
//! environments (a directory with a `pyvenv.cfg`). The runner's client
//! package is not shipped: an agent that runs runners has it installed, as
//! it has the interpreter (see docs/runner-protocol.md).

use std::collections::BTreeMap;
use std::path::{Component, Path};

use base64::Engine as _;
use pummel_core::limits;

use crate::exit::Failure;

/// At most this many files from a runner's directory: a directory with
/// more is not a journey's (a home directory, a whole repository).
pub(super) const MAX_RUNNER_FILES: usize = 1000;

/// How deep below the test file's directory files are gathered.
const MAX_DEPTH: usize = 8;

/// What every file shipped with one plan has added up to so far, against
/// the plan's bound.
pub(super) struct Budget {
    pub(super) used: usize,
    pub(super) limit: usize,
}

/// Adds every file under `dir` to `files`, named `prefix/relative/path`
/// (`/`-separated, as the agent writes them back).
pub(super) fn gather(
    dir: &Path,
    prefix: &str,
    files: &mut BTreeMap<String, String>,
    budget: &mut Budget,
) -> Result<(), Failure> {
    let mut count = 0usize;
    walk(dir, dir, prefix, 0, files, budget, &mut count)
}

fn skipped(name: &str, path: &Path) -> bool {
    name.starts_with('.')
        || name == "node_modules"
        || name == "__pycache__"
        || path.join("pyvenv.cfg").is_file()
}

fn too_much(dir: &Path, what: String) -> Failure {
    Failure::usage(format!(
        "the runner's directory {} {what}: too much to ship to agents; put the test file and \
         what it imports in a directory of their own",
        dir.display()
    ))
}

fn walk(
    root: &Path,
    dir: &Path,
    prefix: &str,
    depth: usize,
    files: &mut BTreeMap<String, String>,
    budget: &mut Budget,
    count: &mut usize,
) -> Result<(), Failure> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", dir.display())))?;
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    // Sorted, so the same directory ships the same way every time.
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        // Symbolic links to directories are not followed (no loops, nothing
        // from outside); a link to a file ships the file.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if skipped(&name, &path) {
            continue;
        }
        if kind.is_dir() {
            if depth < MAX_DEPTH {
                walk(root, &path, prefix, depth + 1, files, budget, count)?;
            }
            continue;
        }
        if !path.is_file() {
            continue;
        }
        let Some(relative) = shipped_name(root, &path, prefix) else {
            continue;
        };
        if files.contains_key(&relative) {
            continue;
        }
        *count += 1;
        if *count > MAX_RUNNER_FILES {
            return Err(too_much(
                root,
                format!("holds more than {MAX_RUNNER_FILES} files"),
            ));
        }
        let bytes = limits::read_file(&path, limits::MAX_DATA_FILE_BYTES)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
        budget.used += bytes.len();
        if budget.used > budget.limit {
            return Err(too_much(
                root,
                format!(
                    "and the plan's other files are more than {} MiB in all",
                    budget.limit >> 20
                ),
            ));
        }
        files.insert(
            relative,
            base64::engine::general_purpose::STANDARD.encode(bytes),
        );
    }
    Ok(())
}

/// `prefix/relative` with `/` separators, or None for a name that is not
/// plain text (it could not be written back the same on the agent).
fn shipped_name(root: &Path, path: &Path, prefix: &str) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let mut parts: Vec<&str> = Vec::new();
    if !prefix.is_empty() {
        parts.push(prefix);
    }
    for c in relative.components() {
        match c {
            Component::Normal(part) => parts.push(part.to_str()?),
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// Where a scenario's `runner.file` lies relative to the scenario's
/// directory: the directory to ship it under. A test file outside the
/// scenario's directory could not be written back beside it on an agent.
pub(super) fn relative_dir(base: &Path, file: &Path) -> Result<String, Failure> {
    let outside = || {
        Failure::usage(format!(
            "runner file {} is not in the scenario's directory {} or below it: a distributed \
             run ships the scenario's directory tree, so move the test file there",
            file.display(),
            base.display()
        ))
    };
    let base = base.canonicalize().map_err(|_| outside())?;
    let file = file.canonicalize().map_err(|_| outside())?;
    let relative = file.strip_prefix(&base).map_err(|_| outside())?;
    let dir = relative.parent().unwrap_or(Path::new(""));
    let mut parts = Vec::new();
    for c in dir.components() {
        match c {
            Component::Normal(part) => parts.push(part.to_str().ok_or_else(outside)?),
            _ => return Err(outside()),
        }
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn a_directory_ships_with_its_subdirectories_but_not_its_noise() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "test_a.py", "import helpers");
        write(dir.path(), "helpers/__init__.py", "X = 1");
        write(dir.path(), ".git/config", "x");
        write(dir.path(), "__pycache__/a.pyc", "x");
        write(dir.path(), "node_modules/ws/index.js", "x");
        write(dir.path(), "venv/pyvenv.cfg", "x");
        write(dir.path(), "venv/lib/site.py", "x");
        let mut files = BTreeMap::new();
        let mut budget = Budget {
            used: 0,
            limit: 1 << 20,
        };
        gather(dir.path(), "journeys", &mut files, &mut budget).unwrap();
        let names: Vec<&str> = files.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            ["journeys/helpers/__init__.py", "journeys/test_a.py"]
        );
        assert_eq!(budget.used, "import helpers".len() + "X = 1".len());
    }

    #[test]
    fn a_directory_over_the_bound_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "big.bin", &"x".repeat(2048));
        let mut budget = Budget {
            used: 0,
            limit: 1024,
        };
        let e = gather(dir.path(), "", &mut BTreeMap::new(), &mut budget).unwrap_err();
        assert!(
            e.message.contains("directory of their own"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains(&dir.path().display().to_string()),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_runner_file_outside_the_scenario_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "s/plan.yaml", "");
        write(dir.path(), "s/py/t.py", "");
        write(dir.path(), "elsewhere/t.py", "");
        let base = dir.path().join("s");
        assert_eq!(relative_dir(&base, &base.join("py/t.py")).unwrap(), "py");
        assert_eq!(
            relative_dir(&base, &base.join("py/../plan.yaml")).unwrap(),
            ""
        );
        let e = relative_dir(&base, &dir.path().join("elsewhere/t.py")).unwrap_err();
        assert!(e.message.contains("not in the scenario's directory"));
    }
}
