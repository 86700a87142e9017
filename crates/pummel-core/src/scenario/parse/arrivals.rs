//! `load: { arrivals: poisson | even }`: how an open model spaces its
//! arrivals. Which load models take the key is `load`'s to say.

use super::decoder::Decoder;
use crate::scenario::diagnostic::with_suggestion;
use crate::scenario::load_model::Arrivals;
use crate::scenario::yaml::{Kind, Node};

impl Decoder<'_> {
    /// The `arrivals` of a `load` mapping; `even` when it has none.
    pub(super) fn decode_arrivals(&mut self, load: &Node) -> Arrivals {
        let Kind::Map(entries) = &load.kind else {
            return Arrivals::Even;
        };
        let Some((_, node)) = entries.iter().find(|(k, _)| k.as_str() == Some("arrivals")) else {
            return Arrivals::Even;
        };
        let Some(text) = self.string(node, "`arrivals`") else {
            return Arrivals::Even;
        };
        match text.as_str() {
            "even" => Arrivals::Even,
            "poisson" => Arrivals::Poisson,
            other => {
                let message = with_suggestion(
                    format!("unknown arrivals `{other}` (arrivals: even, poisson)"),
                    other,
                    ["even", "poisson"],
                );
                self.err(node.span, message);
                Arrivals::Even
            }
        }
    }
}
