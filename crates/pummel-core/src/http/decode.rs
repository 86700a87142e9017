//! Response bodies as a browser reads them: gzip and deflate decoded, up to
//! the request's `max_body`.

use std::io::Read;

use super::session::FinalResponse;
use crate::ErrorKind;

/// Decodes a gzip or deflate body in place, keeping at most `max_body`
/// decoded bytes (a small compressed body can expand a thousandfold);
/// identity bodies are left alone.
pub(crate) fn decode_body(response: &mut FinalResponse, max_body: u64) -> Result<(), ErrorKind> {
    let encoding = match response.header("content-encoding") {
        Some(e) => e.trim().to_ascii_lowercase(),
        None => return Ok(()),
    };
    if response.body.is_empty() {
        return Ok(());
    }
    let limit = max_body.saturating_add(1);
    let raw = response.body.as_slice();
    let mut decoded = Vec::with_capacity(raw.len().saturating_mul(4).min(1 << 20));
    let result = match encoding.as_str() {
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
    if result.is_err() && !response.body_truncated {
        return Err(crate::http::failure_reason::note(
            ErrorKind::MalformedResponse,
            "the body does not decompress as its Content-Encoding says",
        ));
    }
    if decoded.len() as u64 > max_body {
        decoded.truncate(usize::try_from(max_body).unwrap_or(usize::MAX));
        response.body_truncated = true;
    }
    response.body = decoded;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_and_deflate_bodies_are_decoded() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"{\"ok\":true}").unwrap();
        let mut r = FinalResponse {
            headers: vec![("content-encoding".into(), "gzip".into())],
            body: gz.finish().unwrap(),
            ..FinalResponse::default()
        };
        decode_body(&mut r, 1 << 20).unwrap();
        assert_eq!(r.body, b"{\"ok\":true}");

        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"zz").unwrap();
        let mut r = FinalResponse {
            headers: vec![("content-encoding".into(), "deflate".into())],
            body: z.finish().unwrap(),
            ..FinalResponse::default()
        };
        decode_body(&mut r, 1 << 20).unwrap();
        assert_eq!(r.body, b"zz");

        let mut bad = FinalResponse {
            headers: vec![("content-encoding".into(), "gzip".into())],
            body: b"not gzip".to_vec(),
            ..FinalResponse::default()
        };
        assert_eq!(
            decode_body(&mut bad, 1 << 20),
            Err(ErrorKind::MalformedResponse)
        );
    }
}
