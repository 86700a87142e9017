//! Notifications when a run ends: email over SMTP ([`email`]) and signed
//! JSON webhooks ([`webhook`]), with the verdict, the key figures and
//! links to the run and its report.
//!
//! Targets come from the `notify:` of the repository test that started the
//! run, and from the run owner's own settings (`/v1/notifications`). The
//! hub tells the notifier each run's id as it ends; sending happens on the
//! notifier's own tasks, never in the hub's loop.

mod email;
mod summary;
mod webhook;

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::repos::config::{RepoTest, Targets};
use crate::sealed::Sealer;
use crate::store::Store;
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
}

/// Where one run's notification goes, with the secret its webhooks are
/// signed with and whether they may be on private networks.
struct Destination {
    targets: Targets,
    secret: Vec<u8>,
    trusted: bool,
}

impl Notifier {
    pub(crate) fn new(
        store: Arc<Store>,
        sealer: Arc<Sealer>,
        config: &NotifyConfig,
    ) -> Result<Notifier, NotifyError> {
        let mailer = match (&config.smtp, &config.mail_from) {
            (Some(url), Some(from)) => Some(email::Mailer::new(url, from)?),
            (Some(_), None) => {
                return Err(NotifyError(
                    "--smtp needs --mail-from ADDRESS: the sender of notification emails"
                        .to_owned(),
                ))
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

    async fn notify(&self, run_id: &str) {
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
        let summary = Summary::of(&run, origin.as_ref(), self.public_url.as_deref());
        for d in destinations {
            if d.targets.on.as_deref() == Some("failure") && summary.verdict == "passed" {
                continue;
            }
            for address in &d.targets.email {
                match &self.mailer {
                    Some(mailer) => {
                        if let Err(e) = mailer.send(address, &summary).await {
                            eprintln!("pummel server: email about run {run_id} to {address}: {e}");
                        }
                    }
                    None => eprintln!(
                        "pummel server: run {run_id} should be mailed to {address}, but the server \
                         has no --smtp"
                    ),
                }
            }
            for url in &d.targets.webhooks {
                if let Err(e) = webhook::deliver(url, &summary, &d.secret, d.trusted).await {
                    eprintln!("pummel server: webhook about run {run_id} to {url}: {e}");
                }
            }
        }
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
            trusted: row.trusted,
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
            trusted: row.trusted,
        })
    }
}

/// What a user's webhook secret is sealed for.
pub(crate) fn purpose(owner: &str) -> String {
    format!("user:{owner}:webhook")
}
