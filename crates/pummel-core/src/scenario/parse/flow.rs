//! Flow-control steps and settings: `loop`, `if`/`else`, and a request
//! step's `retry` and `on_error` (also in `defaults`).

use crate::scenario::tags::Tags;
use std::time::Duration;

use super::decoder::{Decoder, Fields};
use crate::scenario::duration::Think;
use crate::scenario::flow::{
    OnError, Repeat, Retry, RetryOn, StepFlow, DEFAULT_WHILE_MAX, MAX_ATTEMPTS, MAX_LOOP_PASSES,
};
use crate::scenario::model::{IfStep, Loop, Step, StepKind};
use crate::scenario::template::{Condition, VarId};
use crate::scenario::yaml::{Kind, Node};
use crate::ErrorKind;

/// The backoff when `retry` sets none.
const DEFAULT_BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(2));

impl Decoder<'_> {
    /// A condition (`if:`, `while:`), its names located in the file.
    pub(super) fn condition(&mut self, node: &Node, what: &str) -> Option<Condition> {
        let text = self.scalar(node, what)?;
        match Condition::parse(&text) {
            Ok(mut c) => {
                let source = self.source;
                c.template_mut()
                    .bind(&mut |n| n.span = node.inner_span(source, n.start, n.end));
                Some(c)
            }
            Err(e) => {
                let span = node.inner_span(self.source, e.start, e.end);
                self.err(span, format!("{what}: {}", e.message));
                None
            }
        }
    }

    /// The steps of a block (`loop`, `if`, `else`), which may not be empty.
    fn block(&mut self, node: &Node, what: &str) -> Vec<Step> {
        if matches!(&node.kind, Kind::Seq(items) if items.is_empty()) {
            self.err(node.span, format!("{what} has no steps"));
        }
        self.decode_steps(node, what)
    }

    /// An `if:` step, with its `steps` and optional `else`.
    pub(super) fn if_step(&mut self, f: &Fields<'_>, node: &Node) -> Option<Step> {
        self.only_keys(f, "if", &["name", "if", "steps", "else"]);
        let condition = self.condition(node, "`if`");
        let then = match f.get("steps") {
            Some(n) => self.block(n, "`if`'s `steps`"),
            None => {
                self.missing(
                    f,
                    f.key_span("if"),
                    "`if` needs `steps` (run when the condition holds)",
                );
                Vec::new()
            }
        };
        let otherwise = f
            .get("else")
            .map(|n| self.block(n, "`else`"))
            .unwrap_or_default();
        let name = match f.get("name") {
            Some(n) => self.name(n, "`name`").unwrap_or_default(),
            None => format!("if {}", condition.as_ref().map_or("", |c| c.source())),
        };
        Some(Step {
            name,
            tags: Tags::default(),
            kind: StepKind::If(Box::new(IfStep {
                condition: condition?,
                then,
                otherwise,
            })),
        })
    }

    /// A `loop:` step: how it repeats, and its `steps` (inside the loop's
    /// mapping or beside it).
    pub(super) fn loop_step(&mut self, f: &Fields<'_>, node: &Node) -> Option<Step> {
        self.only_keys(f, "loop", &["name", "loop", "steps"]);
        let lf = self.fields(
            node,
            "`loop`",
            &["count", "while", "over", "as", "max", "steps"],
        )?;
        let ways: Vec<&str> = ["count", "while", "over"]
            .into_iter()
            .filter(|k| lf.has(k))
            .collect();
        if ways.len() > 1 {
            self.err(
                lf.key_span(ways[1]),
                format!(
                    "a loop repeats by `count`, `while` or `over`, one of them: found `{}` and `{}`",
                    ways[0], ways[1]
                ),
            );
        }
        if lf.has("max") && ways.first() != Some(&"while") {
            self.err(
                lf.key_span("max"),
                "`max` caps a `while` loop (a `count` or `over` loop knows its passes)",
            );
        }
        if lf.has("as") && ways.first() != Some(&"over") {
            self.err(lf.key_span("as"), "`as` names the item of an `over` loop");
        }
        let repeat = match ways.first().copied() {
            Some("count") => {
                let n = lf.get("count")?;
                Repeat::Count(self.int(n, "`count`", 0, MAX_LOOP_PASSES as i64)? as u64)
            }
            Some("while") => {
                let condition = self.condition(lf.get("while")?, "`while`");
                let max = match lf.get("max") {
                    Some(n) => self.int(n, "`max`", 1, MAX_LOOP_PASSES as i64)? as u64,
                    None => DEFAULT_WHILE_MAX,
                };
                Repeat::While {
                    condition: condition?,
                    max,
                }
            }
            Some(_) => self.loop_over(&lf)?,
            None => {
                self.missing(
                    &lf,
                    lf.span,
                    "a loop needs `count: N`, `while: CONDITION` or `over: LIST_OR_FEEDER`",
                );
                return None;
            }
        };
        let steps = match (lf.get("steps"), f.get("steps")) {
            (Some(_), Some(_)) => {
                self.err(
                    f.key_span("steps"),
                    "the loop's `steps` are given twice: inside `loop` and beside it",
                );
                Vec::new()
            }
            (Some(n), None) | (None, Some(n)) => self.block(n, "the loop"),
            (None, None) => {
                self.missing(&lf, lf.span, "a loop needs `steps`");
                Vec::new()
            }
        };
        let name = match f.get("name") {
            Some(n) => self.name(n, "`name`").unwrap_or_default(),
            None => "loop".into(),
        };
        Some(Step {
            name,
            tags: Tags::default(),
            kind: StepKind::Loop(Box::new(Loop { repeat, steps })),
        })
    }

    /// `over: [a, b]` (with `as`) or `over: FEEDER`.
    fn loop_over(&mut self, lf: &Fields<'_>) -> Option<Repeat> {
        let over = lf.get("over")?;
        match &over.kind {
            Kind::Seq(items) => {
                if items.is_empty() {
                    self.err(
                        over.span,
                        "`over` is an empty list: the loop would never run",
                    );
                }
                let items = items
                    .iter()
                    .map(|item| self.template_or_empty(item, "an item of `over`"))
                    .collect();
                let (name, span) = match lf.get("as") {
                    Some(n) => {
                        let name = self.scalar(n, "`as`")?;
                        self.check_var_name(&name, n.span, "loop item");
                        (name, n.span)
                    }
                    None => ("item".to_owned(), lf.key_span("over")),
                };
                Some(Repeat::List {
                    items,
                    name,
                    var: VarId(0),
                    span,
                })
            }
            Kind::Str(_) => {
                if lf.has("as") {
                    self.err(
                        lf.key_span("as"),
                        "a loop over a data feeder reads its rows as `FEEDER.COLUMN`: `as` is for lists",
                    );
                }
                let name = self.string(over, "`over`")?;
                Some(Repeat::Feeder {
                    name: name.trim().to_owned(),
                    span: over.span,
                    feeder: None,
                })
            }
            _ => {
                self.err(
                    over.span,
                    format!(
                        "`over` must be a list of values or the name of a data feeder, found {}",
                        over.type_name()
                    ),
                );
                None
            }
        }
    }

    /// A request step's `retry` and `on_error`.
    pub(super) fn step_flow(&mut self, f: &Fields<'_>) -> StepFlow {
        StepFlow {
            retry: f.get("retry").and_then(|n| self.retry(n)),
            on_error: f.get("on_error").and_then(|n| self.on_error(n)),
        }
    }

    pub(super) fn on_error(&mut self, node: &Node) -> Option<OnError> {
        let text = self.string(node, "`on_error`")?;
        let found = OnError::NAMES.iter().find(|(n, _)| *n == text.trim());
        if found.is_none() {
            let message = crate::scenario::diagnostic::with_suggestion(
                format!("`on_error` must be continue, abort_iteration or abort_vu, found `{text}`"),
                &text,
                OnError::NAMES.iter().map(|(n, _)| *n),
            );
            self.err(node.span, message);
        }
        found.map(|(_, v)| *v)
    }

    fn retry(&mut self, node: &Node) -> Option<Retry> {
        let f = self.fields(node, "`retry`", &["attempts", "on", "backoff"])?;
        let attempts = match f.get("attempts") {
            Some(n) => self.int(n, "`attempts`", 2, i64::from(MAX_ATTEMPTS))? as u32,
            None => {
                self.missing(
                    &f,
                    f.span,
                    "`retry` needs `attempts` (tries in all, the first included, at least 2)",
                );
                return None;
            }
        };
        let on = match f.get("on") {
            Some(n) => {
                let items = self.seq(n, "`on`")?;
                if items.is_empty() {
                    self.err(
                        n.span,
                        "`on` is empty: name what to retry (5xx, timeout, …)",
                    );
                }
                items.iter().filter_map(|i| self.retry_on(i)).collect()
            }
            None => vec![RetryOn::Class(5), RetryOn::AnyError],
        };
        let backoff = match f.get("backoff") {
            Some(n) => match self.think(n, "`backoff`")? {
                Think::Fixed(d) => (d, d),
                Think::Range(a, b) => (a, b),
            },
            None => DEFAULT_BACKOFF,
        };
        Some(Retry {
            attempts,
            on,
            backoff,
        })
    }

    fn retry_on(&mut self, node: &Node) -> Option<RetryOn> {
        let text = self.scalar(node, "an item of `on`")?;
        let text = text.trim();
        let class = text
            .strip_suffix("xx")
            .and_then(|d| d.parse::<u16>().ok())
            .filter(|d| (1..=5).contains(d));
        if let Some(c) = class {
            return Some(RetryOn::Class(c));
        }
        if let Ok(status) = text.parse::<u16>() {
            if (100..=599).contains(&status) {
                return Some(RetryOn::Status(status));
            }
        }
        if text == "error" {
            return Some(RetryOn::AnyError);
        }
        if let Some(kind) = ErrorKind::from_key(text) {
            return Some(RetryOn::Error(kind));
        }
        let kinds = ErrorKind::ALL.map(ErrorKind::as_str);
        let message = crate::scenario::diagnostic::with_suggestion(
            format!("cannot retry on `{text}`: name a status class (5xx, 4xx), a status (429), `error` (any failure without a response) or a failure ({})", kinds.join(", ")),
            text,
            kinds.iter().copied().chain(["5xx", "4xx", "error"]),
        );
        self.err(node.span, message);
        None
    }
}
