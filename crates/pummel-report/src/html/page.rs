//! The frame every page shares: the document, its header, a table of
//! contents, sections, chart placeholders and tables; and at the end the
//! data and the scripts.

use std::fmt::Write;

use serde::Serialize;

use super::assets;
use super::chart::Chart;
use super::HtmlUnavailable;
use crate::markup::{escape, script_json};

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
    /// line of facts (already HTML).
    pub(super) fn header(&mut self, kicker: &str, facts: &[String]) {
        let _ = write!(
            self.header,
            r#"<header class="top"><div class="kicker"><span class="logo">pummel</span> {}</div><h1>{}</h1>"#,
            escape(kicker),
            escape(&self.title)
        );
        if !facts.is_empty() {
            let _ = write!(
                self.header,
                r#"<p class="facts">{}</p>"#,
                facts.join(r#"<span class="sep">·</span>"#)
            );
        }
        self.header.push_str("</header>");
    }

    /// HTML placed as it is, before the table of contents' sections.
    pub(super) fn raw(&mut self, html: &str) {
        self.body.push_str(html);
    }

    /// A section with a heading, listed in the table of contents.
    pub(super) fn section(&mut self, id: &str, title: &str, content: &str) {
        self.toc.push((id.to_owned(), title.to_owned()));
        let _ = write!(
            self.body,
            r#"<section id="{id}"><h2>{}</h2>{content}</section>"#,
            escape(title)
        );
    }

    /// Registers a chart and returns the figure that shows it.
    pub(super) fn chart(&mut self, chart: Chart, title: &str, caption: &str) -> String {
        let html = format!(
            r#"<figure class="chart"><figcaption><strong>{}</strong>{}</figcaption><div class="plot" id="{}"></div></figure>"#,
            escape(title),
            if caption.is_empty() {
                String::new()
            } else {
                format!("<span>{}</span>", escape(caption))
            },
            escape(&chart.id)
        );
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
        let mut out = String::with_capacity(self.body.len() + uplot_js.len() + 16_384);
        let _ = write!(
            out,
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"generator\" content=\"pummel {}\">\n<title>{} — pummel</title>\n\
             <style>/* uPlot, MIT licence, (c) Leon Sorokin */\n{}</style>\n<style>\n{}</style>\n</head>\n<body>\n",
            env!("CARGO_PKG_VERSION"),
            escape(&self.title),
            uplot_css,
            assets::PAGE_CSS
        );
        out.push_str(&self.header);
        if self.toc.len() > 1 {
            out.push_str(r#"<nav class="toc">"#);
            for (id, title) in &self.toc {
                let _ = write!(out, r##"<a href="#{id}">{}</a>"##, escape(title));
            }
            out.push_str("</nav>");
        }
        out.push_str("<main>");
        out.push_str(&self.body);
        out.push_str("</main>\n");
        let _ = writeln!(
            out,
            "<footer>Made by pummel {} from a JSON result alone · charts by uPlot · this file needs no network</footer>",
            env!("CARGO_PKG_VERSION")
        );
        let _ = writeln!(
            out,
            r#"<script id="pummel-data" type="application/json">{}</script>"#,
            script_json(&PageData {
                charts: &self.charts
            })
        );
        // A script's text ends at the first `</script`; neither file has one
        // (checked in tests), the replace is a belt to the braces.
        let _ = writeln!(
            out,
            "<script>\n{}\n</script>",
            uplot_js.replace("</script", "<\\/script")
        );
        let _ = writeln!(
            out,
            "<script>\n{}\n</script>",
            assets::PAGE_JS.replace("</script", "<\\/script")
        );
        out.push_str("</body>\n</html>\n");
        out
    }
}

/// A column of a [`table`].
pub(crate) enum Col<'a> {
    /// Left-aligned text.
    Text(&'a str),
    /// Right-aligned figures.
    Num(&'a str),
}

/// A table; cells are HTML (escape text before).
pub(crate) fn table(class: &str, cols: &[Col<'_>], rows: &[Vec<String>]) -> String {
    let mut out = format!(r#"<div class="scroll"><table class="{class}"><thead><tr>"#);
    for c in cols {
        let _ = match c {
            Col::Text(h) => write!(out, "<th>{}</th>", escape(h)),
            Col::Num(h) => write!(out, r#"<th class="num">{}</th>"#, escape(h)),
        };
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let _ = match cols.get(i) {
                Some(Col::Num(_)) => write!(out, r#"<td class="num">{cell}</td>"#),
                _ => write!(out, "<td>{cell}</td>"),
            };
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

/// A small horizontal bar showing a share (0–1), for tables.
pub(crate) fn share_bar(share: f64, class: &str) -> String {
    let pct = if share.is_finite() {
        (share * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    };
    format!(r#"<span class="bar {class}"><span style="width:{pct:.1}%"></span></span>"#)
}

/// A figure card: a label, a big value, a line under it.
pub(crate) fn card(label: &str, value: &str, sub: &str, class: &str) -> String {
    format!(
        r#"<div class="card {class}"><div class="label">{}</div><div class="value">{}</div><div class="sub">{}</div></div>"#,
        escape(label),
        escape(value),
        escape(sub)
    )
}

/// A paragraph of explanatory text.
pub(crate) fn note(text: &str) -> String {
    format!(r#"<p class="note">{}</p>"#, escape(text))
}
