//! Sign-in sessions and CSRF tokens.
//!
//! A session is a random 32-byte value in an HttpOnly cookie; the store
//! keeps only its SHA-256 (as for API tokens: nothing to guess, so a fast
//! hash suffices), so a copy of the database signs nobody in. Each session
//! has its own random CSRF token (the synchroniser-token pattern): every
//! form carries it in a hidden field and every POST is refused unless the
//! field equals the session's token, compared in constant time.
//!
//! The sign-in form has no session yet: it uses a double-submit token, a
//! random value both in a short-lived cookie and in the form's field.

use base64::Engine as _;
use subtle::ConstantTimeEq as _;

/// The session cookie's name.
pub(crate) const COOKIE: &str = "pummel_session";
/// The sign-in form's double-submit cookie.
pub(crate) const LOGIN_COOKIE: &str = "pummel_login";
/// How long a session lasts (it is not extended by use: sign in again).
pub(crate) const LIFETIME_S: i64 = 12 * 3600;

/// A fresh random secret (a session id or a CSRF token), URL-safe.
pub(crate) fn secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether a form's CSRF field matches the expected token. An empty
/// expectation never matches, so a missing token cannot equal a missing
/// one.
pub(crate) fn csrf_matches(expected: &str, given: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// The `Set-Cookie` value for `name`: HttpOnly always, `SameSite=Lax` (a
/// link from elsewhere still opens the page signed in, but no cross-site
/// POST carries the cookie), `Secure` when the server speaks TLS.
pub(crate) fn set_cookie(name: &str, value: &str, max_age_s: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{secure}")
}

/// The value of cookie `name` in a `Cookie` header, if present.
pub(crate) fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_long() {
        let a = secret().unwrap();
        let b = secret().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn csrf_compares_exactly_and_refuses_empty() {
        let token = secret().unwrap();
        assert!(csrf_matches(&token, &token));
        assert!(!csrf_matches(&token, ""));
        assert!(!csrf_matches(&token, &token[..42]));
        assert!(!csrf_matches(&token, &format!("{token}x")));
        assert!(!csrf_matches("", ""));
    }

    #[test]
    fn cookies_are_http_only_same_site_and_secure_over_tls() {
        let plain = set_cookie(COOKIE, "abc", 60, false);
        assert_eq!(
            plain,
            "pummel_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=60"
        );
        assert!(set_cookie(COOKIE, "abc", 60, true).ends_with("; Secure"));
        let header = "theme=dark; pummel_session=s3cr3t; pummel_login=x";
        assert_eq!(cookie(header, COOKIE), Some("s3cr3t"));
        assert_eq!(cookie(header, LOGIN_COOKIE), Some("x"));
        assert_eq!(cookie(header, "missing"), None);
        assert_eq!(cookie("pummel_session_old=1", COOKIE), None);
    }
}
