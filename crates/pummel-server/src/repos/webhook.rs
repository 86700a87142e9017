//! Push webhooks from forges, each checked its own way:
//!
//! - GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`;
//! - Gitea (and Forgejo): `X-Gitea-Signature: <hex HMAC-SHA256 of the body>`;
//! - GitLab: `X-Gitlab-Token: <the secret itself>`.
//!
//! Every comparison is constant-time. The body's `ref` says which branch
//! was pushed, `after` (`checkout_sha` on GitLab) which commit.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

/// Which forge sent a hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Forge {
    GitHub,
    Gitea,
    GitLab,
}

impl Forge {
    pub(crate) fn header(self) -> &'static str {
        match self {
            Forge::GitHub => "X-Hub-Signature-256",
            Forge::Gitea => "X-Gitea-Signature",
            Forge::GitLab => "X-Gitlab-Token",
        }
    }
}

/// HMAC-SHA256 of `body` under `secret`, in hex.
pub(crate) fn sign(secret: &[u8], body: &[u8]) -> String {
    // An HMAC takes a key of any length: this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    crate::sealed::hex(&mac.finalize().into_bytes())
}

/// Checks a hook; the forge that signed it, or why it is refused.
pub(crate) fn verify(headers: &HeaderMap, body: &[u8], secret: &[u8]) -> Result<Forge, String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (forge, good) = if let Some(token) = header(Forge::GitLab.header()) {
        (Forge::GitLab, bool::from(token.as_bytes().ct_eq(secret)))
    } else if let Some(sig) = header(Forge::Gitea.header()) {
        let expected = sign(secret, body);
        (
            Forge::Gitea,
            bool::from(
                sig.trim()
                    .to_ascii_lowercase()
                    .as_bytes()
                    .ct_eq(expected.as_bytes()),
            ),
        )
    } else if let Some(sig) = header(Forge::GitHub.header()) {
        let expected = format!("sha256={}", sign(secret, body));
        (
            Forge::GitHub,
            bool::from(
                sig.trim()
                    .to_ascii_lowercase()
                    .as_bytes()
                    .ct_eq(expected.as_bytes()),
            ),
        )
    } else {
        return Err(
            "no X-Hub-Signature-256, X-Gitea-Signature or X-Gitlab-Token header".to_owned(),
        );
    };
    if good {
        Ok(forge)
    } else {
        Err(format!(
            "bad {} {}",
            forge.header(),
            if forge == Forge::GitLab {
                "token"
            } else {
                "signature"
            }
        ))
    }
}

/// What a push says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Push {
    /// The branch pushed, when `ref` names one.
    pub(crate) branch: Option<String>,
    pub(crate) after: Option<String>,
}

/// Reads a push body (the three forges agree on `ref` and `after`).
pub(crate) fn push(body: &[u8]) -> Result<Push, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let reference = value["ref"].as_str().unwrap_or_default();
    let after = value["checkout_sha"]
        .as_str()
        .or_else(|| value["after"].as_str())
        .filter(|s| !s.chars().all(|c| c == '0'))
        .map(str::to_owned);
    Ok(Push {
        branch: reference.strip_prefix("refs/heads/").map(str::to_owned),
        after,
    })
}

/// Whether the event is a push (a ping or another event is only
/// acknowledged).
pub(crate) fn is_push(headers: &HeaderMap) -> bool {
    let event = ["X-GitHub-Event", "X-Gitea-Event", "X-Gitlab-Event"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()));
    match event {
        Some(e) => e == "push" || e == "Push Hook",
        // No event header: judge by the body (a push has a ref).
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn each_forge_checked_its_way() {
        let body = br#"{"ref":"refs/heads/main","after":"abc"}"#;
        let secret = b"s3cret";
        // RFC 4231-style known answer: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
        assert_eq!(
            sign(b"key", b"The quick brown fox jumps over the lazy dog"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        let gh = headers(&[(
            "X-Hub-Signature-256",
            format!("sha256={}", sign(secret, body)),
        )]);
        assert_eq!(verify(&gh, body, secret), Ok(Forge::GitHub));
        let gitea = headers(&[("X-Gitea-Signature", sign(secret, body))]);
        assert_eq!(verify(&gitea, body, secret), Ok(Forge::Gitea));
        let gl = headers(&[("X-Gitlab-Token", "s3cret".to_owned())]);
        assert_eq!(verify(&gl, body, secret), Ok(Forge::GitLab));
        let bad = headers(&[(
            "X-Hub-Signature-256",
            format!("sha256={}", sign(b"other", body)),
        )]);
        assert!(verify(&bad, body, secret).is_err());
        assert!(verify(&gh, b"{}", secret).is_err());
        assert!(verify(&HeaderMap::new(), body, secret).is_err());
        assert_eq!(
            push(body).unwrap(),
            Push {
                branch: Some("main".into()),
                after: Some("abc".into())
            }
        );
    }
}
