//! Postman Collection v2.1 → scenario: folders become `group` steps, requests request steps
//! named as in Postman, collection variables `variables:`, auth `auth:` or headers, and the
//! common forms of test scripts (expected status, values kept for later requests) become checks
//! and captures.
//!
//! Module map: `file` (the format), `syntax` (`{{var}}` and `{{$dynamic}}`), `scripts` (what
//! test scripts say), `url` (base URL variables, the scheme Postman adds, query text), `body`
//! (request bodies), `redirects` (the redirect settings inherited down folders).

mod body;
mod file;
mod redirects;
mod scripts;
mod syntax;
mod url;

use self::file::{Auth as PmAuth, Collection, Item, KeyValue, RequestOrUrl, UrlSpec};
use self::redirects::Redirects;
use self::scripts::{Reader, ScriptFacts};
use crate::model::{Auth, Document, RequestStep, Step};
use crate::secrets::{self, EnvVar, Vault};
use crate::text::{Piece, Text};
use crate::{Conversion, ConvertError, Skipped};

/// The boundary of multipart bodies written from `formdata`.
const BOUNDARY: &str = "pummel-form-boundary-7MA4YWxkTrZu0gW";

/// Whether `value` is a Postman Collection v1 (a top-level `requests` list and no `info`), a
/// format Postman no longer exports but still imports.
pub(crate) fn is_version_1(value: &serde_json::Value) -> bool {
    value.get("info").is_none()
        && value.get("name").is_some()
        && value
            .get("requests")
            .is_some_and(serde_json::Value::is_array)
}

/// The collection in `text`, when it is one of the version read.
fn parse(text: &str) -> Result<Collection, ConvertError> {
    let collection: Collection = match serde_json::from_str(text) {
        Ok(collection) => collection,
        Err(_) if serde_json::from_str(text).is_ok_and(|v| is_version_1(&v)) => {
            return Err(ConvertError::Version {
                format: "Postman collection",
                found: "v1".to_owned(),
                supported:
                    "v2.1.0; import the collection into Postman and export it as Collection v2.1",
            });
        }
        Err(e) => {
            return Err(ConvertError::Invalid {
                format: "Postman collection",
                message: e.to_string(),
            })
        }
    };
    if !collection.info.schema.contains("/v2.1") {
        let found = collection
            .info
            .schema
            .split('/')
            .find(|p| p.starts_with('v') && p.contains('.'))
            .unwrap_or(if collection.info.schema.is_empty() {
                "(no info.schema)"
            } else {
                collection.info.schema.as_str()
            })
            .to_owned();
        return Err(ConvertError::Version {
            format: "Postman collection",
            found,
            supported: "v2.1.0; export the collection from Postman as Collection v2.1",
        });
    }
    Ok(collection)
}

