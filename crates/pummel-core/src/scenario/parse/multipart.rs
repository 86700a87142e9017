//! `multipart:` request bodies: field name → text (a template), or →
//! `{ file, filename, content_type }` for a file, or `{ value,
//! content_type }` for text with a content type of its own.

use bytes::Bytes;
use http::HeaderValue;

use super::decoder::Decoder;
use crate::scenario::multipart::{contains_boundary, Part, PartContent};
use crate::scenario::request::Body;
use crate::scenario::yaml::{Kind, Node};

impl Decoder<'_> {
    pub(super) fn decode_multipart(&mut self, node: &Node) -> Body {
        let Some(entries) = self.map_entries(
            node,
            "`multipart` must be a mapping of field names to values or files",
        ) else {
            return Body::Empty;
        };
        let mut parts = Vec::new();
        for (k, v) in entries {
            let Some(name) = self.scalar(k, "a multipart field name") else {
                continue;
            };
            let what = format!("multipart field `{name}`");
            // A list repeats the field, as a browser's form with several inputs of one name.
            let values: Vec<&Node> = match &v.kind {
                Kind::Seq(items) => items.iter().collect(),
                _ => vec![v],
            };
            for value in values {
                if let Some(part) = self.multipart_part(&name, value, &what) {
                    parts.push(part);
                }
            }
        }
        Body::Multipart(parts)
    }

    /// One part of field `name`, from its value (text, or a mapping with `file` or `value`).
    fn multipart_part(&mut self, name: &str, v: &Node, what: &str) -> Option<Part> {
        if !matches!(v.kind, Kind::Map(_)) {
            let text = self.template_or_empty(v, what);
            return Some(Part {
                name: name.to_owned(),
                content: PartContent::Text(text),
                content_type: None,
            });
        }
        let f = self.fields(v, what, &["file", "filename", "content_type", "value"])?;
        let content_type = f.get("content_type").and_then(|n| {
            let ct = self.string(n, "`content_type`")?;
            if HeaderValue::from_str(&ct).is_err() || ct.is_empty() {
                self.err(
                    n.span,
                    format!("{what}: `{ct}` is not a content type a header can carry"),
                );
                return None;
            }
            Some(ct)
        });
        let content = match (f.get("file"), f.get("value")) {
            (Some(_), Some(_)) => {
                self.err(
                    f.key_span("value"),
                    format!("{what}: `value` conflicts with `file`: a part is one or the other"),
                );
                return None;
            }
            (None, Some(value)) => {
                if f.has("filename") {
                    self.err(
                        f.key_span("filename"),
                        format!("{what}: `filename` is for a `file` part"),
                    );
                }
                PartContent::Text(self.template_or_empty(value, what))
            }
            (Some(file), None) => match self.multipart_file(file, what) {
                Some((default_name, bytes)) => {
                    let filename = f
                        .get("filename")
                        .and_then(|n| self.string(n, "`filename`"))
                        .unwrap_or(default_name);
                    PartContent::File { filename, bytes }
                }
                None => return None,
            },
            (None, None) => {
                self.missing(
                    &f,
                    f.span,
                    format!("{what} needs `file` (a file to upload) or `value` (text)"),
                );
                return None;
            }
        };
        Some(Part {
            name: name.to_owned(),
            content,
            content_type,
        })
    }

    /// A file to upload: its name (the path's last part) and its bytes.
    fn multipart_file(&mut self, node: &Node, what: &str) -> Option<(String, Bytes)> {
        let file = self.string(node, "`file`")?;
        let path = self.base_dir.join(&file);
        match crate::limits::read_file(&path, crate::limits::MAX_DATA_FILE_BYTES) {
            Ok(bytes) if contains_boundary(&bytes) => {
                self.err(node.span, format!("{what}: {} contains the multipart boundary pummel uses, so it cannot be sent as a part", path.display()));
                None
            }
            Ok(bytes) => {
                let name = path
                    .file_name()
                    .map_or_else(|| file.clone(), |n| n.to_string_lossy().into_owned());
                Some((name, Bytes::from(bytes)))
            }
            Err(e) => {
                self.err(
                    node.span,
                    format!("{what}: cannot read {}: {e}", path.display()),
                );
                None
            }
        }
    }
}
