//! The frame every page shares: the document, its header, a table of
//! contents, sections, chart placeholders, verdicts and tables of typed
//! cells; and at the end the data and the scripts. The markup of each is a
//! template in `templates/` (`page.html`, `header.html`, `table.html` …).

use askama::Template;
use serde::Serialize;

use super::assets;
use super::chart::Chart;
use super::HtmlUnavailable;
use crate::markup::script_json;

/// A page being written.
pub(crate) struct Page {
    title: String,
    header: String,
    body: String,
    toc: Vec<(String, String)>,
    charts: Vec<Chart>,
}

/// What `page.js` reads from the page.
#[derive(Serialize)]
struct PageData<'a> {
    charts: &'a [Chart],
}

/// One of the facts under a page's title.
pub(crate) enum Fact {
    Text(String),
    /// A file name or URL.
    Code(String),
}

#[derive(Template)]
#[template(path = "header.html")]
struct Header<'a> {
    kicker: &'a str,
    title: &'a str,
    facts: &'a [Fact],
}

#[derive(Template)]
#[template(path = "section.html")]
struct Section<'a> {
    id: &'a str,
    title: &'a str,
    content: &'a str,
}

#[derive(Template)]
#[template(path = "chart.html")]
struct Figure<'a> {
    id: &'a str,
    title: &'a str,
    caption: &'a str,
}

#[derive(Template)]
#[template(path = "page.html")]
struct Document<'a> {
    version: &'a str,
    title: &'a str,
    uplot_css: &'a str,
    page_css: &'a str,
    header: &'a str,
    toc: &'a [(String, String)],
    body: &'a str,
    data: &'a str,
    uplot_js: &'a str,
    page_js: &'a str,
}

/// Renders a template into `out`. Writing to a `String` cannot fail and no
/// template here has a fallible filter, so an error has nothing to report.
pub(crate) fn render_into(out: &mut String, template: &impl Template) {
    let _ = template.render_into(out);
}

/// A template's markup.
pub(crate) fn render(template: &impl Template) -> String {
    let mut out = String::new();
    render_into(&mut out, template);
    out
}

impl Page {
    pub(super) fn new(title: &str) -> Page {
        Page {
            title: title.to_owned(),
            header: String::new(),
            body: String::new(),
            toc: Vec::new(),
            charts: Vec::new(),
        }
    }

    /// The header: `kicker` (what kind of page) above the title, then a
    /// line of facts.
    pub(super) fn header(&mut self, kicker: &str, facts: &[Fact]) {
        let header = Header {
            kicker,
            title: &self.title,
            facts,
        };
        self.header = render(&header);
    }

    /// HTML placed as it is, before the table of contents' sections.
    pub(super) fn raw(&mut self, html: &str) {
        self.body.push_str(html);
    }

    /// A section with a heading, listed in the table of contents.
    pub(super) fn section(&mut self, id: &str, title: &str, content: &str) {
        self.toc.push((id.to_owned(), title.to_owned()));
        render_into(&mut self.body, &Section { id, title, content });
    }

    /// Registers a chart and returns the figure that shows it.
    pub(super) fn chart(&mut self, chart: Chart, title: &str, caption: &str) -> String {
        let html = render(&Figure {
            id: &chart.id,
            title,
            caption,
        });
        self.charts.push(chart);
        html
    }

    /// The finished document.
    pub(super) fn finish(self) -> Result<String, HtmlUnavailable> {
        let (uplot_js, uplot_css) = assets::uplot().ok_or(HtmlUnavailable)?;
        Ok(self.finish_with(uplot_js, uplot_css))
    }

    /// [`Page::finish`] with the charting library given (tests use a stub).
    pub(super) fn finish_with(self, uplot_js: &str, uplot_css: &str) -> String {
        let data = script_json(&PageData {
            charts: &self.charts,
        });
        // A script's text ends at the first `</script`; neither file has one
        // (checked in tests), the replace is a belt to the braces.
        let uplot_js = uplot_js.replace("</script", "<\\/script");
        let page_js = assets::PAGE_JS.replace("</script", "<\\/script");
        let mut out = String::with_capacity(self.body.len() + uplot_js.len() + 16_384);
        render_into(
            &mut out,
            &Document {
                version: env!("CARGO_PKG_VERSION"),
                title: &self.title,
                uplot_css,
                page_css: assets::PAGE_CSS,
                header: &self.header,
                toc: &self.toc,
                body: &self.body,
                data: &data,
                uplot_js: &uplot_js,
                page_js: &page_js,
            },
        );
        out
    }
}

/// A column of a [`Table`].
#[derive(Clone, Copy)]
pub(crate) enum Col<'a> {
    /// Left-aligned text.
    Text(&'a str),
    /// Right-aligned figures.
    Num(&'a str),
}

/// A table cell: text, escaped once by the template, in the markup its kind
/// gives it.
pub(crate) enum Cell {
    Text(String),
    Code(String),
    /// Text followed by code: `connect failed: <code>refused</code>`.
    LabelCode(&'static str, String),
    /// Code followed by text: `<code>a.json</code> (partial)`.
    CodeNote(String, &'static str),
    Strong(String),
    /// The heading of a group of rows; its row is marked as a group's.
    Group(String),
    Em(String),
    /// Text in a class (`bad`, `worse`, `indent` …).
    Span(&'static str, String),
    /// A coloured label: a status code, pass or fail.
    Pill(&'static str, String),
    /// A figure with a tooltip, in a class.
    Titled(&'static str, String, String),
    /// A bar showing a share, then the share as text.
    Share(Bar, String),
}

impl Cell {
    /// An empty cell.
    pub(crate) fn empty() -> Cell {
        Cell::Text(String::new())
    }
}

/// A small horizontal bar showing a share (0–1), for tables.
pub(crate) struct Bar {
    class: &'static str,
    /// Percent of the width, one decimal.
    width: String,
}

impl Bar {
    pub(crate) fn new(share: f64, class: &'static str) -> Bar {
        let pct = if share.is_finite() {
            (share * 100.0).clamp(0.0, 100.0)
        } else {
            0.0
        };
        Bar {
            class,
            width: format!("{pct:.1}"),
        }
    }
}

/// A table of cells under a row of headings.
#[derive(Template)]
#[template(path = "table.html")]
pub(crate) struct Table<'a> {
    class: &'a str,
    cols: &'a [Col<'a>],
    rows: Vec<Vec<Cell>>,
}

impl<'a> Table<'a> {
    pub(crate) fn new(class: &'a str, cols: &'a [Col<'a>], rows: Vec<Vec<Cell>>) -> Table<'a> {
        Table { class, cols, rows }
    }

    fn is_num(&self, column: &usize) -> bool {
        matches!(self.cols.get(*column), Some(Col::Num(_)))
    }
}

/// Pass, fail or another outcome at the top of a page.
#[derive(Template)]
#[template(path = "verdict.html")]
pub(crate) struct Verdict<'a> {
    pub(crate) class: &'a str,
    pub(crate) badge: &'a str,
    pub(crate) head: &'a str,
    pub(crate) detail: &'a str,
}

/// Chart figures side by side.
#[derive(Template)]
#[template(path = "grid.html")]
pub(crate) struct Grid {
    pub(crate) figures: Vec<String>,
}

#[derive(Template)]
#[template(path = "note.html")]
struct Note<'a> {
    text: &'a str,
}

/// A paragraph of explanatory text.
pub(crate) fn note(text: &str) -> String {
    render(&Note { text })
}
