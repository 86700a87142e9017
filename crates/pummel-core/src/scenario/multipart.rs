//! `multipart:` request bodies (`multipart/form-data`, RFC 7578): text
//! fields, which are templates, and files, read when the scenario loads.

use bytes::Bytes;

use super::template::{Context, RenderError, Template};

/// The boundary between parts. Fixed, so the content type is a constant;
/// a file that contains it is refused when the file loads, a text field
/// that renders to it fails its request.
pub(crate) const BOUNDARY: &str = "pummel-form-boundary-Xq7Lw2Rb9vTz";

/// The content type of every multipart body.
pub(crate) const CONTENT_TYPE: &str =
    "multipart/form-data; boundary=pummel-form-boundary-Xq7Lw2Rb9vTz";

/// One part of a multipart body.
#[derive(Clone, Debug)]
pub(crate) struct Part {
    pub name: String,
    pub content: PartContent,
    /// The part's `Content-Type`; files default to
    /// `application/octet-stream`, text fields send none.
    pub content_type: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) enum PartContent {
    Text(Template),
    File { filename: String, bytes: Bytes },
}

/// Appends the whole body. `Err(None)` means a text field contains the
/// boundary.
pub(crate) fn render(
    parts: &[Part],
    ctx: &dyn Context,
    text: &mut String,
    out: &mut Vec<u8>,
) -> Result<(), Option<RenderError>> {
    for part in parts {
        out.extend_from_slice(b"--");
        out.extend_from_slice(BOUNDARY.as_bytes());
        out.extend_from_slice(b"\r\nContent-Disposition: form-data; name=\"");
        out.extend_from_slice(quoted(&part.name).as_bytes());
        out.push(b'"');
        match &part.content {
            PartContent::Text(t) => {
                text.clear();
                t.render(ctx, text).map_err(Some)?;
                if text.contains(BOUNDARY) {
                    return Err(None);
                }
                header_end(out, part.content_type.as_deref());
                out.extend_from_slice(text.as_bytes());
            }
            PartContent::File { filename, bytes } => {
                out.extend_from_slice(b"; filename=\"");
                out.extend_from_slice(quoted(filename).as_bytes());
                out.push(b'"');
                header_end(
                    out,
                    Some(
                        part.content_type
                            .as_deref()
                            .unwrap_or("application/octet-stream"),
                    ),
                );
                out.extend_from_slice(bytes);
            }
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"--");
    out.extend_from_slice(BOUNDARY.as_bytes());
    out.extend_from_slice(b"--\r\n");
    Ok(())
}

fn header_end(out: &mut Vec<u8>, content_type: Option<&str>) {
    if let Some(ct) = content_type {
        out.extend_from_slice(b"\r\nContent-Type: ");
        out.extend_from_slice(ct.as_bytes());
    }
    out.extend_from_slice(b"\r\n\r\n");
}

/// A name or file name inside a quoted parameter: quotes and line breaks
/// percent-encoded, as browsers do (RFC 7578 §4.2).
fn quoted(s: &str) -> String {
    s.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Whether `bytes` contain the boundary (a file that cannot be sent).
pub(crate) fn contains_boundary(bytes: &[u8]) -> bool {
    bytes
        .windows(BOUNDARY.len())
        .any(|w| w == BOUNDARY.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::template::EmptyContext;

    #[test]
    fn renders_fields_and_files() {
        let parts = vec![
            Part {
                name: "title".into(),
                content: PartContent::Text(Template::parse("My \"app\"").unwrap()),
                content_type: None,
            },
            Part {
                name: "icon".into(),
                content: PartContent::File {
                    filename: "i.png".into(),
                    bytes: Bytes::from_static(b"\x89PNG"),
                },
                content_type: Some("image/png".into()),
            },
        ];
        let mut out = Vec::new();
        render(&parts, &EmptyContext, &mut String::new(), &mut out).unwrap();
        let mut expected = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nMy \"app\"\r\n\
             --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"icon\"; filename=\"i.png\"\r\n\
             Content-Type: image/png\r\n\r\n"
        )
        .into_bytes();
        expected.extend_from_slice(b"\x89PNG");
        expected.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        assert_eq!(out, expected, "{}", String::from_utf8_lossy(&out));
        assert!(out.starts_with(format!("--{BOUNDARY}\r\n").as_bytes()));
        assert!(out.ends_with(format!("--{BOUNDARY}--\r\n").as_bytes()));
        assert!(contains_boundary(&out));
        let bad = vec![Part {
            name: "x".into(),
            content: PartContent::Text(Template::parse(&format!("a{BOUNDARY}")).unwrap()),
            content_type: None,
        }];
        assert!(matches!(
            render(&bad, &EmptyContext, &mut String::new(), &mut Vec::new()),
            Err(None)
        ));
    }
}
