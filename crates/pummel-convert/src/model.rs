//! The scenario being written: what both converters build and `emit` writes as YAML. Only the
//! parts of the scenario language a conversion produces are here.

use crate::text::Text;

/// A whole scenario file.
#[derive(Debug, Default)]
pub(crate) struct Document {
    /// Comment lines at the top of the file (what was converted, what was guessed).
    pub(crate) header: Vec<String>,
    pub(crate) name: Option<String>,
    pub(crate) target: Option<String>,
    /// Name → value template, in order.
    pub(crate) variables: Vec<(String, Text)>,
    /// The one scenario's name.
    pub(crate) scenario: String,
    pub(crate) steps: Vec<Step>,
}

#[derive(Debug)]
pub(crate) enum Step {
    Request(Box<RequestStep>),
    Group {
        name: String,
        steps: Vec<Step>,
    },
    /// Requests sent at once (`parallel:`), as a browser loads a page's assets; then a pause.
    Parallel {
        name: String,
        requests: Vec<RequestStep>,
        think_ms: Option<u64>,
    },
}

/// One request and what is checked and captured from its response.
#[derive(Debug, Default)]
pub(crate) struct RequestStep {
    /// Comment lines written above the step.
    pub(crate) comments: Vec<String>,
    pub(crate) name: Option<String>,
    pub(crate) method: String,
    /// Absolute, or starting with `/` (relative to the target).
    pub(crate) url: Text,
    pub(crate) query: Vec<(String, Text)>,
    pub(crate) headers: Vec<(String, Text)>,
    pub(crate) auth: Option<Auth>,
    pub(crate) body: Option<Body>,
    /// The `status` check as YAML (`200`, `[200, 304]`, `2xx`).
    pub(crate) status: Option<String>,
    pub(crate) captures: Vec<(String, Capture)>,
    pub(crate) think_ms: Option<u64>,
    /// The recorded response is a redirect that nothing followed: the step
    /// says `follow_redirects: false`, so its check and captures see it too.
    pub(crate) stop_at_redirect: bool,
    /// Redirects followed at most, when not the default 10 (`follow_redirects: N`);
    /// `stop_at_redirect` wins.
    pub(crate) max_redirects: Option<u32>,
}

#[derive(Debug)]
pub(crate) enum Auth {
    Bearer(Text),
    Basic { username: Text, password: Text },
}

/// A JSON body whose strings are templates.
#[derive(Debug, Clone)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    /// A number as written.
    Number(String),
    String(Text),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    pub(crate) fn from_value(value: &serde_json::Value) -> Json {
        match value {
            serde_json::Value::Null => Json::Null,
            serde_json::Value::Bool(b) => Json::Bool(*b),
            serde_json::Value::Number(n) => Json::Number(n.to_string()),
            serde_json::Value::String(s) => Json::String(Text::lit(s.clone())),
            serde_json::Value::Array(items) => {
                Json::Array(items.iter().map(Json::from_value).collect())
            }
            serde_json::Value::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), Json::from_value(v)))
                    .collect(),
            ),
        }
    }

    /// Calls `f` on every string and number leaf with the key it sits under (the nearest
    /// object key; `None` at the top or directly in a top-level array).
    pub(crate) fn visit_leaves(
        &mut self,
        key: Option<&str>,
        f: &mut dyn FnMut(Option<&str>, &mut Json),
    ) {
        match self {
            Json::Array(items) => {
                for item in items {
                    item.visit_leaves(key, f);
                }
            }
            Json::Object(fields) => {
                for (k, v) in fields.iter_mut() {
                    v.visit_leaves(Some(k.as_str()), f);
                }
            }
            Json::String(_) | Json::Number(_) => f(key, self),
            Json::Null | Json::Bool(_) => {}
        }
    }
}

#[derive(Debug)]
pub(crate) enum Body {
    Json(Json),
    Form(Vec<(String, Text)>),
    Raw(Text),
    /// `multipart:` text fields; a recording holds no uploaded file's content, so a file field
    /// is an empty text part the user points at a file (the step's comment says which).
    Multipart(Vec<(String, Text)>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Capture {
    JsonPath(String),
    Regex(String),
    Header(String),
    Cookie(String),
}
