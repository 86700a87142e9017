//! A checkout's files: pummel.yml's tests, checked, and the plan a test
//! ships to agents (its scenario and the data files the scenario names).

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;

use super::config::{self, RepoTest};
use crate::backend::PlanBackend;
use crate::wire::PlanSpec;

/// A scenario file, and all the files one plan ships together.
const MAX_SCENARIO_BYTES: u64 = 4 << 20;
const MAX_SHIPPED_BYTES: u64 = 24 << 20;

/// The tests pummel.yml lists and every problem found in it and in the
/// scenarios it names (a test with problems is not listed).
pub(super) fn discover(checkout: &Path, backend: &dyn PlanBackend) -> (Vec<RepoTest>, Vec<String>) {
    let text = match read_text(&checkout.join(config::FILE), MAX_SCENARIO_BYTES) {
        Ok(text) => text,
        Err(e) => return (Vec::new(), vec![format!("{}: {e}", config::FILE)]),
    };
    let parsed = match config::parse(&text) {
        Ok(parsed) => parsed,
        Err(problems) => return (Vec::new(), problems),
    };
    let mut tests = Vec::new();
    let mut problems = Vec::new();
    for (test, places) in parsed {
        // The scenario as written: its own mistakes at their own places.
        let bare = RepoTest {
            overrides: Vec::new(),
            thresholds: Vec::new(),
            ..test.clone()
        };
        let spec = match plan(checkout, &bare) {
            Ok(spec) => spec,
            Err(e) => {
                problems.push(format!("{}: test {:?}: {e}", places.scenario, test.name));
                continue;
            }
        };
        if let Err(e) = backend.load(&spec) {
            problems.extend(e.lines().filter(|l| is_located(l)).map(str::to_owned));
            if !e.lines().any(is_located) {
                problems.push(format!("{}: {}", test.scenario, e.trim()));
            }
            continue;
        }
        // Then with pummel.yml's overrides and thresholds: their mistakes
        // are pummel.yml's.
        let full = plan(checkout, &test).and_then(|spec| backend.load(&spec).map(|_| ()));
        if let Err(e) = full {
            let place = if test.thresholds.is_empty() {
                &places.load
            } else {
                places.thresholds.first().unwrap_or(&places.test)
            };
            problems.push(format!("{place}: test {:?}: {}", test.name, first_line(&e)));
            continue;
        }
        tests.push(test);
    }
    (tests, problems)
}

/// A diagnostic line: `path:LINE:COL: message`.
fn is_located(line: &str) -> bool {
    let mut parts = line.splitn(4, ':');
    let (_, l, c) = (parts.next(), parts.next(), parts.next());
    l.is_some_and(|l| l.parse::<u32>().is_ok())
        && c.is_some_and(|c| c.parse::<u32>().is_ok())
        && parts.next().is_some()
}

fn first_line(text: &str) -> &str {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(text)
        .trim()
}

/// The plan starting `test` submits.
pub(super) fn plan(checkout: &Path, test: &RepoTest) -> Result<PlanSpec, String> {
    if !config::is_inside(&test.scenario) {
        return Err(format!("{:?} is not inside the repository", test.scenario));
    }
    let path = checkout.join(&test.scenario);
    inside_checkout(checkout, &path)?;
    let text = read_text(&path, MAX_SCENARIO_BYTES)?;
    let text = config::with_thresholds(&text, &test.thresholds)?;
    let base = path.parent().unwrap_or(checkout);
    let files = referenced_files(&text, base, checkout)?;
    Ok(PlanSpec::Scenario {
        file_name: test.scenario.clone(),
        text,
        files,
        env: test.env.clone(),
        overrides: test.overrides.clone(),
    })
}

/// A symbolic link may not lead out of the checkout.
fn inside_checkout(checkout: &Path, path: &Path) -> Result<(), String> {
    let root = checkout
        .canonicalize()
        .map_err(|e| format!("the checkout is unreadable: {e}"))?;
    let real = path.canonicalize().map_err(|e| {
        format!(
            "cannot read {}: {e}",
            path.strip_prefix(checkout).unwrap_or(path).display()
        )
    })?;
    if real.starts_with(&root) {
        Ok(())
    } else {
        Err(format!(
            "{} leads outside the repository",
            path.strip_prefix(checkout).unwrap_or(path).display()
        ))
    }
}

fn read_text(path: &Path, limit: u64) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read it: {e}"))?;
    if meta.len() > limit {
        return Err(format!("it is larger than {} MiB", limit >> 20));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_owned())
}

/// The files beside the scenario that its text names (data feeders, bodies),
/// as `pummel run --server` ships them: every word that is the relative
/// path of a file.
fn referenced_files(
    text: &str,
    base: &Path,
    checkout: &Path,
) -> Result<BTreeMap<String, String>, String> {
    let mut files = BTreeMap::new();
    let mut total = 0u64;
    for word in text.split(|c: char| c.is_whitespace() || "\"',[]{}#".contains(c)) {
        if !config::is_inside(word) || files.contains_key(word) {
            continue;
        }
        let path = base.join(word);
        if !path.is_file() || inside_checkout(checkout, &path).is_err() {
            continue;
        }
        let meta = std::fs::metadata(&path).map_err(|e| format!("cannot read {word}: {e}"))?;
        total += meta.len();
        if total > MAX_SHIPPED_BYTES {
            return Err(format!(
                "the files the scenario reads are more than {} MiB in all",
                MAX_SHIPPED_BYTES >> 20
            ));
        }
        let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {word}: {e}"))?;
        files.insert(
            word.to_owned(),
            base64::engine::general_purpose::STANDARD.encode(bytes),
        );
    }
    Ok(files)
}
