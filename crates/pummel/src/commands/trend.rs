//! `pummel trend A.json B.json …`: key figures over several results, oldest
//! first, as a table (and with `--html`, charts).

use pummel_report::trend;

use crate::cli::TrendArgs;
use crate::exit::{self, Failure};
use crate::output::destinations;

pub(super) fn run(args: &TrendArgs) -> Result<i32, Failure> {
    let inputs: Vec<(&str, &std::path::Path)> = args
        .results
        .iter()
        .map(|p| ("the result", p.as_path()))
        .collect();
    let written: Vec<_> = args.html.iter().map(|p| ("--html", p.clone())).collect();
    destinations::check_distinct(&inputs, &written)?;
    let mut results = Vec::with_capacity(args.results.len());
    for path in &args.results {
        results.push((super::compare::label(path), super::report::read(path)?));
    }
    let t = trend::trend(&results, args.apdex_t.as_secs_f64() * 1000.0);
    destinations::print(&trend::render_text(&t))?;
    if let Some(path) = &args.html {
        let titles: Vec<String> = results
            .iter()
            .map(|(_, r)| pummel_report::title(r))
            .collect();
        let title = if titles.windows(2).all(|w| w[0] == w[1]) {
            format!("{} — trend over {} runs", titles[0], titles.len())
        } else {
            format!("Trend over {} runs", titles.len())
        };
        let html =
            pummel_report::html::trend(&t, &title).map_err(|e| Failure::runtime(e.to_string()))?;
        destinations::write_to(path, &html)?;
    }
    Ok(exit::SUCCESS)
}
