//! The report of one run: verdict and key figures at the top, then charts
//! over time, capacity (cycles runs), latency distribution, per-step and
//! per-scenario tables, checks, status codes and errors, configuration.
//!
//! Every section is written from the result alone and only when the result
//! has something to put in it, so a bench, a scenario run and a cycles run
//! each get the report that fits them. One module per section; the markup
//! is in `templates/report/`.

mod capacity;
mod checks;
mod configuration;
mod errors;
mod groups;
mod header;
mod key_figures;
mod latency;
mod load_model;
mod metrics;
mod monitor;
mod over_time;
mod steps;
mod thresholds;
mod websocket;

use pummel_result::result::RunResult;

use super::page::{render, Page};
use super::HtmlUnavailable;
use crate::figures::{Figures, Scope};
use crate::ReportOptions;

pub(crate) use over_time::charted;

/// The HTML report of a result.
pub fn report(r: &RunResult, options: &ReportOptions) -> Result<String, HtmlUnavailable> {
    build(r, options).finish()
}

pub(crate) fn build(r: &RunResult, options: &ReportOptions) -> Page {
    let run = Figures::of_run(r, options.apdex_t_ms);
    let mut page = Page::new(&crate::title(r));
    page.header(
        if r.kind == "bench" {
            "benchmark report"
        } else {
            "load test report"
        },
        &header::facts(r),
    );
    page.raw(&header::verdict(r));
    page.raw(&render(&key_figures::KeyFigures::of(r, &run, options)));
    if !r.thresholds.is_empty() {
        page.section("thresholds", "Thresholds", &render(&thresholds::table(r)));
    }
    let html = over_time::section(&mut page, r);
    page.section("over-time", "Over time", &html);
    if let Some(html) = monitor::section(&mut page, r) {
        page.section("monitor", "The target, monitored", &html);
    }
    if !r.cycles.is_empty() {
        let html = capacity::section(&mut page, r);
        page.section("capacity", "Capacity", &html);
    }
    let html = latency::section(&mut page, r);
    page.section("latency", "Latency", &html);
    if !r.steps.is_empty() {
        page.section("steps", "Steps", &steps::section(r, &run, options));
    }
    if !r.groups.is_empty() {
        page.section("groups", "Groups", &render(&groups::table(r)));
    }
    if !r.metrics.is_empty() {
        page.section("metrics", "Custom metrics", &render(&metrics::table(r)));
    }
    if r.steps.iter().any(|s| !s.checks.is_empty()) {
        page.section("checks", "Checks", &checks::section(r));
    }
    page.section(
        "errors",
        "Status codes and errors",
        &errors::section(r, &run),
    );
    if let Some(html) = websocket::section(r) {
        page.section("websocket", "WebSocket", &html);
    }
    page.section("configuration", "Configuration", &configuration::section(r));
    page
}

fn config_str<'a>(r: &'a RunResult, key: &str) -> Option<&'a str> {
    r.config
        .get(key)
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.is_empty())
}

/// A step's scenario and name as the tables show them.
fn step_name(scope: &Scope) -> (String, String) {
    match scope {
        Scope::Run => (String::new(), "all requests".to_owned()),
        Scope::Step { name, .. } => (scope.flow(), name.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    fn html(r: &RunResult) -> String {
        build(r, &ReportOptions::default()).finish_with("/* uPlot stub */", "")
    }

    fn chart_ids(html: &str) -> Vec<String> {
        let start = html
            .find(r#"<script id="pummel-data" type="application/json">"#)
            .unwrap();
        let json = &html[start..];
        let json = &json[json.find('>').unwrap() + 1..json.find("</script>").unwrap()];
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        v["charts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn a_scenario_run_has_every_section() {
        let page = html(&testdata::scenario_run());
        for needle in [
            r#"<div class="verdict fail"><span class="badge">FAIL</span><div><strong>3 of 4 thresholds failed</strong>"#,
            r#"<section id="thresholds">"#,
            r#"<section id="steps">"#,
            r#"<section id="checks">"#,
            "<h3>Scenarios</h3>",
            "requests cut at the end",
            "<h3>Failures by place and kind</h3>",
            "<h3>Errors by step</h3>",
            "shop &lt;demo&gt;",
            "slow &lt;1&gt;",
            "timeout &lt;after 5s&gt; &amp; &quot;quoted&quot;",
        ] {
            assert!(page.contains(needle), "missing {needle}");
        }
        assert!(
            !page.contains("<demo>") && !page.contains("slow <1>"),
            "unescaped name"
        );
        let ids = chart_ids(&page);
        for id in [
            "chart-throughput",
            "chart-latency",
            "chart-errors",
            "chart-load",
            "chart-distribution",
            "chart-spectrum",
        ] {
            assert!(ids.iter().any(|i| i == id), "{id} in {ids:?}");
            assert!(
                page.contains(&format!(r#"id="{id}""#)),
                "placeholder for {id}"
            );
        }
        assert!(!ids.iter().any(|i| i == "chart-capacity"));
    }

    #[test]
    fn a_cycles_run_has_a_capacity_chart_with_its_knee() {
        let page = html(&testdata::cycles_run());
        assert!(page.contains("Saturates at about 8 VUs"));
        assert!(chart_ids(&page).contains(&"chart-capacity".to_owned()));
        assert!(page.contains(r#""marker":{"x":8.0,"label":"saturation ≈ 8 VUs"}"#));
    }

    #[test]
    fn benches_and_bare_results_render() {
        let page = html(&testdata::bench());
        assert!(page.contains("NO THRESHOLDS"));
        assert!(!page.contains(r#"<section id="steps">"#));
        let page = html(&testdata::open_bench());
        assert!(page.contains("from the actual send (uncorrected)"));
        assert!(page.contains(r#""label":"target rate""#));
        assert!(page.contains(r#""label":"late/s""#));
        let page = html(&testdata::minimal());
        assert!(page.contains("PARTIAL"));
        assert!(page.contains("No timeline"));
        assert!(page.contains("No latency distribution"));
        assert!(chart_ids(&page).is_empty());
    }

    #[test]
    fn the_page_is_self_contained() {
        let page = html(&testdata::scenario_run());
        for forbidden in ["http://", "https://", "src=", "<link", "@import", "url("] {
            let outside_data = page.replace("http://127.0.0.1:8080/", "");
            assert!(
                !outside_data.contains(forbidden),
                "the page refers to {forbidden}"
            );
        }
        assert!(!assets::PAGE_JS.contains("</script") && !assets::PAGE_CSS.contains("</style"));
        if let Some((js, css)) = assets::uplot() {
            assert!(!js.contains("</script") && !css.contains("</style"));
        }
    }

    use super::super::assets;
}
