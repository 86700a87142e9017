//! Proof that a user owns a host before they may load it: the server gives
//! a token to publish at `http(s)://HOST/.well-known/pummel-challenge/<id>`,
//! fetches it (through the user's network policy, like every fetch the
//! server makes), and re-checks it before a run once the last proof is
//! older than the configured time.

use std::time::Duration;

use base64::Engine as _;

use super::fetch::{self, FetchError, FetchLimits, Outbound};
use super::network::NetworkPolicy;
use crate::store::Store;
use crate::store::{unix_now, StoreError};

/// The path under which a challenge is published.
pub const CHALLENGE_PATH: &str = "/.well-known/pummel-challenge/";

/// A user's claim on a host.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Claim {
    /// Lower case, no port, IPv6 without brackets.
    pub host: String,
    /// Where the challenge is fetched (`host` or `host:port`).
    pub authority: String,
    pub challenge_id: String,
    /// What the challenge file must contain.
    pub token: String,
    /// Unix seconds.
    pub created_at: i64,
    /// When it was last proven, Unix seconds; None: never, or no longer.
    pub verified_at: Option<i64>,
}

impl Claim {
    /// The URL to publish the token at (https; http is tried when https
    /// cannot connect).
    pub fn challenge_url(&self) -> String {
        format!(
            "https://{}{CHALLENGE_PATH}{}",
            self.authority, self.challenge_id
        )
    }
}

