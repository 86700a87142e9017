//! Notifications when a run ends: email over SMTP ([`email`]) and signed
//! JSON webhooks ([`webhook`]), with the verdict, the key figures and
//! links to the run and its report.
//!
//! Targets come from the `notify:` of the repository test that started the
//! run, and from the run owner's own settings (`/v1/notifications`). The
//! hub tells the notifier each run's id as it ends; sending happens on the
//! notifier's own tasks, never in the hub's loop. Both channels are tried
//! again while the receiver may still answer ([`retry`]), and every
//! attempt is recorded on the run ([`record`]).

mod email;
mod record;
mod retry;
mod summary;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::policy::NetworkPolicy;
use crate::repos::config::{RepoTest, Targets};
use crate::sealed::Sealer;
use crate::store::Store;
pub(crate) use record::Delivery;
pub(crate) use summary::Summary;

/// How to send.
#[derive(Clone, Debug, Default)]
pub struct NotifyConfig {
    /// `smtp://`, `smtp://…?tls=required` (STARTTLS) or `smtps://` (TLS),
    /// with `user:pass@` when the relay wants a login.
    pub smtp: Option<String>,
    /// The sender of notification emails.
    pub mail_from: Option<String>,
    /// The server's URL as users reach it, for links.
    pub public_url: Option<String>,
    /// A CA certificate (PEM) to trust for the SMTP relay's certificate,
    /// besides the public roots: a relay with a private CA.
    pub smtp_ca: Option<std::path::PathBuf>,
    /// How long one webhook attempt may take (10 s when None).
    pub webhook_timeout: Option<Duration>,
}

/// A configuration the server cannot start with.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotifyError(pub(crate) String);

pub(crate) struct Notifier {
    store: Arc<Store>,
    sealer: Arc<Sealer>,
    mailer: Option<email::Mailer>,
    public_url: Option<String>,
    webhook_timeout: Duration,
}

/// Where one run's notification goes, with the secret its webhooks are
/// signed with and the networks they may reach (those of the user they
/// are for: the policy every fetch of the server obeys).
struct Destination {
    targets: Targets,
    secret: Vec<u8>,
    network: NetworkPolicy,
}

