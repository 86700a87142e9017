//! Request steps: what to send, and how a VU renders it.
//!
//! Everything here was compiled when the scenario loaded; rendering writes
//! into buffers the caller keeps and reuses, so a VU's steady state
//! allocates only what a request's own size requires.

use std::fmt::Write as _;
use std::time::Duration;

use bytes::Bytes;
use http::header::HeaderName;
use http::Method;

use super::capture::Capture;
use super::check::Check;
use super::duration::Think;
use super::template::{escape_json_into, percent_encode_into, Context, RenderError, Template};

/// A header whose value is a template.
#[derive(Clone, Debug)]
pub(crate) struct Header {
    pub name: HeaderName,
    pub value: Template,
}

/// Credentials added as an `Authorization` header.
#[derive(Clone, Debug)]
pub(crate) enum Auth {
    Basic {
        username: Template,
        password: Template,
    },
    Bearer(Template),
}

impl Auth {
    /// Appends the `Authorization` header value (`Basic …` or `Bearer …`).
    pub(crate) fn render(&self, ctx: &dyn Context, out: &mut String) -> Result<(), RenderError> {
        match self {
            Auth::Bearer(token) => {
                out.push_str("Bearer ");
                token.render(ctx, out)
            }
            Auth::Basic { username, password } => {
                use base64::Engine as _;
                let mut plain = String::new();
                username.render(ctx, &mut plain)?;
                plain.push(':');
                password.render(ctx, &mut plain)?;
                out.push_str("Basic ");
                base64::engine::general_purpose::STANDARD.encode_string(plain.as_bytes(), out);
                Ok(())
            }
        }
    }
}

/// A request's own auth setting.
#[derive(Clone, Debug, Default)]
pub(crate) enum AuthSetting {
    /// Use `defaults.auth`, if any.
    #[default]
    Inherit,
    /// Send no `Authorization` even if the defaults have one (`auth: none`).
    None,
    Use(Auth),
}

/// A JSON body written as YAML, with templates in its strings.
#[derive(Clone, Debug)]
pub(crate) enum JsonBody {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    /// A string; a string that is a single numeric expression
    /// (`"{{ random_int(1, 5) }}"`) is written as a JSON number.
    String(Template),
    Array(Vec<JsonBody>),
    Object(Vec<(String, JsonBody)>),
}

impl JsonBody {
    /// Appends the body as compact JSON.
    pub(crate) fn render(&self, ctx: &dyn Context, out: &mut String) -> Result<(), RenderError> {
        match self {
            JsonBody::Null => out.push_str("null"),
            JsonBody::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            JsonBody::Number(n) => {
                let _ = write!(out, "{n}");
            }
            JsonBody::String(t) => t.render_json(ctx, out)?,
            JsonBody::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.render(ctx, out)?;
                }
                out.push(']');
            }
            JsonBody::Object(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push('"');
                    escape_json_into(key, out);
                    out.push_str("\":");
                    value.render(ctx, out)?;
                }
                out.push('}');
            }
        }
        Ok(())
    }

    /// Every template in the body, for validation.
    pub(crate) fn templates_mut(&mut self, f: &mut dyn FnMut(&mut Template)) {
        match self {
            JsonBody::String(t) => f(t),
            JsonBody::Array(items) => items.iter_mut().for_each(|i| i.templates_mut(f)),
            JsonBody::Object(fields) => fields.iter_mut().for_each(|(_, v)| v.templates_mut(f)),
            JsonBody::Null | JsonBody::Bool(_) | JsonBody::Number(_) => {}
        }
    }
}

/// What a request sends as its body.
#[derive(Clone, Debug, Default)]
pub(crate) enum Body {
    #[default]
    Empty,
    /// Text, as written (`body:`).
    Raw(Template),
    /// JSON from YAML (`json:`); `Content-Type: application/json` unless set.
    Json(JsonBody),
    /// URL-encoded form fields (`form:`); `Content-Type:
    /// application/x-www-form-urlencoded` unless set.
    Form(Vec<(String, Template)>),
    /// A file's bytes, read when the scenario loads (`file:`).
    File { content: Bytes },
    /// `multipart/form-data` fields and files (`multipart:`).
    Multipart(Vec<super::multipart::Part>),
}

