//! Embeds the web UI's third-party assets — htmx and uPlot, installed from
//! the npm registry with a lockfile (`web/package-lock.json`) — into the
//! binary, so the server serves every page with no network.
//!
//! As for the HTML reports (see `pummel-report/build.rs`), a build without
//! npm still succeeds: the crate is then built with `pummel_web_missing` and
//! the web pages answer 503 saying how to enable them; the API, the agents
//! and the command line work as before.
//!
//! `PUMMEL_SKIP_NPM=1` skips the install (offline builds).

use std::path::{Path, PathBuf};
use std::process::Command;

const ASSETS: [(&str, &str); 3] = [
    ("web/node_modules/htmx.org/dist/htmx.min.js", "htmx.min.js"),
    (
        "web/node_modules/uplot/dist/uPlot.iife.min.js",
        "uPlot.iife.min.js",
    ),
    ("web/node_modules/uplot/dist/uPlot.min.css", "uPlot.min.css"),
];

fn main() {
    println!("cargo:rustc-check-cfg=cfg(pummel_web_missing)");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=web/package.json");
    println!("cargo:rerun-if-changed=web/package-lock.json");
    println!("cargo:rerun-if-env-changed=PUMMEL_SKIP_NPM");
    // The embedded migrations (sqlx::migrate!) are read at compile time.
    println!("cargo:rerun-if-changed=migrations");
    for (from, _) in ASSETS {
        println!("cargo:rerun-if-changed={from}");
    }
    let Some(manifest) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from) else {
        return;
    };
    let Some(out) = std::env::var_os("OUT_DIR").map(PathBuf::from) else {
        return;
    };
    let installed = || ASSETS.iter().all(|(from, _)| manifest.join(from).is_file());
    if !installed() && std::env::var_os("PUMMEL_SKIP_NPM").is_none() {
        npm_ci(&manifest.join("web"));
    }
    let mut missing = false;
    for (from, to) in ASSETS {
        match std::fs::read(manifest.join(from)) {
            Ok(bytes) => write(&out.join(to), &bytes),
            Err(_) => missing = true,
        }
    }
    if missing {
        println!(
            "cargo:warning=htmx and uPlot are not installed (needs Node.js and npm): \
             the server's web pages are disabled in this build"
        );
        println!("cargo:rustc-cfg=pummel_web_missing");
    }
}

/// Runs `npm ci --prefix web`; any failure only leaves the assets missing.
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
        Err(e) => println!("cargo:warning=cannot run npm ({e}): the web UI needs it at build time"),
    }
}

fn write(path: &Path, bytes: &[u8]) {
    // Rewriting identical content would still bump the mtime and rebuild.
    if std::fs::read(path).ok().as_deref() != Some(bytes) {
        if let Err(e) = std::fs::write(path, bytes) {
            println!("cargo:warning=cannot write {}: {e}", path.display());
        }
    }
}
