//! Rendering a step for a virtual user: its templates evaluated against the
//! VU's variables into a request, a WebSocket URL and headers, or a message.
//! Nothing is sent when rendering fails; the iteration aborts with the error.

use std::fmt;
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};

use crate::http::session::Request;
use crate::http::target::UrlError;
use crate::http::TargetUrl;
use crate::scenario::cookie::CookieJar;
use crate::scenario::model::Plan;
use crate::scenario::request::{Header, RequestStep};
use crate::scenario::template::{self, Context, Template};
use crate::scenario::websocket::WsMessage;
use crate::ws::WsUrl;

/// Why a step could not be rendered for a VU.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A template could not be rendered (a name without a value, a function
    /// with an unusable argument).
    #[error("{part}: {source}")]
    Template {
        part: StepPart,
        source: template::RenderError,
    },
    /// A rendered header value has bytes a header cannot carry.
    #[error("header {name}: invalid value {value:?}")]
    HeaderValue { name: HeaderName, value: String },
    /// Rendered credentials are not a valid `Authorization` value.
    #[error("auth: the credentials have characters a header cannot carry (line breaks, control characters)")]
    Credentials,
    /// A `multipart` text field rendered to text that holds the parts'
    /// boundary.
    #[error("multipart: a field's value contains the parts' boundary")]
    MultipartBoundary,
    /// The rendered URL is not one pummel can request.
    #[error(transparent)]
    Url(#[from] UrlError),
}

impl RenderError {
    pub(super) fn template(part: StepPart, source: template::RenderError) -> RenderError {
        RenderError::Template { part, source }
    }
}

/// The part of a step whose template failed.
#[derive(Debug)]
pub enum StepPart {
    /// A request's URL (its source text).
    Url(String),
    Header(HeaderName),
    Auth,
    Body,
    /// One of the plan's `variables`, by name.
    Variable(String),
    /// A `ws_connect` URL (its source text).
    WsConnectUrl(String),
    /// A `ws_send` message.
    WsMessage,
}

impl fmt::Display for StepPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepPart::Url(source) => write!(f, "url {source:?}"),
            StepPart::Header(name) => write!(f, "header {name}"),
            StepPart::Auth => f.write_str("auth"),
            StepPart::Body => f.write_str("body"),
            StepPart::Variable(name) => write!(f, "variable `{name}`"),
            StepPart::WsConnectUrl(source) => write!(f, "ws_connect url {source:?}"),
            StepPart::WsMessage => f.write_str("ws_send"),
        }
    }
}

/// Buffers a VU reuses from one request to the next.
#[derive(Default)]
pub(super) struct Buffers {
    url: String,
    body: String,
}

/// Renders a request step into a request.
pub(super) fn request(
    plan: &Plan,
    step: &RequestStep,
    vars: &dyn Context,
    buffers: &mut Buffers,
) -> Result<Request, RenderError> {
    let mut url = std::mem::take(&mut buffers.url);
    url.clear();
    let rendered = step
        .render_url(vars, &mut url)
        .map_err(|e| RenderError::template(StepPart::Url(step.url.source().to_owned()), e));
    let resolved = rendered.and_then(|()| Ok(plan.resolve_url(&url)?));
    buffers.url = url;
    let url = resolved?;

    let mut headers: Vec<(HeaderName, HeaderValue)> =
        Vec::with_capacity(plan.defaults.headers.len() + step.headers.len() + 2);
    let mut value = String::new();
    for h in plan.headers_for(step) {
        value.clear();
        h.value
            .render(vars, &mut value)
            .map_err(|e| RenderError::template(StepPart::Header(h.name.clone()), e))?;
        headers.push((h.name.clone(), header_value(&h.name, &value)?));
    }
    if let Some(auth) = plan.auth_for(step) {
        value.clear();
        auth.render(vars, &mut value)
            .map_err(|e| RenderError::template(StepPart::Auth, e))?;
        let v = HeaderValue::from_str(&value).map_err(|_| RenderError::Credentials)?;
        headers.retain(|(n, _)| n != http::header::AUTHORIZATION);
        headers.push((http::header::AUTHORIZATION, v));
    }
    if let Some(content_type) = step.body.content_type() {
        if !headers.iter().any(|(n, _)| n == http::header::CONTENT_TYPE) {
            headers.push((
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(content_type),
            ));
        }
    }
    let body = match (step.body.fixed(), &step.body) {
        (Some(bytes), _) => bytes,
        (None, crate::scenario::request::Body::Multipart(parts)) => {
            let mut bytes = Vec::new();
            crate::scenario::multipart::render(parts, vars, &mut value, &mut bytes).map_err(
                |e| match e {
                    Some(e) => RenderError::template(StepPart::Body, e),
                    None => RenderError::MultipartBoundary,
                },
            )?;
            Bytes::from(bytes)
        }
        (None, _) => {
            let mut body = std::mem::take(&mut buffers.body);
            body.clear();
            let rendered = step.body.render(vars, &mut body);
            let bytes = Bytes::copy_from_slice(body.as_bytes());
            buffers.body = body;
            rendered.map_err(|e| RenderError::template(StepPart::Body, e))?;
            bytes
        }
    };
    Ok(Request {
        method: step.method.clone(),
        url,
        headers,
        body,
        max_body: plan.max_body_for(step),
        tls: plan.tls_for(step.tls),
        proxy: step.proxy,
        http2: plan.http2_for(step),
    })
}

