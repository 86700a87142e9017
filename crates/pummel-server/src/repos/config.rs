//! `pummel.yml`: the load tests a repository declares.
//!
//! ```yaml
//! tests:
//!   - name: smoke
//!     scenario: scenarios/smoke.yaml
//!     load: { vus: 5, duration: 30s }
//!     agents: 2
//!     labels: { zone: eu }
//!     thresholds: ["p95 < 300ms"]
//!     notify: { email: [team@example.com], webhooks: [https://hooks.example.com/pummel] }
//!     schedule: "0 3 * * *"
//! ```
//!
//! Parsed with serde-saphyr, the YAML stack of scenarios, so a mistake is
//! reported as `pummel.yml:LINE:COL: …` like a scenario's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

/// The file's name at the repository's root.
pub(crate) const FILE: &str = "pummel.yml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    tests: Vec<TestSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestSpec {
    name: Spanned<String>,
    scenario: Spanned<String>,
    #[serde(default)]
    load: Option<Spanned<LoadSpec>>,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    agents: Option<u32>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    thresholds: Vec<Spanned<String>>,
    #[serde(default)]
    notify: Option<Spanned<Targets>>,
    #[serde(default)]
    schedule: Option<Spanned<String>>,
    #[serde(default = "yes")]
    on_push: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadSpec {
    vus: Option<u64>,
    duration: Option<String>,
    rate: Option<f64>,
    iterations: Option<u64>,
}

/// Who is told when a run ends.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Targets {
    #[serde(default)]
    pub(crate) email: Vec<String>,
    #[serde(default)]
    pub(crate) webhooks: Vec<String>,
    /// `always` (the default) or `failure`: only runs that did not pass.
    #[serde(default)]
    pub(crate) on: Option<String>,
}

/// A test as discovered: what starting it submits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct RepoTest {
    pub(crate) name: String,
    /// The scenario file, relative to the repository's root.
    pub(crate) scenario: String,
    /// `--vus`, `--duration`, … as a command line would give them.
    pub(crate) overrides: Vec<String>,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) agents: Option<u32>,
    pub(crate) labels: BTreeMap<String, String>,
    /// Added to the scenario's own thresholds.
    pub(crate) thresholds: Vec<String>,
    pub(crate) notify: Targets,
    pub(crate) schedule: Option<String>,
    /// Started by a push to the branch (default true).
    #[serde(default = "yes")]
    pub(crate) on_push: bool,
}

/// Where in pummel.yml a test's parts are, to place later problems.
pub(crate) struct Places {
    pub(crate) test: String,
    pub(crate) scenario: String,
    pub(crate) load: String,
    pub(crate) thresholds: Vec<String>,
}

fn at(l: serde_saphyr::Location) -> String {
    format!("{FILE}:{}:{}", l.line(), l.column())
}

/// Parses pummel.yml; every problem found is `pummel.yml:LINE:COL: …`.
pub(crate) fn parse(text: &str) -> Result<Vec<(RepoTest, Places)>, Vec<String>> {
    let spec: FileSpec = serde_saphyr::from_str(text).map_err(|e| {
        let place = e.location().map_or_else(|| FILE.to_owned(), at);
        vec![format!(
            "{place}: {}",
            serde_saphyr::MessageFormatter::format_message(
                &serde_saphyr::UserMessageFormatter,
                e.without_snippet()
            )
        )]
    })?;
    let mut problems = Vec::new();
    let mut tests: Vec<(RepoTest, Places)> = Vec::new();
    for t in spec.tests {
        let place = at(t.name.referenced);
        let name = t.name.value.trim().to_owned();
        if name.is_empty() || name.contains('/') || name.len() > 100 {
            problems.push(format!(
                "{place}: a test's name must be 1 to 100 characters without '/'"
            ));
        } else if tests.iter().any(|(other, _)| other.name == name) {
            problems.push(format!("{place}: a second test named {name:?}"));
        }
        let scenario = t.scenario.value.clone();
        if !is_inside(&scenario) {
            problems.push(format!(
                "{}: scenario {scenario:?} must be a relative path inside the repository",
                at(t.scenario.referenced)
            ));
        }
        let load_place = t
            .load
            .as_ref()
            .map_or_else(|| place.clone(), |l| at(l.referenced));
        let overrides = t
            .load
            .map(|l| overrides(&l.value, t.target.as_deref()))
            .unwrap_or_else(|| overrides(&LoadSpec::none(), t.target.as_deref()));
        let notify_place = t
            .notify
            .as_ref()
            .map_or_else(|| place.clone(), |n| at(n.referenced));
        let notify = t.notify.map(|n| n.value).unwrap_or_default();
        if let Some(on) = &notify.on {
            if on != "always" && on != "failure" {
                problems.push(format!(
                    "{notify_place}: notify.on is {on:?}: expected always or failure"
                ));
            }
        }
        for address in &notify.email {
            if address.parse::<lettre::Address>().is_err() {
                problems.push(format!(
                    "{notify_place}: {address:?} is not an email address"
                ));
            }
        }
        for url in &notify.webhooks {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                problems.push(format!(
                    "{notify_place}: webhook {url:?} must be an http:// or https:// URL"
                ));
            }
        }
        let schedule_place = t
            .schedule
            .as_ref()
            .map_or_else(|| place.clone(), |s| at(s.referenced));
        if let Some(s) = &t.schedule {
            if let Err(e) = super::schedule::parse(&s.value) {
                problems.push(format!("{schedule_place}: schedule {:?}: {e}", s.value));
            }
        }
        let places = Places {
            test: place,
            scenario: at(t.scenario.referenced),
            load: load_place,
            thresholds: t.thresholds.iter().map(|s| at(s.referenced)).collect(),
        };
        tests.push((
            RepoTest {
                name,
                scenario,
                overrides,
                env: t.env,
                agents: t.agents,
                labels: t.labels,
                thresholds: t.thresholds.into_iter().map(|s| s.value).collect(),
                notify,
                schedule: t.schedule.map(|s| s.value),
                on_push: t.on_push,
            },
            places,
        ));
    }
    if problems.is_empty() {
        Ok(tests)
    } else {
        Err(problems)
    }
}

