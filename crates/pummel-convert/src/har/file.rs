//! The HAR 1.2 format (<http://www.softwareishard.com/blog/har-12-spec/>), as far as conversion
//! reads it. Fields the specification requires are required here; everything it marks optional
//! (or browsers add, `_`-prefixed) is optional or ignored, so a file from any recorder reads.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(crate) struct HarFile {
    pub(crate) log: Log,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Log {
    pub(crate) version: String,
    pub(crate) entries: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Entry {
    pub(crate) started_date_time: String,
    /// Total milliseconds; -1 or absent in some recorders for an aborted request.
    #[serde(default)]
    pub(crate) time: f64,
    pub(crate) request: Request,
    pub(crate) response: Response,
    /// Chrome's mark of a response served from its cache (`memory`, `disk`): no request
    /// reached the server.
    #[serde(rename = "_fromCache", default)]
    pub(crate) from_cache: Option<String>,
    /// Chrome's kind of request (`document`, `xhr`, `preflight`, …).
    #[serde(rename = "_resourceType", default)]
    pub(crate) resource_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) url: String,
    pub(crate) headers: Vec<NameValue>,
    #[serde(default)]
    pub(crate) post_data: Option<PostData>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct NameValue {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PostData {
    #[serde(default)]
    pub(crate) mime_type: String,
    #[serde(default)]
    pub(crate) params: Vec<Param>,
    #[serde(default)]
    pub(crate) text: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Param {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) value: Option<String>,
    #[serde(default)]
    pub(crate) file_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Response {
    pub(crate) status: i64,
    pub(crate) headers: Vec<NameValue>,
    pub(crate) content: Content,
    #[serde(default, rename = "redirectURL")]
    pub(crate) redirect_url: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Content {
    #[serde(default)]
    pub(crate) mime_type: String,
    #[serde(default)]
    pub(crate) text: Option<String>,
    #[serde(default)]
    pub(crate) encoding: Option<String>,
}

impl Response {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }
}
