//! Reads Prometheus's text exposition format (what node_exporter and most
//! applications' `/metrics` serve): one sample a line, comments skipped.
//! Lines that do not parse are skipped and counted, never fatal.

use std::collections::BTreeMap;

/// One scraped sample.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ScrapedSample {
    pub(crate) metric: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) value: f64,
}

/// The samples of `text`, and how many lines did not parse.
pub(crate) fn parse(text: &str) -> (Vec<ScrapedSample>, usize) {
    let mut samples = Vec::new();
    let mut bad = 0;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_line(line) {
            Some(s) => samples.push(s),
            None => bad += 1,
        }
    }
    (samples, bad)
}

fn parse_line(line: &str) -> Option<ScrapedSample> {
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let metric = &line[..name_end];
    // Only a metric name starts a sample: a line of an HTML page or a log
    // that happens to end in a number (`<td> 5`) is not one.
    if !is_metric_name(metric) {
        return None;
    }
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after) = rest.strip_prefix('{') {
        let mut chars = after.char_indices().peekable();
        let mut consumed = None;
        loop {
            while chars
                .peek()
                .is_some_and(|(_, c)| c.is_whitespace() || *c == ',')
            {
                chars.next();
            }
            match chars.peek() {
                Some((i, '}')) => {
                    consumed = Some(i + 1);
                    break;
                }
                None => break,
                _ => {}
            }
            let mut label = String::new();
            for (_, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                label.push(c);
            }
            if chars.next()?.1 != '"' {
                return None;
            }
            let mut value = String::new();
            loop {
                match chars.next()?.1 {
                    '"' => break,
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        c => value.push(c),
                    },
                    c => value.push(c),
                }
            }
            labels.insert(label.trim().to_owned(), value);
        }
        rest = &after[consumed?..];
    }
    let value = rest.split_whitespace().next()?;
    let value = match value {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().ok()?,
    };
    Some(ScrapedSample {
        metric: metric.to_owned(),
        labels,
        value,
    })
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, the exposition format's metric names.
fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_node_exporter_lines() {
        let text = r#"# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 1234.5
node_cpu_seconds_total{cpu="0",mode="user"} 12
node_load1 0.25
escaped{path="a\"b\\c",x="y"} 1e3 1700000000000
broken{x="y" 1
weird +Inf
"#;
        let (samples, bad) = parse(text);
        assert_eq!(bad, 1);
        assert_eq!(samples.len(), 5);
        assert_eq!(samples[0].labels["mode"], "idle");
        assert_eq!(samples[0].value, 1234.5);
        assert_eq!(samples[2].metric, "node_load1");
        assert!(samples[2].labels.is_empty());
        assert_eq!(samples[3].labels["path"], "a\"b\\c");
        assert_eq!(samples[3].value, 1000.0);
        assert!(samples[4].value.is_infinite());
    }

    #[test]
    fn a_page_that_is_not_metrics_has_no_samples() {
        let page = "<!doctype html>\n<html><body>\n<td> 5\n<p>1 2</p>\n9lives 3\n</body></html>\n";
        assert_eq!(parse(page), (Vec::new(), 6));
    }
}
