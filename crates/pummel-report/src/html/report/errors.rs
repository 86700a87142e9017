//! Status codes and errors: responses per status, failures per kind and per
//! step, and the examples the engine kept.

use askama::Template;
use pummel_result::result::RunResult;
use pummel_result::ErrorKind;

use super::step_name;
use crate::figures::{Figures, Scope};
use crate::html::page::{render, Bar, Cell, Col, Table};
use crate::{failures, format};

#[derive(Template)]
#[template(path = "report/errors.html")]
struct Errors<'a> {
    status: Option<Table<'a>>,
    kinds: Option<Table<'a>>,
    by_step: Option<Table<'a>>,
    failures: Option<Table<'a>>,
}

pub(super) fn section(r: &RunResult, run: &Figures) -> String {
    render(&Errors {
        status: status(r),
        kinds: kinds(r, run),
        by_step: by_step(r),
        failures: examples(r),
    })
}

fn status_class(code: &str) -> &'static str {
    match code.as_bytes().first() {
        Some(b'2') => "good",
        Some(b'3') => "info",
        Some(b'4') => "warn",
        Some(b'5') => "bad",
        _ => "",
    }
}

const STATUS_COLS: [Col<'static>; 3] = [
    Col::Text("status"),
    Col::Num("responses"),
    Col::Num("share"),
];

fn status(r: &RunResult) -> Option<Table<'static>> {
    let responses = r.responses.max(1) as f64;
    let rows: Vec<Vec<Cell>> = r
        .status
        .iter()
        .map(|(code, n)| {
            let share = *n as f64 / responses;
            vec![
                Cell::Pill(status_class(code), code.clone()),
                Cell::Text(format::count(*n)),
                Cell::Share(Bar::new(share, status_class(code)), format::percent(share)),
            ]
        })
        .collect();
    (!rows.is_empty()).then(|| Table::new("status", &STATUS_COLS, rows))
}

const KIND_COLS: [Col<'static>; 4] = [
    Col::Text("kind"),
    Col::Text("meaning"),
    Col::Num("requests"),
    Col::Num("share"),
];

fn kinds(r: &RunResult, run: &Figures) -> Option<Table<'static>> {
    let requests = r.requests.max(1) as f64;
    let mut rows: Vec<Vec<Cell>> = r
        .errors
        .iter()
        .map(|(kind, n)| {
            let description = ErrorKind::from_key(kind).map_or("", ErrorKind::describe);
            vec![
                Cell::Code(kind.clone()),
                Cell::Text(description.to_owned()),
                Cell::Text(format::count(*n)),
                Cell::Text(format::percent(*n as f64 / requests)),
            ]
        })
        .collect();
    if run.error_statuses > 0 {
        rows.push(vec![
            Cell::Code("status ≥ 400".to_owned()),
            Cell::Text("a response with an error status".to_owned()),
            Cell::Text(format::count(run.error_statuses)),
            Cell::Text(format::percent(run.error_statuses as f64 / requests)),
        ]);
    }
    (!rows.is_empty()).then(|| Table::new("errors", &KIND_COLS, rows))
}

const STEP_COLS: [Col<'static>; 4] = [
    Col::Text("scenario"),
    Col::Text("step"),
    Col::Text("no response"),
    Col::Text("error statuses"),
];

fn by_step(r: &RunResult) -> Option<Table<'static>> {
    let rows: Vec<Vec<Cell>> = r
        .steps
        .iter()
        .filter_map(|s| {
            let statuses = crate::figures::error_statuses(&s.status);
            let kinds: Vec<String> = s
                .errors
                .iter()
                .map(|(k, n)| format!("{k} × {}", format::count(*n)))
                .collect();
            let bad_codes: Vec<String> = s
                .status
                .iter()
                .filter(|(c, _)| c.parse::<u16>().is_ok_and(|c| c >= 400))
                .map(|(c, n)| format!("{c} × {}", format::count(*n)))
                .collect();
            (statuses > 0 || !kinds.is_empty()).then(|| {
                let (scenario, name) = step_name(&Scope::Step {
                    scenario: s.scenario.clone(),
                    name: s.name.clone(),
                    global: s.global.clone(),
                });
                vec![
                    Cell::Text(scenario),
                    Cell::Text(name),
                    Cell::Text(kinds.join(", ")),
                    Cell::Text(bad_codes.join(", ")),
                ]
            })
        })
        .collect();
    (!rows.is_empty()).then(|| Table::new("step-errors", &STEP_COLS, rows))
}

const FAILURE_COLS: [Col<'static>; 4] = [
    Col::Num("examples"),
    Col::Text("where"),
    Col::Text("what"),
    Col::Text("first message"),
];

fn examples(r: &RunResult) -> Option<Table<'static>> {
    let rows: Vec<Vec<Cell>> = failures::examples(r)
        .iter()
        .map(|e| {
            vec![
                Cell::Text(format!("{}×", e.count)),
                Cell::Code(e.place.clone()),
                Cell::Text(e.what.clone()),
                Cell::Text(e.message.clone()),
            ]
        })
        .collect();
    (!rows.is_empty()).then(|| Table::new("failures", &FAILURE_COLS, rows))
}
