//! Decoding of `Transfer-Encoding: chunked` response bodies.
//!
//! The decoder is a state machine fed with whatever bytes have arrived; it
//! consumes what it can and says how much, so a chunk-size line split across
//! two reads is simply left in the buffer until the rest arrives.

/// Longest chunk-size or trailer line accepted (with extensions). Real
/// servers send a few bytes; the limit keeps a hostile peer from making the
/// buffer grow without bound.
const MAX_LINE: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Size,
    Data(u64),
    DataEnd,
    Trailer,
    Done,
}

/// A chunked body that is not valid.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ChunkedError(pub &'static str);

#[derive(Debug)]
pub(crate) struct ChunkedDecoder {
    state: State,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder { state: State::Size }
    }
}

impl ChunkedDecoder {
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `data`, passing body bytes to `on_body`. Returns how many
    /// bytes of `data` were consumed; the rest must be offered again with more
    /// data appended.
    pub(crate) fn decode(
        &mut self,
        data: &[u8],
        mut on_body: impl FnMut(&[u8]),
    ) -> Result<usize, ChunkedError> {
        let mut i = 0;
        loop {
            match self.state {
                State::Done => return Ok(i),
                State::Size => {
                    let Some(line) = take_line(&data[i..])? else {
                        return Ok(i);
                    };
                    i += line.consumed;
                    let size = parse_chunk_size(line.text)?;
                    self.state = if size == 0 {
                        State::Trailer
                    } else {
                        State::Data(size)
                    };
                }
                State::Data(remaining) => {
                    let available = (data.len() - i) as u64;
                    if available == 0 {
                        return Ok(i);
                    }
                    let take = remaining.min(available) as usize;
                    on_body(&data[i..i + take]);
                    i += take;
                    let left = remaining - take as u64;
                    self.state = if left == 0 {
                        State::DataEnd
                    } else {
                        State::Data(left)
                    };
                }
                State::DataEnd => {
                    let Some(line) = take_line(&data[i..])? else {
                        return Ok(i);
                    };
                    if !line.text.is_empty() {
                        return Err(ChunkedError("chunk data longer than its declared size"));
                    }
                    i += line.consumed;
                    self.state = State::Size;
                }
                State::Trailer => {
                    let Some(line) = take_line(&data[i..])? else {
                        return Ok(i);
                    };
                    i += line.consumed;
                    if line.text.is_empty() {
                        self.state = State::Done;
                    }
                }
            }
        }
    }
}

struct Line<'a> {
    text: &'a [u8],
    consumed: usize,
}

/// The next line (without CRLF or LF), or `None` if it has not fully arrived.
fn take_line(data: &[u8]) -> Result<Option<Line<'_>>, ChunkedError> {
    match data.iter().position(|&b| b == b'\n') {
        Some(nl) => {
            let text = &data[..nl];
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            Ok(Some(Line {
                text,
                consumed: nl + 1,
            }))
        }
        None if data.len() > MAX_LINE => Err(ChunkedError("chunk line too long")),
        None => Ok(None),
    }
}

fn parse_chunk_size(line: &[u8]) -> Result<u64, ChunkedError> {
    let digits = match line.iter().position(|&b| b == b';') {
        Some(semi) => &line[..semi],
        None => line,
    };
    let digits = digits.trim_ascii();
    if digits.is_empty() || digits.len() > 15 {
        return Err(ChunkedError("invalid chunk size"));
    }
    let mut size = 0u64;
    for &b in digits {
        let v = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return Err(ChunkedError("invalid chunk size")),
        };
        size = size * 16 + u64::from(v);
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(pieces: &[&[u8]]) -> Result<(Vec<u8>, bool), ChunkedError> {
        let mut d = ChunkedDecoder::default();
        let mut pending = Vec::new();
        let mut body = Vec::new();
        for piece in pieces {
            pending.extend_from_slice(piece);
            let used = d.decode(&pending, |b| body.extend_from_slice(b))?;
            pending.drain(..used);
        }
        Ok((body, d.is_done()))
    }

    #[test]
    fn decodes_whole_and_split_bodies() {
        let wire: &[u8] = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: y\r\n\r\n";
        assert_eq!(
            decode_all(&[wire]).unwrap(),
            (b"hello, world".to_vec(), true)
        );
        // Every split point gives the same result.
        for cut in 0..wire.len() {
            let (a, b) = wire.split_at(cut);
            assert_eq!(
                decode_all(&[a, b]).unwrap(),
                (b"hello, world".to_vec(), true),
                "cut {cut}"
            );
        }
        // Byte by byte.
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        assert_eq!(decode_all(&bytes).unwrap().0, b"hello, world");
    }

    #[test]
    fn accepts_bare_lf_and_uppercase_hex() {
        assert_eq!(
            decode_all(&[b"A\nabcdefghij\n0\n\n"]).unwrap(),
            (b"abcdefghij".to_vec(), true)
        );
    }

    #[test]
    fn incomplete_body_is_not_done() {
        assert_eq!(
            decode_all(&[b"5\r\nhel"]).unwrap(),
            (b"hel".to_vec(), false)
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(decode_all(&[b"zz\r\n"]).is_err());
        assert!(decode_all(&[b"\r\n"]).is_err());
        assert!(decode_all(&[b"3\r\nabcX\r\n"]).is_err());
        assert!(decode_all(&[b"fffffffffffffffff\r\n"]).is_err());
        assert!(decode_all(&[&[b'1'; 5000]]).is_err());
    }
}
