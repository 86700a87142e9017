//! Self-contained HTML pages: a run's report, a comparison, a trend.
//!
//! Each page is one file holding everything it needs — uPlot (embedded at
//! build time from npm, see `build.rs`), its stylesheet, its script and the
//! data as JSON — so it opens from disk, from a CI artefact or an e-mail
//! attachment, with no network request at all.
//!
//! The markup is in askama templates (`templates/`, checked at compile
//! time), whose escaper ([`crate::markup::HtmlEscaper`]) escapes every value
//! once; a run's report is one module per section (`report/`). The charts
//! are data ([`chart::Chart`]) that `page.js` draws.

mod assets;
pub mod chart;
mod compare;
mod page;
mod report;
mod trend;

pub use compare::comparison;
pub use report::report;
pub use trend::trend;

/// The build had no uPlot to embed, so no HTML can be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "HTML reports are not available in this build of pummel: uPlot (the charting library, \
     installed with npm) was missing when it was built. Install Node.js and npm (e.g. \
     `apt-get install npm`), then rebuild (`cargo build`): the build runs \
     `npm ci --prefix crates/pummel-report/web` by itself. The other formats \
     (--junit, --csv, --markdown) work without it."
)]
pub struct HtmlUnavailable;

/// Whether this build can write HTML.
pub fn available() -> bool {
    assets::uplot().is_some()
}
