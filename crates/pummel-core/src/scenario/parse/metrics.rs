//! `metric:` steps: `metric: { name: basket_total, value: "{{ total }}",
//! kind: trend }`.

use super::decoder::{is_ident, Decoder, Fields};
use crate::scenario::custom_metric::{MetricKind, MetricStep};
use crate::scenario::diagnostic::with_suggestion;
use crate::scenario::model::{Step, StepKind};
use crate::scenario::template::Template;
use crate::scenario::yaml::Node;

impl Decoder<'_> {
    /// A `metric` step; `f` is the step's mapping, `node` its `metric` value.
    pub(super) fn metric_step(&mut self, f: &Fields<'_>, node: &Node) -> Option<Step> {
        let m = self.fields(node, "`metric`", &["name", "value", "kind"])?;
        let name = match m.get("name") {
            Some(n) => {
                let name = self.string(n, "`name`")?;
                if !is_ident(&name) {
                    self.err(
                        n.span,
                        format!("`{name}` is not a valid metric name: use letters, digits, _ and -, starting with a letter (thresholds write it `{name}.p95`)"),
                    );
                }
                name
            }
            None => {
                self.missing(&m, m.span, "a metric needs `name`");
                return None;
            }
        };
        let kind = match m.get("kind") {
            Some(n) => {
                let text = self.string(n, "`kind`")?;
                let Some(kind) = MetricKind::parse(&text) else {
                    let message = with_suggestion(
                        format!("unknown metric kind `{text}` (kinds: counter, gauge, trend)"),
                        &text,
                        MetricKind::NAMES,
                    );
                    self.err(n.span, message);
                    return None;
                };
                kind
            }
            None => {
                self.missing(
                    &m,
                    m.span,
                    format!("metric `{name}` needs `kind`: counter, gauge or trend"),
                );
                return None;
            }
        };
        let value = match m.get("value") {
            Some(n) => self
                .template(n, "`value`")
                .unwrap_or_else(|| Template::literal("0")),
            None if kind == MetricKind::Counter => Template::literal("1"),
            None => {
                self.missing(
                    &m,
                    m.span,
                    format!("metric `{name}` needs `value` (a counter alone counts 1)"),
                );
                return None;
            }
        };
        Some(Step {
            name: name.clone(),
            kind: StepKind::Metric(Box::new(MetricStep {
                name,
                kind,
                value,
                span: f.key_span("metric"),
            })),
            tags: Default::default(),
        })
    }
}
