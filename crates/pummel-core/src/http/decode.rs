//! Response bodies as a browser reads them: gzip and deflate decoded, up to
//! the request's `max_body`.

use std::io::Read;

use crate::ErrorKind;

/// Decodes a body sent with `Content-Encoding: encoding` (lower case) in
/// place, keeping at most `max_body` decoded bytes (a small compressed body
/// can expand a thousandfold); identity bodies are left alone. `truncated`
/// says the body was cut at `max_body` already, and is set when decoding
/// cuts it.
pub(crate) fn decode_body(
    encoding: &str,
    body: &mut Vec<u8>,
    truncated: &mut bool,
    max_body: u64,
) -> Result<(), ErrorKind> {
    if body.is_empty() {
        return Ok(());
    }
    let limit = max_body.saturating_add(1);
    let raw = body.as_slice();
    let mut decoded = Vec::with_capacity(raw.len().saturating_mul(4).min(1 << 20));
    let result = match encoding {
        "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(raw)
            .take(limit)
            .read_to_end(&mut decoded),
        "deflate" => {
            // "deflate" is zlib-wrapped by the standard, raw by some servers.
            match flate2::read::ZlibDecoder::new(raw)
                .take(limit)
                .read_to_end(&mut decoded)
            {
                Ok(n) => Ok(n),
                Err(_) => {
                    decoded.clear();
                    flate2::read::DeflateDecoder::new(raw)
                        .take(limit)
                        .read_to_end(&mut decoded)
                }
            }
        }
        _ => return Ok(()),
    };
    // A stream cut at `max_body` cannot decode to its end: what decoded is
    // the start of the body, and the body is marked truncated.
    if result.is_err() && !*truncated {
        return Err(crate::http::failure_reason::note(
            ErrorKind::MalformedResponse,
            "the body does not decompress as its Content-Encoding says",
        ));
    }
    if decoded.len() as u64 > max_body {
        decoded.truncate(usize::try_from(max_body).unwrap_or(usize::MAX));
        *truncated = true;
    }
    *body = decoded;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `body` as `encoding`, with room for 1 MiB.
    fn decode(encoding: &str, mut body: Vec<u8>) -> Result<Vec<u8>, ErrorKind> {
        decode_body(encoding, &mut body, &mut false, 1 << 20).map(|()| body)
    }

    #[test]
    fn gzip_and_deflate_bodies_are_decoded() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"{\"ok\":true}").unwrap();
        assert_eq!(
            decode("gzip", gz.finish().unwrap()).unwrap(),
            b"{\"ok\":true}"
        );

        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"zz").unwrap();
        assert_eq!(decode("deflate", z.finish().unwrap()).unwrap(), b"zz");

        assert_eq!(
            decode("gzip", b"not gzip".to_vec()),
            Err(ErrorKind::MalformedResponse)
        );
        assert_eq!(decode("br", b"kept".to_vec()).unwrap(), b"kept");
    }
}
