//! A WebSocket run's connections and messages.

use pummel_result::result::RunResult;

use crate::format;
use crate::html::page::{render, Cell, Col, Table};

const COLS: [Col<'static>; 2] = [Col::Text(""), Col::Num("")];

/// The section's HTML, when the run opened WebSockets.
pub(super) fn section(r: &RunResult) -> Option<String> {
    let ws = r.websocket.as_ref()?;
    let pair = |label: &str, value: String| vec![Cell::Text(label.to_owned()), Cell::Text(value)];
    let mut rows = vec![
        pair("connection attempts", format::count(ws.connects)),
        pair("connected", format::count(ws.connected)),
        pair(
            "connect p50 / p99",
            format!(
                "{} / {}",
                format::ms(ws.connect_ms.p50),
                format::ms(ws.connect_ms.p99)
            ),
        ),
        pair(
            "open at the end / most open",
            format!(
                "{} / {}",
                format::count(ws.open_at_end),
                format::count(ws.open_max)
            ),
        ),
        pair(
            "messages sent / replies",
            format!(
                "{} / {}",
                format::count(ws.messages_sent),
                format::count(ws.messages_received)
            ),
        ),
    ];
    for (kind, n) in &ws.connect_errors {
        rows.push(vec![
            Cell::LabelCode("connect failed: ", kind.clone()),
            Cell::Text(format::count(*n)),
        ]);
    }
    Some(render(&Table::new("websocket", &COLS, rows)))
}
