//! uPlot, embedded at build time by `build.rs` from the npm package pinned in
//! `web/package-lock.json`, and the page's own CSS and JavaScript.
//!
//! When the build had no npm, uPlot is absent and [`uplot`] says so: the
//! HTML formats then fail with [`super::HtmlUnavailable`] instead of writing
//! a page whose charts cannot draw.

/// uPlot's JavaScript and CSS, when the build could embed them.
#[cfg(not(pummel_uplot_missing))]
pub(super) fn uplot() -> Option<(&'static str, &'static str)> {
    Some((
        include_str!(concat!(env!("OUT_DIR"), "/uPlot.iife.min.js")),
        include_str!(concat!(env!("OUT_DIR"), "/uPlot.min.css")),
    ))
}

/// uPlot's JavaScript and CSS, when the build could embed them.
#[cfg(pummel_uplot_missing)]
pub fn uplot() -> Option<(&'static str, &'static str)> {
    None
}

/// The page's stylesheet (screen and print).
pub(super) const PAGE_CSS: &str = include_str!("page.css");

/// The page's script: draws the charts described in the page's JSON.
pub(super) const PAGE_JS: &str = include_str!("page.js");