impl LoadSpec {
    fn none() -> LoadSpec {
        LoadSpec {
            vus: None,
            duration: None,
            rate: None,
            iterations: None,
        }
    }
}

/// The load overrides as `pummel run` flags, parsed by the same parser on
/// the agents as on a command line.
fn overrides(load: &LoadSpec, target: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(vus) = load.vus {
        out.extend(["--vus".to_owned(), vus.to_string()]);
    }
    if let Some(d) = &load.duration {
        out.extend(["--duration".to_owned(), d.clone()]);
    }
    if let Some(rate) = load.rate {
        out.extend(["--rate".to_owned(), rate.to_string()]);
    }
    if let Some(i) = load.iterations {
        out.extend(["--iterations".to_owned(), i.to_string()]);
    }
    if let Some(t) = target {
        out.extend(["--target".to_owned(), t.to_owned()]);
    }
    out
}

/// Whether `path` is relative and never climbs out (no `..`, no root).
pub(crate) fn is_inside(path: &str) -> bool {
    let p = std::path::Path::new(path);
    !path.is_empty()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// The scenario text with `extra` thresholds added: to its block list of
/// `thresholds:` when it has one, else as a new section at the end (so
/// every line of the file stays where it was).
pub(crate) fn with_thresholds(text: &str, extra: &[String]) -> Result<String, String> {
    if extra.is_empty() {
        return Ok(text.to_owned());
    }
    let items: String = extra
        .iter()
        .map(|t| format!("  - {}\n", serde_json::Value::String(t.clone())))
        .collect();
    let mut out = String::with_capacity(text.len() + items.len() + 16);
    let mut added = false;
    for line in text.split_inclusive('\n') {
        out.push_str(line);
        if let Some(rest) = line.strip_prefix("thresholds:") {
            let rest = rest.trim();
            if !(rest.is_empty() || rest.starts_with('#')) {
                return Err(
                    "the scenario's thresholds are not a block list (`- …` lines): write them so \
                     to add pummel.yml's"
                        .to_owned(),
                );
            }
            if !line.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&items);
            added = true;
        }
    }
    if !added {
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("thresholds:\n");
        out.push_str(&items);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tests_are_read_with_their_overrides() {
        let text = "tests:\n  - name: smoke\n    scenario: s/smoke.yaml\n    load: { vus: 3, duration: 2s }\n    agents: 1\n    thresholds: [\"p95 < 1s\"]\n    schedule: \"0 3 * * *\"\n";
        let tests = parse(text).unwrap();
        let (t, places) = &tests[0];
        assert_eq!(t.name, "smoke");
        assert_eq!(t.overrides, ["--vus", "3", "--duration", "2s"]);
        assert_eq!(t.agents, Some(1));
        assert_eq!(places.scenario, "pummel.yml:3:15");
        assert_eq!(t.schedule.as_deref(), Some("0 3 * * *"));
    }

    #[test]
    fn mistakes_are_located() {
        let e = parse("tests:\n  - name: a\n    scenari: x.yaml\n")
            .err()
            .unwrap();
        assert!(e[0].starts_with("pummel.yml:3:"), "{e:?}");
        let e = parse("tests:\n  - name: a\n    scenario: ../x.yaml\n    schedule: nope\n")
            .err()
            .unwrap();
        assert!(e[0].starts_with("pummel.yml:3:15: scenario"), "{e:?}");
        assert!(e[1].starts_with("pummel.yml:4:15: schedule"), "{e:?}");
    }

    #[test]
    fn thresholds_join_the_scenarios() {
        let t = with_thresholds(
            "a: 1\nthresholds:\n  - p99 < 2s\nb: 2\n",
            &["p95 < 1s".into()],
        )
        .unwrap();
        assert_eq!(
            t,
            "a: 1\nthresholds:\n  - \"p95 < 1s\"\n  - p99 < 2s\nb: 2\n"
        );
        let t = with_thresholds("a: 1", &["x".into()]).unwrap();
        assert_eq!(t, "a: 1\nthresholds:\n  - \"x\"\n");
        assert!(with_thresholds("thresholds: [a]\n", &["x".into()]).is_err());
    }
}
