//! The runner protocol's messages (docs/runner-protocol.md), version 1:
//! JSON, one message a line, over the runner process's stdin (pummel →
//! runner) and stdout (runner → pummel).

use std::borrow::Cow;

use serde::Deserialize;

/// The protocol version this engine speaks.
pub(super) const VERSION: u64 = 1;

/// A line from a runner longer than this is not read: it counts as a
/// protocol failure (a runner flooding its output), not as a message.
pub(super) const MAX_LINE: usize = 1 << 20;

/// The runner's first line.
#[derive(Debug, Deserialize)]
pub(super) struct Hello {
    pub(super) pummel_runner: u64,
    #[serde(default)]
    pub(super) client: Option<String>,
}

/// One message from a runner after its hello.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum Message<'a> {
    #[serde(borrow)]
    Hit(Hit<'a>),
    #[serde(borrow)]
    Check(CheckResult<'a>),
    #[serde(borrow)]
    Metric(MetricValue<'a>),
    #[serde(borrow)]
    Log(Log<'a>),
    #[serde(borrow)]
    End(End<'a>),
    Retired(Retired),
}

/// One request the runner made (or tried to).
#[derive(Debug, Deserialize)]
pub(super) struct Hit<'a> {
    pub(super) vu: u64,
    pub(super) iteration: u64,
    #[serde(borrow)]
    pub(super) name: Cow<'a, str>,
    /// On pummel's clock: nanoseconds from the clock origin (see `start`).
    pub(super) start: u64,
    /// Nanoseconds.
    pub(super) duration: u64,
    #[serde(default)]
    pub(super) status: Option<u16>,
    #[serde(default)]
    pub(super) bytes_sent: u64,
    #[serde(default)]
    pub(super) bytes_received: u64,
    /// A named error kind (`connect_refused`, `timeout`, …): no response.
    #[serde(default, borrow)]
    pub(super) error: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct CheckResult<'a> {
    #[serde(borrow)]
    pub(super) step: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) name: Cow<'a, str>,
    pub(super) ok: bool,
}

#[derive(Debug, Deserialize)]
pub(super) struct MetricValue<'a> {
    #[serde(borrow)]
    pub(super) name: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) kind: Cow<'a, str>,
    pub(super) value: f64,
}

#[derive(Debug, Deserialize)]
pub(super) struct Log<'a> {
    #[serde(borrow)]
    pub(super) message: Cow<'a, str>,
}

/// An iteration ended: `ok`, or stopped by `error` (an assertion, an
/// exception).
#[derive(Debug, Deserialize)]
pub(super) struct End<'a> {
    pub(super) vu: u64,
    pub(super) iteration: u64,
    pub(super) ok: bool,
    #[serde(default, borrow)]
    pub(super) error: Option<Cow<'a, str>>,
}

/// The runner let go of a VU pummel retired.
#[derive(Debug, Deserialize)]
pub(super) struct Retired {
    pub(super) vu: u64,
}

/// pummel's hello: the version, and its clock reading as it writes it.
pub(super) fn hello(clock_ns: u64, iteration_timeout_ms: u128) -> String {
    format!(
        "{{\"pummel_runner\":{VERSION},\"clock\":{clock_ns},\"iteration_timeout_ms\":{iteration_timeout_ms}}}\n"
    )
}

/// Start iteration `iteration` on VU `vu`, scheduled at `scheduled` (on
/// pummel's clock) in an open model.
pub(super) fn start(vu: u64, iteration: u64, scheduled: Option<u64>) -> String {
    match scheduled {
        Some(at) => {
            format!("{{\"start\":{{\"vu\":{vu},\"iteration\":{iteration},\"scheduled\":{at}}}}}\n")
        }
        None => format!("{{\"start\":{{\"vu\":{vu},\"iteration\":{iteration}}}}}\n"),
    }
}

/// Let go of VU `vu`: pummel no longer counts on it (it hung, or the load
/// model retired it).
pub(super) fn retire(vu: u64) -> String {
    format!("{{\"retire\":{{\"vu\":{vu}}}}}\n")
}

/// Finish: start no iteration, end the process.
pub(super) const STOP: &str = "{\"stop\":{}}\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_parse_with_and_without_optional_fields() {
        let line = r#"{"hit":{"vu":3,"iteration":17,"name":"buy \"now\"","start":12,"duration":34,"status":201,"bytes_sent":5,"bytes_received":6}}"#;
        let Ok(Message::Hit(h)) = serde_json::from_str::<Message<'_>>(line) else {
            panic!("not a hit: {line}");
        };
        assert_eq!((h.vu, h.iteration, h.status), (3, 17, Some(201)));
        assert_eq!(h.name, "buy \"now\"");
        let line = r#"{"hit":{"vu":1,"iteration":0,"name":"x","start":0,"duration":1,"error":"connect_refused"}}"#;
        let Ok(Message::Hit(h)) = serde_json::from_str::<Message<'_>>(line) else {
            panic!("not a hit: {line}");
        };
        assert_eq!(h.error.as_deref(), Some("connect_refused"));
    }

    #[test]
    fn garbage_and_unknown_messages_are_refused() {
        for line in [
            "hello",
            "{}",
            r#"{"shout":{}}"#,
            r#"{"end":{"vu":1}}"#,
            "[1,2]",
        ] {
            assert!(serde_json::from_str::<Message<'_>>(line).is_err(), "{line}");
        }
    }

    #[test]
    fn pummel_messages_are_json_lines() {
        for line in [
            hello(5, 1000),
            start(1, 2, Some(3)),
            start(1, 2, None),
            retire(4),
        ] {
            assert!(line.ends_with('\n'));
            assert!(
                serde_json::from_str::<serde_json::Value>(&line).is_ok(),
                "{line}"
            );
        }
    }
}
