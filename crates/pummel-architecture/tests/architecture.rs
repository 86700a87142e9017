//! The architecture ARCHITECTURE.md describes, checked against the source.
//!
//! - Each library crate's public items equal its checked-in list in
//!   `docs/api/<crate>.txt`: a change to the API boundary is a visible change
//!   to that file. `PUMMEL_BLESS_API=1 cargo test -p pummel-architecture`
//!   rewrites the lists after an intended change.
//! - No crate has a cycle among sibling modules.
//! - No source file is over 800 lines unless it is listed below with the
//!   reason it still holds one concept.

use std::path::{Path, PathBuf};

use pummel_architecture::{public_items, sibling_cycles, CrateSource};

const LIBRARIES: [&str; 7] = [
    "pummel-result",
    "pummel-live",
    "pummel-core",
    "pummel-report",
    "pummel-target",
    "pummel-server",
    "pummel-convert",
];
const ALL_CRATES: [&str; 8] = [
    "pummel-result",
    "pummel-live",
    "pummel-core",
    "pummel-report",
    "pummel-target",
    "pummel-server",
    "pummel-convert",
    "pummel",
];

/// Source files allowed past 800 lines, with why they are still one concept.
const LONG_FILES: [(&str, &str); 1] = [(
    "crates/pummel-core/src/scenario/tests.rs",
    "the scenario loader's tests: one table of files and the diagnostics each must give",
)];

const MAX_LINES: usize = 800;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the workspace holds crates/pummel-architecture")
        .to_path_buf()
}

fn load(name: &str) -> CrateSource {
    CrateSource::load(&workspace().join("crates").join(name))
        .unwrap_or_else(|e| panic!("cannot read crate {name}: {e}"))
}

#[test]
fn public_items_are_the_checked_in_api() {
    let bless = std::env::var_os("PUMMEL_BLESS_API").is_some();
    let mut problems = Vec::new();
    for name in LIBRARIES {
        let actual = public_items(&load(name));
        let list = workspace().join("docs/api").join(format!("{name}.txt"));
        if bless {
            let mut text = actual.join("\n");
            text.push('\n');
            std::fs::create_dir_all(list.parent().expect("docs/api")).expect("create docs/api");
            std::fs::write(&list, text).expect("write the API list");
            continue;
        }
        let expected: Vec<String> = std::fs::read_to_string(&list)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        let added: Vec<&String> = actual
            .iter()
            .filter(|l| !expected.contains(l))
            .take(40)
            .collect();
        let removed: Vec<&String> = expected
            .iter()
            .filter(|l| !actual.contains(l))
            .take(40)
            .collect();
        if !added.is_empty() || !removed.is_empty() {
            problems.push(format!(
                "{name}: the public API differs from {} (first 40 of each shown)\n  new: {added:?}\n  gone: {removed:?}",
                list.display()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n(if the change is intended: PUMMEL_BLESS_API=1 cargo test -p pummel-architecture)",
        problems.join("\n")
    );
}

#[test]
fn module_graphs_are_one_way() {
    let cycles: Vec<String> = ALL_CRATES
        .iter()
        .flat_map(|name| {
            sibling_cycles(&load(name))
                .into_iter()
                .map(move |c| format!("{name}: {c}"))
        })
        .collect();
    assert!(cycles.is_empty(), "{}", cycles.join("\n"));
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a source directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn source_files_hold_one_concept() {
    let root = workspace();
    let mut too_long = Vec::new();
    for name in ALL_CRATES {
        let mut files = Vec::new();
        rust_files(&root.join("crates").join(name).join("src"), &mut files);
        for file in files {
            let lines = std::fs::read_to_string(&file)
                .expect("read a source file")
                .lines()
                .count();
            let relative = file.strip_prefix(&root).expect("inside the workspace");
            let listed = LONG_FILES
                .iter()
                .any(|(path, _)| Path::new(path) == relative);
            if lines > MAX_LINES && !listed {
                too_long.push(format!("{} has {lines} lines", relative.display()));
            }
        }
    }
    assert!(
        too_long.is_empty(),
        "source files over {MAX_LINES} lines (split them by concept):\n{}",
        too_long.join("\n")
    );
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    // The checker itself: two sibling modules that use each other.
    let dir = std::env::temp_dir().join(format!("pummel-arch-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(&src).expect("create a crate");
    std::fs::write(src.join("lib.rs"), "mod a;\nmod b;\nmod c;\n").expect("write lib.rs");
    std::fs::write(src.join("a.rs"), "use crate::b::B;\npub(crate) struct A;\n").expect("write");
    std::fs::write(src.join("b.rs"), "pub(crate) struct B(super::c::C);\n").expect("write");
    std::fs::write(
        src.join("c.rs"),
        "pub(crate) struct C;\nfn f() { let _ = crate::a::A; }\n",
    )
    .expect("write");
    let cycles = sibling_cycles(&CrateSource::load(&dir).expect("load"));
    std::fs::remove_dir_all(&dir).expect("clean up");
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    assert!(cycles[0].contains("a ↔ b ↔ c"), "{}", cycles[0]);
}
