//! `pummel convert FILE`: a HAR recording or a Postman collection to a scenario file. The
//! conversion is `pummel_convert`'s; this reads the file, writes the result, checks that it loads
//! as a scenario (the same validation `pummel validate` runs) and says what the user must do.

use std::path::Path;

use pummel_convert::{Format, Options};
use pummel_core::scenario::{self, LoadOptions};

use crate::cli::ConvertArgs;
use crate::exit::{self, Failure};
use crate::output::{destinations, stderr};

pub(super) fn run(args: &ConvertArgs) -> Result<i32, Failure> {
    let text = read_input(&args.input)?;
    let options = Options {
        format: match args.from.as_deref() {
            Some("har") => Some(Format::Har),
            Some("postman") => Some(Format::Postman),
            _ => None,
        },
        keep_assets: args.keep_assets,
        think_scale: args.think_scale,
        include_hosts: args.include_hosts.clone(),
        exclude_hosts: args.exclude_hosts.clone(),
    };
    let conversion = pummel_convert::convert(&text, &options)
        .map_err(|e| Failure::usage(format!("{}: {e}", args.input.display())))?;

    // The written file must load: validate it with every environment variable it reads set to a
    // stand-in (their real values are the user's to give), a URL for one that starts URLs.
    let env = conversion
        .env
        .iter()
        .fold(LoadOptions::from_process_env(), |o, v| {
            let stand_in = if v.is_url {
                "http://stand-in.invalid"
            } else {
                "stand-in"
            };
            o.with_env(v.name.clone(), stand_in)
        });
    let name = args
        .output
        .as_deref()
        .map_or_else(|| "converted.yaml".to_owned(), |p| p.display().to_string());
    if let Err(diagnostics) = scenario::load_str_with(&name, &conversion.yaml, &env) {
        stderr::say(format_args!("{diagnostics}"));
        return Err(Failure::runtime(
            "the converted scenario does not validate (a bug in `pummel convert`: please report it with the input)",
        ));
    }

    match &args.output {
        Some(path) => {
            if path.exists() && !args.force && path != Path::new("-") {
                return Err(Failure::usage(format!(
                    "{} exists (use --force to replace it)",
                    path.display()
                )));
            }
            destinations::write_to(path, &conversion.yaml)?;
        }
        None => destinations::print(&conversion.yaml)?,
    }
    say_summary(args, &conversion);
    Ok(exit::SUCCESS)
}

/// The input, as the engine reads its own files: a regular file only (a FIFO or a device may
/// never end), bounded on the bytes actually read.
fn read_input(path: &Path) -> Result<String, Failure> {
    let cannot =
        |e: &dyn std::fmt::Display| Failure::usage(format!("cannot read {}: {e}", path.display()));
    let bytes = pummel_core::limits::read_file(path, pummel_convert::MAX_INPUT_BYTES)
        .map_err(|e| cannot(&e))?;
    String::from_utf8(bytes).map_err(|e| cannot(&format!("not UTF-8 text ({})", e.utf8_error())))
}

fn say_summary(args: &ConvertArgs, c: &pummel_convert::Conversion) {
    let to = args
        .output
        .as_deref()
        .map_or_else(|| "stdout".to_owned(), |p| p.display().to_string());
    let mut left_out = Vec::new();
    if c.skipped.assets > 0 {
        left_out.push(format!("{} static assets", c.skipped.assets));
    }
    if c.skipped.hosts > 0 {
        left_out.push(format!("{} requests to other hosts", c.skipped.hosts));
    }
    if c.skipped.other > 0 {
        left_out.push(format!(
            "{} unanswered or non-HTTP requests",
            c.skipped.other
        ));
    }
    if c.skipped.browser > 0 {
        left_out.push(format!(
            "{} CORS preflights and cache hits",
            c.skipped.browser
        ));
    }
    let mut message = format!("wrote {to}: {} request steps", c.steps);
    if !left_out.is_empty() {
        message.push_str(&format!(" (left out: {})", left_out.join(", ")));
    }
    message.push('\n');
    if !c.correlations.is_empty() {
        message.push_str(&format!("correlated {} values:\n", c.correlations.len()));
        for k in &c.correlations {
            message.push_str(&format!(
                "  {}: captured at step {} ({}), sent as {}\n",
                k.variable,
                k.producer + 1,
                k.how,
                k.first_use
            ));
        }
    }
    if !c.env.is_empty() {
        message.push_str(
            "set these environment variables (or pass --env NAME=VALUE) before running it:\n",
        );
        for v in &c.env {
            message.push_str(&format!("  {}: {}\n", v.name, v.used_for));
        }
    }
    stderr::say(message.trim_end());
}
