//! The `pummel` binary: command-line parsing and wiring. The work happens in
//! the library crates; this crate turns flags into plans and results into
//! output.

// Printing macros panic when their stream fails (a closed pipe): messages go
// through `output::stderr::say`, results through `output::destinations`.
#![deny(clippy::print_stderr, clippy::print_stdout)]

mod cli;
mod commands;
mod exit;
mod output;
mod remote;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // Every connection is a file descriptor; the default soft limit (often
    // 1024) would cap a bench far below what the machine allows. Raising it
    // to the hard limit is what a user would do with `ulimit -n` anyway.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let code = match commands::dispatch(&cli) {
        Ok(code) => code,
        Err(failure) => {
            crate::output::stderr::say(format_args!("pummel: {}", failure.message));
            failure.code
        }
    };
    // Every code pummel uses fits a byte (exit codes are one on Unix).
    ExitCode::from(u8::try_from(code).unwrap_or(u8::MAX))
}
