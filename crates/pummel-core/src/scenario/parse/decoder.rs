//! The decoder's state and the checks every section shares: mappings and
//! their allowed keys, missing keys, names a scenario may define.

use std::path::Path;

use crate::scenario::diagnostic::{Problems, Span};
use crate::scenario::yaml::{Kind, Node};

/// Names a template resolves specially; nothing else may take them.
const RESERVED: [&str; 3] = ["env", "vu", "iteration"];

/// What validation needs to know beyond the plan itself.
#[derive(Debug, Default)]
pub(crate) struct DecodeInfo {
    /// Per feeder in `plan.feeders`: where it is declared, and whether its
    /// columns are known (its file loaded).
    pub(crate) feeders: Vec<(Span, bool)>,
    pub(crate) load_span: Span,
    /// Per threshold: where its `scenario` and `step` values are.
    pub(crate) threshold_scopes: Vec<(Option<Span>, Option<Span>)>,
    /// Per threshold: where its `group` and `tag` values are.
    pub(crate) threshold_filters: Vec<crate::scenario::threshold_filter::FilterSpans>,
    /// A `target` with `{{ env.NAME }}` in it, resolved once the
    /// environment is at hand, and where it is written.
    pub(crate) target_template: Option<(crate::scenario::template::Template, Span)>,
}

/// Decodes one file: the text (to locate errors inside values), where its
/// relative paths start, and every problem met so far.
pub(crate) struct Decoder<'a> {
    pub(super) source: &'a str,
    pub(super) base_dir: &'a Path,
    pub(crate) problems: Problems,
    /// The file has a `target`: relative request URLs are then allowed.
    pub(super) target_given: bool,
    /// The target comes from the command line: relative URLs are allowed
    /// whatever the file says.
    pub(crate) target_overridden: bool,
    /// The distinct `tls:` settings met so far (the plan's `tls_profiles`).
    pub(super) tls_profiles: Vec<std::sync::Arc<crate::http::tls::ClientTls>>,
    /// The distinct proxies met so far (the plan's `proxies`).
    pub(super) proxies: Vec<std::sync::Arc<crate::http::ProxyUrl>>,
    /// The environment `{{ env.NAME }}` reads in values resolved at load
    /// time (a `proxy:`'s credentials).
    pub(crate) env: std::collections::HashMap<String, String>,
}

/// A mapping's entries, after its keys were checked.
pub(super) struct Fields<'n> {
    pub(super) span: Span,
    pub(super) entries: Vec<(&'n str, &'n Node, &'n Node)>,
    /// Unknown keys were reported: a "needs `x`" error is then most likely
    /// the same mistake (`duraton` for `duration`) and is not repeated.
    pub(super) unknown: bool,
}

impl<'n> Fields<'n> {
    pub(super) fn get(&self, key: &str) -> Option<&'n Node> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, v)| *v)
    }

    pub(super) fn key_span(&self, key: &str) -> Span {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map_or(self.span, |(_, k, _)| k.span)
    }

    pub(super) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

pub(super) fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(source: &'a str, base_dir: &'a Path) -> Decoder<'a> {
        Decoder {
            source,
            base_dir,
            problems: Problems::default(),
            target_given: false,
            target_overridden: false,
            tls_profiles: Vec::new(),
            proxies: Vec::new(),
            env: std::collections::HashMap::new(),
        }
    }

    pub(super) fn err(&mut self, span: Span, message: impl Into<String>) {
        self.problems.push(span, message);
    }

    /// The entries of a mapping; anything else is an error `expected, found <type>`.
    pub(super) fn map_entries<'n>(
        &mut self,
        node: &'n Node,
        expected: &str,
    ) -> Option<&'n [(Node, Node)]> {
        match &node.kind {
            Kind::Map(entries) => Some(entries),
            _ => {
                self.err(node.span, format!("{expected}, found {}", node.type_name()));
                None
            }
        }
    }

    pub(super) fn fields<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
        allowed: &[&str],
    ) -> Option<Fields<'n>> {
        let entries = self.map_entries(node, &format!("{what} must be a mapping (key: value)"))?;
        let mut out = Fields {
            span: node.span,
            entries: Vec::with_capacity(entries.len()),
            unknown: false,
        };
        for (key, value) in entries {
            let Some(name) = key.as_str() else {
                self.err(
                    key.span,
                    format!("keys in {what} must be names, found {}", key.type_name()),
                );
                continue;
            };
            if !allowed.contains(&name) {
                let message =
                    match crate::scenario::diagnostic::suggest(name, allowed.iter().copied()) {
                        Some(s) => format!("unknown key `{name}` in {what} (did you mean `{s}`?)"),
                        None => format!(
                            "unknown key `{name}` in {what} (expected one of: {})",
                            allowed.join(", ")
                        ),
                    };
                self.err(key.span, message);
                out.unknown = true;
                continue;
            }
            out.entries.push((name, key, value));
        }
        Some(out)
    }

    /// Reports a missing key, unless an unknown key in the same mapping
    /// (probably the misspelt one) was reported already.
    pub(super) fn missing(&mut self, f: &Fields<'_>, span: Span, message: impl Into<String>) {
        if !f.unknown {
            self.err(span, message);
        }
    }

    pub(super) fn check_var_name(&mut self, name: &str, span: Span, what: &str) {
        if !is_ident(name) {
            self.err(span, format!("`{name}` is not a valid {what} name: use letters, digits, _ and -, starting with a letter"));
        } else if RESERVED.contains(&name) {
            self.err(span, format!("`{name}` is a reserved name (env, vu and iteration have a meaning in templates)"));
        }
    }
}
