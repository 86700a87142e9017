//! Number formatting for humans.

/// `1234567` → `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A latency in milliseconds, with a unit that keeps 3–4 significant digits.
pub(crate) fn latency(ms: f64) -> String {
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

/// A byte count in binary units.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A rate with thousands separators and one decimal.
pub(crate) fn rate(per_s: f64) -> String {
    let whole = per_s.max(0.0).trunc() as u64;
    let tenth = ((per_s.max(0.0) - whole as f64) * 10.0).round().min(9.0) as u64;
    format!("{}.{}", thousands(whole), tenth)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(latency(0.412), "412µs");
        assert_eq!(latency(1.234), "1.23ms");
        assert_eq!(latency(12.34), "12.3ms");
        assert_eq!(latency(1900.0), "1900ms");
        assert_eq!(latency(12_000.0), "12.00s");
        assert_eq!(bytes(100), "100 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(rate(1234.56), "1,234.6");
    }
}
