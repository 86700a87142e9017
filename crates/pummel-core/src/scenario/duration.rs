//! Durations as scenario files write them: `250ms`, `1.5s`, `2m`, `1h30m`,
//! and think-time ranges `1s..3s`.
//!
//! A unit is always required: a bare `5` could be seconds or milliseconds,
//! and guessing wrong silently changes a test by a factor of a thousand.

use std::fmt;
use std::time::Duration;

/// Parses a duration such as `250ms`, `1.5s`, `2m` or `1h30m`.
///
/// Units: `us` (microseconds), `ms`, `s`, `m`, `h`. Components may be
/// repeated (`1m30s`) and may have a fraction (`0.5s`).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let s = text.trim();
    let fail = |kind| DurationError {
        text: s.to_owned(),
        kind,
    };
    if s.is_empty() {
        return Err(fail(DurationErrorKind::Empty));
    }
    let bad = || fail(DurationErrorKind::Invalid);
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = rest[digits..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" if digits == s.len() => {
                return Err(fail(DurationErrorKind::NoUnit));
            }
            _ => return Err(bad()),
        };
        total += number * seconds;
        rest = rest[unit_len..].trim_start();
    }
    // A year is far beyond any load test; it also keeps the float exact
    // enough and the conversion below from overflowing.
    if !total.is_finite() || total > 365.0 * 86400.0 {
        return Err(fail(DurationErrorKind::TooLong));
    }
    Ok(Duration::from_secs_f64(total))
}

/// A duration or think time that could not be read: the text, and what is
/// wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DurationError {
    /// The text as written (a duration's trimmed; a think range's whole).
    text: String,
    kind: DurationErrorKind,
}

/// What is wrong with a duration's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum DurationErrorKind {
    /// Nothing but whitespace.
    Empty,
    /// Not a sequence of numbers with units.
    Invalid,
    /// A bare number: seconds or milliseconds would be a guess.
    NoUnit,
    /// More than a year.
    TooLong,
    /// A think range whose first bound is larger than its second.
    BackwardsRange,
}

impl std::error::Error for DurationError {}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.text;
        match self.kind {
            DurationErrorKind::Empty => f.write_str("expected a duration such as 500ms, 2s or 1m"),
            DurationErrorKind::Invalid => write!(
                f,
                "invalid duration {s:?}: expected a number and a unit (us, ms, s, m, h), e.g. 500ms or 1m30s"
            ),
            DurationErrorKind::NoUnit => write!(f, "duration {s:?} has no unit: write {s}s or {s}ms"),
            DurationErrorKind::TooLong => write!(f, "duration {s:?} is too long"),
            DurationErrorKind::BackwardsRange => write!(
                f,
                "think range {s:?} goes backwards: write the smaller bound first"
            ),
        }
    }
}

/// A think time (a pause): fixed, or drawn uniformly from a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Think {
    Fixed(Duration),
    /// `min..max`, both inclusive; `min <= max`.
    Range(Duration, Duration),
}

impl Think {
    /// Parses `1s` or `500ms..2s`.
    pub(crate) fn parse(text: &str) -> Result<Think, DurationError> {
        match text.split_once("..") {
            None => parse_duration(text).map(Think::Fixed),
            Some((a, b)) => {
                let (min, max) = (parse_duration(a)?, parse_duration(b)?);
                if min > max {
                    return Err(DurationError {
                        text: text.to_owned(),
                        kind: DurationErrorKind::BackwardsRange,
                    });
                }
                Ok(Think::Range(min, max))
            }
        }
    }

    /// The pause to take now.
    pub(crate) fn sample(&self) -> Duration {
        match *self {
            Think::Fixed(d) => d,
            Think::Range(min, max) => {
                let span = (max - min).as_nanos().min(u128::from(u64::MAX)) as u64;
                min + Duration::from_nanos(fastrand::u64(0..=span))
            }
        }
    }

    /// The longest pause this can take.
    #[cfg(test)]
    pub(crate) fn max(&self) -> Duration {
        match *self {
            Think::Fixed(d) | Think::Range(_, d) => d,
        }
    }
}

impl fmt::Display for Think {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Think::Fixed(d) => write!(f, "{}", format_duration(*d)),
            Think::Range(a, b) => write!(f, "{}..{}", format_duration(*a), format_duration(*b)),
        }
    }
}

/// A duration in the same notation the parser reads: `250ms`, `1.5s`, `2m`.
pub(crate) fn format_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    let ms = d.as_nanos() as f64 / 1e6;
    if d.is_zero() {
        "0s".into()
    } else if ms < 1.0 {
        format!("{}us", trim(d.as_nanos() as f64 / 1e3))
    } else if secs < 1.0 {
        format!("{}ms", trim(ms))
    } else if secs < 60.0 || secs % 60.0 != 0.0 {
        format!("{}s", trim(secs))
    } else if secs % 3600.0 != 0.0 {
        format!("{}m", trim(secs / 60.0))
    } else {
        format!("{}h", trim(secs / 3600.0))
    }
}

fn trim(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_fractions_and_compounds() {
        let ms = |n| Duration::from_millis(n);
        assert_eq!(parse_duration("250ms").unwrap(), ms(250));
        assert_eq!(parse_duration("1.5s").unwrap(), ms(1500));
        assert_eq!(parse_duration("2m").unwrap(), ms(120_000));
        assert_eq!(parse_duration("1h30m").unwrap(), ms(5_400_000));
        assert_eq!(parse_duration("1m 30s").unwrap(), ms(90_000));
        assert_eq!(parse_duration("750us").unwrap(), Duration::from_micros(750));
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
    }

    #[test]
    fn rejects_bad_durations_with_reasons() {
        assert!(parse_duration("5")
            .unwrap_err()
            .to_string()
            .contains("no unit"));
        for bad in [
            "",
            "s",
            "5 parsecs",
            "-1s",
            "1..2s",
            "ms5",
            "9999999h",
            "1e3s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn think_ranges() {
        assert_eq!(
            Think::parse("1s").unwrap(),
            Think::Fixed(Duration::from_secs(1))
        );
        let t = Think::parse("100ms..300ms").unwrap();
        for _ in 0..100 {
            let d = t.sample();
            assert!(d >= Duration::from_millis(100) && d <= Duration::from_millis(300));
        }
        assert_eq!(t.max(), Duration::from_millis(300));
        assert!(Think::parse("3s..1s")
            .unwrap_err()
            .to_string()
            .contains("backwards"));
        assert!(Think::parse("1s..").is_err());
        assert_eq!(t.to_string(), "100ms..300ms");
    }

    #[test]
    fn formats_round_trip() {
        for s in ["250ms", "1.5s", "2m", "1h", "90s", "750us", "0s"] {
            assert_eq!(format_duration(parse_duration(s).unwrap()), s);
        }
    }
}
