//! Embeds uPlot (installed from the npm registry with a lockfile, see
//! `web/package.json`) into the crate, so that every HTML report is one
//! self-contained file that opens from disk with no network.
//!
//! The build never fails for want of Node.js: a fresh machine must be able to
//! `cargo run --release -- demo` before installing anything else. Without the
//! assets the crate is built with `pummel_uplot_missing` set and HTML output
//! fails at run time with a message saying how to enable it; every other
//! report format works.
//!
//! Steps:
//! 1. when `web/node_modules/uplot` is missing and `npm` runs, `npm ci` (the
//!    exact versions of `web/package-lock.json`);
//! 2. copy `uPlot.iife.min.js` and `uPlot.min.css` into `OUT_DIR`, for
//!    `include_str!` in `src/html/assets.rs`.
//!
//! `PUMMEL_SKIP_NPM=1` skips step 1 (offline builds, or to try the
//! no-assets path).

use std::path::{Path, PathBuf};
use std::process::Command;

const JS: &str = "web/node_modules/uplot/dist/uPlot.iife.min.js";
const CSS: &str = "web/node_modules/uplot/dist/uPlot.min.css";

fn main() {
    println!("cargo:rustc-check-cfg=cfg(pummel_uplot_missing)");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=web/package.json");
    println!("cargo:rerun-if-changed=web/package-lock.json");
    // Watching the installed files (not the directory tree) notices an
    // `npm ci` done by hand; while they are missing Cargo reruns this script
    // on every build, which is what retries the install once npm appears.
    println!("cargo:rerun-if-changed={JS}");
    println!("cargo:rerun-if-changed={CSS}");
    println!("cargo:rerun-if-env-changed=PUMMEL_SKIP_NPM");

    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    let (js, css) = (manifest.join(JS), manifest.join(CSS));

    if !(js.is_file() && css.is_file()) && std::env::var_os("PUMMEL_SKIP_NPM").is_none() {
        npm_ci(&manifest.join("web"));
    }
    match (std::fs::read_to_string(&js), std::fs::read_to_string(&css)) {
        (Ok(js), Ok(css)) => {
            write(&out.join("uPlot.iife.min.js"), &js);
            write(&out.join("uPlot.min.css"), &css);
        }
        _ => {
            println!(
                "cargo:warning=uPlot is not installed (needs Node.js and npm): \
                 HTML reports are disabled in this build; every other format works"
            );
            println!("cargo:rustc-cfg=pummel_uplot_missing");
        }
    }
}

/// Runs `npm ci --prefix web`; any failure (no npm, no network) only leaves
/// the assets missing.
fn npm_ci(web: &Path) {
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(web)
        // npm's chatter must not reach stdout, where Cargo reads directives.
        .stdout(std::process::Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => println!(
            "cargo:warning=`npm ci --prefix {}` failed ({s})",
            web.display()
        ),
        Err(e) => {
            println!("cargo:warning=cannot run npm ({e}): HTML reports need it at build time")
        }
    }
}

fn write(path: &Path, text: &str) {
    // Rewriting identical content would still bump the mtime and rebuild.
    if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
        std::fs::write(path, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}
