//! `pummel init`: a commented example scenario to start from.

use std::io::Write;
use std::path::Path;

use crate::cli::InitArgs;
use crate::exit::{self, Failure};
use crate::output::destinations;

/// The file the template's header names; `init` writes it by default.
const DEFAULT_FILE: &str = "pummel.yaml";

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
    let name = shell_word(&args.file);
    file.write_all(example(&name).as_bytes())
        .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", args.file.display())))?;
    destinations::print(&format!(
        "wrote {}: try `pummel target` in one terminal and `pummel run {name}` in another\n",
        args.file.display(),
    ))?;
    Ok(exit::SUCCESS)
}

/// The example scenario, its header's commands naming the file it is written
/// to (the template names the default, `pummel.yaml`).
fn example(name: &str) -> String {
    let template = pummel_core::scenario::init_template();
    let header_len: usize = template
        .split_inclusive('\n')
        .take_while(|line| line.starts_with('#'))
        .map(str::len)
        .sum();
    let (header, rest) = template.split_at(header_len);
    header.replace(DEFAULT_FILE, name) + rest
}

/// `path` as a user types it in a shell: quoted when it holds anything but
/// plain characters.
fn shell_word(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@".contains(c));
    if plain {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_names_the_file_written() {
        let text = example("load/x.yaml");
        let header: Vec<&str> = text.lines().take(2).collect();
        assert!(
            header.iter().all(|l| l.contains("load/x.yaml")),
            "{header:?}"
        );
        assert!(!text.contains(DEFAULT_FILE), "{text}");
        assert_eq!(
            example(DEFAULT_FILE),
            pummel_core::scenario::init_template()
        );
    }

    #[test]
    fn names_with_spaces_or_quotes_are_quoted() {
        assert_eq!(shell_word(Path::new("a b.yaml")), "'a b.yaml'");
        assert_eq!(shell_word(Path::new("it's.yaml")), r"'it'\''s.yaml'");
        assert_eq!(shell_word(Path::new("dir/x.yaml")), "dir/x.yaml");
    }
}
