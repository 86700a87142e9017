//! The text a scraper reads: Prometheus's text format 0.0.4, which every
//! Prometheus version reads, or OpenMetrics 1.0 when the scraper asks for
//! it (`Accept: application/openmetrics-text`). The two differ only in how
//! a counter family is named and in the closing `# EOF`.

use std::fmt::Write;

use crate::series::{Family, Kind};

/// The content type of the classic text format.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// The content type of OpenMetrics 1.0.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Which text format to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    OpenMetrics,
}

impl Format {
    /// The format a request's `Accept` header asks for.
    pub fn negotiate(accept: Option<&str>) -> Format {
        // The highest weight (`q`) the header gives each format: OpenMetrics by its own media
        // type, the text format by `text/plain` or a wildcard.
        let (mut open_metrics, mut text) = (0.0_f64, 0.0_f64);
        for range in accept.unwrap_or("").split(',') {
            let mut params = range.split(';').map(str::trim);
            let media = params.next().unwrap_or("").to_ascii_lowercase();
            let q = params
                .filter_map(|p| p.strip_prefix("q="))
                .find_map(|q| q.parse::<f64>().ok())
                .unwrap_or(1.0);
            match media.as_str() {
                "application/openmetrics-text" => open_metrics = open_metrics.max(q),
                "text/plain" | "text/*" | "*/*" => text = text.max(q),
                _ => {}
            }
        }
        if open_metrics > 0.0 && open_metrics >= text {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => TEXT_CONTENT_TYPE,
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }
}

/// A label value escaped as both formats require.
fn escape_label(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn escape_help(help: &str) -> String {
    help.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A sample's value: integers without a fraction, others in full.
fn value(v: f64, out: &mut String) {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{}", v as i64);
    } else {
        let _ = write!(out, "{v}");
    }
}

/// Renders `families` in `format`.
pub fn render(families: &[Family], format: Format) -> String {
    let mut out = String::with_capacity(4096);
    for family in families {
        // The classic format names a counter family by its sample name;
        // OpenMetrics by the name without `_total`.
        let name = match (format, family.kind) {
            (Format::Text, Kind::Counter) => format!("{}_total", family.name),
            _ => family.name.to_owned(),
        };
        let _ = writeln!(out, "# HELP {name} {}", escape_help(family.help));
        let _ = writeln!(out, "# TYPE {name} {}", family.kind.as_str());
        if format == Format::OpenMetrics && family.name.ends_with("_seconds") {
            let _ = writeln!(out, "# UNIT {name} seconds");
        }
        for s in &family.samples {
            out.push_str(&s.name);
            if !s.labels.is_empty() {
                out.push('{');
                for (i, (k, v)) in s.labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(k);
                    out.push_str("=\"");
                    escape_label(v, &mut out);
                    out.push('"');
                }
                out.push('}');
            }
            out.push(' ');
            value(s.value, &mut out);
            out.push('\n');
        }
    }
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figures::{LiveFigures, StepFigures, BUCKETS_S};
    use crate::series::families;

    fn figures() -> LiveFigures {
        LiveFigures {
            steps: vec![StepFigures {
                name: "shop/\"quoted\"\\step".into(),
                requests: 3,
                status: vec![(200, 2)],
                errors: vec![("reset".into(), 1)],
                buckets: vec![2; BUCKETS_S.len()],
                latency_count: 2,
                latency_sum_s: 0.004,
            }],
            gauges: [("vus".to_owned(), 4)].into(),
            elapsed_s: 3.0,
            ..LiveFigures::default()
        }
    }

    #[test]
    fn classic_text_names_counters_by_their_samples() {
        let text = render(&families(&figures()), Format::Text);
        assert!(
            text.contains("# TYPE pummel_requests_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("pummel_requests_total{step=\"shop/\\\"quoted\\\"\\\\step\"} 3\n"),
            "{text}"
        );
        assert!(text.contains(
            "pummel_errors_total{step=\"shop/\\\"quoted\\\"\\\\step\",kind=\"reset\"} 1\n"
        ));
        assert!(text.contains("le=\"0.005\"} 2\n"), "{text}");
        assert!(text.contains("le=\"+Inf\"} 2\n"), "{text}");
        assert!(
            text.contains("pummel_request_duration_seconds_sum{step="),
            "{text}"
        );
        assert!(text.contains("\npummel_vus 4\n"), "{text}");
        assert!(!text.contains("# EOF"));
    }

    #[test]
    fn openmetrics_names_families_without_total_and_ends_with_eof() {
        let text = render(&families(&figures()), Format::OpenMetrics);
        assert!(text.contains("# TYPE pummel_requests counter\n"), "{text}");
        assert!(text.contains("# UNIT pummel_request_duration_seconds seconds\n"));
        assert!(text.ends_with("# EOF\n"));
        assert_eq!(
            Format::negotiate(Some(
                "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
            )),
            Format::OpenMetrics
        );
        assert_eq!(Format::negotiate(None), Format::Text);
        // What Prometheus 2.x sends.
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")),
            Format::OpenMetrics
        );
        // Refused, or preferred less than the text format.
        for accept in [
            "application/openmetrics-text; version=1.0.0; q=0",
            "text/plain;version=0.0.4,application/openmetrics-text;q=0.5",
        ] {
            assert_eq!(Format::negotiate(Some(accept)), Format::Text, "{accept}");
        }
    }
}
