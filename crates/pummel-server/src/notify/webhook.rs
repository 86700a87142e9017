//! Signed JSON webhooks: `POST` the summary with
//! `X-Pummel-Signature-256: sha256=<hex HMAC-SHA256 of the body>` (GitHub's
//! scheme, so receivers already know how to check it).
//!
//! Sent through the server's one checked fetch (`policy::fetch`) under the
//! network policy of the user the notification is for: resolved once,
//! every address checked, connected to a checked one, redirects not
//! followed (a receiver has no business sending the server elsewhere).
//!
//! Retried while the receiver is down, slow or answers 5xx, 408 or 429:
//! [`ATTEMPTS`] attempts in all, waiting [`FIRST_BACKOFF`] after the first
//! failure and twice as long after each next one (0.5 s, 1 s, 2 s). A 2xx
//! ends it; any other answer, or a refused address, ends it at once.

use std::time::Duration;

use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::Method;

use super::Summary;
use crate::policy::fetch::{self, FetchError, FetchLimits, Outbound};
use crate::policy::NetworkPolicy;

/// Attempts in all before a webhook is given up on.
pub(crate) const ATTEMPTS: u32 = 4;
/// The wait after the first failed attempt; doubled after each next one.
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// How long one attempt may take, by default (`--webhook-timeout`).
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// What one attempt came to.
pub(super) enum Attempt {
    Delivered,
    /// Trying again will not help (a refused address, a 4xx).
    Final(String),
    /// The receiver may answer later.
    Transient(String),
}

/// Where each attempt is recorded and logged.
pub(super) struct Recorder<'a> {
    pub(super) store: &'a crate::store::Store,
    /// The delivery's record, when it could be made.
    pub(super) id: Option<&'a str>,
    pub(super) run: &'a str,
}

impl Recorder<'_> {
    async fn attempted(&self, url: &str, n: u32, attempt: &Attempt) {
        let (state, error) = match attempt {
            Attempt::Delivered => ("delivered", None),
            Attempt::Final(e) => ("failed", Some(e.as_str())),
            Attempt::Transient(e) => {
                let last = n == ATTEMPTS;
                if !last {
                    eprintln!(
                        "pummel server: webhook about run {} to {url}: attempt {n} of {ATTEMPTS} \
                         failed ({e}); trying again",
                        self.run
                    );
                }
                (if last { "failed" } else { "sending" }, Some(e.as_str()))
            }
        };
        if let Some(id) = self.id {
            let _ = self.store.record_attempt(id, n, state, error).await;
        }
    }
}

/// Delivers `summary` to `url`, recording each attempt; Ok once a 2xx
/// came back.
pub(super) async fn deliver(
    policy: &NetworkPolicy,
    url: &str,
    summary: &Summary,
    secret: &[u8],
    attempt_timeout: Duration,
    recorder: &Recorder<'_>,
) -> Result<(), String> {
    let body = serde_json::to_vec(summary).map_err(|e| e.to_string())?;
    let signature = format!("sha256={}", crate::repos::webhook::sign(secret, &body));
    let request = Outbound {
        method: Method::POST,
        url: url.to_owned(),
        headers: headers(&signature)?,
        body: body.into(),
    };
    let limits = FetchLimits {
        timeout: attempt_timeout,
        max_body: 64 * 1024,
        max_redirects: 0,
    };
    let mut backoff = FIRST_BACKOFF;
    for n in 1..=ATTEMPTS {
        let outcome = attempt(policy, request.clone(), limits).await;
        recorder.attempted(url, n, &outcome).await;
        match outcome {
            Attempt::Delivered => return Ok(()),
            Attempt::Final(e) => return Err(e),
            Attempt::Transient(e) if n == ATTEMPTS => {
                return Err(format!("{e} (gave up after {ATTEMPTS} attempts)"))
            }
            Attempt::Transient(_) => {}
        }
        tokio::time::sleep(backoff).await;
        backoff *= 2;
    }
    Err(format!("gave up after {ATTEMPTS} attempts"))
}

fn headers(signature: &str) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let value = |v: &str| HeaderValue::from_str(v).map_err(|e| e.to_string());
    Ok(vec![
        (CONTENT_TYPE, value("application/json")?),
        (
            HeaderName::from_static("x-pummel-event"),
            value("run.finished")?,
        ),
        (
            HeaderName::from_static("x-pummel-signature-256"),
            value(signature)?,
        ),
    ])
}

async fn attempt(policy: &NetworkPolicy, request: Outbound, limits: FetchLimits) -> Attempt {
    match fetch::fetch(policy, request, limits).await {
        Ok(answer) => match answer.status {
            200..=299 => Attempt::Delivered,
            408 | 429 | 500..=599 => {
                Attempt::Transient(format!("the receiver answered {}", answer.status))
            }
            300..=399 => Attempt::Final(format!(
                "the receiver answered {} (a redirect; webhooks do not follow redirects)",
                answer.status
            )),
            status => Attempt::Final(format!("the receiver answered {status}")),
        },
        Err(
            e @ (FetchError::BadUrl { .. }
            | FetchError::Refused { .. }
            | FetchError::TooManyRedirects { .. }),
        ) => Attempt::Final(e.to_string()),
        Err(e) => Attempt::Transient(e.to_string()),
    }
}
