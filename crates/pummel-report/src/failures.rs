//! The failure examples of a result (`failures[]`), grouped.
//!
//! The engine keeps the first few messages of failed checks and aborted
//! iterations as `WHERE: WHAT: MESSAGE` (`checkout/pay: status 200: status
//! 503, expected 200`). The same failure usually repeats, often with a
//! different detail each time (`took 86.8ms, expected at most 85ms`), so
//! reports show each place and kind of failure once — its first message as
//! the example — with how many of the kept examples it accounts for.

use pummel_result::result::RunResult;

/// One place and kind of failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Example {
    /// The step (`scenario/step`) or scenario where it happened.
    pub place: String,
    /// The check's label, `iteration aborted`, `render` …; empty when the
    /// message had no such part.
    pub what: String,
    /// The first message of this place and kind.
    pub message: String,
    /// How many of the kept examples are of this place and kind.
    pub count: usize,
}

/// Splits and groups the examples, in order of first appearance.
pub fn examples(r: &RunResult) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    for text in &r.failures {
        let mut parts = text.splitn(3, ": ");
        let (place, what, message) = match (parts.next(), parts.next(), parts.next()) {
            (Some(p), Some(w), Some(m)) => (p, w, m),
            _ => ("", "", text.as_str()),
        };
        let same = |e: &&mut Example| {
            e.place == place && e.what == what && (!what.is_empty() || e.message == message)
        };
        match out.iter_mut().find(same) {
            Some(e) => e.count += 1,
            None => out.push(Example {
                place: place.to_owned(),
                what: what.to_owned(),
                message: message.to_owned(),
                count: 1,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_repeated_messages() {
        let ex = examples(&crate::testdata::scenario_run());
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].place, "/status/503");
        assert_eq!(ex[0].what, "status 200");
        assert_eq!(ex[0].message, "status 503, expected 200");
        assert_eq!(ex[0].count, 2);
        assert_eq!(ex[1].what, "");
        assert_eq!(
            ex[1].message,
            "/delay/5000: timeout <after 5s> & \"quoted\""
        );
        let mut odd = crate::testdata::minimal();
        odd.failures = vec![
            "no separators here".into(),
            "/s: max_time 85ms: took 86ms".into(),
            "/s: max_time 85ms: took 91ms".into(),
            "nor here".into(),
        ];
        let ex = examples(&odd);
        assert_eq!(ex.len(), 3);
        assert_eq!(ex[0].message, "no separators here");
        assert_eq!((ex[1].message.as_str(), ex[1].count), ("took 86ms", 2));
    }
}
