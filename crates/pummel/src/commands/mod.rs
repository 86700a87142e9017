//! One module per subcommand, and `resolve`, which turns the flags of the
//! commands that measure (`bench`, `run`) into what they execute.

mod agent;
mod bench;
mod compare;
mod completions;
mod convert;
mod demo;
mod hosts;
mod init;
mod remote;
mod report;
mod repos;
mod resolve;
mod run;
mod runner_files;
mod server;
mod shipped;
mod store_at;
mod target;
mod trend;
mod validate;

use crate::cli::{Cli, Command};
use crate::exit::Failure;

/// Runs the chosen command; returns the exit code.
pub(crate) fn dispatch(cli: &Cli) -> Result<i32, Failure> {
    match &cli.command {
        Command::Bench(args) => bench::run(args),
        Command::Target(args) => target::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Run(args) => run::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Init(args) => init::run(args),
        Command::Convert(args) => convert::run(args),
        Command::Report(args) => report::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Trend(args) => trend::run(args),
        Command::Server(args) => server::run(args),
        Command::Agent(args) => agent::run(args),
        Command::Runs(args) => remote::runs(args),
        Command::Attach(args) => remote::attach(args),
        Command::Stop(args) => remote::stop(args),
        Command::Result(args) => remote::result(args),
        Command::Agents(args) => remote::agents(args),
        Command::Repos(args) => repos::run(args),
        Command::Jobs(args) => remote::jobs(args),
        Command::Hosts(args) => hosts::run(args),
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
    }
}

/// Installs the Ctrl-C handler: the first interrupt asks the run to stop and
/// write what it measured; a second one exits at once.
pub(crate) fn stop_on_interrupt() -> pummel_core::StopSignal {
    let stop = pummel_core::StopSignal::new();
    let handler_stop = stop.clone();
    // Failing to install (a handler already exists) only loses the graceful
    // path; the default Ctrl-C behaviour remains.
    let _ = ctrlc::set_handler(move || {
        if handler_stop.is_stopped() {
            exit_now(crate::exit::INTERRUPTED);
        }
        handler_stop.stop();
    });
    stop
}

/// Ends the process from the Ctrl-C handler's thread: a user who pressed
/// Ctrl-C twice wants out even while the run is stuck, so this cannot wait
/// for `main` to return.
#[expect(
    clippy::exit,
    reason = "the second Ctrl-C ends the process from the handler's thread, not through main"
)]
fn exit_now(code: i32) -> ! {
    std::process::exit(code);
}
