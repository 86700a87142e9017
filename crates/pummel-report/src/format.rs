//! How numbers look in reports: one place, so the HTML page, the Markdown
//! comment and the terminal tables say `12.3 ms` the same way.
//!
//! Figures are rounded to what is worth reading (three significant digits
//! for latencies, which is also the histograms' precision) while the CSV and
//! JSON keep every digit.

/// A latency in milliseconds: `850 µs`, `12.3 ms`, `1.24 s`.
pub fn ms(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_owned();
    }
    let a = v.abs();
    if a == 0.0 {
        "0 ms".to_owned()
    } else if a < 1.0 {
        format!("{} µs", sig3(v * 1000.0))
    } else if a < 1000.0 {
        format!("{} ms", sig3(v))
    } else {
        format!("{} s", sig3(v / 1000.0))
    }
}

/// Three significant digits, without a trailing `.0`: `0.0123`, `1.23`, `123`, `1234`.
pub fn sig3(v: f64) -> String {
    let a = v.abs();
    let decimals = if a >= 100.0 || a == 0.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        // 0.0123 → 4 decimals
        (2 - a.log10().floor() as i32).clamp(0, 9) as usize
    };
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// A custom metric's value as kept (to the thousandth), without trailing
/// zeros: `12.5`, `3`, `0.001`.
pub fn thousandths(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// An integer with thousands separators: `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let head = match digits.len() % 3 {
        0 => 3.min(digits.len()),
        short => short,
    };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    out.push_str(&digits[..head]);
    for group in digits.as_bytes()[head..].chunks(3) {
        out.push(',');
        out.extend(group.iter().map(|b| char::from(*b)));
    }
    out
}

/// A rate per second: `1,234`, `56.7`, `0.5`.
pub fn rate(v: f64) -> String {
    if !v.is_finite() {
        "–".to_owned()
    } else if v.abs() >= 1000.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        format!("{sign}{}", count(v.abs().round() as u64))
    } else {
        sig3(v)
    }
}

/// A fraction as a percentage: `0.1234` → `12.34%`; tiny non-zero values
/// keep a visible digit (`0.004%`), so a single failure never shows as 0.
pub fn percent(fraction: f64) -> String {
    if !fraction.is_finite() {
        return "–".to_owned();
    }
    let p = fraction * 100.0;
    if p == 0.0 {
        "0%".to_owned()
    } else if p.abs() < 0.01 {
        format!("{}%", sig3(p))
    } else {
        format!("{p:.2}%")
    }
}

/// A relative change in percent, signed: `+12.3%`, `-4.0%`, `+∞`.
pub fn change(pct: Option<f64>) -> String {
    match pct {
        None => "new".to_owned(),
        Some(p) if p.is_infinite() => "+∞".to_owned(),
        Some(p) if p.abs() >= 100.0 => format!("{p:+.0}%"),
        Some(p) => format!("{p:+.1}%"),
    }
}

/// A byte count: `512 B`, `1.5 KiB`, `42.3 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// A duration in seconds: `950 ms`, `4.00 s`, `2m 30s`, `1h 05m`.
pub fn seconds(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "–".to_owned();
    }
    if s < 1.0 {
        return ms(s * 1000.0);
    }
    if s < 60.0 {
        return format!("{s:.2} s");
    }
    let total = s.round() as u64;
    let (h, m, sec) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 {
        format!("{h}h {m:02}m")
    } else {
        format!("{m}m {sec:02}s")
    }
}

/// An Apdex score: `0.94`; `–` when nothing was measured.
pub fn score(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.2}"))
}

/// A latency for a terminal column: no space before the unit and a fixed
/// number of decimals per range (`412µs`, `1.23ms`, `12.3ms`, `1900ms`,
/// `12.00s`), so a column of them lines up. The live progress line and the
/// text summary use it; the pages use [`ms`].
pub fn ms_compact(ms: f64) -> String {
    if ms >= 10_000.0 {
        format!("{:.2}s", ms / 1000.0)
    } else if ms >= 100.0 {
        format!("{ms:.0}ms")
    } else if ms >= 10.0 {
        format!("{ms:.1}ms")
    } else if ms >= 1.0 {
        format!("{ms:.2}ms")
    } else {
        format!("{:.0}µs", ms * 1000.0)
    }
}

/// A rate for a terminal column: thousands separators and always one
/// decimal (`1,234.6`, `2.0`); negative rates read as 0.
pub fn rate_tenths(per_s: f64) -> String {
    let whole = per_s.max(0.0).trunc() as u64;
    let tenth = ((per_s.max(0.0) - whole as f64) * 10.0).round().min(9.0) as u64;
    format!("{}.{}", count(whole), tenth)
}

/// A request count, with how many of them were retries when some were
/// (`12 (3 retries)`): a step with `retry:` sends more than it completes.
pub(crate) fn with_retries(requests: u64, retries: Option<u64>) -> String {
    match retries.filter(|n| *n > 0) {
        Some(1) => format!("{} (1 retry)", count(requests)),
        Some(n) => format!("{} ({} retries)", count(requests), count(n)),
        None => count(requests),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies() {
        assert_eq!(ms(0.0), "0 ms");
        assert_eq!(ms(0.085), "85 µs");
        assert_eq!(ms(0.0853), "85.3 µs");
        assert_eq!(ms(1.0), "1 ms");
        assert_eq!(ms(12.345), "12.3 ms");
        assert_eq!(ms(250.0), "250 ms");
        assert_eq!(ms(1234.0), "1.23 s");
        assert_eq!(ms(f64::NAN), "–");
    }

    #[test]
    fn numbers() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(rate(79007.9), "79,008");
        assert_eq!(rate(431.38), "431");
        assert_eq!(rate(0.5), "0.5");
        assert_eq!(sig3(0.0123), "0.0123");
        assert_eq!(sig3(5.0), "5");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(0.13868), "13.87%");
        assert_eq!(percent(0.00001), "0.001%");
        assert_eq!(change(Some(12.34)), "+12.3%");
        assert_eq!(change(Some(-250.0)), "-250%");
        assert_eq!(change(Some(f64::INFINITY)), "+∞");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(seconds(4.0011), "4.00 s");
        assert_eq!(seconds(150.0), "2m 30s");
        assert_eq!(seconds(3900.0), "1h 05m");
        assert_eq!(score(Some(0.937)), "0.94");
        assert_eq!(score(None), "–");
    }

    #[test]
    fn terminal_columns() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(ms_compact(0.412), "412µs");
        assert_eq!(ms_compact(1.234), "1.23ms");
        assert_eq!(ms_compact(12.34), "12.3ms");
        assert_eq!(ms_compact(1900.0), "1900ms");
        assert_eq!(ms_compact(12_000.0), "12.00s");
        assert_eq!(bytes(100), "100 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(rate_tenths(1234.56), "1,234.6");
    }
}