/// The URL and headers of a `ws_connect`: a `ws://`/`wss://` URL as it is,
/// or a path on the target, upgraded from its http/https; the VU's
/// cookies go along, as a browser sends them.
pub(super) fn ws_connect(
    plan: &Plan,
    url: &Template,
    headers: &[Header],
    vars: &dyn Context,
    jar: Option<&mut CookieJar>,
) -> Result<(WsUrl, Vec<(HeaderName, HeaderValue)>), RenderError> {
    let rendered = url
        .render_to_string(vars)
        .map_err(|e| RenderError::template(StepPart::WsConnectUrl(url.source().to_owned()), e))?;
    let lower = rendered.get(..6).unwrap_or(&rendered).to_ascii_lowercase();
    let ws_url = if lower.starts_with("ws://") || lower.starts_with("wss://") {
        WsUrl::parse(&rendered)?
    } else {
        let target = plan.resolve_url(&rendered)?;
        let scheme = if target.scheme.is_tls() { "wss" } else { "ws" };
        let url = format!("{scheme}://{}{}", target.authority, target.path_and_query);
        WsUrl { target, url }
    };
    let mut out = Vec::with_capacity(headers.len() + 1);
    for h in headers {
        let value = h
            .value
            .render_to_string(vars)
            .map_err(|e| RenderError::template(StepPart::Header(h.name.clone()), e))?;
        out.push((h.name.clone(), header_value(&h.name, &value)?));
    }
    if let Some(cookie) = jar.and_then(|jar| cookie_header(jar, &ws_url.target)) {
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            out.push((http::header::COOKIE, v));
        }
    }
    Ok((ws_url, out))
}

/// The text of a `ws_send`.
pub(super) fn ws_message(message: &WsMessage, vars: &dyn Context) -> Result<String, RenderError> {
    let mut out = String::new();
    match message {
        WsMessage::Text(t) => t.render(vars, &mut out),
        WsMessage::Json(j) => j.render(vars, &mut out),
    }
    .map_err(|e| RenderError::template(StepPart::WsMessage, e))?;
    Ok(out)
}

/// The `Cookie` header `jar` has for `url`, if any.
pub(super) fn cookie_header(jar: &mut CookieJar, url: &TargetUrl) -> Option<String> {
    if jar.is_empty() {
        return None;
    }
    let mut out = String::new();
    jar.header_for(url, SystemTime::now(), &mut out)
        .then_some(out)
}

/// The most characters of a render error a failure example keeps: a 1 MB
/// URL is named by its start, not echoed whole into the result.
const MAX_MESSAGE_CHARS: usize = 300;

/// `e`'s message, cut to [`MAX_MESSAGE_CHARS`].
pub(super) fn message(e: &RenderError) -> String {
    let text = e.to_string();
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((at, _)) => format!("{}… ({} bytes in all)", &text[..at], text.len()),
        None => text,
    }
}

fn header_value(name: &HeaderName, value: &str) -> Result<HeaderValue, RenderError> {
    HeaderValue::from_str(value).map_err(|_| RenderError::HeaderValue {
        name: name.clone(),
        value: value.to_owned(),
    })
}
