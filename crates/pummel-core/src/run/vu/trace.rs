//! `--http-debug`: a request and its response as text, handed to the
//! front end's sink (the engine prints nothing itself). Only reached when
//! the run asked for it: with it off, a request pays one branch.

use std::fmt::Write as _;

use crate::http::session::{FinalResponse, Request};
use crate::run::{DebugMode, HttpDebug};
use crate::ErrorKind;

/// Body bytes shown with `--http-debug=full` (and for failures), per body.
pub(crate) const MAX_SHOWN_BODY: usize = 2048;

/// What happened to one request, for the decision to show it.
pub(super) struct Exchange<'a> {
    pub(super) step: &'a str,
    pub(super) vu: u64,
    pub(super) iteration: u64,
    pub(super) request: &'a Request,
    pub(super) outcome: Result<&'a FinalResponse, ErrorKind>,
    /// Checks of the step that failed.
    pub(super) failed_checks: u32,
    /// Every iteration of the first VU is shown, not only its first
    /// (`--once`, where each iteration is another scenario).
    pub(super) every_iteration: bool,
}

impl Exchange<'_> {
    fn failed(&self) -> bool {
        match self.outcome {
            Err(_) => true,
            Ok(r) => r.status >= 400 || self.failed_checks > 0,
        }
    }
}

/// Shows the exchange when the mode says so: the first VU's first
/// iteration (and the global setup), or failures only.
pub(super) fn show(debug: &HttpDebug, exchange: &Exchange<'_>) {
    let wanted = match debug.mode {
        DebugMode::Headers | DebugMode::Full => {
            exchange.vu <= 1 && (exchange.iteration == 0 || exchange.every_iteration)
        }
        DebugMode::Failures => exchange.failed(),
    };
    if !wanted || !debug.take_one() {
        return;
    }
    let bodies = !matches!(debug.mode, DebugMode::Headers);
    (debug.sink)(&format(exchange, bodies));
}

fn format(e: &Exchange<'_>, bodies: bool) -> String {
    let mut out = String::new();
    let r = e.request;
    let _ = writeln!(
        out,
        "--- {} (VU {}, iteration {})",
        e.step,
        e.vu,
        e.iteration + 1
    );
    let _ = writeln!(out, "> {} {}", r.method, r.url.absolute());
    for (name, value) in &r.headers {
        let _ = writeln!(
            out,
            "> {}: {}",
            name,
            String::from_utf8_lossy(value.as_bytes())
        );
    }
    if bodies && !r.body.is_empty() {
        body(&mut out, ">", &r.body, r.body.len());
    }
    match e.outcome {
        Err(kind) => {
            let _ = writeln!(out, "< error: {}", kind.describe());
        }
        Ok(resp) => {
            let _ = write!(out, "< {}", resp.status);
            if resp.redirects > 0 {
                let _ = write!(out, " (after {} redirects)", resp.redirects);
            }
            out.push('\n');
            for (name, value) in &resp.headers {
                let _ = writeln!(out, "< {name}: {value}");
            }
            if bodies && !resp.body.is_empty() {
                body(&mut out, "<", &resp.body, resp.body.len());
            }
        }
    }
    if e.failed_checks > 0 {
        let _ = writeln!(out, "! {} check(s) failed", e.failed_checks);
    }
    out.push('\n');
    out
}

/// A body, as text when it is, cut at [`MAX_SHOWN_BODY`] bytes.
fn body(out: &mut String, prefix: &str, bytes: &[u8], total: usize) {
    let mut shown = &bytes[..bytes.len().min(MAX_SHOWN_BODY)];
    // A cut through a character is not binary data: show up to the cut.
    if let Err(e) = std::str::from_utf8(shown) {
        if e.error_len().is_none() {
            shown = &shown[..e.valid_up_to()];
        }
    }
    match std::str::from_utf8(shown) {
        Ok(text) => {
            for line in text.lines() {
                let _ = writeln!(out, "{prefix} {line}");
            }
        }
        Err(_) => {
            let _ = writeln!(out, "{prefix} ({total} bytes of binary data)");
            return;
        }
    }
    if total > shown.len() {
        let _ = writeln!(
            out,
            "{prefix} … ({} more bytes not shown)",
            total - shown.len()
        );
    }
}
