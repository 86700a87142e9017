//! The limits of one pummel process, in one place.
//!
//! Each limit is one constant, used by the scenario loader and by the
//! command line alike, so that a file and a flag can never ask for more than
//! the other may, and documented as a number in `docs/limits.md`. A limit
//! exists because beyond it the machine, not the target, would be measured:
//! memory reserved before the first request, a scheduler spinning on slots
//! it can never send, a stack overflowed by nesting.

/// Highest arrival rate, iterations (or requests) per second. One process
/// sends a few hundred thousand requests a second at best; a rate far above
/// that only measures drops, and above a billion the schedule's period
/// rounds to zero nanoseconds.
pub const MAX_RATE: f64 = 10_000_000.0;

/// Most virtual users at once (`vus`, stage targets, cycle levels,
/// `max_vus`, `--vus`). Each VU holds its own state and connection, a few
/// KiB at least; more than this belongs on several agents.
pub const MAX_VUS: u32 = 100_000;

/// Most connections of a bench (`-c`): each holds a socket, one file
/// descriptor, and a lane's buffers.
pub const MAX_CONNECTIONS: u64 = 100_000;

/// Most HTTP/2 streams per bench connection (`--h2-streams`).
pub const MAX_H2_STREAMS: u64 = 1_000;

/// Most worker threads (`--threads`); more than the machine has cores only
/// adds switching.
pub const MAX_THREADS: u64 = 1_024;

/// Deepest nesting of function calls, parentheses and prefix operators in
/// an expression, e.g. `base64(urlencode(x))` is 2: parsing, binding and
/// rendering recurse once a level.
pub const MAX_TEMPLATE_DEPTH: usize = 32;

/// Most infix operators in one expression (`a + b` has one): each makes
/// the expression's tree one level deeper, and evaluating it recurses.
pub const MAX_EXPR_OPERATORS: usize = 256;

/// Deepest nesting of YAML collections in a scenario file.
pub const MAX_YAML_DEPTH: usize = 64;

/// Most YAML values (mappings, lists and scalars) in a scenario file.
pub const MAX_YAML_NODES: usize = 250_000;

/// Largest scenario file accepted; anything bigger is not hand-written.
pub const MAX_SCENARIO_BYTES: u64 = 16 << 20;

/// Largest data file (CSV or JSON feeder) or request body file.
pub const MAX_DATA_FILE_BYTES: u64 = 256 << 20;

/// Most bytes one `variables` entry can render to, as bounded when the
/// file loads (every VU holds its own copy).
pub const MAX_VARIABLE_BYTES: u64 = 1 << 20;

/// Most bytes all of a VU's `variables` together can render to.
pub const MAX_VARIABLES_BYTES: u64 = 16 << 20;

/// Response body kept for checks and captures when a file sets no
/// `max_body`; the rest is read, counted and dropped.
pub const DEFAULT_MAX_BODY: u64 = 4 << 20;

/// Largest `max_body` a file may set.
pub const MAX_BODY: u64 = 1 << 30;

/// Reading a whole regular file with a bound (shared with the reports,
/// which read result files the same way).
pub use pummel_result::file::{read_file, FileError};
