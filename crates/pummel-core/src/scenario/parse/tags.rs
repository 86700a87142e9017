//! `tags:` on scenarios, groups and steps: a mapping of names to static
//! text, and their inheritance down to every step.

use super::decoder::{is_ident, Decoder, Fields};
use crate::scenario::model::Step;
use crate::scenario::tags::Tags;
use crate::scenario::yaml::{Kind, Node};

/// The longest tag value accepted: tags label series, they carry no data.
const MAX_TAG_VALUE: usize = 200;

impl Decoder<'_> {
    /// The `tags` of a scenario, group or step, if it has any.
    pub(super) fn decode_tags_of(&mut self, f: &Fields<'_>) -> Tags {
        f.get("tags")
            .map(|n| self.decode_tags(n))
            .unwrap_or_default()
    }

    pub(super) fn decode_tags(&mut self, node: &Node) -> Tags {
        let Some(entries) = self.map_entries(
            node,
            "`tags` must be a mapping of names to values (tags: { kind: write })",
        ) else {
            return Tags::default();
        };
        let mut pairs = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let Some(key) = self.scalar(k, "a tag name") else {
                continue;
            };
            if !is_ident(&key) {
                self.err(
                    k.span,
                    format!("`{key}` is not a valid tag name: use letters, digits, _ and -, starting with a letter"),
                );
                continue;
            }
            if let Some(value) = self.tag_value(v, &key) {
                pairs.push((key, value));
            }
        }
        Tags::from_pairs(pairs)
    }

    fn tag_value(&mut self, node: &Node, key: &str) -> Option<String> {
        let value = match &node.kind {
            Kind::Str(_) | Kind::Int(_) | Kind::Float(_) | Kind::Bool(_) => node.scalar_text()?,
            _ => {
                self.err(
                    node.span,
                    format!(
                        "tag `{key}` must be a single value, found {}",
                        node.type_name()
                    ),
                );
                return None;
            }
        };
        if value.contains("{{") {
            self.err(
                node.span,
                format!("tag `{key}` is a template: tag values are static text, so a tag cannot turn into one series per user or iteration"),
            );
            return None;
        }
        if value.trim().is_empty()
            || value.len() > MAX_TAG_VALUE
            || value.chars().any(char::is_control)
        {
            self.err(
                node.span,
                format!(
                    "tag `{key}` must be non-empty printable text of at most {MAX_TAG_VALUE} bytes"
                ),
            );
            return None;
        }
        Some(value)
    }
}

/// Gives every step the tags of the groups around it and of `outer` (its
/// scenario's), its own values winning.
pub(super) fn inherit_tags(steps: &mut [Step], outer: &Tags) {
    for step in steps {
        step.tags.inherit(outer);
        // A loop's or an `if`'s steps take the tags around them, as a group's do.
        let tags = step.tags.clone();
        for inner in step.kind.inner_steps_mut() {
            inherit_tags(inner, &tags);
        }
    }
}
