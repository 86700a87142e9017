//! A `multipart/form-data` body (RFC 7578) split into its parts, for the upload endpoint. The body
//! is already in memory and capped; the parts borrow from it.

/// One part: its field name, its file name and content type when given, and its bytes.
pub(crate) struct Part<'b> {
    pub(crate) name: String,
    pub(crate) filename: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) content: &'b [u8],
}

/// The `boundary` parameter of a `multipart/form-data` content type.
pub(crate) fn boundary(content_type: &str) -> Option<&str> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"'))
            .filter(|b| !b.is_empty() && b.len() <= 70)
    })
}

/// Splits `body` at `--boundary` lines; an error says what is malformed.
pub(crate) fn parse<'b>(body: &'b [u8], boundary: &str) -> Result<Vec<Part<'b>>, String> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut rest = body;
    // The preamble before the first delimiter is ignored, as RFC 2046 says.
    let start = find(rest, delimiter).ok_or("the body has no multipart boundary")?;
    rest = &rest[start + delimiter.len()..];
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or("a boundary line must end with CRLF")?;
        let head_end =
            find(rest, b"\r\n\r\n").ok_or("a part has no blank line after its headers")?;
        let head =
            std::str::from_utf8(&rest[..head_end]).map_err(|_| "a part's headers are not UTF-8")?;
        rest = &rest[head_end + 4..];
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(delimiter);
        let end = find(rest, &closing).ok_or("a part is not closed by a boundary")?;
        let content = &rest[..end];
        rest = &rest[end + closing.len()..];
        parts.push(part(head, content)?);
        if parts.len() > 1000 {
            return Err("more than 1000 parts".to_owned());
        }
    }
}

fn part<'b>(head: &str, content: &'b [u8]) -> Result<Part<'b>, String> {
    let mut name = None;
    let mut filename = None;
    let mut content_type = None;
    for line in head.split("\r\n") {
        let Some((key, value)) = line.split_once(':') else {
            return Err(format!("a part header has no colon: {line:?}"));
        };
        if key.trim().eq_ignore_ascii_case("content-disposition") {
            for param in value.split(';').skip(1) {
                let Some((k, v)) = param.trim().split_once('=') else {
                    continue;
                };
                let v = v.trim().trim_matches('"').to_owned();
                match k.trim() {
                    "name" => name = Some(v),
                    "filename" => filename = Some(v),
                    _ => {}
                }
            }
        } else if key.trim().eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_owned());
        }
    }
    Ok(Part {
        name: name.ok_or("a part has no Content-Disposition name")?,
        filename,
        content_type,
        content,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_fields_and_files() {
        let body = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n--XyZ\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n\x00\x01\r\n\x02\r\n--XyZ--\r\n";
        let ct = "multipart/form-data; boundary=\"XyZ\"";
        let parts = parse(body, boundary(ct).unwrap()).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].name.as_str(), parts[0].content),
            ("title", &b"hello"[..])
        );
        assert_eq!(parts[1].filename.as_deref(), Some("a.bin"));
        assert_eq!(
            parts[1].content_type.as_deref(),
            Some("application/octet-stream")
        );
        assert_eq!(parts[1].content, b"\x00\x01\r\n\x02");
        assert!(parse(b"--XyZ\r\nbroken", "XyZ").is_err());
        assert!(boundary("text/plain; boundary=x").is_none());
    }
}
