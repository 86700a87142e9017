//! The command line's form of an endpoint to monitor: `--monitor 'URL
//! [SERIES …]'`, the URL then the series to keep, separated by spaces, in
//! one argument.
//!
//! Only this one form is accepted. `URL=SERIES,SERIES` cannot be told apart
//! from a URL reliably: `=` belongs in a query string (`/federate?match[]=…`)
//! and `,` inside a selector's `{…}`. So a URL whose path holds `=` (which
//! no metrics path has, and which is what `URL=SERIES` looks like) is an
//! error that shows the accepted form, rather than an endpoint scraped at a
//! path that does not exist.

use super::{EndpointUrl, MonitorTarget, SeriesSpec};

/// An example of the accepted form, for error messages.
const EXAMPLE: &str = "--monitor 'http://127.0.0.1:9100/metrics node_load1 sum(rate(x_total))'";

impl MonitorTarget {
    /// Parses one `--monitor` value, `URL [SERIES …]`; without series, the
    /// [defaults](SeriesSpec::defaults). The error says what is wrong.
    pub fn parse_flag(text: &str) -> Result<MonitorTarget, String> {
        let mut words = split_series(text).into_iter();
        let Some(url) = words.next() else {
            return Err(format!(
                "expected the endpoint's URL, then the series to keep: {EXAMPLE}"
            ));
        };
        if path_of(&url).contains('=') {
            return Err(format!(
                "{url:?}: the URL's path holds `=`; the series follow the URL after a space, \
                 not `URL=SERIES`: {EXAMPLE}"
            ));
        }
        let url = EndpointUrl::parse(&url)?;
        let mut series = Vec::new();
        for word in words {
            // A URL, not a label value that holds one (`probe_success{instance="https://shop"}`).
            let lower = word.to_ascii_lowercase();
            if lower.starts_with("http://") || lower.starts_with("https://") {
                return Err(format!(
                    "{word:?} is not a series: one endpoint per --monitor (repeat the flag)"
                ));
            }
            series.push(SeriesSpec::parse(&word).map_err(|e| format!("series {word:?}: {e}"))?);
        }
        if series.is_empty() {
            series = SeriesSpec::defaults();
        }
        Ok(MonitorTarget { url, series })
    }
}

/// The path of `url`: after the scheme and authority, before any query or
/// fragment (all of it when it has no scheme).
fn path_of(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    path.split(['?', '#']).next().unwrap_or_default()
}

/// Splits at white space outside `{…}` and quotes, so a selector's label
/// matchers may hold spaces.
fn split_series(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let (mut depth, mut quoted, mut escaped) = (0u32, false, false);
    for c in text.chars() {
        if escaped {
            escaped = false;
        } else if quoted {
            match c {
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
        } else {
            match c {
                '"' => quoted = true,
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                c if c.is_whitespace() && depth == 0 => {
                    if !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                    continue;
                }
                _ => {}
            }
        }
        word.push(c);
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_is_the_url_then_series_separated_by_spaces() {
        let t = MonitorTarget::parse_flag(
            r#" http://127.0.0.1:9100/metrics node_load1  sum(rate(c{mode!="idle", cpu="0"})) "#,
        )
        .unwrap();
        assert_eq!(t.url.as_str(), "http://127.0.0.1:9100/metrics");
        let series: Vec<String> = t.series.iter().map(SeriesSpec::expression).collect();
        assert_eq!(
            series,
            ["node_load1", r#"sum(rate(c{mode!="idle", cpu="0"}))"#]
        );
        // A label value may hold a URL.
        let t = MonitorTarget::parse_flag(
            r#"http://127.0.0.1:9115/probe probe_success{instance="https://shop"}"#,
        )
        .unwrap();
        assert_eq!(t.series.len(), 1);
        // No series: the defaults. A query string may hold `=`.
        let t = MonitorTarget::parse_flag("http://h:8080/federate?match[]=up").unwrap();
        assert_eq!(t.series, SeriesSpec::defaults());
    }

    #[test]
    fn the_url_equals_series_form_is_an_error_that_shows_the_accepted_one() {
        // Once taken for a URL path: scraped, 0 series, 0 failures, no word.
        for text in [
            "http://127.0.0.1:9100/metrics=node_load1,sum(rate(x_total))",
            "http://127.0.0.1:9100/metrics=node_load1",
        ] {
            let e = MonitorTarget::parse_flag(text).unwrap_err();
            assert!(e.contains("not `URL=SERIES`"), "{text}: {e}");
            assert!(e.contains("/metrics node_load1"), "{text}: {e}");
        }
        for (text, needle) in [
            ("", "expected the endpoint's URL"),
            ("   ", "expected the endpoint's URL"),
            ("http://a:1/metrics http://b:2/metrics", "one endpoint per"),
            ("http://a:1/metrics rate(x{a=b})", "series \"rate(x{a=b})\""),
            ("https://a/metrics", "https is not supported"),
        ] {
            let e = MonitorTarget::parse_flag(text).unwrap_err();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }
}
