//! A `parallel:` step: its requests, its connections per origin and its
//! `on_error`.

use super::decoder::{Decoder, Fields};
use crate::scenario::model::{Parallel, Step, StepKind};
use crate::scenario::parallel::{DEFAULT_CONNECTIONS, MAX_CONNECTIONS, MAX_REQUESTS};
use crate::scenario::tags::Tags;
use crate::scenario::yaml::{Kind, Node};

impl Decoder<'_> {
    /// `parallel: [request steps]`, with `name`, `connections`, `on_error`
    /// and `tags` beside it.
    pub(super) fn parallel_step(&mut self, f: &Fields<'_>, node: &Node) -> Option<Step> {
        self.only_keys(
            f,
            "parallel",
            &["name", "parallel", "connections", "on_error", "tags"],
        );
        let items = self.seq(node, "`parallel`")?;
        if items.is_empty() {
            self.err(
                node.span,
                "`parallel` is empty: list the request steps to send at once",
            );
        }
        if items.len() > MAX_REQUESTS {
            self.err(
                node.span,
                format!(
                    "`parallel` holds {} requests; at most {MAX_REQUESTS} may be sent at once",
                    items.len()
                ),
            );
        }
        let mut steps = Vec::new();
        for item in items {
            if let Some(step) = self.parallel_request(item) {
                steps.push(step);
            }
        }
        let connections = match f.get("connections") {
            Some(n) => self.int(n, "`connections`", 1, i64::from(MAX_CONNECTIONS))? as u32,
            None => DEFAULT_CONNECTIONS,
        };
        let on_error = f.get("on_error").and_then(|n| self.on_error(n));
        let name = match f.get("name") {
            Some(n) => self.name(n, "`name`").unwrap_or_default(),
            None => "parallel".to_owned(),
        };
        Some(Step {
            name,
            kind: StepKind::Parallel(Box::new(Parallel {
                steps,
                connections,
                on_error,
            })),
            tags: Tags::default(),
        })
    }

    /// One item of a `parallel` list: a request step, without `think` (the
    /// batch's requests do not wait for each other).
    fn parallel_request(&mut self, item: &Node) -> Option<Step> {
        let Kind::Map(entries) = &item.kind else {
            self.err(
                item.span,
                format!(
                    "an item of `parallel` is a request step (a mapping with `request`), found {}",
                    item.type_name()
                ),
            );
            return None;
        };
        let key = |name: &str| {
            entries
                .iter()
                .find(|(k, _)| matches!(&k.kind, Kind::Str(s) if s == name))
                .map(|(k, _)| k.span)
        };
        if key("request").is_none() {
            let what = ["parallel", "group", "loop", "if", "think", "metric"]
                .into_iter()
                .find_map(|k| key(k).map(|span| (k, span)));
            match what {
                Some((k, span)) => self.err(
                    span,
                    format!("`parallel` holds request steps only: `{k}` cannot be inside it (put it before or after the batch)"),
                ),
                None if entries.iter().any(|(k, _)| matches!(&k.kind, Kind::Str(s) if s.starts_with("ws_"))) => self.err(
                    item.span,
                    "`parallel` holds request steps only: WebSocket steps cannot be inside it",
                ),
                None => self.err(item.span, "an item of `parallel` needs `request`"),
            }
            return None;
        }
        if let Some(span) = key("think") {
            self.err(
                span,
                "`think` does not belong in a request of `parallel` (the batch's requests are sent together; put a `think` step after the batch)",
            );
        }
        self.decode_step(item)
    }
}