impl Notifier {
    pub(crate) fn new(
        store: Arc<Store>,
        sealer: Arc<Sealer>,
        config: &NotifyConfig,
    ) -> Result<Notifier, NotifyError> {
        let mailer = match (&config.smtp, &config.mail_from) {
            (Some(url), Some(from)) => {
                Some(email::Mailer::new(url, from, config.smtp_ca.as_deref())?)
            }
            (Some(_), None) => {
                return Err(NotifyError(
                    "--smtp needs --mail-from ADDRESS: the sender of notification emails"
                        .to_owned(),
                ))
            }
            (None, _) if config.smtp_ca.is_some() => {
                return Err(NotifyError("--smtp-ca needs --smtp URL".to_owned()))
            }
            (None, _) => None,
        };
        Ok(Notifier {
            store,
            sealer,
            mailer,
            public_url: config
                .public_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_owned()),
            webhook_timeout: config.webhook_timeout.unwrap_or(webhook::ATTEMPT_TIMEOUT),
        })
    }

    /// Listens for ended runs until the hub stops.
    pub(crate) fn start(self: Arc<Notifier>, mut ended: broadcast::Receiver<String>) {
        tokio::spawn(async move {
            loop {
                match ended.recv().await {
                    Ok(run) => {
                        let me = self.clone();
                        tokio::spawn(async move { me.notify(&run).await });
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        eprintln!("pummel server: {missed} run endings came too fast to notify");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
    }

    async fn notify(self: &Arc<Notifier>, run_id: &str) {
        let Ok(Some(run)) = self.store.run(run_id).await else {
            return;
        };
        let origin = self.store.repo_run(run_id).await.ok().flatten();
        let mut destinations = Vec::new();
        if let Some(origin) = &origin {
            if let Some(d) = self
                .repo_destination(&origin.repository, &origin.test)
                .await
            {
                destinations.push(d);
            }
        }
        if let Some(d) = self.user_destination(&run.owner).await {
            destinations.push(d);
        }
        if destinations.is_empty() {
            return;
        }
        let summary = Arc::new(Summary::of(
            &run,
            origin.as_ref(),
            self.public_url.as_deref(),
        ));
        // Every target at once: a receiver being retried does not hold up
        // the others.
        let mut sending = tokio::task::JoinSet::new();
        for d in destinations {
            if d.targets.on.as_deref() == Some("failure") && summary.verdict == "passed" {
                continue;
            }
            let d = Arc::new(d);
            for address in d.targets.email.clone() {
                let (me, summary, run) = (self.clone(), summary.clone(), run_id.to_owned());
                sending.spawn(async move { me.mail(&run, &address, &summary).await });
            }
            for url in d.targets.webhooks.clone() {
                let (me, summary, run, d) =
                    (self.clone(), summary.clone(), run_id.to_owned(), d.clone());
                sending.spawn(async move { me.post(&run, &url, &summary, &d).await });
            }
        }
        while sending.join_next().await.is_some() {}
    }

    async fn mail(&self, run: &str, address: &str, summary: &Summary) {
        let id = self.store.start_delivery(run, "email", address).await.ok();
        let recorder = retry::Recorder {
            store: &self.store,
            id: id.as_deref(),
            run,
            channel: "email",
        };
        let outcome = retry::deliver(&recorder, address, || async {
            match &self.mailer {
                Some(mailer) => mailer.send(address, summary).await,
                None => retry::Attempt::Final(
                    "the server has no --smtp relay to send it through".to_owned(),
                ),
            }
        })
        .await;
        if let Err(e) = outcome {
            eprintln!("pummel server: email about run {run} to {address} failed: {e}");
        }
    }

    async fn post(&self, run: &str, url: &str, summary: &Summary, d: &Destination) {
        let id = self.store.start_delivery(run, "webhook", url).await.ok();
        let recorder = retry::Recorder {
            store: &self.store,
            id: id.as_deref(),
            run,
            channel: "webhook",
        };
        let outcome = webhook::deliver(
            &d.network,
            url,
            summary,
            &d.secret,
            self.webhook_timeout,
            &recorder,
        )
        .await;
        if let Err(e) = outcome {
            eprintln!("pummel server: webhook about run {run} to {url} failed: {e}");
        }
    }

    /// The networks the server may post to for `owner`: any for what an
    /// admin set up, else the owner's network policy.
    async fn network(&self, owner: &str, trusted: bool) -> Option<NetworkPolicy> {
        if trusted {
            return Some(NetworkPolicy::unrestricted());
        }
        Some(NetworkPolicy::restricted(
            self.store.allowed_networks(owner).await.ok()?,
        ))
    }

    async fn repo_destination(&self, repository: &str, test: &str) -> Option<Destination> {
        let row = self.store.repo(repository).await.ok()??;
        let tests: Vec<RepoTest> = serde_json::from_str(&row.tests).ok()?;
        let targets = tests.into_iter().find(|t| t.name == test)?.notify;
        let secret = self
            .sealer
            .open(&format!("repo:{repository}:webhook"), &row.webhook_secret)
            .ok()?;
        Some(Destination {
            targets,
            secret,
            network: self.network(&row.owner, row.trusted).await?,
        })
    }

    async fn user_destination(&self, owner: &str) -> Option<Destination> {
        let row = self.store.notification_settings(owner).await.ok()??;
        let targets: Targets = serde_json::from_str(&row.targets).ok()?;
        let secret = match &row.webhook_secret {
            Some(sealed) => self.sealer.open(&purpose(owner), sealed).ok()?,
            None => Vec::new(),
        };
        Some(Destination {
            targets,
            secret,
            network: self.network(owner, row.trusted).await?,
        })
    }
}

/// What a user's webhook secret is sealed for.
pub(crate) fn purpose(owner: &str) -> String {
    format!("user:{owner}:webhook")
}
