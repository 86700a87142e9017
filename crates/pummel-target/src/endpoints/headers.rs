//! `/headers`: the request headers as JSON, so scenario tests can check what a client really sent
//! (and over which HTTP version).

use http::{HeaderMap, Response, StatusCode, Version};
use serde_json::{Map, Value};

use crate::body::Body;
use crate::response;

/// `/headers` → `{"headers": {"name": "value", ...}}`. Names are lower case (as HTTP/2 and hyper
/// normalise them); repeated headers are joined with `", "` (RFC 9110 §5.3); values that are not
/// UTF-8 are shown lossily. `"version"` is the request's HTTP version: `HTTP/1.1`, `HTTP/2.0`.
pub(crate) fn headers(headers: &HeaderMap, version: Version) -> Response<Body> {
    let mut map = Map::new();
    for name in headers.keys() {
        let joined = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
            .collect::<Vec<_>>()
            .join(", ");
        map.insert(name.as_str().to_owned(), Value::String(joined));
    }
    let mut root = Map::new();
    root.insert("headers".to_owned(), Value::Object(map));
    root.insert("version".to_owned(), Value::String(format!("{version:?}")));
    response::json(StatusCode::OK, &Value::Object(root))
}
