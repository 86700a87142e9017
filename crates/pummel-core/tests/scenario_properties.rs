//! Property: whatever text the scenario loader is given, it returns a plan or diagnostics that
//! each point at a line and column of the file — never a panic, an abort or a hang.
//!
//! The inputs start from real files (the examples, the loader's fixtures, `pummel init`'s
//! template) and are mutated the ways a careless edit or an attacker would: lines deleted,
//! duplicated or swapped, random bytes inserted, numbers made huge, negative or NaN, collections
//! and template calls nested deep.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use pummel_core::scenario::{self, LoadOptions};

/// The longest one case may take (a debug build on a busy machine loads a file in milliseconds).
const CASE_LIMIT: Duration = Duration::from_secs(10);

/// Cases per run: enough variety, well under 20 s in a debug build.
const CASES: u32 = 2_000;

const SEEDS: &[&str] = &[
    include_str!("../../../examples/quickstart.yaml"),
    include_str!("../../../examples/marketplace.yaml"),
    include_str!("../../../examples/open-model.yaml"),
    include_str!("../../../examples/cycles.yaml"),
    include_str!("../../../examples/thresholds-fail.yaml"),
    include_str!("../../../examples/websocket-feed.yaml"),
    include_str!("fixtures/broken-keys.yaml"),
    include_str!("fixtures/broken-names.yaml"),
    include_str!("fixtures/broken-syntax.yaml"),
    include_str!("../src/scenario/init.yaml"),
];

/// Numbers a file should never be able to turn into a crash or a hang.
const HOSTILE_NUMBERS: &[&str] = &[
    "1e12",
    "-1",
    "-0.0",
    "0",
    ".nan",
    "NaN",
    ".inf",
    "-.inf",
    "1e308",
    "99999999999999999999999",
    "18446744073709551616",
    "4294967296",
    "0.0000000000000000001",
];

#[derive(Clone, Debug)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    InsertBytes(usize, Vec<u8>),
    ReplaceNumber(usize, usize),
    /// Opens `depth` collections (or template calls) at a position, closed or not.
    Nest {
        at: usize,
        depth: usize,
        style: usize,
        closed: bool,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (
            any::<usize>(),
            prop::collection::vec(
                prop_oneof![
                    any::<u8>(),
                    prop::sample::select(b"{}[]:-'\"|>&*!#%@`?,\n\t \\$.".to_vec())
                ],
                1..8
            )
        )
            .prop_map(|(at, bytes)| Mutation::InsertBytes(at, bytes)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::ReplaceNumber(a, b)),
        (any::<usize>(), 1usize..5_000, 0usize..4, any::<bool>()).prop_map(
            |(at, depth, style, closed)| Mutation::Nest {
                at,
                depth,
                style,
                closed
            }
        ),
    ]
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let n = lines.len();
    match mutation {
        Mutation::DeleteLine(i) => {
            lines.remove(i % n);
        }
        Mutation::DuplicateLine(i) => {
            let line = lines[i % n].clone();
            lines.insert(i % n, line);
        }
        Mutation::SwapLines(a, b) => lines.swap(a % n, b % n),
        Mutation::InsertBytes(at, bytes) => {
            let mut raw = lines.join("\n").into_bytes();
            let at = at % (raw.len() + 1);
            raw.splice(at..at, bytes.iter().copied());
            return String::from_utf8_lossy(&raw).into_owned();
        }
        Mutation::ReplaceNumber(which, number) => {
            let joined = lines.join("\n");
            let numbers: Vec<(usize, usize)> = number_spans(&joined);
            if numbers.is_empty() {
                return joined;
            }
            let (start, end) = numbers[which % numbers.len()];
            let hostile = HOSTILE_NUMBERS[number % HOSTILE_NUMBERS.len()];
            return format!("{}{hostile}{}", &joined[..start], &joined[end..]);
        }
        Mutation::Nest {
            at,
            depth,
            style,
            closed,
        } => {
            let (open, close) = match style {
                0 => ("[", "]"),
                1 => ("{a: ", "}"),
                2 => ("- ", ""),
                _ => ("{{ base64(", ")"),
            };
            let mut nest = open.repeat(*depth);
            nest.push('x');
            if *closed {
                nest.push_str(&close.repeat(*depth));
                if *style == 3 {
                    nest.push_str(" }}");
                }
            }
            let joined = lines.join("\n");
            let mut at = at % (joined.len() + 1);
            while !joined.is_char_boundary(at) {
                at -= 1;
            }
            return format!("{}{nest}{}", &joined[..at], &joined[at..]);
        }
    }
    lines.join("\n") + "\n"
}

/// Byte ranges of the runs of digits in `text`.
fn number_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, b) in text.bytes().enumerate() {
        match (b.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

/// Loads `text` on a thread of its own, failing the case if it takes longer than [`CASE_LIMIT`].
fn load(text: String) -> Result<(), TestCaseError> {
    let (tx, rx) = mpsc::channel();
    let base = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples"));
    std::thread::Builder::new()
        .name("load-case".into())
        .spawn(move || {
            let options = LoadOptions {
                env: Default::default(),
                base_dir: Some(base),
                target: None,
            }
            .with_env("TOKEN", "t");
            let outcome = match scenario::load_str_with("fuzz.yaml", &text, &options) {
                Ok(_) => Ok(()),
                Err(diagnostics) => {
                    let _ = diagnostics.to_string();
                    Err(diagnostics
                        .iter()
                        .map(|d| (d.line, d.column, d.message.clone()))
                        .collect::<Vec<_>>())
                }
            };
            let _ = tx.send(outcome);
        })
        .map_err(|e| TestCaseError::fail(format!("spawn: {e}")))?;
    match rx.recv_timeout(CASE_LIMIT) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(diagnostics)) => {
            prop_assert!(!diagnostics.is_empty(), "an error with no diagnostic");
            for (line, column, message) in &diagnostics {
                prop_assert!(
                    *line >= 1 && *column >= 1,
                    "a diagnostic without a place: {line}:{column}: {message}"
                );
            }
            Ok(())
        }
        // The thread panicked (the sender dropped unsent) or overran its time.
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(TestCaseError::fail("the loader panicked"))
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Err(TestCaseError::fail(format!(
            "the loader took longer than {CASE_LIMIT:?}"
        ))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_scenarios_load_or_are_located(
        seed in 0..SEEDS.len(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let mut text = SEEDS[seed].to_owned();
        for m in &mutations {
            text = apply(&text, m);
        }
        load(text)?;
    }
}