impl Body {
    /// The content type the body implies, used when the request sets none.
    pub(crate) fn content_type(&self) -> Option<&'static str> {
        match self {
            Body::Json(_) => Some("application/json"),
            Body::Form(_) => Some("application/x-www-form-urlencoded"),
            Body::File { .. } => Some("application/octet-stream"),
            Body::Multipart(_) => Some(super::multipart::CONTENT_TYPE),
            Body::Empty | Body::Raw(_) => None,
        }
    }

    /// Appends the rendered body. File bodies are bytes: use [`Body::fixed`]
    /// for them (and for any body without templates).
    pub(crate) fn render(&self, ctx: &dyn Context, out: &mut String) -> Result<(), RenderError> {
        match self {
            // Bytes, not text: rendered by `multipart::render`.
            Body::Empty | Body::File { .. } | Body::Multipart(_) => Ok(()),
            Body::Raw(t) => t.render(ctx, out),
            Body::Json(j) => j.render(ctx, out),
            Body::Form(fields) => {
                let mut value = String::new();
                for (i, (name, t)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push('&');
                    }
                    percent_encode_into(name, out);
                    out.push('=');
                    value.clear();
                    t.render(ctx, &mut value)?;
                    percent_encode_into(&value, out);
                }
                Ok(())
            }
        }
    }

    /// The body's bytes when they never change (a file, or text without
    /// templates): the engine can then share one buffer for every request.
    pub(crate) fn fixed(&self) -> Option<Bytes> {
        match self {
            Body::Empty => Some(Bytes::new()),
            Body::File { content, .. } => Some(content.clone()),
            Body::Raw(t) => t.as_literal().map(|s| Bytes::copy_from_slice(s.as_bytes())),
            Body::Json(_) | Body::Form(_) | Body::Multipart(_) => None,
        }
    }
}

/// A request step.
#[derive(Clone, Debug)]
pub(crate) struct RequestStep {
    pub method: Method,
    /// Relative to the plan's target when it starts with `/`.
    pub url: Template,
    /// Query parameters appended to the URL, percent-encoded.
    pub query: Vec<(String, Template)>,
    /// The step's own headers; they replace default headers of the same name.
    pub headers: Vec<Header>,
    pub body: Body,
    pub auth: AuthSetting,
    pub timeout: Option<Duration>,
    /// Response body bytes kept for checks and captures; the rest is read,
    /// counted and dropped.
    pub max_body: Option<u64>,
    pub checks: Vec<Check>,
    pub captures: Vec<Capture>,
    /// Pause after this request; overrides the scenario's and the defaults'.
    pub think: Option<Think>,
    /// `retry` and `on_error`.
    pub flow: super::flow::StepFlow,
    /// Redirects followed before the response is the step's
    /// (`follow_redirects`); `None` inherits the defaults'.
    pub follow_redirects: Option<u32>,
    /// Client TLS settings (`tls:`); `None` inherits the defaults'.
    pub tls: Option<crate::http::tls::TlsProfileId>,
    /// The proxy (`proxy:`); `Inherit` takes the run's default.
    pub proxy: crate::http::proxy::ProxySetting,
    /// HTTP/2 (`http2:`): by ALPN over TLS, h2c with prior knowledge over
    /// plain TCP; `None` inherits the defaults'.
    pub http2: Option<bool>,
}

impl RequestStep {
    /// Appends the URL with the query parameters added.
    pub(crate) fn render_url(
        &self,
        ctx: &dyn Context,
        out: &mut String,
    ) -> Result<(), RenderError> {
        let start = out.len();
        self.url.render(ctx, out)?;
        let mut sep = if out[start..].contains('?') { '&' } else { '?' };
        let mut value = String::new();
        for (name, t) in &self.query {
            out.push(sep);
            sep = '&';
            percent_encode_into(name, out);
            out.push('=');
            value.clear();
            t.render(ctx, &mut value)?;
            percent_encode_into(&value, out);
        }
        Ok(())
    }

