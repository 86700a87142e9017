//! `capture`: values taken from a response into variables.

use super::decoder::Decoder;
use crate::scenario::capture::{Capture, CaptureSource};
use crate::scenario::template::VarId;
use crate::scenario::yaml::{Kind, Node};

impl Decoder<'_> {
    pub(super) fn decode_captures(&mut self, node: &Node) -> Vec<Capture> {
        let Kind::Map(entries) = &node.kind else {
            self.err(node.span, format!("`capture` must map variable names to sources, e.g. app_id: {{ jsonpath: \"$.id\" }}; found {}", node.type_name()));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let Some(name) = self.scalar(k, "a variable name") else {
                continue;
            };
            self.check_var_name(&name, k.span, "variable");
            let what = format!("capture `{name}`");
            let source = self.decode_capture_source(v, &what);
            let optional = match &v.kind {
                Kind::Map(m) => m
                    .iter()
                    .find(|(key, _)| key.as_str() == Some("optional"))
                    .and_then(|(_, val)| self.bool(val, "`optional`"))
                    .unwrap_or(false),
                _ => false,
            };
            // A broken source still defines the name (see the module docs).
            let source = source.unwrap_or_else(|| CaptureSource::Header(String::new()));
            out.push(Capture {
                name,
                var: VarId(0),
                span: k.span,
                source,
                optional,
            });
        }
        out
    }

    fn decode_capture_source(&mut self, node: &Node, what: &str) -> Option<CaptureSource> {
        const SOURCES: [&str; 5] = ["jsonpath", "regex", "header", "cookie", "css"];
        let f = self.fields(
            node,
            what,
            &[
                "jsonpath", "regex", "header", "cookie", "css", "attr", "group", "optional",
            ],
        )?;
        let given: Vec<&str> = SOURCES.into_iter().filter(|k| f.has(k)).collect();
        let Some(&kind) = given.first() else {
            self.missing(
                &f,
                f.span,
                format!("{what} needs one of `jsonpath`, `regex`, `header`, `cookie` or `css`"),
            );
            return None;
        };
        for extra in &given[1..] {
            self.err(
                f.key_span(extra),
                format!("{what}: `{extra}` conflicts with `{kind}` (a capture has one source)"),
            );
        }
        if kind != "regex" && f.has("group") {
            self.err(
                f.key_span("group"),
                format!("{what}: `group` only applies to `regex`"),
            );
        }
        if kind != "css" && f.has("attr") {
            self.err(
                f.key_span("attr"),
                format!("{what}: `attr` only applies to `css`"),
            );
        }
        let n = f.get(kind)?;
        match kind {
            "jsonpath" => self
                .jsonpath(n, what)
                .map(|(path, source)| CaptureSource::JsonPath { path, source }),
            "regex" => {
                let regex = self.regex(n, what)?;
                let groups = regex.captures_len() - 1;
                let group = match f.get("group") {
                    Some(g) => self.int(g, "`group`", 0, groups as i64)? as usize,
                    None => usize::from(groups >= 1),
                };
                Some(CaptureSource::Regex { regex, group })
            }
            "css" => {
                let selector = self.string(n, "`css`")?;
                let attr = f.get("attr").and_then(|a| self.string(a, "`attr`"));
                crate::scenario::css::CssQuery::parse(&selector, attr)
                    .map_err(|e| self.err(n.span, format!("{what}: {e}")))
                    .ok()
                    .map(CaptureSource::Css)
            }
            "header" => self
                .string(n, "`header`")
                .map(|h| CaptureSource::Header(h.to_ascii_lowercase())),
            _ => self.string(n, "`cookie`").map(CaptureSource::Cookie),
        }
    }
}
