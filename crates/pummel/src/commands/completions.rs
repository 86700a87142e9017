//! `pummel completions SHELL` and `pummel man`: generated from the CLI's
//! own definition (clap_complete, clap_mangen), so they never drift from
//! the flags.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::exit::{self, Failure};
use crate::output::destinations;

pub(super) fn completions(args: &CompletionsArgs) -> Result<i32, Failure> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "pummel", &mut script);
    destinations::print(&String::from_utf8_lossy(&script))?;
    Ok(exit::SUCCESS)
}

pub(super) fn man(args: &ManArgs) -> Result<i32, Failure> {
    let command = Cli::command();
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(command, dir))
            .map_err(|e| {
                Failure::runtime(format!(
                    "cannot write man pages into {}: {e}",
                    dir.display()
                ))
            })?;
        return Ok(exit::SUCCESS);
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut page)
        .map_err(|e| Failure::runtime(format!("cannot render the man page: {e}")))?;
    destinations::print(&String::from_utf8_lossy(&page))?;
    Ok(exit::SUCCESS)
}
