//! How a notification is tried again: every channel (webhooks, email) makes
//! [`ATTEMPTS`] attempts in all while the receiver may still answer, waiting
//! [`FIRST_BACKOFF`] after the first failure and twice as long after each
//! next one (0.5 s, 1 s, 2 s), and records each attempt on the run's
//! delivery record (`GET /v1/runs/ID/notifications`). An answer that trying
//! again will not change ends it at once.

use std::future::Future;
use std::time::Duration;

/// Attempts in all before a notification is given up on.
pub(crate) const ATTEMPTS: u32 = 4;
/// The wait after the first failed attempt; doubled after each next one.
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// What one attempt came to.
pub(super) enum Attempt {
    Delivered,
    /// Trying again will not help (a refused address, a 4xx, a relay whose
    /// certificate does not verify).
    Final(String),
    /// The receiver may answer later (down, slow, busy).
    Transient(String),
}

/// Where each attempt is recorded and logged.
pub(super) struct Recorder<'a> {
    pub(super) store: &'a crate::store::Store,
    /// The delivery's record, when it could be made.
    pub(super) id: Option<&'a str>,
    pub(super) run: &'a str,
    /// `webhook` or `email`, for the log.
    pub(super) channel: &'static str,
}

impl Recorder<'_> {
    async fn attempted(&self, to: &str, n: u32, attempt: &Attempt) {
        let (state, error) = match attempt {
            Attempt::Delivered => ("delivered", None),
            Attempt::Final(e) => ("failed", Some(e.as_str())),
            Attempt::Transient(e) => {
                let last = n == ATTEMPTS;
                if !last {
                    eprintln!(
                        "pummel server: {} about run {} to {to}: attempt {n} of {ATTEMPTS} \
                         failed ({e}); trying again",
                        self.channel, self.run
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

/// Makes `attempt` until it is delivered, fails for good, or
/// [`ATTEMPTS`] have failed; each recorded. Ok once delivered.
pub(super) async fn deliver<F, Fut>(
    recorder: &Recorder<'_>,
    to: &str,
    mut attempt: F,
) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Attempt>,
{
    let mut backoff = FIRST_BACKOFF;
    for n in 1..=ATTEMPTS {
        let outcome = attempt().await;
        recorder.attempted(to, n, &outcome).await;
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
