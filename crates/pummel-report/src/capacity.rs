//! Where a cycles run saturates: the concurrency beyond which adding users
//! stops adding throughput.
//!
//! Funkload's capacity test raises the number of users cycle by cycle; while
//! the service keeps up, throughput grows in proportion to the users
//! (latency stays flat); once it saturates, throughput flattens and latency
//! climbs instead (Little's law: users = throughput × time in system). The
//! knee is where a step up in users gains less than half of the throughput
//! it would have gained in proportion — robust to the noise of short cycles,
//! and the point a reader sees on the capacity chart.

use pummel_result::result::CycleResult;

/// A step up in users saturates when it yields less than this share of the
/// proportional throughput gain.
const SCALING_FLOOR: f64 = 0.5;

/// What the cycles say about capacity.
#[derive(Clone, Debug, PartialEq)]
pub struct Capacity {
    /// The cycle with the highest throughput.
    pub peak_level: u32,
    pub peak_rps: f64,
    /// The last level that still scaled, when a later one did not.
    pub saturation: Option<Saturation>,
}

/// The first step up in users that did not pay off.
#[derive(Clone, Debug, PartialEq)]
pub struct Saturation {
    /// The last level that scaled.
    pub level: u32,
    /// The next level, which did not.
    pub next_level: u32,
    /// Throughput change from `level` to `next_level`, in percent.
    pub rps_change_pct: f64,
    /// What a proportional increase would have been, in percent.
    pub ideal_change_pct: f64,
    /// p95 at `level` and at `next_level`, ms.
    pub p95_ms: (f64, f64),
}

impl Capacity {
    /// One sentence for a report.
    pub fn describe(&self) -> String {
        use crate::format;
        match &self.saturation {
            Some(s) => format!(
                "Saturates at about {} VUs: going to {} VUs changed throughput by {:+.0}% \
                 (in proportion it would be {:+.0}%) while p95 went from {} to {}. \
                 Peak throughput {} req/s at {} VUs.",
                s.level,
                s.next_level,
                s.rps_change_pct,
                s.ideal_change_pct,
                format::ms(s.p95_ms.0),
                format::ms(s.p95_ms.1),
                format::rate(self.peak_rps),
                self.peak_level
            ),
            None => format!(
                "Throughput kept growing with the users: no saturation up to {} VUs \
                 (peak {} req/s). Try higher levels to find the limit.",
                self.peak_level,
                format::rate(self.peak_rps)
            ),
        }
    }
}

/// Analyses the cycles (in the order run); `None` for fewer than one cycle.
pub fn analyse(cycles: &[CycleResult]) -> Option<Capacity> {
    let peak = cycles.iter().max_by(|a, b| a.rps.total_cmp(&b.rps))?;
    let mut saturation = None;
    for w in cycles.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if b.level <= a.level || a.level == 0 || a.rps <= 0.0 {
            continue;
        }
        let ideal = f64::from(b.level) / f64::from(a.level) - 1.0;
        let actual = b.rps / a.rps - 1.0;
        if actual < SCALING_FLOOR * ideal {
            saturation = Some(Saturation {
                level: a.level,
                next_level: b.level,
                rps_change_pct: actual * 100.0,
                ideal_change_pct: ideal * 100.0,
                p95_ms: (a.latency_ms.p95, b.latency_ms.p95),
            });
            break;
        }
    }
    Some(Capacity {
        peak_level: peak.level,
        peak_rps: peak.rps,
        saturation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_knee() {
        let r = crate::testdata::cycles_run();
        let c = analyse(&r.cycles).unwrap();
        assert_eq!((c.peak_level, c.peak_rps), (16, 800.0));
        let s = c.saturation.clone().unwrap();
        assert_eq!((s.level, s.next_level), (8, 16));
        assert!((s.ideal_change_pct - 100.0).abs() < 1e-9);
        assert!(
            c.describe().starts_with("Saturates at about 8 VUs"),
            "{}",
            c.describe()
        );
    }

    #[test]
    fn scaling_all_the_way_is_no_saturation() {
        let mut r = crate::testdata::cycles_run();
        r.cycles[3].rps = 1550.0;
        let c = analyse(&r.cycles).unwrap();
        assert_eq!(c.saturation, None);
        assert!(c.describe().contains("no saturation up to 16 VUs"));
        assert_eq!(analyse(&[]), None);
    }
}
