//! `pummel target`: the built-in HTTP server.

use std::io::Write;
use std::net::SocketAddr;

use pummel_target::{StallPlan, TargetConfig};

use crate::cli::TargetArgs;
use crate::exit::{self, Failure};

pub(super) fn run(args: &TargetArgs) -> Result<i32, Failure> {
    let stall = match (args.stall_after, args.stall_for) {
        (Some(after), Some(duration)) => Some(StallPlan { after, duration }),
        _ => None,
    };
    let config = TargetConfig {
        addr: SocketAddr::new(args.host, args.port),
        threads: args.threads.map(|t| t as usize),
        stall,
        challenges: args.challenges.clone(),
    };
    pummel_target::serve_blocking(config, |addr| {
        // Scripts and tests read this line to learn the port when --port 0.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "pummel target listening on http://{addr}/");
        let _ = out.flush();
    })
    .map_err(|e| Failure::runtime(format!("cannot serve on {}:{}: {e}", args.host, args.port)))?;
    Ok(exit::SUCCESS)
}
