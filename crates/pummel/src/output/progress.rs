//! The live progress line, redrawn once a second on a terminal.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use pummel_core::Progress;

use pummel_report::format;

pub(crate) struct ProgressLine {
    enabled: bool,
    planned: Option<Duration>,
    drawn: bool,
}

impl ProgressLine {
    /// A line drawn only when a person watches: stdout and stderr both on a
    /// terminal (in a pipe or a log, carriage returns and escapes would
    /// corrupt the output).
    pub(crate) fn on_terminal(planned: Option<Duration>) -> ProgressLine {
        ProgressLine {
            enabled: std::io::stdout().is_terminal() && std::io::stderr().is_terminal(),
            planned,
            drawn: false,
        }
    }

    pub(crate) fn update(&mut self, p: &Progress<'_>) {
        if !self.enabled {
            return;
        }
        let elapsed = match self.planned {
            Some(total) => format!(
                "{:>4.0}s/{:.0}s",
                p.elapsed.as_secs_f64(),
                total.as_secs_f64()
            ),
            None => format!("{:>4.0}s", p.elapsed.as_secs_f64()),
        };
        let mut levels = String::new();
        for (name, label) in [("vus", "VUs"), ("sockets", "sockets")] {
            if let Some(level) = p.last.gauges.get(name) {
                levels.push_str(&format!("  {} {label}", format::count(*level)));
            }
        }
        let line = format!(
            "[{elapsed}]{levels}  {} requests  {} req/s  {} errors  p50 {}  p99 {}",
            format::count(p.totals.requests()),
            format::rate_tenths(p.last.rps),
            format::count(p.totals.errors.total()),
            format::ms_compact(p.totals.latency.quantile_ms(0.50)),
            format::ms_compact(p.totals.latency.quantile_ms(0.99)),
        );
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        self.drawn = true;
    }

    /// Erases the line before the summary is printed.
    pub(crate) fn clear(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.drawn = false;
        }
    }
}
