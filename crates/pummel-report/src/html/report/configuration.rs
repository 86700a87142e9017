//! The configuration the run was made with, and what the result file is.

use pummel_result::result::RunResult;

use crate::format;
use crate::html::page::{render, Cell, Col, Table};

const COLS: [Col<'static>; 2] = [Col::Text("setting"), Col::Text("value")];

pub(super) fn section(r: &RunResult) -> String {
    let text = |s: &str| Cell::Text(s.to_owned());
    let mut rows = vec![
        vec![text("kind"), text(&r.kind)],
        vec![text("started"), text(&r.started_at)],
        vec![text("duration"), Cell::Text(format::seconds(r.duration_s))],
    ];
    if let Some(map) = r.config.as_object() {
        for (key, value) in map {
            // The load model and scenarios in words; any other value (or a
            // shape this version does not know) as it is.
            let humane = match key.as_str() {
                "load" => super::load_model::describe(value),
                "scenarios" => super::load_model::scenarios(value),
                _ => None,
            };
            if let Some(words) = humane {
                rows.push(vec![text(key), Cell::Text(words)]);
                continue;
            }
            let shown = match value {
                serde_json::Value::Null => continue,
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            rows.push(vec![text(key), Cell::Code(shown)]);
        }
    }
    rows.push(vec![
        text("bytes received / sent"),
        Cell::Text(format!(
            "{} / {}",
            format::bytes(r.bytes_received),
            format::bytes(r.bytes_sent)
        )),
    ]);
    let cut = r.requests_cut();
    if cut > 0 {
        rows.push(vec![
            text("requests cut at the end"),
            Cell::Text(format::count(cut)),
        ]);
    }
    rows.push(vec![
        text("result"),
        Cell::Text(format!("schema {} · pummel {}", r.schema, r.pummel_version)),
    ]);
    render(&Table::new("config", &COLS, rows))
}