pub(crate) fn convert(text: &str) -> Result<Conversion, ConvertError> {
    let collection = parse(text)?;
    let Some(reader) = Reader::new() else {
        return Err(ConvertError::Empty(
            "internal error: a script pattern does not compile".to_owned(),
        ));
    };
    let mut converter = Converter {
        reader,
        variables: collection
            .variable
            .iter()
            .filter(|v| !v.disabled)
            .filter_map(|v| Some((v.key.clone()?, value_text(v.value.as_ref()), v.kind.clone())))
            .collect(),
        captured: Vec::new(),
        secret_variables: Vec::new(),
        env: Vec::new(),
        vault: Vault::default(),
        bases: Vec::new(),
        target: None,
        requests: 0,
        without_url: Vec::new(),
        approximated: Vec::new(),
    };
    collect_captures(&collection.item, &converter.reader, &mut converter.captured);
    converter.find_bases(&collection.item);

    let redirects = Redirects::default().within(collection.behavior.as_ref());
    let steps = converter.items(&collection.item, collection.auth.as_ref(), redirects);
    if converter.requests == 0 {
        let what = if converter.without_url.is_empty() {
            "the collection holds no request"
        } else {
            "the collection holds no request with a URL"
        };
        return Err(ConvertError::Empty(what.to_owned()));
    }
    let mut doc = Document {
        name: Some(collection.info.name.clone()),
        target: converter.target_text(),
        scenario: collection.info.name.clone(),
        steps,
        ..Document::default()
    };
    doc.header.push(format!(
        "Converted by `pummel convert` from the Postman collection {:?}: {} requests.",
        collection.info.name, converter.requests
    ));
    doc.header.push("Folders are groups; collection variables are `variables`; values test scripts keep are captures.".to_owned());
    doc.variables = converter.variables_section();
    if !converter.without_url.is_empty() {
        let names: Vec<String> = converter
            .without_url
            .iter()
            .map(|n| format!("{n:?}"))
            .collect();
        doc.header.push(format!(
            "Left out, for want of a URL: {}.",
            names.join(", ")
        ));
    }
    if !converter.approximated.is_empty() {
        let names: Vec<String> = converter
            .approximated
            .iter()
            .map(|n| format!("{{{{{n}}}}}"))
            .collect();
        doc.header.push(format!(
            "Approximated: {} became 8 random letters and digits (pummel has no such generator).",
            names.join(", ")
        ));
    }
    let mut env = std::mem::take(&mut converter.vault).into_env();
    env.append(&mut converter.env);
    if !env.is_empty() {
        let names: Vec<&str> = env.iter().map(|e| e.name.as_str()).collect();
        doc.header.push(format!(
            "Read from the environment: set {} (or pass --env NAME=VALUE).",
            names.join(", ")
        ));
    }
    Ok(Conversion {
        yaml: crate::emit::document(&doc),
        steps: converter.requests,
        skipped: Skipped::default(),
        correlations: Vec::new(),
        env,
    })
}

