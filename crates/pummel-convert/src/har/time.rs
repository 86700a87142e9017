//! `startedDateTime` (ISO 8601, as HAR requires) to milliseconds since the Unix epoch: only the
//! differences between entries matter, for think times.

/// `2026-12-02T00:55:31.123Z` or `…+01:00` → milliseconds since the epoch; `None` if malformed.
pub(crate) fn parse_millis(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, rest) = s.split_once('T')?;
    let mut d = date.split('-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: i64 = d.next()?.parse().ok()?;
    let day: i64 = d.next()?.parse().ok()?;
    // The offset: `Z`, `+hh:mm` or `-hh:mm` after the time.
    let (time, offset_minutes) =
        if let Some(t) = rest.strip_suffix('Z').or_else(|| rest.strip_suffix('z')) {
            (t, 0)
        } else if let Some(i) = rest.rfind(['+', '-']) {
            let (t, off) = rest.split_at(i);
            let sign = if off.starts_with('-') { -1 } else { 1 };
            let off = &off[1..];
            let (h, m) = off
                .split_once(':')
                .unwrap_or((off.get(..2)?, off.get(2..).unwrap_or("0")));
            (
                t,
                sign * (h.parse::<i64>().ok()? * 60 + m.parse::<i64>().ok()?),
            )
        } else {
            (rest, 0)
        };
    let mut t = time.split(':');
    let hour: i64 = t.next()?.parse().ok()?;
    let minute: i64 = t.next()?.parse().ok()?;
    let seconds: f64 = t.next().unwrap_or("0").parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 - offset_minutes * 60;
    // Whole milliseconds are all a think time needs.
    #[expect(
        clippy::cast_possible_truncation,
        reason = "seconds within a minute, in ms"
    )]
    let millis = (seconds * 1000.0).round() as i64;
    Some(secs * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times() {
        assert_eq!(parse_millis("1970-01-01T00:00:01.500Z"), Some(1500));
        assert_eq!(
            parse_millis("2026-12-02T01:00:00.000+01:00"),
            parse_millis("2026-12-02T00:00:00Z")
        );
        assert_eq!(parse_millis("2000-03-01T00:00:00Z"), Some(951_868_800_000));
        assert_eq!(parse_millis("yesterday"), None);
    }
}
