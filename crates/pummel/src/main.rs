//! The `pummel` binary: command-line parsing and wiring. The work happens in
//! the library crates; this crate turns flags into plans and results into
//! output.

mod cli;
mod commands;
mod exit;
mod output;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let code = match commands::dispatch(cli) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("pummel: {}", failure.message);
            failure.code
        }
    };
    std::process::exit(code);
}
