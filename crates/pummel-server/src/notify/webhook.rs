//! Signed JSON webhooks: `POST` the summary with
//! `X-Pummel-Signature-256: sha256=<hex HMAC-SHA256 of the body>` (GitHub's
//! scheme, so receivers already know how to check it).
//!
//! Sent through the server's one checked fetch (`policy::fetch`) under the
//! network policy of the user the notification is for: resolved once,
//! every address checked, connected to a checked one, redirects not
//! followed (a receiver has no business sending the server elsewhere).
//!
//! Retried (`retry`) while the receiver is down, slow or answers 5xx, 408
//! or 429. A 2xx ends it; any other answer, or a refused address, ends it
//! at once.

use std::time::Duration;

use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::Method;

use super::retry::{self, Attempt, Recorder};
use super::Summary;
use crate::policy::fetch::{self, FetchError, FetchLimits, Outbound};
use crate::policy::NetworkPolicy;

/// How long one attempt may take, by default (`--webhook-timeout`).
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

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
    retry::deliver(recorder, url, || attempt(policy, request.clone(), limits)).await
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