fn value_text(value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn collect_captures(items: &[Item], reader: &Reader, out: &mut Vec<String>) {
    for item in items {
        if let Some(children) = &item.item {
            collect_captures(children, reader, out);
        }
        for (name, _) in facts(item, reader).captures {
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
}

fn facts(item: &Item, reader: &Reader) -> ScriptFacts {
    let lines: Vec<String> = item
        .event
        .iter()
        .filter(|e| e.listen == "test")
        .filter_map(|e| e.script.as_ref()?.exec.as_ref())
        .flat_map(|exec| {
            exec.joined("\n")
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    reader.read(&lines)
}

struct Converter {
    reader: Reader,
    /// Collection variables: name, value, type.
    variables: Vec<(String, String, Option<String>)>,
    /// Variables test scripts set.
    captured: Vec<String>,
    /// Collection variables used where a secret goes (a bearer token, a password field): their
    /// values are read from the environment.
    secret_variables: Vec<String>,
    /// Variables no one defines: read from the environment.
    env: Vec<EnvVar>,
    vault: Vault,
    /// Variables request URLs start with (`{{baseUrl}}/api`), and where their values come from.
    bases: Vec<(String, Base)>,
    /// The base most URLs start with: the file's `target`, which those URLs are relative to.
    target: Option<String>,
    requests: usize,
    /// Requests left out because they have no URL (Postman saves a request before it has one).
    without_url: Vec<String>,
    /// Dynamic values (`$randomCity`) that pummel has no generator for, each
    /// replaced by random letters and digits.
    approximated: Vec<String>,
}

/// Where the value of a base variable (one that request URLs start with) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Base {
    /// The collection's value, as an absolute URL (with the `http://` Postman adds to
    /// `localhost:3000`).
    Url(String),
    /// An environment's: the collection does not define the variable, or leaves it empty (the
    /// usual sign that each environment sets it).
    Env {
        /// Whether the collection defines it, empty.
        empty: bool,
    },
}

impl Converter {
    /// Finds the variables request URLs start with and makes the most used one the target.
    fn find_bases(&mut self, items: &[Item]) {
        let mut urls = Vec::new();
        raw_urls(items, &mut urls);
        let mut counts: Vec<(String, Base, usize)> = Vec::new();
        for raw in &urls {
            let Some((name, rest)) = url::leading_variable(raw.trim()) else {
                continue;
            };
            if !url::is_under_base(rest) {
                continue;
            }
            if let Some(entry) = counts.iter_mut().find(|(n, ..)| n == name) {
                entry.2 += 1;
                continue;
            }
            if let Some(base) = self.base_of(name) {
                counts.push((name.to_owned(), base, 1));
            }
        }
        // The first of the most used wins a tie: the collection's order is the user's.
        let mut best: Option<(&str, usize)> = None;
        for (name, _, count) in &counts {
            if best.is_none_or(|(_, most)| *count > most) {
                best = Some((name, *count));
            }
        }
        self.target = best.map(|(name, _)| name.to_owned());
        self.bases = counts.into_iter().map(|(n, b, _)| (n, b)).collect();
        if let Some(name) = self.target.clone() {
            if matches!(self.base(&name), Some(Base::Env { .. })) {
                // Listed now: relative URLs never name it again.
                self.base_from_env(&name);
            }
        }
    }

    /// What a variable a URL starts with holds, when it can be a base URL.
    fn base_of(&self, name: &str) -> Option<Base> {
        if name.starts_with('$') || self.captured.iter().any(|c| c == name) {
            return None;
        }
        match self.variables.iter().find(|(n, ..)| n == name) {
            None => Some(Base::Env { empty: false }),
            Some((_, value, _)) if value.trim().is_empty() => Some(Base::Env { empty: true }),
            Some((_, value, _)) => url::base_url(value).map(Base::Url),
        }
    }

    fn base(&self, name: &str) -> Option<&Base> {
        self.bases.iter().find(|(n, _)| n == name).map(|(_, b)| b)
    }

    /// The file's `target`: the base URL, or the environment variable holding it.
    fn target_text(&self) -> Option<String> {
        let name = self.target.as_deref()?;
        match self.base(name)? {
            Base::Url(url) => Some(url.clone()),
            Base::Env { .. } => Some(format!("{{{{ env.{} }}}}", secrets::env_name(name))),
        }
    }

    /// The `env.NAME` expression for a base variable an environment sets, listed for the user.
    fn base_from_env(&mut self, name: &str) -> String {
        let how = match self.base(name) {
            Some(Base::Env { empty: true }) => "which the collection leaves empty",
            _ => "which the collection does not define",
        };
        let what = if self.target.as_deref() == Some(name) {
            "the base URL"
        } else {
            "the start of request URLs"
        };
        let used_for = format!("{what}: the Postman variable {{{{{name}}}}}, {how}");
        self.env_var(name, used_for, true)
    }

    /// The `env.NAME` expression for a Postman variable an environment sets; the name is listed
    /// for the user once. `is_url`: the value starts request URLs.
    fn env_var(&mut self, name: &str, used_for: String, is_url: bool) -> String {
        let env_name = secrets::env_name(name);
        match self.env.iter_mut().find(|e| e.name == env_name) {
            Some(known) => known.is_url |= is_url,
            None => self.env.push(EnvVar {
                name: env_name.clone(),
                used_for,
                is_url,
            }),
        }
        format!("env.{env_name}")
    }

    fn variables_section(&mut self) -> Vec<(String, Text)> {
        let mut out = Vec::new();
        for (name, value, kind) in self.variables.clone() {
            if self.target.as_deref() == Some(name.as_str())
                || matches!(self.base(&name), Some(Base::Env { .. }))
            {
                continue;
            }
            let secret = secrets::is_secret_name(&name)
                || kind.as_deref() == Some("secret")
                || self.secret_variables.contains(&name);
            if self.captured.contains(&name) && (value.is_empty() || secret) {
                continue;
            }
            let text = if secret && value.is_empty() {
                // Left empty for each user to fill in: from the environment too.
                Text::expr(self.env_var(
                    &name,
                    format!(
                        "the Postman variable {{{{{name}}}}}, a secret the collection leaves empty"
                    ),
                    false,
                ))
            } else if secret {
                let mut t = self.template(&value);
                self.vault
                    .hide(&mut t, &name, &format!("collection variable {name}"));
                t
            } else {
                self.template(&value)
            };
            out.push((syntax::variable_name(&name), text));
        }
        out
    }

    /// Hides a value in a secret position (a token, a password, an API key): a literal moves to
    /// the environment now, and the collection variables it names are marked, so that
    /// `variables:` reads their values from the environment too.
    fn hide(&mut self, text: &mut Text, hint: &str, used_for: &str) {
        self.vault.hide(text, hint, used_for);
        for piece in &text.0 {
            let Piece::Expr(expr) = piece else { continue };
            let named = self
                .variables
                .iter()
                .find(|(n, ..)| syntax::variable_name(n) == *expr)
                .map(|(n, ..)| n.clone());
            if let Some(name) = named {
                if !self.secret_variables.contains(&name) {
                    self.secret_variables.push(name);
                }
            }
        }
    }

    /// Postman text → template.
    fn template(&mut self, s: &str) -> Text {
        let mut resolve = |name: &str| self.resolve(name);
        syntax::convert(s, &mut resolve)
    }

    fn resolve(&mut self, name: &str) -> Text {
        if name.starts_with('$') {
            let (text, exact) = syntax::dynamic(name);
            if !exact && !self.approximated.iter().any(|a| a == name) {
                self.approximated.push(name.to_owned());
            }
            return text;
        }
        Text::expr(self.resolve_variable(name))
    }

    /// The expression for a `{{name}}` that is not a dynamic value.
    fn resolve_variable(&mut self, name: &str) -> String {
        match self.base(name) {
            Some(Base::Env { .. }) => return self.base_from_env(name),
            Some(Base::Url(_)) if self.target.as_deref() == Some(name) => {
                // Not in `variables:` (it is the target): its value, where it is not the start
                // of a URL, as the collection gives it.
                let value = self.value_of(name).unwrap_or_default();
                return format!("'{}'", value.replace('\'', ""));
            }
            _ => {}
        }
        if self.captured.iter().any(|c| c == name) || self.variables.iter().any(|(n, ..)| n == name)
        {
            return syntax::variable_name(name);
        }
        self.env_var(
            name,
            format!("the Postman variable {{{{{name}}}}}, which the collection does not define"),
            false,
        )
    }

    /// A collection variable's value.
    fn value_of(&self, name: &str) -> Option<String> {
        self.variables
            .iter()
            .find(|(n, ..)| n == name)
            .map(|(_, v, _)| v.clone())
    }

    fn items(&mut self, items: &[Item], auth: Option<&PmAuth>, redirects: Redirects) -> Vec<Step> {
        let mut steps = Vec::new();
        for item in items {
            let auth = own_auth(item.auth.as_ref()).or(auth);
            let redirects = redirects.within(item.behavior.as_ref());
            if let Some(children) = &item.item {
                let inner = self.items(children, auth, redirects);
                if !inner.is_empty() {
                    steps.push(Step::Group {
                        name: item.name.clone(),
                        steps: inner,
                    });
                }
            } else if let Some(request) = &item.request {
                if request_url(request).0.trim().is_empty() {
                    self.without_url.push(item.name.clone());
                    continue;
                }
                let mut step = self.request(item, request, auth);
                redirects.apply(&mut step);
                self.requests += 1;
                steps.push(Step::Request(Box::new(step)));
            }
        }
        steps
    }

    fn request(
        &mut self,
        item: &Item,
        request: &RequestOrUrl,
        auth: Option<&PmAuth>,
    ) -> RequestStep {
        let mut step = RequestStep {
            name: Some(item.name.clone()).filter(|n| !n.is_empty()),
            method: "GET".to_owned(),
            ..RequestStep::default()
        };
        if let RequestOrUrl::Request(r) = request {
            if let Some(m) = &r.method {
                m.to_ascii_uppercase().clone_into(&mut step.method);
            }
        }
        let (url, spec) = request_url(request);
        self.url(
            &mut step,
            &url,
            spec.map(|p| (&p.query[..], &p.variable[..])),
        );
        let request = match request {
            RequestOrUrl::Request(r) => Some(r),
            RequestOrUrl::Url(_) => None,
        };
        let auth = own_auth(request.and_then(|r| r.auth.as_ref())).or(auth);
        if let Some(request) = request {
            self.headers(&mut step, &request.header);
            if let Some(body) = &request.body {
                self.body(&mut step, body);
            }
        }
        if let Some(auth) = auth {
            self.auth(&mut step, auth);
        }
        let facts = facts(item, &self.reader);
        step.status = Some(facts.status.unwrap_or_else(|| "2xx".to_owned()));
        for (name, capture) in facts.captures {
            step.captures.push((syntax::variable_name(&name), capture));
        }
        if facts.unread_lines > 0 {
            step.comments.push(format!(
                "{} line(s) of this request's test script say more than a status check or a kept value: not converted",
                facts.unread_lines
            ));
        }
        step
    }

    fn url(
        &mut self,
        step: &mut RequestStep,
        raw: &str,
        parts: Option<(&[KeyValue], &[KeyValue])>,
    ) {
        let raw = raw.trim();
        let raw = raw.split('#').next().unwrap_or("");
        let (mut base, query) = raw.split_once('?').unwrap_or((raw, ""));
        let mut relative = false;
        let leading = url::leading_variable(base);
        if let Some((name, rest)) = leading {
            if self.target.as_deref() == Some(name) && url::is_under_base(rest) {
                base = rest;
                relative = true;
            }
        }
        // A URL without a scheme, or starting with a collection value without one
        // (`localhost:3000`): Postman sends it with `http://`.
        let value_lacks_scheme = leading.is_some_and(|(name, _)| {
            !relative
                && !self.captured.iter().any(|c| c == name)
                && self.value_of(name).is_some_and(|v| url::lacks_scheme(&v))
        });
        let mut url = String::new();
        if relative {
            if !base.starts_with('/') {
                url.push('/');
            }
        } else if value_lacks_scheme
            || !(base.starts_with("http://")
                || base.starts_with("https://")
                || base.starts_with("{{"))
        {
            url.push_str("http://");
        }
        url.push_str(base);
        // Path variables (`/apps/:id`) take their values from the URL's `variable` list.
        let path_vars = parts.map_or(&[][..], |p| p.1);
        let mut text = Text::default();
        for (i, segment) in url.split('/').enumerate() {
            if i > 0 {
                text.append(Text::lit("/"));
            }
            match segment.strip_prefix(':') {
                Some(name) if !name.is_empty() => {
                    let value = path_vars
                        .iter()
                        .find(|v| v.key.as_deref() == Some(name))
                        .map(KeyValue::value_text)
                        .filter(|v| !v.is_empty())
                        .unwrap_or_else(|| format!("{{{{{name}}}}}"));
                    text.append(self.template(&value));
                }
                _ => text.append(self.template(segment)),
            }
        }
        step.url = text;
        // Name and value (`None`: no `=`), as Postman sends them.
        let listed: Vec<(String, Option<String>)> = match parts {
            Some((q, _)) if !q.is_empty() => q
                .iter()
                .filter(|kv| !kv.disabled)
                .filter_map(|kv| {
                    let value = kv.value.as_ref().filter(|v| !v.is_null());
                    Some((kv.key.clone()?, value.map(|_| kv.value_text())))
                })
                .collect(),
            _ => query
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| match p.split_once('=') {
                    Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                    None => (p.to_owned(), None),
                })
                .collect(),
        };
        // Postman's query text is what goes on the wire, escapes made; `query:` escapes what it
        // is given, so the text is decoded once for it. Where decoding cannot give back what
        // was sent — a `+` (a space to some servers, a plus to others), a `%` that escapes
        // nothing — the query stays in the URL as written.
        let as_sent = listed.iter().any(|(name, value)| {
            !url::query_text_decodes(name)
                || value
                    .as_deref()
                    .is_some_and(|v| !url::query_text_decodes(v))
        });
        for (i, (name, value)) in listed.into_iter().enumerate() {
            let name = if as_sent {
                name
            } else {
                url::percent_decode(&name).unwrap_or(name)
            };
            let mut value_text = self.template(value.as_deref().unwrap_or(""));
            if !as_sent {
                value_text = decode_literals(value_text);
            }
            if secrets::is_secret_name(&name) {
                self.hide(&mut value_text, &name, &format!("query parameter {name}"));
            }
            if as_sent {
                step.url.append(Text::lit(format!(
                    "{}{name}",
                    if i == 0 { '?' } else { '&' }
                )));
                if value.is_some() {
                    step.url.append(Text::lit("="));
                    step.url.append(value_text);
                }
            } else {
                step.query.push((name, value_text));
            }
        }
    }

    fn headers(&mut self, step: &mut RequestStep, headers: &file::Headers) {
        let list: Vec<(String, String)> = match headers {
            file::Headers::List(list) => list
                .iter()
                .filter(|kv| !kv.disabled)
                .filter_map(|kv| Some((kv.key.clone()?, kv.value_text())))
                .collect(),
            file::Headers::Text(text) => text
                .lines()
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .collect(),
            file::Headers::None => Vec::new(),
        };
        for (name, value) in list {
            let lower = name.to_ascii_lowercase();
            if lower == "cookie" || step.headers.iter().any(|(n, _)| *n == lower) {
                continue;
            }
            let mut value = self.template(&value);
            if secrets::is_secret_name(&lower) {
                self.hide(
                    &mut value,
                    &lower,
                    &format!(
                        "header {name} of {}",
                        step.name.as_deref().unwrap_or("a request")
                    ),
                );
            }
            step.headers.push((lower, value));
        }
    }

    fn auth(&mut self, step: &mut RequestStep, auth: &PmAuth) {
        match auth.kind.as_str() {
            "noauth" => {}
            "bearer" => {
                let token = PmAuth::param(&auth.bearer, "token").unwrap_or_default();
                let mut token = self.template(&token);
                self.hide(&mut token, "token", "the bearer token");
                step.auth = Some(Auth::Bearer(token));
            }
            "basic" => {
                let username = PmAuth::param(&auth.basic, "username").unwrap_or_default();
                let password = PmAuth::param(&auth.basic, "password").unwrap_or_default();
                let username = self.template(&username);
                let mut password = self.template(&password);
                self.hide(&mut password, "password", "the Basic auth password");
                step.auth = Some(Auth::Basic { username, password });
            }
            "apikey" => {
                let key =
                    PmAuth::param(&auth.apikey, "key").unwrap_or_else(|| "x-api-key".to_owned());
                let value = PmAuth::param(&auth.apikey, "value").unwrap_or_default();
                let mut value = self.template(&value);
                self.hide(&mut value, &key, &format!("the API key {key}"));
                if PmAuth::param(&auth.apikey, "in").as_deref() == Some("query") {
                    step.query.push((key, value));
                } else {
                    step.headers.push((key.to_ascii_lowercase(), value));
                }
            }
            other => step
                .comments
                .push(format!("Postman auth of type {other} is not converted")),
        }
    }
}

/// `text` with its literal pieces percent-decoded (those that decode).
fn decode_literals(text: Text) -> Text {
    let mut out = Text::default();
    for piece in text.0 {
        out.push(match piece {
            Piece::Lit(s) => Piece::Lit(url::percent_decode(&s).unwrap_or(s)),
            expr @ Piece::Expr(_) => expr,
        });
    }
    out
}

/// An item's own auth: `inherit` (what Postman writes for "inherit auth from parent") is none
/// of its own, so the parent's applies.
fn own_auth(auth: Option<&PmAuth>) -> Option<&PmAuth> {
    auth.filter(|a| a.kind != "inherit")
}

/// The URL of a request as Postman shows it.
fn assemble(parts: &file::UrlParts) -> String {
    if let Some(raw) = &parts.raw {
        return raw.clone();
    }
    let mut url = String::new();
    if let Some(p) = &parts.protocol {
        url.push_str(p);
        url.push_str("://");
    }
    if let Some(h) = &parts.host {
        url.push_str(&h.joined("."));
    }
    if let Some(p) = &parts.port {
        url.push(':');
        url.push_str(p);
    }
    if let Some(p) = &parts.path {
        let path = p.joined("/");
        if !path.starts_with('/') {
            url.push('/');
        }
        url.push_str(&path);
    }
    url
}

/// A request's URL as Postman shows it (empty when it has none), and its parts when given.
fn request_url(request: &RequestOrUrl) -> (String, Option<&file::UrlParts>) {
    match request {
        RequestOrUrl::Url(u) => (u.clone(), None),
        RequestOrUrl::Request(r) => match &r.url {
            Some(UrlSpec::Text(u)) => (u.clone(), None),
            Some(UrlSpec::Parts(parts)) => (assemble(parts), Some(parts)),
            None => (String::new(), None),
        },
    }
}

fn raw_urls(items: &[Item], out: &mut Vec<String>) {
    for item in items {
        if let Some(children) = &item.item {
            raw_urls(children, out);
        }
        if let Some(request) = &item.request {
            out.push(request_url(request).0);
        }
    }
}

#[cfg(test)]
mod tests;
