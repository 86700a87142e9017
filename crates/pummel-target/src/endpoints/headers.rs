//! `/headers`: the request headers as JSON, so scenario tests can check what a client really sent.

use http::{HeaderMap, Response, StatusCode};
use serde_json::{Map, Value};

use crate::body::Body;
use crate::response;

/// `/headers` → `{"headers": {"name": "value", ...}}`. Names are lower case (as HTTP/2 and hyper
/// normalise them); repeated headers are joined with `", "` (RFC 9110 §5.3); values that are not
/// UTF-8 are shown lossily.
pub(crate) fn headers(headers: &HeaderMap) -> Response<Body> {
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
    response::json(StatusCode::OK, &Value::Object(root))
}