/// Why a claim could not be made or proven, or a run's hosts are unproven.
#[derive(Debug, thiserror::Error)]
pub enum OwnershipError {
    #[error("{0:?} is not a host (write example.com, example.com:8443 or 127.0.0.2:8080)")]
    BadHost(String),
    #[error("no claim on {host}: claim it first with `pummel hosts claim {host}`")]
    NoClaim { host: String },
    #[error("the challenge of {host} could not be fetched: {reason}; publish the token at {url}")]
    Unreachable {
        host: String,
        url: String,
        reason: String,
    },
    #[error("{url} does not hold the token of {host} (it answered {status}); publish exactly the token `pummel hosts` shows")]
    Mismatch {
        host: String,
        url: String,
        status: u16,
    },
    #[error("{host} is unproven: you have not shown that you own it. Run `pummel hosts claim {host}`, publish the token it gives at {path}<id> on that host, then `pummel hosts verify {host}`")]
    Unproven { host: String, path: &'static str },
    #[error("the URL {0:?} builds its host at run time: a shared server can only run URLs whose host the file names (use the scenario's target, or ask an admin)")]
    Dynamic(String),
    #[error("cannot make a random challenge: {0}")]
    Random(getrandom::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `host` or `host:port` (or a URL) as a claim keeps it: (host, authority).
pub(crate) fn parse_host(text: &str) -> Result<(String, String), OwnershipError> {
    let bad = || OwnershipError::BadHost(text.to_owned());
    let trimmed = text.trim();
    let rest = ["https://", "http://"]
        .iter()
        .find_map(|s| trimmed.strip_prefix(s))
        .unwrap_or(trimmed);
    let authority = rest
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if authority.is_empty() || authority.contains('@') || authority.contains(char::is_whitespace) {
        return Err(bad());
    }
    let uri: hyper::http::uri::Authority = authority.parse().map_err(|_| bad())?;
    let host = uri
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    if host.is_empty() || host.contains('{') {
        return Err(bad());
    }
    Ok((host, authority))
}

fn random_text(bytes: usize) -> Result<String, OwnershipError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(OwnershipError::Random)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

/// A new claim by `owner` on `host`, kept (replacing an earlier one).
pub(crate) async fn claim(store: &Store, owner: &str, host: &str) -> Result<Claim, OwnershipError> {
    let (host, authority) = parse_host(host)?;
    let claim = Claim {
        host,
        authority,
        challenge_id: random_text(12)?,
        token: format!("pummel-challenge-{}", random_text(24)?),
        created_at: unix_now(),
        verified_at: None,
    };
    store.put_claim(owner, &claim).await?;
    Ok(claim)
}

/// Fetches the claim's challenge now (https, then http when https does not
/// connect) and records the outcome.
pub(crate) async fn verify(
    store: &Store,
    network: &NetworkPolicy,
    owner: &str,
    host: &str,
) -> Result<Claim, OwnershipError> {
    let (host, authority) = parse_host(host)?;
    let mut claim = store
        .claim(owner, &host)
        .await?
        .ok_or_else(|| OwnershipError::NoClaim { host: host.clone() })?;
    // The proof is of the host; a port given now says where the challenge
    // is served this time (and the re-checks go there after a success).
    let mut at = claim.clone();
    at.authority = authority;
    let outcome = fetch_challenge(network, &at).await;
    let verified_at = outcome.is_ok().then(unix_now);
    if outcome.is_ok() && at.authority != claim.authority {
        claim.authority = at.authority;
        store.put_claim(owner, &claim).await?;
    }
    store.set_claim_verified(owner, &host, verified_at).await?;
    outcome?;
    claim.verified_at = verified_at;
    Ok(claim)
}

async fn fetch_challenge(network: &NetworkPolicy, claim: &Claim) -> Result<(), OwnershipError> {
    let limits = FetchLimits {
        timeout: Duration::from_secs(10),
        max_body: 4096,
        max_redirects: 3,
    };
    let path = format!("{CHALLENGE_PATH}{}", claim.challenge_id);
    let mut last: Option<(String, FetchError)> = None;
    for scheme in ["https", "http"] {
        let url = format!("{scheme}://{}{path}", claim.authority);
        match fetch::fetch(network, Outbound::get(&url), limits).await {
            Ok(answer) => {
                let body = String::from_utf8_lossy(&answer.body);
                if answer.status == 200 && body.trim() == claim.token {
                    return Ok(());
                }
                return Err(OwnershipError::Mismatch {
                    host: claim.host.clone(),
                    url: answer.url,
                    status: answer.status,
                });
            }
            // A policy refusal is final: http would be refused alike.
            Err(e @ (FetchError::Refused { .. } | FetchError::BadUrl { .. })) => {
                return Err(OwnershipError::Unreachable {
                    host: claim.host.clone(),
                    url,
                    reason: e.to_string(),
                })
            }
            Err(e) => last = Some((url, e)),
        }
    }
    let (url, e) = last.map_or_else(
        || (String::new(), String::new()),
        |(u, e)| (u, e.to_string()),
    );
    Err(OwnershipError::Unreachable {
        host: claim.host.clone(),
        url,
        reason: e,
    })
}

/// Refuses a run of `owner` unless every one of `hosts` is proven: a proof
/// younger than `ttl` stands, an older one is fetched again now.
pub(crate) async fn require(
    store: &Store,
    network: &NetworkPolicy,
    owner: &str,
    hosts: &[String],
    dynamic_urls: &[String],
    ttl: Duration,
) -> Result<(), OwnershipError> {
    if let Some(url) = dynamic_urls.first() {
        return Err(OwnershipError::Dynamic(url.clone()));
    }
    let claims = store.claims(owner).await?;
    let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    for host in hosts {
        let unproven = || OwnershipError::Unproven {
            host: host.clone(),
            path: CHALLENGE_PATH,
        };
        let claim = claims
            .iter()
            .find(|c| &c.host == host)
            .ok_or_else(unproven)?;
        let fresh = claim
            .verified_at
            .is_some_and(|at| unix_now().saturating_sub(at) < ttl);
        if !fresh {
            match verify(store, network, owner, host).await {
                Ok(_) => {}
                Err(OwnershipError::Store(e)) => return Err(e.into()),
                Err(e) => {
                    return Err(OwnershipError::Unreachable {
                        host: host.clone(),
                        url: claim.challenge_url(),
                        reason: format!(
                        "the proof is older than the server keeps it and the re-check failed: {e}"
                    ),
                    })
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_parse_as_claims_keep_them() {
        assert_eq!(
            parse_host("Example.COM").unwrap(),
            ("example.com".into(), "example.com".into())
        );
        assert_eq!(
            parse_host("127.0.0.2:8080").unwrap(),
            ("127.0.0.2".into(), "127.0.0.2:8080".into())
        );
        assert_eq!(
            parse_host("https://shop.example:8443/x").unwrap(),
            ("shop.example".into(), "shop.example:8443".into())
        );
        assert_eq!(
            parse_host("[::1]:80").unwrap(),
            ("::1".into(), "[::1]:80".into())
        );
        for bad in ["", "user@host", "a b", "http:///x", "{{h}}"] {
            assert!(parse_host(bad).is_err(), "{bad}");
        }
    }
}
