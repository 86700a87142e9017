//! CSS selectors over HTML responses (`css:` checks and captures), for the
//! form-and-token journeys of server-rendered sites: the selector compiled
//! when the scenario loads, the body parsed (html5ever, as browsers parse)
//! only by a step that asks, and only as far as `max_body` kept it.

use scraper::{Html, Selector};

/// A selector, and what of the first element it selects is wanted: an
/// attribute's value (`input[name=csrf] @value`) or the element's text.
#[derive(Clone, Debug)]
pub(crate) struct CssQuery {
    selector: Selector,
    /// The selector as written, for labels and messages.
    pub(crate) source: String,
    attr: Option<String>,
}

impl CssQuery {
    /// `selector`, with `attr` when an attribute is wanted. The error says
    /// what the selector parser found wrong.
    pub(crate) fn parse(selector: &str, attr: Option<String>) -> Result<CssQuery, String> {
        let compiled = Selector::parse(selector)
            .map_err(|e| format!("`{selector}` is not a CSS selector: {e}"))?;
        Ok(CssQuery {
            selector: compiled,
            source: selector.to_owned(),
            attr,
        })
    }

    /// The wanted value of the first element selected in `html`: its
    /// attribute (`None` when it has none), or its text, whitespace runs
    /// collapsed and trimmed.
    pub(crate) fn first(&self, html: &str) -> Option<String> {
        let document = Html::parse_document(html);
        let element = document.select(&self.selector).next()?;
        match &self.attr {
            Some(name) => element.value().attr(name).map(str::to_owned),
            None => {
                let text: String = element.text().collect();
                Some(text.split_whitespace().collect::<Vec<_>>().join(" "))
            }
        }
    }

    /// How the query reads in labels: `input[name=csrf] @value`.
    pub(crate) fn label(&self) -> String {
        match &self.attr {
            Some(a) => format!("{} @{a}", self.source),
            None => self.source.clone(),
        }
    }
}

/// A check's key: `SELECTOR` or `SELECTOR @attribute`.
pub(crate) fn split_attr(key: &str) -> (&str, Option<String>) {
    match key.rsplit_once(" @") {
        Some((selector, attr)) if !attr.is_empty() && !attr.contains(char::is_whitespace) => {
            (selector.trim(), Some(attr.to_owned()))
        }
        _ => (key.trim(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "<html><body><h1 class=title>  Submit\n an   app </h1>\
        <form><input type=hidden name=csrf value=\"t0k3n\"><input name=q></form></body></html>";

    #[test]
    fn selects_attributes_and_text() {
        let token = CssQuery::parse("input[name=csrf]", Some("value".into())).unwrap();
        assert_eq!(token.first(PAGE).as_deref(), Some("t0k3n"));
        let title = CssQuery::parse("h1.title", None).unwrap();
        assert_eq!(title.first(PAGE).as_deref(), Some("Submit an app"));
        let missing = CssQuery::parse("input[name=q]", Some("value".into())).unwrap();
        assert_eq!(missing.first(PAGE), None);
        assert_eq!(
            CssQuery::parse("form > nope", None).unwrap().first(PAGE),
            None
        );
        assert!(CssQuery::parse("input[", None).is_err());
        assert_eq!(
            split_attr("input[name=csrf] @value"),
            ("input[name=csrf]", Some("value".into()))
        );
        assert_eq!(split_attr("h1.title"), ("h1.title", None));
    }
}
