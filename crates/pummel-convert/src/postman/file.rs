//! The Postman Collection v2.1 format (<https://schema.postman.com/collection/json/v2.1.0/>), as
//! far as conversion reads it. Several fields come in two shapes (a URL as a string or as an
//! object, a host as a string or a list): both are accepted.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(crate) struct Collection {
    pub(crate) info: Info,
    pub(crate) item: Vec<Item>,
    #[serde(default)]
    pub(crate) variable: Vec<Variable>,
    #[serde(default)]
    pub(crate) auth: Option<Auth>,
    #[serde(default, rename = "protocolProfileBehavior")]
    pub(crate) behavior: Option<Behavior>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Info {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) schema: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Item {
    #[serde(default)]
    pub(crate) name: String,
    /// A folder has items…
    #[serde(default)]
    pub(crate) item: Option<Vec<Item>>,
    /// …a request item a request.
    #[serde(default)]
    pub(crate) request: Option<RequestOrUrl>,
    #[serde(default)]
    pub(crate) event: Vec<Event>,
    #[serde(default)]
    pub(crate) auth: Option<Auth>,
    /// Settings of a request, or of a folder's requests.
    #[serde(default, rename = "protocolProfileBehavior")]
    pub(crate) behavior: Option<Behavior>,
}

/// The settings of `protocolProfileBehavior` that conversion reads. Kept as JSON values: a
/// setting of an unexpected type is ignored rather than failing the whole collection.
#[derive(Debug, Deserialize, Clone)]
pub(crate) struct Behavior {
    #[serde(default, rename = "followRedirects")]
    pub(crate) follow_redirects: Option<serde_json::Value>,
    #[serde(default, rename = "maxRedirects")]
    pub(crate) max_redirects: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RequestOrUrl {
    Url(String),
    Request(Box<Request>),
}

#[derive(Debug, Deserialize)]
pub(crate) struct Request {
    #[serde(default)]
    pub(crate) method: Option<String>,
    #[serde(default)]
    pub(crate) header: Headers,
    #[serde(default)]
    pub(crate) body: Option<RequestBody>,
    #[serde(default)]
    pub(crate) url: Option<UrlSpec>,
    #[serde(default)]
    pub(crate) auth: Option<Auth>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(untagged)]
pub(crate) enum Headers {
    List(Vec<KeyValue>),
    /// The old single-string form, `"Name: value\n…"`.
    Text(String),
    #[default]
    #[serde(skip)]
    None,
}

#[derive(Debug, Deserialize, Clone)]
pub(crate) struct KeyValue {
    #[serde(default)]
    pub(crate) key: Option<String>,
    #[serde(default)]
    pub(crate) value: Option<serde_json::Value>,
    #[serde(default)]
    pub(crate) disabled: bool,
    #[serde(default, rename = "type")]
    pub(crate) kind: Option<String>,
    #[serde(default)]
    pub(crate) src: Option<serde_json::Value>,
}

impl KeyValue {
    pub(crate) fn value_text(&self) -> String {
        match &self.value {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct RequestBody {
    #[serde(default)]
    pub(crate) mode: Option<String>,
    #[serde(default)]
    pub(crate) raw: Option<String>,
    #[serde(default)]
    pub(crate) urlencoded: Vec<KeyValue>,
    #[serde(default)]
    pub(crate) formdata: Vec<KeyValue>,
    #[serde(default)]
    pub(crate) graphql: Option<serde_json::Value>,
    #[serde(default)]
    pub(crate) file: Option<serde_json::Value>,
    #[serde(default)]
    pub(crate) options: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum UrlSpec {
    Text(String),
    Parts(Box<UrlParts>),
}

#[derive(Debug, Deserialize)]
pub(crate) struct UrlParts {
    #[serde(default)]
    pub(crate) raw: Option<String>,
    #[serde(default)]
    pub(crate) protocol: Option<String>,
    #[serde(default)]
    pub(crate) host: Option<StringOrList>,
    #[serde(default)]
    pub(crate) port: Option<String>,
    #[serde(default)]
    pub(crate) path: Option<StringOrList>,
    #[serde(default)]
    pub(crate) query: Vec<KeyValue>,
    #[serde(default)]
    pub(crate) variable: Vec<KeyValue>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum StringOrList {
    Text(String),
    List(Vec<serde_json::Value>),
}

impl StringOrList {
    pub(crate) fn joined(&self, sep: &str) -> String {
        match self {
            StringOrList::Text(s) => s.clone(),
            StringOrList::List(parts) => parts
                .iter()
                .map(|p| match p {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Object(o) => o
                        .get("value")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(sep),
        }
    }
}

#[derive(Debug, Deserialize, Clone)]
pub(crate) struct Variable {
    #[serde(default)]
    pub(crate) key: Option<String>,
    #[serde(default)]
    pub(crate) value: Option<serde_json::Value>,
    #[serde(default, rename = "type")]
    pub(crate) kind: Option<String>,
    #[serde(default)]
    pub(crate) disabled: bool,
}

#[derive(Debug, Deserialize, Clone)]
pub(crate) struct Auth {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) bearer: Vec<KeyValue>,
    #[serde(default)]
    pub(crate) basic: Vec<KeyValue>,
    #[serde(default)]
    pub(crate) apikey: Vec<KeyValue>,
}

impl Auth {
    pub(crate) fn param(list: &[KeyValue], key: &str) -> Option<String> {
        list.iter()
            .find(|kv| kv.key.as_deref() == Some(key))
            .map(KeyValue::value_text)
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Event {
    #[serde(default)]
    pub(crate) listen: String,
    #[serde(default)]
    pub(crate) script: Option<Script>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Script {
    #[serde(default)]
    pub(crate) exec: Option<StringOrList>,
}
