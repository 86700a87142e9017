//! Parsing of the numbers and flags endpoints take from the path and the query string.
//!
//! Everything here returns a message for a 400 rather than failing in any other way: the server
//! must survive any input a fuzzer or a typo can produce.

/// Parses a non-negative decimal integer made only of ASCII digits (no sign, no spaces — `str::parse`
/// would accept a leading `+`) and at most `max`. The error is a message for a 400 response.
pub(crate) fn number(what: &str, text: &str, max: u64) -> Result<u64, String> {
    let valid_digits =
        !text.is_empty() && text.len() <= 20 && text.bytes().all(|b| b.is_ascii_digit());
    let value = if valid_digits {
        text.parse::<u64>().ok()
    } else {
        None
    };
    match value {
        Some(v) if v <= max => Ok(v),
        Some(_) | None if valid_digits => Err(format!(
            "{what} must be at most {max}, got {}",
            shorten(text)
        )),
        _ => Err(format!(
            "{what} must be a non-negative integer, got {:?}",
            shorten(text)
        )),
    }
}

/// The raw value of the first `name=value` pair in a query string, if present (no percent-decoding:
/// the values endpoints read are numbers and flags).
pub(crate) fn query_value<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

/// A boolean query flag: absent, `0` or `false` is false; present bare, `1` or `true` is true.
pub(crate) fn flag(query: Option<&str>, name: &str) -> Result<bool, String> {
    match query_value(query, name) {
        None | Some("0" | "false") => Ok(false),
        Some("" | "1" | "true") => Ok(true),
        Some(other) => Err(format!(
            "{name} must be 0, 1, true or false, got {:?}",
            shorten(other)
        )),
    }
}

/// Caps user input quoted back in error messages, so a 64 KiB path does not become a 64 KiB reply.
pub(crate) fn shorten(text: &str) -> &str {
    const MAX: usize = 64;
    if text.len() <= MAX {
        return text;
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number("n", "0", 10), Ok(0));
        assert_eq!(number("n", "10", 10), Ok(10));
        assert!(number("n", "11", 10).unwrap_err().contains("at most 10"));
        assert!(number("n", "99999999999999999999", u64::MAX).is_err());
        assert!(number("n", "184467440737095516160", u64::MAX).is_err());
        for bad in ["", "+1", "-1", " 1", "1.5", "abc", "1e3", "٣"] {
            assert!(
                number("n", bad, u64::MAX)
                    .unwrap_err()
                    .contains("non-negative"),
                "{bad}"
            );
        }
    }

    #[test]
    fn query_values_and_flags() {
        assert_eq!(query_value(Some("a=1&jitter=20"), "jitter"), Some("20"));
        assert_eq!(query_value(Some("jitter"), "jitter"), Some(""));
        assert_eq!(query_value(Some("jitterx=1"), "jitter"), None);
        assert_eq!(query_value(None, "jitter"), None);
        assert_eq!(flag(Some("chunked=1"), "chunked"), Ok(true));
        assert_eq!(flag(Some("chunked"), "chunked"), Ok(true));
        assert_eq!(flag(Some("chunked=false"), "chunked"), Ok(false));
        assert_eq!(flag(None, "chunked"), Ok(false));
        assert!(flag(Some("chunked=yes"), "chunked").is_err());
    }

    #[test]
    fn shorten_respects_char_boundaries() {
        let long = "é".repeat(100);
        assert!(shorten(&long).len() <= 64);
        assert_eq!(shorten("short"), "short");
    }
}