    /// Every template of the request (URL, query, headers, body, auth),
    /// for validation. Checks' templates are visited separately.
    pub(crate) fn templates_mut(&mut self, f: &mut dyn FnMut(&mut Template)) {
        f(&mut self.url);
        self.query.iter_mut().for_each(|(_, t)| f(t));
        self.headers.iter_mut().for_each(|h| f(&mut h.value));
        match &mut self.body {
            Body::Raw(t) => f(t),
            Body::Json(j) => j.templates_mut(f),
            Body::Form(fields) => fields.iter_mut().for_each(|(_, t)| f(t)),
            Body::Multipart(parts) => {
                for part in parts {
                    if let super::multipart::PartContent::Text(t) = &mut part.content {
                        f(t);
                    }
                }
            }
            Body::Empty | Body::File { .. } => {}
        }
        if let AuthSetting::Use(a) = &mut self.auth {
            auth_templates_mut(a, f);
        }
    }
}

pub(crate) fn auth_templates_mut(auth: &mut Auth, f: &mut dyn FnMut(&mut Template)) {
    match auth {
        Auth::Basic { username, password } => {
            f(username);
            f(password);
        }
        Auth::Bearer(t) => f(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::template::EmptyContext;

    fn t(s: &str) -> Template {
        Template::parse(s).unwrap()
    }

    fn step(url: &str, query: &[(&str, &str)]) -> RequestStep {
        RequestStep {
            method: Method::GET,
            url: t(url),
            query: query.iter().map(|(k, v)| (k.to_string(), t(v))).collect(),
            headers: vec![],
            body: Body::Empty,
            auth: AuthSetting::Inherit,
            timeout: None,
            max_body: None,
            checks: vec![],
            captures: vec![],
            think: None,
            flow: crate::scenario::flow::StepFlow::default(),
            follow_redirects: None,
            tls: None,
            proxy: Default::default(),
            http2: None,
        }
    }

    #[test]
    fn urls_get_encoded_query_parameters() {
        let mut out = String::new();
        step("/api/apps", &[("q", "chess & go"), ("page", "1")])
            .render_url(&EmptyContext, &mut out)
            .unwrap();
        assert_eq!(out, "/api/apps?q=chess%20%26%20go&page=1");
        out.clear();
        step("/api/apps?sort=new", &[("q", "é")])
            .render_url(&EmptyContext, &mut out)
            .unwrap();
        assert_eq!(out, "/api/apps?sort=new&q=%C3%A9");
    }

    #[test]
    fn bodies_render() {
        let json = JsonBody::Object(vec![
            ("name".into(), JsonBody::String(t("app \"{{ 'x' }}\""))),
            (
                "rating".into(),
                JsonBody::String(t("{{ random_int(4, 4) }}")),
            ),
            (
                "tags".into(),
                JsonBody::Array(vec![
                    JsonBody::Bool(true),
                    JsonBody::Null,
                    JsonBody::Number(3.into()),
                ]),
            ),
        ]);
        let mut out = String::new();
        Body::Json(json).render(&EmptyContext, &mut out).unwrap();
        assert_eq!(
            out,
            r#"{"name":"app \"x\"","rating":4,"tags":[true,null,3]}"#
        );
        serde_json::from_str::<serde_json::Value>(&out).unwrap();
        let form = Body::Form(vec![("user name".into(), t("a&b")), ("p".into(), t("1"))]);
        out.clear();
        form.render(&EmptyContext, &mut out).unwrap();
        assert_eq!(out, "user%20name=a%26b&p=1");
        assert_eq!(
            form.content_type(),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(Body::Raw(t("fixed")).fixed().unwrap(), "fixed");
        assert!(Body::Raw(t("{{ uuid() }}")).fixed().is_none());
    }

    #[test]
    fn auth_headers() {
        let mut out = String::new();
        Auth::Basic {
            username: t("user"),
            password: t("pass"),
        }
        .render(&EmptyContext, &mut out)
        .unwrap();
        assert_eq!(out, "Basic dXNlcjpwYXNz");
        out.clear();
        Auth::Bearer(t("tok"))
            .render(&EmptyContext, &mut out)
            .unwrap();
        assert_eq!(out, "Bearer tok");
    }
}
