//! The generated body of `/bytes/{n}`: a deterministic pattern, streamed without allocating.
//!
//! Byte `i` is `ALPHABET[i % 64]`, printable so it reads well in a terminal. The body is never
//! materialised: frames are slices of one `static` buffer, so a 100 MiB response costs no
//! allocation and no copy.

use bytes::Bytes;
use hyper::body::SizeHint;

/// The repeating unit of the pattern (the URL-safe base64 alphabet: 64 printable characters).
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Frame size with `Content-Length`: large, so a big body takes few polls and writes.
const FRAME: usize = 64 * 1024;

/// Largest frame size in chunked mode: smaller, so even modest bodies arrive as several chunks.
const CHUNKED_FRAME: usize = 16 * 1024;

/// `FRAME` bytes of pattern plus one more period, so a frame can start at any phase of the
/// alphabet and still be a plain slice.
static PATTERN: [u8; FRAME + ALPHABET.len()] = build_pattern();

const fn build_pattern() -> [u8; FRAME + ALPHABET.len()] {
    let mut out = [0u8; FRAME + ALPHABET.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = ALPHABET[i % ALPHABET.len()];
        i += 1;
    }
    out
}

/// The remaining part of a `/bytes` body.
pub(crate) struct Pattern {
    /// Bytes still to send.
    remaining: u64,
    /// Position in the alphabet of the next byte (`sent % 64`).
    phase: usize,
    /// Bytes per frame.
    frame: usize,
    /// Whether to announce the size: `false` makes hyper use chunked encoding on HTTP/1.1.
    announce_size: bool,
}

impl Pattern {
    /// A body of `len` bytes; with `chunked`, sent in at least a few frames (up to four for small
    /// bodies) of unannounced size.
    pub(crate) fn new(len: u64, chunked: bool) -> Self {
        let frame = if chunked {
            let quarter = usize::try_from(len.div_ceil(4)).unwrap_or(CHUNKED_FRAME);
            quarter.clamp(1, CHUNKED_FRAME)
        } else {
            FRAME
        };
        Pattern {
            remaining: len,
            phase: 0,
            frame,
            announce_size: !chunked,
        }
    }

    /// The next frame, or `None` when done.
    pub(crate) fn next_chunk(&mut self) -> Option<Bytes> {
        if self.remaining == 0 {
            return None;
        }
        let len = usize::try_from(self.remaining).map_or(self.frame, |r| r.min(self.frame));
        let chunk = Bytes::from_static(&PATTERN[self.phase..self.phase + len]);
        self.remaining -= len as u64;
        self.phase = (self.phase + len) % ALPHABET.len();
        Some(chunk)
    }

    pub(crate) fn is_done(&self) -> bool {
        self.remaining == 0
    }

    pub(crate) fn size_hint(&self) -> SizeHint {
        if self.announce_size {
            SizeHint::with_exact(self.remaining)
        } else {
            SizeHint::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(mut pattern: Pattern) -> (Vec<u8>, usize) {
        let mut out = Vec::new();
        let mut frames = 0;
        while let Some(chunk) = pattern.next_chunk() {
            out.extend_from_slice(&chunk);
            frames += 1;
        }
        (out, frames)
    }

    fn expected(len: usize) -> Vec<u8> {
        (0..len).map(|i| ALPHABET[i % 64]).collect()
    }

    #[test]
    fn content_length_mode_is_the_pattern() {
        for len in [
            0usize,
            1,
            63,
            64,
            65,
            FRAME - 1,
            FRAME,
            FRAME + 1,
            3 * FRAME + 17,
        ] {
            let pattern = Pattern::new(len as u64, false);
            assert_eq!(pattern.size_hint().exact(), Some(len as u64));
            let (bytes, _) = collect(pattern);
            assert_eq!(bytes, expected(len), "len {len}");
        }
    }

    #[test]
    fn chunked_mode_uses_several_frames_of_unknown_size() {
        for len in [4usize, 100, 1000, 100_000] {
            let pattern = Pattern::new(len as u64, true);
            assert_eq!(pattern.size_hint().exact(), None);
            let (bytes, frames) = collect(pattern);
            assert_eq!(bytes, expected(len), "len {len}");
            assert!(frames >= 4, "len {len}: {frames} frames");
        }
        assert_eq!(collect(Pattern::new(1, true)), (b"A".to_vec(), 1));
    }
}
