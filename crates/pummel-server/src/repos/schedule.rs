//! Cron schedules of repository tests: five fields (minute hour day month
//! weekday) or six with seconds first, in UTC.

use chrono::{DateTime, TimeZone as _, Utc};
use croner::Cron;

/// Parses a cron expression; the message says what is wrong.
pub(crate) fn parse(expr: &str) -> Result<Cron, String> {
    Cron::new(expr)
        .with_seconds_optional()
        .parse()
        .map_err(|e| e.to_string())
}

/// Whether `cron` has an instant in `(after, until]` (Unix seconds).
pub(crate) fn due(cron: &Cron, after: i64, until: i64) -> bool {
    let Some(from) = Utc.timestamp_opt(after, 0).single() else {
        return false;
    };
    next(cron, &from).is_some_and(|t| t.timestamp() <= until)
}

fn next(cron: &Cron, from: &DateTime<Utc>) -> Option<DateTime<Utc>> {
    cron.find_next_occurrence(from, false).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nightly_and_every_few_seconds() {
        let nightly = parse("0 3 * * *").unwrap();
        // 2026-01-01T02:59:00Z .. 03:00:00Z holds 03:00.
        assert!(due(&nightly, 1_767_236_340, 1_767_236_400));
        assert!(!due(&nightly, 1_767_236_400, 1_767_236_460));
        let often = parse("*/2 * * * * *").unwrap();
        assert!(due(&often, 1_767_236_400, 1_767_236_402));
        assert!(parse("61 * * * *").is_err());
    }
}
