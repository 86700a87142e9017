//! HTTP requests: method and URL, headers, auth, query, bodies.

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::Method;

use super::decoder::Decoder;
use crate::http::TargetUrl;
use crate::scenario::diagnostic::Span;
use crate::scenario::request::{Auth, AuthSetting, Body, Header, JsonBody, RequestStep};
use crate::scenario::template::Template;
use crate::scenario::yaml::{Kind, Node};

/// The keys of a `request` mapping.
const REQUEST_KEYS: [&str; 16] = [
    "method",
    "url",
    "headers",
    "query",
    "body",
    "json",
    "form",
    "file",
    "auth",
    "timeout",
    "max_body",
    "follow_redirects",
    "multipart",
    "tls",
    "proxy",
    "http2",
];

impl Decoder<'_> {
    pub(super) fn decode_headers(&mut self, node: &Node) -> Vec<Header> {
        let Some(entries) = self.map_entries(
            node,
            "`headers` must be a mapping of header names to values",
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let Some(name_text) = self.scalar(k, "a header name") else {
                continue;
            };
            let Ok(name) = HeaderName::from_bytes(name_text.as_bytes()) else {
                self.err(k.span, format!("`{name_text}` is not a valid header name"));
                continue;
            };
            let what = format!("header `{name_text}`");
            let Some(value) = self.template(v, &what) else {
                continue;
            };
            if let Some(literal) = value.as_literal() {
                if HeaderValue::from_str(literal).is_err() {
                    self.err(v.span, format!("{what}: the value has characters a header cannot carry (line breaks, control characters)"));
                }
            }
            out.push(Header { name, value });
        }
        out
    }

    pub(super) fn decode_auth(&mut self, node: &Node) -> Option<AuthSetting> {
        if node.as_str() == Some("none") {
            return Some(AuthSetting::None);
        }
        let f = self.fields(node, "`auth`", &["basic", "bearer"])?;
        match (f.get("basic"), f.get("bearer")) {
            (Some(_), Some(_)) => {
                self.err(
                    f.key_span("bearer"),
                    "`auth` is either `basic` or `bearer`, not both",
                );
                None
            }
            (Some(b), None) => {
                let bf = self.fields(b, "`basic`", &["username", "password"])?;
                let username = match bf.get("username") {
                    Some(n) => self.template_or_empty(n, "`username`"),
                    None => {
                        self.missing(&bf, bf.span, "`basic` needs `username`");
                        Template::literal("")
                    }
                };
                let password = match bf.get("password") {
                    Some(n) => self.template_or_empty(n, "`password`"),
                    None => {
                        self.missing(&bf, bf.span, "`basic` needs `password`");
                        Template::literal("")
                    }
                };
                Some(AuthSetting::Use(Auth::Basic { username, password }))
            }
            (None, Some(t)) => {
                let token = self.template_or_empty(t, "`bearer`");
                // A token known now that no header can carry would fail every
                // request it is on: an error here, not at run time.
                if let Some(literal) = token.as_literal() {
                    if HeaderValue::from_str(&format!("Bearer {literal}")).is_err() {
                        self.err(t.span, "`bearer`: the token has characters a header cannot carry (line breaks, control characters)");
                    }
                }
                Some(AuthSetting::Use(Auth::Bearer(token)))
            }
            (None, None) => {
                self.missing(
                    &f,
                    f.span,
                    "`auth` needs `basic: {username, password}` or `bearer: TOKEN` (or is `none`)",
                );
                None
            }
        }
    }

    pub(super) fn decode_request(&mut self, node: &Node) -> RequestStep {
        let mut r = RequestStep {
            method: Method::GET,
            url: Template::literal("/"),
            query: Vec::new(),
            headers: Vec::new(),
            body: Body::Empty,
            auth: AuthSetting::Inherit,
            timeout: None,
            max_body: None,
            checks: Vec::new(),
            captures: Vec::new(),
            think: None,
            flow: crate::scenario::flow::StepFlow::default(),
            follow_redirects: None,
            tls: None,
            proxy: Default::default(),
            http2: None,
        };
        // Shorthand: `request: GET /api/apps` or `request: /api/apps`.
        if let Kind::Str(text) = &node.kind {
            self.request_shorthand(node, text, &mut r);
            return r;
        }
        let Some(f) = self.fields(node, "`request`", &REQUEST_KEYS) else {
            return r;
        };
        if let Some(m) = f.get("method") {
            if let Some(text) = self.string(m, "`method`") {
                r.method = self.method(&text, m.span).unwrap_or(Method::GET);
            }
        }
        match f.get("url") {
            Some(u) => {
                if let Some(t) = self.template(u, "`url`") {
                    self.check_url(&t, u);
                    r.url = t;
                }
            }
            None => self.missing(&f, f.span, "a request needs `url`"),
        }
        if let Some(h) = f.get("headers") {
            r.headers = self.decode_headers(h);
        }
        if let Some(q) = f.get("query") {
            r.query = self.decode_query(q);
        }
        let bodies: Vec<&str> = ["body", "json", "form", "file", "multipart"]
            .into_iter()
            .filter(|k| f.has(k))
            .collect();
        for extra in bodies.iter().skip(1) {
            self.err(
                f.key_span(extra),
                format!(
                    "`{extra}` conflicts with `{}`: a request has one body",
                    bodies[0]
                ),
            );
        }
        if let Some((kind, n)) = bodies.first().and_then(|k| Some((*k, f.get(k)?))) {
            r.body = match kind {
                "body" => self.template(n, "`body`").map_or(Body::Empty, Body::Raw),
                "json" => self.decode_json_body(n).map_or(Body::Empty, Body::Json),
                "form" => Body::Form(self.decode_pairs(n, "`form`")),
                "multipart" => self.decode_multipart(n),
                _ => self.decode_file_body(n),
            };
        }
        if let Some(a) = f.get("auth") {
            r.auth = self.decode_auth(a).unwrap_or_default();
        }
        self.decode_request_options(&f, &mut r);
        r
    }

    /// How the request travels: `timeout`, `max_body`, `follow_redirects`,
    /// `tls`, `http2`.
    fn decode_request_options(&mut self, f: &super::decoder::Fields<'_>, r: &mut RequestStep) {
        r.timeout = f
            .get("timeout")
            .and_then(|n| self.positive_duration(n, "`timeout`"));
        r.max_body = f.get("max_body").and_then(|n| self.max_body(n));
        r.follow_redirects = f
            .get("follow_redirects")
            .and_then(|n| self.follow_redirects(n));
        r.tls = f.get("tls").and_then(|n| self.client_tls(n));
        if let Some(n) = f.get("proxy") {
            r.proxy = self.proxy(n);
        }
        r.http2 = f.get("http2").and_then(|n| self.bool(n, "`http2`"));
    }

    /// `request: METHOD URL` or `request: URL`, into `r`.
    fn request_shorthand(&mut self, node: &Node, text: &str, r: &mut RequestStep) {
        let (method, url) = match text.trim().split_once(char::is_whitespace) {
            Some((m, u)) if !m.starts_with('/') && !m.contains("://") => (Some(m), u.trim()),
            _ => (None, text.trim()),
        };
        if let Some(m) = method {
            r.method = self.method(m, node.span).unwrap_or(Method::GET);
        }
        // `url` is a slice of `text`: its offset there locates errors.
        let offset = url.as_ptr() as usize - text.as_ptr() as usize;
        let url_node = Node {
            kind: Kind::Str(url.to_owned()),
            ..node.clone()
        };
        match Template::parse(url) {
            Ok(mut t) => {
                let source = self.source;
                t.bind(&mut |n| n.span = node.inner_span(source, offset + n.start, offset + n.end));
                self.check_url(&t, &url_node);
                r.url = t;
            }
            Err(e) => {
                let span = node.inner_span(self.source, offset + e.start, offset + e.end);
                self.err(span, format!("`url`: {}", e.message));
            }
        }
    }

    fn method(&mut self, text: &str, span: Span) -> Option<Method> {
        let upper = text.trim().to_ascii_uppercase();
        Method::from_bytes(upper.as_bytes())
            .map_err(|_| self.err(span, format!("`{text}` is not a valid HTTP method")))
            .ok()
    }

    /// A URL must be absolute or start with `/` (relative to `target`).
    pub(super) fn check_url(&mut self, url: &Template, node: &Node) {
        let src = url.source().trim_start();
        let lower = src.get(..8).unwrap_or(src).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            if let Some(literal) = url.as_literal() {
                if let Err(e) = TargetUrl::parse(literal) {
                    self.err(node.span, format!("`url`: {e}"));
                }
            }
        } else if src.starts_with('/') {
            // A fixed path that is not a URL path could only fail, in every
            // iteration: said now, where it is written.
            if let Some(literal) = url.as_literal() {
                if literal.parse::<http::uri::PathAndQuery>().is_err() {
                    self.err(
                        node.span,
                        format!(
                            "`url` {literal:?} is not a URL path: a space or another character \
                             a URL cannot carry (percent-encode it, e.g. %20)"
                        ),
                    );
                }
            }
            if !self.target_given {
                self.err(
                    node.span,
                    "`url` is relative, but the file has no `target` to resolve it against",
                );
            }
        } else if !src.starts_with("{{") {
            self.err(
                node.span,
                "`url` must start with / (relative to `target`) or http:// or https://",
            );
        }
    }

    fn decode_query(&mut self, node: &Node) -> Vec<(String, Template)> {
        let Some(entries) = self.map_entries(
            node,
            "`query` must be a mapping of parameter names to values",
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let Some(name) = self.scalar(k, "a query parameter name") else {
                continue;
            };
            let what = format!("query parameter `{name}`");
            match &v.kind {
                Kind::Seq(items) => {
                    for item in items {
                        out.push((name.clone(), self.template_or_empty(item, &what)));
                    }
                }
                _ => out.push((name.clone(), self.template_or_empty(v, &what))),
            }
        }
        out
    }

    fn decode_pairs(&mut self, node: &Node, what: &str) -> Vec<(String, Template)> {
        let Some(entries) = self.map_entries(
            node,
            &format!("{what} must be a mapping of field names to values"),
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            let Some(name) = self.scalar(k, "a field name") else {
                continue;
            };
            let what = format!("field `{name}`");
            // A list repeats the field (`ids: [1, 2]` sends `ids=1&ids=2`).
            match &v.kind {
                Kind::Seq(items) => {
                    for item in items {
                        out.push((name.clone(), self.template_or_empty(item, &what)));
                    }
                }
                _ => out.push((name, self.template_or_empty(v, &what))),
            }
        }
        out
    }

    pub(super) fn decode_json_body(&mut self, node: &Node) -> Option<JsonBody> {
        Some(match &node.kind {
            Kind::Null => JsonBody::Null,
            Kind::Bool(b) => JsonBody::Bool(*b),
            Kind::Int(n) => JsonBody::Number((*n).into()),
            Kind::Float(x) => match serde_json::Number::from_f64(*x) {
                Some(n) => JsonBody::Number(n),
                None => {
                    self.err(node.span, "JSON has no infinite or NaN numbers");
                    return None;
                }
            },
            Kind::Str(_) => JsonBody::String(self.template(node, "a JSON string")?),
            Kind::Seq(items) => JsonBody::Array(
                items
                    .iter()
                    .map(|i| self.decode_json_body(i))
                    .collect::<Option<_>>()?,
            ),
            Kind::Map(entries) => {
                let mut fields = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let key = self.scalar(k, "a JSON key")?;
                    fields.push((key, self.decode_json_body(v)?));
                }
                JsonBody::Object(fields)
            }
        })
    }

    fn decode_file_body(&mut self, node: &Node) -> Body {
        let Some(file) = self.string(node, "`file`") else {
            return Body::Empty;
        };
        let path = self.base_dir.join(&file);
        match crate::limits::read_file(&path, crate::limits::MAX_DATA_FILE_BYTES) {
            Ok(bytes) => Body::File {
                content: Bytes::from(bytes),
            },
            Err(e) => {
                self.err(
                    node.span,
                    format!("`file`: cannot read {}: {e}", path.display()),
                );
                Body::Empty
            }
        }
    }
}
