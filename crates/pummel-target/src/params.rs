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

/// A query-string component decoded as `application/x-www-form-urlencoded` does it: `+` is a
/// space, `%XX` a byte, and the bytes must be UTF-8. The error is a message for a 400 response.
pub(crate) fn decode_component(what: &str, text: &str) -> Result<String, String> {
    let invalid = || {
        format!(
            "{what} is not a valid URL-encoded value: {:?}",
            shorten(text)
        )
    };
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let (hex, after) = tail.split_at_checked(2).ok_or_else(invalid)?;
                let high = hex_value(hex[0]).ok_or_else(invalid)?;
                let low = hex_value(hex[1]).ok_or_else(invalid)?;
                bytes.push(high << 4 | low);
                rest = after;
                continue;
            }
            _ => bytes.push(byte),
        }
        rest = tail;
    }
    String::from_utf8(bytes).map_err(|_| invalid())
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
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
    fn decodes_components() {
        assert_eq!(decode_component("q", "a+b%20c").as_deref(), Ok("a b c"));
        assert_eq!(decode_component("q", "%C3%A9t%c3%a9").as_deref(), Ok("été"));
        assert_eq!(decode_component("q", "").as_deref(), Ok(""));
        assert_eq!(decode_component("q", "100%25").as_deref(), Ok("100%"));
        for bad in ["%", "%4", "%zz", "%ff", "a%C3"] {
            assert!(decode_component("q", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shorten_respects_char_boundaries() {
        let long = "é".repeat(100);
        assert!(shorten(&long).len() <= 64);
        assert_eq!(shorten("short"), "short");
    }
}
