//! `pummel init`: a commented example scenario to start from.

use std::io::Write;

use crate::cli::InitArgs;
use crate::exit::{self, Failure};
use crate::output::destinations;

pub(super) fn run(args: &InitArgs) -> Result<i32, Failure> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if args.force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(&args.file).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Failure::usage(format!(
                "{} exists; use --force to replace it",
                args.file.display()
            ))
        } else {
            Failure::runtime(format!("cannot write {}: {e}", args.file.display()))
        }
    })?;
    file.write_all(pummel_core::scenario::init_template().as_bytes())
        .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", args.file.display())))?;
    destinations::print(&format!(
        "wrote {}: try `pummel target` in one terminal and `pummel run {}` in another\n",
        args.file.display(),
        args.file.display()
    ))?;
    Ok(exit::SUCCESS)
}
