//! Messages for the user on stderr.

use std::fmt::Display;
use std::io::Write;

/// Writes `message` and a newline on stderr. A stderr that cannot be written
/// (its reader gone, a full disk) loses the message, not the run: unlike
/// `eprintln!`, which panics there and turns the documented exit code into
/// a panic's 101.
pub(crate) fn say(message: impl Display) {
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}
